/*
 * oval.h - OVAL definitions (RHEL, Oracle, SUSE, Photon, Ubuntu) turned
 * into vulnerability records, faithfully.
 *
 * An OVAL document is a table of definitions, each a criteria tree whose
 * leaves name tests; a test pairs an object (which package, which file)
 * with states (evr less than X, version matches ^8, signed with key K).
 * The files are large (hundreds of MB uncompressed) and tests come after
 * the definitions that use them, so the engine streams the document once
 * with libxml2's xmlTextReader, keeping a compact copy of every definition,
 * test, object, state and variable (strings capped), and evaluates at the
 * end.
 *
 * Turning a definition into records: the criteria tree is put in
 * disjunctive normal form over *package leaves* -- tests that say
 * "package P exists with evr less than V" (or just "package P exists",
 * an unfixed vulnerability).  Each conjunction holding a package leaf
 * becomes one record per package name {P, fixed V, arch of the leaf's
 * state}; everything else in that conjunction -- release checks, signing
 * keys, module streams, negated tests, parts of the tree without package
 * leaves, kept as formulas -- goes into the record's `affected` JSON:
 *
 *     {"oval":{"definition":"oval:...:def:1","conditions":[...]}}
 *
 * The condition kinds and how the matcher is meant to evaluate each are
 * in docs/feeds-oval.md; a record matches only when its package leaf and
 * every condition hold.  Conjunctions without a package leaf (RHEL's
 * "Red Hat Enterprise Linux must be installed" guard, SUSE's "not
 * affected" markers, Ubuntu's running-kernel checks) make no record.
 *
 * Safety: no DTD is accepted (so no entity expansion of any kind, and
 * nothing is loaded from the network or disk), libxml2's own limits stay
 * on (no XML_PARSE_HUGE: depth 256, 10 MB per text node), every string the
 * engine keeps is capped (CLR_OVAL_TEXT_MAX), and broken documents --
 * malformed or truncated XML, references to tests, objects, states,
 * variables or definitions that are not there -- are CLR_EINVALID with a
 * message naming the file and line.  A definition that uses a construct the
 * engine cannot express (an operation outside OVAL's list, ONE/XOR over
 * package leaves, a conjunction explosion past CLR_OVAL_MAX_ALTS) is
 * skipped with a warning and counted in stats->skipped: one odd definition
 * does not cost the whole feed.
 */
#ifndef CLR_FEEDS_OVAL_H
#define CLR_FEEDS_OVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "updater/updater.h"
#include "updater/vuln.h"
#include "version/version.h"

/* The longest text or attribute value kept (a description, a comment). */
#define CLR_OVAL_TEXT_MAX (1u << 20)
/* The most conjunctions one definition may expand to. */
#define CLR_OVAL_MAX_ALTS 65536

/* A <reference> of a definition's metadata. */
struct clr_oval_ref {
	const char *source; /* "RHSA", "CVE", "elsa", "PHSA", "SUSE CVE" */
	const char *ref_id;
	const char *ref_url;
};

/* A <cve> of a definition's <advisory>. */
struct clr_oval_cve {
	const char *id;       /* the element's text: "CVE-2019-9788" */
	const char *href;
	const char *priority; /* Ubuntu's priority attribute, or "" */
	const char *impact;   /* Red Hat's / SUSE's impact attribute, or "" */
	const char *public_date; /* "20190320" as written, or "" */
};

/*
 * What a definition says about itself, as the emit callback sees it.  All
 * strings are borrowed for the duration of the callback, never NULL ("" when
 * absent), whitespace-trimmed.
 */
struct clr_oval_definition {
	const char *id;          /* "oval:com.redhat.rhsa:def:20190966" */
	const char *oval_class;  /* "patch", "vulnerability", ... */
	const char *title;
	const char *description;
	const char *severity;    /* <advisory><severity>, verbatim */
	const char *issued;      /* RFC 3339: <issued date>, else Ubuntu's
				  * <public_date>; "" when neither parses */
	const char *updated;     /* RFC 3339 of <updated date>, or "" */
	const char *links;       /* space-separated, each once: references'
				  * ref_url, CVE hrefs, bug and ref URLs */
	const struct clr_oval_ref *refs;
	size_t nrefs;
	const struct clr_oval_cve *cves;
	size_t ncves;
	const char *const *platforms; /* <affected><platform> texts */
	size_t nplatforms;
	const char *const *cpes;      /* <affected_cpe_list><cpe> texts */
	size_t ncpes;
};

/* The package leaf a record comes from. */
struct clr_oval_leaf {
	const char *test_kind;   /* "rpminfo_test", "dpkginfo_test" */
	bool unfixed;            /* an existence test: no fixed version */
	bool name_from_variable; /* the package name came from a
				  * constant_variable (Ubuntu's per-source
				  * lists of binaries) */
};

/*
 * Called for every record before it is added, with the record filled
 * (updater, description, issued, links, severity verbatim, package,
 * arch, module, version scheme, fixed version, affected; name = the title)
 * so the source can set the name, distribution and normalised severity.
 * Strings the callback stores are copied.  Returns 0 to add the record,
 * 1 to drop it, or a negative CLR_E* code, which ends the parse with it.
 */
