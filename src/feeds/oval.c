/*
 * oval.c - the OVAL engine: a streaming read of the document into compact
 * tables, then each definition's criteria tree in disjunctive normal form
 * over package leaves, one record per leaf (see oval.h, and
 * docs/feeds-oval.md for the conditions JSON).
 *
 * Reading: xmlTextReader over our own read callback (no URL, no automatic
 * decompression, nothing loaded but the bytes we hand over).  Elements are
 * recognised by local name and position, not by namespace prefix: the
 * feeds spell the same elements red-def:rpminfo_test, linux-def:... or a
 * default namespace, and SUSE's files even wrap states in <state>.  Every
 * element gets a role from its parent's role; text is collected only for
 * the roles that keep it, into a capped buffer.
 *
 * Everything parsed lives in a scratch arena until the end, except
 * descriptions, which go straight into the output set's arena: they are
 * the bulk of a feed and every record of the definition points at the one
 * copy.
 */
#include "feeds/oval.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "updater/fetch.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hashmap.h"
#include "util/log.h"

/* Deeper than libxml2's own limit (256 without XML_PARSE_HUGE). */
#define MAX_DEPTH 300
/* Items (definitions, tests, objects, states, variables) in one document. */
#define MAX_ITEMS (16u << 20)
/* States of one test, entities of one object/state, values of a variable,
 * children of one criteria: far beyond any feed. */
#define MAX_LIST 1000000
/* extend_definition inlined into extend_definition ... */
#define MAX_EXTEND_DEPTH 32
/* Leaves and conditions over all conjunctions of one definition. */
#define MAX_ALT_ITEMS (4u << 20)
/* The whole document. */
#define MAX_DOC ((uint64_t)16 << 30)

/* --- the tables ----------------------------------------------------------- */

struct variable;

/* One child element of an object or state (<evr operation="less than">..),
 * or one <value> of a constant_variable. */
struct ent {
	const char *name;      /* local name, interned */
	const char *op;        /* operation, interned, or NULL (equals) */
	const char *datatype;  /* interned, or NULL */
	const char *value;     /* the text ("" when empty) */
	const char *var_ref;   /* or NULL */
	const char *var_check; /* or NULL */
	struct item *var;      /* var_ref resolved */
	struct ent *next;
};

/* An object, a state or a variable. */
struct item {
	const char *kind;     /* element local name: "rpminfo_object" */
	const char *id;
	const char *comment;
	struct ent *ents, *last;
	size_t nents;
	bool complex;  /* set/filter/functions: more than flat entities */
	bool bad_op;   /* an operation OVAL does not define */
	bool resolved;
};

struct sref {
	const char *ref;
	struct item *state;
	struct sref *next;
};

/* A condition made from a test or a formula: its JSON, once. */
struct cond {
	const char *json;
	size_t len;
	const char *module; /* "X:Y" for a positive module-enabled check */
};

struct test {
	const char *kind, *id, *comment;
	const char *check, *check_existence, *state_operator;
	const char *object_ref;
	struct item *object;
	struct sref *states, *last_state;
	size_t nstates;
	/* What classify() found, once. */
	int8_t leaf;          /* -1 not yet, 0 no, 1 a package leaf */
	bool bad;             /* an unknown operation in its object/states */
	bool unfixed;         /* existence only */
	bool name_from_var;
	const char *fixed;    /* normalised fixed version */
	const char *arch, *arch_op;
	const char *const *names;
	size_t nnames;
	struct cond *cond[2]; /* as a condition, plain and negated */
};

enum { N_CRITERIA, N_CRITERION, N_EXTEND };
enum { OP_AND, OP_OR, OP_ONE, OP_XOR };
static const char *const op_names[] = { "AND", "OR", "ONE", "XOR" };

struct def;

struct cnode {
	uint8_t type, op;
	bool negate;
	int8_t haspkg[2];  /* memo of has_pkg() per parity, -1 unknown */
	int8_t bad;        /* memo of tree_bad(), -1 unknown */
	const char *ref;   /* test_ref or definition_ref */
	const char *comment;
	struct cnode *child, *last, *next;
	size_t nchild;
	struct test *test;
	struct def *def;
	struct cond *cond[2];
};

struct strl {
	const char *s;
	struct strl *next;
};

struct refl {
	struct clr_oval_ref r;
	struct refl *next;
};

struct cvel {
	struct clr_oval_cve c;
	struct cvel *next;
};

struct def {
	const char *id, *oval_class, *title, *description, *severity;
	const char *issued, *updated, *public_date;
	struct refl *refs, *last_ref;
	struct cvel *cves, *last_cve;
	struct strl *platforms, *last_platform;
	struct strl *cpes, *last_cpe;
	struct strl *links, *last_link; /* <bug>, <ref>, bugzilla hrefs */
	size_t nrefs, ncves, nplatforms, ncpes, nlinks;
	struct cnode *root;
	int visiting;  /* extend_definition cycle check */
	struct def *next;
};

/* --- the reader ----------------------------------------------------------- */

enum role {
	R_IGNORE, R_ROOT, R_SECTION, R_DEF, R_META, R_TITLE, R_AFFECTED,
	R_PLATFORM, R_DESC, R_ADVISORY, R_SEVERITY, R_PUBDATE, R_CVE, R_BUG,
	R_AREF, R_CPELIST, R_CPE, R_CRITERIA, R_TEST, R_ITEM, R_ENT,
};

/* Roles whose text is kept. */
static bool role_text(int r)
{
	switch (r) {
	case R_TITLE: case R_PLATFORM: case R_DESC: case R_SEVERITY:
	case R_PUBDATE: case R_CVE: case R_BUG: case R_AREF: case R_CPE:
	case R_ENT:
		return true;
	}
	return false;
}

/* The prolog sniffer's states (see sniff()). */
enum { S_TOP, S_LT, S_PI, S_BANG, S_BANG_DASH, S_COMMENT, S_DONE };

struct parser {
	const char *name;          /* for messages */
	const struct clr_oval_options *o;
	struct clr_oval_stats *st;
	struct clr_vuln_set *out;

	/* input */
	int fd;                    /* or -1 with mem */
	unsigned char *ibuf;       /* READ_BLOCK bytes read from fd */
	size_t ipos, ilen;
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	uint64_t nread;
	int sniff, sniff_prev, sniff_prev2;
	bool refused;              /* the sniffer said no (message set) */
	bool io_error;
	bool eof;                  /* every byte was handed to libxml2 */
	char xmlerr[512];          /* libxml2's first complaint */
	int xmlerr_line;

	xmlTextReaderPtr r;
	struct clr_arena a;        /* everything parsed */
	struct clr_hashmap intern; /* small repeated strings */
	struct clr_hashmap defs, tests, items; /* id -> struct */
	struct def *def_head, *def_tail;
	size_t nitems;

	/* where we are */
	uint8_t role[MAX_DEPTH];
	struct cnode *node[MAX_DEPTH];
	int text_depth;            /* depth of the element whose text we keep,
				    * or -1 */
	struct clr_buf text;
	struct def *cur_def;
	struct test *cur_test;
	struct item *cur_item;
	struct ent *cur_ent;
	struct cvel *cur_cve;
	bool cur_is_var;
	const char *empty;         /* "" in the output arena */
};

static int perr(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int perr(struct parser *p, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return clr_error_set(CLR_EINVALID, "OVAL %s:%d: %s", p->name,
			     p->r ? xmlTextReaderGetParserLineNumber(p->r) : 0,
			     msg);
}

/*
 * Refuses a DOCTYPE (and with it every entity declaration) before libxml2
 * sees it, and anything but UTF-8/ASCII bytes (a UTF-16 document could
 * hide its DOCTYPE from this byte-level look).  Only the prolog is looked
 * at: whitespace, <?...?> and <!--...--> until the root element starts.
 */
static int sniff(struct parser *p, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n && p->sniff != S_DONE; i++) {
		unsigned char ch = b[i];

		/* a UTF-16 or UTF-32 byte order mark, or UTF-16 without */
		if (p->nread + i == 0 && (ch == 0xfe || ch == 0xff || ch == 0))
			goto utf16;
		switch (p->sniff) {
		case S_TOP:
			if (ch == '<')
				p->sniff = S_LT;
			else if (ch == 0)
				goto utf16;
			else if (!(ch == ' ' || ch == '\t' || ch == '\r' ||
				   ch == '\n' || ch == 0xef || ch == 0xbb ||
				   ch == 0xbf))
				p->sniff = S_DONE; /* libxml2 will complain */
			break;
		case S_LT:
			if (ch == '?')
				p->sniff = S_PI;
			else if (ch == '!')
				p->sniff = S_BANG;
			else
				p->sniff = S_DONE; /* the root element */
			break;
		case S_PI:
			if (ch == '>' && p->sniff_prev == '?')
				p->sniff = S_TOP;
			break;
		case S_BANG:
			if (ch != '-')
				goto doctype;
			p->sniff = S_BANG_DASH;
			break;
		case S_BANG_DASH:
			if (ch != '-')
				goto doctype;
			p->sniff = S_COMMENT;
			p->sniff_prev = p->sniff_prev2 = 0;
			continue;
		case S_COMMENT:
			if (ch == '>' && p->sniff_prev == '-' &&
			    p->sniff_prev2 == '-')
				p->sniff = S_TOP;
			break;
		}
		p->sniff_prev2 = p->sniff_prev;
		p->sniff_prev = ch;
	}
	return 0;
utf16:
	p->refused = true;
	return perr(p, "not UTF-8 (OVAL feeds are UTF-8)");
doctype:
	p->refused = true;
	return perr(p, "a DOCTYPE or other declaration before the root "
		    "element: refused (no DTDs, no entities)");
}

/*
 * libxml2's reader (2.9) discards consumed input only when a read leaves
 * less than one of its 512-byte parse chunks pending; handing it larger
 * pieces lets a document with long text nodes keep its whole input in
 * memory (measured: 100 MB held for a 100 MB file of 64 KB elements).
 * Pieces of at most READ_PIECE bytes keep that condition true on every
 * read, so the reader's buffer stays at a few KB whatever the document.
 * The file is read in large blocks into our own buffer.
 */
#define READ_PIECE 256
#define READ_BLOCK (64 * 1024)

