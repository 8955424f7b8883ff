/*
 * yaml.c - one YAML document through libfyaml (see yaml.h).
 */
#include "config/yaml.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

size_t clr_yaml_utf8_invalid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return i;
		if (len - i <= n)
			return i;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates, past U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return i;
		i += n + 1;
	}
	return len;
}

/* The parser's errors are collected in the diag object (printing them
 * would have libfyaml 0.7 render the source line, which crashes on some
 * input); the few messages that carry no position still come as text,
 * "[ERR]: MESSAGE\n", and the first one is kept. */
static void on_diag(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	struct clr_yaml *y = user;
	const char *nl;

	(void)diag;
	if (y->printed)
		return;
	if (len > 7 && !memcmp(buf, "[ERR]: ", 7))
		buf += 7, len -= 7;
	if ((nl = memchr(buf, '\n', len)))
		len = (size_t)(nl - buf);
	if (len >= sizeof(y->printed_msg))
		len = sizeof(y->printed_msg) - 1;
	memcpy(y->printed_msg, buf, len);
	y->printed_msg[len] = 0;
	y->printed = len > 0;
}

int clr_yaml_parse(struct clr_yaml *y, const char *text, size_t len, bool json)
{
	struct fy_diag_cfg dcfg;
	struct fy_parse_cfg pcfg = { 0 };

	memset(y, 0, sizeof(*y));
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = on_diag;
	dcfg.user = y;
	dcfg.level = FYET_ERROR;
	dcfg.colorize = false;
	y->diag = fy_diag_create(&dcfg);
	if (!y->diag)
		abort();
	fy_diag_set_collect_errors(y->diag, true);
	pcfg.flags = FYPCF_QUIET | (json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE);
	pcfg.diag = y->diag;
	y->doc = fy_document_build_from_string(&pcfg, text, len);
	if (fy_diag_got_error(y->diag)) {
		y->failed = true;
		return CLR_EINVALID;
	}
	return 0;
}

struct fy_diag_error *clr_yaml_first_error(struct clr_yaml *y)
{
	void *it = NULL;

	return y->diag ? fy_diag_errors_iterate(y->diag, &it) : NULL;
}

void clr_yaml_release(struct clr_yaml *y)
{
	if (y->doc)
		fy_document_destroy(y->doc);
	y->doc = NULL;
	if (y->diag) {
		/* Frees the collected errors, which unref alone leaks. */
		fy_diag_reset_error(y->diag);
		fy_diag_unref(y->diag);
	}
	y->diag = NULL;
}
