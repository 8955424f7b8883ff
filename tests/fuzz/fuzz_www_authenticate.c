/*
 * fuzz_www_authenticate.c - libFuzzer target for clr_auth_challenges_parse().
 *
 * The input, cut at its first NUL, is parsed as a WWW-Authenticate value
 * (a registry controls it completely).  An accepted header is written back
 * in a canonical form, every value as a quoted string with '"' and '\'
 * escaped, and that must parse to the same challenges; a rejected one must
 * leave nothing allocated behind and come with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/auth.h"
#include "util/buf.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void canonical(struct clr_buf *b, const struct clr_auth_challenges *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct clr_auth_challenge *ch = &c->items[i];

		clr_buf_printf(b, "%s%s", i ? ", " : "", ch->scheme);
		if (ch->token68)
			clr_buf_printf(b, " %s", ch->token68);
		for (size_t j = 0; j < ch->nparams; j++) {
			clr_buf_printf(b, "%s%s=\"", j ? ", " : " ",
				       ch->params[j].name);
			for (const char *p = ch->params[j].value; *p; p++) {
				if (*p == '"' || *p == '\\')
					clr_buf_addch(b, '\\');
				clr_buf_addch(b, *p);
			}
			clr_buf_addch(b, '"');
		}
	}
}

static int same(const struct clr_auth_challenges *a,
		const struct clr_auth_challenges *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct clr_auth_challenge *x = &a->items[i], *y = &b->items[i];

		if (strcmp(x->scheme, y->scheme) || x->nparams != y->nparams ||
		    !x->token68 != !y->token68 ||
		    (x->token68 && strcmp(x->token68, y->token68)))
			return 0;
		for (size_t j = 0; j < x->nparams; j++)
			if (strcmp(x->params[j].name, y->params[j].name) ||
			    strcmp(x->params[j].value, y->params[j].value))
				return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clr_auth_challenges c, again;
	struct clr_buf b = CLR_BUF_INIT(1 << 20);
	char *s;

	if (size > 8192)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	clr_error_clear();
	if (clr_auth_challenges_parse(&c, s)) {
		if (c.n || c.items || !clr_error_msg()[0])
			abort();
		free(s);
		return 0;
	}
	if (!c.n)
		abort();
	canonical(&b, &c);
	if (clr_auth_challenges_parse(&again, clr_buf_str(&b)) || !same(&c, &again))
		abort();
	clr_auth_challenges_release(&again);
	clr_auth_challenges_release(&c);
	clr_buf_release(&b);
	free(s);
	return 0;
}
