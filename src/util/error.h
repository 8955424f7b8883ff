/*
 * error.h - clarion's error codes and the thread-local error message.
 *
 * Every fallible function returns an int: 0 on success, one of the negative
 * CLR_E* codes on failure.  The function that detects a failure describes it
 * with clr_error_set(); callers add context with clr_error_prefix() and pass
 * the code up.  Only src/cli/ turns a code into an exit status, and only
 * src/http/ turns it into an HTTP status.
 */
#ifndef CLR_UTIL_ERROR_H
#define CLR_UTIL_ERROR_H

#include <stddef.h>

enum {
	CLR_OK = 0,
	CLR_ERROR = -1,      /* generic failure */
	CLR_ENOMEM = -2,     /* allocation failed */
	CLR_EINVALID = -3,   /* malformed input: a version, a feed, a request */
	CLR_ENOTFOUND = -4,  /* the thing asked for does not exist */
	CLR_EUNCHANGED = -5, /* nothing new (an updater's feed did not change) */
	CLR_ELIMIT = -6,     /* a size or count limit was exceeded */
	CLR_EIO = -7,        /* reading or writing a file failed */
	CLR_ENET = -8,       /* a network call failed (transient) */
	CLR_EUNSUPPORTED = -9, /* understood, but not something clarion handles */
	CLR_EEXISTS = -10,   /* already present */
	CLR_EAUTH = -11,     /* credentials missing, wrong or expired */
	CLR_EBUSY = -12,     /* over a concurrency limit: try again later */
};

/* Sets the calling thread's error message (printf-style) and returns code,
 * so a failure can be reported in one statement:
 *     return clr_error_set(CLR_EINVALID, "bad epoch in '%s'", s);       */
int clr_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Puts "PREFIX: " in front of the current message and returns code. */
int clr_error_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The calling thread's last message; never NULL ("" when none was set).
 * Borrowed: valid until the next clr_error_* call on this thread. */
const char *clr_error_msg(void);

/* Forgets the calling thread's message. */
void clr_error_clear(void);

/* A short fixed name for a code ("invalid input", "not found", ...). */
const char *clr_error_name(int code);

#endif
