/* sessions: which forex sessions are open at a given instant.
 *
 * Computed from each city's own time zone (tz database), so daylight saving
 * time is right: Sydney 07-16 Australia/Sydney, Tokyo 09-18 Asia/Tokyo,
 * London 08-17 Europe/London, New York 08-17 America/New_York.  The whole
 * market is closed from Friday 17:00 to Sunday 17:00 New York time. */
#ifndef SESSIONS_H
#define SESSIONS_H

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

#endif
