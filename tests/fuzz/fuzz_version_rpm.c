/* fuzz_version_rpm.c - libFuzzer target for the rpm version parser. */
#include "fuzz_version.h"

FUZZ_VERSION_TARGET(CLR_VS_RPM)
