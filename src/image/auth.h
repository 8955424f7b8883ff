/*
 * auth.h - registry authentication without the HTTP: WWW-Authenticate
 * challenges, token-server answers, a token cache, and where credentials
 * come from (docker config.json, credential helpers).
 *
 * registry.c does the requests; everything here is pure parsing and
 * bookkeeping, so it can be unit-tested and fuzzed without a network.
 *
 * The flow (Docker's token protocol, distribution's docs/spec/auth):
 *   1. GET /v2/... answers 401 with
 *        WWW-Authenticate: Bearer realm="https://auth/token",
 *                          service="registry",scope="repository:x:pull"
 *      or  WWW-Authenticate: Basic realm="registry"
 *   2. Basic: repeat with "Authorization: Basic base64(user:pass)".
 *      Bearer: GET realm?service=...&scope=... (with Basic credentials when
 *      there are some), read {"token" or "access_token", "expires_in"},
 *      repeat with "Authorization: Bearer TOKEN", and keep the token for
 *      that scope until it expires.
 */
#ifndef CLR_IMAGE_AUTH_H
#define CLR_IMAGE_AUTH_H

#include <stddef.h>

#include "util/hashmap.h"

/* Limits on what a server may send us. */
#define CLR_AUTH_HEADER_MAX 16384   /* a WWW-Authenticate header, all values */
#define CLR_AUTH_CHALLENGES_MAX 16  /* challenges in it */
#define CLR_AUTH_PARAMS_MAX 32      /* auth-params per challenge */
#define CLR_AUTH_TOKEN_RESPONSE_MAX (1 << 20)  /* a token server's JSON */
#define CLR_AUTH_CONFIG_MAX (4 << 20)          /* a docker config.json */

/* ---- WWW-Authenticate (RFC 7235 section 4.1, 2.1) ---- */

struct clr_auth_param {
	char *name;   /* lowercased: names are case-insensitive */
	char *value;  /* unquoted, escapes resolved */
};

struct clr_auth_challenge {
	char *scheme;   /* lowercased: "basic", "bearer", ... */
	char *token68;  /* the token68 form ("Negotiate abc=="), or NULL */
	struct clr_auth_param *params;  /* nparams name/value pairs */
	size_t nparams;
};

struct clr_auth_challenges {
	struct clr_auth_challenge *items;  /* in header order */
	size_t n;
};

#define CLR_AUTH_CHALLENGES_INIT { NULL, 0 }

/* Parses the value of one WWW-Authenticate header (several headers are
 * joined with ", " first: it is a list).  Any well-formed value is
 * accepted: several challenges, auth-params in any order and case, tokens
 * or quoted strings with backslash escapes, empty list elements.
 * CLR_EINVALID (out left empty) for malformed text: a missing scheme, an
 * unterminated quoted string, a control character, a parameter given
 * twice in one challenge; CLR_ELIMIT past the limits above. */
int clr_auth_challenges_parse(struct clr_auth_challenges *out,
			      const char *header);

/* Frees the contents; the struct is empty and reusable. */
void clr_auth_challenges_release(struct clr_auth_challenges *c);

/* The first challenge with that scheme (case-insensitive), or NULL.
 * Borrowed from c. */
const struct clr_auth_challenge *
clr_auth_challenges_find(const struct clr_auth_challenges *c,
			 const char *scheme);

/* A parameter's value (name case-insensitive), or NULL.  Borrowed. */
const char *clr_auth_challenge_param(const struct clr_auth_challenge *c,
				     const char *name);

/* ---- token server ---- */

/* The token request URL: realm + "?service=S&scope=A&scope=B...", every
 * value percent-encoded; service and scopes may be NULL/empty (scopes is a
 * space-separated list, as a challenge's scope parameter is).  The realm
 * must be an absolute http(s) URL (CLR_EINVALID otherwise: a hostile
 * registry must not send us to file:// or elsewhere odd).  Caller frees
 * *out. */
int clr_auth_token_url(char **out, const char *realm, const char *service,
		       const char *scopes);

/* Reads a token server's JSON answer: "token" (or else "access_token"),
 * and "expires_in" in seconds (60 when absent or silly, as the spec says).
 * CLR_EINVALID when it is not JSON or has no token.  Caller frees *token. */
int clr_auth_token_parse(char **token, long *expires_in, const char *json,
			 size_t len);

/* Bearer tokens by key (realm, service and scope), each with its expiry
 * on the monotonic clock.  Not thread-safe: the registry client locks. */
struct clr_auth_token_cache {
	struct clr_hashmap map;  /* key -> struct cached_token */
};

#define CLR_AUTH_TOKEN_CACHE_INIT { CLR_HASHMAP_INIT }

/* The token for key if it is still valid at now (seconds, monotonic), or
 * NULL.  Borrowed: valid until the next put or release. */
const char *clr_auth_token_cache_get(struct clr_auth_token_cache *c,
				     const char *key, double now);

/* Stores a token valid for expires_in seconds from now; it is treated as
 * expired a little early so that it never runs out in flight. */
void clr_auth_token_cache_put(struct clr_auth_token_cache *c, const char *key,
			      const char *token, long expires_in, double now);

void clr_auth_token_cache_release(struct clr_auth_token_cache *c);

/* Seconds on the monotonic clock, for the cache. */
double clr_auth_now(void);

/* ---- credentials ---- */

struct clr_auth_creds {
	char *username;  /* NULL when there are no credentials */
	char *password;
};

#define CLR_AUTH_CREDS_INIT { NULL, NULL }

/* "Basic base64(user:pass)" for an Authorization header.  Caller frees. */
char *clr_auth_basic_value(const char *username, const char *password);

/*
 * Credentials for registry (a reference's registry: "docker.io",
 * "quay.io", "127.0.0.1:5000") from a docker config file.  path NULL means
 * the usual places: $REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json,
 * else $HOME/.docker/config.json.
 *
 * In the file: "credHelpers": {registry: NAME} first, else "credsStore":
 * NAME, run as `docker-credential-NAME get` (found on PATH) with the server
 * on stdin; then "auths" (keys may be "host", "https://host/v1/", ...; for
 * Docker Hub "https://index.docker.io/v1/"), with "auth" = base64(user:pass)
 * or "username" + "password".
 *
 * 0 with out->username NULL when nothing is configured for registry or the
 * file does not exist; CLR_EINVALID for a malformed file or helper answer;
 * CLR_EIO when a helper cannot be run or fails for another reason than
 * "credentials not found".
 */
int clr_auth_creds_lookup(struct clr_auth_creds *out, const char *path,
			  const char *registry);

void clr_auth_creds_release(struct clr_auth_creds *c);

/* Runs `docker-credential-NAME get` for server: the helper protocol alone
 * (exposed for tests).  Same results as clr_auth_creds_lookup. */
int clr_auth_creds_from_helper(struct clr_auth_creds *out, const char *name,
			       const char *server);

#endif
