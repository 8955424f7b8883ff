/*
 * curl.c - libcurl's one-time set-up and the CA bundle from the
 * environment, shared by the registry client and the feed fetcher.
 */
#include "util/curl.h"

#include <pthread.h>
#include <stdlib.h>

#include <curl/curl.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	/* Must happen once, before any thread uses libcurl. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void clr_curl_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

const char *clr_curl_ca_file(void)
{
	static const char *const vars[] = {
		"CLARION_CA_FILE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return v;
	}
	return NULL;
}
