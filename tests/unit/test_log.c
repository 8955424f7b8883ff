/*
 * test_log.c - the logger as a log collector or a person sees it: JSON
 * lines that parse and round-trip the message, readable human lines, level
 * filtering, colour only on terminals, whole lines under concurrency.
 *
 * Each test sends the log to a temporary file and reads it back.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

struct capture {
	FILE *f;   /* the temporary file the log goes to */
	char *out; /* what was written, read back by captured() */
};

static int setup(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (!c || !(c->f = tmpfile()))
		return -1;
	clr_log_set_fd(fileno(c->f));
	clr_log_set_level(CLR_LOG_DEBUG);
	clr_log_set_format(CLR_LOG_JSON);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct capture *c = *state;

	clr_log_set_fd(-1);
	clr_log_set_level(CLR_LOG_INFO);
	clr_log_set_format(CLR_LOG_HUMAN);
	fclose(c->f);
	free(c->out);
	free(c);
	return 0;
}

/* Everything written so far, NUL-terminated. */
static const char *captured(struct capture *c)
{
	struct stat st;
	ssize_t n;

	assert_int_equal(fstat(fileno(c->f), &st), 0);
	free(c->out);
	c->out = malloc((size_t)st.st_size + 1);
	n = pread(fileno(c->f), c->out, (size_t)st.st_size, 0);
	assert_int_equal(n, st.st_size);
	c->out[n] = '\0';
	return c->out;
}

/* --- a strict little JSON reader for {"k":"v",...} lines ----------------- */

static void put_utf8(char **o, unsigned long cp)
{
	if (cp < 0x80) {
		*(*o)++ = (char)cp;
	} else if (cp < 0x800) {
		*(*o)++ = (char)(0xc0 | cp >> 6);
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*(*o)++ = (char)(0xe0 | cp >> 12);
		*(*o)++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*(*o)++ = (char)(0xf0 | cp >> 18);
		*(*o)++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*(*o)++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	}
}

static int hex4(const char *s, unsigned long *out)
{
	char h[5];
	char *end;

	memcpy(h, s, 4);
	h[4] = '\0';
	if (strspn(h, "0123456789abcdefABCDEF") != 4)
		return -1;
	*out = strtoul(h, &end, 16);
	return 0;
}

/* Reads a JSON string at *p into out (decoded, NUL-terminated; *outlen
 * bytes); -1 on anything RFC 8259 forbids, including raw controls. */
static int json_string(const char **p, char *out, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)*p;
	char *o = out;

	if (*s++ != '"')
		return -1;
	while (*s != '"') {
		if (*s < 0x20)
			return -1;
		if (*s == '\\') {
			unsigned long cp, lo;

			s++;
			switch (*s) {
			case '"': *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case '/': *o++ = '/'; break;
			case 'b': *o++ = '\b'; break;
			case 'f': *o++ = '\f'; break;
			case 'n': *o++ = '\n'; break;
			case 'r': *o++ = '\r'; break;
			case 't': *o++ = '\t'; break;
			case 'u':
				if (hex4((const char *)s + 1, &cp))
					return -1;
				s += 4;
				if (cp >= 0xd800 && cp < 0xdc00) {
					if (s[1] != '\\' || s[2] != 'u' ||
					    hex4((const char *)s + 3, &lo) ||
					    lo < 0xdc00 || lo > 0xdfff)
						return -1;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
					s += 6;
				} else if (cp >= 0xdc00 && cp <= 0xdfff) {
					return -1;
				}
				put_utf8(&o, cp);
				break;
			default:
				return -1;
			}
			s++;
			continue;
		}
		if (*s >= 0x80) {
			/* must be well-formed UTF-8: check via the lead byte
			 * and continuation bytes (overlongs excluded) */
			int n = *s >= 0xf0 ? 3 : *s >= 0xe0 ? 2 : *s >= 0xc2 ? 1 : -1;

			if (n < 0 || *s > 0xf4)
				return -1;
			*o++ = (char)*s++;
			while (n--) {
				if ((*s & 0xc0) != 0x80)
					return -1;
				*o++ = (char)*s++;
			}
			continue;
		}
		*o++ = (char)*s++;
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	*p = (const char *)s + 1;
	return 0;
}

