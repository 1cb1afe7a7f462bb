/* fields: table-driven parsing of query strings and JSON members; see fields.h. */
#include "config.h"
#include "fields.h"
#include "utf8.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS_DEPTH_MAX 64     /* nesting of an OBJECT field, at most */

/* Value of one hex digit, or -1. */
static int fields_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long fields_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            if (n - i < 3)              /* fewer than two characters follow */
                goto fail;
            int hi = fields_hex(in[i + 1]);
            int lo = fields_hex(in[i + 2]);
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

int fields_uint(const char *s, long long max, long long *out)
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

int fields_bool(const char *s)
{
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
        return 1;
    if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0)
        return 0;
    return -1;
}

/* Write template tmpl into err (errlen bytes, cut when longer), its first
 * "{}" replaced by name (NULL: ""), and return -1. */
static int fields_say(char *err, size_t errlen, const char *tmpl, const char *name)
{
    const char *hole = strstr(tmpl, "{}");
    if (!hole)
        snprintf(err, errlen, "%s", tmpl);
    else
        snprintf(err, errlen, "%.*s%s%s", (int)(hole - tmpl), tmpl, name ? name : "", hole + 2);
    return -1;
}

/* Copy s into out for a message: at most 32 bytes, anything but printable
 * ASCII replaced by '?', "..." at the end of a longer name. */
static void fields_printable(const char *s, char *out, size_t cap)
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

/* The index of name in spec[0 .. count), or -1. */
static int fields_find(const struct fields_spec *spec, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp(name, spec[i].name) == 0)
            return i;
    return -1;
}

/* Every field absent, with its default. */
static void fields_defaults(const struct fields_spec *spec, int count, struct fields_value *out)
{
    for (int i = 0; i < count; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].n = spec[i].def;
    }
}

/* A number n of field f within its bounds into v (capped when f clamps).
 * Returns 0 or -1. */
static int fields_bounded(const struct fields_spec *f, long long n, struct fields_value *v)
{
    if (n < f->min || (n > f->max && !(f->flags & FIELDS_CLAMP)))
        return -1;
    v->n = n > f->max ? f->max : n;
    v->present = 1;
    return 0;
}

/* The decoded, non-empty query value s of field f into v.  Returns 0 or -1. */
static int fields_query_value(const struct fields_spec *f, const char *s, struct fields_value *v)
{
    long long n;
    switch (f->type) {
    case FIELDS_UINT:
        return fields_uint(s, LLONG_MAX, &n) < 0 ? -1 : fields_bounded(f, n, v);
    case FIELDS_ENUM:
        n = f->parse ? f->parse(s) : -1;
        if (n < 0)
            return -1;
        v->n = n;
        v->present = 1;
        return 0;
    case FIELDS_TEXT:
    case FIELDS_OBJECT:
    default:
        return -1;                      /* not a query parameter's type */
    }
}

int fields_query_parse(const struct fields_query *q, const char *qs, struct fields_value *out, char *err,
                       size_t errlen)
{
    char name[FIELDS_QUERY_MAX + 1], val[FIELDS_QUERY_MAX + 1], shown[40];
    int seen[FIELDS_MAX] = { 0 };
    int count = q->count < FIELDS_MAX ? q->count : FIELDS_MAX;
    size_t name_cap = q->name_max ? q->name_max + 1 : sizeof name;
    size_t value_cap = q->value_max ? q->value_max + 1 : sizeof val;

    fields_defaults(q->spec, count, out);
    if (!qs)
        return 0;
    if (strlen(qs) > FIELDS_QUERY_MAX)
        return fields_say(err, errlen, q->too_long, NULL);
    const char *s = qs;
    while (*s) {
        size_t seg = strcspn(s, "&");
        if (seg == 0) {                 /* "a=1&&b=2", a trailing '&': nothing there */
            s++;
            continue;
        }
        const char *eq = memchr(s, '=', seg);
        size_t nlen = eq ? (size_t)(eq - s) : seg;
        if (fields_decode(s, nlen, name, name_cap < sizeof name ? name_cap : sizeof name) < 0)
            return fields_say(err, errlen, q->bad_name, NULL);
        int id = fields_find(q->spec, count, name);
        if (id < 0) {
            fields_printable(name, shown, sizeof shown);
            return fields_say(err, errlen, q->unknown, shown);
        }
        const struct fields_spec *f = &q->spec[id];
        if (seen[id]++)
            return fields_say(err, errlen, q->repeated, f->name);
        long dlen = fields_decode(eq ? eq + 1 : s + seg, eq ? seg - nlen - 1 : 0, val,
                                  value_cap < sizeof val ? value_cap : sizeof val);
        if (dlen < 0)
            return fields_say(err, errlen, q->bad_escape ? q->bad_escape : f->msg, f->name);
        if (dlen == 0)
            return fields_say(err, errlen, q->empty ? q->empty : f->msg, f->name);
        if (fields_query_value(f, val, &out[id]) < 0)
            return fields_say(err, errlen, f->msg, f->name);
        s += seg;
        if (*s == '&')
            s++;
    }
    return 0;
}

