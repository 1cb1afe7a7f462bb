/* usage: recent runs per workflow; see usage.h. */
#include "config.h"
#include "usage.h"

#include <stdlib.h>
#include <string.h>

int usage_init(struct usage *u)
{
    memset(u, 0, sizeof *u);
    u->runs = calloc(USAGE_MAX, sizeof *u->runs);
    return u->runs ? 0 : -1;
}

void usage_free(struct usage *u)
{
    if (!u)
        return;
    free(u->runs);
    memset(u, 0, sizeof *u);
}

void usage_clear(struct usage *u)
{
    u->head = u->n = 0;
}

void usage_note(struct usage *u, int wf, double cost, time_t at)
{
    if (!u || !u->runs || wf < 0 || wf >= CATALOG_SLOTS)
        return;
    /* what has left the window goes first, then the oldest when full */
    while (u->n > 0 && u->runs[u->head].at <= at - USAGE_WINDOW_S) {
        u->head = (u->head + 1) % USAGE_MAX;
        u->n--;
    }
    if (u->n == USAGE_MAX) {
        u->head = (u->head + 1) % USAGE_MAX;
        u->n--;
    }
    u->runs[(u->head + u->n) % USAGE_MAX] = (struct usage_run){ at, wf, cost };
    u->n++;
}

void usage_tally(const struct usage *u, time_t now, struct usage_tally *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; u && u->runs && i < u->n; i++) {
        const struct usage_run *r = &u->runs[(u->head + i) % USAGE_MAX];
        if (r->at > now || r->at <= now - USAGE_WINDOW_S)
            continue;
        t->runs_24h[r->wf]++;
        if (r->at > t->last_at[r->wf])
            t->last_at[r->wf] = r->at;
        if (r->at > now - USAGE_BUDGET_S)
            t->cost_1h += r->cost;
    }
}
