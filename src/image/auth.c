/*
 * auth.c - WWW-Authenticate parsing, token answers, the token cache and
 * docker credentials (see auth.h).
 *
 * The challenge grammar is RFC 7235's:
 *
 *   WWW-Authenticate = 1#challenge
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 *   token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 * Its one ambiguity is the comma: it separates both the parameters of one
 * challenge and the challenges themselves.  After a comma, "name =" starts
 * another parameter and anything else a new challenge, which is how every
 * real client reads it.
 */
#include "image/auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

extern char **environ;

/* ------------------------------------------------------------------ */
/* WWW-Authenticate                                                    */

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token68_char(unsigned char c)
{
	return isalnum(c) || (c && strchr("-._~+/", c));
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

struct cursor {
	const char *s;   /* the whole header */
	size_t pos;
};

static int malformed(const struct cursor *c, const char *what)
{
	return clr_error_set(CLR_EINVALID,
			     "malformed WWW-Authenticate header: %s at offset %zu",
			     what, c->pos);
}

static void skip_ows(struct cursor *c)
{
	while (is_ows(c->s[c->pos]))
		c->pos++;
}

static size_t token_len(const char *s)
{
	size_t n = 0;

	while (is_tchar((unsigned char)s[n]))
		n++;
	return n;
}

/* Does an auth-param ("name" BWS "=" BWS value-start) start at p? */
static bool param_starts(const char *p)
{
	size_t n = token_len(p);

	if (!n)
		return false;
	p += n;
	while (is_ows(*p))
		p++;
	if (*p != '=')
		return false;
	p++;
	while (is_ows(*p))
		p++;
	return *p == '"' || is_tchar((unsigned char)*p);
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = clr_strndup(s, n);

	for (size_t i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

/* A quoted-string at c->pos (the opening quote), unescaped into *out. */
static int parse_quoted(struct cursor *c, char **out)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_AUTH_HEADER_MAX);
	int err;

	c->pos++;
	for (;;) {
		unsigned char ch = (unsigned char)c->s[c->pos];

		if (ch == '"')
			break;
		if (ch == '\\') {
			c->pos++;
			ch = (unsigned char)c->s[c->pos];
			/* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
			if (ch != '\t' && (ch < 0x20 || ch == 0x7f)) {
				clr_buf_release(&b);
				return malformed(c, ch ? "bad escape in quoted string"
						       : "unterminated quoted string");
			}
		} else if (ch == 0) {
			clr_buf_release(&b);
			return malformed(c, "unterminated quoted string");
		} else if (ch != '\t' && (ch < 0x20 || ch == 0x7f)) {
			clr_buf_release(&b);
			return malformed(c, "control character in quoted string");
		}
		if ((err = clr_buf_addch(&b, (char)ch)))
			return err;
		c->pos++;
	}
	c->pos++;
	*out = clr_buf_detach(&b, NULL);
	return 0;
}

static int add_param(struct cursor *c, struct clr_auth_challenge *ch,
		     char *name, char *value)
{
	for (size_t i = 0; i < ch->nparams; i++) {
		if (!strcmp(ch->params[i].name, name)) {
			int err = clr_error_set(CLR_EINVALID,
				"malformed WWW-Authenticate header: parameter "
				"'%s' given twice at offset %zu", name, c->pos);

			free(name);
			free(value);
			return err;
		}
	}
	if (ch->nparams == CLR_AUTH_PARAMS_MAX) {
		free(name);
		free(value);
		return clr_error_set(CLR_ELIMIT, "WWW-Authenticate header: more "
				     "than %d parameters in one challenge",
				     CLR_AUTH_PARAMS_MAX);
	}
	if (!ch->params)
		ch->params = clr_calloc(CLR_AUTH_PARAMS_MAX, sizeof(*ch->params));
	ch->params[ch->nparams].name = name;
	ch->params[ch->nparams].value = value;
	ch->nparams++;
	return 0;
}

/* One auth-param at c->pos (param_starts() said there is one). */
static int parse_param(struct cursor *c, struct clr_auth_challenge *ch)
{
	size_t n = token_len(c->s + c->pos);
	char *name = lower_dup(c->s + c->pos, n), *value = NULL;
	int err;

	c->pos += n;
	skip_ows(c);
	c->pos++;  /* '=' */
	skip_ows(c);
	if (c->s[c->pos] == '"') {
		if ((err = parse_quoted(c, &value))) {
			free(name);
			return err;
		}
	} else {
		n = token_len(c->s + c->pos);
		value = clr_strndup(c->s + c->pos, n);
		c->pos += n;
	}
	return add_param(c, ch, name, value);
}

/* After a scheme and its spaces: a token68, or a list of auth-params that
 * ends at the end of the header or before the next challenge. */
static int parse_challenge_body(struct cursor *c, struct clr_auth_challenge *ch)
{
	int err;

	if (!param_starts(c->s + c->pos)) {
		size_t start = c->pos;

		while (is_token68_char((unsigned char)c->s[c->pos]))
			c->pos++;
		if (c->pos == start)
			return malformed(c, "expected a parameter or token68");
		while (c->s[c->pos] == '=')
			c->pos++;
		ch->token68 = clr_strndup(c->s + start, c->pos - start);
		skip_ows(c);
		if (c->s[c->pos] && c->s[c->pos] != ',')
			return malformed(c, "unexpected character after token68");
		return 0;
	}
	for (;;) {
		size_t save;

		if ((err = parse_param(c, ch)))
			return err;
		skip_ows(c);
		if (!c->s[c->pos])
			return 0;
		if (c->s[c->pos] != ',')
			return malformed(c, "expected ',' after a parameter");
		/* Empty list elements are allowed: ", ,". */
		save = c->pos;
		while (c->s[c->pos] == ',' || is_ows(c->s[c->pos]))
			c->pos++;
		if (!param_starts(c->s + c->pos)) {
			c->pos = save;  /* a new challenge (or the end) */
			return 0;
		}
	}
}

int clr_auth_challenges_parse(struct clr_auth_challenges *out,
			      const char *header)
{
	struct cursor c = { header, 0 };
	int err = 0;

	out->items = NULL;
	out->n = 0;
	if (strlen(header) > CLR_AUTH_HEADER_MAX)
		return clr_error_set(CLR_ELIMIT, "WWW-Authenticate header longer "
				     "than %d bytes", CLR_AUTH_HEADER_MAX);
	for (;;) {
		struct clr_auth_challenge *ch;
		size_t n, spaces;

		while (c.s[c.pos] == ',' || is_ows(c.s[c.pos]))
			c.pos++;
		if (!c.s[c.pos])
			break;
		n = token_len(c.s + c.pos);
		if (!n) {
			err = malformed(&c, "expected an auth scheme");
			goto fail;
		}
		if (out->n == CLR_AUTH_CHALLENGES_MAX) {
			err = clr_error_set(CLR_ELIMIT, "WWW-Authenticate header: "
					    "more than %d challenges",
					    CLR_AUTH_CHALLENGES_MAX);
			goto fail;
		}
		if (!out->items)
			out->items = clr_calloc(CLR_AUTH_CHALLENGES_MAX,
						sizeof(*out->items));
		ch = &out->items[out->n++];
		ch->scheme = lower_dup(c.s + c.pos, n);
		c.pos += n;
		spaces = c.pos;
		skip_ows(&c);
		spaces = c.pos - spaces;
		if (!c.s[c.pos] || c.s[c.pos] == ',')
			continue;
		if (!spaces) {
			err = malformed(&c, "expected a space after the scheme");
			goto fail;
		}
		if ((err = parse_challenge_body(&c, ch)))
			goto fail;
	}
	if (!out->n)
		return clr_error_set(CLR_EINVALID, "malformed WWW-Authenticate "
				     "header: no challenge");
	return 0;
fail:
	clr_auth_challenges_release(out);
	return err;
}

void clr_auth_challenges_release(struct clr_auth_challenges *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct clr_auth_challenge *ch = &c->items[i];

		for (size_t j = 0; j < ch->nparams; j++) {
			free(ch->params[j].name);
			free(ch->params[j].value);
		}
		free(ch->params);
		free(ch->scheme);
		free(ch->token68);
	}
	free(c->items);
	c->items = NULL;
	c->n = 0;
}

const struct clr_auth_challenge *
clr_auth_challenges_find(const struct clr_auth_challenges *c, const char *scheme)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcasecmp(c->items[i].scheme, scheme))
			return &c->items[i];
	return NULL;
}

const char *clr_auth_challenge_param(const struct clr_auth_challenge *c,
				     const char *name)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (!strcasecmp(c->params[i].name, name))
			return c->params[i].value;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Token server                                                        */

static int add_escaped(struct clr_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int err = 0;

	for (; *s && !err; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || strchr("-._~", ch))
			err = clr_buf_addch(b, (char)ch);
		else
			err = clr_buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
	}
	return err;
}

