/* replay_svg: the replay's picture; see replay_svg.h. */
#include "config.h"
#include "replay_svg.h"
#include "catalog.h"
#include "learn.h"
#include "sense.h"
#include "timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct replay_buf {
    char *s;
    size_t n, cap;
    int failed;
};

static void replay_printf(struct replay_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void replay_printf(struct replay_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = b->cap * 2 + (size_t)k;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
}

/* s with &, <, >, " escaped into out (cap bytes). */
static void replay_xml(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
        if (e) {
            size_t l = strlen(e);
            memcpy(out + n, e, l);
            n += l;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
}

#define SVG_W 1200
#define SVG_LEFT 70
#define SVG_RIGHT 20
#define SVG_PANEL 205
#define SVG_TOP 50

/* The share of each of the plotw columns of [r->from, r->to) during which a
 * scan of market m was watching (its window [at, at + W), overlaps counted
 * once) into share[plotw]. */
static void replay_watch_shares(const struct replay *r, int m, int plotw, double *share)
{
    double colw = (double)(r->to - r->from) / plotw;
    for (int x = 0; x < plotw; x++)
        share[x] = 0;
    if (!(colw > 0))
        return;
    time_t until = r->from;
    for (size_t i = 0; i < r->nscans; i++) {
        const struct replay_scan *s = &r->scans[i];
        if (s->market != m || s->cross)
            continue;
        time_t a = s->at > until ? s->at : until, e = s->at + r->window_s;
        if (e > r->to)
            e = r->to;
        if (e <= a)
            continue;
        until = e;
        for (int x = (int)((double)(a - r->from) / colw); x < plotw; x++) {
            double c0 = (double)r->from + x * colw, c1 = c0 + colw;
            double lo = (double)a > c0 ? (double)a : c0, hi = (double)e < c1 ? (double)e : c1;
            if (hi > lo)
                share[x] += (hi - lo) / colw;
            if (c1 >= (double)e)
                break;
        }
    }
}

/* Mode colours of the decisions strip (enum catalog_mode order). */
static const char *replay_mode_colour(int mode)
{
    switch (mode) {
    case MODE_CRYPTO: return "#7b3fe4";
    case MODE_FOREX:  return "#1b9e77";
    case MODE_HYBRID: return "#e7298a";
    default:          return "#bbb";
    }
}

/* Per pixel column working state of the picture (owned, replay_svg_cols_free). */
struct replay_svg_cols {
    int plotw;
    double span;                      /* seconds drawn, > 0 */
    time_t w0;                        /* the first scoring window */
    long nwin;
    double *vols;                     /* [nwin] one instrument's window volatility */
    long *idx;                        /* [nwin] its windows with data, sorted */
    double *colv, *colp, *colw;       /* [plotw] volatility, price, watched share */
    unsigned char *coltop, *colmode;  /* [plotw] top window, decisions' mode (0xff: none) */
    long *modes;                      /* [plotw * MODE_COUNT] decisions per column and mode */
};

static void replay_svg_cols_free(struct replay_svg_cols *c)
{
    free(c->vols);
    free(c->idx);
    free(c->colv);
    free(c->colp);
    free(c->colw);
    free(c->coltop);
    free(c->colmode);
    free(c->modes);
}

/* Allocate *c for r.  Returns 0 or -1 (then free it all the same). */
static int replay_svg_cols_new(struct replay_svg_cols *c, const struct replay *r)
{
    memset(c, 0, sizeof *c);
    c->plotw = SVG_W - SVG_LEFT - SVG_RIGHT;
    c->span = (double)(r->to - r->from);
    if (c->span <= 0)
        c->span = 1;
    c->w0 = replay_floor(r->from, REPLAY_SCORE_WINDOW);
    c->nwin = (long)((r->to - c->w0 + REPLAY_SCORE_WINDOW - 1) / REPLAY_SCORE_WINDOW);
    size_t pw = (size_t)c->plotw, nw = (size_t)(c->nwin > 0 ? c->nwin : 1);
    c->vols = malloc(nw * sizeof *c->vols);
    c->idx = malloc(nw * sizeof *c->idx);
    c->colv = calloc(pw, sizeof *c->colv);
    c->colp = malloc(pw * sizeof *c->colp);
    c->colw = malloc(pw * sizeof *c->colw);
    c->coltop = calloc(pw, 1);
    c->colmode = malloc(pw);
    c->modes = calloc(pw * MODE_COUNT, sizeof *c->modes);
    return c->vols && c->idx && c->colv && c->colp && c->colw && c->coltop && c->colmode && c->modes ? 0 : -1;
}

/* The column's x of instant t (may be outside 0 .. plotw). */
static int replay_svg_x(const struct replay_svg_cols *c, const struct replay *r, time_t t)
{
    return (int)((double)(t - r->from) / c->span * c->plotw);
}

/* Decisions: the mode most decisions of a column had (ties: the more capable). */
static void replay_svg_modes(struct replay_svg_cols *c, const struct replay *r)
{
    for (size_t i = 0; i < r->nmarks; i++) {
        int x = replay_svg_x(c, r, r->marks[i].at);
        int md = r->marks[i].mode;
        if (x >= 0 && x < c->plotw && md >= 0 && md < MODE_COUNT)
            c->modes[(size_t)x * MODE_COUNT + (size_t)md]++;
    }
    for (int x = 0; x < c->plotw; x++) {
        c->colmode[x] = 0xff;
        long best = 0;
        for (int md = 0; md < MODE_COUNT; md++) {
            long n = c->modes[(size_t)x * MODE_COUNT + (size_t)md];
            if (n > best || (n == best && n > 0 && md == MODE_HYBRID)) {
                best = n;
                c->colmode[x] = (unsigned char)md;
            }
        }
    }
}

/* One instrument's columns: the last close (*pmin, *pmax its range), the
 * highest window volatility (*vmax), the top windows (top of them) and
 * the watched share. */
static void replay_svg_series(struct replay_svg_cols *c, const struct replay *r, const struct replay_series *s,
                              long top, double *pmin, double *pmax, double *vmax)
{
    memset(c->colv, 0, (size_t)c->plotw * sizeof *c->colv);
    memset(c->coltop, 0, (size_t)c->plotw);
    for (int x = 0; x < c->plotw; x++)
        c->colp[x] = -1;
    *pmin = 1e300;
    *pmax = -1e300;
    for (size_t i = replay_first_at(s, r->from); i < s->n && s->t[i] < r->to; i++) {
        int x = replay_svg_x(c, r, s->t[i]);
        if (x < 0 || x >= c->plotw)
            continue;
        c->colp[x] = s->c[i];
        if (s->c[i] < *pmin) *pmin = s->c[i];
        if (s->c[i] > *pmax) *pmax = s->c[i];
    }
    if (*pmax <= *pmin)
        *pmax = *pmin + 1;
    replay_window_vols(s, r->from, r->to, c->vols, c->nwin);
    long nw = 0;
    *vmax = 0;
    for (long w = 0; w < c->nwin; w++) {
        if (c->vols[w] < 0)
            continue;
        c->idx[nw++] = w;
        int x = replay_svg_x(c, r, c->w0 + w * REPLAY_SCORE_WINDOW);
        if (x < 0) x = 0;
        if (x >= c->plotw) x = c->plotw - 1;
        if (c->vols[w] > c->colv[x]) c->colv[x] = c->vols[w];
        if (c->vols[w] > *vmax) *vmax = c->vols[w];
    }
    replay_sort_windows(c->vols, c->idx, nw);
    for (long q = 0; q < top && q < nw; q++) {
        time_t ws = c->w0 + c->idx[q] * REPLAY_SCORE_WINDOW;
        int x1 = replay_svg_x(c, r, ws), x2 = replay_svg_x(c, r, ws + REPLAY_SCORE_WINDOW);
        for (int x = x1 < 0 ? 0 : x1; x <= x2 && x < c->plotw; x++)
            c->coltop[x] = 1;
    }
    replay_watch_shares(r, s->market, c->plotw, c->colw);
}

/* Runs of columns x with col[x] == v: "<rect>"s (fill) or one path (stroke). */
static void replay_svg_runs(struct replay_buf *b, const unsigned char *col, int plotw, unsigned char v, int y, int h,
                            const char *stroke)
{
    int any = 0;
    for (int x = 0; x < plotw; x++) {
        if (col[x] != v)
            continue;
        int x2 = x;
        while (x2 + 1 < plotw && col[x2 + 1] == v)
            x2++;
        if (stroke)
            replay_printf(b, "%sM%d %dh%d", any ? "" : "<path d=\"", x, y, x2 - x + 1);
        else
            replay_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f90\" fill-opacity=\"0.35\"/>", x,
                          y, x2 - x + 1, h);
        any = 1;
        x = x2;
    }
    if (any && stroke)
        replay_printf(b, "\" stroke=\"%s\" stroke-width=\"5\"/>\n", stroke);
}

/* The panel of instrument k. */
static void replay_svg_panel(struct replay_buf *b, struct replay_svg_cols *c, const struct replay *r,
                             const struct replay_score *sc, int k)
{
    const struct replay_series *s = &r->s[k];
    int plotw = c->plotw, ph = SVG_PANEL - 75, vh = 40;
    long top = k < sc->ni ? sc->in[k].top : 0;
    double pmin, pmax, vmax;
    replay_svg_series(c, r, s, top, &pmin, &pmax, &vmax);
    char name[64];
    replay_xml(s->name, name, sizeof name);
    const struct replay_policy_score *o = k < sc->ni ? replay_policy(&sc->in[k], "orchestrator") : NULL;
    const struct replay_policy_score *h5 = k < sc->ni ? replay_policy(&sc->in[k], "market-hours-cron-5") : NULL;
    const struct replay_policy_score *eq = k < sc->ni ? replay_policy(&sc->in[k], "equal-runs-cron") : NULL;
    replay_printf(b, "<g transform=\"translate(%d,%d)\">\n", SVG_LEFT, SVG_TOP + k * SVG_PANEL);
    replay_printf(b, "<text x=\"0\" y=\"-4\" font-weight=\"bold\">%s (%s)</text>", name, learn_market_name(s->market));
    if (o && h5 && eq)
        replay_printf(b, "<text x=\"%d\" y=\"-4\" text-anchor=\"end\" fill=\"#333\">top windows %ld; orchestrator: "
                         "%.1f%% covered, %ld runs; market-hours cron-5: %.1f%%, %ld runs; equal-runs cron "
                         "(every %.1f min): %.1f%%</text>",
                      plotw, top, 100 * o->coverage, o->runs, 100 * h5->coverage, h5->runs,
                      (double)eq->period_s / 60.0, 100 * eq->coverage);
    replay_printf(b, "\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#ccc\"/>\n", plotw, ph + vh);
    replay_svg_runs(b, c->coltop, plotw, 1, 0, ph + vh, NULL);     /* shaded top windows */
    /* volatility: a step area, one column per step */
    replay_printf(b, "\n<path d=\"M0 %d", ph + vh);
    for (int x = 0; x < plotw; x++)
        replay_printf(b, "V%dh1", ph + vh - (vmax > 0 ? (int)(c->colv[x] / vmax * vh + 0.5) : 0));
    replay_printf(b, "V%dZ\" fill=\"#999\"/>\n<polyline fill=\"none\" stroke=\"#222\" stroke-width=\"1\" points=\"", ph + vh);
    for (int x = 0; x < plotw; x++)
        if (c->colp[x] > 0)
            replay_printf(b, "%d,%d ", x, (int)((double)ph - (c->colp[x] - pmin) / (pmax - pmin) * (ph - 8) - 4 + 0.5));
    replay_printf(b, "\"/>\n");
    /* watching: a step area, 10 px when a scan watched the whole column */
    int base = ph + vh + 14, prev = base;
    replay_printf(b, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"10\" fill=\"#eef3fb\"/><path d=\"M0 %d", base - 10,
                  plotw, base);
    for (int x = 0; x < plotw; x++) {
        double sh = c->colw[x] > 1 ? 1 : c->colw[x];
        int y = base - (int)(sh * 10 + 0.5);
        if (y != prev) {
            replay_printf(b, "H%dV%d", x, y);
            prev = y;
        }
    }
    replay_printf(b, "H%dV%dZ\" fill=\"#36c\"/>\n", plotw, base);
    for (int md = 0; md < MODE_COUNT; md++)           /* decisions by mode */
        replay_svg_runs(b, c->colmode, plotw, (unsigned char)md, ph + vh + 19, 0, replay_mode_colour(md));
    replay_printf(b, "<text x=\"-6\" y=\"10\" text-anchor=\"end\">%.6g</text><text x=\"-6\" y=\"%d\" text-anchor=\"end\">%.6g</text>\n",
                  pmax, ph, pmin);
    replay_printf(b, "<text x=\"-6\" y=\"%d\" text-anchor=\"end\" fill=\"#36c\">watched</text>\n", ph + vh + 13);
    replay_printf(b, "<text x=\"-6\" y=\"%d\" text-anchor=\"end\" fill=\"#555\">mode</text>\n", ph + vh + 23);
    replay_printf(b, "</g>\n");
}

char *replay_svg(const struct replay *r, const struct replay_score *sc)
{
    struct replay_buf b = { malloc(1 << 16), 0, 1 << 16, 0 };
    if (!b.s)
        return NULL;
    b.s[0] = '\0';
    int height = SVG_TOP + r->ns * SVG_PANEL + 30;
    char from[32], to[32];
    tu_iso8601(r->from, from);
    tu_iso8601(r->to, to);
    replay_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                      "font-family=\"sans-serif\" font-size=\"11\">\n", SVG_W, height, SVG_W, height);
    replay_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    replay_printf(&b, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Replay %s .. %s: %lld decisions, "
                      "%zu runs</text>\n", SVG_LEFT, from, to, r->decisions, r->nscans);
    replay_printf(&b, "<text x=\"%d\" y=\"36\" fill=\"#555\">price (line), 15-minute volatility (grey bars), top-decile "
                      "windows (orange); below: share of the time a scan was watching (blue, full = always), decisions "
                      "by mode (<tspan fill=\"%s\">crypto</tspan>, <tspan fill=\"%s\">forex</tspan>, "
                      "<tspan fill=\"%s\">hybrid</tspan>, <tspan fill=\"%s\">standby</tspan>)</text>\n", SVG_LEFT,
                  replay_mode_colour(MODE_CRYPTO), replay_mode_colour(MODE_FOREX), replay_mode_colour(MODE_HYBRID),
                  replay_mode_colour(MODE_STANDBY));
    struct replay_svg_cols c;
    if (replay_svg_cols_new(&c, r) < 0)
        b.failed = 1;
    else
        replay_svg_modes(&c, r);
    for (int k = 0; !b.failed && k < r->ns; k++)
        replay_svg_panel(&b, &c, r, sc, k);
    replay_printf(&b, "<text x=\"%d\" y=\"%d\" fill=\"#555\">%s</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
                  SVG_LEFT, height - 8, from, SVG_W - SVG_RIGHT, height - 8, to);
    replay_printf(&b, "</svg>\n");
    replay_svg_cols_free(&c);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
