/* fuzz_version_semver.c - libFuzzer target for the semver version parser. */
#include "fuzz_version.h"

FUZZ_VERSION_TARGET(CLR_VS_SEMVER)
