/* decide: menu, fallback policy and validation; see decide.h. */
#include "config.h"
#include "decide.h"
#include "learn.h"
#include "usage.h"

#include <stdio.h>
#include <string.h>

static void decide_note(struct decide_menu *m, const char *text)
{
    if (m->nnotes < DECIDE_MAX_NOTES)
        snprintf(m->notes[m->nnotes++], sizeof m->notes[0], "%s", text);
    else
        m->more_notes++;
}

int decide_wf_fits(int w, int intensity)
{
    const struct catalog_wf *d = catalog_workflow(w);
    return d && (d->intensity == CATALOG_ANY_INTENSITY || d->intensity == intensity);
}

int decide_market_fits(int market, int mode)
{
    switch (mode) {
    case MODE_CRYPTO:  return market == MARKET_CRYPTO || market == MARKET_SYSTEM;
    case MODE_FOREX:   return market == MARKET_FOREX || market == MARKET_SYSTEM;
    case MODE_HYBRID:  return market >= 0 && market < MARKET_COUNT;
    case MODE_STANDBY: return market == MARKET_SYSTEM;
    }
    return 0;
}

/* Why workflow w may not run now whatever the mode (sessions, sources,
 * limits, budget, the deliver's view), into why; "" when it may.  Returns
 * 1 when it may not and the reason is worth a note, 2 when it may not
 * and needs none (not its session, not its intensity), 0 when it may. */
static int decide_wf_excluded(const struct sense_snapshot *snap, const struct decide_menu *m, int w,
                              const struct usage_tally *u, char *why, size_t cap)
{
    const struct catalog_wf *d = catalog_workflow(w);
    why[0] = '\0';
    if (snap->wf_blocked[w]) {
        snprintf(why, cap, "%s", snap->wf_blocked_why[w][0] ? snap->wf_blocked_why[w] : d->name);
        return 1;
    }
    if (d->intensity != CATALOG_ANY_INTENSITY && !m->intensity_allowed[d->intensity])
        return 2;
    if (d->sessions) {
        int open = 0;
        for (int s = 0; s < SESSION_COUNT; s++)
            open |= snap->sessions.open[s] && (d->sessions & (1u << s));
        if (!open)
            return 2;
    }
    for (int f = 0; f < FEED_COUNT; f++) {
        if ((d->needs & (1u << f)) && snap->probes[f].configured && !snap->probes[f].ok) {
            snprintf(why, cap, "%s: needs %s, which is unhealthy", d->name, catalog_feed_name(f));
            return 1;
        }
    }
    if (d->min_interval_seconds > 0 && u->last_at[w] > 0 && snap->now - u->last_at[w] < d->min_interval_seconds) {
        snprintf(why, cap, "%s: min_interval_seconds %ld, last run %ld s ago", d->name, d->min_interval_seconds,
                 (long)(snap->now - u->last_at[w]));
        return 1;
    }
    if (d->max_runs_per_day > 0 && u->runs_24h[w] >= d->max_runs_per_day) {
        snprintf(why, cap, "%s: max_runs_per_day %ld reached", d->name, d->max_runs_per_day);
        return 1;
    }
    if (m->budget_left >= 0 && d->cost > m->budget_left + 1e-9) {
        snprintf(why, cap, "%s: cost %g exceeds the %g left of RUN_BUDGET_PER_HOUR", d->name, d->cost, m->budget_left);
        return 1;
    }
    return 0;
}

/* Which markets and intensities are open to a scan now: m's market and
 * intensity fields and their notes. */
