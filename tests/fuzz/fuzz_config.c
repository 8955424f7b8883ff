/*
 * fuzz_config.c - libFuzzer target for the configuration loader.
 *
 * The input is parsed as YAML (config.yaml) and as strict JSON
 * (config.json).  Beyond not crashing: success or CLR_EINVALID / CLR_ELIMIT
 * only, a message on failure, and on success every key readable through
 * its getter (the defaults filled in, lists NULL-terminated).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(const struct clr_config *c)
{
	for (size_t i = 0; i < clr_config_keys_count; i++) {
		const struct clr_config_key *k = &clr_config_keys[i];
		const char *const *list;
		size_t n;

		switch (k->type) {
		case CLR_CONFIG_STRING:
			if (k->def && !clr_config_string(c, k->name))
				abort();
			break;
		case CLR_CONFIG_INT:
			(void)clr_config_int(c, k->name);
			break;
		case CLR_CONFIG_BOOL:
			(void)clr_config_bool(c, k->name);
			break;
		case CLR_CONFIG_DURATION:
			if (clr_config_duration_ms(c, k->name) < 0)
				abort();
			break;
		case CLR_CONFIG_LIST:
			list = clr_config_list(c, k->name, &n);
			if (list && list[n])
				abort();
			for (size_t j = 0; list && j < n; j++)
				if (!list[j])
					abort();
			break;
		case CLR_CONFIG_SETTINGS:
			(void)clr_config_setting(c, k->name, "debian", "url");
			(void)clr_config_setting_path(c, k->name, "alpine-main-v3.19.url");
			break;
		case CLR_CONFIG_MAP: {
			const char *name, *value;
			size_t pos = 0;

			while (clr_config_map_next(c, k->name, &pos, &name, &value))
				if (!name || !value)
					abort();
			break;
		}
		}
	}
	(void)clr_config_log_level(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "config.yaml", "config.json" };

	if (size > (64 << 10))
		return 0;
	for (size_t i = 0; i < 2; i++) {
		struct clr_config *c;
		int err = clr_config_parse(&c, (const char *)data, size, names[i]);

		if (err) {
			if ((err != CLR_EINVALID && err != CLR_ELIMIT) || c ||
			    !*clr_error_msg())
				abort();
			continue;
		}
		read_all(c);
		clr_config_free(c);
	}
	return 0;
}
