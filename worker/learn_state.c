/* learn_state: the learned state as JSON and back (learn_to_json,
 * learn_from_json; see learn.h), what the worker saves in worker_state and
 * resumes from. */
#include "config.h"
#include "learn.h"
#include "learn_wf.h"

#include <math.h>
#include <string.h>

/* d rounded to 6 decimals for the stored state.  Never a non-finite
 * number (json-c would print Infinity or NaN, which PostgreSQL refuses):
 * a non-finite d is stored as 0, and one too large to round (|d| * 1e6
 * beyond a double) as it is. */
static json_object *learn_num(double d)
{
    if (!isfinite(d))
        d = 0;
    double r = round(d * 1e6) / 1e6;
    return json_object_new_double(isfinite(r) ? r : d);
}

static json_object *learn_stat_json(const struct learn_stat *s)
{
    json_object *a = json_object_new_array();
    json_object_array_add(a, learn_num(s->w));
    json_object_array_add(a, learn_num(s->mean));
    json_object_array_add(a, learn_num(s->m2));
    json_object_array_add(a, json_object_new_int64((long long)s->at));
    return a;
}

static double learn_get_num(json_object *a, size_t i)
{
    json_object *v = a && json_object_is_type(a, json_type_array) ? json_object_array_get_idx(a, i) : NULL;
    double d = v ? json_object_get_double(v) : 0;
    return isfinite(d) ? d : 0;
}

static int learn_stat_parse(json_object *a, struct learn_stat *s)
{
    if (!a || !json_object_is_type(a, json_type_array) || json_object_array_length(a) != 4)
        return -1;
    s->w = learn_get_num(a, 0);
    s->mean = learn_get_num(a, 1);
    s->m2 = learn_get_num(a, 2);
    s->at = (time_t)json_object_get_int64(json_object_array_get_idx(a, 3));
    return s->w >= 0 && s->m2 >= 0 ? 0 : -1;
}