static int io_read(void *ctx, char *buf, int len)
{
	struct parser *p = ctx;
	const unsigned char *src;
	size_t n;

	if (p->refused || len <= 0)
		return -1;
	if (p->fd >= 0) {
		if (p->ipos == p->ilen) {
			ssize_t k;

			do
				k = read(p->fd, p->ibuf, READ_BLOCK);
			while (k < 0 && errno == EINTR);
			if (k < 0) {
				p->io_error = true;
				clr_error_set(CLR_EIO, "OVAL %s: read: %s",
					      p->name, strerror(errno));
				return -1;
			}
			p->ipos = 0;
			p->ilen = (size_t)k;
		}
		src = p->ibuf + p->ipos;
		n = p->ilen - p->ipos;
	} else {
		src = p->mem + p->mem_pos;
		n = p->mem_len - p->mem_pos;
	}
	if (!n)
		p->eof = true;
	if (n > (size_t)len)
		n = (size_t)len;
	if (n > READ_PIECE)
		n = READ_PIECE;
	memcpy(buf, src, n);
	if (p->fd >= 0)
		p->ipos += n;
	else
		p->mem_pos += n;
	if (p->sniff != S_DONE && sniff(p, (unsigned char *)buf, n))
		return -1;
	p->nread += n;
	if (p->nread > MAX_DOC) {
		p->refused = true;
		perr(p, "document larger than %llu bytes",
		     (unsigned long long)MAX_DOC);
		return -1;
	}
	return (int)n;
}

static int io_close(void *ctx)
{
	(void)ctx;
	return 0;
}

static void xml_error(void *ctx, xmlErrorPtr e)
{
	struct parser *p = ctx;
	size_t n;

	if (!e || p->xmlerr[0] || e->level < XML_ERR_ERROR)
		return;
	snprintf(p->xmlerr, sizeof(p->xmlerr), "%s",
		 e->message ? e->message : "XML error");
	n = strlen(p->xmlerr);
	while (n && (p->xmlerr[n - 1] == '\n' || p->xmlerr[n - 1] == ' '))
		p->xmlerr[--n] = '\0';
	p->xmlerr_line = e->line;
}

static void xml_generic_error(void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void xml_generic_error(void *ctx, const char *fmt, ...)
{
	struct parser *p = ctx;
	va_list ap;
	size_t n;

	/* libxml2 sends one message in pieces: keep the first */
	if (p->xmlerr[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->xmlerr, sizeof(p->xmlerr), fmt, ap);
	va_end(ap);
	n = strlen(p->xmlerr);
	while (n && (p->xmlerr[n - 1] == '\n' || p->xmlerr[n - 1] == ' '))
		p->xmlerr[--n] = '\0';
}

/* --- strings -------------------------------------------------------------- */

static const char *intern(struct parser *p, const char *s)
{
	const char *v = clr_hashmap_get(&p->intern, s);

	if (!v) {
		char *c = clr_arena_strdup(&p->a, s);

		clr_hashmap_put(&p->intern, s, c);
		v = c;
	}
	return v;
}

/* A copy of s with surrounding whitespace removed, in arena a. */
static const char *trimdup(struct clr_arena *a, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
		     s[n - 1] == '\r'))
		n--;
	return clr_arena_strndup(a, s, n);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* The operations OVAL 5.11 defines (oval-common-schema OperationEnumeration). */
static bool known_op(const char *op)
{
	static const char *const ops[] = {
		"equals", "not equal", "case insensitive equals",
		"case insensitive not equal", "greater than", "less than",
		"greater than or equal", "less than or equal", "bitwise and",
		"bitwise or", "pattern match", "subset of", "superset of",
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i]))
			return true;
	return false;
}

/* --- attributes ----------------------------------------------------------- */

/* Attribute local names the engine reads; an element's values land in
 * struct attrs by index. */
enum {
	A_ID, A_CLASS, A_COMMENT, A_TEST_REF, A_NEGATE, A_OPERATOR,
	A_DEFINITION_REF, A_CHECK, A_CHECK_EXISTENCE, A_STATE_OPERATOR,
	A_OBJECT_REF, A_STATE_REF, A_OPERATION, A_DATATYPE, A_VAR_REF,
	A_VAR_CHECK, A_SOURCE, A_REF_ID, A_REF_URL, A_DATE, A_HREF,
	A_PRIORITY, A_IMPACT, A_PUBLIC, A__COUNT
};

static const char *const attr_names[A__COUNT] = {
	"id", "class", "comment", "test_ref", "negate", "operator",
	"definition_ref", "check", "check_existence", "state_operator",
	"object_ref", "state_ref", "operation", "datatype", "var_ref",
	"var_check", "source", "ref_id", "ref_url", "date", "href",
	"priority", "impact", "public",
};

struct attrs {
	const char *v[A__COUNT]; /* borrowed from libxml2 until the next read */
};

static int read_attrs(struct parser *p, struct attrs *at)
{
	memset(at, 0, sizeof(*at));
	if (xmlTextReaderHasAttributes(p->r) != 1)
		return 0;
	while (xmlTextReaderMoveToNextAttribute(p->r) == 1) {
		const char *n = (const char *)xmlTextReaderConstLocalName(p->r);
		const char *v = (const char *)xmlTextReaderConstValue(p->r);

		/* xmlns:id="..." is a declaration, not an id */
		if (!n || !v || xmlTextReaderIsNamespaceDecl(p->r) == 1)
			continue;
		for (int i = 0; i < A__COUNT; i++) {
			if (n[0] == attr_names[i][0] &&
			    !strcmp(n, attr_names[i])) {
				if (strlen(v) > CLR_OVAL_TEXT_MAX) {
					xmlTextReaderMoveToElement(p->r);
					return perr(p, "attribute %s longer "
						    "than %u bytes", n,
						    CLR_OVAL_TEXT_MAX);
				}
				at->v[i] = v;
				break;
			}
		}
	}
	xmlTextReaderMoveToElement(p->r);
	return 0;
}

static const char *adup(struct parser *p, const struct attrs *at, int i)
{
	return at->v[i] ? trimdup(&p->a, at->v[i], strlen(at->v[i])) : NULL;
}

static bool truthy(const char *s)
{
	return s && (!strcmp(s, "true") || !strcmp(s, "1"));
}

/* --- building the tables -------------------------------------------------- */

static int count_item(struct parser *p)
{
	if (++p->nitems > MAX_ITEMS)
		return perr(p, "more than %u definitions, tests, objects, "
			    "states and variables", MAX_ITEMS);
	return 0;
}

static int start_def(struct parser *p, const struct attrs *at)
{
	struct def *d;
	int err;

	if ((err = count_item(p)))
		return err;
	if (!at->v[A_ID] || !*at->v[A_ID])
		return perr(p, "a definition without an id");
	if (clr_hashmap_get(&p->defs, at->v[A_ID]))
		return perr(p, "duplicate definition id %s", at->v[A_ID]);
	d = clr_arena_alloc(&p->a, sizeof(*d));
	d->id = adup(p, at, A_ID);
	d->oval_class = at->v[A_CLASS] ? intern(p, at->v[A_CLASS]) : "";
	clr_hashmap_put(&p->defs, d->id, d);
	if (p->def_tail)
		p->def_tail->next = d;
	else
		p->def_head = d;
	p->def_tail = d;
	p->cur_def = d;
	p->st->definitions++;
	return 0;
}

static int start_test(struct parser *p, const char *kind,
		      const struct attrs *at)
{
	struct test *t;
	int err;

	if ((err = count_item(p)))
		return err;
	if (!at->v[A_ID] || !*at->v[A_ID])
		return perr(p, "a %s without an id", kind);
	if (clr_hashmap_get(&p->tests, at->v[A_ID]))
		return perr(p, "duplicate test id %s", at->v[A_ID]);
	t = clr_arena_alloc(&p->a, sizeof(*t));
	t->kind = intern(p, kind);
	t->id = adup(p, at, A_ID);
	t->comment = adup(p, at, A_COMMENT);
	if (at->v[A_CHECK])
		t->check = intern(p, at->v[A_CHECK]);
	if (at->v[A_CHECK_EXISTENCE])
		t->check_existence = intern(p, at->v[A_CHECK_EXISTENCE]);
	if (at->v[A_STATE_OPERATOR])
		t->state_operator = intern(p, at->v[A_STATE_OPERATOR]);
	t->leaf = -1;
	clr_hashmap_put(&p->tests, t->id, t);
	p->cur_test = t;
	p->st->tests++;
	return 0;
}

static int start_item(struct parser *p, const char *kind,
		      const struct attrs *at, bool is_var)
{
	struct item *it;
	int err;

	if ((err = count_item(p)))
		return err;
	if (!at->v[A_ID] || !*at->v[A_ID])
		return perr(p, "a %s without an id", kind);
	if (clr_hashmap_get(&p->items, at->v[A_ID]))
		return perr(p, "duplicate id %s", at->v[A_ID]);
	it = clr_arena_alloc(&p->a, sizeof(*it));
	it->kind = intern(p, kind);
	it->id = adup(p, at, A_ID);
	it->comment = adup(p, at, A_COMMENT);
	clr_hashmap_put(&p->items, it->id, it);
	p->cur_item = it;
	p->cur_is_var = is_var;
	if (is_var)
		p->st->variables++;
	else if (ends_with(kind, "_object"))
		p->st->objects++;
	else
		p->st->states++;
	return 0;
}

static int start_ent(struct parser *p, const char *name,
		     const struct attrs *at)
{
	struct item *it = p->cur_item;
	struct ent *e;

	if (++it->nents > MAX_LIST)
		return perr(p, "%s has more than %d entries", it->id, MAX_LIST);
	e = clr_arena_alloc(&p->a, sizeof(*e));
	e->name = intern(p, name);
	if (at->v[A_OPERATION]) {
		e->op = intern(p, at->v[A_OPERATION]);
		if (!known_op(e->op))
			it->bad_op = true;
	}
	if (at->v[A_DATATYPE])
		e->datatype = intern(p, at->v[A_DATATYPE]);
	e->var_ref = adup(p, at, A_VAR_REF);
	if (at->v[A_VAR_CHECK])
		e->var_check = intern(p, at->v[A_VAR_CHECK]);
	e->value = "";
	if (it->last)
		it->last->next = e;
	else
		it->ents = e;
	it->last = e;
	p->cur_ent = e;
	return 0;
}

