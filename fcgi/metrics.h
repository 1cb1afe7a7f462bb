/* metrics: the Prometheus text exposition (format 0.0.4) of /metrics.
 *
 * metrics_render() writes everything that only changes when the database
 * does, so that it can be cached; metrics_render_live() writes the lines
 * that depend on the time of the scrape (the heartbeat age), appended per
 * request.  Every family has HELP and TYPE lines and passes
 * `promtool check metrics`. */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "query.h"

#define METRICS_MAX (256 * 1024)       /* hard cap of the rendered text */
#define METRICS_LIVE_MAX 256           /* room metrics_render_live() needs */

/* Render the cached part from st.  Returns a NUL-terminated text (caller
 * frees) with its length in *len, or NULL when out of memory or over
 * METRICS_MAX. */
char *metrics_render(const struct query_state *st, size_t *len);

/* Render the time-dependent part into buf (cap bytes, METRICS_LIVE_MAX is
 * enough): the worker's heartbeat age in seconds, age NAN meaning no
 * heartbeat at all (+Inf).  Returns the length written, 0 when it does not
 * fit. */
size_t metrics_render_live(double heartbeat_age, char *buf, size_t cap);

#endif