int clr_auth_token_url(char **out, const char *realm, const char *service,
		       const char *scopes)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_AUTH_HEADER_MAX * 4);
	char sep;
	int err;

	*out = NULL;
	if (strncasecmp(realm, "https://", 8) && strncasecmp(realm, "http://", 7))
		return clr_error_set(CLR_EINVALID, "token realm '%.200s' is not "
				     "an http(s) URL", realm);
	for (const char *p = realm; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
			return clr_error_set(CLR_EINVALID, "token realm '%.200s' "
					     "is not a valid URL", realm);
	if ((err = clr_buf_addstr(&b, realm)))
		return err;
	sep = strchr(realm, '?') ? '&' : '?';
	if (service && *service) {
		err = clr_buf_printf(&b, "%cservice=", sep);
		if (!err)
			err = add_escaped(&b, service);
		sep = '&';
	}
	/* A challenge's scope may hold several space-separated scopes;
	 * the token server wants each as its own parameter. */
	for (const char *p = scopes ? scopes : ""; *p && !err;) {
		size_t n;
		char *one;

		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (!n)
			break;
		one = clr_strndup(p, n);
		err = clr_buf_printf(&b, "%cscope=", sep);
		if (!err)
			err = add_escaped(&b, one);
		free(one);
		sep = '&';
		p += n;
	}
	if (err) {
		clr_buf_release(&b);
		return err;
	}
	*out = clr_buf_detach(&b, NULL);
	return 0;
}