static int add_cnode(struct parser *p, int depth, int type,
		     const struct attrs *at)
{
	struct cnode *n = clr_arena_alloc(&p->a, sizeof(*n));
	const char *op = at->v[A_OPERATOR];

	n->type = (uint8_t)type;
	n->negate = truthy(at->v[A_NEGATE]);
	n->haspkg[0] = n->haspkg[1] = n->bad = -1;
	n->comment = adup(p, at, A_COMMENT);
	if (type == N_CRITERIA) {
		if (!op || !strcmp(op, "AND"))
			n->op = OP_AND;
		else if (!strcmp(op, "OR"))
			n->op = OP_OR;
		else if (!strcmp(op, "ONE"))
			n->op = OP_ONE;
		else if (!strcmp(op, "XOR"))
			n->op = OP_XOR;
		else
			return perr(p, "criteria operator '%s' (AND, OR, ONE, "
				    "XOR)", op);
	} else {
		n->ref = adup(p, at, type == N_CRITERION ? A_TEST_REF
					: A_DEFINITION_REF);
		if (!n->ref || !*n->ref)
			return perr(p, "%s without a reference in %s",
				    type == N_CRITERION ? "criterion"
							: "extend_definition",
				    p->cur_def->id);
	}
	if (p->role[depth - 1] == R_DEF) {
		if (p->cur_def->root)
			return perr(p, "definition %s has two criteria",
				    p->cur_def->id);
		if (type != N_CRITERIA)
			return perr(p, "definition %s: %s outside criteria",
				    p->cur_def->id, type == N_CRITERION ?
				    "criterion" : "extend_definition");
		p->cur_def->root = n;
	} else {
		struct cnode *parent = p->node[depth - 1];

		if (++parent->nchild > MAX_LIST)
			return perr(p, "criteria with more than %d children",
				    MAX_LIST);
		if (parent->last)
			parent->last->next = n;
		else
			parent->child = n;
		parent->last = n;
	}
	p->node[depth] = n;
	return 0;
}

/* Appends s (not empty) to a definition's list; NULL past MAX_LIST. */
static struct strl *push_str(struct parser *p, struct strl **head,
			     struct strl **tail, size_t *n, const char *s)
{
	static struct strl skipped;
	struct strl *l;

	if (!*s)
		return &skipped;
	if (++*n > MAX_LIST)
		return NULL;
	l = clr_arena_alloc(&p->a, sizeof(*l));
	l->s = s;
	if (*tail)
		(*tail)->next = l;
	else
		*head = l;
	*tail = l;
	return l;
}

/* A <reference source ref_id ref_url> of the current definition. */
static int add_ref(struct parser *p, const struct attrs *at)
{
	struct def *d = p->cur_def;
	struct refl *r;

	if (++d->nrefs > MAX_LIST)
		return perr(p, "too many references");
	r = clr_arena_alloc(&p->a, sizeof(*r));
	r->r.source = at->v[A_SOURCE] ? intern(p, at->v[A_SOURCE]) : "";
	r->r.ref_id = at->v[A_REF_ID] ? adup(p, at, A_REF_ID) : "";
	r->r.ref_url = at->v[A_REF_URL] ? adup(p, at, A_REF_URL) : "";
	if (d->last_ref)
		d->last_ref->next = r;
	else
		d->refs = r;
	d->last_ref = r;
	return 0;
}

/* An <advisory><cve>; its text (the id) comes at its end. */
static int add_cve(struct parser *p, const struct attrs *at)
{
	struct def *d = p->cur_def;
	struct cvel *c;

	if (++d->ncves > MAX_LIST)
		return perr(p, "too many cves");
	c = clr_arena_alloc(&p->a, sizeof(*c));
	c->c.href = at->v[A_HREF] ? adup(p, at, A_HREF) : "";
	c->c.priority = at->v[A_PRIORITY] ? intern(p, at->v[A_PRIORITY]) : "";
	c->c.impact = at->v[A_IMPACT] ? intern(p, at->v[A_IMPACT]) : "";
	c->c.public_date = at->v[A_PUBLIC] ? adup(p, at, A_PUBLIC) : "";
	c->c.id = "";
	if (d->last_cve)
		d->last_cve->next = c;
	else
		d->cves = c;
	d->last_cve = c;
	p->cur_cve = c;
	return 0;
}

/* The role of a new element, from its parent's, and what starting it
 * means. */
static int start_element(struct parser *p, int depth, const char *name)
{
	struct attrs at;
	int parent = depth ? p->role[depth - 1] : -1;
	int role = R_IGNORE, err = 0;

	if (depth >= MAX_DEPTH)
		return perr(p, "elements nested deeper than %d", MAX_DEPTH);
	if (depth == 0) {
		if (strcmp(name, "oval_definitions"))
			return perr(p, "root element <%s>, not "
				    "<oval_definitions>", name);
		p->role[0] = R_ROOT;
		return 0;
	}
	switch (parent) {
	case R_ROOT:
		role = R_SECTION;
		break;
	case R_SECTION:
		if (!strcmp(name, "definition")) {
			role = R_DEF;
			if (!(err = read_attrs(p, &at)))
				err = start_def(p, &at);
		} else if (ends_with(name, "_test")) {
			role = R_TEST;
			if (!(err = read_attrs(p, &at)))
				err = start_test(p, name, &at);
		} else if (ends_with(name, "_object") ||
			   ends_with(name, "_state") ||
			   ends_with(name, "_variable")) {
			role = R_ITEM;
			if (!(err = read_attrs(p, &at)))
				err = start_item(p, name, &at,
						 ends_with(name, "_variable"));
		}
		break;
	case R_DEF:
		if (!strcmp(name, "metadata")) {
			role = R_META;
		} else if (!strcmp(name, "criteria")) {
			role = R_CRITERIA;
			if (!(err = read_attrs(p, &at)))
				err = add_cnode(p, depth, N_CRITERIA, &at);
		}
		break;
	case R_META:
		if (!strcmp(name, "title")) {
			role = R_TITLE;
		} else if (!strcmp(name, "affected")) {
			role = R_AFFECTED;
		} else if (!strcmp(name, "description")) {
			role = R_DESC;
		} else if (!strcmp(name, "advisory")) {
			role = R_ADVISORY;
		} else if (!strcmp(name, "reference")) {
			if (!(err = read_attrs(p, &at)))
				err = add_ref(p, &at);
		}
		break;
	case R_AFFECTED:
		if (!strcmp(name, "platform"))
			role = R_PLATFORM;
		break;
	case R_ADVISORY:
		if (!strcmp(name, "severity")) {
			role = R_SEVERITY;
		} else if (!strcmp(name, "public_date")) {
			role = R_PUBDATE;
		} else if (!strcmp(name, "bug")) {
			role = R_BUG;
		} else if (!strcmp(name, "ref")) {
			role = R_AREF;
		} else if (!strcmp(name, "affected_cpe_list")) {
			role = R_CPELIST;
		} else if (!strcmp(name, "issued") ||
			   !strcmp(name, "updated")) {
			if ((err = read_attrs(p, &at)))
				break;
			if (at.v[A_DATE]) {
				if (name[0] == 'i')
					p->cur_def->issued = adup(p, &at,
								  A_DATE);
				else
					p->cur_def->updated = adup(p, &at,
								   A_DATE);
			}
		} else if (!strcmp(name, "cve")) {
			role = R_CVE;
			if (!(err = read_attrs(p, &at)))
				err = add_cve(p, &at);
		} else if (!strcmp(name, "bugzilla")) {
			if (!(err = read_attrs(p, &at)) && at.v[A_HREF] &&
			    !push_str(p, &p->cur_def->links,
				      &p->cur_def->last_link,
				      &p->cur_def->nlinks,
				      adup(p, &at, A_HREF)))
				err = perr(p, "too many links");
		}
		break;
	case R_CPELIST:
		if (!strcmp(name, "cpe"))
			role = R_CPE;
		break;
	case R_CRITERIA:
		if (p->node[depth - 1]->type != N_CRITERIA)
			return perr(p, "definition %s: <%s> inside a criterion",
				    p->cur_def->id, name);
		if (!strcmp(name, "criteria") || !strcmp(name, "criterion") ||
		    !strcmp(name, "extend_definition")) {
			role = R_CRITERIA;
			if (!(err = read_attrs(p, &at)))
				err = add_cnode(p, depth, name[8] == '\0' ?
						N_CRITERIA : name[0] == 'c' ?
						N_CRITERION : N_EXTEND, &at);
		}
		break;
	case R_TEST:
		if (!strcmp(name, "object")) {
			if ((err = read_attrs(p, &at)))
				break;
			if (p->cur_test->object_ref)
				return perr(p, "test %s has two objects",
					    p->cur_test->id);
			if (!at.v[A_OBJECT_REF])
				return perr(p, "test %s: object without "
					    "object_ref", p->cur_test->id);
			p->cur_test->object_ref = adup(p, &at, A_OBJECT_REF);
		} else if (!strcmp(name, "state")) {
			struct test *t = p->cur_test;
			struct sref *s;

			if ((err = read_attrs(p, &at)))
				break;
			if (!at.v[A_STATE_REF])
				return perr(p, "test %s: state without "
					    "state_ref", t->id);
			if (++t->nstates > 64)
				return perr(p, "test %s has more than 64 "
					    "states", t->id);
			s = clr_arena_alloc(&p->a, sizeof(*s));
			s->ref = adup(p, &at, A_STATE_REF);
			if (t->last_state)
				t->last_state->next = s;
			else
				t->states = s;
			t->last_state = s;
		}
		break;
	case R_ITEM:
		if (p->cur_is_var && strcmp(name, "value")) {
			/* local_variable's functions: not resolvable here */
			p->cur_item->complex = true;
			break;
		}
		if (!strcmp(name, "set") || !strcmp(name, "filter")) {
			p->cur_item->complex = true;
			break;
		}
		if (!strcmp(name, "behaviors"))
			break;
		role = R_ENT;
		if (!(err = read_attrs(p, &at)))
			err = start_ent(p, name, &at);
		break;
	case R_ENT:
		p->cur_item->complex = true;
		break;
	}
	if (err)
		return err;
	p->role[depth] = (uint8_t)role;
	if (role_text(role)) {
		p->text_depth = depth;
		clr_buf_reset(&p->text);
	}
	return 0;
}

static int end_element(struct parser *p, int depth)
{
	int role = p->role[depth];
	struct def *d = p->cur_def;
	const char *s = NULL;

	if (role_text(role) && p->text_depth == depth) {
		if (role == R_DESC)
			/* straight to the output: see the file comment */
			s = trimdup(&p->out->arena, clr_buf_str(&p->text),
				    p->text.len);
		else if (role == R_ENT)
			/* values are compared exactly: a pattern may end in a
			 * space */
			s = clr_arena_strndup(&p->a, clr_buf_str(&p->text),
					      p->text.len);
		else
			s = trimdup(&p->a, clr_buf_str(&p->text), p->text.len);
		p->text_depth = -1;
	}
	if (role_text(role) && !s)
		s = "";
	switch (role) {
	case R_TITLE:
		d->title = s;
		break;
	case R_DESC:
		d->description = s;
		break;
	case R_SEVERITY:
		d->severity = s;
		break;
	case R_PUBDATE:
		d->public_date = s;
		break;
	case R_PLATFORM:
		if (!push_str(p, &d->platforms, &d->last_platform,
			      &d->nplatforms, s))
			return perr(p, "too many platforms");
		break;
	case R_CPE:
		if (!push_str(p, &d->cpes, &d->last_cpe, &d->ncpes, s))
			return perr(p, "too many cpes");
		break;
	case R_BUG:
	case R_AREF:
		if (!push_str(p, &d->links, &d->last_link, &d->nlinks, s))
			return perr(p, "too many links");
		break;
	case R_CVE:
		p->cur_cve->c.id = s;
		break;
	case R_ENT:
		p->cur_ent->value = s;
		break;
	case R_DEF:
		p->cur_def = NULL;
		break;
	case R_TEST:
		if (!p->cur_test->object_ref)
			p->cur_test->object_ref = "";
		p->cur_test = NULL;
		break;
	case R_ITEM:
		p->cur_item = NULL;
		break;
	}
	return 0;
}

