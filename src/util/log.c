/*
 * log.c - the leveled logger described in log.h.
 *
 * A line is built completely in memory (a clr_buf whose cap the escaping
 * can never reach) and handed to write(2) once: that is what keeps lines
 * from concurrent threads whole, with no lock.  The settings are relaxed
 * atomics; a line racing a settings change may use either value.
 */
#include "util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

static atomic_int cur_level = CLR_LOG_INFO;
static atomic_int cur_format = CLR_LOG_HUMAN;
static atomic_int cur_fd = STDERR_FILENO;
static atomic_int use_color = -1; /* -1: not decided yet for cur_fd */

static const char *const level_names[] = {
	[CLR_LOG_ERROR] = "error",
	[CLR_LOG_WARN] = "warn",
	[CLR_LOG_INFO] = "info",
	[CLR_LOG_DEBUG] = "debug",
};

static const char *const level_colors[] = {
	[CLR_LOG_ERROR] = "\033[1;31m",
	[CLR_LOG_WARN] = "\033[33m",
	[CLR_LOG_INFO] = "\033[36m",
	[CLR_LOG_DEBUG] = "\033[2m",
};

/* A message in the worst case (every byte escaped to six) plus framing. */
#define LINE_MAX_BYTES (6 * (CLR_LOG_MSG_MAX + 3) + 256)

void clr_log_set_level(enum clr_log_level level)
{
	atomic_store_explicit(&cur_level, (int)level, memory_order_relaxed);
}

enum clr_log_level clr_log_get_level(void)
{
	return (enum clr_log_level)atomic_load_explicit(&cur_level,
							memory_order_relaxed);
}

bool clr_log_enabled(enum clr_log_level level)
{
	return (int)level <= atomic_load_explicit(&cur_level,
						  memory_order_relaxed);
}

int clr_log_level_from_name(enum clr_log_level *out, const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(*level_names); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*out = (enum clr_log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(name, "warning")) {
		*out = CLR_LOG_WARN;
		return 0;
	}
	return clr_error_set(CLR_EINVALID,
			     "unknown log level '%.64s' (want error, warn, "
			     "info or debug)", name);
}

const char *clr_log_level_name(enum clr_log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(*level_names))
		return "unknown";
	return level_names[level];
}

void clr_log_set_format(enum clr_log_format format)
{
	atomic_store_explicit(&cur_format, (int)format, memory_order_relaxed);
}

void clr_log_set_fd(int fd)
{
	atomic_store_explicit(&cur_fd, fd < 0 ? STDERR_FILENO : fd,
			      memory_order_relaxed);
	atomic_store_explicit(&use_color, -1, memory_order_relaxed);
}

static bool want_color(int fd)
{
	int c = atomic_load_explicit(&use_color, memory_order_relaxed);

	if (c < 0) {
		const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

		c = isatty(fd) && !(no && *no) && !(term && !strcmp(term, "dumb"));
		atomic_store_explicit(&use_color, c, memory_order_relaxed);
	}
	return c;
}

/*
 * The length of the well-formed UTF-8 sequence at s (at most n bytes), with
 * its code point in *cp, or 0 if the bytes there are not one: overlong
 * forms, surrogates and values past U+10FFFF are rejected.
 */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Appends msg as the inside of a JSON string. */
static void escape_json(struct clr_buf *b, const char *msg, size_t n)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len = utf8_seq(s + i, n - i, &cp);

		if (!len) {
			clr_buf_addstr(b, "\\ufffd");
			i++;
			continue;
		}
		switch (cp) {
		case '"': clr_buf_addstr(b, "\\\""); break;
		case '\\': clr_buf_addstr(b, "\\\\"); break;
		case '\b': clr_buf_addstr(b, "\\b"); break;
		case '\f': clr_buf_addstr(b, "\\f"); break;
		case '\n': clr_buf_addstr(b, "\\n"); break;
		case '\r': clr_buf_addstr(b, "\\r"); break;
		case '\t': clr_buf_addstr(b, "\\t"); break;
		default:
			if (is_control(cp))
				clr_buf_printf(b, "\\u%04x", (unsigned)cp);
			else
				clr_buf_add(b, s + i, len);
		}
		i += len;
	}
}

/* Appends msg for a terminal: no control characters, valid UTF-8. */
static void escape_human(struct clr_buf *b, const char *msg, size_t n)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len = utf8_seq(s + i, n - i, &cp);

		if (!len) {
			clr_buf_printf(b, "\\x%02x", s[i]);
			i++;
			continue;
		}
		if (cp == '\n')
			clr_buf_addstr(b, "\\n");
		else if (cp == '\r')
			clr_buf_addstr(b, "\\r");
		else if (cp == '\t')
			clr_buf_addch(b, '\t');
		else if (cp < 0x80 && is_control(cp))
			clr_buf_printf(b, "\\x%02x", (unsigned)cp);
		else if (is_control(cp))
			clr_buf_printf(b, "\\u%04x", (unsigned)cp);
		else
			clr_buf_add(b, s + i, len);
		i += len;
	}
}

static void add_time(struct clr_buf *b)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	clr_buf_printf(b, "%s.%03ldZ", s, ts.tv_nsec / 1000000);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

void clr_log_vwrite(enum clr_log_level level, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char small[1024], *msg = small;
	struct clr_buf line = CLR_BUF_INIT(LINE_MAX_BYTES);
	int fd, n;
	size_t len;
	bool cut = false;
	va_list cp;

	if (!clr_log_enabled(level))
		return;
	if ((unsigned)level > CLR_LOG_DEBUG)
		level = CLR_LOG_ERROR;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0) {
		snprintf(small, sizeof(small), "(unformattable message '%s')",
			 fmt);
		n = (int)strlen(small);
	} else if ((size_t)n >= sizeof(small)) {
		len = (size_t)n < CLR_LOG_MSG_MAX ? (size_t)n : CLR_LOG_MSG_MAX;
		cut = (size_t)n > len;
		msg = clr_malloc(len + 1);
		vsnprintf(msg, len + 1, fmt, ap);
		n = (int)len;
	}
	len = (size_t)n;

	fd = atomic_load_explicit(&cur_fd, memory_order_relaxed);
	if (atomic_load_explicit(&cur_format, memory_order_relaxed) ==
	    CLR_LOG_JSON) {
		clr_buf_addstr(&line, "{\"time\":\"");
		add_time(&line);
		clr_buf_printf(&line, "\",\"level\":\"%s\",\"msg\":\"",
			       level_names[level]);
		escape_json(&line, msg, len);
		clr_buf_addstr(&line, cut ? "...\"}\n" : "\"}\n");
	} else {
		clr_buf_addstr(&line, "clarion: ");
		if (want_color(fd))
			clr_buf_printf(&line, "%s%s\033[0m: ",
				       level_colors[level], level_names[level]);
		else
			clr_buf_printf(&line, "%s: ", level_names[level]);
		escape_human(&line, msg, len);
		clr_buf_addstr(&line, cut ? "...\n" : "\n");
	}
	write_all(fd, line.ptr, line.len);

	clr_buf_release(&line);
	if (msg != small)
		free(msg);
	errno = saved_errno;
}

void clr_log_write(enum clr_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	clr_log_vwrite(level, fmt, ap);
	va_end(ap);
}
