/*
 * error.c - the thread-local error message behind error.h.
 *
 * The message lives in a fixed per-thread buffer so that reporting an error
 * never allocates (it may be out-of-memory we are reporting).
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_MAX 1024

static _Thread_local char msg[MSG_MAX];

int clr_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return code;
}

int clr_error_prefix(int code, const char *fmt, ...)
{
	char old[MSG_MAX];
	size_t n;
	va_list ap;

	memcpy(old, msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (old[0] && n + 2 < sizeof(msg)) {
		size_t room = sizeof(msg) - n - 3, len = strlen(old);

		/* The old message is cut if both do not fit. */
		if (len > room)
			len = room;
		memcpy(msg + n, ": ", 2);
		memcpy(msg + n + 2, old, len);
		msg[n + 2 + len] = '\0';
	}
	return code;
}

const char *clr_error_msg(void)
{
	return msg;
}

void clr_error_clear(void)
{
	msg[0] = '\0';
}

const char *clr_error_name(int code)
{
	switch (code) {
	case CLR_OK: return "success";
	case CLR_ERROR: return "error";
	case CLR_ENOMEM: return "out of memory";
	case CLR_EINVALID: return "invalid input";
	case CLR_ENOTFOUND: return "not found";
	case CLR_EUNCHANGED: return "unchanged";
	case CLR_ELIMIT: return "limit exceeded";
	case CLR_EIO: return "I/O error";
	case CLR_ENET: return "network error";
	case CLR_EUNSUPPORTED: return "unsupported";
	case CLR_EEXISTS: return "already exists";
	case CLR_EAUTH: return "not authorized";
	case CLR_EBUSY: return "busy";
	}
	return "unknown error";
}
