/* watch_ring: a ring of timed values (struct watch_ring, watch.h), as
 * watch.c and watch_json.c keep their histories in it.  Defined in
 * watch_ring.c, with watch_quantile (declared in watch.h). */
#ifndef WATCH_RING_H
#define WATCH_RING_H

#include <stddef.h>
#include <time.h>

#include "watch.h"

/* A ring of cap values; sorted: also keep them in order (quantiles in O(1),
 * an insertion or a removal costs a binary search and a memmove).
 * Returns 0, or -1 out of memory (r zeroed). */
int watch_ring_init(struct watch_ring *r, size_t cap, int sorted);

/* Free what r holds and zero it; a zeroed r is a no-op. */
void watch_ring_free(struct watch_ring *r);

/* Append (t, v), dropping the oldest when full or older than horizon_s before t. */
void watch_ring_push(struct watch_ring *r, time_t t, double v, long horizon_s);

/* The geometric mean of r's positive values, 0 when none. */
double watch_ring_gmean(const struct watch_ring *r);

#endif
