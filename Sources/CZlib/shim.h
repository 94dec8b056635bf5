#ifndef LAMPD_CZLIB_SHIM_H
#define LAMPD_CZLIB_SHIM_H
// zlib: HTTP "deflate" content coding (RFC 9110 §8.4.1.2 = the zlib format of RFC 1950)
// for batch bodies on metered links.
#include <zlib.h>
#endif
