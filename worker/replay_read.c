/* replay_read: recorded bars, formats and time parsing; see replay_read.h. */
#include "config.h"
#include "replay_read.h"
#include "learn.h"
#include "replay_time.h"
#include "sessions.h"
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define REPLAY_MAX_FILE_BYTES (512L * 1024 * 1024)
#define REPLAY_MAX_FIELDS 32          /* columns of a CSV line, at most */
#define REPLAY_MAX_LINE 4096          /* bytes of one line, at most */

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

const char *replay_format_name(int format)
{
    switch (format) {
    case REPLAY_HISTDATA: return "histdata";
    case REPLAY_CSV:      return "csv";
    case REPLAY_KLINES:   return "klines";
    default:              return "unknown";
    }
}

/* ---- names -------------------------------------------------------------------- */

/* Nonzero when name (n bytes) can name an instrument: 1 to 23 of
 * A-Z a-z 0-9 / - _ . (it goes into CSV, JSON, SVG and SQL text). */
static int replay_name_ok(const char *name, size_t n)
{
    if (n == 0 || n >= sizeof ((struct replay_series *)0)->name)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("/-_.", name[i]))
            return 0;
    return 1;
}

/* The instrument name in a file name: binance_BTCUSDT_..., DAT_ASCII_EURUSD_M1_...,
 * BTCUSDT-1m-2025-01.csv: the first run of letters and digits after the
 * known prefixes. */
static void replay_instrument(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *p = b;
    if (strncmp(b, "binance_", 8) == 0)
        p = b + 8;
    else if (strncmp(b, "DAT_ASCII_", 10) == 0)
        p = b + 10;
    size_t n = 0;
    while (isalnum((unsigned char)p[n]))
        n++;
    if (n == 0 || n >= cap)
        n = n == 0 ? strcspn(b, ".") : cap - 1;
    snprintf(out, cap, "%.*s", (int)n, n ? p : b);
}

/* A forex pair: two currencies of this list (after dropping / - _ .). */
static int replay_is_fiat_pair(const char *name)
{
    static const char *const fiat[] = {
        "USD", "EUR", "GBP", "JPY", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "PLN", "HUF", "CZK",
        "TRY", "ZAR", "MXN", "SGD", "HKD", "CNH", "XAU", "XAG",
    };
    char s[8];
    size_t n = 0;
    for (const char *p = name; *p; p++) {
        if (strchr("/-_.", *p))
            continue;
        if (n == 6)
            return 0;
        s[n++] = (char)toupper((unsigned char)*p);
    }
    if (n != 6)
        return 0;
    int a = 0, b = 0;
    for (size_t i = 0; i < sizeof fiat / sizeof fiat[0]; i++) {
        a |= strncmp(s, fiat[i], 3) == 0;
        b |= strncmp(s + 3, fiat[i], 3) == 0;
    }
    return a && b;
}

/* ---- lines and fields ------------------------------------------------------------- */

struct replay_field {
    const char *p;
    size_t n;
};

/* Split [line, end) at sep into at most max fields, each trimmed of
 * spaces and of one pair of surrounding double quotes.  Returns the
 * number of fields, or -1 when there are more than max. */
static int replay_split(const char *line, const char *end, char sep, struct replay_field *f, int max)
{
    int k = 0;
    const char *p = line;
    for (;;) {
        const char *e = memchr(p, sep, (size_t)(end - p));
        if (!e)
            e = end;
        if (k == max)
            return -1;
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b - a >= 2 && *a == '"' && b[-1] == '"') {
            a++;
            b--;
        }
        f[k].p = a;
        f[k].n = (size_t)(b - a);
        k++;
        if (e == end)
            return k;
        p = e + 1;
    }
}

static int replay_field_is(const struct replay_field *f, const char *name)
{
    return strlen(name) == f->n && strncasecmp(f->p, name, f->n) == 0;
}

/* The number in field f: finite, the whole field.  Returns 0 or -1. */
static int replay_field_num(const struct replay_field *f, double *v)
{
    char buf[64];
    if (f->n == 0 || f->n >= sizeof buf)
        return -1;
    memcpy(buf, f->p, f->n);
    buf[f->n] = '\0';
    char *end;
    errno = 0;
    *v = strtod(buf, &end);
    return *end || errno || !isfinite(*v) ? -1 : 0;
}

