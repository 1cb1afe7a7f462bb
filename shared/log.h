/* log: JSON lines on stderr, or appended to LOG_FILE (log_set_file).
 *
 *   {"ts":"2026-11-23T21:50:00.123Z","level":"info","prog":"worker","event":"cycle.done",...}
 *
 * Fields are given as a compact spec of "type:name" words followed by the
 * values, e.g. log_event(LOG_INFO, "cycle.done", "s:cycle_id i:decision_id d:ms",
 * cid, (long long)id, ms).  Types: s string (NULL prints null), i long long,
 * d double, b int printed as true/false.  The level is checked before any
 * formatting.  Never pass a secret. */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set the program name (borrowed, must outlive logging) and the level. */
void log_init(const char *prog, enum log_level level);

/* Map "debug"/"info"/"warn"/"error" (any case; "warning" is warn) to a
 * level; unknown names give LOG_INFO. */
enum log_level log_level_parse(const char *name);

/* Append the JSON lines to the file at path (created 0640 when missing)
 * instead of stderr; NULL or "" keeps stderr.  Call once at startup, after
 * log_init() and before forking (children inherit the descriptor).  The path
 * is copied (at most 4096 bytes).  Returns 0, or -1 after printing why on
 * stderr: a startup error. */
int log_set_file(const char *path) __attribute__((warn_unused_result));

/* Reopen the LOG_FILE given to log_set_file() (logrotate moved it away):
 * the new file replaces the old descriptor atomically, so no line is lost
 * or split.  A no-op returning 0 when logging to stderr.  Returns 0, or -1
 * when the file cannot be opened (logging then goes on into the old file).
 * Async-signal-safe (open, dup2, close only), but meant to be called from
 * the main loop when a SIGHUP flag is seen: the worker's and orch-api's
 * SIGHUP handling call it.  In a pre-forked server every process must call
 * it (orch-api's parent forwards SIGHUP to its children). */
int log_reopen(void);

/* Nonzero when events of this level are written. */
int log_enabled(enum log_level level);

void log_event(enum log_level level, const char *event, const char *spec, ...);

/* Set (copied, at most 63 bytes) or clear (NULL) the cycle id that every
 * event carries as "cycle_id" until cleared, unless its spec names a
 * cycle_id itself: the probes, LLM calls and webhooks of one cycle log
 * lines that can be told apart without passing the id down. */
void log_set_cycle(const char *cycle_id);

/* Append s to out as JSON string contents (no quotes), escaping as needed,
 * never writing more than cap bytes in all (out is always terminated when
 * cap > 0; never cut inside a character).  Bytes that are not UTF-8 become
 * '?', so that a log line is valid UTF-8 whatever s holds.  Returns the new
 * length. */
size_t log_json_escape(char *out, size_t len, size_t cap, const char *s);

#endif
