/* replay_read: recorded 1-minute bars for the replay (worker/replay.h).
 *
 * replay_read() loads one recorded file of 1-minute bars (gzip or plain):
 *
 *  - HistData ASCII: no header, "YYYYMMDD HHMMSS;open;high;low;close;volume",
 *    stored time = Europe/Berlin local time - 6 h (converted with the tz
 *    database: UTC = stored + 4 h in EU summer time, + 5 h otherwise).
 *  - CSV with a header (Binance, ccxt, pandas): columns by name in any order,
 *    case-insensitive: the time in "timestamp" or "open_time"; "open",
 *    "high", "low", "close"; the instrument in "symbol", "instrument" or
 *    "pair" (optional); other columns (volume, close_time, quote_volume,
 *    count, ...) are ignored.  Fields may be double-quoted.
 *  - Headerless Binance kline dumps (12 columns) and ccxt OHLCV rows (6):
 *    open_time, open, high, low, close first.
 *
 * Times of the CSV forms: epoch seconds, milliseconds or microseconds
 * (digits only; the unit from the magnitude: below 1e11 seconds, below 1e14
 * ms, below 1e17 us), or ISO-8601 "YYYY-MM-DD HH:MM[:SS[.000]]" with 'T'
 * or ' ', and "Z", an offset ("+00:00", "-0500", "+01") or none (UTC).
 * Every bar opens on a whole minute between 1970 and 2099; prices are
 * finite and positive with low <= open, close <= high.  Exact duplicate
 * rows are dropped, a later row at the same time with other values too
 * (counted as a conflict); the rows are sorted by time.
 *
 * The instrument: --instrument (struct replay_read_opts), else the
 * file's instrument column (one value in the whole file), else the file
 * name (binance_BTCUSDT_..., DAT_ASCII_EURUSD_..., BTCUSDT-1m-...: the
 * first run of letters and digits after those prefixes).  The market:
 * the options' if set, else forex for HistData and for a pair of two fiat
 * currencies (EURUSD, GBP/JPY), else crypto.
 *
 * Anything else is refused with the file, the line and the reason:
 * "BTC.csv:17: open_time: not a time". */
#ifndef REPLAY_READ_H
#define REPLAY_READ_H

#include <stddef.h>
#include <time.h>

#include "replay_time.h"

#define REPLAY_MAX_SERIES 16

enum replay_format {
    REPLAY_HISTDATA,                  /* HistData ASCII */
    REPLAY_CSV,                       /* a CSV with a timestamp or open_time header */
    REPLAY_KLINES                     /* headerless Binance klines / ccxt OHLCV rows */
};

/* How to read a file (NULL: all defaults). */
struct replay_read_opts {
    const char *instrument;           /* its instrument; NULL: from a column or the file name */
    int market;                       /* LEARN_CRYPTO, LEARN_FOREX; -1: from the format and the name */
};

struct replay_series {
    char name[24];                    /* instrument: "EURUSD", "BTCUSDT" */
    int market;                       /* LEARN_CRYPTO or LEARN_FOREX */
    int format;                       /* enum replay_format */
    char path[512];
    size_t n;
    time_t *t;                        /* bar open time, UTC, strictly increasing */
    double *o, *h, *l, *c;
    size_t duplicates;                /* exact duplicate rows dropped */
    size_t conflicts;                 /* same time, other values: later rows dropped */
    /* derived by replay_prepare() (replay.h): trailing baseline of rolling ranges */
    double *base;                     /* at bar j: mean relative W-range over bars (j-1440, j]; <0 unknown */
};

/* Read one file into *s (zeroed first; free with replay_series_free)
 * with options opt (NULL: defaults).  Returns 0, or -1 with err set. */
int replay_read_opt(const char *path, const struct replay_read_opts *opt, struct replay_series *s, char *err,
                    size_t errlen) __attribute__((warn_unused_result));
int replay_read(const char *path, struct replay_series *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The same from the text of a whole file (tests); name stands for its path. */
int replay_parse_text_opt(const char *name, const char *text, const struct replay_read_opts *opt,
                          struct replay_series *s, char *err, size_t errlen) __attribute__((warn_unused_result));
int replay_parse_text(const char *name, const char *text, struct replay_series *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* "histdata", "csv", "klines" (static). */
const char *replay_format_name(int format);

/* Free what *s owns and zero it; NULL is a no-op. */
void replay_series_free(struct replay_series *s);

/* Index of the first bar of s opening at or after t (s->n when none). */
size_t replay_first_at(const struct replay_series *s, time_t t);

#endif