/* ---- the reader ------------------------------------------------------------------- */

struct replay_row {
    time_t t;
    double v[4];                      /* open, high, low, close */
    size_t idx;
};

enum { REPLAY_COL_T, REPLAY_COL_O, REPLAY_COL_H, REPLAY_COL_L, REPLAY_COL_C, REPLAY_COL_SYM, REPLAY_NCOLS };

struct replay_reader {
    const char *name;                 /* the file, as given: in every message */
    char *err;
    size_t errlen;
    int format;
    int col[REPLAY_NCOLS];            /* column of each, -1 absent */
    char colname[REPLAY_NCOLS][24];   /* as the header spells it (messages) */
    int nfields;                      /* fields every line must have */
    char sym[24];                     /* the instrument column's value ("" until the first) */
    size_t symline;
    struct replay_row *rows;
    size_t n, cap;
};

/* Set the reader's error to "name:line: what" (line 0: "name: what").  Returns -1. */
static int replay_fail(struct replay_reader *rd, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int replay_fail(struct replay_reader *rd, size_t line, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(rd->err, rd->errlen, "%s:%zu: %s", rd->name, line, what);
    else
        snprintf(rd->err, rd->errlen, "%s: %s", rd->name, what);
    return -1;
}

/* The header of a CSV (fields f[0 .. n)): which column is which.  Returns
 * 0, or -1 (err set) when a column is missing or named twice. */
static int replay_header(struct replay_reader *rd, const struct replay_field *f, int n)
{
    static const char *const names[REPLAY_NCOLS][4] = {
        [REPLAY_COL_T] = { "timestamp", "open_time", NULL },
        [REPLAY_COL_O] = { "open", NULL },
        [REPLAY_COL_H] = { "high", NULL },
        [REPLAY_COL_L] = { "low", NULL },
        [REPLAY_COL_C] = { "close", NULL },
        [REPLAY_COL_SYM] = { "symbol", "instrument", "pair", NULL },
    };
    for (int c = 0; c < REPLAY_NCOLS; c++)
        rd->col[c] = -1;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < REPLAY_NCOLS; c++) {
            for (int k = 0; names[c][k]; k++) {
                if (!replay_field_is(&f[i], names[c][k]))
                    continue;
                if (rd->col[c] >= 0)
                    return replay_fail(rd, 1, "%.*s: a second %s column (column %d)", (int)f[i].n, f[i].p,
                                       c == REPLAY_COL_T ? "time" : c == REPLAY_COL_SYM ? "instrument" : names[c][0],
                                       i + 1);
                rd->col[c] = i;
                snprintf(rd->colname[c], sizeof rd->colname[c], "%s", names[c][k]);
            }
        }
    }
    for (int c = 0; c < REPLAY_COL_SYM; c++)
        if (rd->col[c] < 0)
            return replay_fail(rd, 1, "no %s column", c == REPLAY_COL_T ? "timestamp or open_time" : names[c][0]);
    rd->nfields = n;
    return 0;
}

/* What the first line says the file is: HistData, a CSV with a header, or
 * headerless Binance kline / ccxt OHLCV rows.  Returns 1 when that line is
 * a header (consumed), 0 when it is data, -1 (err set) when unknown. */
static int replay_detect(struct replay_reader *rd, const char *line, const char *end)
{
    if (end - line > 16 && line[8] == ' ' && line[15] == ';' && tu_digits(line, 8) >= 0) {
        rd->format = REPLAY_HISTDATA;
        return 0;
    }
    struct replay_field f[REPLAY_MAX_FIELDS];
    int n = replay_split(line, end, ',', f, REPLAY_MAX_FIELDS);
    for (int i = 0; i < n; i++) {
        if (replay_field_is(&f[i], "timestamp") || replay_field_is(&f[i], "open_time")) {
            rd->format = REPLAY_CSV;
            return replay_header(rd, f, n) < 0 ? -1 : 1;
        }
    }
    time_t t;
    size_t d = 0;
    while (n > 0 && d < f[0].n && f[0].p[d] >= '0' && f[0].p[d] <= '9')
        d++;
    if ((n == 12 || n == 6) && d == f[0].n && replay_parse_time(f[0].p, f[0].n, &t) == 0) {
        rd->format = REPLAY_KLINES;
        for (int c = 0; c < REPLAY_COL_SYM; c++) {
            rd->col[c] = c;
            snprintf(rd->colname[c], sizeof rd->colname[c], "%s",
                     (const char *const[]){ "open_time", "open", "high", "low", "close" }[c]);
        }
        rd->col[REPLAY_COL_SYM] = -1;
        rd->nfields = n;
        return 0;
    }
    return replay_fail(rd, 1, "neither HistData (YYYYMMDD HHMMSS;open;high;low;close;volume), a CSV with a timestamp "
                              "or open_time header, nor Binance kline rows (12 columns, open_time in ms first)");
}