typedef int (*clr_oval_emit_fn)(void *arg, const struct clr_oval_definition *def,
				const struct clr_oval_leaf *leaf,
				struct clr_vuln *v);

struct clr_oval_options {
	const char *updater;     /* the records' updater field */
	enum clr_vscheme scheme; /* CLR_VS_RPM or CLR_VS_DPKG: the records'
				  * version_scheme; a zero epoch is dropped
				  * from fixed versions ("0:1.2-3" -> "1.2-3") */
	clr_oval_emit_fn emit;   /* may be NULL */
	void *arg;
	bool keep_cpes;          /* add the definition's affected_cpe_list to
				  * each record's JSON as "cpes" (RHEL) */
	const char *name;        /* for messages: the file name, or NULL */
};

/* What a parse saw; filled even on failure, as far as it got. */
struct clr_oval_stats {
	size_t bytes;        /* XML bytes read */
	size_t definitions;  /* <definition> elements */
	size_t tests, objects, states, variables;
	size_t records;      /* records added to the set */
	size_t no_package;   /* conjunctions without a package leaf */
	size_t skipped;      /* definitions skipped (unsupported construct) */
};

/*
 * Parses the OVAL document at path (plain XML: decompression is the fetch
 * layer's job) and appends its records to out.  stats may be NULL.
 * CLR_EINVALID for a broken document, CLR_EIO when the file cannot be read;
 * on failure out is left with the records it had before the call.
 */
int clr_oval_parse_file(const char *path, const struct clr_oval_options *o,
			struct clr_vuln_set *out, struct clr_oval_stats *stats);

/* The same over a document in memory. */
int clr_oval_parse_mem(const void *data, size_t len,
		       const struct clr_oval_options *o,
		       struct clr_vuln_set *out, struct clr_oval_stats *stats);

/*
 * RFC 3339 ("2019-05-07T00:00:00Z") from the dates OVAL feeds write:
 * "2019-05-07", "2019-05-07 12:30:00", "2020-06-16 14:15:00 UTC",
 * "2019-05-07T12:30:00[Z]".  out must hold 21 bytes; "" when s is none
 * of those.
 */
void clr_oval_date(char out[21], const char *s);

/* --- the OVAL sources' shared updater ------------------------------------ */

/*
 * Every OVAL source (src/distro/{ubuntu,rhel,oracle,suse,photon}) is one
 * document per updater: fetch() is clr_fetch_into() of the URL, parse() is
 * clr_oval_parse_file() with the source's emit callback.  This makes one.
 */
struct clr_oval_updater_spec {
	const char *name;        /* the updater's name (copied) */
	const char *url;         /* where the document is (copied) */
	enum clr_vscheme scheme;
	bool keep_cpes;
	clr_oval_emit_fn emit;
	void *arg;               /* taken: free_arg(arg) when the updater is
				  * freed, or at once when creation fails */
	void (*free_arg)(void *arg);
};

int clr_oval_updater_new(struct clr_updater **out,
			 const struct clr_oval_updater_spec *spec);

/*
 * The URL an updater of a source uses: the setting "<updater name>.url" if
 * the user gave one, else the source-wide setting "url" as a template,
 * else tmpl; in a template "{key}" is replaced by value.  Caller frees.
 */
char *clr_oval_url(const char *(*setting)(void *arg, const char *key),
		   void *arg, const char *updater_name, const char *tmpl,
		   const char *key, const char *value);

/*
 * What every OVAL source's factory does once per release: the updater spec
 * describes, at the URL clr_oval_url(setting, arg, spec->name, tmpl, key,
 * value) gives (spec->url is not read), appended to out.  spec->arg is
 * taken as by clr_oval_updater_new().
 */
void clr_oval_updater_add(struct clr_vec *out,
			  const struct clr_oval_updater_spec *spec,
			  const char *(*setting)(void *arg, const char *key),
			  void *arg, const char *tmpl, const char *key,
			  const char *value);

/*
 * Splits a setting's list (words separated by spaces or commas) into a vec
 * of char * (each malloc'd; free them and the vec with
 * clr_oval_words_free()).  CLR_EINVALID for a word over 128 bytes or with
 * characters outside [A-Za-z0-9._-].
 */
int clr_oval_words(struct clr_vec *out, const char *list);
void clr_oval_words_free(struct clr_vec *words);

/*
 * clr_oval_words() of an OVAL source's list setting key ("releases"), or
 * of dflt when it is unset or empty; a failure's message starts with
 * "updaters.config.SOURCE.KEY: ".  How each source reads which releases
 * to follow.
 */
int clr_oval_words_setting(struct clr_vec *out,
			   const char *(*setting)(void *arg, const char *key),
			   void *arg, const char *source, const char *key,
			   const char *dflt);

/* Frees the updaters of out from index from on and drops them: a factory
 * that fails half-way leaves out as it found it. */
void clr_oval_updaters_drop(struct clr_vec *out, size_t from);

#endif
