/* replay: recorded bars, simulated sensing and workflows, scorecard; see replay.h. */
#include "config.h"
#include "replay.h"
#include "catalog.h"
#include "follow.h"
#include "learn.h"
#include "log.h"
#include "sessions.h"
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define REPLAY_MAX_FILE_BYTES (512L * 1024 * 1024)
#define REPLAY_BASE_BARS 1440         /* trailing baseline: the last day of trading */
#define REPLAY_BASE_MIN 60            /* bars needed before the baseline counts */
#define REPLAY_CRYPTO_GAP 300         /* no bar for this long: the crypto source is unhealthy */
#define REPLAY_FOREX_GAP 900          /* forex: stale quotes; unhealthy while the market is open */
#define REPLAY_BATCH 100              /* decisions per transaction (with a savepoint each) */

/* ---- reading ---------------------------------------------------------------- */

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

int replay_prepare(struct replay_series *s, long window_s)
{
    free(s->base);
    s->base = malloc((s->n ? s->n : 1) * sizeof *s->base);
    double *rr = malloc((s->n ? s->n : 1) * sizeof *rr);
    if (!s->base || !rr) {
        free(rr);
        return -1;
    }
    size_t w = (size_t)(window_s / 60 > 0 ? window_s / 60 : 1);
    for (size_t j = 0; j < s->n; j++) {
        rr[j] = -1;
        if (j + 1 < w || s->t[j] - s->t[j + 1 - w] > 2 * window_s)
            continue;
        double hi = s->h[j], lo = s->l[j];
        for (size_t i = j + 1 - w; i < j; i++) {
            if (s->h[i] > hi) hi = s->h[i];
            if (s->l[i] < lo) lo = s->l[i];
        }
        rr[j] = (hi - lo) / s->c[j];
    }
    double sum = 0;
    long cnt = 0;
    for (size_t j = 0; j < s->n; j++) {
        if (rr[j] >= 0) {
            sum += rr[j];
            cnt++;
        }
        if (j >= REPLAY_BASE_BARS && rr[j - REPLAY_BASE_BARS] >= 0) {
            sum -= rr[j - REPLAY_BASE_BARS];
            cnt--;
        }
        s->base[j] = cnt >= REPLAY_BASE_MIN ? sum / (double)cnt : -1;
    }
    free(rr);
    return 0;
}

/* ---- simulation --------------------------------------------------------------- */

