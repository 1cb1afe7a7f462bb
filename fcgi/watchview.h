/* watchview: what /status and /metrics show of the watch (worker/watch.c):
 * each market's activity against its threshold, each source's request
 * budget and the interval the watch samples it at, the live scorecard of
 * the last QUERY_WATCH_DAYS days, and the last 24 hours' decisions by why
 * they were made.  Reads query_state.watch only (built by the worker as
 * worker_state.watch and by SQL from watch_days and decisions); every
 * member is checked, as the JSON comes from the database. */
#ifndef WATCHVIEW_H
#define WATCHVIEW_H

#include <json-c/json.h>

#include "metrics.h"

/* /status's "watch": {"active", "window_minutes", "event_share",
 * "markets": {market: {covered, score, threshold, window_peak, windows,
 * instrument, wakes, last_sample_at}}, "sources": {source: {watched,
 * healthy, error, interval_seconds, stretched, why, limits, used, polls,
 * samples}}, "scorecard": {"days": [...], "summary": {market: {days, top,
 * covered, coverage, runs, cron5_runs, runs_vs_cron5, equal_runs_covered,
 * equal_runs_coverage}}}, "decisions_24h": {wake: n}}.  Caller frees;
 * NULL when out of memory. */
json_object *watchview_status(json_object *watch);

/* The watch's families of /metrics: orchestrator_watch_*,
 * orchestrator_source_budget_*, orchestrator_scorecard_* and
 * orchestrator_decisions_24h{wake}. */
void watchview_metrics(struct metrics_buf *b, json_object *watch);

#endif
