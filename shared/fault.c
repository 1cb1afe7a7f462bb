/* fault: crash points for the fault-injection tests; see fault.h. */
#include "config.h"
#include "fault.h"

#ifdef ORCH_FAULT_INJECTION
#include "log.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fault_point(const char *name)
{
    const char *trace = getenv("ORCH_FAULT_TRACE");
    if (trace && *trace) {
        int fd = open(trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char line[128];
            int n = snprintf(line, sizeof line, "%s\n", name);
            if (n > 0 && write(fd, line, (size_t)n) < 0)
                n = 0;
            close(fd);
        }
    }
    const char *want = getenv("ORCH_FAULT");
    if (!want || !*want)
        return;
    size_t n = strcspn(want, ":");
    if (strlen(name) != n || strncmp(name, want, n) != 0)
        return;
    long nth = 1;
    if (want[n] == ':') {
        char *end;
        nth = strtol(want + n + 1, &end, 10);
        if (*end || nth < 1)
            nth = 1;
    }
    static long hits;
    if (++hits < nth)
        return;
    log_event(LOG_WARN, "fault.injected", "s:point i:hit", name, (long long)hits);
    raise(SIGKILL);
}

int fault_armed(const char *name)
{
    const char *list = getenv("ORCH_FAULT_SOFT");
    size_t len = strlen(name);
    for (const char *p = list ? list : ""; *p;) {
        size_t k = strcspn(p, ",");
        if (k == len && strncmp(p, name, len) == 0)
            return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}
#else
/* nothing: FAULT() compiles to nothing without --enable-fault-injection */
typedef int fault_unused;
#endif
