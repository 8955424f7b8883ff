/*
 * vuln.c - vulnerability records and their content hash (see vuln.h).
 */
#include "updater/vuln.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"

static const char *const severity_names[] = {
	"Unknown", "Negligible", "Low", "Medium", "High", "Critical",
};

void clr_vuln_set_init(struct clr_vuln_set *s)
{
	clr_vec_init(&s->vulns, sizeof(struct clr_vuln));
	clr_arena_init(&s->arena, 0);
}

void clr_vuln_set_release(struct clr_vuln_set *s)
{
	clr_vec_release(&s->vulns);
	clr_arena_release(&s->arena);
}

struct clr_vuln *clr_vuln_set_add(struct clr_vuln_set *s,
				  const struct clr_vuln *v)
{
	struct clr_vuln c = *v;

#define COPY(f) c.f = clr_arena_strdup(&s->arena, v->f ? v->f : "");
	CLR_VULN_STRINGS(COPY)
#undef COPY
	return clr_vec_push(&s->vulns, &c);
}

void clr_vuln_hash(char out[CLR_SHA256_HEXLEN + 1], const struct clr_vuln *v)
{
	struct clr_sha256 h;
	uint8_t d[CLR_SHA256_LEN];
	uint8_t sev = (uint8_t)v->normalized_severity;

	clr_sha256_init(&h);
#define HASH(f)                                                           \
	{                                                                 \
		const char *p = v->f ? v->f : "";                         \
		uint64_t n = strlen(p);                                   \
		clr_sha256_update(&h, &n, sizeof(n));                     \
		clr_sha256_update(&h, p, n);                              \
	}
	CLR_VULN_STRINGS(HASH)
#undef HASH
	clr_sha256_update(&h, &sev, 1);
	clr_sha256_final(&h, d);
	clr_sha256_hex(out, d);
}

const char *clr_severity_name(enum clr_severity s)
{
	if ((unsigned)s > CLR_SEV_CRITICAL)
		return "Unknown";
	return severity_names[s];
}

enum clr_severity clr_severity_from_rating(const char *rating)
{
	if (!strcasecmp(rating, "low"))
		return CLR_SEV_LOW;
	if (!strcasecmp(rating, "moderate"))
		return CLR_SEV_MEDIUM;
	if (!strcasecmp(rating, "important"))
		return CLR_SEV_HIGH;
	if (!strcasecmp(rating, "critical"))
		return CLR_SEV_CRITICAL;
	return CLR_SEV_UNKNOWN;
}

int clr_severity_from_name(enum clr_severity *out, const char *name)
{
	for (int i = 0; i <= CLR_SEV_CRITICAL; i++) {
		if (!strcasecmp(name, severity_names[i])) {
			*out = (enum clr_severity)i;
			return 0;
		}
	}
	return clr_error_set(CLR_EINVALID, "unknown severity '%s' (Unknown, "
			     "Negligible, Low, Medium, High, Critical)", name);
}
