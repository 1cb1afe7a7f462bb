/* replay_read: recorded bars, formats and time parsing; see replay_read.h. */
#include "config.h"
#include "replay_read.h"
#include "learn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define REPLAY_MAX_FILE_BYTES (512L * 1024 * 1024)

void replay_series_free(struct replay_series *s)
{
    if (!s)
        return;
    free(s->t);
    free(s->o);
    free(s->h);
    free(s->l);
    free(s->c);
    free(s->base);
    memset(s, 0, sizeof *s);
}

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

static time_t replay_utc(int y, int mo, int d, int hh, int mi, int ss)
{
    return (time_t)(replay_days(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss);
}

/* 01:00 UTC on the last Sunday of month mo of year y. */
static time_t replay_last_sunday(int y, int mo)
{
    int last = mo == 3 ? 31 : 31;   /* March and October both have 31 days */
    long long days = replay_days(y, mo, last);
    int wd = (int)(((days % 7) + 11) % 7);   /* 1970-01-01 was a Thursday (4): 0 = Sunday */
    return (time_t)((days - wd) * 86400 + 3600);
}

int replay_eu_summer(time_t t)
{
    long long days = (long long)t / 86400;
    if ((long long)t < 0 && (long long)t % 86400)
        days--;
    /* civil year of t */
    long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2));
    return t >= replay_last_sunday(y, 3) && t < replay_last_sunday(y, 10);
}

time_t replay_histdata_utc(int y, int mo, int d, int hh, int mi, int ss)
{
    time_t stored = replay_utc(y, mo, d, hh, mi, ss);
    time_t summer = stored + 4 * 3600;
    return replay_eu_summer(summer) ? summer : stored + 5 * 3600;
}

/* n digits at p as an int, or -1. */
static int replay_digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int replay_parse_iso(const char *s, time_t *out)
{
    int y = replay_digits(s, 4), mo, d, hh = 0, mi = 0, ss = 0;
    if (y < 0 || s[4] != '-' || (mo = replay_digits(s + 5, 2)) < 1 || mo > 12 || s[7] != '-' ||
        (d = replay_digits(s + 8, 2)) < 1 || d > 31)
        return -1;
    const char *p = s + 10;
    if (*p == 'T' || *p == ' ') {
        if ((hh = replay_digits(p + 1, 2)) < 0 || hh > 23 || p[3] != ':' || (mi = replay_digits(p + 4, 2)) < 0 || mi > 59)
            return -1;
        p += 6;
        if (*p == ':') {
            if ((ss = replay_digits(p + 1, 2)) < 0 || ss > 60)
                return -1;
            p += 3;
        }
    }
    if (*p == 'Z')
        p++;
    if (*p)
        return -1;
    *out = replay_utc(y, mo, d, hh, mi, ss);
    return 0;
}

/* Parse k numbers separated by sep starting at p; returns 0 or -1. */
static int replay_numbers(const char *p, char sep, double *v, int k)
{
    for (int i = 0; i < k; i++) {
        char *end;
        errno = 0;
        v[i] = strtod(p, &end);
        if (end == p || errno || !isfinite(v[i]))
            return -1;
        p = end;
        if (i < k - 1) {
            if (*p != sep)
                return -1;
            p++;
        }
    }
    return *p == sep || *p == '\0' || *p == '\r' || *p == '\n' ? 0 : -1;
}

/* The instrument name in a file name: binance_BTCUSDT_..., DAT_ASCII_EURUSD_M1_... */
static void replay_instrument(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *p = b;
    if (strncmp(b, "binance_", 8) == 0)
        p = b + 8;
    else if (strncmp(b, "DAT_ASCII_", 10) == 0)
        p = b + 10;
    size_t n = strcspn(p, "_.");
    if (n == 0 || n >= cap)
        n = n == 0 ? strcspn(b, ".") : cap - 1;
    snprintf(out, cap, "%.*s", (int)n, n ? p : b);
}

struct replay_row {
    time_t t;
    double v[4];
    size_t idx;
};

