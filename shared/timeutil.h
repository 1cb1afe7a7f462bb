/* timeutil: the one home of UTC calendar arithmetic, ISO-8601 text and the
 * monotonic clock.  No time zone state of the C library is read (no
 * timegm, mktime or gmtime_r): civil dates to days and back are the
 * proleptic Gregorian formulas of H. Hinnant's days_from_civil and
 * civil_from_days; local times of named zones stay in shared/sessions.h. */
#ifndef TIMEUTIL_H
#define TIMEUTIL_H

/* Room for any text tu_iso8601 or tu_iso8601_ms writes, NUL included. */
#define TU_ISO_LEN 32

/* Nonzero when y is a leap year. */
int tu_leap(long long y);

/* Nonzero when day d exists in month m (1-12) of year y. */
int tu_day_ok(long long y, int m, int d);

/* Days from 1970-01-01 to y-m-d (negative before); m must be 1-12, days
 * past the end of the month count on (2025-04-31 is 2025-05-01), as timegm. */
long long tu_days_from_civil(long long y, int m, int d);

/* The date of a day counted from 1970-01-01. */
void tu_civil_from_days(long long days, long long *y, int *m, int *d);

/* Seconds since the epoch of a UTC civil time; m must be 1-12, the day,
 * hour, minute and second count on past their range (hh 24 is the next
 * day), as timegm. */
long long tu_utc(long long y, int m, int d, int hh, int mi, int ss);

/* n digits at p (n <= 9) as a number, or -1 when one is not a digit. */
int tu_digits(const char *p, int n);

/* What tu_parse_iso8601 accepts besides the full form (flags):
 *   TU_ISO_DATE   a date alone, "YYYY-MM-DD", optionally with 'Z' (midnight UTC)
 *   TU_ISO_SHORT  a time without seconds ("THH:MM") and offsets in hours ("+05")
 *   TU_ISO_WHOLE  nothing but zeros after a decimal point (a whole second) */
enum { TU_ISO_DATE = 1, TU_ISO_SHORT = 2, TU_ISO_WHOLE = 4 };

/* Parse "YYYY-MM-DDTHH:MM:SS" ('T', 't' or ' ' between the date and the
 * time), an optional fraction of a second (any number of digits, cut to
 * milliseconds), then "Z" ('z'), an offset "+HH:MM" or "+HHMM" (east,
 * '-' west), or nothing (UTC), into *ms (milliseconds since the epoch).
 * Refuses days that do not exist, hours over 23, minutes over 59, seconds
 * over 60 (a leap second counts as the next one), offsets of 24 hours or
 * more, and anything left over.  Returns 0, or -1 (*ms untouched). */
int tu_parse_iso8601(const char *s, int flags, long long *ms) __attribute__((warn_unused_result));

/* t (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ" into out; times
 * before year 0 or after year 9999 are written as those years' first or
 * last second.  Returns out. */
char *tu_iso8601(long long t, char out[TU_ISO_LEN]);

/* ms (milliseconds since the epoch) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into
 * out, within the same years.  Returns out. */
char *tu_iso8601_ms(long long ms, char out[TU_ISO_LEN]);

/* CLOCK_MONOTONIC in milliseconds, with fractions: for intervals only. */
double tu_mono_ms(void);

#endif
