/* replay_read: recorded 1-minute bars for the replay (worker/replay.h).
 *
 * replay_read() loads one recorded file (gzip or plain): HistData forex
 * ("YYYYMMDD HHMMSS;o;h;l;c;v", no header, stored time = Europe/Berlin
 * local time - 6 h; exact duplicate rows dropped) or Binance crypto (header
 * "timestamp,open,high,low,close,volume", UTC). */
#ifndef REPLAY_READ_H
#define REPLAY_READ_H

#include <stddef.h>
#include <time.h>

#define REPLAY_MAX_SERIES 16

enum replay_format { REPLAY_HISTDATA, REPLAY_BINANCE };

struct replay_series {
    char name[24];                    /* instrument, from the file name: "EURUSD", "BTCUSDT" */
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

/* Read one file into *s (zeroed first).  Returns 0, or -1 with err set. */
int replay_read(const char *path, struct replay_series *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse the text of a whole file (for tests): name and format from name. */
int replay_parse_text(const char *name, const char *text, struct replay_series *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Free what *s owns and zero it; NULL is a no-op. */
void replay_series_free(struct replay_series *s);

/* HistData stored time (fields as written) to UTC: stored + 4 h while the
 * EU is on summer time, + 5 h otherwise. */
time_t replay_histdata_utc(int y, int mo, int d, int hh, int mi, int ss);

/* Nonzero when UTC instant t is in EU summer time (last Sunday of March
 * 01:00 UTC to last Sunday of October 01:00 UTC). */
int replay_eu_summer(time_t t);

/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "...:SS", optional "Z".  Returns 0 or -1. */
int replay_parse_iso(const char *s, time_t *out) __attribute__((warn_unused_result));

/* Index of the first bar of s opening at or after t (s->n when none). */
size_t replay_first_at(const struct replay_series *s, time_t t);

#endif
