/*
 * env.c - Klar's configuration from the environment (klar.go's newConfig)
 * and its CLAIR_ADDR completion (clair/api.go's newAPIV1).
 *
 * Go's strconv rules are reproduced because users rely on their quirks:
 * IGNORE_UNFIXED=yes is false, CLAIR_THRESHOLD=abc is 0, CLAIR_TIMEOUT=0
 * is one minute.
 */
#include "klar/klar.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

int clr_klar_parse_bool(const char *s)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };

	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcmp(s, yes[i]))
			return 1;
	return 0; /* "0 f F FALSE false False" and anything else */
}

long clr_klar_parse_int(const char *s)
{
	const char *p = s;
	int neg = 0;
	long v = 0;

	if (!s || !*s)
		return 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		/* ParseInt's range error still returns the clamped value,
		 * and Klar keeps it (`val, _ = strconv.Atoi(valStr)`). */
		if (v > (LONG_MAX - (*p - '0')) / 10) {
			for (p++; *p; p++)
				if (*p < '0' || *p > '9')
					return 0;
			return neg ? LONG_MIN : LONG_MAX;
		}
		v = v * 10 + (*p - '0');
	}
	return neg ? -v : v;
}

void clr_klar_duration(char *out, size_t size, long minutes)
{
	unsigned long m = minutes < 0 ? 0UL - (unsigned long)minutes :
			  (unsigned long)minutes;
	const char *sign = minutes < 0 ? "-" : "";

	if (!minutes)
		snprintf(out, size, "0s");
	else if (m >= 60)
		snprintf(out, size, "%s%luh%lum0s", sign, m / 60, m % 60);
	else
		snprintf(out, size, "%s%lum0s", sign, m);
}

char *clr_klar_v1_base(const char *addr)
{
	struct clr_buf b = CLR_BUF_INIT((size_t)1 << 20);
	const char *colon;

	if (strncmp(addr, "http://", 7) && strncmp(addr, "https://", 8))
		clr_buf_addstr(&b, "http://");
	clr_buf_addstr(&b, addr);
	/* "if strings.LastIndex(url, ":") < 6 { url += ":6060" }": the last
	 * colon anywhere, so a password's colon counts and a trailing path
	 * gets ":6060" after it (klar.md §4). */
	colon = strrchr(clr_buf_str(&b), ':');
	if (!colon || colon - clr_buf_str(&b) < 6)
		clr_buf_addstr(&b, ":6060");
	return clr_buf_detach(&b, NULL);
}

static const char *env_get(clr_klar_getenv_fn get, void *ctx, const char *name)
{
	const char *v = get ? get(ctx, name) : getenv(name);

	return v ? v : "";
}

static char *dup_or_null(const char *s)
{
	return *s ? clr_strdup(s) : NULL;
}

int clr_klar_config_load(struct clr_klar_config *c, const char *image,
			 clr_klar_getenv_fn get, void *ctx)
{
	const char *addr = env_get(get, ctx, "CLAIR_ADDR");
	const char *out = env_get(get, ctx, "CLAIR_OUTPUT");
	const char *fmt = env_get(get, ctx, "FORMAT_OUTPUT");

	memset(c, 0, sizeof(*c));
	/* Klar's messages end in "\n" and its fail() adds another. */
	if (!*addr)
		return clr_error_set(CLR_EINVALID,
				     "Clair address must be provided\n");
	c->trace = *env_get(get, ctx, "KLAR_TRACE") != '\0';
	c->clair_output = CLR_KLAR_SEV_UNKNOWN;
	if (*out) {
		/* strings.Title(strings.ToLower(v)): "hIGH" is High. */
		char *t = clr_strdup(out);
		int sev;

		for (char *p = t; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (char *p = t; *p; p++)
			if (p == t || (!isalnum((unsigned char)p[-1]) &&
					 p[-1] != '_'))
				*p = (char)toupper((unsigned char)*p);
		sev = clr_klar_severity_from_name(t);
		free(t);
		if (sev < 0)
			return clr_error_set(CLR_EINVALID, "Clair output level %s "
					     "is not supported, only support "
					     "[Unknown Negligible Low Medium High "
					     "Critical Defcon1]\n", out);
		c->clair_output = sev;
	}
	c->clair_timeout_min = clr_klar_parse_int(env_get(get, ctx, "CLAIR_TIMEOUT"));
	if (!c->clair_timeout_min)
		c->clair_timeout_min = 1;
	c->docker_timeout_min = clr_klar_parse_int(env_get(get, ctx, "DOCKER_TIMEOUT"));
	if (!c->docker_timeout_min)
		c->docker_timeout_min = 1;
	/* "until JSON_OUTPUT is actually removed, it should override
	 * FORMAT_OUTPUT" (klar.go). */
	if (clr_klar_parse_bool(env_get(get, ctx, "JSON_OUTPUT"))) {
		c->format = CLR_KLAR_FORMAT_JSON;
	} else if (*fmt) {
		if (!strcasecmp(fmt, "standard"))
			c->format = CLR_KLAR_FORMAT_STANDARD;
		else if (!strcasecmp(fmt, "json"))
			c->format = CLR_KLAR_FORMAT_JSON;
		else if (!strcasecmp(fmt, "table"))
			c->format = CLR_KLAR_FORMAT_TABLE;
		else
			return clr_error_set(CLR_EINVALID, "Format type %s is not "
					     "supported, only support [standard "
					     "json table]\n", fmt);
	}
	c->clair_addr = clr_strdup(addr);
	c->threshold = clr_klar_parse_int(env_get(get, ctx, "CLAIR_THRESHOLD"));
	c->ignore_unfixed = clr_klar_parse_bool(env_get(get, ctx, "IGNORE_UNFIXED"));
	c->whitelist_file = dup_or_null(env_get(get, ctx, "WHITELIST_FILE"));
	c->docker_user = clr_strdup(env_get(get, ctx, "DOCKER_USER"));
	c->docker_password = clr_strdup(env_get(get, ctx, "DOCKER_PASSWORD"));
	c->docker_token = clr_strdup(env_get(get, ctx, "DOCKER_TOKEN"));
	c->docker_insecure = clr_klar_parse_bool(env_get(get, ctx, "DOCKER_INSECURE"));
	c->registry_insecure = clr_klar_parse_bool(env_get(get, ctx,
							   "REGISTRY_INSECURE"));
	c->platform_os = clr_strdup(*env_get(get, ctx, "DOCKER_PLATFORM_OS") ?
				    env_get(get, ctx, "DOCKER_PLATFORM_OS") :
				    "linux");
	c->platform_arch = clr_strdup(*env_get(get, ctx, "DOCKER_PLATFORM_ARCH") ?
				      env_get(get, ctx, "DOCKER_PLATFORM_ARCH") :
				      "amd64");
	c->image = clr_strdup(image);
	return 0;
}

void clr_klar_config_release(struct clr_klar_config *c)
{
	free(c->clair_addr);
	free(c->docker_user);
	free(c->docker_password);
	free(c->docker_token);
	free(c->whitelist_file);
	free(c->platform_os);
	free(c->platform_arch);
	free(c->image);
	memset(c, 0, sizeof(*c));
}
