/* fuzz_version_gem.c - libFuzzer target for the gem version parser. */
#include "fuzz_version.h"

FUZZ_VERSION_TARGET(CLR_VS_GEM)
