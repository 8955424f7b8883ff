/*
 * cancel.h - a process-wide "stop what you are doing".
 *
 * `clarion serve` sets it once, on SIGTERM or SIGINT, after it stopped
 * accepting requests.  Long loops that are not requests poll it: the
 * updater manager does not start another updater, and downloads stop
 * retrying and abort their transfer.  What they were doing is abandoned,
 * never half-written: every store write is one transaction.  Without it a
 * service shutting down while the feeds are unreachable would sit through
 * every updater's retries, long after Kubernetes' grace period.
 *
 * Like a signal, this is the one piece of global state the library keeps:
 * it is about the process, not about any object.  It is never reset.
 */
#ifndef CLR_UTIL_CANCEL_H
#define CLR_UTIL_CANCEL_H

#include <stdbool.h>

/* Asks every long-running loop to stop (async-signal-safe). */
void clr_cancel_request(void);

/* Whether clr_cancel_request() was called. */
bool clr_cancel_requested(void);

#endif
