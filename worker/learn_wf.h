/* learn_wf: what the worker learns per workflow.
 *
 * The fallback policy decides with the per-market estimates of learn.c
 * (per activity band, session and intensity); per workflow it keeps a Beta
 * posterior of a run's success and a Gamma-Poisson posterior of the
 * opportunities one run finds, decaying towards their priors with
 * LEARN_HALF_LIFE_HOURS like the others.  They are shown to people
 * (/status learning.workflows, /workflows/available) and given to the LLM
 * with the menu, so that among workflows of one market and intensity the
 * one that pays can be told apart.  Kept in struct learn per registry slot
 * (catalog.h) and saved by name (learn_to_json's "workflows"); a workflow
 * no longer in the catalog is not saved again. */
#ifndef LEARN_WF_H
#define LEARN_WF_H

#include <json-c/json.h>
#include <time.h>

struct learn;

/* One outcome of a run of workflow slot wf: success 1, 0, or -1 unknown;
 * opportunities found, or -1 unknown.  Evidence is decayed to `at` first. */
void learn_wf_observe(struct learn *l, int wf, int success, int opportunities, time_t at);

struct learn_wf_post {
    double success;                /* posterior mean of a run's success */
    double opportunities;          /* posterior mean of the opportunities per run */
    double runs;                   /* decayed outcomes seen */
};

/* The posteriors of slot wf at now (the priors for an unknown slot). */
void learn_wf_posterior(const struct learn *l, int wf, time_t now, struct learn_wf_post *out);

/* {"<name>": [ok, fail, opps, runs, at], ...} for the present workflows
 * with evidence.  Caller frees. */
json_object *learn_wf_to_json(const struct learn *l);

/* Restore from learn_wf_to_json's object (names this process knows; the
 * others are dropped).  j NULL: nothing. */
void learn_wf_from_json(struct learn *l, json_object *j);

/* {"<name>": {"runs", "success", "opportunities_per_run"}, ...} for the
 * present workflows, in catalog order.  Caller frees. */
json_object *learn_wf_summary(const struct learn *l, time_t now);

#endif
