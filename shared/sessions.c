/* sessions: forex sessions from the tz database; see sessions.h. */
#include "config.h"
#include "sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session_def {
    const char *name;
    const char *tz;
    int open_hour, close_hour;
};

static const struct session_def session_defs[SESSION_COUNT] = {
    [SESSION_SYDNEY]  = { "sydney",  "Australia/Sydney",  7, 16 },
    [SESSION_TOKYO]   = { "tokyo",   "Asia/Tokyo",        9, 18 },
    [SESSION_LONDON]  = { "london",  "Europe/London",     8, 17 },
    [SESSION_NEWYORK] = { "newyork", "America/New_York",  8, 17 },
};

const char *session_name(enum session_id s)
{
    return (unsigned)s < SESSION_COUNT ? session_defs[s].name : "unknown";
}

/* Offsets change only on whole UTC hours in these zones, so the offsets
 * of a week of UTC hours from the one asked for are computed in one switch
 * of TZ and cached per zone (the replay asks every minute, in time order).
 * The zone is keyed by its name, copied: the caller's string may be a
 * buffer that is reused or freed. */
#define SESSIONS_CACHE_HOURS 168
struct session_cache {
    char tz[64];
    time_t hour0;                     /* the first cached UTC hour */
    long gmtoff[SESSIONS_CACHE_HOURS];
    int valid;
};
static struct session_cache session_cache[8];

/* Point TZ at zone tz (":tz") and tzset(), saving the previous value in
 * saved (cap bytes) and whether there was one.  Returns 0, or -1 when the
 * zone file is missing (nothing changed). */
static int sessions_tz_enter(const char *tz, char *saved, size_t cap, int *had)
{
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fclose(f);
    const char *old = getenv("TZ");
    *had = old != NULL;
    snprintf(saved, cap, "%s", old ? old : "");
    char val[128];
    snprintf(val, sizeof val, ":%s", tz);
    setenv("TZ", val, 1);
    tzset();
    return 0;
}

static void sessions_tz_leave(const char *saved, int had)
{
    if (had)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
}

/* UTC offset of zone tz at t, in seconds.  Returns 0 or -1. */
static int sessions_offset(time_t t, const char *tz, long *off)
{
    time_t hour = t - (t % 3600 + 3600) % 3600;
    struct session_cache *slot = NULL;
    for (size_t i = 0; i < sizeof session_cache / sizeof session_cache[0]; i++) {
        if (!session_cache[i].valid || strcmp(session_cache[i].tz, tz) == 0) {
            slot = &session_cache[i];
            break;
        }
    }
    if (slot && slot->valid && hour >= slot->hour0 && hour < slot->hour0 + SESSIONS_CACHE_HOURS * 3600L) {
        *off = slot->gmtoff[(hour - slot->hour0) / 3600];
        return 0;
    }

    char saved[128];
    int had;
    if (sessions_tz_enter(tz, saved, sizeof saved, &had) < 0)
        return -1;
    struct tm tm;
    int ok = localtime_r(&hour, &tm) != NULL;
    if (ok)
        *off = tm.tm_gmtoff;
    if (ok && slot && strlen(tz) < sizeof slot->tz) {
        snprintf(slot->tz, sizeof slot->tz, "%s", tz);
        slot->hour0 = hour;
        slot->valid = 1;
        for (int h = 0; h < SESSIONS_CACHE_HOURS && slot->valid; h++) {
            time_t at = hour + h * 3600L;
            struct tm ht;
            if (localtime_r(&at, &ht))
                slot->gmtoff[h] = ht.tm_gmtoff;
            else
                slot->valid = 0;
        }
    }
    sessions_tz_leave(saved, had);
    return ok ? 0 : -1;
}

/* Offsets change only on whole or half hours of local time in the tz
 * database's zones, so one mktime() per local half hour serves every time
 * in it. */
#define SESSIONS_LOCAL_BLOCK 1800

int sessions_utc_of_local(const char *tz, const time_t *local, time_t *out, size_t n)
{
    char saved[128];
    int had;
    if (sessions_tz_enter(tz, saved, sizeof saved, &had) < 0)
        return -1;
    int rc = 0;
    long long block = 0;
    long off = 0;
    int have = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        long long l = (long long)local[i];
        long long b = l / SESSIONS_LOCAL_BLOCK - (l < 0 && l % SESSIONS_LOCAL_BLOCK);
        if (!have || b != block) {
            struct tm tm;
            time_t lt = local[i];
            if (!gmtime_r(&lt, &tm)) {
                rc = -1;
                break;
            }
            tm.tm_isdst = -1;
            time_t u = mktime(&tm);
            if (u == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31)) {
                rc = -1;
                break;
            }
            /* mktime normalised tm to the instant it chose: its offset */
            off = (long)(l - (long long)u);
            block = b;
            have = 1;
        }
        out[i] = (time_t)(l - off);
    }
    sessions_tz_leave(saved, had);
    return rc;
}

int sessions_local(time_t t, const char *tz, struct tm *out)
{
    long off;
    if (sessions_offset(t, tz, &off) < 0)
        return -1;
    time_t local = t + off;
    if (!gmtime_r(&local, out))
        return -1;
    out->tm_gmtoff = off;
    return 0;
}

int sessions_at(time_t t, struct session_state *st)
{
    memset(st, 0, sizeof *st);
    struct tm ny;
    if (sessions_local(t, session_defs[SESSION_NEWYORK].tz, &ny) < 0)
        return -1;
    /* closed from Friday 17:00 to Sunday 17:00 New York time */
    int closed = (ny.tm_wday == 5 && ny.tm_hour >= 17) || ny.tm_wday == 6 ||
                 (ny.tm_wday == 0 && ny.tm_hour < 17);
    st->market_open = !closed;
    if (closed)
        return 0;
    for (int s = 0; s < SESSION_COUNT; s++) {
        struct tm lt;
        if (sessions_local(t, session_defs[s].tz, &lt) < 0)
            return -1;
        if (lt.tm_hour >= session_defs[s].open_hour && lt.tm_hour < session_defs[s].close_hour) {
            st->open[s] = 1;
            st->nopen++;
        }
    }
    return 0;
}

const char *sessions_label(const struct session_state *st)
{
    if (!st->market_open)
        return "closed";
    const int *o = st->open;
    if (o[SESSION_LONDON] && o[SESSION_NEWYORK]) return "london_newyork";
    if (o[SESSION_TOKYO] && o[SESSION_LONDON])   return "tokyo_london";
    if (o[SESSION_NEWYORK])                      return "newyork";
    if (o[SESSION_LONDON])                       return "london";
    if (o[SESSION_SYDNEY] && o[SESSION_TOKYO])   return "sydney_tokyo";
    if (o[SESSION_TOKYO])                        return "tokyo";
    if (o[SESSION_SYDNEY])                       return "sydney";
    return "off_hours";
}
