/*
 * cancel.c - the process-wide stop request (see cancel.h): one atomic flag.
 */
#include "util/cancel.h"

#include <stdatomic.h>

static atomic_bool cancelled;

void clr_cancel_request(void)
{
	atomic_store(&cancelled, true);
}

bool clr_cancel_requested(void)
{
	return atomic_load_explicit(&cancelled, memory_order_relaxed);
}
