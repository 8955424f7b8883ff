/*
 * klar.h - a drop-in for the Klar 2.4.0 CI client (optiopay/klar): its
 * environment, its registry flow, its Clair API v1 calls, its exit rules.
 *
 * reference/klar.md is the specification; where Klar's behaviour is odd
 * the code quotes it.  The pieces, each usable on its own:
 *
 *   env.c        the environment variables with Klar's defaults, parsing
 *                (Go's strconv rules) and error messages; CLAIR_ADDR
 *                completion
 *   whitelist.c  the allow-list YAML (general: list, images: map)
 *   docker.c     the image name split and the manifest fetch exactly as
 *                klar's docker package does it (token auth, no status
 *                check, dispatch on the exact Content-Type)
 *   clair.c      POST /v1/layers per layer, GET the top layer, and the
 *                v3 fallback's failure (clarion speaks no gRPC)
 *   klar.c       the whole run, printing what Klar prints
 *   output.c     the three output formats (output.h)
 *
 * Klar prints its messages as it goes, so the run writes to the two
 * streams it is given; it returns 0 or a CLR_E* code and never exits.
 */
#ifndef CLR_KLAR_KLAR_H
#define CLR_KLAR_KLAR_H

#include <stdio.h>

#include "klar/output.h"
#include "util/hashmap.h"

/* Reads one environment variable (NULL when unset). */
typedef const char *(*clr_klar_getenv_fn)(void *ctx, const char *name);

struct clr_klar_config {
	char *clair_addr;         /* CLAIR_ADDR as given (required) */
	int clair_output;         /* CLAIR_OUTPUT: a CLR_KLAR_SEV_* */
	long threshold;           /* CLAIR_THRESHOLD */
	long clair_timeout_min;   /* CLAIR_TIMEOUT, minutes per request */
	long docker_timeout_min;  /* DOCKER_TIMEOUT */
	enum clr_klar_format format; /* FORMAT_OUTPUT / JSON_OUTPUT */
	char *docker_user, *docker_password, *docker_token;
	int docker_insecure;      /* DOCKER_INSECURE: no TLS verification */
	int registry_insecure;    /* REGISTRY_INSECURE: http:// */
	char *whitelist_file;     /* WHITELIST_FILE, or NULL */
	int ignore_unfixed;       /* IGNORE_UNFIXED */
	int trace;                /* KLAR_TRACE set to anything */
	char *platform_os;        /* DOCKER_PLATFORM_OS (klar master) */
	char *platform_arch;      /* DOCKER_PLATFORM_ARCH */
	char *image;              /* the one argument */
};

/* Reads the environment through get (NULL: getenv).  On error the message
 * is Klar's, including the newline Klar's own message carries, e.g.
 * "Clair address must be provided\n" (CLR_EINVALID). */
int clr_klar_config_load(struct clr_klar_config *c, const char *image,
			 clr_klar_getenv_fn get, void *ctx);

void clr_klar_config_release(struct clr_klar_config *c);

/* Go's strconv.ParseBool as Klar uses it: anything unparsable is false. */
int clr_klar_parse_bool(const char *s);

/* Go's strconv.Atoi with the error ignored: 0 for bad input, clamped on
 * overflow. */
long clr_klar_parse_int(const char *s);

/* time.Duration(minutes * time.Minute).String(): "1m0s", "1h30m0s". */
void clr_klar_duration(char *out, size_t size, long minutes);

/* The API v1 base URL Klar derives from CLAIR_ADDR: "http://" prepended
 * when there is no scheme, ":6060" appended when the last ':' is the
 * scheme's.  Caller frees. */
char *clr_klar_v1_base(const char *addr);

/* ---- whitelist ---- */

struct clr_klar_whitelist {
	struct clr_hashmap general; /* vulnerability name -> (void *)1 */
	struct clr_hashmap images;  /* repository -> struct clr_hashmap * */
};

/* Parses the YAML text (CLR_EINVALID with the parser's message). */
int clr_klar_whitelist_parse(struct clr_klar_whitelist *w, const char *text,
			     size_t len);

