/* gzbody: gzip answers for the cached bodies of api_body.c, whose holes (heartbeat
 * age, server time, ...) are filled per request.
 *
 * A cached body is cut at its holes into segments.  gzbody_build() compresses
 * each segment once, as raw deflate ending in a full flush, so that no
 * back-reference crosses a cut; a request then sends the gzip header, the
 * compressed segments with its own hole values in between as stored
 * blocks, an empty final block and the trailer, whose CRC-32 is combined
 * from the segments' (computed once) and the hole values'.  A request
 * costs a few dozen bytes of work, whatever the size of the body.
 * Pure: no I/O, no globals; see RFC 1951 (stored blocks) and RFC 1952. */
#ifndef GZBODY_H
#define GZBODY_H

#include <stddef.h>

#define GZBODY_MAX_SEGS   8                /* cuts + 1 */
#define GZBODY_HEADER_LEN 10
#define GZBODY_STORED_HDR 5                /* header of one stored block */
#define GZBODY_STORED_MAX 65535            /* longest literal gzbody_stored() takes */
#define GZBODY_END_LEN    10               /* empty final block + CRC-32 + ISIZE */
#define GZBODY_MIN_BODY   1024             /* smaller bodies are not worth compressing */

/* One body's compressed segments. */
struct gzbody {
    unsigned char *z;                  /* NULL: not built; the segments back to back */
    size_t zlen;
    int nseg;
    size_t zoff[GZBODY_MAX_SEGS], zn[GZBODY_MAX_SEGS];   /* each segment's compressed bytes in z */
    size_t tlen[GZBODY_MAX_SEGS];                    /* and its length uncompressed */
    unsigned long crc[GZBODY_MAX_SEGS];              /* and the CRC-32 of its text */
    unsigned long op[GZBODY_MAX_SEGS];               /* and zlib's operator appending that CRC */
};

/* The running state of one answer being sent. */
struct gzbody_emit {
    unsigned long crc;
    unsigned long long isize;
};

/* Compress text[0 .. len) cut at cut[0 .. ncut) (ascending, each <= len,
 * ncut < GZBODY_MAX_SEGS) into g at zlib level (1 .. 9).  Returns 0, or -1
 * (bad cuts, out of memory; g is left empty). */
int gzbody_build(struct gzbody *g, const char *text, size_t len, const size_t *cut, int ncut, int level)
    __attribute__((warn_unused_result));

/* Free what g holds and empty it; gzbody_free on an empty body is a no-op. */
void gzbody_free(struct gzbody *g);

/* Start an answer: resets e and returns the gzip header (GZBODY_HEADER_LEN
 * bytes, static). */
const unsigned char *gzbody_begin(struct gzbody_emit *e);

/* Segment i of g as compressed bytes (*p borrowed from g, *n may be 0),
 * accounted in e. */
void gzbody_segment(struct gzbody_emit *e, const struct gzbody *g, int i, const unsigned char **p, size_t *n);

/* A literal of n bytes (n <= GZBODY_STORED_MAX) sent as a stored block: writes
 * its GZBODY_STORED_HDR header bytes into hdr, accounts lit in e, and returns
 * 0; the caller sends hdr then lit.  -1 when n is too long. */
int gzbody_stored(struct gzbody_emit *e, const char *lit, size_t n, unsigned char hdr[GZBODY_STORED_HDR]);

/* End the answer: writes the GZBODY_END_LEN closing bytes into out. */
void gzbody_end(const struct gzbody_emit *e, unsigned char out[GZBODY_END_LEN]);

/* 1 when an Accept-Encoding header value (NULL: absent) accepts gzip: a
 * "gzip", "x-gzip" or "*" coding whose q value is not 0, and gzip not
 * refused by name with q=0.  Malformed values accept nothing. */
int gzbody_accepts(const char *accept_encoding);

#endif
