/* learning: what the API shows of learning and replay (sql/003_learning.sql).
 *
 * The worker's learning summary (worker_state.learning, written by
 * worker/learn.c learn_summary_json) goes to /status verbatim and to
 * /metrics as gauges; replay runs (replay_runs, written by worker/orch-replay)
 * are listed by GET /replays, shown in full by GET /replays/{id} and drawn by
 * GET /replays/{id}/svg.
 *
 * Everything here is pure, for tests/unit/test_learning_api.c: the
 * parsing helpers (learning_replays_parse, learning_replay_item) and the
 * JSON helpers.  No SQL and no libpq here: query_replays.c (query_replays,
 * query_replay, query_replay_svg) reads the replay runs by column name into
 * a struct learning_run and shapes each with learning_run_json. */
#ifndef LEARNING_H
#define LEARNING_H

#include <json-c/json.h>
#include <stddef.h>

struct metrics_buf;

#define LEARNING_LIMIT_DEFAULT 20
#define LEARNING_LIMIT_MAX     100
#define LEARNING_ERR_MAX       128      /* room for any message learning_* writes */
#define LEARNING_SVG_MAX       (8u << 20)   /* larger pictures are refused (500) */

/* The Content-Security-Policy and nosniff headers of GET /replays/{id}/svg
 * (two header lines joined by CRLF, without the final one). */
#define LEARNING_SVG_HEADERS \
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n" \
    "X-Content-Type-Options: nosniff"
#define LEARNING_SVG_TYPE "image/svg+xml"

/* Parse the query string of GET /replays (NULL or "" for none): only
 * "limit", 1 .. LEARNING_LIMIT_MAX, default LEARNING_LIMIT_DEFAULT; unknown,
 * repeated or empty parameters are refused.  Returns 0 with *limit set, or
 * -1 with a message for the client in err (errlen bytes, LEARNING_ERR_MAX is
 * enough).  Nothing is allocated. */
int learning_replays_parse(const char *qs, int *limit, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse the item of "/replays/{item}": "{id}" (*svg 0) or "{id}/svg"
 * (*svg 1), id digits only, 1 .. 2^63-1.  Returns 0 with *id and *svg set,
 * or -1 (malformed id: 400), or -2 (an unknown sub-resource: 404). */
int learning_replay_item(const char *item, long long *id, int *svg) __attribute__((warn_unused_result));

/* A copy of o (borrowed, may be NULL) with every double printed with at
 * most 15 significant digits (0.3472 instead of 0.34720000000000001).
 * Returns the copy (caller frees) or NULL for a NULL o. */
json_object *learning_tidy(json_object *o);

/* The per-market comparison of a replay scorecard (borrowed):
 * {"crypto": {"coverage", "runs", "cron5_coverage", "cron5_runs",
 *  "coverage_vs_cron5", "runs_vs_cron5", "market_hours_cron5_coverage",
 *  "market_hours_cron5_runs", "coverage_vs_market_hours_cron5",
 *  "runs_vs_market_hours_cron5", "equal_runs_cron_period_s",
 *  "equal_runs_cron_runs", "equal_runs_cron_coverage",
 *  "coverage_minus_equal_runs_cron", "target_met" (against "target_basis",
 *  market-hours cron-5), "target_met_vs_cron5", "instruments",
 *  "top_windows", "policies": {"orchestrator"|"cron-5"|"cron-15"|"cron-60"|
 *  "market-hours-cron-5"|"equal-runs-cron": {"runs", "covered", "coverage",
 *  "period_s"}}}}: the scorecard's "markets" entries with
 * the policies summed over the market's instruments (covered and top
 * windows summed, runs the market's scans: the largest of its instruments).
 * Returns an object (caller frees), empty for a NULL or malformed
 * scorecard, or NULL when out of memory. */
json_object *learning_market_summary(json_object *scorecard);

/* The value of "learning" in /status: a learning_tidy() copy of learning
 * (borrowed, worker_state.learning; caller frees), or NULL (JSON null) when
 * it is NULL, not an object or empty (nothing learned yet) or out of memory. */
json_object *learning_status(json_object *learning);

/* The learning gauges (orchestrator_learning_*) of a summary (borrowed,
 * may be NULL or empty: then only HELP and TYPE lines): per market; per
 * market, band and intensity; and orchestrator_learning_session_* per
 * market, session and intensity -- label values only from the fixed sets
 * of bands, sessions and intensities, so the series stay bounded.  Appended to b
 * (a failure sets b->failed). */
void learning_metrics(struct metrics_buf *b, json_object *learning);

/* One replay run as query_replays.c reads it (replay_runs): the strings are
 * borrowed, NULL for SQL NULL; the JSON columns come as text. */
struct learning_run {
    long long id, seed;
    const char *created_at, *finished_at, *label, *status, *from, *to, *error;
    const char *files, *timings, *scorecard;       /* JSON text */
    const char *params;                            /* JSON text; NULL unless asked for */
    int has_svg;                                   /* a picture is stored */
};

/* A replay run as a /replays item; full adds "params" and the full
 * "scorecard".  Returns the item (caller frees) or NULL when out of
 * memory. */
json_object *learning_run_json(const struct learning_run *run, int full);

#endif
