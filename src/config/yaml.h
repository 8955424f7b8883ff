/*
 * yaml.h - reading one YAML document with libfyaml, the same way for every
 * file clarion reads (the configuration, Klar's whitelist).
 *
 * What is shared is how the parser is driven, not the wording: libfyaml
 * never prints (its diagnostics are collected), and the caller gets the
 * first diagnostic to phrase its own error message, because each file's
 * messages follow the program it is compatible with.
 */
#ifndef CLR_CONFIG_YAML_H
#define CLR_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include <libfyaml.h>

/* One parse: the document and the diagnostics that came with it. */
struct clr_yaml {
	struct fy_document *doc; /* NULL: no document (or an error) */
	struct fy_diag *diag;    /* the collected errors, until release */
	bool failed;             /* libfyaml reported an error */
	bool printed;            /* printed holds a message */
	/* The first diagnostic libfyaml printed instead of collecting (the
	 * few that carry no position), without "[ERR]: " and cut at the
	 * first line. */
	char printed_msg[256];
};

/* The offset of the first byte that is not valid UTF-8 (overlong forms,
 * UTF-16 surrogates and code points past U+10FFFF included), or len.
 * YAML is Unicode text, and libfyaml 0.7 loops forever on some invalid
 * bytes (after a '%'), so callers refuse them before it sees them. */
size_t clr_yaml_utf8_invalid(const unsigned char *s, size_t len);

/* Parses len bytes at text (UTF-8, no NUL: the caller checked) as one
 * document, JSON when json is set.  Returns 0 with y->doc set, 0 with
 * y->doc NULL when libfyaml built none without complaint, or
 * CLR_EINVALID with y->failed set and NO message: the caller words it
 * from clr_yaml_first_error() and y->printed_msg.  Release y either way.
 * libfyaml 0.7 fails on a text of comments only ("fy_parse_load_document()
 * failed"), so a caller that accepts such a file checks for it first. */
int clr_yaml_parse(struct clr_yaml *y, const char *text, size_t len, bool json);

/* The first error libfyaml collected (with its line and column), or NULL;
 * borrowed from y until clr_yaml_release(). */
struct fy_diag_error *clr_yaml_first_error(struct clr_yaml *y);

/* Frees the document and the diagnostics; y may be released twice. */
void clr_yaml_release(struct clr_yaml *y);

#endif