struct jline {
	char time[64], level[16];
	char msg[70000];
	size_t msglen;
	int nkeys;
};

/* Parses one line (up to and including its '\n') of {"time","level","msg"}
 * in that order; advances *p past it. */
static int json_line(const char **p, struct jline *j)
{
	static const char *const keys[] = { "time", "level", "msg" };
	const char *s = *p;
	static char key[64], val[70000];
	size_t klen, vlen;

	if (*s++ != '{')
		return -1;
	for (j->nkeys = 0; j->nkeys < 3; j->nkeys++) {
		if (json_string(&s, key, &klen) || strcmp(key, keys[j->nkeys]))
			return -1;
		if (*s++ != ':')
			return -1;
		if (json_string(&s, val, &vlen))
			return -1;
		if (j->nkeys == 0 && vlen < sizeof(j->time))
			memcpy(j->time, val, vlen + 1);
		else if (j->nkeys == 1 && vlen < sizeof(j->level))
			memcpy(j->level, val, vlen + 1);
		else if (j->nkeys == 2) {
			memcpy(j->msg, val, vlen + 1);
			j->msglen = vlen;
		} else {
			return -1;
		}
		if (*s == ',' && j->nkeys < 2)
			s++;
	}
	if (s[0] != '}' || s[1] != '\n')
		return -1;
	*p = s + 2;
	return 0;
}

/* --- tests ----------------------------------------------------------------- */

static void json_line_has_time_level_msg(void **state)
{
	struct capture *c = *state;
	static struct jline j;
	const char *p;
	int y, mo, d, h, mi, s, ms;
	char z = 0, t = 0;

	clr_log_warn("layer %s has no entries", "sha256:ab");
	p = captured(c);
	assert_int_equal(json_line(&p, &j), 0);
	assert_string_equal(p, ""); /* exactly one line */
	assert_string_equal(j.level, "warn");
	assert_string_equal(j.msg, "layer sha256:ab has no entries");
	/* RFC 3339, UTC, milliseconds: 2024-05-01T12:00:00.123Z */
	assert_int_equal(strlen(j.time), 24);
	assert_int_equal(sscanf(j.time, "%4d-%2d-%2d%c%2d:%2d:%2d.%3d%c",
				&y, &mo, &d, &t, &h, &mi, &s, &ms, &z), 9);
	assert_int_equal(t, 'T');
	assert_int_equal(z, 'Z');
	assert_true(y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31);
	assert_true(h < 24 && mi < 60 && s <= 60 && ms < 1000);
}

static void json_escapes_quotes_backslashes_controls(void **state)
{
	struct capture *c = *state;
	static struct jline j;
	const char *msg = "say \"hi\" C:\\dir\nline2\x01\t\x1b[31m\x7f end/";
	const char *p, *raw;

	clr_log_error("%s", msg);
	raw = p = captured(c);
	assert_int_equal(json_line(&p, &j), 0);
	assert_string_equal(j.level, "error");
	assert_string_equal(j.msg, msg); /* round-trips exactly */
	/* and the escapes are the expected ones */
	assert_non_null(strstr(raw, "say \\\"hi\\\" C:\\\\dir\\nline2\\u0001\\t"
				    "\\u001b[31m\\u007f end/\"}\n"));
	assert_null(strchr(raw, '\x01'));
	assert_int_equal(strchr(raw, '\n') - raw, (long)strlen(raw) - 1);
}

static void json_keeps_utf8_and_replaces_invalid_bytes(void **state)
{
	struct capture *c = *state;
	static struct jline j;
	const char *p, *raw;

	/* é, 日本, an emoji; then a lone continuation byte, a truncated
	 * sequence, an overlong '/', and an encoded surrogate. */
	clr_log_info("ok: \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\xa6 "
		     "bad: \x80 \xe6\x97 \xc0\xaf \xed\xa0\x80.");
	raw = p = captured(c);
	assert_int_equal(json_line(&p, &j), 0);
	assert_non_null(strstr(raw, "ok: \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac "
				    "\xf0\x9f\x93\xa6 bad: \\ufffd "
				    "\\ufffd\\ufffd \\ufffd\\ufffd "
				    "\\ufffd\\ufffd\\ufffd."));
}

