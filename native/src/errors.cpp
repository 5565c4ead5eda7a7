// Thread-local last error (cusprun_last_error) and the helper that sets it.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

namespace {
thread_local char g_last_error[512] = "";
}

namespace cusprun {

int fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
    va_end(ap);
    // one line: callers show it verbatim
    for (char *c = g_last_error; *c; ++c)
        if (*c == '\n' || *c == '\r') *c = ' ';
    return code;
}

void set_error_text(const char *msg) { fail(0, "%s", msg ? msg : "(no message)"); }

}  // namespace cusprun

extern "C" const char *cusprun_last_error(void) { return g_last_error; }