static int read_document(struct parser *p)
{
	int ret, err;
	bool root_seen = false, root_closed = false;

	while ((ret = xmlTextReaderRead(p->r)) == 1) {
		int type = xmlTextReaderNodeType(p->r);
		int depth = xmlTextReaderDepth(p->r);

		switch (type) {
		case XML_READER_TYPE_ELEMENT: {
			const char *name = (const char *)
				xmlTextReaderConstLocalName(p->r);

			if (root_closed || depth < 0)
				return perr(p, "content after the root element");
			if (!name)
				return perr(p, "an element without a name");
			if ((err = start_element(p, depth, name)))
				return err;
			root_seen = true;
			if (xmlTextReaderIsEmptyElement(p->r)) {
				if ((err = end_element(p, depth)))
					return err;
				if (depth == 0)
					root_closed = true;
			}
			break;
		}
		case XML_READER_TYPE_END_ELEMENT:
			if (depth < 0 || depth >= MAX_DEPTH)
				return perr(p, "unbalanced elements");
			if ((err = end_element(p, depth)))
				return err;
			if (depth == 0)
				root_closed = true;
			break;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		case XML_READER_TYPE_WHITESPACE:
			if (p->text_depth >= 0 && depth == p->text_depth + 1) {
				const char *v = (const char *)
					xmlTextReaderConstValue(p->r);

				if (v && clr_buf_addstr(&p->text, v))
					return perr(p, "text of an element longer "
						    "than %u bytes",
						    CLR_OVAL_TEXT_MAX);
			}
			break;
		case XML_READER_TYPE_DOCUMENT_TYPE:
		case XML_READER_TYPE_ENTITY_REFERENCE:
		case XML_READER_TYPE_ENTITY:
			return perr(p, "DTDs and entities are refused");
		default:
			break;
		}
	}
	if (p->refused || p->io_error)
		return p->io_error ? CLR_EIO : CLR_EINVALID;
	if ((ret < 0 || p->xmlerr[0]) && root_seen && !root_closed &&
	    p->eof) {
		/* libxml2 says "Extra content" or "Premature end" here */
		return clr_error_set(CLR_EINVALID, "OVAL %s:%d: truncated "
				     "document (%s)", p->name, p->xmlerr_line,
				     p->xmlerr[0] ? p->xmlerr : "malformed");
	}
	if (ret < 0 || p->xmlerr[0]) {
		if (p->xmlerr[0])
			return clr_error_set(CLR_EINVALID, "OVAL %s:%d: %s",
					     p->name, p->xmlerr_line,
					     p->xmlerr);
		return perr(p, "malformed XML");
	}
	if (!root_seen)
		return perr(p, "empty document");
	if (!root_closed)
		return perr(p, "truncated document");
	return 0;
}

/* --- resolving references ------------------------------------------------- */

static int resolve_item(struct parser *p, struct item *it)
{
	if (it->resolved)
		return 0;
	it->resolved = true;
	for (struct ent *e = it->ents; e; e = e->next) {
		if (!e->var_ref)
			continue;
		e->var = clr_hashmap_get(&p->items, e->var_ref);
		if (!e->var || !ends_with(e->var->kind, "_variable"))
			return clr_error_set(CLR_EINVALID, "OVAL %s: %s refers "
					     "to variable %s, which is not in "
					     "the document", p->name, it->id,
					     e->var_ref);
	}
	return 0;
}

static int resolve(struct parser *p)
{
	size_t pos = 0;
	void *v;
	int err;

	while (clr_hashmap_next(&p->tests, &pos, NULL, &v)) {
		struct test *t = v;

		t->object = *t->object_ref ?
			clr_hashmap_get(&p->items, t->object_ref) : NULL;
		if (*t->object_ref && (!t->object ||
				       !ends_with(t->object->kind, "_object")))
			return clr_error_set(CLR_EINVALID, "OVAL %s: test %s "
					     "refers to object %s, which is "
					     "not in the document", p->name,
					     t->id, t->object_ref);
		if (t->object && (err = resolve_item(p, t->object)))
			return err;
		for (struct sref *s = t->states; s; s = s->next) {
			s->state = clr_hashmap_get(&p->items, s->ref);
			if (!s->state || !ends_with(s->state->kind, "_state"))
				return clr_error_set(CLR_EINVALID, "OVAL %s: "
						     "test %s refers to state "
						     "%s, which is not in the "
						     "document", p->name,
						     t->id, s->ref);
			if ((err = resolve_item(p, s->state)))
				return err;
		}
		t->bad = (t->object && t->object->bad_op);
		for (struct sref *s = t->states; s; s = s->next)
			t->bad |= s->state->bad_op;
	}
	return 0;
}

/* Resolves the criteria tree of d (iteratively: trees are at most as deep
 * as the XML, which libxml2 caps). */
static int resolve_tree(struct parser *p, struct def *d, struct cnode *n)
{
	int err;

	for (; n; n = n->next) {
		if (n->type == N_CRITERION) {
			n->test = clr_hashmap_get(&p->tests, n->ref);
			if (!n->test)
				return clr_error_set(CLR_EINVALID, "OVAL %s: "
						     "definition %s refers to "
						     "test %s, which is not in "
						     "the document", p->name,
						     d->id, n->ref);
		} else if (n->type == N_EXTEND) {
			n->def = clr_hashmap_get(&p->defs, n->ref);
			if (!n->def)
				return clr_error_set(CLR_EINVALID, "OVAL %s: "
						     "definition %s extends "
						     "definition %s, which is "
						     "not in the document",
						     p->name, d->id, n->ref);
		} else if ((err = resolve_tree(p, d, n->child))) {
			return err;
		}
	}
	return 0;
}

/* extend_definition must not loop: a depth-first walk over the extend
 * edges with the usual grey/black marks. */
static int check_cycles(struct parser *p, struct def *d, int depth);

static int check_cycles_tree(struct parser *p, struct cnode *n, int depth)
{
	int err;

	for (; n; n = n->next) {
		if (n->type == N_EXTEND) {
			if ((err = check_cycles(p, n->def, depth + 1)))
				return err;
		} else if (n->type == N_CRITERIA &&
			   (err = check_cycles_tree(p, n->child, depth))) {
			return err;
		}
	}
	return 0;
}

static int check_cycles(struct parser *p, struct def *d, int depth)
{
	int err;

	if (d->visiting == 2)
		return 0;
	if (d->visiting == 1 || depth > MAX_EXTEND_DEPTH)
		return clr_error_set(CLR_EINVALID, "OVAL %s: definition %s: "
				     "extend_definition loops or nests deeper "
				     "than %d", p->name, d->id,
				     MAX_EXTEND_DEPTH);
	d->visiting = 1;
	if (d->root && (err = check_cycles_tree(p, d->root, depth)))
		return err;
	d->visiting = 2;
	return 0;
}

/* --- classifying tests ---------------------------------------------------- */

static const char *norm_fixed(struct parser *p, const char *v)
{
	size_t n = strlen(v);

	/* "0:" is no epoch in rpm and dpkg alike; Canonical's generator
	 * adds it to every version, Red Hat writes it on all of them */
	if (n > 2 && v[0] == '0' && v[1] == ':')
		return trimdup(&p->a, v + 2, n - 2);
	return trimdup(&p->a, v, n);
}

/* The single text of an entity: its value, or the one value of the
 * constant_variable it refers to; NULL when there is not exactly one. */
static const char *ent_text(const struct ent *e)
{
	if (!e->var_ref)
		return e->value;
	if (!e->var || e->var->complex ||
	    strcmp(e->var->kind, "constant_variable") || e->var->nents != 1)
		return NULL;
	return e->var->ents->value;
}

/* Decides once whether t is a package leaf: an rpminfo/dpkginfo test of
 * named packages whose one state says evr less than V (arch allowed), or
 * that has no state (existence: unfixed).  Anything else about a package
 * (a version pattern, a signing key, a release pattern, another check) is
 * a condition. */
static void classify(struct parser *p, struct test *t)
{
	const struct item *obj = t->object, *ste;
	const struct ent *name = NULL, *evr = NULL, *arch = NULL;
	const char *fixed = NULL;

	t->leaf = 0;
	if (t->bad || !obj || obj->complex)
		return;
	if (strcmp(t->kind, "rpminfo_test") && strcmp(t->kind, "dpkginfo_test"))
		return;
	if (t->check && strcmp(t->check, "at least one") &&
	    strcmp(t->check, "all"))
		return;
	if (t->check_existence && strcmp(t->check_existence,
					 "at_least_one_exists"))
		return;
	if (t->state_operator && strcmp(t->state_operator, "AND"))
		return;
	if (strcmp(obj->kind, "rpminfo_object") &&
	    strcmp(obj->kind, "dpkginfo_object"))
		return;
	for (const struct ent *e = obj->ents; e; e = e->next) {
		if (strcmp(e->name, "name") || name)
			return;
		name = e;
	}
	if (!name || (name->op && strcmp(name->op, "equals")))
		return;
	if (t->nstates > 1)
		return;
	if (t->nstates == 1) {
		ste = t->states->state;
		if (ste->complex || (strcmp(ste->kind, "rpminfo_state") &&
				     strcmp(ste->kind, "dpkginfo_state")))
			return;
		for (const struct ent *e = ste->ents; e; e = e->next) {
			if (!strcmp(e->name, "evr") && !evr &&
			    streq(e->op, "less than"))
				evr = e;
			else if (!strcmp(e->name, "arch") && !arch && !e->var_ref &&
				 (!e->op || !strcmp(e->op, "equals") ||
				  !strcmp(e->op, "pattern match")))
				arch = e;
			else
				return;
		}
		if (!evr || !(fixed = ent_text(evr)) || !*fixed)
			return;
	}
	if (!name->var_ref) {
		const char **names;
		const char *n = trimdup(&p->a, name->value, strlen(name->value));

		if (!*n)
			return;
		names = clr_arena_alloc(&p->a, sizeof(*names));
		names[0] = n;
		t->names = names;
		t->nnames = 1;
	} else {
		const struct item *var = name->var;
		const char **names;
		size_t n = 0;

		if (!var || var->complex ||
		    strcmp(var->kind, "constant_variable") || !var->nents ||
		    (name->var_check && strcmp(name->var_check, "at least one")))
			return;
		names = clr_arena_alloc(&p->a, var->nents * sizeof(*names));
		for (const struct ent *e = var->ents; e; e = e->next) {
			const char *v = trimdup(&p->a, e->value,
						strlen(e->value));

			if (*v)
				names[n++] = v;
		}
		if (!n)
			return;
		t->names = names;
		t->nnames = n;
		t->name_from_var = true;
	}
	t->unfixed = !evr;
	t->fixed = evr ? norm_fixed(p, fixed) : "";
	if (arch && *arch->value) {
		t->arch = trimdup(&p->a, arch->value, strlen(arch->value));
		t->arch_op = arch->op ? arch->op : "equals";
	}
	t->leaf = 1;
}