static void json_lines_one_per_call(void **state)
{
	struct capture *c = *state;
	static struct jline j;
	const char *p;
	int n = 0;

	for (int i = 0; i < 50; i++)
		clr_log_debug("message %d with\nnewline", i);
	p = captured(c);
	while (*p) {
		char want[64];

		assert_int_equal(json_line(&p, &j), 0);
		snprintf(want, sizeof(want), "message %d with\nnewline", n++);
		assert_string_equal(j.msg, want);
		assert_string_equal(j.level, "debug");
	}
	assert_int_equal(n, 50);
}

static void long_message_is_cut_but_valid(void **state)
{
	struct capture *c = *state;
	static struct jline j;
	static char big[CLR_LOG_MSG_MAX * 2];
	const char *p;
	size_t off;

	memset(big, '"', sizeof(big) - 1); /* worst case for escaping */
	clr_log_info("%s", big);
	p = captured(c);
	assert_int_equal(json_line(&p, &j), 0);
	assert_int_equal(j.msglen, CLR_LOG_MSG_MAX + 3);
	assert_string_equal(j.msg + CLR_LOG_MSG_MAX, "...");

	/* A message between the stack buffer and the cap is whole. */
	off = (size_t)(p - c->out);
	big[3000] = '\0';
	clr_log_info("%s", big);
	p = captured(c) + off;
	assert_int_equal(json_line(&p, &j), 0);
	assert_int_equal(j.msglen, 3000);
}

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

static void level_filters(void **state)
{
	struct capture *c = *state;
	static struct jline j;
	const char *p;
	size_t off;

	clr_log_set_level(CLR_LOG_WARN);
	assert_true(clr_log_enabled(CLR_LOG_ERROR));
	assert_false(clr_log_enabled(CLR_LOG_INFO));
	evaluated = 0;
	clr_log_debug("dropped %d", side_effect());
	clr_log_info("dropped %d", side_effect());
	assert_int_equal(evaluated, 0); /* arguments not even evaluated */
	clr_log_write(CLR_LOG_INFO, "dropped too");
	clr_log_warn("kept %d", side_effect());
	clr_log_error("kept %d", side_effect());
	p = captured(c);
	assert_int_equal(json_line(&p, &j), 0);
	assert_string_equal(j.level, "warn");
	assert_string_equal(j.msg, "kept 1");
	assert_int_equal(json_line(&p, &j), 0);
	assert_string_equal(j.level, "error");
	assert_string_equal(j.msg, "kept 2");
	assert_string_equal(p, "");

	off = strlen(c->out);
	clr_log_set_level(CLR_LOG_ERROR);
	clr_log_warn("dropped");
	assert_int_equal(strlen(captured(c)), off); /* nothing new */
	assert_int_equal(clr_log_get_level(), CLR_LOG_ERROR);
}

static void level_names_parse(void **state)
{
	enum clr_log_level l = CLR_LOG_INFO;

	(void)state;
	assert_int_equal(clr_log_level_from_name(&l, "debug"), 0);
	assert_int_equal(l, CLR_LOG_DEBUG);
	assert_int_equal(clr_log_level_from_name(&l, "WARN"), 0);
	assert_int_equal(l, CLR_LOG_WARN);
	assert_int_equal(clr_log_level_from_name(&l, "warning"), 0);
	assert_int_equal(l, CLR_LOG_WARN);
	assert_int_equal(clr_log_level_from_name(&l, "Error"), 0);
	assert_int_equal(l, CLR_LOG_ERROR);
	assert_int_equal(clr_log_level_from_name(&l, "info"), 0);
	assert_int_equal(l, CLR_LOG_INFO);

	assert_int_equal(clr_log_level_from_name(&l, "verbose"), CLR_EINVALID);
	assert_non_null(strstr(clr_error_msg(), "'verbose'"));
	assert_non_null(strstr(clr_error_msg(), "debug"));
	assert_int_equal(clr_log_level_from_name(&l, ""), CLR_EINVALID);
	assert_int_equal(l, CLR_LOG_INFO); /* untouched on failure */

	assert_string_equal(clr_log_level_name(CLR_LOG_WARN), "warn");
	assert_string_equal(clr_log_level_name(CLR_LOG_DEBUG), "debug");
}