static json_object *learn_field(json_object *o, const char *k)
{
    json_object *v = NULL;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* An arm as [ok, fail, opps, exposure, runs, at]. */
static json_object *learn_arm_json(const struct learn_arm *a)
{
    json_object *v = json_object_new_array();
    json_object_array_add(v, learn_num(a->ok));
    json_object_array_add(v, learn_num(a->fail));
    json_object_array_add(v, learn_num(a->opps));
    json_object_array_add(v, learn_num(a->exposure));
    json_object_array_add(v, learn_num(a->runs));
    json_object_array_add(v, json_object_new_int64((long long)a->at));
    return v;
}

/* n groups of LEARN_ARM_COUNT arms as an array of arrays. */
static json_object *learn_arms_json(const struct learn_arm (*arms)[LEARN_ARM_COUNT], int n)
{
    json_object *all = json_object_new_array();
    for (int b = 0; b < n; b++) {
        json_object *group = json_object_new_array();
        for (int i = 0; i < LEARN_ARM_COUNT; i++)
            json_object_array_add(group, learn_arm_json(&arms[b][i]));
        json_object_array_add(all, group);
    }
    return all;
}

/* Parse what learn_arms_json made (n groups) into arms.  Returns 0 or -1. */
static int learn_arms_parse(json_object *all, struct learn_arm (*arms)[LEARN_ARM_COUNT], int n)
{
    if (!all || !json_object_is_type(all, json_type_array) || json_object_array_length(all) != (size_t)n)
        return -1;
    for (int b = 0; b < n; b++) {
        json_object *group = json_object_array_get_idx(all, (size_t)b);
        if (!group || !json_object_is_type(group, json_type_array) || json_object_array_length(group) != LEARN_ARM_COUNT)
            return -1;
        for (int i = 0; i < LEARN_ARM_COUNT; i++) {
            json_object *a = json_object_array_get_idx(group, (size_t)i);
            if (!a || !json_object_is_type(a, json_type_array) || json_object_array_length(a) != 6)
                return -1;
            struct learn_arm *arm = &arms[b][i];
            arm->ok = learn_get_num(a, 0);
            arm->fail = learn_get_num(a, 1);
            arm->opps = learn_get_num(a, 2);
            arm->exposure = learn_get_num(a, 3);
            arm->runs = learn_get_num(a, 4);
            arm->at = (time_t)json_object_get_int64(json_object_array_get_idx(a, 5));
            if (arm->ok < 0 || arm->fail < 0 || arm->opps < 0 || arm->exposure < 0 || arm->runs < 0)
                return -1;
        }
    }
    return 0;
}

/* One market's learned state: {"baseline", "overall", "arms",
 * "session_arms", "spells", "occupancy", ...}.  Caller puts. */
static json_object *learn_market_to_json(const struct learn_market_state *s)
{
    json_object *o = json_object_new_object();
    json_object *bl = json_object_new_array(), *sp = json_object_new_array();
    for (int b = 0; b < LEARN_BUCKET_COUNT; b++) {
        json_object_array_add(bl, learn_stat_json(&s->baseline[b]));
        json_object *pair = json_object_new_array();
        json_object_array_add(pair, learn_stat_json(&s->spell[b].elevated));
        json_object_array_add(pair, learn_stat_json(&s->spell[b].quiet));
        json_object_array_add(sp, pair);
    }
    json_object_object_add(o, "baseline", bl);
    json_object_object_add(o, "overall", learn_stat_json(&s->overall));
    json_object_object_add(o, "arms", learn_arms_json(s->arm, LEARN_BAND_COUNT));
    json_object_object_add(o, "session_arms", learn_arms_json(s->sarm, LEARN_BUCKET_COUNT));
    json_object_object_add(o, "spells", sp);
    json_object *occ = json_object_new_array();
    for (int b = 0; b < LEARN_BAND_COUNT; b++)
        json_object_array_add(occ, learn_num(s->occ[b]));
    json_object_object_add(o, "occupancy", occ);
    json_object_object_add(o, "occupancy_at", json_object_new_int64((long long)s->occ_at));
    json_object_object_add(o, "valid", json_object_new_boolean(s->valid));
    json_object_object_add(o, "reading", learn_num(s->reading));
    json_object_object_add(o, "smooth", learn_num(s->smooth));
    json_object_object_add(o, "sensed_at", json_object_new_int64((long long)s->sensed_at));
    json_object_object_add(o, "last_scan_at", json_object_new_int64((long long)s->last_scan_at));
    json_object_object_add(o, "elevated", json_object_new_int(s->elevated));
    json_object_object_add(o, "spell_since", json_object_new_int64((long long)s->spell_since));
    json_object_object_add(o, "spell_bucket", json_object_new_int(s->spell_bucket));
    return o;
}

json_object *learn_to_json(const struct learn *l)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "version", json_object_new_int(LEARN_STATE_VERSION));
    json_object_object_add(root, "nobs", json_object_new_int64(l->nobs));
    json_object_object_add(root, "last_health_at", json_object_new_int64((long long)l->last_health_at));
    json_object_object_add(root, "prev_cycle_at", json_object_new_int64((long long)l->prev_cycle_at));
    json_object *ms = json_object_new_object();
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        json_object_object_add(ms, learn_market_name(m), learn_market_to_json(&l->m[m]));
    json_object_object_add(root, "markets", ms);
    json_object_object_add(root, "workflows", learn_wf_to_json(l));
    return root;
}

/* Read one market's state o (learn_market_to_json's; version 1 has no
 * "session_arms": those start from the priors) into s.  Returns 0, or -1
 * when o is not one (s then partly written). */
