/* budget: a market source's request budget; see budget.h. */
#include "config.h"
#include "budget.h"
#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUDGET_RESERVE 1.25        /* a fifth of what is left is kept for the decisions' probes */

const char *budget_period_name(int p)
{
    switch (p) {
    case BUDGET_MINUTE: return "minute";
    case BUDGET_DAY:    return "day";
    case BUDGET_MONTH:  return "month";
    }
    return "unknown";
}

int budget_parse(const char *spec, struct budget *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (!spec)
        return 0;
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        char *end;
        errno = 0;
        long n = strtol(p, &end, 10);
        if (errno || end == p || n < 0 || n > 1000000000L || *end != '/') {
            snprintf(err, errlen, "expected N/minute, N/day or N/month items, got \"%.40s\"", p);
            return -1;
        }
        p = end + 1;
        size_t k = strcspn(p, ", ");
        int period = -1;
        for (int x = 0; x < BUDGET_PERIOD_COUNT; x++)
            if (strlen(budget_period_name(x)) == k && strncmp(p, budget_period_name(x), k) == 0)
                period = x;
        if (period < 0 || b->limit[period]) {
            snprintf(err, errlen, "%s period in \"%.40s\" (minute, day or month, once each)",
                     period < 0 ? "unknown" : "repeated", spec);
            return -1;
        }
        b->limit[period] = n;
        p += k;
    }
    return 0;
}

time_t budget_period_start(int p, time_t t)
{
    if (p == BUDGET_MINUTE)
        return t - (t % 60 + 60) % 60;
    if (p == BUDGET_DAY)
        return t - (t % 86400 + 86400) % 86400;
    long long y;
    int m, d;
    tu_civil_from_days(budget_period_start(BUDGET_DAY, t) / 86400, &y, &m, &d);
    return (time_t)tu_utc(y, m, 1, 0, 0, 0);
}

time_t budget_period_end(int p, time_t t)
{
    if (p == BUDGET_MINUTE)
        return budget_period_start(p, t) + 60;
    if (p == BUDGET_DAY)
        return budget_period_start(p, t) + 86400;
    long long y;
    int m, d;
    tu_civil_from_days(budget_period_start(p, t) / 86400, &y, &m, &d);
    if (++m > 12)
        m = 1, y++;
    return (time_t)tu_utc(y, m, 1, 0, 0, 0);
}

/* Start a new period where now has left the current one. */
static void budget_roll(struct budget *b, time_t now)
{
    for (int p = 0; p < BUDGET_PERIOD_COUNT; p++) {
        time_t s = budget_period_start(p, now);
        if (b->start[p] != s) {
            b->start[p] = s;
            b->used[p] = 0;
        }
    }
}

void budget_spend(struct budget *b, time_t now, long n)
{
    budget_roll(b, now);
    for (int p = 0; p < BUDGET_PERIOD_COUNT; p++)
        b->used[p] += n;
}

int budget_allows(struct budget *b, time_t now)
{
    budget_roll(b, now);
    for (int p = 0; p < BUDGET_PERIOD_COUNT; p++)
        if (b->limit[p] && b->used[p] >= b->limit[p])
            return 0;
    return 1;
}

long budget_interval(struct budget *b, time_t now, long base_s, char *why, size_t cap)
{
    budget_roll(b, now);
    long best = base_s;
    if (cap)
        why[0] = '\0';
    for (int p = 0; p < BUDGET_PERIOD_COUNT; p++) {
        if (!b->limit[p])
            continue;
        long left = b->limit[p] - b->used[p];
        double time_left = (double)(budget_period_end(p, now) - now);
        /* never faster than the period's own pace (so that a budget is not
         * spent in bursts at the end of a period), and slower when what is
         * left, spread over the time left, asks for it */
        double pace = (double)(budget_period_end(p, now) - budget_period_start(p, now)) / (double)b->limit[p] *
                      BUDGET_RESERVE;
        double need = left <= 0 ? time_left : time_left / (double)left * BUDGET_RESERVE;
        int at_pace = left > 0 && (p == BUDGET_MINUTE || pace > need);
        if (at_pace)
            need = pace;
        if (need > (double)best) {
            best = need > 86400.0 * 31 ? 86400L * 31 : (long)(need + 0.999);
            if (cap)
                snprintf(why, cap, "%ld of %ld requests left this %s (%s)", left > 0 ? left : 0, b->limit[p],
                         budget_period_name(p), left <= 0 ? "none left" : at_pace ? "sampled at the period's pace"
                                                                         : "spread over what is left of it");
        }
    }
    return best;
}

json_object *budget_json(const struct budget *b, long interval_s, long base_s, const char *why)
{
    json_object *o = json_object_new_object(), *lim = json_object_new_object(), *used = json_object_new_object(),
                *starts = json_object_new_object();
    if (!o || !lim || !used || !starts) {
        json_object_put(o);
        json_object_put(lim);
        json_object_put(used);
        json_object_put(starts);
        return NULL;
    }
    for (int p = 0; p < BUDGET_PERIOD_COUNT; p++) {
        json_object_object_add(lim, budget_period_name(p), b->limit[p] ? json_object_new_int64(b->limit[p]) : NULL);
        json_object_object_add(used, budget_period_name(p), json_object_new_int64(b->used[p]));
        json_object_object_add(starts, budget_period_name(p), json_object_new_int64(b->start[p]));
    }
    json_object_object_add(o, "limits", lim);
    json_object_object_add(o, "used", used);
    json_object_object_add(o, "starts", starts);
    json_object_object_add(o, "interval_seconds", json_object_new_int64(interval_s));
    json_object_object_add(o, "stretched", json_object_new_boolean(interval_s > base_s));
    json_object_object_add(o, "why", why && *why ? json_object_new_string(why) : NULL);
    return o;
}

void budget_restore(struct budget *b, json_object *j, time_t now)
{
    json_object *used, *starts, *v;
    budget_roll(b, now);
    if (!j || !json_object_object_get_ex(j, "used", &used) || !json_object_object_get_ex(j, "starts", &starts))
        return;
    for (int p = 0; p < BUDGET_PERIOD_COUNT; p++) {
        const char *k = budget_period_name(p);
        if (!json_object_object_get_ex(starts, k, &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) != (long long)b->start[p])
            continue;                       /* that period has ended */
        if (json_object_object_get_ex(used, k, &v) && json_object_is_type(v, json_type_int)) {
            long long n = json_object_get_int64(v);
            if (n >= 0 && n <= 1000000000LL)
                b->used[p] = (long)n;
        }
    }
}