/* Reads and parses a file; messages as Klar's: "could not read file ..."
 * and "could not unmarshal ...". */
int clr_klar_whitelist_load(struct clr_klar_whitelist *w, const char *path);

void clr_klar_whitelist_release(struct clr_klar_whitelist *w);

/* 1 when name is allowed for every image or for repo. */
int clr_klar_whitelisted(const struct clr_klar_whitelist *w, const char *repo,
			 const char *name);

/* Removes the allowed ones from vs (order kept); returns how many. */
size_t clr_klar_whitelist_apply(const struct clr_klar_whitelist *w,
				const char *repo, struct clr_klar_vulns *vs);

/* ---- the image (docker.c) ---- */

struct clr_klar_image {
	char *registry;   /* "https://HOST[:PORT]/v2" (http:// when insecure) */
	char *name;       /* repository: "library/alpine", "test/app" */
	char *tag;        /* "latest", "1", or "sha256:..." for a digest */
	char *token;      /* the Authorization value handed to Clair, or "" */
	char *digest;     /* the config digest (schema 2), or "" */
	int schema;       /* 1 or 2 */
	char **layers;    /* layer digests, base first */
	size_t nlayers;
};

/* Klar's NewImage: splits the name, never fails (Klar's "Can't parse
 * qname" is unreachable). */
void clr_klar_image_init(struct clr_klar_image *img,
			 const struct clr_klar_config *c);

/* Klar's Pull.  Messages Klar prints on the way ("Get error", "Image V2
 * decode error") go to errf; the error message is the Go error Klar
 * would print after "Can't pull image: ". */
int clr_klar_image_pull(struct clr_klar_image *img,
			const struct clr_klar_config *c, FILE *errf);

/* The Clair name of layer i: config digest hex + layer digest hex (128
 * hex for schema 2), as image.LayerName does.  Caller frees. */
char *clr_klar_layer_name(const struct clr_klar_image *img, size_t i);

void clr_klar_image_release(struct clr_klar_image *img);

/* ---- Clair (clair.c) ---- */

/* Drops the well-known empty layer (klar's filterEmptyLayers). */
void clr_klar_filter_empty(struct clr_klar_image *img);

/* Pushes every layer and reads the top one's vulnerabilities over API v1
 * (api.go's apiV1 Push and Analyze).  The error message is what Klar
 * prints after "Failed to analyze using API v1: ". */
int clr_klar_analyze_v1(struct clr_klar_vulns *out,
			const struct clr_klar_config *c,
			const struct clr_klar_image *img, FILE *errf);

/* A 200 answer's body to GET /v1/layers/NAME as Klar decodes it: the
 * features' vulnerabilities in order, each with its feature's name and
 * version; Go's type errors as CLR_EINVALID; a missing or null Layer as
 * CLR_ERROR with Klar's panic text ("panic: ...").  Untrusted input:
 * fuzzed by tests/fuzz/fuzz_klar_layer.c. */
int clr_klar_decode_layer(struct clr_klar_vulns *out, const char *body,
			  size_t len);

/* The API v3 attempt: clarion has no gRPC client, so this only says what
 * Klar's would have said against an HTTP-only server or a closed port. */
int clr_klar_analyze_v3(const struct clr_klar_config *c,
			const struct clr_klar_image *img);

/* Go's http.Client error text for a failed curl request ("Post \"URL\":
 * dial tcp HOST:PORT: connect: connection refused"). */
void clr_klar_net_error(char *out, size_t size, const char *method,
			const char *url, int curl_code);

/* ---- the run (klar.c) ---- */

/* Everything after the configuration: the stderr banner, the whitelist,
 * the pull, the analysis, the output.  0 with *over set when the counted
 * vulnerabilities exceed CLAIR_THRESHOLD; CLR_E* after Klar's failure
 * message was printed to errf. */
int clr_klar_run(const struct clr_klar_config *c, FILE *out, FILE *errf,
		 int *over);

#endif
