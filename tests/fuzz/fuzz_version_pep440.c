/* fuzz_version_pep440.c - libFuzzer target for the pep440 version parser. */
#include "fuzz_version.h"

FUZZ_VERSION_TARGET(CLR_VS_PEP440)
