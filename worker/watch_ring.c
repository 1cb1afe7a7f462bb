/* watch_ring: the watch's rings of timed values (a market's peaks, an
 * instrument's totals) and the quantile by selection; see watch_ring.h. */
#include "config.h"
#include "watch.h"
#include "watch_ring.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- rings -------------------------------------------------------------------- */

/* A ring of cap values; sorted: also keep them in order (quantiles in O(1),
 * an insertion or a removal costs a binary search and a memmove). */
int watch_ring_init(struct watch_ring *r, size_t cap, int sorted)
{
    memset(r, 0, sizeof *r);
    r->v = calloc(cap, sizeof *r->v);
    r->t = calloc(cap, sizeof *r->t);
    r->sorted = sorted ? calloc(cap, sizeof *r->sorted) : NULL;
    if (!r->v || !r->t || (sorted && !r->sorted)) {
        free(r->v);
        free(r->t);
        free(r->sorted);
        memset(r, 0, sizeof *r);
        return -1;
    }
    r->cap = cap;
    return 0;
}

void watch_ring_free(struct watch_ring *r)
{
    free(r->v);
    free(r->t);
    free(r->sorted);
    memset(r, 0, sizeof *r);
}

/* The first index of r->sorted[0..n) whose value is >= v. */
static size_t watch_sorted_find(const struct watch_ring *r, double v)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Append (t, v), dropping the oldest when full or older than horizon_s before t. */
void watch_ring_push(struct watch_ring *r, time_t t, double v, long horizon_s)
{
    if (!r->cap)
        return;
    while (r->n && (r->n == r->cap || r->t[r->head] <= t - horizon_s)) {
        double old = r->v[r->head];
        if (old > 0) {
            r->logsum -= log(old);
            r->npos--;
        }
        if (r->sorted) {
            size_t k = watch_sorted_find(r, old);
            memmove(r->sorted + k, r->sorted + k + 1, (r->n - k - 1) * sizeof *r->sorted);
        }
        r->head = (r->head + 1) % r->cap;
        r->n--;
    }
    if (r->sorted) {
        size_t k = watch_sorted_find(r, v);
        memmove(r->sorted + k + 1, r->sorted + k, (r->n - k) * sizeof *r->sorted);
        r->sorted[k] = v;
    }
    size_t i = (r->head + r->n) % r->cap;
    r->t[i] = t;
    r->v[i] = v;
    r->n++;
    if (v > 0) {
        r->logsum += log(v);
        r->npos++;
    }
}

/* The geometric mean of r's positive values, 0 when none. */
double watch_ring_gmean(const struct watch_ring *r)
{
    return r->npos ? exp(r->logsum / (double)r->npos) : 0;
}

/* ---- quantiles -------------------------------------------------------------------- */

static void watch_swap(double *v, long a, long b)
{
    double t = v[a];
    v[a] = v[b];
    v[b] = t;
}

/* The k-th smallest of v[0..n) (0-based), by quickselect with a three-way
 * partition (many equal values stay linear); v is reordered. */
static double watch_select(double *v, size_t n, size_t k)
{
    long lo = 0, hi = (long)n - 1, kk = (long)k;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        long lt = lo, i = lo, gt = hi;      /* [lo,lt) < p, [lt,i) == p, (gt,hi] > p */
        while (i <= gt) {
            if (v[i] < p)
                watch_swap(v, lt++, i++);
            else if (v[i] > p)
                watch_swap(v, i, gt--);
            else
                i++;
        }
        if (kk < lt)
            hi = lt - 1;
        else if (kk > gt)
            lo = gt + 1;
        else
            return p;
    }
    return v[kk];
}

double watch_quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    if (!(q >= 0))
        q = 0;
    if (q > 1)
        q = 1;
    size_t k = (size_t)(q * (double)(n - 1) + 0.5);
    return watch_select(v, n, k);
}
