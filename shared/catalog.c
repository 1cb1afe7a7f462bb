/* catalog: the vocabulary of decisions and the registry of workflows; see catalog.h. */
#include "config.h"
#include "catalog.h"

#include <stdio.h>
#include <string.h>

static const char *const mode_names[MODE_COUNT] = { "crypto", "forex", "hybrid", "standby" };
static const char *const intensity_names[INTENSITY_COUNT] = { "aggressive", "normal", "light" };
static const char *const source_names[SOURCE_COUNT] = { "llm", "fallback", "forced" };
static const char *const feed_names[FEED_COUNT] = { "dexscreener", "pumpfun", "tradermade", "birdeye" };
static const char *const market_names[MARKET_COUNT] = { "crypto", "forex", "both", "system" };
static const char *const concurrency_names[CONCURRENCY_COUNT] = { "allow", "forbid", "replace" };

#define NAME_OF(arr, n, i) ((i) >= 0 && (i) < (n) ? (arr)[i] : "unknown")

const char *catalog_mode_name(int m) { return NAME_OF(mode_names, MODE_COUNT, m); }
const char *catalog_intensity_name(int i) { return NAME_OF(intensity_names, INTENSITY_COUNT, i); }
const char *catalog_source_name(int s) { return NAME_OF(source_names, SOURCE_COUNT, s); }
const char *catalog_feed_name(int f) { return NAME_OF(feed_names, FEED_COUNT, f); }
const char *catalog_market_name(int m) { return NAME_OF(market_names, MARKET_COUNT, m); }
const char *catalog_concurrency_name(int c) { return NAME_OF(concurrency_names, CONCURRENCY_COUNT, c); }

const char *catalog_wf_intensity_name(int i)
{
    return i == CATALOG_ANY_INTENSITY ? "any" : catalog_intensity_name(i);
}

static int catalog_find(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

int catalog_mode_parse(const char *s) { return catalog_find(mode_names, MODE_COUNT, s); }
int catalog_intensity_parse(const char *s) { return catalog_find(intensity_names, INTENSITY_COUNT, s); }
int catalog_feed_parse(const char *s) { return catalog_find(feed_names, FEED_COUNT, s); }
int catalog_market_parse(const char *s) { return catalog_find(market_names, MARKET_COUNT, s); }
int catalog_concurrency_parse(const char *s) { return catalog_find(concurrency_names, CONCURRENCY_COUNT, s); }

static int catalog_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int catalog_name_valid(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n == 0 || n > CATALOG_NAME_MAX)
        return 0;
    int seg_start = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (seg_start) {
            if (!catalog_alnum(c))
                return 0;          /* a segment starts with a letter or digit: no "/", ".", "-" */
            seg_start = 0;
            continue;
        }
        if (c == '/') {
            seg_start = 1;
            continue;
        }
        if (!catalog_alnum(c) && c != '-' && c != '_' && c != '.')
            return 0;
    }
    return !seg_start;             /* no trailing '/' */
}

/* ---- the registry ---------------------------------------------------------------- */

static struct catalog_wf slots[CATALOG_SLOTS];
static int nslots;
static int order[CATALOG_MAX];      /* slots of the present workflows, in catalog order */
static int npresent;

void catalog_reset(void)
{
    memset(slots, 0, sizeof slots);
    nslots = 0;
    npresent = 0;
}

int catalog_count(void) { return nslots; }
int catalog_present(void) { return npresent; }

int catalog_ordered(int k)
{
    return k >= 0 && k < npresent ? order[k] : -1;
}

const struct catalog_wf *catalog_workflow(int w)
{
    return w >= 0 && w < nslots ? &slots[w] : NULL;
}

const char *catalog_name(int w)
{
    return w >= 0 && w < nslots ? slots[w].name : "unknown";
}

int catalog_offered(int w)
{
    return w >= 0 && w < nslots && slots[w].present && slots[w].enabled;
}

int catalog_workflow_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < nslots; i++)
        if (strcmp(slots[i].name, s) == 0)
            return i;
    return -1;
}

/* Default attributes of a name known only from history. */
static void catalog_ghost(struct catalog_wf *w, const char *name)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    snprintf(w->title, sizeof w->title, "%s", name);
    w->market = MARKET_SYSTEM;
    w->intensity = CATALOG_ANY_INTENSITY;
    w->concurrency = CONCURRENCY_ALLOW;
    snprintf(w->parameters, sizeof w->parameters, "{}");
    w->cost = 1;
    w->order = -1;
}

int catalog_slot(const char *s)
{
    int w = catalog_workflow_parse(s);
    if (w >= 0)
        return w;
    if (!catalog_name_valid(s) || nslots >= CATALOG_SLOTS)
        return -1;
    catalog_ghost(&slots[nslots], s);
    return nslots++;
}

int catalog_install(const struct catalog *cat, char *err, size_t errlen)
{
    if (!cat || cat->n < 0 || cat->n > CATALOG_MAX) {
        snprintf(err, errlen, "not a catalog");
        return -1;
    }
    int fresh = 0;
    for (int i = 0; i < cat->n; i++)
        if (catalog_workflow_parse(cat->wf[i].name) < 0)
            fresh++;
    if (nslots + fresh > CATALOG_SLOTS) {
        snprintf(err, errlen, "%d new workflow names would exceed the %d this worker can know since it started "
                 "(CATALOG_SLOTS): restart the worker to load this catalog", fresh, CATALOG_SLOTS);
        return -1;
    }
    for (int w = 0; w < nslots; w++) {
        slots[w].present = 0;
        slots[w].order = -1;
    }
    npresent = 0;
    for (int i = 0; i < cat->n; i++) {
        int w = catalog_workflow_parse(cat->wf[i].name);
        if (w < 0)
            w = nslots++;
        slots[w] = cat->wf[i];
        slots[w].present = 1;
        slots[w].order = i;
        order[npresent++] = w;
    }
    return 0;
}