/* A token goes into a header line: printable ASCII only, so a hostile
 * token server cannot inject header lines. */
static bool header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int clr_auth_token_parse(char **token, long *expires_in, const char *json,
			 size_t len)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *tok = NULL;
	long exp = 60;

	*token = NULL;
	*expires_in = 0;
	if (len > CLR_AUTH_TOKEN_RESPONSE_MAX)
		return clr_error_set(CLR_ELIMIT, "token answer larger than %d bytes",
				     CLR_AUTH_TOKEN_RESPONSE_MAX);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return clr_error_set(CLR_EINVALID, "token answer is not JSON: %s",
				     jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return clr_error_set(CLR_EINVALID, "token answer is not a JSON object");
	}
	v = json_object_get(root, "token");
	if (json_is_string(v) && json_string_length(v))
		tok = json_string_value(v);
	if (!tok) {
		v = json_object_get(root, "access_token");
		if (json_is_string(v) && json_string_length(v))
			tok = json_string_value(v);
	}
	if (!tok) {
		json_decref(root);
		return clr_error_set(CLR_EINVALID,
				     "token answer has no \"token\" or \"access_token\"");
	}
	if (!header_safe(tok)) {
		json_decref(root);
		return clr_error_set(CLR_EINVALID,
				     "token answer: token has characters a header cannot carry");
	}
	/* The spec's minimum lifetime is 60 s; a day is plenty for a scan. */
	v = json_object_get(root, "expires_in");
	if (json_is_integer(v) && json_integer_value(v) > 60)
		exp = json_integer_value(v) > 86400 ? 86400 : (long)json_integer_value(v);
	*token = clr_strdup(tok);
	*expires_in = exp;
	json_decref(root);
	return 0;
}

struct cached_token {
	char *token;
	double expires;  /* monotonic seconds */
};

static void free_cached(void *p)
{
	struct cached_token *t = p;

	free(t->token);
	free(t);
}

const char *clr_auth_token_cache_get(struct clr_auth_token_cache *c,
				     const char *key, double now)
{
	struct cached_token *t = clr_hashmap_get(&c->map, key);

	return t && now < t->expires ? t->token : NULL;
}

