/*
 * loop.c - the notifier's background thread in `clarion serve`
 * (notifier.h).
 *
 * Clair polls the matcher every poll_interval (6 h by default), which
 * leaves notifications hours behind an update.  Here the update counter
 * (one row, store.h) is read every second: when it moved, or at least
 * every poll_interval, the new operations are processed; deliveries due
 * (new sets, and failed ones whose retry time has come) go out on the same
 * tick; GC runs hourly.  The thread has its own store handle (a handle is
 * one thread's), opened at start so a bad location fails `serve` early.
 */
#include "notifier/notifier.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#define TICK_MS 1000
#define GC_EVERY 3600

struct clr_notifier_loop {
	const struct clr_notifier_opts *o; /* borrowed from the caller */
	struct clr_store *s;   /* this thread's handle */
	char owner[128];       /* delivery claims' name */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;             /* under mu */
	bool kicked;           /* under mu: process now */
};

static void *run(void *arg)
{
	struct clr_notifier_loop *l = arg;
	int64_t seen = -1, last_poll = 0, last_gc = 0;

	for (;;) {
		int64_t now = (int64_t)time(NULL), counter = -1;
		bool kicked, poll;
		struct timespec until;

		pthread_mutex_lock(&l->mu);
		kicked = l->kicked;
		l->kicked = false;
		if (l->stop) {
			pthread_mutex_unlock(&l->mu);
			break;
		}
		pthread_mutex_unlock(&l->mu);

		if (clr_store_update_counter(l->s, &counter))
			clr_log_warn("notifier: %s", clr_error_msg());
		poll = kicked || counter != seen ||
		       now - last_poll >= l->o->poll_interval;
		if (poll) {
			size_t created = 0;

			int err = clr_notifier_process(l->s, l->o, &created);

			/* Busy: another replica holds an updater; look
			 * again next tick rather than at the next poll. */
			if (err && err != CLR_EBUSY)
				clr_log_warn("notifier: processing: %s",
					     clr_error_msg());
			else if (!err)
				seen = counter;
			last_poll = now;
		}
		if (clr_notifier_deliver(l->s, l->o, l->owner, NULL, NULL))
			clr_log_warn("notifier: delivering: %s",
				     clr_error_msg());
		if (now - last_gc >= GC_EVERY) {
			size_t deleted = 0;

			if (clr_notifier_gc(l->s, l->o, &deleted))
				clr_log_warn("notifier: gc: %s",
					     clr_error_msg());
			else if (deleted)
				clr_log_info("notifier: gc: %zu notification "
					     "set(s) deleted", deleted);
			last_gc = now;
		}

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TICK_MS / 1000;
		pthread_mutex_lock(&l->mu);
		while (!l->stop && !l->kicked)
			if (pthread_cond_timedwait(&l->cv, &l->mu, &until) ==
			    ETIMEDOUT)
				break;
		pthread_mutex_unlock(&l->mu);
	}
	return NULL;
}

int clr_notifier_start(struct clr_notifier_loop **out, const char *location,
		       const struct clr_notifier_opts *o)
{
	struct clr_notifier_loop *l = clr_calloc(1, sizeof(*l));
	char host[64] = "";
	int err;

	*out = NULL;
	l->o = o;
	if ((err = clr_store_open(&l->s, location))) {
		free(l);
		return err;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(l->owner, sizeof(l->owner), "%s:%ld:%p", host,
		 (long)getpid(), (void *)l);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (pthread_create(&l->thread, NULL, run, l)) {
		clr_store_close(l->s);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		free(l);
		return clr_error_set(CLR_ERROR, "cannot start the notifier "
				     "thread");
	}
	clr_log_info("notifier: started (%s%s)",
		     o->webhook_target ? "webhook " : "no delivery configured",
		     o->webhook_target ? o->webhook_target : "");
	*out = l;
	return 0;
}

void clr_notifier_kick(struct clr_notifier_loop *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->kicked = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

void clr_notifier_stop(struct clr_notifier_loop *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	clr_store_close(l->s);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

int clr_notifier_serve(struct clr_notifier_loop **out,
		       struct clr_notifier_opts *o, const struct clr_config *c,
		       const char *location, bool required)
{
	int err;

	*out = NULL;
	if ((err = clr_notifier_opts_load(o, c)))
		return err;
	if (!o->webhook_target) {
		if (required)
			return clr_error_set(CLR_EINVALID, "notifier: no "
					     "delivery mechanisms configured "
					     "(set notifier.webhook.target)");
		clr_log_info("notifier: not configured (no "
			     "notifier.webhook.target): not started");
		return 0;
	}
	if (!o->v2_body && !o->webhook_callback)
		clr_log_warn("notifier: notifier.webhook.callback is not set: "
			     "webhooks will carry a bare id as the callback");
	return clr_notifier_start(out, location, o);
}
