/* fuzz_version_apk.c - libFuzzer target for the apk version parser. */
#include "fuzz_version.h"

FUZZ_VERSION_TARGET(CLR_VS_APK)
