/* decide: menu, fallback policy and validation; see decide.h. */
#include "config.h"
#include "decide.h"
#include "learn.h"

#include <stdio.h>
#include <string.h>

static void decide_note(struct decide_menu *m, const char *text)
{
    if (m->nnotes < DECIDE_MAX_NOTES)
        snprintf(m->notes[m->nnotes++], sizeof m->notes[0], "%s", text);
}

int decide_wf_fits(int w, int intensity)
{
    const struct catalog_wf *d = catalog_workflow(w);
    return d && (d->intensity == WF_ANY_INTENSITY || d->intensity == intensity);
}

void decide_menu_build(const struct cfg *c, const struct sense_snapshot *snap, struct decide_menu *m)
{
    memset(m, 0, sizeof *m);
    m->min_seconds = c->decision_min_seconds;
    m->max_seconds = c->decision_max_seconds;
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

    for (int mode = 0; mode < MODE_COUNT; mode++) {
        if (!m->mode_allowed[mode])
            continue;
        int *wf = m->wf_allowed[mode];
        wf[WF_HEALTH_CHECK] = 1;
        if (mode == MODE_CRYPTO || mode == MODE_HYBRID) {
            wf[WF_CRYPTO_AGGRESSIVE] = m->intensity_allowed[INTENSITY_AGGRESSIVE];
            wf[WF_CRYPTO_NORMAL] = 1;
            wf[WF_CRYPTO_LIGHT] = 1;
        }
        if (mode == MODE_FOREX || mode == MODE_HYBRID) {
            wf[WF_FOREX_LONDON] = snap->sessions.open[SESSION_LONDON];
            wf[WF_FOREX_NEWYORK] = snap->sessions.open[SESSION_NEWYORK];
            wf[WF_FOREX_ASIA] = snap->sessions.open[SESSION_TOKYO] || snap->sessions.open[SESSION_SYDNEY];
        }
        if (mode == MODE_HYBRID)
            wf[WF_DEEP_ANALYSIS] = m->intensity_allowed[INTENSITY_AGGRESSIVE];
    }

    /* what the deliver knows: open circuits, workflows n8n does not serve */
    for (int w = 0; w < WF_COUNT; w++) {
        if (!snap->wf_blocked[w])
            continue;
        for (int mode = 0; mode < MODE_COUNT; mode++)
            m->wf_allowed[mode][w] = 0;
        decide_note(m, snap->wf_blocked_why[w][0] ? snap->wf_blocked_why[w] : catalog_workflow(w)->path);
    }
}

static long decide_clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void decide_add(struct decide_choice *ch, int w)
{
    for (int i = 0; i < ch->nwf; i++)
        if (ch->wf[i] == w)
            return;
    if (ch->nwf < WF_COUNT)
        ch->wf[ch->nwf++] = w;
}

/* The crypto scan workflow of an intensity. */
static int decide_crypto_wf(int intensity)
{
    return intensity == INTENSITY_AGGRESSIVE ? WF_CRYPTO_AGGRESSIVE
         : intensity == INTENSITY_NORMAL ? WF_CRYPTO_NORMAL : WF_CRYPTO_LIGHT;
}

