#ifndef LAMPD_CSYSTEMD_SHIM_H
#define LAMPD_CSYSTEMD_SHIM_H
// Only sd-daemon.h: readiness and watchdog notification (sd_notify(3)).
// sd_notifyf is variadic and does not import into Swift; Swift formats the
// message and calls sd_notify.
#include <systemd/sd-daemon.h>
#endif