void clr_auth_token_cache_put(struct clr_auth_token_cache *c, const char *key,
			      const char *token, long expires_in, double now)
{
	struct cached_token *t = clr_malloc(sizeof(*t)), *old;
	long margin = expires_in / 10;

	if (margin > 30)
		margin = 30;
	t->token = clr_strdup(token);
	t->expires = now + (double)(expires_in - margin);
	old = clr_hashmap_put(&c->map, key, t);
	if (old)
		free_cached(old);
}

void clr_auth_token_cache_release(struct clr_auth_token_cache *c)
{
	clr_hashmap_release(&c->map, free_cached);
}

double clr_auth_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Credentials                                                         */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const unsigned char *in, size_t n)
{
	char *out = clr_malloc((n + 2) / 3 * 4 + 1), *p = out;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		*p++ = i + 2 < n ? b64_alphabet[v & 63] : '=';
	}
	*p = '\0';
	return out;
}

/* Standard base64, padding optional; NULL when s is not base64.  The
 * result is NUL-terminated (*n bytes before the NUL). */
static char *b64_decode(const char *s, size_t *n)
{
	size_t len = strlen(s), o = 0;
	char *out;
	uint32_t acc = 0;
	int bits = 0;

	while (len && s[len - 1] == '=')
		len--;
	out = clr_malloc(len * 3 / 4 + 2);
	for (size_t i = 0; i < len; i++) {
		const char *q = s[i] ? strchr(b64_alphabet, s[i]) : NULL;

		if (!q) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)(q - b64_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*n = o;
	return out;
}

char *clr_auth_basic_value(const char *username, const char *password)
{
	size_t n = strlen(username) + strlen(password) + 2;
	char *plain = clr_malloc(n), *enc, *out;

	snprintf(plain, n, "%s:%s", username, password);
	enc = b64_encode((const unsigned char *)plain, n - 1);
	out = clr_malloc(strlen(enc) + 7);
	sprintf(out, "Basic %s", enc);
	/* The plain password should not linger in freed memory. */
	explicit_bzero(plain, n);
	free(plain);
	free(enc);
	return out;
}

void clr_auth_creds_release(struct clr_auth_creds *c)
{
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->username);
	free(c->password);
	c->username = NULL;
	c->password = NULL;
}

static bool is_docker_hub(const char *registry)
{
	return !strcmp(registry, "docker.io") ||
	       !strcmp(registry, "index.docker.io") ||
	       !strcmp(registry, "registry-1.docker.io");
}

/* The server name a docker client stores and asks helpers about. */
static const char *server_name(const char *registry)
{
	return is_docker_hub(registry) ? "https://index.docker.io/v1/" : registry;
}

/* Docker's ConvertToHostname: "https://host:5000/v1/" -> "host:5000". */
static char *key_hostname(const char *key)
{
	if (!strncmp(key, "https://", 8))
		key += 8;
	else if (!strncmp(key, "http://", 7))
		key += 7;
	return clr_strndup(key, strcspn(key, "/"));
}

/* Does a config key (of auths or credHelpers) name registry? */
static bool key_matches(const char *key, const char *registry)
{
	char *host = key_hostname(key);
	bool ok = !strcmp(host, registry) ||
		  (is_docker_hub(registry) && is_docker_hub(host));

	free(host);
	return ok;
}

/* The member of obj whose key names registry: an exact key first. */
static json_t *lookup_by_registry(json_t *obj, const char *registry)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	if ((v = json_object_get(obj, server_name(registry))))
		return v;
	if ((v = json_object_get(obj, registry)))
		return v;
	json_object_foreach(obj, key, v)
		if (key_matches(key, registry))
			return v;
	return NULL;
}

static int read_file_capped(const char *path, struct clr_buf *b)
{
	char chunk[8192];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? CLR_ENOTFOUND
			: clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = clr_error_set(CLR_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		if ((err = clr_buf_add(b, chunk, (size_t)r))) {
			clr_error_prefix(err, "%s", path);
			break;
		}
	}
	close(fd);
	return err;
}

/* Sets what a helper or an auths entry says; the strings are copied. */
static void set_creds(struct clr_auth_creds *out, const char *user,
		      const char *pass)
{
	out->username = clr_strdup(user);
	out->password = clr_strdup(pass);
}

