/* sessions: which forex sessions are open at a given instant.
 *
 * Computed from each city's own time zone (tz database), so daylight saving
 * time is right: Sydney 07-16 Australia/Sydney, Tokyo 09-18 Asia/Tokyo,
 * London 08-17 Europe/London, New York 08-17 America/New_York.  The whole
 * market is closed from Friday 17:00 to Sunday 17:00 New York time. */
#ifndef SESSIONS_H
#define SESSIONS_H

#include <stddef.h>
#include <time.h>

enum session_id {
    SESSION_SYDNEY = 0,
    SESSION_TOKYO,
    SESSION_LONDON,
    SESSION_NEWYORK,
    SESSION_COUNT
};

struct session_state {
    int market_open;              /* 0 during the weekend closure */
    int open[SESSION_COUNT];      /* 1 when that session is open (implies market_open) */
    int nopen;
};

/* "sydney", "tokyo", "london", "newyork". */
const char *session_name(enum session_id s);

/* Fill *st for UTC instant t.  Returns 0, or -1 when the tz database is
 * missing a zone (then *st says closed). */
int sessions_at(time_t t, struct session_state *st) __attribute__((warn_unused_result));

/* The label used for reporting: "london_newyork" for the overlap, else the
 * single most active open session ("newyork", "london", "tokyo", "sydney",
 * "tokyo_london", "sydney_tokyo"), "off_hours" when the market is open but
 * no session is, "closed" during the weekend.  Static string. */
const char *sessions_label(const struct session_state *st);

/* Local broken-down time of t in the tz database zone tz.  Returns 0 or -1. */
int sessions_local(time_t t, const char *tz, struct tm *out) __attribute__((warn_unused_result));

/* The UTC instants of n wall-clock times of the tz database zone tz:
 * local[i] is a local time written as if it were UTC (seconds since the
 * epoch: 2019-03-31 02:30 Berlin time is given as the seconds of
 * 2019-03-31T02:30Z); out[i] gets the instant (out may be local).  One
 * switch of TZ for all of them, not one per time.  A time in a clock
 * change's gap or overlap resolves as mktime() with tm_isdst -1 does.
 * Returns 0, or -1 when the zone is not in the tz database. */
int sessions_utc_of_local(const char *tz, const time_t *local, time_t *out, size_t n)
    __attribute__((warn_unused_result));

#endif
