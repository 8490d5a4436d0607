// glibc's malloc tuning (mallopt), which the Glibc module does not export; tsdb-server only.
#if defined(__linux__)
#include <malloc.h>
#endif
