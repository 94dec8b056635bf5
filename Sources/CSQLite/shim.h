#ifndef LAMPD_CSQLITE_SHIM_H
#define LAMPD_CSQLITE_SHIM_H
// SQLite: the spool's file format (docs/spool.md), used directly by the Telemetry module.
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import:
// bind functions given it copy the text or blob before they return.
static inline sqlite3_destructor_type lampd_sqlite3_transient(void) {
    return SQLITE_TRANSIENT;
}
#endif