static bool is_leaf(struct parser *p, struct test *t)
{
	if (t->leaf < 0)
		classify(p, t);
	return t->leaf == 1;
}

/* --- conditions as JSON --------------------------------------------------- */

static void json_str(struct clr_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	clr_buf_addch(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		clr_buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': clr_buf_addstr(b, "\\\""); break;
		case '\\': clr_buf_addstr(b, "\\\\"); break;
		case '\n': clr_buf_addstr(b, "\\n"); break;
		case '\t': clr_buf_addstr(b, "\\t"); break;
		case '\r': clr_buf_addstr(b, "\\r"); break;
		default: {
			char u[7] = { '\\', 'u', '0', '0', hex[c >> 4],
				      hex[c & 15], 0 };

			clr_buf_addstr(b, u);
		}
		}
	}
	clr_buf_add(b, run, (size_t)(s - run));
	clr_buf_addch(b, '"');
}

static void json_kv(struct clr_buf *b, const char *k, const char *v)
{
	clr_buf_addch(b, ',');
	json_str(b, k);
	clr_buf_addch(b, ':');
	json_str(b, v);
}

static void json_ent(struct clr_buf *b, const struct ent *e)
{
	json_str(b, e->name);
	clr_buf_addstr(b, ":{\"op\":");
	json_str(b, e->op ? e->op : "equals");
	if (e->datatype && strcmp(e->datatype, "string"))
		json_kv(b, "datatype", e->datatype);
	if (e->var_ref) {
		json_kv(b, "var_ref", e->var_ref);
		if (e->var_check)
			json_kv(b, "var_check", e->var_check);
		if (e->var && !e->var->complex &&
		    !strcmp(e->var->kind, "constant_variable")) {
			clr_buf_addstr(b, ",\"values\":[");
			for (const struct ent *v = e->var->ents; v; v = v->next) {
				if (v != e->var->ents)
					clr_buf_addch(b, ',');
				json_str(b, v->value);
			}
			clr_buf_addch(b, ']');
		} else {
			clr_buf_addstr(b, ",\"unresolved\":true");
		}
	} else {
		json_kv(b, "value", e->value);
	}
	clr_buf_addch(b, '}');
}

static void json_item(struct clr_buf *b, const struct item *it)
{
	bool first = true;

	clr_buf_addch(b, '{');
	for (const struct ent *e = it->ents; e; e = e->next) {
		if (!first)
			clr_buf_addch(b, ',');
		first = false;
		json_ent(b, e);
	}
	if (it->complex) {
		if (!first)
			clr_buf_addch(b, ',');
		clr_buf_addstr(b, "\"complex\":true");
	}
	clr_buf_addch(b, '}');
}

