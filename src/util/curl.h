/*
 * curl.h - what every libcurl user in clarion does the same way.
 *
 * The registry client (image/registry.c) and the feed fetcher
 * (updater/fetch.c) differ in almost everything about a transfer (retries,
 * redirects, error wording), but two things must not differ between them:
 * libcurl's one-time global set-up, and which CA bundle a user's
 * environment names.  They live here so a new libcurl user gets both right.
 *
 *     clr_curl_global_init();            // before the first curl_easy_init
 *     const char *ca = clr_curl_ca_file();
 *     if (ca)
 *             curl_easy_setopt(c, CURLOPT_CAINFO, ca);
 */
#ifndef CLR_UTIL_CURL_H
#define CLR_UTIL_CURL_H

/* curl_global_init(CURL_GLOBAL_DEFAULT) exactly once per process, however
 * many threads call this at the same time.  libcurl's global set-up is not
 * thread-safe itself, so every libcurl user calls this first. */
void clr_curl_global_init(void);

/* The CA bundle the environment names, or NULL for the system's: the first
 * non-empty of $CLARION_CA_FILE, $CURL_CA_BUNDLE and $SSL_CERT_FILE (the
 * last two as curl's own tool reads them; libcurl itself reads none).  The
 * string belongs to the environment. */
const char *clr_curl_ca_file(void);

#endif
