/* learn_wf: per-workflow learning; see learn_wf.h. */
#include "config.h"
#include "learn_wf.h"
#include "catalog.h"
#include "learn.h"

#include <math.h>
#include <string.h>

#define LEARN_WF_PRIOR_SHAPE 1.0    /* Gamma prior of opportunities per run: mean 1 */
#define LEARN_WF_PRIOR_RATE 1.0

/* arm decayed from its time to now. */
static struct learn_wf_arm learn_wf_at(const struct learn *l, int wf, time_t now)
{
    struct learn_wf_arm a = l->wf[wf];
    if (a.at > 0 && now > a.at && l->half_life_s > 0) {
        double f = pow(0.5, (double)(now - a.at) / l->half_life_s);
        a.ok *= f;
        a.fail *= f;
        a.opps *= f;
        a.runs *= f;
        a.oruns *= f;
    }
    if (now > a.at)
        a.at = now;
    return a;
}

void learn_wf_observe(struct learn *l, int wf, int success, int opportunities, time_t at)
{
    if (!l || wf < 0 || wf >= CATALOG_SLOTS || (success < 0 && opportunities < 0))
        return;
    struct learn_wf_arm a = learn_wf_at(l, wf, at);
    if (success == 1)
        a.ok += 1;
    else if (success == 0)
        a.fail += 1;
    if (opportunities >= 0) {
        a.opps += opportunities;
        a.oruns += 1;
    }
    a.runs += 1;
    l->wf[wf] = a;
}

void learn_wf_posterior(const struct learn *l, int wf, time_t now, struct learn_wf_post *out)
{
    memset(out, 0, sizeof *out);
    struct learn_wf_arm a = { 0 };
    if (wf >= 0 && wf < CATALOG_SLOTS)
        a = learn_wf_at(l, wf, now);
    out->success = (1 + a.ok) / (2 + a.ok + a.fail);
    out->opportunities = (LEARN_WF_PRIOR_SHAPE + a.opps) / (LEARN_WF_PRIOR_RATE + a.oruns);
    out->runs = a.runs;
}

static json_object *learn_wf_num(double v)
{
    return json_object_new_double(isfinite(v) ? round(v * 1e4) / 1e4 : 0);
}

json_object *learn_wf_to_json(const struct learn *l)
{
    json_object *o = json_object_new_object();
    for (int k = 0; o && k < catalog_present(); k++) {
        int w = catalog_ordered(k);
        const struct learn_wf_arm *a = &l->wf[w];
        if (a->at <= 0)
            continue;
        json_object *v = json_object_new_array();
        json_object_array_add(v, learn_wf_num(a->ok));
        json_object_array_add(v, learn_wf_num(a->fail));
        json_object_array_add(v, learn_wf_num(a->opps));
        json_object_array_add(v, learn_wf_num(a->runs));
        json_object_array_add(v, json_object_new_int64((long long)a->at));
        json_object_array_add(v, learn_wf_num(a->oruns));
        json_object_object_add(o, catalog_name(w), v);
    }
    return o;
}

void learn_wf_from_json(struct learn *l, json_object *j)
{
    if (!j || !json_object_is_type(j, json_type_object))
        return;
    json_object_object_foreach(j, name, v) {
        int w = catalog_workflow_parse(name);
        if (w < 0 || !json_object_is_type(v, json_type_array) || json_object_array_length(v) < 5)
            continue;
        double x[6] = { 0 };
        for (size_t i = 0; i < 6 && i < json_object_array_length(v); i++) {
            x[i] = json_object_get_double(json_object_array_get_idx(v, i));
            if (!isfinite(x[i]) || x[i] < 0)
                x[i] = 0;
        }
        /* a version without the opportunity count: every run counted one */
        l->wf[w] = (struct learn_wf_arm){ x[0], x[1], x[2], x[3], (time_t)x[4],
                                          json_object_array_length(v) >= 6 ? x[5] : x[3] };
    }
}

json_object *learn_wf_summary(const struct learn *l, time_t now)
{
    json_object *o = json_object_new_object();
    for (int k = 0; o && k < catalog_present(); k++) {
        int w = catalog_ordered(k);
        struct learn_wf_post p;
        learn_wf_posterior(l, w, now, &p);
        json_object *e = json_object_new_object();
        json_object_object_add(e, "runs", learn_wf_num(p.runs));
        json_object_object_add(e, "success", learn_wf_num(p.success));
        json_object_object_add(e, "opportunities_per_run", learn_wf_num(p.opportunities));
        json_object_object_add(o, catalog_name(w), e);
    }
    return o;
}
