/*
 * config.h - clarion's configuration file, as one table of keys.
 *
 * The file is YAML or JSON (a name ending in .json is read as strict
 * JSON) with Clair v4's key names (reference/clair-api.md §3.1).  Every
 * key clarion knows is one row of clr_config_keys[] in config.c: its dotted
 * name, its type, its default and one line of documentation.  Adding a key
 * is adding a row; the loader, the checks, the defaults and the getters
 * need no other change, as in redis's config table.
 *
 *     struct clr_config *cfg;
 *     if ((err = clr_config_load(&cfg, path)))      // NULL: defaults only
 *             return err;                           // message names the key
 *     int64_t keep = clr_config_int(cfg, "matcher.update_retention");
 *     clr_config_free(cfg);
 *
 * The file is untrusted input: it is read with a size cap, YAML aliases
 * are refused (no expansion bombs), and a key clarion does not know is an
 * error naming it ("unknown key 'matcher.perod' in config.yaml (line 3)")
 * rather than a setting silently ignored.  A value of the wrong type is an
 * error naming the key and the type expected.  A null value (`key:` or
 * `key: null`) means the default.
 *
 * Types:
 *   string    any scalar
 *   int       a decimal integer (64-bit)
 *   bool      true / false (YAML 1.2: also True, TRUE, False, FALSE)
 *   duration  Go's syntax: "6h", "1h30m", "90s", "500ms", "0"; not negative
 *   list      a sequence of scalars; null (the default) is "not given",
 *             which is not the same as [] (given, empty)
 *   settings  a map NAME -> {KEY: scalar}: per-component settings such as
 *             updaters.config.debian.url; a list of scalars as a value is
 *             passed on joined with commas
 *   map       a map NAME -> scalar or list of scalars (joined with
 *             commas): HTTP headers, notifier.webhook.headers
 *
 * Getters are given a key of the table and the type of its row; anything
 * else is a programming error and aborts.
 */
#ifndef CLR_CONFIG_CONFIG_H
#define CLR_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

/* Longest configuration file read. */
#define CLR_CONFIG_MAX_SIZE (1 << 20)

enum clr_config_type {
	CLR_CONFIG_STRING,
	CLR_CONFIG_INT,
	CLR_CONFIG_BOOL,
	CLR_CONFIG_DURATION,
	CLR_CONFIG_LIST,
	CLR_CONFIG_SETTINGS,
	CLR_CONFIG_MAP,
};

struct clr_config_key {
	const char *name;          /* dotted path: "matcher.period" */
	enum clr_config_type type;
	const char *def;           /* the default, written as in a file
				    * ("6h", "10", "false"); NULL: none
				    * (lists and settings: "not given") */
	/* Extra validation of a string value (a set of names, a URL form),
	 * or NULL.  Returns 0 or CLR_EINVALID with a message saying what is
	 * accepted; the caller adds the key and the file. */
	int (*check)(const char *value);
	const char *doc;           /* one line, for docs and `--help` */
};

/* Every key clarion knows, and how many. */
extern const struct clr_config_key clr_config_keys[];
extern const size_t clr_config_keys_count;

/* The row of key, or NULL. */
const struct clr_config_key *clr_config_key_find(const char *key);

struct clr_config;

/* Reads the file at path (NULL: no file, every key at its default) into a
 * new *out.  CLR_ENOTFOUND (no such file), CLR_EIO, CLR_ELIMIT (larger
 * than CLR_CONFIG_MAX_SIZE), CLR_EINVALID (YAML syntax, unknown key, wrong
 * type; the message names the file, the key and the line). */
int clr_config_load(struct clr_config **out, const char *path);

/* The same from len bytes of text; name (e.g. the file name) is used in
 * messages. */
int clr_config_parse(struct clr_config **out, const char *data, size_t len,
		     const char *name);

/* Frees a configuration; NULL does nothing. */
void clr_config_free(struct clr_config *c);

/* Sets a scalar key (string, int, bool, duration) from text, as if the
 * file had said so: command-line options such as --db.  CLR_EINVALID (and
 * nothing changed) when the text is not of the key's type. */
int clr_config_set(struct clr_config *c, const char *key, const char *value);

/* The file the configuration came from, or NULL (defaults only). */
const char *clr_config_source(const struct clr_config *c);

/* Whether the file (or clr_config_set) gave key a value (not null). */
bool clr_config_is_set(const struct clr_config *c, const char *key);

/* A string key's value, or NULL when neither given nor defaulted.
 * Borrowed: lives as long as c. */
const char *clr_config_string(const struct clr_config *c, const char *key);

int64_t clr_config_int(const struct clr_config *c, const char *key);
bool clr_config_bool(const struct clr_config *c, const char *key);

/* A duration key in milliseconds. */
int64_t clr_config_duration_ms(const struct clr_config *c, const char *key);

/* A list key: its strings (NULL-terminated, *n of them when n is not
 * NULL), or NULL when not given.  Borrowed. */
const char *const *clr_config_list(const struct clr_config *c, const char *key,
				   size_t *n);

/* The setting `KEY.NAME.SETTING` of a settings key (e.g. "updaters.config",
 * "debian", "url"), or NULL.  Borrowed. */
const char *clr_config_setting(const struct clr_config *c, const char *key,
			       const char *name, const char *setting);

/* The same where name and setting come as one dotted string
 * ("alpine-main-v3.19.url"): names may contain dots, so every split is
 * tried, the longest name first. */
const char *clr_config_setting_path(const struct clr_config *c, const char *key,
				    const char *path);

/* Iterates over a map key's entries, in no particular order: start with
 * *pos = 0; each call that returns true sets *name and *value (borrowed). */
bool clr_config_map_next(const struct clr_config *c, const char *key,
			 size_t *pos, const char **name, const char **value);

/* log_level as clarion's level (Clair's debug-color is debug; fatal and
 * panic are error). */
enum clr_log_level clr_config_log_level(const struct clr_config *c);

/* Parses a Go-style duration ("1h30m") into milliseconds (fractions of a
 * millisecond are dropped).  CLR_EINVALID for anything else, or a negative
 * duration, or one over 100 years. */
int clr_config_parse_duration(int64_t *ms, const char *text);

#endif
