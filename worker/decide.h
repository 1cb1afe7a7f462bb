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

#define DECIDE_MAX_NOTES 8

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

/* Build the menu for this snapshot. */
void decide_menu_build(const struct cfg *c, const struct sense_snapshot *snap, struct decide_menu *menu);

/* The fallback policy: a rule-based choice from the menu (source set to
 * SOURCE_FALLBACK).  Always yields a choice that decide_validate() accepts. */
void decide_fallback(const struct cfg *c, const struct sense_snapshot *snap,
                     const struct decide_menu *menu, struct decide_choice *out);

/* Check ch against menu.  The next-decision time is clamped into the
 * menu's bounds (noted in the reason); anything else outside the menu is
 * rejected: returns -1 with the cause in err, else 0. */
int decide_validate(const struct decide_menu *menu, struct decide_choice *ch, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The menu as JSON, for the audit trail and the prompt.  Caller frees. */
json_object *decide_menu_to_json(const struct decide_menu *menu);

/* Whether workflow w fits intensity i (crypto scans have one intensity each). */
int decide_wf_fits(int w, int intensity);

#endif