static void decide_menu_markets(const struct cfg *c, const struct sense_snapshot *snap, struct decide_menu *m)
{
    const struct sense_probe *dex = &snap->probes[FEED_DEXSCREENER];
    const struct sense_probe *tm = &snap->probes[FEED_TRADERMADE];
    char note[120];
    m->crypto_ok = dex->configured && dex->ok && snap->market.crypto_valid;
    if (!m->crypto_ok) {
        snprintf(note, sizeof note, "crypto: dexscreener %s", !dex->configured ? "not configured" : "unhealthy");
        decide_note(m, note);
    }
    m->forex_ok = snap->sessions.market_open && snap->sessions.nopen > 0;
    if (!snap->sessions.market_open)
        decide_note(m, "forex: weekend closure");
    else if (snap->sessions.nopen == 0)
        decide_note(m, "forex: no session open");
    if (tm->configured && !tm->ok) {
        m->forex_ok = 0;
        decide_note(m, "forex: tradermade unhealthy");
    } else if (tm->configured && snap->market.forex_stale) {
        m->forex_ok = 0;
        decide_note(m, "forex: tradermade quotes stale (market closed)");
    }
    int load_high = snap->load1 >= 0 && snap->load_per_core > c->load_high;
    for (int i = 0; i < INTENSITY_COUNT; i++)
        m->intensity_allowed[i] = 1;
    if (load_high) {
        m->intensity_allowed[INTENSITY_AGGRESSIVE] = 0;
        snprintf(note, sizeof note, "aggressive: load %.2f per core above %.2f", snap->load_per_core, c->load_high);
        decide_note(m, note);
    }
    m->mode_allowed[MODE_STANDBY] = 1;
    m->mode_allowed[MODE_CRYPTO] = m->crypto_ok;
    m->mode_allowed[MODE_FOREX] = m->forex_ok;
    m->mode_allowed[MODE_HYBRID] = m->crypto_ok && m->forex_ok;
}

void decide_menu_build(const struct cfg *c, const struct sense_snapshot *snap, struct decide_menu *m)
{
    memset(m, 0, sizeof *m);
    m->min_seconds = c->decision_min_seconds;
    m->max_seconds = c->decision_max_seconds;
    decide_menu_markets(c, snap, m);
    static const struct usage_tally none;
    const struct usage_tally *u = snap->usage ? snap->usage : &none;
    m->budget_left = -1;
    if (c->run_budget_per_hour > 0) {
        m->budget_left = c->run_budget_per_hour - u->cost_1h;
        if (m->budget_left < 0)
            m->budget_left = 0;
    }
    /* every offered workflow, in catalog order, on the menu of each mode its market fits */
    for (int k = 0; k < catalog_present(); k++) {
        int w = catalog_ordered(k);
        if (!catalog_offered(w))
            continue;
        char why[200];
        int ex = decide_wf_excluded(snap, m, w, u, why, sizeof why);
        if (ex == 1)
            decide_note(m, why);
        if (ex)
            continue;
        for (int mode = 0; mode < MODE_COUNT; mode++)
            m->wf_allowed[mode][w] = m->mode_allowed[mode] && decide_market_fits(catalog_workflow(w)->market, mode);
    }
}

static long decide_clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The cost of ch's workflows so far. */
static double decide_cost(const struct decide_choice *ch)
{
    double sum = 0;
    for (int i = 0; i < ch->nwf; i++)
        sum += catalog_workflow(ch->wf[i])->cost;
    return sum;
}

/* Add w to ch unless it is there, the choice is full, or its cost would
 * pass the menu's budget. */
static void decide_add(const struct decide_menu *m, struct decide_choice *ch, int w)
{
    for (int i = 0; i < ch->nwf; i++)
        if (ch->wf[i] == w)
            return;
    if (m->budget_left >= 0 && decide_cost(ch) + catalog_workflow(w)->cost > m->budget_left + 1e-9)
        return;
    if (ch->nwf < DECIDE_MAX_WF)
        ch->wf[ch->nwf++] = w;
}

int decide_scan_wf(const unsigned char *allowed, int market, int intensity)
{
    int any = -1;
    for (int k = 0; k < catalog_present(); k++) {
        int w = catalog_ordered(k);
        const struct catalog_wf *d = catalog_workflow(w);
        if (!allowed[w] || d->market != market)
            continue;
        if (d->intensity == intensity)
            return w;
        if (d->intensity == CATALOG_ANY_INTENSITY && any < 0)
            any = w;
    }
    return any;
}

