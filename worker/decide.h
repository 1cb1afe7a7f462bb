/* decide: from what was sensed to a validated choice.
 *
 * decide_menu_build() computes, deterministically, the actions allowed right
 * now (which modes, intensities and workflows, and the bounds of the next
 * decision time) from the catalog in force (catalog.h): a workflow is on
 * the menu when it is present and enabled, its market fits the mode, its
 * intensity is allowed, one of its sessions is open (when it lists any),
 * every source it needs is healthy, the deliver does not know it to be
 * unusable (open circuit, 404, inactive in n8n), its min_interval_seconds
 * have passed since its last run, it ran fewer than max_runs_per_day
 * times in the trailing 24 hours, and its cost fits what is left of
 * RUN_BUDGET_PER_HOUR.  Whoever chooses -- the fallback policy here, or an
 * LLM -- fills a struct decide_choice, and decide_validate() checks it
 * against the menu before anything acts on it.
 *
 * Which workflows a mode may start: crypto the crypto and system ones,
 * forex the forex and system ones, hybrid all, standby the system ones. */
#ifndef DECIDE_H
#define DECIDE_H

#include <json-c/json.h>

#include "catalog.h"
#include "cfg.h"
#include "sense.h"

#define DECIDE_MAX_NOTES 24
#define DECIDE_MAX_WF 16            /* workflows one decision starts, at most */

struct decide_menu {
    int mode_allowed[MODE_COUNT];
    int intensity_allowed[INTENSITY_COUNT];
    unsigned char wf_allowed[MODE_COUNT][CATALOG_SLOTS];   /* by registry slot, under each mode */
    long min_seconds, max_seconds;
    int crypto_ok, forex_ok;
    double budget_left;                     /* what RUN_BUDGET_PER_HOUR leaves; < 0: no budget */
    int nnotes;
    char notes[DECIDE_MAX_NOTES][200];      /* why something is not on the menu */
    int more_notes;                         /* notes left out for want of room */
};

struct decide_choice {
    int mode;                   /* enum catalog_mode */
    int intensity;              /* enum catalog_intensity */
    int source;                 /* enum catalog_source */
    int nwf;
    int wf[DECIDE_MAX_WF];      /* registry slots, no duplicates */
    long next_seconds;
    char reason[512];
};

/* Nonzero when a workflow of market `market` may run under mode `mode`. */
int decide_market_fits(int market, int mode);

/* Build the menu for this snapshot.  A workflow with snap->wf_blocked[w]
 * set (the deliver's view: open circuit, unavailable, inactive in n8n) is
 * on no mode's menu, and snap->wf_blocked_why[w] is noted; the limits come
 * from snap->usage (NULL: no run known). */
void decide_menu_build(const struct cfg *c, const struct sense_snapshot *snap, struct decide_menu *menu);

/* The fallback policy (v2): decisions are cheap, workflow runs cost.  The
 * mode is the most capable one the menu allows (the markets being watched);
 * each market's scan starts only when Thompson sampling over the allowed
 * intensities, with the posteriors of the market's current activity band
 * (snap->learn), expects it to find more opportunities than it costs (the
 * intensity's cost times the catalog cost of the workflow it would start)
 * -- or to explore (LEARN_EPSILON), or because the market's last scan is
 * older than LEARN_MAX_STALE_MINUTES.  A market's scan starts one
 * workflow: the first in catalog order on the menu for that market with
 * exactly the chosen intensity, else the first with intensity "any".  A
 * cross-market ("both") workflow is added when both markets are scanned,
 * at its intensity, while one market's activity band is high; the
 * "system" workflows when a source is unhealthy, at most once per
 * staleness limit.  Additions stop at DECIDE_MAX_WF and at the run budget.
 * The next decision comes when the first market needs a look
 * (learn_next_seconds), clamped to the menu's bounds.  With snap->learn
 * NULL only the priors count and every market counts as never scanned.
 * Source set to SOURCE_FALLBACK; always yields a choice that
 * decide_validate() accepts; deterministic for given inputs and LEARN_SEED. */
void decide_fallback(const struct cfg *c, const struct sense_snapshot *snap,
                     const struct decide_menu *menu, struct decide_choice *out);

/* Check ch against menu: mode and intensity allowed, every workflow on the
 * mode's menu, fitting the intensity, not twice, at most DECIDE_MAX_WF,
 * standby starting only system workflows, their costs within the run
 * budget.  The next-decision time is clamped into the menu's bounds
 * (noted in the reason); anything else outside the menu is rejected:
 * returns -1 with the cause in err, else 0. */
int decide_validate(const struct decide_menu *menu, struct decide_choice *ch, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Add the menu's "intensities" (the allowed ones' names) and
 * "next_seconds" ({"min","max"}) to root: the same in the stored menu
 * (decide_menu_to_json) and in the one the model reads (prompt.c). */
void decide_menu_add_limits(const struct decide_menu *m, json_object *root);

/* Add the menu's "excluded": its notes, and "... and N more" when some did
 * not fit (as in decide_menu_add_limits, for both menus). */
void decide_menu_add_excluded(const struct decide_menu *m, json_object *root);

/* The menu as JSON, for the audit trail.  Caller frees. */
json_object *decide_menu_to_json(const struct decide_menu *menu);

/* The workflow a scan of market (MARKET_CRYPTO or MARKET_FOREX) at
 * intensity starts among those allowed (a mode's wf_allowed row): the
 * first in catalog order with that exact intensity, else the first with
 * intensity "any"; -1 when none. */
int decide_scan_wf(const unsigned char *allowed, int market, int intensity);

/* A forced decision acts: add the scan of every market the chosen mode
 * covers that the choice does not scan yet (within the menu). */
void decide_force(const struct decide_menu *menu, struct decide_choice *ch);

/* Whether workflow w fits intensity i (its own, or "any"). */
int decide_wf_fits(int w, int intensity);

/* Whether two choices act alike: mode, intensity and the same set of workflows. */
int decide_same(const struct decide_choice *a, const struct decide_choice *b);

#endif