static void human_format(void **state)
{
	struct capture *c = *state;

	clr_log_set_format(CLR_LOG_HUMAN);
	clr_log_warn("disk %d%% full", 93);
	clr_log_info("name with\nnewline and \x1b[2J escape\tand tab");
	clr_log_error("bad byte \xff, fine \xc3\xa9");
	assert_string_equal(captured(c),
			    "clarion: warn: disk 93% full\n"
			    "clarion: info: name with\\nnewline and "
			    "\\x1b[2J escape\tand tab\n"
			    "clarion: error: bad byte \\xff, fine \xc3\xa9\n");
}

static void human_colour_only_on_a_terminal(void **state)
{
	struct capture *c = *state;
	char buf[256];
	ssize_t n;
	int master, slave;

	clr_log_set_format(CLR_LOG_HUMAN);
	unsetenv("NO_COLOR");
	clr_log_warn("plain");
	assert_null(strchr(captured(c), '\033')); /* a file: no colour */

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master) ||
	    (slave = open(ptsname(master), O_RDWR | O_NOCTTY)) < 0) {
		if (master >= 0)
			close(master);
		skip(); /* no pseudo-terminals here */
		return;
	}
	clr_log_set_fd(slave);
	clr_log_warn("coloured");
	n = read(master, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\033[33mwarn\033[0m: coloured"));
	assert_true(strncmp(buf, "clarion: ", 9) == 0);

	setenv("NO_COLOR", "1", 1);
	clr_log_set_fd(slave); /* decides again */
	clr_log_warn("not coloured");
	n = read(master, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strchr(buf, '\033'));
	unsetenv("NO_COLOR");
	clr_log_set_fd(fileno(c->f));
	close(slave);
	close(master);
}

static void errno_is_preserved(void **state)
{
	(void)state;
	errno = ENOENT;
	clr_log_info("something");
	assert_int_equal(errno, ENOENT);
	clr_log_set_fd(987); /* a closed fd: the write fails quietly */
	errno = EACCES;
	clr_log_error("into the void");
	assert_int_equal(errno, EACCES);
}

#define THREADS 8
#define PER_THREAD 500

static void *log_many(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int i = 0; i < PER_THREAD; i++)
		clr_log_info("thread %d line %d %s", id, i,
			     "padding padding padding padding padding padding "
			     "padding padding padding padding padding padding");
	return NULL;
}

static void concurrent_lines_stay_whole(void **state)
{
	struct capture *c = *state;
	static struct jline j;
	pthread_t t[THREADS];
	int next[THREADS] = { 0 };
	const char *p;

	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_many,
						(void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	p = captured(c);
	for (int n = 0; n < THREADS * PER_THREAD; n++) {
		int id, line;

		assert_int_equal(json_line(&p, &j), 0);
		assert_int_equal(sscanf(j.msg, "thread %d line %d", &id, &line),
				 2);
		assert_true(id >= 0 && id < THREADS);
		assert_int_equal(line, next[id]++); /* in order per thread */
	}
	assert_string_equal(p, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(json_line_has_time_level_msg),
		T(json_escapes_quotes_backslashes_controls),
		T(json_keeps_utf8_and_replaces_invalid_bytes),
		T(json_lines_one_per_call),
		T(long_message_is_cut_but_valid),
		T(level_filters),
		T(level_names_parse),
		T(human_format),
		T(human_colour_only_on_a_terminal),
		T(errno_is_preserved),
		T(concurrent_lines_stay_whole),
#undef T
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
