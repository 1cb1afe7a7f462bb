/* replay_time: the times of recorded bars; see replay_time.h. */
#include "config.h"
#include "replay_time.h"
#include "sessions.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>

time_t replay_histdata_utc(int y, int mo, int d, int hh, int mi, int ss)
{
    time_t local = (time_t)tu_utc(y, mo, d, hh, mi, ss) + REPLAY_HISTDATA_SHIFT, t;
    if (sessions_utc_of_local(REPLAY_HISTDATA_TZ, &local, &t, 1) < 0)
        return (time_t)-1;
    return t;
}

int replay_parse_iso(const char *s, time_t *out)
{
    long long ms;
    if (tu_parse_iso8601(s, TU_ISO_DATE | TU_ISO_SHORT | TU_ISO_WHOLE, &ms) < 0)
        return -1;
    *out = (time_t)(ms / 1000);
    return 0;
}

int replay_parse_time(const char *f, size_t n, time_t *out)
{
    size_t digits = 0;
    while (digits < n && f[digits] >= '0' && f[digits] <= '9')
        digits++;
    long long t;
    if (digits == n && n > 0) {
        if (n > 17)
            return -1;
        long long v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (f[i] - '0');
        long long unit = v < 100000000000LL ? 1 : v < 100000000000000LL ? 1000 : 1000000;
        if (v % unit)
            return -1;                 /* a fraction of a second */
        t = v / unit;
    } else {
        char buf[48];
        time_t tt;
        if (n >= sizeof buf)
            return -1;
        memcpy(buf, f, n);
        buf[n] = '\0';
        if (replay_parse_iso(buf, &tt) < 0)
            return -1;
        t = (long long)tt;
    }
    if (t < 0 || t >= REPLAY_TIME_MAX)
        return -1;
    *out = (time_t)t;
    return 0;
}

