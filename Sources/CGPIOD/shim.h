#ifndef LAMPD_CGPIOD_SHIM_H
#define LAMPD_CGPIOD_SHIM_H
#include <gpiod.h>
#endif
