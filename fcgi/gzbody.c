/* gzbody: gzip answers of cached bodies with holes; see gzbody.h. */
#include "gzbody.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* A gzip member header: deflate, no name, no mtime, unknown OS. */
static const unsigned char gzbody_member_header[GZBODY_HEADER_LEN] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };

void gzbody_free(struct gzbody *g)
{
    free(g->z);
    memset(g, 0, sizeof *g);
}

/* Make room for need more bytes after *len in *buf (*cap bytes).
 * Returns 0 or -1 (out of memory; *buf unchanged). */
static int gzbody_grow(unsigned char **buf, size_t *cap, size_t len, size_t need)
{
    if (*cap - len >= need)
        return 0;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap - len < need)
        ncap *= 2;
    unsigned char *nb = realloc(*buf, ncap);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = ncap;
    return 0;
}

int gzbody_build(struct gzbody *g, const char *text, size_t len, const size_t *cut, int ncut, int level)
{
    memset(g, 0, sizeof *g);
    if (ncut < 0 || ncut >= GZBODY_MAX_SEGS || level < 1 || level > 9 || (len > 0 && !text))
        return -1;
    for (int i = 0; i < ncut; i++)
        if (cut[i] > len || (i > 0 && cut[i] < cut[i - 1]))
            return -1;

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    unsigned char *buf = NULL;
    size_t cap = 0, used = 0;
    size_t from = 0;
    int ok = 1;
    for (int i = 0; ok && i <= ncut; i++) {
        size_t to = i < ncut ? cut[i] : len, n = to - from;
        g->zoff[i] = used;
        g->tlen[i] = n;
        g->crc[i] = crc32(0L, (const Bytef *)text + from, (uInt)n);
        g->op[i] = crc32_combine_gen((z_off_t)n);
        if (n > 0) {
            /* deflateBound covers a whole stream; a full flush adds at most a
             * few bytes more (an empty stored block) */
            size_t bound = (size_t)deflateBound(&zs, (uLong)n) + 16;
            if (gzbody_grow(&buf, &cap, used, bound) < 0) {
                ok = 0;
                break;
            }
            zs.next_in = (Bytef *)(text + from);
            zs.avail_in = (uInt)n;
            zs.next_out = buf + used;
            zs.avail_out = (uInt)(cap - used);
            int rc = deflate(&zs, Z_FULL_FLUSH);
            if (rc != Z_OK || zs.avail_in != 0 || zs.avail_out == 0) {
                ok = 0;
                break;
            }
            used = cap - zs.avail_out;
        }
        g->zn[i] = used - g->zoff[i];
        from = to;
    }
    deflateEnd(&zs);
    if (!ok) {
        free(buf);
        memset(g, 0, sizeof *g);
        return -1;
    }
    if (!buf) {                        /* an empty body: nothing to compress */
        buf = malloc(1);
        if (!buf) {
            memset(g, 0, sizeof *g);
            return -1;
        }
    }
    g->z = buf;
    g->zlen = used;
    g->nseg = ncut + 1;
    return 0;
}

const unsigned char *gzbody_begin(struct gzbody_emit *e)
{
    e->crc = crc32(0L, Z_NULL, 0);
    e->isize = 0;
    return gzbody_member_header;
}

void gzbody_segment(struct gzbody_emit *e, const struct gzbody *g, int i, const unsigned char **p, size_t *n)
{
    *p = g->z + g->zoff[i];
    *n = g->zn[i];
    if (g->tlen[i] > 0) {
        e->crc = crc32_combine_op(e->crc, g->crc[i], g->op[i]);
        e->isize += g->tlen[i];
    }
}

int gzbody_stored(struct gzbody_emit *e, const char *lit, size_t n, unsigned char hdr[GZBODY_STORED_HDR])
{
    if (n > GZBODY_STORED_MAX)
        return -1;
    /* BFINAL 0, BTYPE 00, then the rest of the byte: the stream is at a
     * byte boundary after every full flush and every stored block */
    hdr[0] = 0;
    hdr[1] = (unsigned char)(n & 0xff);
    hdr[2] = (unsigned char)(n >> 8);
    hdr[3] = (unsigned char)(~n & 0xff);
    hdr[4] = (unsigned char)((~n >> 8) & 0xff);
    e->crc = crc32(e->crc, (const Bytef *)lit, (uInt)n);
    e->isize += n;
    return 0;
}

void gzbody_end(const struct gzbody_emit *e, unsigned char out[GZBODY_END_LEN])
{
    out[0] = 0x03;                     /* BFINAL 1, fixed codes, end of block */
    out[1] = 0x00;
    for (int i = 0; i < 4; i++) {
        out[2 + i] = (unsigned char)((e->crc >> (8 * i)) & 0xff);
        out[6 + i] = (unsigned char)((e->isize >> (8 * i)) & 0xff);   /* ISIZE: length mod 2^32 */
    }
}

/* RFC 9110 token characters. */
static int gzbody_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Parse a qvalue at *s ("0", "0.5", "1.000") into thousandths.  Returns
 * the value and advances *s, or -1 when malformed. */
static int gzbody_qvalue(const char **s)
{
    const char *p = *s;
    int v;
    if (*p == '0' || *p == '1')
        v = (*p++ - '0') * 1000;
    else
        return -1;
    if (*p == '.') {
        p++;
        int scale = 100;
        for (int k = 0; k < 3 && *p >= '0' && *p <= '9'; k++, p++, scale /= 10)
            v += (*p - '0') * scale;
    }
    if (v > 1000)
        return -1;
    *s = p;
    return v;
}

int gzbody_accepts(const char *ae)
{
    if (!ae)
        return 0;
    int gzip_q = -1, star_q = -1;
    const char *p = ae;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *tok = p;
        while (gzbody_tchar((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - tok);
        if (n == 0)
            return 0;
        int q = 1000;
        while (*p == ' ' || *p == '\t')
            p++;
        while (*p == ';') {           /* parameters: only q counts */
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                p += 2;
                if ((q = gzbody_qvalue(&p)) < 0)
                    return 0;
            } else {
                while (gzbody_tchar((unsigned char)*p) || *p == '=' || *p == '"')
                    p++;
            }
            while (*p == ' ' || *p == '\t')
                p++;
        }
        if (*p && *p != ',')
            return 0;
        if ((n == 4 && strncasecmp(tok, "gzip", 4) == 0) || (n == 6 && strncasecmp(tok, "x-gzip", 6) == 0)) {
            if (q > gzip_q)
                gzip_q = q;
        } else if (n == 1 && *tok == '*') {
            star_q = q;
        }
    }
    return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}
