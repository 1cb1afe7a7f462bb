/* api_body: cached bodies with holes for per-request values, and serving
 * them (gzip included); see api_impl.h. */
#include "config.h"
#include "api_impl.h"
#include "gzbody.h"
#include "log.h"
#include "timeutil.h"

#include <json-c/printbuf.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_GZIP_LEVEL 6              /* zlib level of the cached bodies (compressed once per fill) */

/* See api_impl.h. */
void api_body_free(struct api_body *b)
{
    free(b->text);
    gzbody_free(&b->gz);
    memset(b, 0, sizeof *b);
}

/* The body being serialized, for api_hole_write() (the refresher thread
 * serializes too). */
static _Thread_local struct api_body *api_hole_target;

/* json-c serializer of a hole: writes nothing, records where the value
 * goes.  Returns 0. */
static int api_hole_write(json_object *jso, struct printbuf *pb, int level, int flags)
{
    struct api_body *b = api_hole_target;
    if (!b || b->nholes >= API_MAX_HOLES)
        return printbuf_strappend(pb, "null") < 0 ? -1 : 0;
    b->hole_off[b->nholes] = (size_t)pb->bpos;
    b->hole_kind[b->nholes] = (int)(intptr_t)json_object_get_userdata(jso);
    b->nholes++;
    return 0;
}

/* See api_impl.h. */
json_object *api_hole(enum api_hole kind)
{
    json_object *o = json_object_new_boolean(0);
    if (o)
        json_object_set_serializer(o, api_hole_write, (void *)(intptr_t)kind, NULL);
    return o;
}

/* See api_impl.h. */
int api_body_build(struct api_body *b, json_object *root, double at)
{
    size_t len = 0;
    api_body_free(b);
    api_hole_target = b;
    const char *s = json_object_to_json_string_length(root, API_JSON_FLAGS, &len);
    api_hole_target = NULL;
    if (!s)
        goto fail;
    b->text = malloc(len + 1);
    if (!b->text)
        goto fail;
    memcpy(b->text, s, len + 1);
    b->len = len;
    b->at = at;
    return 0;
fail:
    api_body_free(b);
    return -1;
}

/* See api_impl.h. */
void api_body_gzip(struct api_body *b)
{
    if (b->text && b->len >= GZBODY_MIN_BODY && !b->gz.z &&
        gzbody_build(&b->gz, b->text, b->len, b->hole_off, b->nholes, API_GZIP_LEVEL) < 0)
        log_event(LOG_WARN, "api.gzip_failed", "i:bytes", (long long)b->len);
}

/* See api_impl.h. */
double api_heartbeat_age(const struct api_entry *e, double now)
{
    if (!e || !e->st)
        return NAN;
    double age = e->st->heartbeat_age + (now - e->at);
    return age < 0 ? 0 : age;
}

/* See api_impl.h. */
int api_alive(const struct api_ctx *ctx, double age)
{
    return !isnan(age) && age <= ctx->alive_max;
}

/* Format a hole's value for time now into r->scratch.  Returns its
 * length (0: no room), *out pointing at it. */
static size_t api_hole_value(const struct api_ctx *ctx, const struct api_entry *e, int kind, double now, double age,
                             struct api_resp *r, const char **out)
{
    char *p = r->scratch + r->scratch_len;
    size_t room = sizeof r->scratch - r->scratch_len;
    int n;
    switch (kind) {
    case API_HOLE_AGE:
        n = isnan(age) ? snprintf(p, room, "null") : snprintf(p, room, "%.1f", age);
        break;
    case API_HOLE_ALIVE:
        n = snprintf(p, room, "%s", api_alive(ctx, age) ? "true" : "false");
        break;
    case API_HOLE_NOW: {
        char buf[TU_ISO_LEN];
        n = snprintf(p, room, "\"%s\"", tu_iso8601_ms(tu_now_ms(), buf));
        break;
    }
    case API_HOLE_NEXT_IN: {
        double in = e && e->st ? e->st->next_in - (now - e->at) : NAN;
        n = isnan(in) ? snprintf(p, room, "null") : snprintf(p, room, "%lld", in > 0 ? (long long)llround(in) : 0LL);
        break;
    }
    default:
        n = snprintf(p, room, "null");
        break;
    }
    if (n < 0 || (size_t)n >= room)
        return 0;
    r->scratch_len += (size_t)n + 1;
    *out = p;
    return (size_t)n;
}

