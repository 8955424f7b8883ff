/* fuzz_version_maven.c - libFuzzer target for the maven version parser. */
#include "fuzz_version.h"

FUZZ_VERSION_TARGET(CLR_VS_MAVEN)