/* One market's part of the reason: "crypto usual r=0.93 thompson normal (+0.21)". */
static void decide_market_text(const struct learn *l, int m, int ok, int chosen, const char *why, double value,
                               char *out, size_t cap)
{
    const struct learn_market_state *s = &l->m[m];
    if (!ok) {
        snprintf(out, cap, "%s off", learn_market_name(m));
        return;
    }
    if (chosen >= 0)
        snprintf(out, cap, "%s %s r=%.2f: %s %s scan (net %+.2f)", learn_market_name(m), learn_band_name(s->band),
                 s->ratio, why, catalog_intensity_name(chosen), value);
    else if (why && strcmp(why, "watched") == 0)
        snprintf(out, cap, "%s %s r=%.2f: no scan (watched every minute, no event)", learn_market_name(m),
                 learn_band_name(s->band), s->ratio);
    else
        snprintf(out, cap, "%s %s r=%.2f: no scan (best net %+.2f, window %.0f%% fresh)", learn_market_name(m),
                 learn_band_name(s->band), s->ratio, value, s->exposure * 100);
}

/* Thompson sampling for one market (MARKET_CRYPTO or _FOREX, learning
 * market lm) over the intensities that have a workflow to start, each
 * costed with that workflow's catalog cost.  *has: some intensity has one.
 * Returns the intensity or -1. */
static int decide_market_choose(const struct decide_menu *m, const unsigned char *allowed, const struct learn *l,
                                 int market, int lm, time_t now, int *has, const char **why, double *val)
{
    int arms[LEARN_ARM_COUNT];
    double cost[LEARN_ARM_COUNT];
    *has = 0;
    for (int i = 0; i < LEARN_ARM_COUNT; i++) {
        int w = m->intensity_allowed[i] ? decide_scan_wf(allowed, market, i) : -1;
        arms[i] = w >= 0;
        cost[i] = w >= 0 ? catalog_workflow(w)->cost : 1;
        *has |= arms[i];
    }
    if (!*has)
        return -1;
    return learn_choose_cost(l, lm, arms, cost, now, why, val);
}

/* The watch's say on market mk's scan (mk a learning market, market its
 * catalog market): when the watch covers it, scan only when an event of
 * mk woke the decision -- then with the intensity Thompson sampling chose,
 * or the lightest one a workflow exists for when no scan seemed worth its
 * cost (the event says otherwise).  *scan (an intensity or -1) and *why
 * are updated. */
static void decide_watched(const struct sense_snapshot *snap, const struct decide_menu *m, const unsigned char *allowed,
                           int mk, int market, int ok, int *scan, const char **why)
{
    if (!ok || !snap->watch || !snap->watch->covers[mk])
        return;
    int woken = snap->wake.kind == SENSE_WAKE_EVENT && snap->wake.market == mk;
    if (!woken) {
        *scan = -1;
        *why = "watched";
        return;
    }
    if (*scan >= 0) {
        *why = "event";
        return;
    }
    static const int order[] = { INTENSITY_LIGHT, INTENSITY_NORMAL, INTENSITY_AGGRESSIVE };
    for (int k = 0; k < 3; k++) {
        int i = order[k];
        if (m->intensity_allowed[i] && decide_scan_wf(allowed, market, i) >= 0) {
            *scan = i;
            *why = "event";
            return;
        }
    }
}

