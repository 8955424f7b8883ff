/* fuzz_version_dpkg.c - libFuzzer target for the dpkg version parser. */
#include "fuzz_version.h"

FUZZ_VERSION_TARGET(CLR_VS_DPKG)