static const struct ent *find_ent(const struct item *it, const char *name)
{
	for (const struct ent *e = it ? it->ents : NULL; e; e = e->next)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

/* "X:Y" from the module file's name (X.module) and the stream in the
 * state's pattern, "\nstream\s*=\s*rhel8\b(?!\n\[)"; NULL if either is
 * not there. */
static const char *module_from_pattern(struct parser *p, const char *file,
				       const struct ent *txt)
{
	static const char key[] = "stream\\s*=\\s*";
	const char *dot = strstr(file, ".module");
	const char *s = txt ? strstr(txt->value, key) : NULL;
	size_t n = 0, nf;
	char *m;

	if (!s || !dot || dot == file)
		return NULL;
	s += sizeof(key) - 1;
	while (s[n] && (isalnum((unsigned char)s[n]) || s[n] == '.' ||
			s[n] == '_' || s[n] == '+' || s[n] == '-'))
		n++;
	if (!n)
		return NULL;
	nf = (size_t)(dot - file);
	m = clr_arena_alloc(&p->a, nf + n + 2);
	memcpy(m, file, nf);
	m[nf] = ':';
	memcpy(m + nf + 1, s, n);
	return m;
}

/* "X:Y" when t checks that dnf module X has stream Y enabled (RHEL 8+:
 * a textfilecontent54 test on /etc/dnf/modules.d/X.module, commented
 * "Module X:Y is enabled"), else NULL. */
static const char *module_of(struct parser *p, const struct test *t,
			     const char *comment)
{
	const struct ent *fp;
	const char *c, *end;

	if (strcmp(t->kind, "textfilecontent54_test") &&
	    strcmp(t->kind, "textfilecontent_test"))
		return NULL;
	fp = find_ent(t->object, "filepath");
	if (!fp || strncmp(fp->value, "/etc/dnf/modules.d/", 19))
		return NULL;
	for (int i = 0; i < 2; i++) {
		c = i ? comment : t->comment;
		if (!c || strncasecmp(c, "Module ", 7))
			continue;
		c += 7;
		end = strstr(c, " is enabled");
		if (end && end > c && memchr(c, ':', (size_t)(end - c)) &&
		    !memchr(c, ' ', (size_t)(end - c)))
			return clr_arena_strndup(&p->a, c, (size_t)(end - c));
	}
	/* no comment to go by: the file name and the state's pattern */
	if (t->nstates == 1)
		return module_from_pattern(p, fp->value + 19,
					   find_ent(t->states->state, "text"));
	return NULL;
}

static const char *test_kind_label(const struct test *t)
{
	const char *k = t->kind;

	if (!strcmp(k, "rpminfo_test") || !strcmp(k, "dpkginfo_test")) {
		const struct item *s = t->nstates == 1 ? t->states->state : NULL;

		if (s && s->nents == 1 &&
		    !strcmp(s->ents->name, "signature_keyid") &&
		    (!s->ents->op || !strcmp(s->ents->op, "equals")) &&
		    !s->ents->var_ref)
			return "signature_key";
		return "package";
	}
	if (!strcmp(k, "rpmverifyfile_test") || !strcmp(k, "rpmverify_test"))
		return "file";
	if (!strcmp(k, "textfilecontent54_test") ||
	    !strcmp(k, "textfilecontent_test"))
		return "file_content";
	if (!strcmp(k, "uname_test"))
		return "running_kernel";
	if (!strcmp(k, "family_test"))
		return "family";
	if (!strcmp(k, "variable_test"))
		return "variable";
	return "other";
}

static struct cond *finish_cond(struct parser *p, struct clr_buf *b,
				const char *module)
{
	struct cond *c = clr_arena_alloc(&p->a, sizeof(*c));

	c->len = b->len;
	c->json = clr_arena_strndup(&p->a, clr_buf_str(b), b->len);
	c->module = module;
	clr_buf_reset(b);
	return c;
}

/* t as a condition; neg: the criterion is negated. */
static struct cond *test_cond(struct parser *p, struct clr_buf *b,
			      struct test *t, bool neg, const char *comment)
{
	const char *kind, *module;

	if (t->cond[neg])
		return t->cond[neg];
	module = module_of(p, t, comment);
	kind = module ? "module" : test_kind_label(t);
	clr_buf_addstr(b, "{\"kind\":");
	json_str(b, kind);
	if (module)
		json_kv(b, "module", module);
	json_kv(b, "test", t->kind);
	if (t->comment || comment)
		json_kv(b, "comment", t->comment ? t->comment : comment);
	if (neg)
		clr_buf_addstr(b, ",\"negate\":true");
	if (!module) {
		if (t->check && strcmp(t->check, "at least one"))
			json_kv(b, "check", t->check);
		if (t->check_existence &&
		    strcmp(t->check_existence, "at_least_one_exists"))
			json_kv(b, "check_existence", t->check_existence);
		if (t->state_operator && strcmp(t->state_operator, "AND"))
			json_kv(b, "state_operator", t->state_operator);
		if (t->object) {
			clr_buf_addstr(b, ",\"object\":");
			json_item(b, t->object);
		}
		if (!strcmp(kind, "signature_key")) {
			json_kv(b, "key", t->states->state->ents->value);
		} else if (t->states) {
			clr_buf_addstr(b, ",\"states\":[");
			for (struct sref *s = t->states; s; s = s->next) {
				if (s != t->states)
					clr_buf_addch(b, ',');
				json_item(b, s->state);
			}
			clr_buf_addch(b, ']');
		}
	}
	clr_buf_addch(b, '}');
	/* a negated module check is no reason to set the record's module */
	t->cond[neg] = finish_cond(p, b, neg ? NULL : module);
	return t->cond[neg];
}

static void formula_json(struct parser *p, struct clr_buf *b,
			 struct cnode *n, bool neg);

/* An extend_definition inlined: the extended definition's root criteria
 * with the reference and the extend's own negation and comment. */
static void extend_json(struct parser *p, struct clr_buf *b, struct cnode *n,
			bool neg)
{
	struct cnode *root = n->def->root;
	bool nn = neg ^ n->negate ^ (root ? root->negate : false);

	clr_buf_addstr(b, "{\"kind\":\"criteria\",\"operator\":");
	json_str(b, op_names[root ? root->op : OP_AND]);
	json_kv(b, "definition", n->def->id);
	if (n->comment)
		json_kv(b, "comment", n->comment);
	if (nn)
		clr_buf_addstr(b, ",\"negate\":true");
	clr_buf_addstr(b, ",\"of\":[");
	for (struct cnode *c = root ? root->child : NULL; c; c = c->next) {
		if (c != root->child)
			clr_buf_addch(b, ',');
		formula_json(p, b, c, false);
	}
	clr_buf_addstr(b, "]}");
}

/* n (whose truth is flipped once more when neg) written out as a formula. */
static void formula_json(struct parser *p, struct clr_buf *b,
			 struct cnode *n, bool neg)
{
	bool nn = neg ^ n->negate;

	if (n->type == N_CRITERION) {
		/* a fresh buffer: test_cond() resets it */
		struct clr_buf tb = CLR_BUF_INIT(SIZE_MAX - 1);
		struct cond *c = test_cond(p, &tb, n->test, nn, n->comment);

		clr_buf_add(b, c->json, c->len);
		clr_buf_release(&tb);
		return;
	}
	if (n->type == N_EXTEND) {
		extend_json(p, b, n, neg);
		return;
	}
	clr_buf_addstr(b, "{\"kind\":\"criteria\",\"operator\":");
	json_str(b, op_names[n->op]);
	if (n->comment)
		json_kv(b, "comment", n->comment);
	if (nn)
		clr_buf_addstr(b, ",\"negate\":true");
	clr_buf_addstr(b, ",\"of\":[");
	for (struct cnode *c = n->child; c; c = c->next) {
		if (c != n->child)
			clr_buf_addch(b, ',');
		formula_json(p, b, c, false);
	}
	clr_buf_addstr(b, "]}");
}

static struct cond *node_cond(struct parser *p, struct clr_buf *b,
			      struct cnode *n, bool neg)
{
	if (n->type == N_CRITERION)
		return test_cond(p, b, n->test, neg ^ n->negate, n->comment);
	if (!n->cond[neg]) {
		formula_json(p, b, n, neg);
		n->cond[neg] = finish_cond(p, b, NULL);
	}
	return n->cond[neg];
}

/* --- disjunctive normal form ---------------------------------------------- */

/* Does n hold a package leaf that counts as positive (an even number of
 * negations above it), with neg the parity above n? */
static bool has_pkg(struct parser *p, struct cnode *n, bool neg)
{
	bool nn = neg ^ n->negate, r = false;

	if (n->haspkg[neg] >= 0)
		return n->haspkg[neg];
	if (n->type == N_CRITERION)
		r = !nn && is_leaf(p, n->test);
	else if (n->type == N_EXTEND)
		r = n->def->root && has_pkg(p, n->def->root, nn);
	else
		for (struct cnode *c = n->child; c && !r; c = c->next)
			r = has_pkg(p, c, nn);
	n->haspkg[neg] = r;
	return r;
}

/* Does n use a test with an operation OVAL does not define (anywhere,
 * through extend_definition too)? */
static bool tree_bad(struct cnode *n)
{
	bool r = false;

	if (n->bad >= 0)
		return n->bad;
	if (n->type == N_CRITERION)
		r = n->test->bad;
	else if (n->type == N_EXTEND)
		r = n->def->root && tree_bad(n->def->root);
	else
		for (struct cnode *c = n->child; c && !r; c = c->next)
			r = tree_bad(c);
	n->bad = r;
	return r;
}

/* One conjunction: package leaves and conditions. */
struct alt {
	struct test **leaf;
	struct cond **cond;
	uint32_t nleaf, ncond;
};

struct alts {
	struct alt *v;
	size_t n;
};

struct dnf {
	struct parser *p;
	struct clr_arena *tmp;   /* released after each definition */
	struct clr_buf *b;
	size_t items;            /* leaves + conditions so far */
	const char *why;         /* set when the definition is skipped */
};

static int one_alt(struct dnf *d, struct alts *out, struct test *leaf,
		   struct cond *c)
{
	out->v = clr_arena_alloc(d->tmp, sizeof(*out->v));
	out->n = 1;
	if (leaf) {
		out->v->leaf = clr_arena_alloc(d->tmp, sizeof(*out->v->leaf));
		out->v->leaf[0] = leaf;
		out->v->nleaf = 1;
	} else {
		out->v->cond = clr_arena_alloc(d->tmp, sizeof(*out->v->cond));
		out->v->cond[0] = c;
		out->v->ncond = 1;
	}
	if (++d->items > MAX_ALT_ITEMS)
		d->why = "expands to too many conjunctions";
	return d->why ? 1 : 0;
}

/* n pointers; an empty list may be NULL (memcpy may not see one). */
static void copy_ptrs(void *dst, const void *src, size_t n)
{
	if (n)
		memcpy(dst, src, n * sizeof(void *));
}

/* out = a AND b, every pairing. */
static int product(struct dnf *d, struct alts *out, const struct alts *a,
		   const struct alts *b)
{
	size_t n;

	if (a->n && b->n > CLR_OVAL_MAX_ALTS / a->n) {
		d->why = "expands to too many conjunctions";
		return 1;
	}
	n = a->n * b->n;
	out->v = clr_arena_alloc(d->tmp, (n ? n : 1) * sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < a->n; i++) {
		for (size_t j = 0; j < b->n; j++) {
			const struct alt *x = &a->v[i], *y = &b->v[j];
			struct alt *z = &out->v[out->n++];

			z->nleaf = x->nleaf + y->nleaf;
			z->ncond = x->ncond + y->ncond;
			d->items += z->nleaf + z->ncond;
			if (d->items > MAX_ALT_ITEMS) {
				d->why = "expands to too many conjunctions";
				return 1;
			}
			z->leaf = clr_arena_alloc(d->tmp, z->nleaf *
						  sizeof(*z->leaf));
			z->cond = clr_arena_alloc(d->tmp, z->ncond *
						  sizeof(*z->cond));
			copy_ptrs(z->leaf, x->leaf, x->nleaf);
			copy_ptrs(z->leaf + x->nleaf, y->leaf, y->nleaf);
			copy_ptrs(z->cond, x->cond, x->ncond);
			copy_ptrs(z->cond + x->ncond, y->cond, y->ncond);
		}
	}
	return 0;
}

/*
 * The conjunctions of n (neg: parity of negations above n).  Negation is
 * pushed down by De Morgan's laws only where it matters -- through parts of
 * the tree that hold package leaves; any part without one is kept whole as
 * one condition (a formula).  Returns 1 (d->why set) when the definition
 * cannot be expressed, else 0.
 */
static int dnf(struct dnf *d, struct cnode *n, bool neg, struct alts *out,
	       int depth)
{
	struct parser *p = d->p;
	bool nn = neg ^ n->negate;
	int op;

	if (!has_pkg(p, n, neg))
		return one_alt(d, out, NULL, node_cond(p, d->b, n, neg));
	if (n->type == N_CRITERION)
		return one_alt(d, out, n->test, NULL);
	if (n->type == N_EXTEND) {
		if (depth > MAX_EXTEND_DEPTH) {
			d->why = "nests extend_definition too deeply";
			return 1;
		}
		return dnf(d, n->def->root, nn, out, depth + 1);
	}
	op = n->op;
	if (op == OP_ONE || op == OP_XOR) {
		d->why = "uses ONE or XOR over package tests";
		return 1;
	}
	if (nn)
		op = op == OP_AND ? OP_OR : OP_AND;
	if (op == OP_OR) {
		struct alts acc = { NULL, 0 };
		size_t cap = 0;

		for (struct cnode *c = n->child; c; c = c->next) {
			struct alts ca;

			if (dnf(d, c, nn, &ca, depth))
				return 1;
			if (acc.n + ca.n > CLR_OVAL_MAX_ALTS) {
				d->why = "expands to too many conjunctions";
				return 1;
			}
			if (acc.n + ca.n > cap) {
				struct alt *v;

				cap = (acc.n + ca.n) * 2;
				v = clr_arena_alloc(d->tmp, cap * sizeof(*v));
				if (acc.n)
					memcpy(v, acc.v, acc.n * sizeof(*v));
				acc.v = v;
			}
			memcpy(acc.v + acc.n, ca.v, ca.n * sizeof(*ca.v));
			acc.n += ca.n;
		}
		*out = acc;
		return 0;
	} else {
		struct alts acc;
		struct alt *empty = clr_arena_alloc(d->tmp, sizeof(*empty));

		acc.v = empty;
		acc.n = 1;
		for (struct cnode *c = n->child; c; c = c->next) {
			struct alts ca, next;

			if (dnf(d, c, nn, &ca, depth) ||
			    product(d, &next, &acc, &ca))
				return 1;
			acc = next;
		}
		*out = acc;
		return 0;
	}
}

/* --- records -------------------------------------------------------------- */

enum {
#define F_ENUM(f) F_##f,
	CLR_VULN_STRINGS(F_ENUM)
#undef F_ENUM
	F__COUNT
};

/* The last copy of each field the callback set, reused while it hands the
 * same text again (the distribution fields of every record, say). */
struct str_cache {
	const char *dst[F__COUNT];
};

static const char *out_str(struct parser *p, struct str_cache *sc, int f,
			   const char *set, const char *v)
{
	if (!v || v == p->empty || !*v)
		return p->empty;
	if (v == set)
		return v;
	if (!sc->dst[f] || strcmp(sc->dst[f], v))
		sc->dst[f] = clr_arena_strdup(&p->out->arena, v);
	return sc->dst[f];
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The RFC 3339 form of the feeds' dates (see oval.h). */
void clr_oval_date(char out[21], const char *s)
{
	int y, mo, d, h = 0, mi = 0, se = 0;

	out[0] = '\0';
	if (!s)
		return;
	while (*s == ' ')
		s++;
	if (strlen(s) < 10 || s[4] != '-' || s[7] != '-')
		return;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	s += 10;
	if ((*s == 'T' || *s == ' ') && s[1] >= '0' && s[1] <= '9') {
		if (strlen(s) < 9 || s[3] != ':' || s[6] != ':')
			return;
		h = digits(s + 1, 2);
		mi = digits(s + 4, 2);
		se = digits(s + 7, 2);
		s += 9;
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
		if (*s == 'Z')
			s++;
		else if (!strncmp(s, " UTC", 4) || !strncmp(s, " GMT", 4))
			s += 4;
	}
	while (*s == ' ')
		s++;
	if (*s || y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
		return;
	snprintf(out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", y % 10000,
		 mo % 100, d % 100, h % 100, mi % 100, se % 100);
}

static const char **list_array(struct clr_arena *a, struct strl *l, size_t n)
{
	const char **v = clr_arena_alloc(a, (n ? n : 1) * sizeof(*v));
	size_t i = 0;

	for (; l; l = l->next)
		v[i++] = l->s;
	return v;
}

/* The links of d: each URL once, in order. */
static const char *def_links(struct parser *p, struct def *d,
			     struct clr_buf *b)
{
	struct clr_hashmap seen = CLR_HASHMAP_INIT;
	const char *s;

#define ADD_LINK(u)                                                       \
	do {                                                              \
		const char *u_ = (u);                                     \
		if (u_ && *u_ && !strpbrk(u_, " \t\n") &&                 \
		    !clr_hashmap_get(&seen, u_)) {                        \
			clr_hashmap_put(&seen, u_, (void *)u_);           \
			if (b->len)                                       \
				clr_buf_addch(b, ' ');                    \
			clr_buf_addstr(b, u_);                            \
		}                                                         \
	} while (0)
	clr_buf_reset(b);
	for (struct refl *r = d->refs; r; r = r->next)
		ADD_LINK(r->r.ref_url);
	for (struct cvel *c = d->cves; c; c = c->next)
		ADD_LINK(c->c.href);
	for (struct strl *l = d->links; l; l = l->next)
		if (!strncmp(l->s, "http://", 7) || !strncmp(l->s, "https://", 8))
			ADD_LINK(l->s);
#undef ADD_LINK
	clr_hashmap_release(&seen, NULL);
	s = clr_arena_strndup(&p->out->arena, clr_buf_str(b), b->len);
	clr_buf_reset(b);
	return s;
}

/* Record classes: what "patch" and "vulnerability" definitions say; an
 * "inventory" definition (Ubuntu's "release is installed") is only
 * something others extend. */
static bool record_class(const char *c)
{
	return !strcmp(c, "patch") || !strcmp(c, "vulnerability");
}

/* What the emit callback is shown of d; arrays in tmp, dates in the
 * caller's buffers. */
static void make_view(struct parser *p, struct def *d, struct clr_arena *tmp,
		      struct clr_buf *b, struct clr_oval_definition *view,
		      char issued[21], char updated[21])
{
	struct clr_oval_ref *refs;
	struct clr_oval_cve *cves;
	size_t k = 0;

	memset(view, 0, sizeof(*view));
	view->id = d->id;
	view->oval_class = d->oval_class;
	view->title = d->title ? d->title : "";
	view->description = d->description ? d->description : "";
	view->severity = d->severity ? d->severity : "";
	clr_oval_date(issued, d->issued);
	if (!*issued)
		clr_oval_date(issued, d->public_date);
	clr_oval_date(updated, d->updated);
	view->issued = issued;
	view->updated = updated;
	view->links = def_links(p, d, b);
	refs = clr_arena_alloc(tmp, (d->nrefs + 1) * sizeof(*refs));
	for (struct refl *r = d->refs; r; r = r->next)
		refs[k++] = r->r;
	view->refs = refs;
	view->nrefs = k;
	k = 0;
	cves = clr_arena_alloc(tmp, (d->ncves + 1) * sizeof(*cves));
	for (struct cvel *c = d->cves; c; c = c->next)
		cves[k++] = c->c;
	view->cves = cves;
	view->ncves = k;
	view->platforms = list_array(tmp, d->platforms, d->nplatforms);
	view->nplatforms = d->nplatforms;
	view->cpes = list_array(tmp, d->cpes, d->ncpes);
	view->ncpes = d->ncpes;
}

/* s in the output arena, one copy per distinct text of a definition. */
static const char *def_str(struct parser *p, struct clr_hashmap *strs,
			   const char *s)
{
	char *c;

	if (!s || !*s)
		return p->empty;
	if ((c = clr_hashmap_get(strs, s)))
		return c;
	c = clr_arena_strdup(&p->out->arena, s);
	clr_hashmap_put(strs, c, c);
	return c;
}

/* Appends p as 16 hex digits: a cheap unique key part. */
static void add_ptr(struct clr_buf *b, const void *ptr)
{
	static const char hex[] = "0123456789abcdef";
	uintptr_t v = (uintptr_t)ptr;
	char s[2 * sizeof(v)];

	for (size_t i = 0; i < sizeof(s); i++)
		s[i] = hex[(v >> (4 * (sizeof(s) - 1 - i))) & 15];
	clr_buf_add(b, s, sizeof(s));
}

/*
 * The affected JSON of conjunction a whose record is about leaf: the other
 * package leaves and the conditions, in order.  Conditions are one object
 * each (memoized), so the text is a function of those pointers: equal
 * conjunctions are found by a short key of pointers and share one copy
 * instead of hashing kilobytes of JSON each time.
 */
static const char *alt_json(struct parser *p, struct def *d,
			    const struct alt *a, const struct test *leaf,
			    struct clr_buf *b, struct clr_hashmap *strs)
{
	struct clr_buf tb = CLR_BUF_INIT(SIZE_MAX - 1);
	bool first = true;
	char *json;

	clr_buf_reset(b);
	clr_buf_addch(b, '\x01');  /* not a text: no clash with def_str() */
	add_ptr(b, leaf);
	for (uint32_t k = 0; k < a->nleaf; k++)
		add_ptr(b, a->leaf[k]);
	clr_buf_addch(b, '|');
	for (uint32_t k = 0; k < a->ncond; k++)
		add_ptr(b, a->cond[k]);
	if ((json = clr_hashmap_get(strs, clr_buf_str(b))))
		return json;
	clr_buf_addstr(&tb, "{\"oval\":{\"definition\":");
	json_str(&tb, d->id);
	clr_buf_addstr(&tb, ",\"conditions\":[");
	for (uint32_t k = 0; k < a->nleaf; k++) {
		struct clr_buf cb = CLR_BUF_INIT(SIZE_MAX - 1);
		struct cond *c;

		if (a->leaf[k] == leaf)
			continue;
		c = test_cond(p, &cb, a->leaf[k], false, NULL);
		clr_buf_release(&cb);
		if (!first)
			clr_buf_addch(&tb, ',');
		first = false;
		clr_buf_add(&tb, c->json, c->len);
	}
	for (uint32_t k = 0; k < a->ncond; k++) {
		if (!first)
			clr_buf_addch(&tb, ',');
		first = false;
		clr_buf_add(&tb, a->cond[k]->json, a->cond[k]->len);
	}
	clr_buf_addch(&tb, ']');
	if (p->o->keep_cpes && d->ncpes) {
		clr_buf_addstr(&tb, ",\"cpes\":[");
		for (struct strl *l = d->cpes; l; l = l->next) {
			if (l != d->cpes)
				clr_buf_addch(&tb, ',');
			json_str(&tb, l->s);
		}
		clr_buf_addch(&tb, ']');
	}
	clr_buf_addstr(&tb, "}}");
	json = clr_arena_strndup(&p->out->arena, clr_buf_str(&tb), tb.len);
	clr_buf_release(&tb);
	clr_hashmap_put(strs, clr_buf_str(b), json);
	return json;
}

static int emit_def(struct parser *p, struct def *d, struct clr_buf *b,
		    struct clr_arena *tmp)
{
	struct dnf dn = { p, tmp, b, 0, NULL };
	struct clr_oval_definition view;
	struct clr_hashmap seen = CLR_HASHMAP_INIT;
	struct clr_hashmap affs = CLR_HASHMAP_INIT;
	struct str_cache sc;
	struct alts alts;
	char issued[21], updated[21];
	const char *set[F__COUNT];
	bool viewed = false;
	int err = 0;

	if (!d->root || !record_class(d->oval_class))
		return 0;
	if (tree_bad(d->root))
		dn.why = "uses an operation OVAL does not define";
	if (dn.why || dnf(&dn, d->root, false, &alts, 0)) {
		p->st->skipped++;
		clr_log_warn("OVAL %s: definition %s skipped: it %s", p->name,
			     d->id, dn.why);
		return 0;
	}
	memset(&sc, 0, sizeof(sc));
	for (size_t i = 0; i < alts.n; i++) {
		const struct alt *a = &alts.v[i];
		struct test *leaf = NULL;
		const char *module = NULL, *affected, *fixed;
		struct clr_oval_leaf li;

		if (!a->nleaf) {
			p->st->no_package++;
			continue;
		}
		if (!viewed) {
			/* the definition's own strings, once */
			struct clr_arena *oa = &p->out->arena;

			make_view(p, d, tmp, b, &view, issued, updated);
			memset(set, 0, sizeof(set));
			set[F_name] = clr_arena_strdup(oa, view.title);
			set[F_updater] = clr_arena_strdup(oa, p->o->updater ?
							   p->o->updater : "");
			set[F_description] = *view.description ?
				view.description : p->empty;
			set[F_issued] = clr_arena_strdup(oa, issued);
			set[F_links] = view.links;
			set[F_severity] = clr_arena_strdup(oa, view.severity);
			set[F_package_kind] = clr_arena_strdup(oa, "binary");
			set[F_version_scheme] = clr_arena_strdup(
				oa, clr_vscheme_name(p->o->scheme));
			viewed = true;
		}
		/* the leaf the record is about: the first with a fixed
		 * version, else the first; the others stay conditions */
		for (uint32_t k = 0; k < a->nleaf && !leaf; k++)
			if (!a->leaf[k]->unfixed)
				leaf = a->leaf[k];
		if (!leaf)
			leaf = a->leaf[0];
		for (uint32_t k = 0; k < a->ncond && !module; k++)
			module = a->cond[k]->module;

		/* one copy per distinct string (def_str(), alt_json()), so
		 * that the duplicate check below can compare pointers */
		affected = alt_json(p, d, a, leaf, b, &affs);
		fixed = def_str(p, &affs, leaf->fixed);
		set[F_affected] = affected;
		set[F_fixed_in_version] = fixed;
		set[F_package_module] = def_str(p, &affs, module);
		set[F_arch] = def_str(p, &affs, leaf->arch);
		set[F_arch_op] = def_str(p, &affs, leaf->arch_op);
		li.test_kind = leaf->kind;
		li.unfixed = leaf->unfixed;
		li.name_from_variable = leaf->name_from_var;

		for (size_t k = 0; k < leaf->nnames; k++) {
			struct clr_vuln v;
			int keep = 0;

			set[F_package_name] = def_str(p, &affs,
						      leaf->names[k]);
			/* one record per distinct content: the strings are
			 * one copy each here (def_str(), alt_json()), so
			 * their pointers say it */
			clr_buf_reset(b);
			add_ptr(b, set[F_package_name]);
			add_ptr(b, affected);
			add_ptr(b, fixed);
			add_ptr(b, set[F_arch]);
			add_ptr(b, set[F_arch_op]);
			add_ptr(b, set[F_package_module]);
			if (clr_hashmap_get(&seen, clr_buf_str(b)))
				continue;
			clr_hashmap_put(&seen, clr_buf_str(b), (void *)1);
			memset(&v, 0, sizeof(v));
#define F_SET(f) v.f = set[F_##f] ? set[F_##f] : p->empty;
			CLR_VULN_STRINGS(F_SET)
#undef F_SET
			v.normalized_severity = CLR_SEV_UNKNOWN;
			if (p->o->emit &&
			    (keep = p->o->emit(p->o->arg, &view, &li, &v)) < 0) {
				err = keep;
				goto cleanup;
			}
			if (keep)
				continue;
#define F_OUT(f) v.f = out_str(p, &sc, F_##f, set[F_##f], v.f);
			CLR_VULN_STRINGS(F_OUT)
#undef F_OUT
			clr_vec_push(&p->out->vulns, &v);
			p->st->records++;
		}
	}
cleanup:
	clr_buf_reset(b);
	clr_hashmap_release(&seen, NULL);
	clr_hashmap_release(&affs, NULL);
	return err;
}

static int emit_all(struct parser *p)
{
	struct clr_buf b = CLR_BUF_INIT(SIZE_MAX - 1);
	struct clr_arena tmp;
	int err = 0;

	clr_arena_init(&tmp, 0);
	for (struct def *d = p->def_head; d && !err; d = d->next) {
		err = emit_def(p, d, &b, &tmp);
		clr_arena_release(&tmp);
	}
	clr_buf_release(&b);
	return err;
}

/* --- the entry points ----------------------------------------------------- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static int parse(struct parser *p)
{
	/* No XML_PARSE_NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR/
	 * DTDVALID, no XINCLUDE, no HUGE (libxml2's limits stay on), no
	 * network; errors come to xml_error(), not stderr. */
	/* UTF-8 whatever the declaration says: a document that switched to
	 * UTF-16 after its XML declaration could hide a DOCTYPE from
	 * sniff(); the feeds are UTF-8 */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOCDATA |
			 XML_PARSE_COMPACT | XML_PARSE_NOERROR |
			 XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC;
	xmlGenericErrorFunc old_fn;
	void *old_ctx;
	int err;

	pthread_once(&xml_once, xml_init);
	/* some complaints (encoding errors) bypass the reader's handler and
	 * go to this thread's generic one, which prints to stderr */
	old_fn = xmlGenericError;
	old_ctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(p, xml_generic_error);
	p->r = xmlReaderForIO(io_read, io_close, p, NULL, "UTF-8", opts);
	if (!p->r) {
		xmlSetGenericErrorFunc(old_ctx, old_fn);
		return clr_error_set(CLR_ERROR, "OVAL %s: cannot start the XML "
				     "reader", p->name);
	}
	xmlTextReaderSetStructuredErrorHandler(p->r, xml_error, p);
	err = read_document(p);
	xmlSetGenericErrorFunc(old_ctx, old_fn);
	if (!err)
		err = resolve(p);
	for (struct def *d = p->def_head; d && !err; d = d->next)
		if (d->root)
			err = resolve_tree(p, d, d->root);
	for (struct def *d = p->def_head; d && !err; d = d->next)
		err = check_cycles(p, d, 0);
	if (!err)
		err = emit_all(p);
	return err;
}

static int run(struct parser *p, const struct clr_oval_options *o,
	       struct clr_vuln_set *out, struct clr_oval_stats *stats)
{
	struct clr_oval_stats dummy;
	size_t before = out->vulns.len;
	int err;

	p->o = o;
	p->out = out;
	p->st = stats ? stats : &dummy;
	memset(p->st, 0, sizeof(*p->st));
	p->sniff = S_TOP;
	p->text_depth = -1;
	clr_buf_init(&p->text, CLR_OVAL_TEXT_MAX);
	clr_arena_init(&p->a, 256 * 1024);
	clr_hashmap_init(&p->intern);
	clr_hashmap_init(&p->defs);
	clr_hashmap_init(&p->tests);
	clr_hashmap_init(&p->items);
	p->empty = clr_arena_strdup(&out->arena, "");

	err = parse(p);
	p->st->bytes = p->nread;

	if (p->r)
		xmlFreeTextReader(p->r);
	clr_buf_release(&p->text);
	clr_hashmap_release(&p->intern, NULL);
	clr_hashmap_release(&p->defs, NULL);
	clr_hashmap_release(&p->tests, NULL);
	clr_hashmap_release(&p->items, NULL);
	clr_arena_release(&p->a);
	if (err) {
		clr_vec_truncate(&out->vulns, before);
		p->st->records = 0;
	}
	return err;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int clr_oval_parse_file(const char *path, const struct clr_oval_options *o,
			struct clr_vuln_set *out, struct clr_oval_stats *stats)
{
	struct parser p;
	int err;

	memset(&p, 0, sizeof(p));
	p.name = o->name ? o->name : base_name(path);
	p.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p.fd < 0)
		return clr_error_set(CLR_EIO, "OVAL %s: %s", path,
				     strerror(errno));
	p.ibuf = clr_malloc(READ_BLOCK);
	err = run(&p, o, out, stats);
	free(p.ibuf);
	close(p.fd);
	return err;
}

int clr_oval_parse_mem(const void *data, size_t len,
		       const struct clr_oval_options *o,
		       struct clr_vuln_set *out, struct clr_oval_stats *stats)
{
	struct parser p;

	memset(&p, 0, sizeof(p));
	p.name = o->name ? o->name : "(memory)";
	p.fd = -1;
	p.mem = data;
	p.mem_len = len;
	return run(&p, o, out, stats);
}

/* --- the shared updater --------------------------------------------------- */

struct oval_updater {
	struct clr_updater u;
	enum clr_vscheme scheme;
	bool keep_cpes;
	clr_oval_emit_fn emit;
	void *arg;
	void (*free_arg)(void *arg);
};

static int ou_fetch(struct clr_updater *u, const char *prev,
		    struct clr_fetched *out)
{
	return clr_fetch_into(out, u->url, prev, NULL);
}

static int ou_parse(struct clr_updater *u, const struct clr_fetched *in,
		    struct clr_vuln_set *out)
{
	struct oval_updater *ou = (struct oval_updater *)u;
	struct clr_oval_options o = {
		.updater = u->name,
		.scheme = ou->scheme,
		.emit = ou->emit,
		.arg = ou->arg,
		.keep_cpes = ou->keep_cpes,
		.name = u->name,
	};
	struct clr_oval_stats st;
	int err;

	err = clr_oval_parse_file(in->path, &o, out, &st);
	if (err)
		return err;
	clr_log_debug("%s: %zu definitions, %zu records, %zu skipped, "
		      "%zu bytes", u->name, st.definitions, st.records,
		      st.skipped, st.bytes);
	return 0;
}

static void ou_free(struct clr_updater *u)
{
	struct oval_updater *ou = (struct oval_updater *)u;

	if (ou->free_arg)
		ou->free_arg(ou->arg);
	free(u->name);
	free(u->url);
	free(ou);
}

static const struct clr_updater_ops oval_updater_ops = {
	.fetch = ou_fetch,
	.parse = ou_parse,
	.free = ou_free,
};

int clr_oval_updater_new(struct clr_updater **out,
			 const struct clr_oval_updater_spec *spec)
{
	struct oval_updater *ou = clr_calloc(1, sizeof(*ou));

	ou->u.ops = &oval_updater_ops;
	ou->u.name = clr_strdup(spec->name);
	ou->u.url = clr_strdup(spec->url);
	ou->u.priv = ou;
	ou->scheme = spec->scheme;
	ou->keep_cpes = spec->keep_cpes;
	ou->emit = spec->emit;
	ou->arg = spec->arg;
	ou->free_arg = spec->free_arg;
	*out = &ou->u;
	return 0;
}

char *clr_oval_url(const char *(*setting)(void *arg, const char *key),
		   void *arg, const char *updater_name, const char *tmpl,
		   const char *key, const char *value)
{
	struct clr_buf b = CLR_BUF_INIT(SIZE_MAX - 1);
	char k[256], ph[64];
	const char *s, *t;
	size_t phl;

	if (setting) {
		snprintf(k, sizeof(k), "%s.url", updater_name);
		if ((s = setting(arg, k)) && *s)
			return clr_strdup(s);
		if ((s = setting(arg, "url")) && *s)
			tmpl = s;
	}
	snprintf(ph, sizeof(ph), "{%s}", key);
	phl = strlen(ph);
	for (s = tmpl; (t = strstr(s, ph)); s = t + phl) {
		clr_buf_add(&b, s, (size_t)(t - s));
		clr_buf_addstr(&b, value);
	}
	clr_buf_addstr(&b, s);
	return clr_buf_detach(&b, NULL);
}

int clr_oval_words(struct clr_vec *out, const char *list)
{
	const char *s = list ? list : "";

	clr_vec_init(out, sizeof(char *));
	while (*s) {
		size_t n = 0;
		char *w;

		while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n')
			s++;
		while (s[n] && s[n] != ' ' && s[n] != ',' && s[n] != '\t' &&
		       s[n] != '\n')
			n++;
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (!(isalnum(c) || c == '.' || c == '_' || c == '-') ||
			    n > 128) {
				clr_oval_words_free(out);
				return clr_error_set(CLR_EINVALID, "'%.*s' is "
						     "not a release name",
						     (int)(n > 128 ? 128 : n),
						     s);
			}
		}
		w = clr_strndup(s, n);
		clr_vec_push(out, &w);
		s += n;
	}
	return 0;
}

void clr_oval_words_free(struct clr_vec *words)
{
	for (size_t i = 0; i < words->len; i++)
		free(*(char **)clr_vec_get(words, i));
	clr_vec_release(words);
}

int clr_oval_words_setting(struct clr_vec *out,
			   const char *(*setting)(void *arg, const char *key),
			   void *arg, const char *source, const char *key,
			   const char *dflt)
{
	const char *list = setting ? setting(arg, key) : NULL;
	int err;

	if ((err = clr_oval_words(out, list && *list ? list : dflt)))
		return clr_error_prefix(err, "updaters.config.%s.%s", source,
					key);
	return 0;
}

void clr_oval_updater_add(struct clr_vec *out,
			  const struct clr_oval_updater_spec *spec,
			  const char *(*setting)(void *arg, const char *key),
			  void *arg, const char *tmpl, const char *key,
			  const char *value)
{
	struct clr_oval_updater_spec s = *spec;
	char *url = clr_oval_url(setting, arg, spec->name, tmpl, key, value);
	struct clr_updater *u;

	s.url = url;
	clr_oval_updater_new(&u, &s);
	free(url);
	clr_vec_push(out, &u);
}

void clr_oval_updaters_drop(struct clr_vec *out, size_t from)
{
	for (size_t i = from; i < out->len; i++) {
		struct clr_updater *u = *(struct clr_updater **)
			clr_vec_get(out, i);

		u->ops->free(u);
	}
	if (from < out->len)
		clr_vec_truncate(out, from);
}