/* Index of the last bar completed by t (open + 60 <= t), or -1. */
static long replay_last_done(const struct replay_series *s, time_t t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->t[mid] + 60 <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

/* Index of the first bar opening at or after t. */
static size_t replay_first_at(const struct replay_series *s, time_t t)
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

static double replay_threshold(int intensity)
{
    return intensity == INTENSITY_AGGRESSIVE ? 1.25 : intensity == INTENSITY_LIGHT ? 2.0 : 1.5;
}

/* Opportunities a scan of market m started at t with this intensity finds
 * over its fresh part [a, t + W). */
static int replay_simulate(const struct replay *r, int m, time_t t, int intensity)
{
    time_t a = r->cover_end[m] > t ? r->cover_end[m] : t, b = t + r->window_s;
    if (b - a < 60)
        return 0;
    int found = 0;
    for (int k = 0; k < r->ns; k++) {
        const struct replay_series *s = &r->s[k];
        if (s->market != m)
            continue;
        long j = replay_last_done(s, t);
        if (j < 0 || s->base[j] <= 0)
            continue;
        size_t i0 = replay_first_at(s, a), i1 = replay_first_at(s, b);
        if (i0 >= i1)
            continue;
        double hi = s->h[i0], lo = s->l[i0];
        for (size_t i = i0 + 1; i < i1; i++) {
            if (s->h[i] > hi) hi = s->h[i];
            if (s->l[i] < lo) lo = s->l[i];
        }
        double range = (hi - lo) / s->c[j];
        double need = replay_threshold(intensity) * s->base[j] * sqrt((double)(b - a) / (double)r->window_s);
        if (range > need)
            found++;
    }
    return found;
}

static int replay_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 1024;
    void *np = realloc(*p, nc * size);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

/* Report the ends of the simulated executions due by `upto`, as n8n would:
 * a scan's opportunities as its posted result (store_trigger_outcome, what
 * POST /results records), then the worker's own handling of an ended
 * execution with its result (follow_handle: learning, breaker, settling).
 * Returns 0 or -1 (not recorded). */
static int replay_deliver(struct replay *r, time_t upto)
{
    while (r->headpend < r->npend && r->pend[r->headpend].due <= upto) {
        struct replay_pending *p = &r->pend[r->headpend++];
        if (p->scan != (size_t)-1)
            r->scans[p->scan].opportunities = p->opportunities;
        if (p->opportunities >= 0 && store_trigger_outcome(r->db, p->key, p->opportunities, p->due) < 0)
            return -1;
        struct store_unsettled u;
        memset(&u, 0, sizeof u);
        u.id = p->trigger_id;
        u.decision_id = p->decision_id;
        u.wf = p->wf;
        snprintf(u.status, sizeof u.status, "sent");
        snprintf(u.outcome, sizeof u.outcome, "succeeded");
        snprintf(u.result_status, sizeof u.result_status, "success");
        u.need_settle = 1;
        u.need_learn = p->opportunities >= 0;
        u.opportunities = p->opportunities;
        u.intensity = p->intensity;
        u.band = p->band;
        u.bucket = p->bucket;
        u.exposure = p->exposure;
        u.created = p->due - r->window_s;
        if (follow_handle(&r->follow, r->db, &u, p->due) < 0)
            return -1;
    }
    return 0;
}

static void replay_sense(struct cycle_ctx *ctx, time_t now, struct sense_snapshot *snap)
{
    struct replay *r = ctx->io->user;
    r->now = now;
    if (replay_deliver(r, now) < 0)
        r->failed = 1;
    memset(snap, 0, sizeof *snap);
    snap->now = now;
    if (sessions_at(now, &snap->sessions) < 0)
        log_event(LOG_ERROR, "sense.tz_missing", "s:error", "tz database zone missing: install tzdata");
    snap->session_label = sessions_label(&snap->sessions);
    snap->market.forex_move_bp = -1;
    snap->load1 = 0;
    snap->ncpu = 1;
    snap->load_per_core = 0;
    for (int f = 0; f < FEED_COUNT; f++)
        snprintf(snap->probes[f].error, sizeof snap->probes[f].error, "not configured");

    /* a market without recorded data is one whose source is not there:
     * crypto "not configured", forex quotes that never move (stale) */
    struct sense_probe *dex = &snap->probes[FEED_DEXSCREENER];
    struct sense_market *mk = &snap->market;
    if (r->have[LEARN_CRYPTO]) {
        dex->configured = 1;
        dex->error[0] = '\0';
        double s5 = 0, s60 = 0;
        int n5 = 0, n60 = 0, ok = 1;
        for (int k = 0; k < r->ns && ok; k++) {
            const struct replay_series *s = &r->s[k];
            if (s->market != LEARN_CRYPTO)
                continue;
            long j = replay_last_done(s, now);
            if (j < 0 || now - (s->t[j] + 60) > REPLAY_CRYPTO_GAP) {
                ok = 0;
                snprintf(dex->error, sizeof dex->error, "gap in the recorded %s bars", s->name);
                break;
            }
            long j5 = replay_last_done(s, now - 300), j60 = replay_last_done(s, now - 3600);
            if (j5 >= 0) { s5 += fabs(s->c[j] / s->c[j5] - 1) * 100; n5++; }
            if (j60 >= 0) { s60 += fabs(s->c[j] / s->c[j60] - 1) * 100; n60++; }
            mk->pairs++;
        }
        if (ok) {
            dex->ok = 1;
            dex->http_status = 200;
            mk->crypto_valid = 1;
            mk->crypto_volatility = n5 ? s5 / n5 : 0;
            mk->crypto_h1 = n60 ? s60 / n60 : 0;
        } else {
            mk->pairs = 0;
        }
    }

    struct sense_probe *tm = &snap->probes[FEED_TRADERMADE];
    tm->configured = 1;
    tm->error[0] = '\0';
    if (!r->have[LEARN_FOREX]) {
        tm->ok = 1;
        tm->http_status = 200;
        mk->forex_stale = 1;
    } else {
        time_t newest = 0;
        double move = 0;
        int nmove = 0;
        for (int k = 0; k < r->ns && mk->nquotes < SENSE_MAX_QUOTES; k++) {
            const struct replay_series *s = &r->s[k];
            if (s->market != LEARN_FOREX)
                continue;
            long j = replay_last_done(s, now);
            if (j < 0)
                continue;
            if (s->t[j] + 60 > newest)
                newest = s->t[j] + 60;
            struct sense_quote *q = &mk->quotes[mk->nquotes++];
            snprintf(q->pair, sizeof q->pair, "%.6s", s->name);
            q->mid = s->c[j];
            for (int i = 0; i < ctx->mem.nquotes; i++) {
                if (strcmp(ctx->mem.quotes[i].pair, q->pair) == 0 && ctx->mem.quotes[i].mid > 0) {
                    move += fabs(q->mid - ctx->mem.quotes[i].mid) / ctx->mem.quotes[i].mid * 10000.0;
                    nmove++;
                }
            }
        }
        int fresh = newest > 0 && now - newest <= REPLAY_FOREX_GAP;
        if (!fresh && snap->sessions.market_open) {
            snprintf(tm->error, sizeof tm->error, "gap in the recorded forex bars");
            mk->nquotes = 0;
        } else if (mk->nquotes > 0) {
            tm->ok = 1;
            tm->http_status = 200;
            mk->forex_valid = 1;
            mk->forex_stale = !fresh;
            mk->forex_move_bp = nmove ? move / nmove : -1;
            ctx->mem.nquotes = mk->nquotes;
            memcpy(ctx->mem.quotes, mk->quotes, sizeof ctx->mem.quotes);
        } else {
            /* closed and nothing recorded yet: the provider's quotes are stale */
            tm->ok = 1;
            tm->http_status = 200;
            mk->forex_stale = 1;
        }
    }
    mk->volatility = mk->crypto_valid ? mk->crypto_volatility : 0;
    if (mk->forex_valid && mk->forex_move_bp >= 0 && mk->forex_move_bp / 100.0 > mk->volatility)
        mk->volatility = mk->forex_move_bp / 100.0;
}

/* Record one run in r->scans (market m); returns its index, or (size_t)-1
 * when out of memory. */
static size_t replay_note_run(struct replay *r, time_t at, int m, int wf, int intensity)
{
    if (replay_grow((void **)&r->scans, &r->capscans, r->nscans, sizeof *r->scans) < 0) {
        log_event(LOG_ERROR, "replay.out_of_memory", NULL);
        r->failed = 1;
        return (size_t)-1;
    }
    r->scans[r->nscans] = (struct replay_scan){ at, m, intensity, -1, wf, catalog_workflow(wf)->market == MARKET_BOTH };
    return r->nscans++;
}

/* The cycle's act seam, deliver_decision's transport in the replay: the
 * simulated n8n accepts every trigger at once; an execution lasts one scan
 * window and its end (with a scan's opportunities) is reported when the
 * window has passed (replay_deliver).  Only the triggers that the breaker
 * and the concurrency policy let through arrive here. */
static void replay_act(struct cycle_ctx *ctx, const struct decide_choice *ch, struct act_job *jobs, int n)
{
    struct replay *r = ctx->io->user;
    time_t now = r->now;
    int seen[LEARN_MARKET_COUNT] = { 0 };
    for (int i = 0; i < n; i++) {
        struct act_job *j = &jobs[i];
        j->status = ACT_SENT;
        j->transport_err = 0;
        j->http_status = 200;
        j->retry_after_ms = -1;
        j->latency_ms = 0;
        j->error[0] = '\0';
        snprintf(j->response, sizeof j->response, "{\"replay\":\"simulated\"}");
        int wf = catalog_workflow_parse(j->workflow);
        const struct catalog_wf *w = catalog_workflow(wf);
        if (!w)
            continue;
        if (replay_grow((void **)&r->pend, &r->cappend, r->npend, sizeof *r->pend) < 0) {
            log_event(LOG_ERROR, "replay.out_of_memory", NULL);
            r->failed = 1;
            continue;
        }
        struct replay_pending *p = &r->pend[r->npend++];
        memset(p, 0, sizeof *p);
        p->due = now + r->window_s;
        p->wf = wf;
        p->market = -1;
        p->band = -1;
        p->bucket = -1;
        p->intensity = ch->intensity;
        p->opportunities = -1;
        p->scan = (size_t)-1;
        p->trigger_id = j->trigger_id;
        p->decision_id = j->decision_id;
        snprintf(p->key, sizeof p->key, "%s", j->key);
        if (w->market == MARKET_SYSTEM) {
            r->health_checks++;           /* not a scan: no market, not a run */
            continue;
        }
        if (w->market == MARKET_BOTH) {
            /* a cross-market analysis (deep-market-analysis): a run of every
             * market present (it costs), but no scan window of its own (no coverage) */
            r->deep_analyses++;
            for (int m = 0; m < LEARN_MARKET_COUNT; m++)
                if (r->have[m])
                    replay_note_run(r, now, m, wf, ch->intensity);
            continue;
        }
        int m = w->market == MARKET_CRYPTO ? LEARN_CRYPTO : w->market == MARKET_FOREX ? LEARN_FOREX : -1;
        if (m < 0)
            continue;
        /* a second workflow of the same market in one decision watches
         * nothing new: a run, with no fresh exposure and nothing found */
        int again = seen[m]++;
        p->market = m;
        p->band = ctx->learn ? ctx->learn->m[m].band : LEARN_USUAL;
        p->bucket = ctx->learn ? ctx->learn->m[m].bucket : -1;
        p->exposure = again ? 0 : ctx->learn ? ctx->learn->m[m].exposure : 1;
        p->opportunities = again ? 0 : replay_simulate(r, m, now, ch->intensity);
        if (!again)
            r->cover_end[m] = now + r->window_s;
        p->scan = replay_note_run(r, now, m, wf, ch->intensity);
    }
}

int replay_run(struct replay *r, struct cycle_ctx *ctx, char *err, size_t errlen)
{
    struct cycle_io io = { replay_sense, replay_act, r };
    char derr[256];
    if (deliver_init(&r->deliver, ctx->cfg, NULL, ctx->learn, derr, sizeof derr) < 0) {
        snprintf(err, errlen, "%s", derr);
        return -1;
    }
    deliver_set_local(&r->deliver, (unsigned long long)ctx->cfg->learn_seed);
    follow_init(&r->follow, ctx->cfg, &r->deliver, ctx->learn, NULL);
    struct deliver *saved = ctx->deliver;
    ctx->io = &io;
    ctx->deliver = &r->deliver;
    r->db = ctx->db;
    for (int k = 0; k < r->ns; k++)
        r->have[r->s[k].market] = 1;
    int rc = 0;
    time_t t = r->from;
    long batched = 0;
    while (t < r->to) {
        struct cycle_result res;
        if (r->db && batched == 0 && store_batch_begin(r->db) < 0) {
            snprintf(err, errlen, "could not open a transaction (see the log)");
            rc = -1;
            break;
        }
        if (r->db && ++batched == REPLAY_BATCH) {
            batched = 0;
        }
        if (cycle_run(ctx, t, 0, &res) < 0 || r->failed) {
            snprintf(err, errlen, "the decision at %lld could not be recorded or followed (see the log)", (long long)t);
            rc = -1;
            break;
        }
        r->decisions++;
        r->llm_calls += res.llm_calls;
        r->llm_tokens += res.llm_tokens;
        if (replay_grow((void **)&r->marks, &r->capmarks, r->nmarks, sizeof *r->marks) == 0)
            r->marks[r->nmarks++] = (struct replay_mark){ t, res.mode, res.ntriggers };
        t = res.next_at > t ? res.next_at : t + 60;
        if (r->db && batched == 0 && store_batch_commit(r->db) < 0) {
            snprintf(err, errlen, "could not commit (see the log)");
            rc = -1;
            break;
        }
    }
    if (rc == 0 && replay_deliver(r, r->to) < 0) {
        snprintf(err, errlen, "the last outcomes could not be recorded (see the log)");
        rc = -1;
    }
    if (r->db && store_batch_commit(r->db) < 0 && rc == 0) {
        snprintf(err, errlen, "could not commit (see the log)");
        rc = -1;
    }
    ctx->io = NULL;
    ctx->deliver = saved;
    return rc;
}

void replay_free(struct replay *r)
{
    deliver_free(&r->deliver);
    free(r->scans);
    free(r->marks);
    free(r->pend);
    r->scans = NULL;
    r->marks = NULL;
    r->pend = NULL;
    r->nscans = r->nmarks = r->npend = 0;
}

/* ---- scorecard ------------------------------------------------------------------ */

static time_t replay_floor(time_t t, long p)
{
    long long q = (long long)t / p;
    if ((long long)t < 0 && (long long)t % p)
        q--;
    return (time_t)(q * p);
}

long replay_window_vols(const struct replay_series *s, time_t from, time_t to, double *vols, long nwin)
{
    time_t w0 = replay_floor(from, REPLAY_SCORE_WINDOW);
    for (long k = 0; k < nwin; k++)
        vols[k] = -1;
    long with = 0;
    for (size_t i = replay_first_at(s, from); i < s->n && s->t[i] < to; i++) {
        long k = (long)((s->t[i] - w0) / REPLAY_SCORE_WINDOW);
        if (k < 0 || k >= nwin)
            continue;
        double ret = i > 0 && s->t[i] - s->t[i - 1] == 60 ? log(s->c[i] / s->c[i - 1]) : log(s->c[i] / s->o[i]);
        if (vols[k] < 0) {
            vols[k] = 0;
            with++;
        }
        vols[k] += fabs(ret);
    }
    return with;
}

static const double *replay_sort_vols;

static int replay_vol_cmp(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    double vx = replay_sort_vols[x], vy = replay_sort_vols[y];
    if (vx != vy)
        return vx > vy ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Market-open flags per hour from `from` (forex: the sessions' weekend
 * closure; crypto never closes).  Caller frees. */
static unsigned char *replay_open_hours(int market, time_t from, long nhours)
{
    unsigned char *o = malloc((size_t)(nhours > 0 ? nhours : 1));
    if (!o)
        return NULL;
    time_t h0 = replay_floor(from, 3600);
    for (long h = 0; h < nhours; h++) {
        struct session_state st;
        o[h] = market == LEARN_CRYPTO || (sessions_at(h0 + h * 3600, &st) == 0 && st.market_open);
    }
    return o;
}

/* Ticks of a cron every period seconds (at multiples of it since the
 * epoch) within [r->from, r->to); op (market-open flags per hour from h0)
 * NULL: every tick, else only those while the market is open. */
static long replay_cron_runs(const struct replay *r, long period, const unsigned char *op, time_t h0)
{
    long n = 0;
    for (time_t t = replay_floor(r->from + period - 1, period); t < r->to; t += period)
        if (!op || op[(t - h0) / 3600])
            n++;
    return n;
}

/* Score that cron into *p: its runs, and the top windows (indices idx[0 ..
 * top) of windows from w0) in which one of its ticks falls. */
static void replay_cron(const struct replay *r, long period, const unsigned char *op, time_t h0, time_t w0,
                        const long *idx, long top, struct replay_policy_score *p)
{
    p->period_s = period;
    p->runs = replay_cron_runs(r, period, op, h0);
    for (long q = 0; q < top; q++) {
        time_t ws = w0 + idx[q] * REPLAY_SCORE_WINDOW;
        for (time_t t = replay_floor(ws + period - 1, period); t < ws + REPLAY_SCORE_WINDOW; t += period) {
            if (t >= r->from && t < r->to && (!op || op[(t - h0) / 3600])) {
                p->covered++;
                break;
            }
        }
    }
}

int replay_score(const struct replay *r, struct replay_score *sc)
{
    memset(sc, 0, sizeof *sc);
    time_t w0 = replay_floor(r->from, REPLAY_SCORE_WINDOW);
    long nwin = (long)((r->to - w0 + REPLAY_SCORE_WINDOW - 1) / REPLAY_SCORE_WINDOW);
    time_t h0 = replay_floor(r->from, 3600);
    long nhours = (long)((r->to - h0 + 3599) / 3600) + 1;
    double *vols = malloc((size_t)(nwin > 0 ? nwin : 1) * sizeof *vols);
    long *idx = malloc((size_t)(nwin > 0 ? nwin : 1) * sizeof *idx);
    unsigned char *open[LEARN_MARKET_COUNT] = { NULL, NULL };
    int rc = -1;
    if (!vols || !idx)
        goto out;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        if (r->have[m] && !(open[m] = replay_open_hours(m, r->from, nhours)))
            goto out;
    static const int crons[] = { 1, 5, 15, 60 };
    for (int k = 0; k < r->ns && sc->ni < REPLAY_MAX_SERIES; k++) {
        const struct replay_series *s = &r->s[k];
        struct replay_instrument_score *is = &sc->in[sc->ni++];
        snprintf(is->name, sizeof is->name, "%s", s->name);
        is->market = s->market;
        is->windows = replay_window_vols(s, r->from, r->to, vols, nwin);
        long nw = 0;
        for (long w = 0; w < nwin; w++)
            if (vols[w] >= 0)
                idx[nw++] = w;
        replay_sort_vols = vols;
        qsort(idx, (size_t)nw, sizeof *idx, replay_vol_cmp);
        is->top = nw / 10 > 0 ? nw / 10 : nw;
        const unsigned char *op = open[s->market];

        /* the orchestrator: scans of this market */
        struct replay_policy_score *p = &is->pol[is->npol++];
        snprintf(p->name, sizeof p->name, "orchestrator");
        p->llm_calls = r->llm_calls;
        p->llm_tokens = r->llm_tokens;
        for (size_t i = 0; i < r->nscans; i++)
            if (r->scans[i].market == s->market)
                p->runs++;
        for (long q = 0; q < is->top; q++) {
            time_t ws = w0 + idx[q] * REPLAY_SCORE_WINDOW;
            size_t lo = 0, hi = r->nscans;
            while (lo < hi) {          /* scans are in time order */
                size_t mid = (lo + hi) / 2;
                if (r->scans[mid].at < ws)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (size_t i = lo; i < r->nscans && r->scans[i].at < ws + REPLAY_SCORE_WINDOW; i++) {
                if (r->scans[i].market == s->market && !r->scans[i].cross) {
                    p->covered++;
                    break;
                }
            }
        }
        long orch_runs = p->runs;
        /* crons, then crons that skip closed market hours */
        for (int hours_only = 0; hours_only < 2; hours_only++) {
            for (size_t c = 0; c < sizeof crons / sizeof crons[0]; c++) {
                long period = crons[c] * 60L;
                p = &is->pol[is->npol++];
                snprintf(p->name, sizeof p->name, "%scron-%d", hours_only ? "market-hours-" : "", crons[c]);
                replay_cron(r, period, hours_only ? op : NULL, h0, w0, idx, is->top, p);
            }
        }
        /* the equal-runs cron: market hours, the period nearest to the
         * orchestrator's number of runs */
        p = &is->pol[is->npol++];
        snprintf(p->name, sizeof p->name, "equal-runs-cron");
        if (orch_runs > 0) {
            long lo = 60, hi = (long)(r->to - r->from) + 1;
            while (lo < hi) {              /* the shortest period with at most orch_runs ticks */
                long mid = lo + (hi - lo) / 2;
                if (replay_cron_runs(r, mid, op, h0) <= orch_runs)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            long period = lo;
            if (period > 60 && labs(replay_cron_runs(r, period - 1, op, h0) - orch_runs) <
                               labs(replay_cron_runs(r, period, op, h0) - orch_runs))
                period--;
            replay_cron(r, period, op, h0, w0, idx, is->top, p);
        }
        for (int i = 0; i < is->npol; i++) {
            p = &is->pol[i];
            p->coverage = is->top ? (double)p->covered / (double)is->top : 0;
            p->runs_per_covered = p->covered ? (double)p->runs / (double)p->covered : 0;
        }
    }
    rc = 0;
out:
    free(vols);
    free(idx);
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        free(open[m]);
    return rc;
}

static const struct replay_policy_score *replay_pol(const struct replay_instrument_score *is, const char *name)
{
    for (int i = 0; i < is->npol; i++)
        if (strcmp(is->pol[i].name, name) == 0)
            return &is->pol[i];
    return NULL;
}

/* Market totals: coverage over all its instruments' top windows, runs of
 * the market (the same for each of its instruments). */
struct replay_market_total {
    long top, covered, runs;
    long cron5_covered, cron5_runs;           /* 24/7 cron-5 */
    long mh5_covered, mh5_runs;               /* market-hours cron-5: the target's basis */
    long eq_covered, eq_runs, eq_period;      /* the equal-runs cron */
    int n;
    /* derived */
    double cov, cron5_cov, mh5_cov, eq_cov;
    double vs_cron5_cov, vs_cron5_runs, vs_mh5_cov, vs_mh5_runs;
    int met, met_cron5;
};

static void replay_totals(const struct replay_score *sc, struct replay_market_total t[LEARN_MARKET_COUNT])
{
    memset(t, 0, LEARN_MARKET_COUNT * sizeof *t);
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        const struct replay_policy_score *o = replay_pol(is, "orchestrator"), *c5 = replay_pol(is, "cron-5");
        const struct replay_policy_score *h5 = replay_pol(is, "market-hours-cron-5"), *eq = replay_pol(is, "equal-runs-cron");
        struct replay_market_total *m = &t[is->market];
        m->top += is->top;
        m->covered += o->covered;
        m->cron5_covered += c5->covered;
        m->mh5_covered += h5->covered;
        m->eq_covered += eq->covered;
        m->runs = o->runs;
        m->cron5_runs = c5->runs;
        m->mh5_runs = h5->runs;
        m->eq_runs = eq->runs;
        m->eq_period = eq->period_s;
        m->n++;
    }
    for (int i = 0; i < LEARN_MARKET_COUNT; i++) {
        struct replay_market_total *m = &t[i];
        double top = m->top > 0 ? (double)m->top : 1;
        m->cov = (double)m->covered / top;
        m->cron5_cov = (double)m->cron5_covered / top;
        m->mh5_cov = (double)m->mh5_covered / top;
        m->eq_cov = (double)m->eq_covered / top;
        m->vs_cron5_cov = m->cron5_cov > 0 ? m->cov / m->cron5_cov : 0;
        m->vs_cron5_runs = m->cron5_runs ? (double)m->runs / (double)m->cron5_runs : 0;
        m->vs_mh5_cov = m->mh5_cov > 0 ? m->cov / m->mh5_cov : 0;
        m->vs_mh5_runs = m->mh5_runs ? (double)m->runs / (double)m->mh5_runs : 0;
        m->met = m->top > 0 && m->vs_mh5_cov >= 0.9 && m->vs_mh5_runs <= 0.35;
        m->met_cron5 = m->top > 0 && m->vs_cron5_cov >= 0.9 && m->vs_cron5_runs <= 0.35;
    }
}

static json_object *replay_round(double d, double unit)
{
    return json_object_new_double(round(d / unit) * unit);
}

json_object *replay_score_json(const struct replay *r, const struct replay_score *sc)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "window_minutes", json_object_new_int(REPLAY_SCORE_WINDOW / 60));
    json_object_object_add(root, "top_share", json_object_new_double(0.1));
    json_object *ins = json_object_new_array();
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "instrument", json_object_new_string(is->name));
        json_object_object_add(o, "market", json_object_new_string(learn_market_name(is->market)));
        json_object_object_add(o, "windows", json_object_new_int64(is->windows));
        json_object_object_add(o, "top_windows", json_object_new_int64(is->top));
        json_object *ps = json_object_new_array();
        for (int i = 0; i < is->npol; i++) {
            const struct replay_policy_score *p = &is->pol[i];
            json_object *j = json_object_new_object();
            json_object_object_add(j, "policy", json_object_new_string(p->name));
            json_object_object_add(j, "period_s", json_object_new_int64(p->period_s));
            json_object_object_add(j, "runs", json_object_new_int64(p->runs));
            json_object_object_add(j, "covered", json_object_new_int64(p->covered));
            json_object_object_add(j, "coverage", replay_round(p->coverage, 1e-4));
            json_object_object_add(j, "runs_per_covered", replay_round(p->runs_per_covered, 1e-3));
            json_object_object_add(j, "llm_calls", json_object_new_int64(p->llm_calls));
            json_object_object_add(j, "llm_tokens", json_object_new_int64(p->llm_tokens));
            json_object_array_add(ps, j);
        }
        json_object_object_add(o, "policies", ps);
        json_object_array_add(ins, o);
    }
    json_object_object_add(root, "instruments", ins);
    struct replay_market_total t[LEARN_MARKET_COUNT];
    replay_totals(sc, t);
    json_object *ms = json_object_new_object();
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        if (!t[m].n)
            continue;
        json_object *o = json_object_new_object();
        const struct replay_market_total *x = &t[m];
        json_object_object_add(o, "coverage", replay_round(x->cov, 1e-4));
        json_object_object_add(o, "runs", json_object_new_int64(x->runs));
        json_object_object_add(o, "cron5_coverage", replay_round(x->cron5_cov, 1e-4));
        json_object_object_add(o, "cron5_runs", json_object_new_int64(x->cron5_runs));
        json_object_object_add(o, "coverage_vs_cron5", replay_round(x->vs_cron5_cov, 1e-4));
        json_object_object_add(o, "runs_vs_cron5", replay_round(x->vs_cron5_runs, 1e-4));
        json_object_object_add(o, "market_hours_cron5_coverage", replay_round(x->mh5_cov, 1e-4));
        json_object_object_add(o, "market_hours_cron5_runs", json_object_new_int64(x->mh5_runs));
        json_object_object_add(o, "coverage_vs_market_hours_cron5", replay_round(x->vs_mh5_cov, 1e-4));
        json_object_object_add(o, "runs_vs_market_hours_cron5", replay_round(x->vs_mh5_runs, 1e-4));
        json_object_object_add(o, "target_basis", json_object_new_string("market-hours-cron-5"));
        json_object_object_add(o, "target_met", json_object_new_boolean(x->met));
        json_object_object_add(o, "target_met_vs_cron5", json_object_new_boolean(x->met_cron5));
        json_object_object_add(o, "equal_runs_cron_period_s", json_object_new_int64(x->eq_period));
        json_object_object_add(o, "equal_runs_cron_runs", json_object_new_int64(x->eq_runs));
        json_object_object_add(o, "equal_runs_cron_coverage", replay_round(x->eq_cov, 1e-4));
        json_object_object_add(o, "coverage_minus_equal_runs_cron", replay_round(x->cov - x->eq_cov, 1e-4));
        json_object_object_add(ms, learn_market_name(m), o);
    }
    json_object_object_add(root, "markets", ms);
    json_object_object_add(root, "deep_analyses", json_object_new_int64(r->deep_analyses));
    json_object_object_add(root, "decisions", json_object_new_int64(r->decisions));
    json_object_object_add(root, "llm_calls", json_object_new_int64(r->llm_calls));
    json_object_object_add(root, "llm_tokens", json_object_new_int64(r->llm_tokens));
    json_object_object_add(root, "health_checks", json_object_new_int64(r->health_checks));
    return root;
}

