/* replay_time: the times of recorded bars (worker/replay_read.h): civil
 * dates, ISO-8601 with offsets, epoch seconds / ms / us, and HistData's
 * stored time (Europe/Berlin local time - 6 h) through the tz database. */
#ifndef REPLAY_TIME_H
#define REPLAY_TIME_H

#include <stddef.h>
#include <time.h>

#define REPLAY_TIME_MAX 4102444800LL  /* 2100-01-01T00:00Z: later is not a bar's time */
#define REPLAY_HISTDATA_TZ "Europe/Berlin"
#define REPLAY_HISTDATA_SHIFT (6 * 3600)   /* stored time = Berlin local time - 6 h */

/* HistData stored time (fields as written) to UTC: Europe/Berlin local
 * time - 6 h, through the tz database (stored + 4 h while the EU is on
 * summer time, + 5 h otherwise).  (time_t)-1 when the zone is missing. */
time_t replay_histdata_utc(int y, int mo, int d, int hh, int mi, int ss);

/* Parse "YYYY-MM-DD" (optionally "Z"), or "YYYY-MM-DDTHH:MM" ('T' or ' ')
 * with optional ":SS", ".000" and "Z" or an offset ("+01:00", "-0500",
 * "+01"; none: UTC): tu_parse_iso8601 of shared/timeutil.h with
 * TU_ISO_DATE, TU_ISO_SHORT and TU_ISO_WHOLE.  Returns 0 or -1. */
int replay_parse_iso(const char *s, time_t *out) __attribute__((warn_unused_result));

/* A bar's time in field f (n bytes, not terminated): epoch seconds,
 * milliseconds or microseconds (digits only; the unit from the magnitude:
 * below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds),
 * or an ISO-8601 time (replay_parse_iso; without an offset it is UTC).
 * Returns 0, or -1 when it is not one or lies outside 1970 .. 2099. */
int replay_parse_time(const char *f, size_t n, time_t *out) __attribute__((warn_unused_result));

#endif
