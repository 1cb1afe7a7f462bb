/* timeutil: UTC calendar, ISO-8601 and the monotonic clock; see timeutil.h. */
#include "config.h"
#include "timeutil.h"

#include <time.h>

int tu_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tu_day_ok(long long y, int m, int d)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12 || d < 1)
        return 0;
    return d <= mdays[m - 1] + (m == 2 && tu_leap(y));
}

long long tu_days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;                                   /* [0, 399] */
    long long doy = (153LL * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void tu_civil_from_days(long long days, long long *y, int *m, int *d)
{
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;                                       /* [0, 146096] */
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* [0, 399] */
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    long long mp = (5 * doy + 2) / 153;                                     /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

long long tu_utc(long long y, int m, int d, int hh, int mi, int ss)
{
    return tu_days_from_civil(y, m, d) * 86400LL + hh * 3600LL + mi * 60LL + ss;
}

int tu_digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* A UTC offset at p: "Z", or '+'/'-' and HH:MM or HHMM (with TU_ISO_SHORT
 * also HH), into *off (seconds east of UTC).  Returns the characters
 * used, or -1. */
static int tu_offset(const char *p, int flags, long *off)
{
    if (*p == 'Z' || *p == 'z') {
        *off = 0;
        return 1;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int hh = tu_digits(p + 1, 2), mm = 0, used = 3;
    if (hh < 0 || hh > 23)
        return -1;
    int colon = p[3] == ':';
    if (colon || (p[3] >= '0' && p[3] <= '9')) {
        if ((mm = tu_digits(p + 3 + colon, 2)) < 0 || mm > 59)
            return -1;
        used += 2 + colon;
    } else if (!(flags & TU_ISO_SHORT)) {
        return -1;
    }
    *off = (*p == '-' ? -1 : 1) * (long)(hh * 3600 + mm * 60);
    return used;
}

int tu_parse_iso8601(const char *s, int flags, long long *ms)
{
    if (!s)
        return -1;
    int y = tu_digits(s, 4), mo, d, hh = 0, mi = 0, ss = 0;
    if (y < 0 || s[4] != '-' || (mo = tu_digits(s + 5, 2)) < 0 || s[7] != '-' ||
        (d = tu_digits(s + 8, 2)) < 0 || !tu_day_ok(y, mo, d))
        return -1;
    const char *p = s + 10;
    long off = 0, frac = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if ((hh = tu_digits(p + 1, 2)) < 0 || hh > 23 || p[3] != ':' ||
            (mi = tu_digits(p + 4, 2)) < 0 || mi > 59)
            return -1;
        p += 6;
        if (*p == ':') {
            if ((ss = tu_digits(p + 1, 2)) < 0 || ss > 60)
                return -1;
            p += 3;
            if (*p == '.') {
                int nd = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
                    if ((flags & TU_ISO_WHOLE) && *p != '0')
                        return -1;
                    if (nd < 3)
                        frac = frac * 10 + (*p - '0');
                }
                if (nd == 0)
                    return -1;
                for (; nd < 3; nd++)
                    frac *= 10;
            }
        } else if (!(flags & TU_ISO_SHORT)) {
            return -1;
        }
        if (*p) {
            int k = tu_offset(p, flags, &off);
            if (k < 0)
                return -1;
            p += k;
        }
    } else if (!(flags & TU_ISO_DATE)) {
        return -1;
    } else if (*p == 'Z' || *p == 'z') {
        p++;
    }
    if (*p)
        return -1;
    *ms = (tu_utc(y, mo, d, hh, mi, ss) - off) * 1000LL + frac;
    return 0;
}

/* n digits of v (>= 0) at p; returns the end. */
static char *tu_put(char *p, long long v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* "YYYY-MM-DDTHH:MM:SS" of t at out, within years 0 .. 9999; returns the end. */
static char *tu_put_civil(char *out, long long t)
{
    static const long long lo = -62167219200LL;     /* 0000-01-01T00:00:00Z */
    static const long long hi = 253402300799LL;     /* 9999-12-31T23:59:59Z */
    if (t < lo)
        t = lo;
    if (t > hi)
        t = hi;
    long long days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), y;
    long long sec = t - days * 86400;
    int m, d;
    tu_civil_from_days(days, &y, &m, &d);
    char *p = tu_put(out, y, 4);
    *p++ = '-';
    p = tu_put(p, m, 2);
    *p++ = '-';
    p = tu_put(p, d, 2);
    *p++ = 'T';
    p = tu_put(p, sec / 3600, 2);
    *p++ = ':';
    p = tu_put(p, sec / 60 % 60, 2);
    *p++ = ':';
    return tu_put(p, sec % 60, 2);
}

char *tu_iso8601(long long t, char out[TU_ISO_LEN])
{
    char *p = tu_put_civil(out, t);
    *p++ = 'Z';
    *p = '\0';
    return out;
}

char *tu_iso8601_ms(long long ms, char out[TU_ISO_LEN])
{
    long long t = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    char *p = tu_put_civil(out, t);
    *p++ = '.';
    p = tu_put(p, ms - t * 1000, 3);
    *p++ = 'Z';
    *p = '\0';
    return out;
}

double tu_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