void replay_score_print(FILE *out, const struct replay *r, const struct replay_score *sc)
{
    fprintf(out, "%-10s %-6s %7s %5s  %-22s %8s %7s %7s %8s %12s %9s %8s\n", "instrument", "market", "windows", "top",
            "policy", "period", "runs", "covered", "coverage", "runs/covered", "llm_calls", "tokens");
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        for (int i = 0; i < is->npol; i++) {
            const struct replay_policy_score *p = &is->pol[i];
            if (i == 0)
                fprintf(out, "%-10s %-6s %7ld %5ld  ", is->name, learn_market_name(is->market), is->windows, is->top);
            else
                fprintf(out, "%-10s %-6s %7s %5s  ", "", "", "", "");
            char period[16] = "-";
            if (p->period_s > 0)
                snprintf(period, sizeof period, "%.1fm", (double)p->period_s / 60.0);
            fprintf(out, "%-22s %8s %7ld %7ld %7.1f%% %12.2f %9lld %8lld\n", p->name, period, p->runs, p->covered,
                    100 * p->coverage, p->runs_per_covered, p->llm_calls, p->llm_tokens);
        }
    }
    struct replay_market_total t[LEARN_MARKET_COUNT];
    replay_totals(sc, t);
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        const struct replay_market_total *x = &t[m];
        if (!x->n)
            continue;
        const char *mk = learn_market_name(m);
        fprintf(out, "%s: orchestrator covers %.1f%% of the top windows (market-hours cron-5: %.1f%%) = %.1f%% of "
                     "market-hours cron-5's coverage (target >= 90%%) with %ld runs = %.1f%% of market-hours cron-5's "
                     "%ld (target <= 35%%): %s\n",
                mk, 100 * x->cov, 100 * x->mh5_cov, 100 * x->vs_mh5_cov, x->runs, 100 * x->vs_mh5_runs, x->mh5_runs,
                x->met ? "target met" : "target NOT met");
        fprintf(out, "%s: against 24/7 cron-5 (%.1f%% with %ld runs): %.1f%% of its coverage with %.1f%% of its runs (%s)\n",
                mk, 100 * x->cron5_cov, x->cron5_runs, 100 * x->vs_cron5_cov, 100 * x->vs_cron5_runs,
                x->met_cron5 ? "the target would be met" : "the target would not be met");
        if (x->eq_period > 0)
            fprintf(out, "%s: equal-runs cron (market hours, every %.1f min, %ld runs) covers %.1f%%: orchestrator %+.1f points\n",
                    mk, (double)x->eq_period / 60.0, x->eq_runs, 100 * x->eq_cov, 100 * (x->cov - x->eq_cov));
    }
    fprintf(out, "decisions %lld; runs count every scan-type workflow (cross-market, e.g. deep-market-analysis: %lld, "
                 "counted in each market); health checks %lld (not runs); llm calls %lld, llm tokens %lld\n", r->decisions,
            r->deep_analyses, r->health_checks, r->llm_calls, r->llm_tokens);
}