/* See api_impl.h. */
unsigned char *api_scratch(struct api_resp *r, size_t n)
{
    if (sizeof r->scratch - r->scratch_len < n)
        return NULL;
    unsigned char *p = (unsigned char *)r->scratch + r->scratch_len;
    r->scratch_len += n;
    return p;
}

/* Put the gzip stream of b with values[0 .. b->nholes) and tail in r.
 * Returns 0, or -1 (no room: r is left for the identity answer). */
static int api_serve_gzip(const struct api_body *b, const char *const *val, const size_t *vlen, const char *tail,
                          size_t tail_len, struct api_resp *r)
{
    struct gzbody_emit e;
    size_t mark = r->scratch_len;
    r->npieces = 0;
    api_piece(r, (const char *)gzbody_begin(&e), GZBODY_HEADER_LEN);
    for (int i = 0; i <= b->nholes; i++) {
        const unsigned char *z;
        size_t zn;
        gzbody_segment(&e, &b->gz, i, &z, &zn);
        api_piece(r, (const char *)z, zn);
        const char *lit = i < b->nholes ? val[i] : tail;
        size_t n = i < b->nholes ? vlen[i] : tail_len;
        if (n == 0)
            continue;
        unsigned char *hdr = api_scratch(r, GZBODY_STORED_HDR);
        if (!hdr || gzbody_stored(&e, lit, n, hdr) < 0)
            goto fail;
        api_piece(r, (const char *)hdr, GZBODY_STORED_HDR);
        api_piece(r, lit, n);
    }
    unsigned char *end = api_scratch(r, GZBODY_END_LEN);
    if (!end)
        goto fail;
    gzbody_end(&e, end);
    api_piece(r, (const char *)end, GZBODY_END_LEN);
    if (r->npieces >= API_MAX_PIECES)          /* a piece was dropped: the stream is broken */
        goto fail;
    r->gzip = 1;
    return 0;
fail:
    r->scratch_len = mark;
    r->npieces = 0;
    return -1;
}

/* See api_impl.h. */
int api_serve(struct api_ctx *ctx, const struct api_entry *e, struct api_body *b, double now, struct api_resp *r,
                     int status,
                     const char *content_type, const char *tail, size_t tail_len)
{
    double age = api_heartbeat_age(e, now);
    const char *val[API_MAX_HOLES];
    size_t vlen[API_MAX_HOLES];
    r->status = status;
    r->content_type = content_type;
    r->npieces = 0;
    r->vary = 1;
    for (int i = 0; i < b->nholes; i++)
        vlen[i] = api_hole_value(ctx, e, b->hole_kind[i], now, age, r, &val[i]);
    if (r->accept_gzip && b->len >= GZBODY_MIN_BODY) {
        if (!b->gz.z && gzbody_build(&b->gz, b->text, b->len, b->hole_off, b->nholes, API_GZIP_LEVEL) < 0)
            log_event(LOG_WARN, "api.gzip_failed", "i:bytes", (long long)b->len);
        if (b->gz.z && api_serve_gzip(b, val, vlen, tail, tail_len, r) == 0)
            return status;
    }
    size_t pos = 0;
    for (int i = 0; i < b->nholes; i++) {
        api_piece(r, b->text + pos, b->hole_off[i] - pos);
        pos = b->hole_off[i];
        if (vlen[i] > 0)
            api_piece(r, val[i], vlen[i]);
        else
            api_piece(r, "null", 4);
    }
    api_piece(r, b->text + pos, b->len - pos);
    if (tail)
        api_piece(r, tail, tail_len);
    return status;
}
