#ifndef LAMPD_CMODBUS_SHIM_H
#define LAMPD_CMODBUS_SHIM_H
#include <modbus/modbus.h>
#endif
