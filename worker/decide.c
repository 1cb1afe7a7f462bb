/* decide: menu, fallback policy and validation; see decide.h. */
#include "config.h"
#include "decide.h"

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

void decide_fallback(const struct cfg *c, const struct sense_snapshot *snap,
                     const struct decide_menu *m, struct decide_choice *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->source = SOURCE_FALLBACK;
    const struct sense_market *mk = &snap->market;

    if (m->mode_allowed[MODE_HYBRID])      ch->mode = MODE_HYBRID;
    else if (m->mode_allowed[MODE_CRYPTO]) ch->mode = MODE_CRYPTO;
    else if (m->mode_allowed[MODE_FOREX])  ch->mode = MODE_FOREX;
    else                                   ch->mode = MODE_STANDBY;

    /* crypto intensity from the market's own movement; forex from the session */
    int crypto_int = INTENSITY_NORMAL, forex_int = INTENSITY_LIGHT;
    if (mk->crypto_volatility >= c->volatility_high)
        crypto_int = INTENSITY_AGGRESSIVE;
    else if (mk->crypto_volatility < c->volatility_low)
        crypto_int = INTENSITY_LIGHT;
    const int *open = snap->sessions.open;
    if (open[SESSION_LONDON] && open[SESSION_NEWYORK])
        forex_int = INTENSITY_AGGRESSIVE;
    else if (open[SESSION_LONDON] || open[SESSION_NEWYORK])
        forex_int = INTENSITY_NORMAL;

    switch (ch->mode) {
    case MODE_CRYPTO: ch->intensity = crypto_int; break;
    case MODE_FOREX:  ch->intensity = forex_int; break;
    case MODE_HYBRID: ch->intensity = crypto_int < forex_int ? crypto_int : forex_int; break;
    default:          ch->intensity = INTENSITY_LIGHT; break;
    }
    if (!m->intensity_allowed[ch->intensity])
        ch->intensity = INTENSITY_NORMAL;

    const int *allowed = m->wf_allowed[ch->mode];
    if (ch->mode == MODE_CRYPTO || ch->mode == MODE_HYBRID) {
        int scan = ch->intensity == INTENSITY_AGGRESSIVE ? WF_CRYPTO_AGGRESSIVE
                 : ch->intensity == INTENSITY_NORMAL ? WF_CRYPTO_NORMAL : WF_CRYPTO_LIGHT;
        if (allowed[scan])
            decide_add(ch, scan);
    }
    if (ch->mode == MODE_FOREX || ch->mode == MODE_HYBRID) {
        for (int w = WF_FOREX_LONDON; w <= WF_FOREX_ASIA; w++)
            if (allowed[w])
                decide_add(ch, w);
    }
    if (ch->mode == MODE_HYBRID && ch->intensity == INTENSITY_AGGRESSIVE &&
        mk->crypto_volatility >= c->volatility_high && allowed[WF_DEEP_ANALYSIS])
        decide_add(ch, WF_DEEP_ANALYSIS);
    int unhealthy = 0;
    for (int f = 0; f < FEED_COUNT; f++)
        if (snap->probes[f].configured && !snap->probes[f].ok)
            unhealthy++;
    if (unhealthy && allowed[WF_HEALTH_CHECK])
        decide_add(ch, WF_HEALTH_CHECK);

    static const long interval[INTENSITY_COUNT] = { 120, 300, 900 };
    long next = ch->mode == MODE_STANDBY ? 900 : interval[ch->intensity];
    ch->next_seconds = decide_clamp(next, m->min_seconds, m->max_seconds);

    char crypto_txt[96] = "crypto off", forex_txt[96] = "forex off";
    if (m->crypto_ok)
        snprintf(crypto_txt, sizeof crypto_txt, "crypto volatility %.2f%% (light<%.2f, aggressive>=%.2f)",
                 mk->crypto_volatility, c->volatility_low, c->volatility_high);
    if (m->forex_ok)
        snprintf(forex_txt, sizeof forex_txt, "forex session %s", snap->session_label);
    snprintf(ch->reason, sizeof ch->reason, "%s/%s: %s; %s; %d source(s) unhealthy; next in %ld s",
             catalog_mode_name(ch->mode), catalog_intensity_name(ch->intensity),
             crypto_txt, forex_txt, unhealthy, ch->next_seconds);
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