static int replay_row_cmp(const void *a, const void *b)
{
    const struct replay_row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int replay_parse_text(const char *name, const char *text, struct replay_series *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", name);
    replay_instrument(name, s->name, sizeof s->name);
    const char *p = text;
    while (*p == '\n' || *p == '\r')
        p++;
    if (strncmp(p, "timestamp,", 10) == 0) {
        s->format = REPLAY_BINANCE;
        s->market = LEARN_CRYPTO;
        p += strcspn(p, "\n");
    } else if (strlen(p) > 16 && p[8] == ' ' && p[15] == ';') {
        s->format = REPLAY_HISTDATA;
        s->market = LEARN_FOREX;
    } else {
        snprintf(err, errlen, "%s: neither a HistData (YYYYMMDD HHMMSS;o;h;l;c;v) nor a Binance (timestamp,open,...) file", name);
        return -1;
    }
    size_t cap = 1024, n = 0, lineno = s->format == REPLAY_BINANCE ? 1 : 0;
    struct replay_row *rows = malloc(cap * sizeof *rows);
    if (!rows) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int sorted = 1;
    while (*p) {
        if (*p == '\n') {
            p++;
            continue;
        }
        lineno++;
        const char *line = p;
        p += strcspn(p, "\n");
        if (*line == '\r')
            continue;
        struct replay_row r = { .idx = n };
        double v[5];
        int ok;
        if (s->format == REPLAY_HISTDATA) {
            int y = replay_digits(line, 4), mo = replay_digits(line + 4, 2), d = replay_digits(line + 6, 2);
            int hh = replay_digits(line + 9, 2), mi = replay_digits(line + 11, 2), ss = replay_digits(line + 13, 2);
            ok = p - line > 16 && y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && line[8] == ' ' &&
                 hh >= 0 && hh < 24 && mi >= 0 && mi < 60 && ss >= 0 && ss < 60 && line[15] == ';' &&
                 replay_numbers(line + 16, ';', v, 5) == 0;
            if (ok)
                r.t = replay_histdata_utc(y, mo, d, hh, mi, ss);
        } else {
            int y = replay_digits(line, 4), mo = replay_digits(line + 5, 2), d = replay_digits(line + 8, 2);
            int hh = replay_digits(line + 11, 2), mi = replay_digits(line + 14, 2), ss = replay_digits(line + 17, 2);
            ok = p - line > 20 && y >= 1970 && line[4] == '-' && mo >= 1 && mo <= 12 && line[7] == '-' && d >= 1 &&
                 d <= 31 && line[10] == ' ' && hh >= 0 && hh < 24 && line[13] == ':' && mi >= 0 && mi < 60 &&
                 line[16] == ':' && ss >= 0 && ss < 60 && line[19] == ',' && replay_numbers(line + 20, ',', v, 5) == 0;
            if (ok)
                r.t = replay_utc(y, mo, d, hh, mi, ss);
        }
        if (ok && !(v[0] > 0 && v[1] > 0 && v[2] > 0 && v[3] > 0 && v[2] <= v[1]))
            ok = 0;
        if (!ok) {
            snprintf(err, errlen, "%s: line %zu: not a valid bar", name, lineno);
            free(rows);
            return -1;
        }
        memcpy(r.v, v, sizeof r.v);
        if (n == cap) {
            struct replay_row *nr = realloc(rows, 2 * cap * sizeof *rows);
            if (!nr) {
                free(rows);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            rows = nr;
            cap *= 2;
        }
        if (n > 0 && r.t <= rows[n - 1].t)
            sorted = 0;
        rows[n++] = r;
    }
    if (n == 0) {
        free(rows);
        snprintf(err, errlen, "%s: no bars", name);
        return -1;
    }
    if (!sorted)
        qsort(rows, n, sizeof *rows, replay_row_cmp);
    s->t = malloc(n * sizeof *s->t);
    s->o = malloc(n * sizeof(double));
    s->h = malloc(n * sizeof(double));
    s->l = malloc(n * sizeof(double));
    s->c = malloc(n * sizeof(double));
    if (!s->t || !s->o || !s->h || !s->l || !s->c) {
        free(rows);
        replay_series_free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && rows[i].t == s->t[k - 1]) {
            if (rows[i].v[0] == s->o[k - 1] && rows[i].v[1] == s->h[k - 1] && rows[i].v[2] == s->l[k - 1] &&
                rows[i].v[3] == s->c[k - 1])
                s->duplicates++;
            else
                s->conflicts++;
            continue;
        }
        s->t[k] = rows[i].t;
        s->o[k] = rows[i].v[0];
        s->h[k] = rows[i].v[1];
        s->l[k] = rows[i].v[2];
        s->c[k] = rows[i].v[3];
        k++;
    }
    s->n = k;
    free(rows);
    return 0;
}

int replay_read(const char *path, struct replay_series *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOENT));
        return -1;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        gzclose(f);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= (size_t)REPLAY_MAX_FILE_BYTES) {
                free(buf);
                gzclose(f);
                snprintf(err, errlen, "%s: larger than %ld bytes", path, REPLAY_MAX_FILE_BYTES);
                return -1;
            }
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                gzclose(f);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n > (1u << 30) ? (1u << 30) : cap - n));
        if (got < 0) {
            int zerr;
            snprintf(err, errlen, "%s: %s", path, gzerror(f, &zerr));
            free(buf);
            gzclose(f);
            return -1;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    gzclose(f);
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) {
        free(buf);
        snprintf(err, errlen, "%s: binary data", path);
        return -1;
    }
    int rc = replay_parse_text(path, buf, s, err, errlen);
    free(buf);
    return rc;
}

/* Index of the first bar opening at or after t. */
size_t replay_first_at(const struct replay_series *s, time_t t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->t[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