/* The additions to the market scans: cross-market and system workflows. */
static void decide_extras(const struct sense_snapshot *snap, const struct decide_menu *m, const struct learn *l,
                          int ci, int fi, struct decide_choice *ch, int *unhealthy)
{
    const unsigned char *allowed = m->wf_allowed[ch->mode];
    int busy = l->m[LEARN_CRYPTO].band == LEARN_HIGH || l->m[LEARN_FOREX].band == LEARN_HIGH;
    int cross = ci >= 0 && fi >= 0 && ch->mode == MODE_HYBRID && busy;
    *unhealthy = 0;
    for (int f = 0; f < FEED_COUNT; f++)
        if (snap->probes[f].configured && !snap->probes[f].ok)
            (*unhealthy)++;
    int health_due = l->last_health_at <= 0 || snap->now - l->last_health_at >= l->max_stale_s;
    /* the cross-market ones first, then the system ones, each in catalog order */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0 ? !cross : !(*unhealthy && health_due))
            continue;
        for (int k = 0; k < catalog_present(); k++) {
            int w = catalog_ordered(k);
            if (allowed[w] && decide_wf_fits(w, ch->intensity) &&
                catalog_workflow(w)->market == (pass == 0 ? MARKET_BOTH : MARKET_SYSTEM))
                decide_add(m, ch, w);
        }
    }
}

void decide_fallback(const struct cfg *c, const struct sense_snapshot *snap,
                     const struct decide_menu *m, struct decide_choice *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->source = SOURCE_FALLBACK;
    struct learn prior;
    const struct learn *l = snap->learn;
    if (!l) {
        /* nothing learned: priors only, every market "never scanned" */
        learn_init(&prior, c);
        l = &prior;
    }
    time_t now = snap->now;

    if (m->mode_allowed[MODE_HYBRID])      ch->mode = MODE_HYBRID;
    else if (m->mode_allowed[MODE_CRYPTO]) ch->mode = MODE_CRYPTO;
    else if (m->mode_allowed[MODE_FOREX])  ch->mode = MODE_FOREX;
    else                                   ch->mode = MODE_STANDBY;
    const unsigned char *allowed = m->wf_allowed[ch->mode];

    /* each market: Thompson sampling over the intensities it may run */
    int ci = -1, fi = -1, chas = 0, fhas = 0;
    const char *cwhy = "", *fwhy = "";
    double cval = 0, fval = 0;
    if (m->crypto_ok)
        ci = decide_market_choose(m, allowed, l, MARKET_CRYPTO, LEARN_CRYPTO, now, &chas, &cwhy, &cval);
    if (m->forex_ok)
        fi = decide_market_choose(m, allowed, l, MARKET_FOREX, LEARN_FOREX, now, &fhas, &fwhy, &fval);
    /* a market the watch covers is scanned when its activity woke this
     * decision, not on the fallback's own schedule (nor by its
     * exploration or staleness floors): the watch looks every minute */
    decide_watched(snap, m, allowed, LEARN_CRYPTO, MARKET_CRYPTO, m->crypto_ok && chas, &ci, &cwhy);
    decide_watched(snap, m, allowed, LEARN_FOREX, MARKET_FOREX, m->forex_ok && fhas, &fi, &fwhy);

    /* the decision's intensity is the crypto scan's, else the forex
     * scan's, else light: nothing runs */
    if (ci >= 0)
        ch->intensity = ci;
    else if (fi >= 0)
        ch->intensity = fi;
    else
        ch->intensity = m->intensity_allowed[INTENSITY_LIGHT] ? INTENSITY_LIGHT : INTENSITY_NORMAL;
    if (ch->mode == MODE_STANDBY)
        ch->intensity = INTENSITY_LIGHT;
    if (ci >= 0 && ch->mode != MODE_STANDBY)
        decide_add(m, ch, decide_scan_wf(allowed, MARKET_CRYPTO, ci));
    if (fi >= 0 && ch->mode != MODE_STANDBY)
        decide_add(m, ch, decide_scan_wf(allowed, MARKET_FOREX, fi));
    int unhealthy;
    decide_extras(snap, m, l, ci, fi, ch, &unhealthy);

    /* decide again when the first market needs a look */
    long next = -1;
    if (m->crypto_ok && chas)
        next = learn_next_seconds(l, LEARN_CRYPTO, now, ci >= 0);
    if (m->forex_ok && fhas) {
        long f = learn_next_seconds(l, LEARN_FOREX, now, fi >= 0);
        if (next < 0 || f < next)
            next = f;
    }
    if (next < 0)
        next = l->window_s;
    /* every market it could scan is watched: its wake-ups come when they
     * must, the schedule only keeps an eye on the rest (health, sessions) */
    int cscan = m->crypto_ok && chas, fscan = m->forex_ok && fhas;
    if (snap->watch && (cscan || fscan) && (!cscan || snap->watch->covers[LEARN_CRYPTO]) &&
        (!fscan || snap->watch->covers[LEARN_FOREX]))
        next = m->max_seconds;
    ch->next_seconds = decide_clamp(next, m->min_seconds, m->max_seconds);

    char ctxt[200], ftxt[200];
    decide_market_text(l, LEARN_CRYPTO, m->crypto_ok && chas, ci, cwhy, cval, ctxt, sizeof ctxt);
    decide_market_text(l, LEARN_FOREX, m->forex_ok && fhas, fi, fwhy, fval, ftxt, sizeof ftxt);
    snprintf(ch->reason, sizeof ch->reason, "%s/%s: %s; %s; session %s; %d source(s) unhealthy; next in %ld s",
             catalog_mode_name(ch->mode), catalog_intensity_name(ch->intensity), ctxt, ftxt,
             snap->session_label ? snap->session_label : "closed", unhealthy, ch->next_seconds);
}