/* A HistData line into *row (its time still Berlin local time as if UTC).
 * Returns 0 or -1 (err set). */
static int replay_line_histdata(struct replay_reader *rd, const char *line, const char *end, size_t no,
                                struct replay_row *row)
{
    struct replay_field f[REPLAY_MAX_FIELDS];
    int n = end - line > 16 && line[8] == ' ' && line[15] == ';' ? replay_split(line + 16, end, ';', f, 6) : -1;
    if (n != 5)
        return replay_fail(rd, no, "not a HistData bar (YYYYMMDD HHMMSS;open;high;low;close;volume)");
    int y = tu_digits(line, 4), mo = tu_digits(line + 4, 2), d = tu_digits(line + 6, 2);
    int hh = tu_digits(line + 9, 2), mi = tu_digits(line + 11, 2), ss = tu_digits(line + 13, 2);
    if (y < 1970 || y > 2099 || !tu_day_ok(y, mo, d) || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss != 0)
        return replay_fail(rd, no, "time: not a time on a whole minute (YYYYMMDD HHMMSS)");
    static const char *const what[5] = { "open", "high", "low", "close", "volume" };
    double vol;
    for (int k = 0; k < 5; k++)
        if (replay_field_num(&f[k], k < 4 ? &row->v[k] : &vol) < 0)
            return replay_fail(rd, no, "%s: not a number", what[k]);
    row->t = (time_t)tu_utc(y, mo, d, hh, mi, 0) + REPLAY_HISTDATA_SHIFT;
    return 0;
}

/* A CSV or kline line into *row.  Returns 0 or -1 (err set). */
static int replay_line_csv(struct replay_reader *rd, const char *line, const char *end, size_t no,
                           struct replay_row *row)
{
    struct replay_field f[REPLAY_MAX_FIELDS];
    int n = replay_split(line, end, ',', f, REPLAY_MAX_FIELDS);
    const char *basis = rd->format == REPLAY_CSV ? "header" : "first line";
    if (n < 0)
        return replay_fail(rd, no, "more than %d fields where the %s has %d", REPLAY_MAX_FIELDS, basis, rd->nfields);
    if (n != rd->nfields)
        return replay_fail(rd, no, "%d fields where the %s has %d", n, basis, rd->nfields);
    const struct replay_field *tf = &f[rd->col[REPLAY_COL_T]];
    if (replay_parse_time(tf->p, tf->n, &row->t) < 0)
        return replay_fail(rd, no, "%s: not a time", rd->colname[REPLAY_COL_T]);
    if (row->t % 60)
        return replay_fail(rd, no, "%s: not on a whole minute", rd->colname[REPLAY_COL_T]);
    for (int k = 0; k < 4; k++)
        if (replay_field_num(&f[rd->col[REPLAY_COL_O + k]], &row->v[k]) < 0)
            return replay_fail(rd, no, "%s: not a number", rd->colname[REPLAY_COL_O + k]);
    if (rd->col[REPLAY_COL_SYM] >= 0) {
        const struct replay_field *sf = &f[rd->col[REPLAY_COL_SYM]];
        const char *cn = rd->colname[REPLAY_COL_SYM];
        if (!replay_name_ok(sf->p, sf->n))
            return replay_fail(rd, no, "%s: not an instrument name (1 to 23 of A-Z a-z 0-9 / - _ .)", cn);
        if (!rd->sym[0]) {
            snprintf(rd->sym, sizeof rd->sym, "%.*s", (int)sf->n, sf->p);
            rd->symline = no;
        } else if (strlen(rd->sym) != sf->n || memcmp(rd->sym, sf->p, sf->n) != 0) {
            return replay_fail(rd, no, "%s: %.*s, but line %zu has %s: one instrument per file", cn, (int)sf->n, sf->p,
                               rd->symline, rd->sym);
        }
    }
    return 0;
}