static bool valid_helper_name(const char *name)
{
	if (!*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return name[0] != '.';
}

/* Writes all of s to fd with SIGPIPE blocked in this thread, so a helper
 * that exits without reading cannot kill the process. */
static int write_no_sigpipe(int fd, const char *s, size_t n)
{
	sigset_t pipe_set, old;
	struct timespec zero = { 0, 0 };
	int ret = 0, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -1;
			break;
		}
		s += w;
		n -= (size_t)w;
	}
	/* Swallow a SIGPIPE we caused, unless one was already pending. */
	if (ret && !sigismember(&old, SIGPIPE)) {
		sigset_t pend;

		sigpending(&pend);
		pending = sigismember(&pend, SIGPIPE);
		if (pending)
			sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* How long a helper may take: some talk to a keychain daemon. */
#define HELPER_TIMEOUT_MS 30000
#define HELPER_OUTPUT_MAX (64 * 1024)

/* Runs the helper, feeding server on stdin; *status is its wait status. */
static int run_helper(const char *prog, const char *server,
		      struct clr_buf *output, int *status)
{
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, err = 0;
	char *argv[] = { (char *)prog, (char *)"get", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;
	double deadline = clr_auth_now() + HELPER_TIMEOUT_MS / 1000.0;
	char line[1024];

	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC)) {
		err = clr_error_set(CLR_EIO, "pipe: %s", strerror(errno));
		goto cleanup;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		err = clr_error_set(CLR_EIO, "cannot run %s: %s", prog, strerror(rc));
		goto cleanup;
	}
	close(in[0]);
	close(outp[1]);
	in[0] = outp[1] = -1;
	snprintf(line, sizeof(line), "%s\n", server);
	write_no_sigpipe(in[1], line, strlen(line));
	close(in[1]);
	in[1] = -1;
	for (;;) {
		struct pollfd pfd = { outp[0], POLLIN, 0 };
		double left = deadline - clr_auth_now();
		ssize_t r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			err = clr_error_set(CLR_EIO, "%s did not answer within %d s",
					    prog, HELPER_TIMEOUT_MS / 1000);
			break;
		}
		rc = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		r = read(outp[0], line, sizeof(line));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (clr_buf_add(output, line, (size_t)r)) {
			kill(pid, SIGKILL);
			err = clr_error_set(CLR_ELIMIT, "%s: more than %d bytes of "
					    "output", prog, HELPER_OUTPUT_MAX);
			break;
		}
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
cleanup:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	return err;
}

int clr_auth_creds_from_helper(struct clr_auth_creds *out, const char *name,
			       const char *server)
{
	struct clr_buf output = CLR_BUF_INIT(HELPER_OUTPUT_MAX);
	char prog[96];
	json_error_t jerr;
	json_t *root = NULL, *u, *s;
	int status = 0, err;

	out->username = out->password = NULL;
	if (!valid_helper_name(name))
		return clr_error_set(CLR_EINVALID, "invalid credential helper "
				     "name '%.80s'", name);
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	if ((err = run_helper(prog, server, &output, &status)))
		goto cleanup;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		/* The protocol's "nothing stored" answer is this text. */
		if (strstr(clr_buf_str(&output), "credentials not found")) {
			clr_log_debug("%s: no credentials for %s", prog, server);
			goto cleanup;
		}
		err = clr_error_set(CLR_EIO, "%s get failed for %s: %.200s", prog,
				    server, output.len ? clr_buf_str(&output)
						       : "no output");
		goto cleanup;
	}
	root = json_loadb(clr_buf_str(&output), output.len, 0, &jerr);
	u = json_object_get(root, "Username");
	s = json_object_get(root, "Secret");
	if (!json_is_object(root) || !json_is_string(u) || !json_is_string(s)) {
		err = clr_error_set(CLR_EINVALID, "%s: answer is not "
				    "{\"Username\", \"Secret\"} JSON", prog);
		goto cleanup;
	}
	/* "<token>" marks an identity (OAuth refresh) token, which needs a
	 * flow clarion does not implement; go on without credentials. */
	if (!strcmp(json_string_value(u), "<token>")) {
		clr_log_warn("%s: identity tokens are not supported; continuing "
			     "without credentials for %s", prog, server);
		goto cleanup;
	}
	set_creds(out, json_string_value(u), json_string_value(s));