int replay_score_csv(FILE *out, const struct replay_score *sc)
{
    if (fprintf(out, "instrument,market,windows,top_windows,policy,period_s,runs,covered,coverage,runs_per_covered,llm_calls,llm_tokens\n") < 0)
        return -1;
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        for (int i = 0; i < is->npol; i++) {
            const struct replay_policy_score *p = &is->pol[i];
            if (fprintf(out, "%s,%s,%ld,%ld,%s,%ld,%ld,%ld,%.4f,%.3f,%lld,%lld\n", is->name, learn_market_name(is->market),
                        is->windows, is->top, p->name, p->period_s, p->runs, p->covered, p->coverage, p->runs_per_covered,
                        p->llm_calls, p->llm_tokens) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- picture ------------------------------------------------------------------------ */

struct replay_buf {
    char *s;
    size_t n, cap;
    int failed;
};

static void replay_printf(struct replay_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void replay_printf(struct replay_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = b->cap * 2 + (size_t)k;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
}

/* s with &, <, >, " escaped into out (cap bytes). */
static void replay_xml(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
        if (e) {
            size_t l = strlen(e);
            memcpy(out + n, e, l);
            n += l;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
}

#define SVG_W 1200
#define SVG_LEFT 70
#define SVG_RIGHT 20
#define SVG_PANEL 205
#define SVG_TOP 50

/* The share of each of the plotw columns of [r->from, r->to) during which a
 * scan of market m was watching (its window [at, at + W), overlaps counted
 * once) into share[plotw]. */
static void replay_watch_shares(const struct replay *r, int m, int plotw, double *share)
{
    double colw = (double)(r->to - r->from) / plotw;
    for (int x = 0; x < plotw; x++)
        share[x] = 0;
    if (!(colw > 0))
        return;
    time_t until = r->from;
    for (size_t i = 0; i < r->nscans; i++) {
        const struct replay_scan *s = &r->scans[i];
        if (s->market != m || s->cross)
            continue;
        time_t a = s->at > until ? s->at : until, e = s->at + r->window_s;
        if (e > r->to)
            e = r->to;
        if (e <= a)
            continue;
        until = e;
        for (int x = (int)((double)(a - r->from) / colw); x < plotw; x++) {
            double c0 = (double)r->from + x * colw, c1 = c0 + colw;
            double lo = (double)a > c0 ? (double)a : c0, hi = (double)e < c1 ? (double)e : c1;
            if (hi > lo)
                share[x] += (hi - lo) / colw;
            if (c1 >= (double)e)
                break;
        }
    }
}

/* Mode colours of the decisions strip (enum catalog_mode order). */
static const char *replay_mode_colour(int mode)
{
    switch (mode) {
    case MODE_CRYPTO: return "#7b3fe4";
    case MODE_FOREX:  return "#1b9e77";
    case MODE_HYBRID: return "#e7298a";
    default:          return "#bbb";
    }
}

char *replay_svg(const struct replay *r, const struct replay_score *sc)
{
    struct replay_buf b = { malloc(1 << 16), 0, 1 << 16, 0 };
    if (!b.s)
        return NULL;
    b.s[0] = '\0';
    int plotw = SVG_W - SVG_LEFT - SVG_RIGHT;
    int height = SVG_TOP + r->ns * SVG_PANEL + 30;
    double span = (double)(r->to - r->from);
    if (span <= 0)
        span = 1;
    char from[32], to[32];
    sense_iso8601(r->from, from);
    sense_iso8601(r->to, to);
    replay_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                      "font-family=\"sans-serif\" font-size=\"11\">\n", SVG_W, height, SVG_W, height);
    replay_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    replay_printf(&b, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Replay %s .. %s: %lld decisions, "
                      "%zu runs</text>\n", SVG_LEFT, from, to, r->decisions, r->nscans);
    replay_printf(&b, "<text x=\"%d\" y=\"36\" fill=\"#555\">price (line), 15-minute volatility (grey bars), top-decile "
                      "windows (orange); below: share of the time a scan was watching (blue, full = always), decisions "
                      "by mode (<tspan fill=\"%s\">crypto</tspan>, <tspan fill=\"%s\">forex</tspan>, "
                      "<tspan fill=\"%s\">hybrid</tspan>, <tspan fill=\"%s\">standby</tspan>)</text>\n", SVG_LEFT,
                  replay_mode_colour(MODE_CRYPTO), replay_mode_colour(MODE_FOREX), replay_mode_colour(MODE_HYBRID),
                  replay_mode_colour(MODE_STANDBY));
    time_t w0 = replay_floor(r->from, REPLAY_SCORE_WINDOW);
    long nwin = (long)((r->to - w0 + REPLAY_SCORE_WINDOW - 1) / REPLAY_SCORE_WINDOW);
    double *vols = malloc((size_t)(nwin > 0 ? nwin : 1) * sizeof *vols);
    double *colv = calloc((size_t)plotw, sizeof *colv);
    double *colp = malloc((size_t)plotw * sizeof *colp);
    double *colw = malloc((size_t)plotw * sizeof *colw);
    unsigned char *coltop = calloc((size_t)plotw, 1), *colmode = malloc((size_t)plotw);
    long *modes = calloc((size_t)plotw * MODE_COUNT, sizeof *modes);
    long *idx = malloc((size_t)(nwin > 0 ? nwin : 1) * sizeof *idx);
    if (!vols || !colv || !colp || !colw || !coltop || !colmode || !modes || !idx)
        b.failed = 1;
    /* decisions: the mode most decisions of a column had (ties: the more capable) */
    for (size_t i = 0; !b.failed && i < r->nmarks; i++) {
        int x = (int)((double)(r->marks[i].at - r->from) / span * plotw);
        int md = r->marks[i].mode;
        if (x >= 0 && x < plotw && md >= 0 && md < MODE_COUNT)
            modes[(size_t)x * MODE_COUNT + (size_t)md]++;
    }
    for (int x = 0; !b.failed && x < plotw; x++) {
        colmode[x] = 0xff;
        long best = 0;
        for (int md = 0; md < MODE_COUNT; md++) {
            long n = modes[(size_t)x * MODE_COUNT + (size_t)md];
            if (n > best || (n == best && n > 0 && md == MODE_HYBRID)) {
                best = n;
                colmode[x] = (unsigned char)md;
            }
        }
    }
    for (int k = 0; !b.failed && k < r->ns; k++) {
        const struct replay_series *s = &r->s[k];
        int y0 = SVG_TOP + k * SVG_PANEL;
        int ph = SVG_PANEL - 75, vh = 40;
        memset(colv, 0, (size_t)plotw * sizeof *colv);
        memset(coltop, 0, (size_t)plotw);
        for (int x = 0; x < plotw; x++)
            colp[x] = -1;
        /* price: the last close per column */
        double pmin = 1e300, pmax = -1e300;
        for (size_t i = replay_first_at(s, r->from); i < s->n && s->t[i] < r->to; i++) {
            int x = (int)((double)(s->t[i] - r->from) / span * plotw);
            if (x < 0 || x >= plotw)
                continue;
            colp[x] = s->c[i];
            if (s->c[i] < pmin) pmin = s->c[i];
            if (s->c[i] > pmax) pmax = s->c[i];
        }
        if (pmax <= pmin)
            pmax = pmin + 1;
        /* volatility and top windows per column */
        replay_window_vols(s, r->from, r->to, vols, nwin);
        long nw = 0;
        double vmax = 0;
        for (long w = 0; w < nwin; w++) {
            if (vols[w] < 0)
                continue;
            idx[nw++] = w;
            int x = (int)((double)(w0 + w * REPLAY_SCORE_WINDOW - r->from) / span * plotw);
            if (x < 0) x = 0;
            if (x >= plotw) x = plotw - 1;
            if (vols[w] > colv[x]) colv[x] = vols[w];
            if (vols[w] > vmax) vmax = vols[w];
        }
        long top = k < sc->ni ? sc->in[k].top : 0;
        replay_sort_vols = vols;
        qsort(idx, (size_t)nw, sizeof *idx, replay_vol_cmp);
        for (long q = 0; q < top && q < nw; q++) {
            time_t ws = w0 + idx[q] * REPLAY_SCORE_WINDOW;
            int x1 = (int)((double)(ws - r->from) / span * plotw);
            int x2 = (int)((double)(ws + REPLAY_SCORE_WINDOW - r->from) / span * plotw);
            for (int x = x1 < 0 ? 0 : x1; x <= x2 && x < plotw; x++)
                coltop[x] = 1;
        }
        replay_watch_shares(r, s->market, plotw, colw);
        char name[64];
        replay_xml(s->name, name, sizeof name);
        const struct replay_policy_score *o = k < sc->ni ? replay_pol(&sc->in[k], "orchestrator") : NULL;
        const struct replay_policy_score *h5 = k < sc->ni ? replay_pol(&sc->in[k], "market-hours-cron-5") : NULL;
        const struct replay_policy_score *eq = k < sc->ni ? replay_pol(&sc->in[k], "equal-runs-cron") : NULL;
        replay_printf(&b, "<g transform=\"translate(%d,%d)\">\n", SVG_LEFT, y0);
        replay_printf(&b, "<text x=\"0\" y=\"-4\" font-weight=\"bold\">%s (%s)</text>", name, learn_market_name(s->market));
        if (o && h5 && eq)
            replay_printf(&b, "<text x=\"%d\" y=\"-4\" text-anchor=\"end\" fill=\"#333\">top windows %ld; orchestrator: "
                              "%.1f%% covered, %ld runs; market-hours cron-5: %.1f%%, %ld runs; equal-runs cron "
                              "(every %.1f min): %.1f%%</text>",
                          plotw, top, 100 * o->coverage, o->runs, 100 * h5->coverage, h5->runs,
                          (double)eq->period_s / 60.0, 100 * eq->coverage);
        replay_printf(&b, "\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#ccc\"/>\n", plotw, ph + vh);
        /* shaded top windows, merged into runs of columns */
        for (int x = 0; x < plotw; x++) {
            if (!coltop[x])
                continue;
            int x2 = x;
            while (x2 + 1 < plotw && coltop[x2 + 1])
                x2++;
            replay_printf(&b, "<rect x=\"%d\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f90\" fill-opacity=\"0.35\"/>", x,
                          x2 - x + 1, ph + vh);
            x = x2;
        }
        /* volatility: a step area, one column per step */
        replay_printf(&b, "\n<path d=\"M0 %d", ph + vh);
        for (int x = 0; x < plotw; x++)
            replay_printf(&b, "V%dh1", ph + vh - (vmax > 0 ? (int)(colv[x] / vmax * vh + 0.5) : 0));
        replay_printf(&b, "V%dZ\" fill=\"#999\"/>\n<polyline fill=\"none\" stroke=\"#222\" stroke-width=\"1\" points=\"",
                      ph + vh);
        for (int x = 0; x < plotw; x++)
            if (colp[x] > 0)
                replay_printf(&b, "%d,%d ", x, (int)((double)ph - (colp[x] - pmin) / (pmax - pmin) * (ph - 8) - 4 + 0.5));
        replay_printf(&b, "\"/>\n");
        /* watching: a step area, 10 px when a scan watched the whole column */
        int base = ph + vh + 14, prev = base;
        replay_printf(&b, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"10\" fill=\"#eef3fb\"/><path d=\"M0 %d", base - 10,
                      plotw, base);
        for (int x = 0; x < plotw; x++) {
            double sh = colw[x] > 1 ? 1 : colw[x];
            int y = base - (int)(sh * 10 + 0.5);
            if (y != prev) {
                replay_printf(&b, "H%dV%d", x, y);
                prev = y;
            }
        }
        replay_printf(&b, "H%dV%dZ\" fill=\"#36c\"/>\n", plotw, base);
        /* decisions by mode: runs of columns of one colour */
        for (int md = 0; md < MODE_COUNT; md++) {
            int any = 0;
            for (int x = 0; x < plotw; x++) {
                if (colmode[x] != md)
                    continue;
                int x2 = x;
                while (x2 + 1 < plotw && colmode[x2 + 1] == md)
                    x2++;
                replay_printf(&b, "%sM%d %dh%d", any ? "" : "<path d=\"", x, ph + vh + 19, x2 - x + 1);
                any = 1;
                x = x2;
            }
            if (any)
                replay_printf(&b, "\" stroke=\"%s\" stroke-width=\"5\"/>\n", replay_mode_colour(md));
        }
        replay_printf(&b, "<text x=\"-6\" y=\"10\" text-anchor=\"end\">%.6g</text><text x=\"-6\" y=\"%d\" text-anchor=\"end\">%.6g</text>\n",
                      pmax, ph, pmin);
        replay_printf(&b, "<text x=\"-6\" y=\"%d\" text-anchor=\"end\" fill=\"#36c\">watched</text>\n", ph + vh + 13);
        replay_printf(&b, "<text x=\"-6\" y=\"%d\" text-anchor=\"end\" fill=\"#555\">mode</text>\n", ph + vh + 23);
        replay_printf(&b, "</g>\n");
    }
    replay_printf(&b, "<text x=\"%d\" y=\"%d\" fill=\"#555\">%s</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
                  SVG_LEFT, height - 8, from, SVG_W - SVG_RIGHT, height - 8, to);
    replay_printf(&b, "</svg>\n");
    free(vols);
    free(colv);
    free(colp);
    free(colw);
    free(coltop);
    free(colmode);
    free(modes);
    free(idx);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
