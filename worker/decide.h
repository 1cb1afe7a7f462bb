/* decide: from what was sensed to a validated choice.
 *
 * decide_menu_build() computes, deterministically, the actions allowed right
 * now (which modes, intensities and workflows, and the bounds of the next
 * decision time).  Whoever chooses -- the fallback policy here, or an LLM --
 * fills a struct decide_choice, and decide_validate() checks it against the
 * menu before anything acts on it. */
#ifndef DECIDE_H
#define DECIDE_H

#include <json-c/json.h>

#include "catalog.h"
#include "cfg.h"
#include "sense.h"

#define DECIDE_MAX_NOTES 16

struct decide_menu {
    int mode_allowed[MODE_COUNT];
    int intensity_allowed[INTENSITY_COUNT];
    int wf_allowed[MODE_COUNT][WF_COUNT];   /* workflows allowed under each mode */
    long min_seconds, max_seconds;
    int crypto_ok, forex_ok;
    int nnotes;
    char notes[DECIDE_MAX_NOTES][120];      /* why something is not on the menu */
};

struct decide_choice {
    int mode;                   /* enum catalog_mode */
    int intensity;              /* enum catalog_intensity */
    int source;                 /* enum catalog_source */
    int nwf;
    int wf[WF_COUNT];           /* enum catalog_workflow, no duplicates */
    long next_seconds;
    char reason[512];
};

/* Build the menu for this snapshot.  A workflow with snap->wf_blocked[w]
 * set (the deliver's view: open circuit, unavailable, inactive in n8n) is
 * on no mode's menu, and snap->wf_blocked_why[w] is noted. */
void decide_menu_build(const struct cfg *c, const struct sense_snapshot *snap, struct decide_menu *menu);

/* The fallback policy (v2): decisions are cheap, workflow runs cost.  The
 * mode is the most capable one the menu allows (the markets being watched);
 * each market's scan starts only when Thompson sampling over the allowed
 * intensities, with the posteriors of the market's current activity band
 * (snap->learn), expects it to find more opportunities than it costs --
 * or to explore (LEARN_EPSILON), or because the market's last scan is
 * older than LEARN_MAX_STALE_MINUTES.  A forex scan starts one session
 * workflow (london, else newyork, else asia).  A health check starts when
 * a source is unhealthy, at most once per staleness limit.  The next
 * decision comes when the first market needs a look (learn_next_seconds),
 * clamped to the menu's bounds.  With snap->learn NULL only the priors
 * count and every market counts as never scanned.  Source set to
 * SOURCE_FALLBACK; always yields a choice that decide_validate() accepts;
 * deterministic for given inputs and LEARN_SEED. */
void decide_fallback(const struct cfg *c, const struct sense_snapshot *snap,
                     const struct decide_menu *menu, struct decide_choice *out);

/* Check ch against menu.  The next-decision time is clamped into the
 * menu's bounds (noted in the reason); anything else outside the menu is
 * rejected: returns -1 with the cause in err, else 0. */
int decide_validate(const struct decide_menu *menu, struct decide_choice *ch, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The menu as JSON, for the audit trail and the prompt.  Caller frees. */
json_object *decide_menu_to_json(const struct decide_menu *menu);

/* The forex session workflow a forex scan starts among those allowed
 * (london, newyork, asia in that order), or -1. */
int decide_forex_wf(const int *allowed);

/* A forced decision acts: add the scan of every market the chosen mode
 * covers that the choice does not scan yet (within the menu). */
void decide_force(const struct decide_menu *menu, struct decide_choice *ch);

/* Whether workflow w fits intensity i (crypto scans have one intensity each). */
int decide_wf_fits(int w, int intensity);

#endif