cleanup:
	json_decref(root);
	if (output.ptr)
		explicit_bzero(output.ptr, output.len);
	clr_buf_release(&output);
	return err;
}

/* An "auths" entry: "auth" (base64 of user:pass) or username/password. */
static int creds_from_entry(struct clr_auth_creds *out, json_t *entry,
			    const char *path, const char *registry)
{
	json_t *auth = json_object_get(entry, "auth");
	json_t *u = json_object_get(entry, "username");
	json_t *p = json_object_get(entry, "password");

	if (json_is_string(auth) && json_string_length(auth)) {
		size_t n;
		char *plain = b64_decode(json_string_value(auth), &n), *colon;

		if (!plain || strlen(plain) != n || !(colon = strchr(plain, ':'))) {
			free(plain);
			return clr_error_set(CLR_EINVALID, "%s: auths entry for %s: "
					     "\"auth\" is not base64 of user:password",
					     path, registry);
		}
		*colon = '\0';
		set_creds(out, plain, colon + 1);
		explicit_bzero(colon + 1, strlen(colon + 1));
		free(plain);
		return 0;
	}
	if (json_is_string(u) && json_string_length(u) && json_is_string(p)) {
		set_creds(out, json_string_value(u), json_string_value(p));
		return 0;
	}
	return 0;  /* an empty entry (docker leaves these beside credsStore) */
}

/* The config file clr_auth_creds_lookup() reads when given no path. */
static char *default_config_path(void)
{
	const char *v;
	size_t n;
	char *p;

	if ((v = getenv("REGISTRY_AUTH_FILE")) && *v)
		return clr_strdup(v);
	if ((v = getenv("DOCKER_CONFIG")) && *v) {
		n = strlen(v) + sizeof("/config.json");
		p = clr_malloc(n);
		snprintf(p, n, "%s/config.json", v);
		return p;
	}
	if ((v = getenv("HOME")) && *v) {
		n = strlen(v) + sizeof("/.docker/config.json");
		p = clr_malloc(n);
		snprintf(p, n, "%s/.docker/config.json", v);
		return p;
	}
	return NULL;
}

int clr_auth_creds_lookup(struct clr_auth_creds *out, const char *path,
			  const char *registry)
{
	struct clr_buf b = CLR_BUF_INIT(CLR_AUTH_CONFIG_MAX);
	char *own_path = NULL;
	json_error_t jerr;
	json_t *root = NULL, *helper, *entry;
	int err = 0;

	out->username = out->password = NULL;
	if (!path && !(path = own_path = default_config_path()))
		return 0;
	if ((err = read_file_capped(path, &b))) {
		if (err == CLR_ENOTFOUND)
			err = 0;
		goto cleanup;
	}
	root = json_loadb(clr_buf_str(&b), b.len, 0, &jerr);
	if (!root || !json_is_object(root)) {
		err = clr_error_set(CLR_EINVALID, "%s: not a JSON object%s%s", path,
				    root ? "" : ": ", root ? "" : jerr.text);
		goto cleanup;
	}
	helper = lookup_by_registry(json_object_get(root, "credHelpers"), registry);
	if (!helper) {
		helper = json_object_get(root, "credsStore");
		if (json_is_string(helper) && !json_string_length(helper))
			helper = NULL;
	}
	if (helper) {
		if (!json_is_string(helper)) {
			err = clr_error_set(CLR_EINVALID, "%s: credential helper "
					    "names must be strings", path);
			goto cleanup;
		}
		err = clr_auth_creds_from_helper(out, json_string_value(helper),
						 server_name(registry));
		if (err || out->username)
			goto cleanup;
	}
	entry = lookup_by_registry(json_object_get(root, "auths"), registry);
	if (json_is_object(entry))
		err = creds_from_entry(out, entry, path, registry);
cleanup:
	json_decref(root);
	if (b.ptr)
		explicit_bzero(b.ptr, b.len);
	clr_buf_release(&b);
	free(own_path);
	return err;
}