/* Nonzero when jsonb can store v: no string with a NUL byte (jsonb refuses
 * \u0000), no number that is not finite (json-c reads NaN and Infinity),
 * no nesting deeper than FIELDS_DEPTH_MAX levels. */
static int fields_storable(json_object *v, int depth)
{
    if (depth > FIELDS_DEPTH_MAX)
        return 0;
    switch (json_object_get_type(v)) {
    case json_type_string:
        return strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v);
    case json_type_double:
        return isfinite(json_object_get_double(v));
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!fields_storable(json_object_array_get_idx(v, i), depth + 1))
                return 0;
        return 1;
    case json_type_object: {
        json_object_object_foreach(v, key, val) {
            (void)key;
            if (!fields_storable(val, depth + 1))
                return 0;
        }
        return 1;
    }
    default:
        return 1;
    }
}

/* The JSON value v (not null) of field f into out.  Returns 0, or -1 with
 * *wrong_type set when v is not of f's JSON type. */
static int fields_json_value(const struct fields_spec *f, json_object *v, struct fields_value *out, int *wrong_type)
{
    json_type want = f->type == FIELDS_UINT ? json_type_int : f->type == FIELDS_OBJECT ? json_type_object
                                                                                      : json_type_string;
    *wrong_type = !json_object_is_type(v, want);
    if (*wrong_type)
        return -1;
    const char *s = want == json_type_string ? json_object_get_string(v) : NULL;
    size_t n = s ? (size_t)json_object_get_string_len(v) : 0;
    switch (f->type) {
    case FIELDS_UINT: {
        /* json-c keeps integers as int64 (uint64 beyond): the largest int64 may stand for more */
        long long i = (long long)json_object_get_int64(v);
        if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
            return -1;
        return fields_bounded(f, i, out);
    }
    case FIELDS_ENUM:
        out->n = strlen(s) == n && f->parse ? f->parse(s) : -1;
        if (out->n < 0)
            return -1;
        break;
    case FIELDS_TEXT:
        if ((long long)n < f->min || (long long)n > f->max || !utf8_valid(s, n) || (f->ok && !f->ok(s, n)))
            return -1;
        out->s = s;
        out->len = n;
        break;
    case FIELDS_OBJECT:
        if (!fields_storable(v, 0))
            return -1;
        out->o = v;
        break;
    default:
        return -1;
    }
    out->present = 1;
    return 0;
}

int fields_json_parse(const struct fields_json *j, json_object *obj, struct fields_value *out, const char **field,
                      char *err, size_t errlen)
{
    fields_defaults(j->spec, j->count, out);
    *field = "body";
    json_object_object_foreach(obj, key, val) {
        (void)val;
        if (fields_find(j->spec, j->count, key) < 0) {
            char shown[41];             /* never raw bytes in the answer */
            utf8_copy_clean(shown, sizeof shown, key);
            return fields_say(err, errlen, j->unknown, shown);
        }
    }
    /* in the table's order: the first wrong field is the one named */
    for (int i = 0; i < j->count; i++) {
        const struct fields_spec *f = &j->spec[i];
        json_object *v = NULL;
        int given = json_object_object_get_ex(obj, f->name, &v);
        int required = (f->flags & FIELDS_REQUIRED) != 0, wrong_type = 1;
        *field = f->name;
        if (!given && required) {
            snprintf(err, errlen, "%s is required", f->name);
            return -1;
        }
        if (!v && !required)            /* absent, or null where null is allowed */
            continue;
        if (!v || fields_json_value(f, v, &out[i], &wrong_type) < 0)
            return fields_say(err, errlen, wrong_type && f->type_msg ? f->type_msg : f->msg, NULL);
    }
    *field = NULL;
    return 0;
}
