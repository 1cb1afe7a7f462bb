/* catalog: the vocabulary of decisions, and the workflows the worker knows.
 *
 * Modes, intensities, decision sources, data sources, markets and
 * concurrency policies: each with one function mapping the enum to the
 * string that the SQL CHECK constraints, the API and the LLM use, and one
 * parsing it back.
 *
 * The workflows themselves are not compiled in: they come from the user's
 * catalog file (worker/catalog_file.c loads and validates it,
 * catalog/default.json ships the eight seed workflows).  This module keeps
 * the process's *registry* of workflows: a table of slots, one per
 * workflow name, whose index ("slot", the int every worker module passes
 * around as `wf`) never changes for the life of the process.
 * catalog_install() puts a validated catalog in force: its entries get
 * (or keep) their slots and are marked present; workflows no longer in it
 * keep their slots (marked not present: off every menu, but the history,
 * running executions and results of their triggers still resolve by
 * slot).  Names read back from the database that no catalog of this
 * process had (a workflow removed before a restart) get a slot of their
 * own on first sight (catalog_slot), with default attributes, never
 * present.  CATALOG_SLOTS bounds the names one process can know; a
 * catalog that would need more is refused (restart the worker).
 *
 * The API never reads the registry: it reads the `workflows` table that
 * the worker keeps in step with it (sql/008_catalog.sql).  Not thread
 * safe: the worker and the replay are single-threaded. */
#ifndef CATALOG_H
#define CATALOG_H

#include <stddef.h>

enum catalog_mode {
    MODE_CRYPTO = 0, MODE_FOREX, MODE_HYBRID, MODE_STANDBY, MODE_COUNT
};
enum catalog_intensity {
    INTENSITY_AGGRESSIVE = 0, INTENSITY_NORMAL, INTENSITY_LIGHT, INTENSITY_COUNT
};
enum catalog_source {
    SOURCE_LLM = 0, SOURCE_FALLBACK, SOURCE_FORCED, SOURCE_COUNT
};
enum catalog_feed {
    FEED_DEXSCREENER = 0, FEED_PUMPFUN, FEED_TRADERMADE, FEED_BIRDEYE, FEED_COUNT
};
/* What a workflow is for.  crypto and forex scan one market; both is a
 * cross-market analysis; system checks the orchestrator's own sources. */
enum catalog_market { MARKET_CRYPTO = 0, MARKET_FOREX, MARKET_BOTH, MARKET_SYSTEM, MARKET_COUNT };
/* What a new trigger does while a previous one of the workflow runs
 * (worker/deliver.c): the values of enum deliver_policy. */
enum catalog_concurrency { CONCURRENCY_ALLOW = 0, CONCURRENCY_FORBID, CONCURRENCY_REPLACE, CONCURRENCY_COUNT };

#define CATALOG_MAX 200              /* workflows in one catalog file */
#define CATALOG_SLOTS 512            /* workflow names one process can know */
#define CATALOG_NAME_MAX 64          /* bytes of a name (webhook path) */
#define CATALOG_TITLE_MAX 120        /* bytes of a title */
#define CATALOG_PARAMS_MAX 4096      /* bytes of an entry's "parameters" as JSON text */
#define CATALOG_ANY_INTENSITY (-1)   /* a workflow that fits every intensity */

/* One workflow: a catalog entry (worker/catalog_file.c fills it), or a
 * registry slot. */
struct catalog_wf {
    char name[CATALOG_NAME_MAX + 1];   /* webhook path: POST {N8N_BASE_URL}/webhook/<name> */
    char title[CATALOG_TITLE_MAX + 1];
    int market;                  /* enum catalog_market */
    int intensity;               /* enum catalog_intensity or CATALOG_ANY_INTENSITY */
    unsigned sessions;           /* bit 1 << enum session_id per forex session it belongs to; 0: any time */
    unsigned needs;              /* bit 1 << enum catalog_feed per source that must be healthy */
    int concurrency;             /* enum catalog_concurrency */
    char parameters[CATALOG_PARAMS_MAX + 1];   /* a JSON object, merged into the payload's "parameters" */
    double cost;                 /* weight in the run budget and in learning (> 0) */
    long min_interval_seconds;   /* 0: none */
    long max_runs_per_day;       /* runs started in the trailing 24 hours, at most; 0: no limit */
    int expects_result;          /* the workflow posts its result (POST /results) */
    long timeout_seconds;        /* its execution times out after this; 0: TRACK_TIMEOUT_SECONDS */
    int enabled;                 /* 0: kept in the catalog but never offered */
    int claims;                  /* it claims its idempotency key (POST /claims) when it starts */
    /* registry only */
    int present;                 /* in the catalog in force */
    int order;                   /* its position in that catalog (present only) */
};

/* Static strings; "unknown" for out-of-range values. */
const char *catalog_mode_name(int m);
const char *catalog_intensity_name(int i);
const char *catalog_source_name(int s);
const char *catalog_feed_name(int f);
const char *catalog_market_name(int m);
const char *catalog_concurrency_name(int c);
/* "any" for CATALOG_ANY_INTENSITY, else catalog_intensity_name(i). */
const char *catalog_wf_intensity_name(int i);

/* Parse a name back; returns the enum value or -1. */
int catalog_mode_parse(const char *s);
int catalog_intensity_parse(const char *s);
int catalog_feed_parse(const char *s);
int catalog_market_parse(const char *s);
int catalog_concurrency_parse(const char *s);

/* Nonzero when s is a usable workflow name: a webhook path of 1 to
 * CATALOG_NAME_MAX bytes made of segments separated by single '/', each
 * starting with a letter or digit and made of letters, digits, '-', '_'
 * and '.' (no leading or trailing '/', no "..", no ':' path parameters,
 * nothing that needs escaping in a URL, a metric label or a key). */
int catalog_name_valid(const char *s);

/* ---- the registry ------------------------------------------------------------ */

/* A loaded, validated catalog in file order (worker/catalog_file.c). */
struct catalog {
    int n;
    struct catalog_wf wf[CATALOG_MAX];
};

/* Put cat in force: see the header comment.  Returns 0, or -1 with the
 * reason in err (too many names for CATALOG_SLOTS; nothing changed). */
int catalog_install(const struct catalog *cat, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Forget every slot (tests; a zeroed registry has no workflow). */
void catalog_reset(void);

/* Slots in use: loops over the workflows go from 0 to this. */
int catalog_count(void);

/* Workflows present in the catalog in force. */
int catalog_present(void);

/* The slot of the k-th present workflow in catalog order (0 <= k <
 * catalog_present()), or -1. */
int catalog_ordered(int k);

/* The workflow in slot w (borrowed, valid until the next catalog_reset),
 * or NULL when w is not a slot in use. */
const struct catalog_wf *catalog_workflow(int w);

/* The name of slot w, "unknown" when w is not a slot in use.  Never NULL. */
const char *catalog_name(int w);

/* The slot of workflow name s, present or not, or -1 when this process
 * knows no such name. */
int catalog_workflow_parse(const char *s);

/* The same, but a valid name this process does not know yet gets a slot
 * of its own (not present, default attributes): for names read back from
 * the database.  Returns -1 for an invalid name or a full registry. */
int catalog_slot(const char *s);

/* Nonzero when slot w is present and enabled: a workflow that may be offered. */
int catalog_offered(int w);

#endif