int decide_forex_wf(const int *allowed)
{
    static const int order[] = { WF_FOREX_LONDON, WF_FOREX_NEWYORK, WF_FOREX_ASIA };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (allowed[order[i]])
            return order[i];
    return -1;
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

/* The watch's say on market mk's scan: when the watch covers it, scan
 * only when an event of mk woke the decision -- then with the intensity
 * Thompson sampling chose, or a light one when no scan seemed worth its
 * cost (the event says otherwise).  *scan (an intensity or -1) and *why
 * are updated.  crypto_wf (the menu's workflows, for crypto's scans; NULL
 * for forex) limits the intensities to those a workflow exists for. */
static void decide_watched(const struct sense_snapshot *snap, int mk, int ok, const int *intensity_allowed,
                           const int *crypto_wf, int *scan, const char **why)
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
        if (intensity_allowed[i] && (!crypto_wf || crypto_wf[decide_crypto_wf(i)])) {
            *scan = i;
            *why = "event";
            return;
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
    const int *allowed = m->wf_allowed[ch->mode];

    /* each market: Thompson sampling over the intensities it may run */
    int arms[LEARN_ARM_COUNT];
    int ci = -1, fi = -1;
    const char *cwhy = "", *fwhy = "";
    double cval = 0, fval = 0;
    if (m->crypto_ok) {
        for (int i = 0; i < LEARN_ARM_COUNT; i++)
            arms[i] = m->intensity_allowed[i] && allowed[decide_crypto_wf(i)];
        ci = learn_choose(l, LEARN_CRYPTO, arms, now, &cwhy, &cval);
    }
    int fwf = decide_forex_wf(allowed);
    if (m->forex_ok && fwf >= 0) {
        for (int i = 0; i < LEARN_ARM_COUNT; i++)
            arms[i] = m->intensity_allowed[i];
        fi = learn_choose(l, LEARN_FOREX, arms, now, &fwhy, &fval);
    }
    /* a market the watch covers is scanned when its activity woke this
     * decision, not on the fallback's own schedule (nor by its
     * exploration or staleness floors): the watch looks every minute */
    decide_watched(snap, LEARN_CRYPTO, m->crypto_ok, m->intensity_allowed, allowed, &ci, &cwhy);
    decide_watched(snap, LEARN_FOREX, m->forex_ok && fwf >= 0, m->intensity_allowed, NULL, &fi, &fwhy);

    /* the decision's intensity is the crypto scan's (its workflow carries
     * it), else the forex scan's, else light: nothing runs */
    if (ci >= 0)
        ch->intensity = ci;
    else if (fi >= 0)
        ch->intensity = fi;
    else
        ch->intensity = m->intensity_allowed[INTENSITY_LIGHT] ? INTENSITY_LIGHT : INTENSITY_NORMAL;
    if (ch->mode == MODE_STANDBY)
        ch->intensity = INTENSITY_LIGHT;
    if (ci >= 0 && ch->mode != MODE_STANDBY)
        decide_add(ch, decide_crypto_wf(ci));
    if (fi >= 0 && ch->mode != MODE_STANDBY)
        decide_add(ch, fwf);
    if (ci >= 0 && fi >= 0 && ch->intensity == INTENSITY_AGGRESSIVE &&
        l->m[LEARN_CRYPTO].band == LEARN_HIGH && allowed[WF_DEEP_ANALYSIS])
        decide_add(ch, WF_DEEP_ANALYSIS);

    int unhealthy = 0;
    for (int f = 0; f < FEED_COUNT; f++)
        if (snap->probes[f].configured && !snap->probes[f].ok)
            unhealthy++;
    int health_due = l->last_health_at <= 0 || now - l->last_health_at >= l->max_stale_s;
    if (unhealthy && health_due && allowed[WF_HEALTH_CHECK])
        decide_add(ch, WF_HEALTH_CHECK);

    /* decide again when the first market needs a look */
    long next = -1;
    if (m->crypto_ok)
        next = learn_next_seconds(l, LEARN_CRYPTO, now, ci >= 0);
    if (m->forex_ok && fwf >= 0) {
        long f = learn_next_seconds(l, LEARN_FOREX, now, fi >= 0);
        if (next < 0 || f < next)
            next = f;
    }
    if (next < 0)
        next = l->window_s;
    /* every market it could scan is watched: its wake-ups come when they
     * must, the schedule only keeps an eye on the rest (health, sessions) */
    if (snap->watch && (!m->crypto_ok || snap->watch->covers[LEARN_CRYPTO]) &&
        (!(m->forex_ok && fwf >= 0) || snap->watch->covers[LEARN_FOREX]) && (m->crypto_ok || m->forex_ok))
        next = m->max_seconds;
    ch->next_seconds = decide_clamp(next, m->min_seconds, m->max_seconds);

    char ctxt[200], ftxt[200];
    decide_market_text(l, LEARN_CRYPTO, m->crypto_ok, ci, cwhy, cval, ctxt, sizeof ctxt);
    decide_market_text(l, LEARN_FOREX, m->forex_ok && fwf >= 0, fi, fwhy, fval, ftxt, sizeof ftxt);
    snprintf(ch->reason, sizeof ch->reason, "%s/%s: %s; %s; session %s; %d source(s) unhealthy; next in %ld s",
             catalog_mode_name(ch->mode), catalog_intensity_name(ch->intensity), ctxt, ftxt,
             snap->session_label ? snap->session_label : "closed", unhealthy, ch->next_seconds);
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
    if (ch->nwf < 0 || ch->nwf > WF_COUNT) {
        snprintf(err, errlen, "too many workflows");
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
            snprintf(err, errlen, "workflow %s is not on the menu for mode %s", d->path, catalog_mode_name(ch->mode));
            return -1;
        }
        if (!decide_wf_fits(w, ch->intensity)) {
            snprintf(err, errlen, "workflow %s does not fit intensity %s", d->path,
                     catalog_intensity_name(ch->intensity));
            return -1;
        }
        for (int k = 0; k < i; k++) {
            if (ch->wf[k] == w) {
                snprintf(err, errlen, "workflow %s chosen twice", d->path);
                return -1;
            }
        }
    }
    if (ch->mode == MODE_STANDBY && ch->nwf > 0) {
        for (int i = 0; i < ch->nwf; i++) {
            if (ch->wf[i] != WF_HEALTH_CHECK) {
                snprintf(err, errlen, "standby starts no scan");
                return -1;
            }
        }
    }
    long clamped = decide_clamp(ch->next_seconds, m->min_seconds, m->max_seconds);
    if (clamped != ch->next_seconds) {
        size_t len = strlen(ch->reason);
        snprintf(ch->reason + len, sizeof ch->reason - len, " [next %ld s clamped to %ld s]",
                 ch->next_seconds, clamped);
        ch->next_seconds = clamped;
    }
    return 0;
}