/* A bar's prices: positive, low <= open, close <= high.  Returns 0 or -1 (err set). */
static int replay_bar_check(struct replay_reader *rd, size_t no, const double *v)
{
    static const char *const what[4] = { "open", "high", "low", "close" };
    for (int k = 0; k < 4; k++)
        if (!(v[k] > 0))
            return replay_fail(rd, no, "%s: not a positive price", what[k]);
    if (v[1] < v[2])
        return replay_fail(rd, no, "high: below low");
    if (v[0] < v[2] || v[0] > v[1])
        return replay_fail(rd, no, "open: outside low .. high");
    if (v[3] < v[2] || v[3] > v[1])
        return replay_fail(rd, no, "close: outside low .. high");
    return 0;
}

static int replay_row_cmp(const void *a, const void *b)
{
    const struct replay_row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Every line of text after the first (at p) into rd->rows.  Returns 0 or
 * -1 (err set). */
static int replay_lines(struct replay_reader *rd, const char *p, size_t no)
{
    while (*p) {
        const char *line = p, *end = p + strcspn(p, "\n");
        p = *end ? end + 1 : end;
        no++;
        if (end > line && end[-1] == '\r')
            end--;
        if (end == line)
            continue;                  /* blank */
        if (end - line > REPLAY_MAX_LINE)
            return replay_fail(rd, no, "longer than %d bytes", REPLAY_MAX_LINE);
        if (rd->n == rd->cap) {
            size_t nc = rd->cap ? 2 * rd->cap : 1024;
            struct replay_row *nr = realloc(rd->rows, nc * sizeof *nr);
            if (!nr)
                return replay_fail(rd, 0, "out of memory");
            rd->rows = nr;
            rd->cap = nc;
        }
        struct replay_row *row = &rd->rows[rd->n];
        row->idx = rd->n;
        int rc = rd->format == REPLAY_HISTDATA ? replay_line_histdata(rd, line, end, no, row)
                                               : replay_line_csv(rd, line, end, no, row);
        if (rc < 0 || replay_bar_check(rd, no, row->v) < 0)
            return -1;
        rd->n++;
    }
    return 0;
}

/* The rows, in time order, into s: exact duplicates dropped, a later row
 * at the same time with other values dropped as a conflict.  Returns 0 or
 * -1 (err set). */
static int replay_series_fill(struct replay_reader *rd, struct replay_series *s)
{
    size_t n = rd->n;
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = rd->rows[i].t > rd->rows[i - 1].t;
    if (!sorted)
        qsort(rd->rows, n, sizeof *rd->rows, replay_row_cmp);
    s->t = malloc(n * sizeof *s->t);
    s->o = malloc(n * sizeof(double));
    s->h = malloc(n * sizeof(double));
    s->l = malloc(n * sizeof(double));
    s->c = malloc(n * sizeof(double));
    if (!s->t || !s->o || !s->h || !s->l || !s->c)
        return replay_fail(rd, 0, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct replay_row *r = &rd->rows[i];
        if (k > 0 && r->t == s->t[k - 1]) {
            if (r->v[0] == s->o[k - 1] && r->v[1] == s->h[k - 1] && r->v[2] == s->l[k - 1] && r->v[3] == s->c[k - 1])
                s->duplicates++;
            else
                s->conflicts++;
            continue;
        }
        s->t[k] = r->t;
        s->o[k] = r->v[0];
        s->h[k] = r->v[1];
        s->l[k] = r->v[2];
        s->c[k] = r->v[3];
        k++;
    }
    s->n = k;
    return 0;
}

/* The times of HistData rows (Berlin local time, written as if UTC) to
 * UTC.  Returns 0 or -1 (err set). */
static int replay_histdata_times(struct replay_reader *rd)
{
    time_t *t = malloc(rd->n * sizeof *t);
    if (!t)
        return replay_fail(rd, 0, "out of memory");
    for (size_t i = 0; i < rd->n; i++)
        t[i] = rd->rows[i].t;
    int rc = sessions_utc_of_local(REPLAY_HISTDATA_TZ, t, t, rd->n);
    for (size_t i = 0; rc == 0 && i < rd->n; i++)
        rd->rows[i].t = t[i];
    free(t);
    return rc < 0 ? replay_fail(rd, 0, "tz database zone %s missing: install tzdata", REPLAY_HISTDATA_TZ) : 0;
}

/* The series' name and market from the options, the file and its rows. */
static int replay_identify(struct replay_reader *rd, const struct replay_read_opts *opt, struct replay_series *s)
{
    if (opt && opt->instrument) {
        if (!replay_name_ok(opt->instrument, strlen(opt->instrument)))
            return replay_fail(rd, 0, "--instrument %s: not an instrument name (1 to 23 of A-Z a-z 0-9 / - _ .)",
                               opt->instrument);
        snprintf(s->name, sizeof s->name, "%s", opt->instrument);
    } else if (rd->sym[0]) {
        snprintf(s->name, sizeof s->name, "%s", rd->sym);
    } else {
        replay_instrument(rd->name, s->name, sizeof s->name);
    }
    if (opt && opt->market >= 0)
        s->market = opt->market;
    else
        s->market = rd->format == REPLAY_HISTDATA || replay_is_fiat_pair(s->name) ? LEARN_FOREX : LEARN_CRYPTO;
    s->format = rd->format;
    return 0;
}

int replay_parse_text_opt(const char *name, const char *text, const struct replay_read_opts *opt,
                          struct replay_series *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", name);
    struct replay_reader rd = { .name = name, .err = err, .errlen = errlen };
    const char *p = text;
    size_t no = 0;
    if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
        p += 3;                        /* a UTF-8 byte order mark */
    while (*p == '\n' || *p == '\r') {
        no += *p == '\n';
        p++;
    }
    const char *end = p + strcspn(p, "\n");
    const char *eol = end > p && end[-1] == '\r' ? end - 1 : end;
    int rc = *p ? replay_detect(&rd, p, eol) : replay_fail(&rd, 0, "no bars");
    if (rc < 0)
        return -1;
    if (rc == 1)                       /* a header: the bars start below it */
        p = *end ? end + 1 : end, no++;
    if (replay_lines(&rd, p, no) < 0 || (rd.n == 0 && replay_fail(&rd, 0, "no bars") < 0)) {
        free(rd.rows);
        return -1;
    }
    /* HistData's stored time is Berlin local time - 6 h: the tz database
     * turns all of a file's times into UTC at once */
    if (rd.format == REPLAY_HISTDATA && replay_histdata_times(&rd) < 0) {
        free(rd.rows);
        return -1;
    }
    rc = replay_identify(&rd, opt, s) < 0 || replay_series_fill(&rd, s) < 0 ? -1 : 0;
    free(rd.rows);
    if (rc < 0)
        replay_series_free(s);
    return rc;
}

int replay_parse_text(const char *name, const char *text, struct replay_series *s, char *err, size_t errlen)
{
    return replay_parse_text_opt(name, text, NULL, s, err, errlen);
}

/* The whole of file path (gzip or plain), NUL-terminated, into *out
 * (caller frees).  Returns 0 or -1 (err set). */
static int replay_slurp(const char *path, char **out, char *err, size_t errlen)
{
    *out = NULL;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOENT));
        return -1;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    int rc = -1;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= (size_t)REPLAY_MAX_FILE_BYTES) {
                snprintf(err, errlen, "%s: larger than %ld bytes", path, REPLAY_MAX_FILE_BYTES);
                goto out;
            }
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            buf = nb;
            cap *= 2;
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n > (1u << 30) ? (1u << 30) : cap - n));
        if (got < 0) {
            int zerr;
            snprintf(err, errlen, "%s: %s", path, gzerror(f, &zerr));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) {
        snprintf(err, errlen, "%s: binary data", path);
        goto out;
    }
    *out = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    gzclose(f);
    return rc;
}

int replay_read_opt(const char *path, const struct replay_read_opts *opt, struct replay_series *s, char *err,
                    size_t errlen)
{
    memset(s, 0, sizeof *s);
    char *text;
    if (replay_slurp(path, &text, err, errlen) < 0)
        return -1;
    int rc = replay_parse_text_opt(path, text, opt, s, err, errlen);
    free(text);
    return rc;
}

int replay_read(const char *path, struct replay_series *s, char *err, size_t errlen)
{
    return replay_read_opt(path, NULL, s, err, errlen);
}

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