static int learn_market_from_json(json_object *o, int version, struct learn_market_state *s)
{
    json_object *v;
    json_object *bl = learn_field(o, "baseline"), *sp = learn_field(o, "spells"), *arms = learn_field(o, "arms");
    if (!bl || !sp || !arms || !json_object_is_type(bl, json_type_array) ||
        !json_object_is_type(sp, json_type_array) ||
        json_object_array_length(bl) != LEARN_BUCKET_COUNT || json_object_array_length(sp) != LEARN_BUCKET_COUNT)
        return -1;
    for (int b = 0; b < LEARN_BUCKET_COUNT; b++) {
        json_object *pair = json_object_array_get_idx(sp, (size_t)b);
        if (learn_stat_parse(json_object_array_get_idx(bl, (size_t)b), &s->baseline[b]) < 0 ||
            !pair || !json_object_is_type(pair, json_type_array) ||
            learn_stat_parse(json_object_array_get_idx(pair, 0), &s->spell[b].elevated) < 0 ||
            learn_stat_parse(json_object_array_get_idx(pair, 1), &s->spell[b].quiet) < 0)
            return -1;
    }
    if (learn_arms_parse(arms, s->arm, LEARN_BAND_COUNT) < 0)
        return -1;
    /* version 1 had no session estimates: they start from the priors */
    if (version == 1)
        memset(s->sarm, 0, sizeof s->sarm);
    else if (learn_arms_parse(learn_field(o, "session_arms"), s->sarm, LEARN_BUCKET_COUNT) < 0)
        return -1;
    if (learn_stat_parse(learn_field(o, "overall"), &s->overall) < 0)
        return -1;
    json_object *occ = learn_field(o, "occupancy");
    if (!occ || !json_object_is_type(occ, json_type_array) || json_object_array_length(occ) != LEARN_BAND_COUNT)
        return -1;
    for (int b = 0; b < LEARN_BAND_COUNT; b++)
        if ((s->occ[b] = learn_get_num(occ, (size_t)b)) < 0)
            return -1;
    s->occ_at = (v = learn_field(o, "occupancy_at")) ? (time_t)json_object_get_int64(v) : 0;
    s->valid = (v = learn_field(o, "valid")) ? json_object_get_boolean(v) : 0;
    s->reading = (v = learn_field(o, "reading")) ? json_object_get_double(v) : 0;
    s->smooth = (v = learn_field(o, "smooth")) ? json_object_get_double(v) : 0;
    s->sensed_at = (v = learn_field(o, "sensed_at")) ? (time_t)json_object_get_int64(v) : 0;
    s->last_scan_at = (v = learn_field(o, "last_scan_at")) ? (time_t)json_object_get_int64(v) : 0;
    s->elevated = (v = learn_field(o, "elevated")) ? json_object_get_int(v) : -1;
    s->spell_since = (v = learn_field(o, "spell_since")) ? (time_t)json_object_get_int64(v) : 0;
    s->spell_bucket = (v = learn_field(o, "spell_bucket")) ? json_object_get_int(v) : 7;
    if (s->spell_bucket < 0 || s->spell_bucket >= LEARN_BUCKET_COUNT || s->elevated < -1 || s->elevated > 1 ||
        !isfinite(s->reading) || !isfinite(s->smooth))
        return -1;
    return 0;
}

int learn_from_json(struct learn *l, json_object *j)
{
    json_object *ver = learn_field(j, "version"), *ms = learn_field(j, "markets");
    int version = ver ? json_object_get_int(ver) : 0;
    if ((version != 1 && version != LEARN_STATE_VERSION) || !ms)
        return -1;
    struct learn t = *l;
    json_object *v;
    t.nobs = (v = learn_field(j, "nobs")) ? json_object_get_int64(v) : 0;
    t.last_health_at = (v = learn_field(j, "last_health_at")) ? (time_t)json_object_get_int64(v) : 0;
    t.prev_cycle_at = (v = learn_field(j, "prev_cycle_at")) ? (time_t)json_object_get_int64(v) : 0;
    t.cycle_dt = (double)t.window_s;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        json_object *o = learn_field(ms, learn_market_name(m));
        if (!o)
            return -1;
        if (learn_market_from_json(o, version, &t.m[m]) < 0)
            return -1;
    }
    memset(t.wf, 0, sizeof t.wf);
    learn_wf_from_json(&t, learn_field(j, "workflows"));
    *l = t;
    return 0;
}