json_object *decide_menu_to_json(const struct decide_menu *m)
{
    json_object *root = json_object_new_object();
    json_object *modes = json_object_new_object();
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        if (!m->mode_allowed[mode])
            continue;
        json_object *wfs = json_object_new_array();
        for (int w = 0; w < WF_COUNT; w++)
            if (m->wf_allowed[mode][w])
                json_object_array_add(wfs, json_object_new_string(catalog_workflow(w)->path));
        json_object_object_add(modes, catalog_mode_name(mode), wfs);
    }
    json_object_object_add(root, "modes", modes);
    json_object *ints = json_object_new_array();
    for (int i = 0; i < INTENSITY_COUNT; i++)
        if (m->intensity_allowed[i])
            json_object_array_add(ints, json_object_new_string(catalog_intensity_name(i)));
    json_object_object_add(root, "intensities", ints);
    json_object *b = json_object_new_object();
    json_object_object_add(b, "min", json_object_new_int64(m->min_seconds));
    json_object_object_add(b, "max", json_object_new_int64(m->max_seconds));
    json_object_object_add(root, "next_seconds", b);
    json_object *notes = json_object_new_array();
    for (int i = 0; i < m->nnotes; i++)
        json_object_array_add(notes, json_object_new_string(m->notes[i]));
    json_object_object_add(root, "excluded", notes);
    return root;
}

void decide_force(const struct decide_menu *m, struct decide_choice *ch)
{
    if (ch->mode == MODE_STANDBY)
        return;
    const int *allowed = m->wf_allowed[ch->mode];
    int added = 0, before = ch->nwf;
    if ((ch->mode == MODE_CRYPTO || ch->mode == MODE_HYBRID) && allowed[decide_crypto_wf(ch->intensity)]) {
        int has = 0;
        for (int i = 0; i < ch->nwf; i++)
            if (catalog_workflow(ch->wf[i])->market == MARKET_CRYPTO)
                has = 1;
        if (!has)
            decide_add(ch, decide_crypto_wf(ch->intensity));
    }
    if (ch->mode == MODE_FOREX || ch->mode == MODE_HYBRID) {
        int fwf = decide_forex_wf(allowed);
        if (fwf >= 0)
            decide_add(ch, fwf);
    }
    added = ch->nwf - before;
    if (added > 0) {
        size_t len = strlen(ch->reason);
        snprintf(ch->reason + len, sizeof ch->reason - len, " [forced: %d scan(s) added for the open markets]", added);
    }
}

