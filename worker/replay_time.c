/* replay_time: the times of recorded bars; see replay_time.h. */
#include "config.h"
#include "replay_time.h"
#include "sessions.h"

#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long long replay_days(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

time_t replay_civil_utc(int y, int mo, int d, int hh, int mi, int ss)
{
    return (time_t)(replay_days(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss);
}

int replay_day_ok(int y, int mo, int d)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (mo < 1 || mo > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[mo - 1] + (mo == 2 && leap);
}

time_t replay_histdata_utc(int y, int mo, int d, int hh, int mi, int ss)
{
    time_t local = replay_civil_utc(y, mo, d, hh, mi, ss) + REPLAY_HISTDATA_SHIFT, t;
    if (sessions_utc_of_local(REPLAY_HISTDATA_TZ, &local, &t, 1) < 0)
        return (time_t)-1;
    return t;
}

int replay_digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* A UTC offset at p: "Z", or '+'/'-' and HH, HHMM or HH:MM, into *off
 * (seconds east of UTC).  Returns the characters used, or -1. */
static int replay_offset(const char *p, long *off)
{
    if (*p == 'Z') {
        *off = 0;
        return 1;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int hh = replay_digits(p + 1, 2), mm = 0, used = 3;
    if (hh < 0 || hh > 23)
        return -1;
    if (p[3] == ':' || (p[3] >= '0' && p[3] <= '9')) {
        int colon = p[3] == ':';
        if ((mm = replay_digits(p + 3 + colon, 2)) < 0 || mm > 59)
            return -1;
        used += 2 + colon;
    }
    *off = (*p == '-' ? -1 : 1) * (long)(hh * 3600 + mm * 60);
    return used;
}

int replay_parse_iso(const char *s, time_t *out)
{
    int y = replay_digits(s, 4), mo, d, hh = 0, mi = 0, ss = 0;
    if (y < 1 || s[4] != '-' || (mo = replay_digits(s + 5, 2)) < 1 || s[7] != '-' ||
        (d = replay_digits(s + 8, 2)) < 1 || !replay_day_ok(y, mo, d))
        return -1;
    const char *p = s + 10;
    long off = 0;
    if (*p == 'T' || *p == ' ') {
        if ((hh = replay_digits(p + 1, 2)) < 0 || hh > 23 || p[3] != ':' || (mi = replay_digits(p + 4, 2)) < 0 || mi > 59)
            return -1;
        p += 6;
        if (*p == ':') {
            if ((ss = replay_digits(p + 1, 2)) < 0 || ss > 60)
                return -1;
            p += 3;
            if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
                /* a fraction of a second: only zeros (a bar opens on a whole second) */
                for (p++; *p >= '0' && *p <= '9'; p++)
                    if (*p != '0')
                        return -1;
            }
        }
        if (*p) {
            int k = replay_offset(p, &off);
            if (k < 0)
                return -1;
            p += k;
        }
    } else if (*p == 'Z') {
        p++;
    }
    if (*p)
        return -1;
    *out = replay_civil_utc(y, mo, d, hh, mi, ss) - off;
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

