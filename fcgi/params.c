/* params: validation of the /decisions query string and item ids; see params.h. */
#include "config.h"
#include "params.h"
#include "catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The declared parameters of GET /decisions. */
enum params_id { PARAMS_LIMIT = 0, PARAMS_BEFORE, PARAMS_MODE, PARAMS_DETAIL, PARAMS_COUNT };
static const char *const params_names[PARAMS_COUNT] = { "limit", "before", "mode", "detail" };

/* Value of one hex digit, or -1. */
static int params_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long params_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            if (n - i < 3)              /* fewer than two characters follow */
                goto fail;
            int hi = params_hex(in[i + 1]);
            int lo = params_hex(in[i + 2]);
            if (hi < 0 || lo < 0)
                goto fail;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0' || len + 1 >= cap)
            goto fail;
        out[len++] = c;
    }
    out[len] = '\0';
    return (long)len;
fail:
    out[0] = '\0';
    return -1;
}

int params_uint(const char *s, long long max, long long *out)
{
    if (!s || !*s)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Copy s into out for an error message: at most 32 bytes, anything but
 * printable ASCII replaced by '?', so that the message stays valid UTF-8. */
static void params_printable(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap && i < 32; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[i] = '\0';
    if (s[i] && cap > 4 && i >= 3)
        memcpy(out + i - 3, "...", 3);
}

/* Check one decoded value of parameter id and store it.  Returns 0 or -1
 * with err set. */
static int params_set(struct params_decisions *p, int id, const char *val, char *err, size_t errlen)
{
    long long v;
    switch (id) {
    case PARAMS_LIMIT:
        /* a larger page is capped, not refused: the answer's "limit" says so */
        if (params_uint(val, 9223372036854775807LL, &v) < 0 || v < 1) {
            snprintf(err, errlen, "limit must be a positive integer (at most %d are listed)", PARAMS_LIMIT_MAX);
            return -1;
        }
        p->limit = v > PARAMS_LIMIT_MAX ? PARAMS_LIMIT_MAX : (int)v;
        return 0;
    case PARAMS_BEFORE:
        if (params_uint(val, 9223372036854775807LL, &v) < 0 || v < 1) {
            snprintf(err, errlen, "before must be a positive integer (a decision id)");
            return -1;
        }
        p->before = v;
        return 0;
    case PARAMS_MODE:
        p->mode = catalog_mode_parse(val);
        if (p->mode < 0) {
            snprintf(err, errlen, "mode must be one of crypto, forex, hybrid, standby");
            return -1;
        }
        return 0;
    case PARAMS_DETAIL:
        if (strcmp(val, "1") == 0 || strcmp(val, "true") == 0) {
            p->detail = 1;
        } else if (strcmp(val, "0") == 0 || strcmp(val, "false") == 0) {
            p->detail = 0;
        } else {
            snprintf(err, errlen, "detail must be 0, 1, false or true");
            return -1;
        }
        return 0;
    default:
        return -1;
    }
}

int params_decisions_parse(const char *qs, struct params_decisions *p, char *err, size_t errlen)
{
    char name[PARAMS_QUERY_MAX + 1], val[PARAMS_QUERY_MAX + 1], shown[40];
    int seen[PARAMS_COUNT] = { 0 };

    p->limit = PARAMS_LIMIT_DEFAULT;
    p->before = 0;
    p->mode = -1;
    p->detail = 0;
    p->id = 0;
    if (!qs)
        return 0;
    size_t total = strlen(qs);
    if (total > PARAMS_QUERY_MAX) {
        snprintf(err, errlen, "query string is longer than %d bytes", PARAMS_QUERY_MAX);
        return -1;
    }
    const char *s = qs;
    while (*s) {
        size_t seg = strcspn(s, "&");
        if (seg == 0) {                 /* "a=1&&b=2", a trailing '&': nothing there */
            s++;
            continue;
        }
        const char *eq = memchr(s, '=', seg);
        size_t nlen = eq ? (size_t)(eq - s) : seg;
        if (params_decode(s, nlen, name, sizeof name) < 0) {
            snprintf(err, errlen, "malformed percent-encoding in a parameter name");
            return -1;
        }
        int id = -1;
        for (int i = 0; i < PARAMS_COUNT; i++)
            if (strcmp(name, params_names[i]) == 0)
                id = i;
        if (id < 0) {
            params_printable(name, shown, sizeof shown);
            snprintf(err, errlen, "unknown parameter \"%s\" (known: limit, before, mode, detail)", shown);
            return -1;
        }
        if (seen[id]++) {
            snprintf(err, errlen, "parameter %s is given more than once", params_names[id]);
            return -1;
        }
        size_t vlen = eq ? seg - nlen - 1 : 0;
        long dlen = params_decode(eq ? eq + 1 : s + seg, vlen, val, sizeof val);
        if (dlen < 0) {
            snprintf(err, errlen, "parameter %s: malformed percent-encoding", params_names[id]);
            return -1;
        }
        if (dlen == 0) {
            snprintf(err, errlen, "parameter %s has an empty value", params_names[id]);
            return -1;
        }
        if (params_set(p, id, val, err, errlen) < 0)
            return -1;
        s += seg;
        if (*s == '&')
            s++;
    }
    return 0;
}

int params_item_id(const char *s, long long *id)
{
    long long v;
    if (params_uint(s, 9223372036854775807LL, &v) < 0 || v < 1)
        return -1;
    *id = v;
    return 0;
}

int params_decisions_equal(const struct params_decisions *a, const struct params_decisions *b)
{
    if (a->id || b->id)
        return a->id == b->id;
    return a->limit == b->limit && a->before == b->before && a->mode == b->mode && a->detail == b->detail;
}