/* decide_validate's checks of the workflows.  Returns 0 or -1 with err. */
static int decide_validate_wfs(const struct decide_menu *m, const struct decide_choice *ch, char *err, size_t errlen)
{
    if (ch->nwf < 0 || ch->nwf > DECIDE_MAX_WF) {
        snprintf(err, errlen, "too many workflows (at most %d)", DECIDE_MAX_WF);
        return -1;
    }
    for (int i = 0; i < ch->nwf; i++) {
        int w = ch->wf[i];
        const struct catalog_wf *d = catalog_workflow(w);
        if (!d) {
            snprintf(err, errlen, "unknown workflow");
            return -1;
        }
        if (!m->wf_allowed[ch->mode][w]) {
            snprintf(err, errlen, "workflow %s is not on the menu for mode %s", d->name, catalog_mode_name(ch->mode));
            return -1;
        }
        if (!decide_wf_fits(w, ch->intensity)) {
            snprintf(err, errlen, "workflow %s does not fit intensity %s", d->name,
                     catalog_intensity_name(ch->intensity));
            return -1;
        }
        for (int k = 0; k < i; k++) {
            if (ch->wf[k] == w) {
                snprintf(err, errlen, "workflow %s chosen twice", d->name);
                return -1;
            }
        }
        if (ch->mode == MODE_STANDBY && d->market != MARKET_SYSTEM) {
            snprintf(err, errlen, "standby starts no scan");
            return -1;
        }
    }
    if (m->budget_left >= 0 && decide_cost(ch) > m->budget_left + 1e-9) {
        snprintf(err, errlen, "workflows costing %g exceed the %g left of the run budget", decide_cost(ch),
                 m->budget_left);
        return -1;
    }
    return 0;
}

int decide_validate(const struct decide_menu *m, struct decide_choice *ch, char *err, size_t errlen)
{
    if (ch->mode < 0 || ch->mode >= MODE_COUNT) {
        snprintf(err, errlen, "unknown mode");
        return -1;
    }
    if (!m->mode_allowed[ch->mode]) {
        snprintf(err, errlen, "mode %s is not allowed now", catalog_mode_name(ch->mode));
        return -1;
    }
    if (ch->intensity < 0 || ch->intensity >= INTENSITY_COUNT) {
        snprintf(err, errlen, "unknown intensity");
        return -1;
    }
    if (!m->intensity_allowed[ch->intensity]) {
        snprintf(err, errlen, "intensity %s is not allowed now", catalog_intensity_name(ch->intensity));
        return -1;
    }
    if (decide_validate_wfs(m, ch, err, errlen) < 0)
        return -1;
    long clamped = decide_clamp(ch->next_seconds, m->min_seconds, m->max_seconds);
    if (clamped != ch->next_seconds) {
        size_t len = strlen(ch->reason);
        snprintf(ch->reason + len, sizeof ch->reason - len, " [next %ld s clamped to %ld s]",
                 ch->next_seconds, clamped);
        ch->next_seconds = clamped;
    }
    return 0;
}

