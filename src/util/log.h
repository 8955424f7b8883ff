/*
 * log.h - leveled diagnostics on stderr, for people or for log collectors.
 *
 * Four levels (error, warn, info, debug) and two formats:
 *   human   clarion: warn: layer sha256:ab12... has no tar entries
 *           (the level is coloured when the output is a terminal and
 *           NO_COLOR is not set)
 *   json    {"time":"2024-05-01T12:00:00.123Z","level":"warn","msg":"..."}
 *           one object per line, time in UTC with milliseconds.
 *
 * Messages often quote what was found in an image (file names, package
 * names), so the writer makes every line safe whatever the bytes: in JSON,
 * quotes, backslashes and control characters are escaped and bytes that are
 * not valid UTF-8 become \ufffd, so every line parses; in the human format
 * control characters are shown as \n, \x1b, ... so nothing reaches the
 * terminal as an escape sequence or splits the line.  A message is cut
 * (marked "...") after CLR_LOG_MSG_MAX bytes.
 *
 * Thread-safe: the settings are atomics and each line goes out in a single
 * write(2), so lines from different threads never interleave.  errno is
 * preserved across every call.
 *
 * The clr_log_<level>() macros check the level before evaluating their
 * arguments, so a disabled clr_log_debug() costs one load.
 */
#ifndef CLR_UTIL_LOG_H
#define CLR_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum clr_log_level {
	CLR_LOG_ERROR, /* the operation failed */
	CLR_LOG_WARN,  /* it went on, but a result may be incomplete */
	CLR_LOG_INFO,  /* what an operator wants to see (the default) */
	CLR_LOG_DEBUG, /* what a developer wants to see */
};

enum clr_log_format {
	CLR_LOG_HUMAN, /* "clarion: level: message" (the default) */
	CLR_LOG_JSON,  /* one JSON object per line */
};

/* Longest message kept, in bytes, before it is cut. */
#define CLR_LOG_MSG_MAX 16384

/* Messages above level are dropped. */
void clr_log_set_level(enum clr_log_level level);
enum clr_log_level clr_log_get_level(void);
bool clr_log_enabled(enum clr_log_level level);

/* Parses "error", "warn" (or "warning"), "info", "debug", in any case.
 * CLR_EINVALID, with a message listing the names, for anything else. */
int clr_log_level_from_name(enum clr_log_level *out, const char *name);

/* The lowercase name of a level, as printed. */
const char *clr_log_level_name(enum clr_log_level level);

void clr_log_set_format(enum clr_log_format format);

/* Sends lines to fd instead of stderr (-1 goes back to stderr), deciding
 * anew whether to colour.  The fd is borrowed: the caller keeps it open
 * while it is set.  For a FILE *, pass fileno(f). */
void clr_log_set_fd(int fd);

/* Writes one line at level if the level is enabled. */
void clr_log_write(enum clr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void clr_log_vwrite(enum clr_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define CLR_LOG_AT_(level, ...)                              \
	do {                                                 \
		if (clr_log_enabled(level))                  \
			clr_log_write((level), __VA_ARGS__); \
	} while (0)

#define clr_log_error(...) CLR_LOG_AT_(CLR_LOG_ERROR, __VA_ARGS__)
#define clr_log_warn(...)  CLR_LOG_AT_(CLR_LOG_WARN, __VA_ARGS__)
#define clr_log_info(...)  CLR_LOG_AT_(CLR_LOG_INFO, __VA_ARGS__)
#define clr_log_debug(...) CLR_LOG_AT_(CLR_LOG_DEBUG, __VA_ARGS__)

#endif
