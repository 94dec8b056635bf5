#ifndef LAMPD_CMODBUS_SHIM_H
#define LAMPD_CMODBUS_SHIM_H
#include <modbus/modbus.h>

// libmodbus reports Modbus-level failures through errno values built from
// MODBUS_ENOBASE plus an enum member; Swift does not import such expression
// macros, so each one is wrapped here. MODBUS_RTU_RS485 is a plain integer
// literal macro that Swift imports directly, so it needs no wrapper.

// Exception 01 "illegal function" (macro built from an enum member: not importable).
static inline int cmodbus_embxilfun(void) { return EMBXILFUN; }
// Exception 02 "illegal data address" (expression macro: not importable).
static inline int cmodbus_embxiladd(void) { return EMBXILADD; }
// Exception 03 "illegal data value" (expression macro: not importable).
static inline int cmodbus_embxilval(void) { return EMBXILVAL; }
// Exception 04 "server device failure" (expression macro: not importable).
static inline int cmodbus_embxsfail(void) { return EMBXSFAIL; }
// Exception 05 "acknowledge" (expression macro: not importable).
static inline int cmodbus_embxack(void) { return EMBXACK; }
// Exception 06 "server device busy" (expression macro: not importable).
static inline int cmodbus_embxsbusy(void) { return EMBXSBUSY; }
// Exception 07 "negative acknowledge" (expression macro: not importable).
static inline int cmodbus_embxnack(void) { return EMBXNACK; }
// Exception 08 "memory parity error" (expression macro: not importable).
static inline int cmodbus_embxmempar(void) { return EMBXMEMPAR; }
// Exception 0A "gateway path unavailable" (expression macro: not importable).
static inline int cmodbus_embxgpath(void) { return EMBXGPATH; }
// Exception 0B "gateway target failed to respond" (expression macro: not importable).
static inline int cmodbus_embxgtar(void) { return EMBXGTAR; }
// Frame with a wrong CRC (expression macro: not importable).
static inline int cmodbus_embbadcrc(void) { return EMBBADCRC; }
// Response does not match the request (expression macro: not importable).
static inline int cmodbus_embbaddata(void) { return EMBBADDATA; }
// Exception response with an invalid code (expression macro: not importable).
static inline int cmodbus_embbadexc(void) { return EMBBADEXC; }
// Exception code unknown to libmodbus (expression macro: not importable).
static inline int cmodbus_embunkexc(void) { return EMBUNKEXC; }
// Too many data in the response (expression macro: not importable).
static inline int cmodbus_embmdata(void) { return EMBMDATA; }
// Response from another unit than the one asked (expression macro: not importable).
static inline int cmodbus_embbadslave(void) { return EMBBADSLAVE; }

#endif