void decide_menu_add_limits(const struct decide_menu *m, json_object *root)
{
    json_object *ints = json_object_new_array();
    for (int i = 0; i < INTENSITY_COUNT; i++)
        if (m->intensity_allowed[i])
            json_object_array_add(ints, json_object_new_string(catalog_intensity_name(i)));
    json_object_object_add(root, "intensities", ints);
    json_object *b = json_object_new_object();
    json_object_object_add(b, "min", json_object_new_int64(m->min_seconds));
    json_object_object_add(b, "max", json_object_new_int64(m->max_seconds));
    json_object_object_add(root, "next_seconds", b);
}

void decide_menu_add_excluded(const struct decide_menu *m, json_object *root)
{
    json_object *notes = json_object_new_array();
    for (int i = 0; i < m->nnotes; i++)
        json_object_array_add(notes, json_object_new_string(m->notes[i]));
    if (m->more_notes) {
        char more[64];
        snprintf(more, sizeof more, "... and %d more", m->more_notes);
        json_object_array_add(notes, json_object_new_string(more));
    }
    json_object_object_add(root, "excluded", notes);
}

json_object *decide_menu_to_json(const struct decide_menu *m)
{
    json_object *root = json_object_new_object();
    json_object *modes = json_object_new_object();
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        if (!m->mode_allowed[mode])
            continue;
        json_object *wfs = json_object_new_array();
        for (int k = 0; k < catalog_present(); k++) {
            int w = catalog_ordered(k);
            if (m->wf_allowed[mode][w])
                json_object_array_add(wfs, json_object_new_string(catalog_name(w)));
        }
        json_object_object_add(modes, catalog_mode_name(mode), wfs);
    }
    json_object_object_add(root, "modes", modes);
    decide_menu_add_limits(m, root);
    if (m->budget_left >= 0)
        json_object_object_add(root, "run_budget_left", json_object_new_double(m->budget_left));
    decide_menu_add_excluded(m, root);
    return root;
}

void decide_force(const struct decide_menu *m, struct decide_choice *ch)
{
    if (ch->mode == MODE_STANDBY)
        return;
    const unsigned char *allowed = m->wf_allowed[ch->mode];
    int before = ch->nwf;
    static const int markets[] = { MARKET_CRYPTO, MARKET_FOREX };
    for (size_t k = 0; k < sizeof markets / sizeof markets[0]; k++) {
        int mk = markets[k];
        if (!decide_market_fits(mk, ch->mode))
            continue;
        int has = 0;
        for (int i = 0; i < ch->nwf; i++)
            has |= catalog_workflow(ch->wf[i])->market == mk;
        int w = decide_scan_wf(allowed, mk, ch->intensity);
        if (!has && w >= 0)
            decide_add(m, ch, w);
    }
    int added = ch->nwf - before;
    if (added > 0) {
        size_t len = strlen(ch->reason);
        snprintf(ch->reason + len, sizeof ch->reason - len, " [forced: %d scan(s) added for the open markets]", added);
    }
}

int decide_same(const struct decide_choice *a, const struct decide_choice *b)
{
    if (a->mode != b->mode || a->intensity != b->intensity || a->nwf != b->nwf)
        return 0;
    for (int i = 0; i < a->nwf; i++) {
        int found = 0;
        for (int k = 0; k < b->nwf && !found; k++)
            found = a->wf[i] == b->wf[k];
        if (!found)
            return 0;
    }
    return 1;
}
