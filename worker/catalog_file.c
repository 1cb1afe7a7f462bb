/* catalog_file: the workflow catalog file, parsed and validated; see catalog_file.h. */
#include "config.h"
#include "catalog_file.h"
#include "prompt.h"
#include "sessions.h"
#include "utf8.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define CF_DEPTH 32                 /* nesting the parser accepts */

/* ---- messages ---------------------------------------------------------------- */

/* Where a message is about: the file, and the entry when idx >= 0. */
struct cf_at {
    const char *path;
    int idx;                        /* -1: the file as a whole */
    const char *name;               /* the entry's name when it has a readable one, else NULL */
};

/* err = "<path>: [workflows[i] ("name"): ]<fmt...>", cut to fit, valid UTF-8. */
static int cf_fail(const struct cf_at *at, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cf_fail(const struct cf_at *at, char *err, size_t errlen, const char *fmt, ...)
{
    size_t n;
    if (at->idx < 0)
        n = (size_t)snprintf(err, errlen, "%s: ", at->path);
    else if (at->name)
        n = (size_t)snprintf(err, errlen, "%s: workflows[%d] (\"%.64s\"): ", at->path, at->idx, at->name);
    else
        n = (size_t)snprintf(err, errlen, "%s: workflows[%d]: ", at->path, at->idx);
    if (n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - n, fmt, ap);
        va_end(ap);
    }
    utf8_clean(err);
    return -1;
}

/* A JSON value shown in a message: strings quoted, at most 40 bytes. */
static const char *cf_show(json_object *v, char *buf, size_t cap)
{
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(s);
    if (len > 40)
        snprintf(buf, cap, "%.*s...", (int)utf8_cut(s, len, 40), s);
    else
        snprintf(buf, cap, "%s", s);
    return buf;
}

/* ---- fields given twice ------------------------------------------------------- */

/* One key seen in an open object: the object's id, and its text. */
struct cf_key {
    int obj;
    size_t pos, len;
};

struct cf_frame {
    int obj;                        /* object id, -1 for an array */
    int elem;                       /* arrays: index of the current element */
    size_t key, keylen;             /* objects: the last key (raw text) */
};

/* The raw key at frames[d] equals s? */
static int cf_key_is(const char *text, const struct cf_frame *f, const char *s)
{
    return f->obj >= 0 && f->keylen == strlen(s) && memcmp(text + f->key, s, f->keylen) == 0;
}

/* Refuse a member name given twice in one object (json-c keeps the last
 * silently); one pass over the text, as a small tokenizer.  Keys are compared as written (an escape that spells the same
 * name differently is not caught).  text is well-formed JSON (json-c
 * parsed it) nested at most CF_DEPTH deep.  Returns 0 or -1 with err. */
static int cf_no_repeats(const char *text, size_t len, const char *path, json_object *root, char *err, size_t errlen)
{
    struct cf_frame st[CF_DEPTH + 2];
    struct cf_key *keys = NULL;
    size_t nkeys = 0, cap = 0;
    int depth = 0, nobj = 0, expect_key = 0, rc = 0;
    for (size_t i = 0; i < len && rc == 0; i++) {
        char ch = text[i];
        if (ch == '"') {
            size_t s = i + 1, e = s;
            while (e < len && text[e] != '"')
                e += text[e] == '\\' ? 2 : 1;
            i = e;
            if (!(depth > 0 && st[depth - 1].obj >= 0 && expect_key))
                continue;
            expect_key = 0;
            struct cf_frame *f = &st[depth - 1];
            f->key = s;
            f->keylen = e - s;
            for (size_t k = nkeys; k-- > 0 && keys[k].obj == f->obj;) {
                if (keys[k].len == f->keylen && memcmp(text + keys[k].pos, text + s, f->keylen) == 0) {
                    /* root = depth 1; workflows[] = 2; an entry = 3; inside it deeper */
                    struct cf_at at = { path, -1, NULL };
                    json_object *wfs, *entry, *name;
                    if (depth >= 3 && cf_key_is(text, &st[0], "workflows")) {
                        at.idx = st[1].elem;
                        if (json_object_object_get_ex(root, "workflows", &wfs) &&
                            json_object_is_type(wfs, json_type_array) &&
                            (entry = json_object_array_get_idx(wfs, (size_t)at.idx)) &&
                            json_object_object_get_ex(entry, "name", &name) && json_object_is_type(name, json_type_string))
                            at.name = json_object_get_string(name);
                    }
                    if (depth <= 1 || depth == 3)
                        rc = cf_fail(&at, err, errlen, "field \"%.*s\" given twice", (int)utf8_cut(text + s, f->keylen, 40), text + s);
                    else if (depth > 3)
                        rc = cf_fail(&at, err, errlen, "field \"%.*s\": member \"%.*s\" given twice",
                                     (int)st[2].keylen, text + st[2].key, (int)utf8_cut(text + s, f->keylen, 40), text + s);
                    else
                        rc = cf_fail(&at, err, errlen, "member \"%.*s\" given twice", (int)utf8_cut(text + s, f->keylen, 40), text + s);
                    break;
                }
            }
            if (rc == 0 && nkeys == cap) {
                size_t nc = cap ? cap * 2 : 64;
                struct cf_key *p = realloc(keys, nc * sizeof *p);
                if (!p) {
                    rc = cf_fail(&(struct cf_at){ path, -1, NULL }, err, errlen, "out of memory");
                    break;
                }
                keys = p;
                cap = nc;
            }
            if (rc == 0)
                keys[nkeys++] = (struct cf_key){ f->obj, s, f->keylen };
        } else if (ch == '{' || ch == '[') {
            if (depth >= CF_DEPTH + 1)
                break;                  /* json-c refused deeper already */
            st[depth] = (struct cf_frame){ ch == '{' ? nobj++ : -1, 0, 0, 0 };
            depth++;
            expect_key = ch == '{';
        } else if (ch == '}' || ch == ']') {
            if (depth > 0 && st[depth - 1].obj >= 0)
                while (nkeys > 0 && keys[nkeys - 1].obj == st[depth - 1].obj)
                    nkeys--;
            if (depth > 0)
                depth--;
        } else if (ch == ',' && depth > 0) {
            if (st[depth - 1].obj >= 0)
                expect_key = 1;
            else
                st[depth - 1].elem++;
        }
    }
    free(keys);
    return rc;
}

/* ---- one entry ------------------------------------------------------------------ */

enum cf_kind { CF_NAME, CF_TITLE, CF_MARKET, CF_INTENSITY, CF_SESSIONS, CF_NEEDS, CF_CONCURRENCY,
               CF_PARAMETERS, CF_COST, CF_INT, CF_BOOL };

struct cf_field {
    const char *name;
    enum cf_kind kind;
    int required;
    size_t off;                     /* into struct catalog_wf (CF_INT: long, CF_BOOL: int) */
    long min, max;                  /* CF_INT */
};

#define F(x) offsetof(struct catalog_wf, x)

/* The fields of an entry: their types, defaults (in cf_defaults) and ranges. */
static const struct cf_field cf_fields[] = {
    { "name",                 CF_NAME,        1, F(name), 0, 0 },
    { "title",                CF_TITLE,       0, F(title), 0, 0 },
    { "market",               CF_MARKET,      1, F(market), 0, 0 },
    { "intensity",            CF_INTENSITY,   0, F(intensity), 0, 0 },
    { "sessions",             CF_SESSIONS,    0, F(sessions), 0, 0 },
    { "needs",                CF_NEEDS,       0, F(needs), 0, 0 },
    { "concurrency",          CF_CONCURRENCY, 0, F(concurrency), 0, 0 },
    { "parameters",           CF_PARAMETERS,  0, F(parameters), 0, 0 },
    { "cost",                 CF_COST,        0, F(cost), 0, 0 },
    { "min_interval_seconds", CF_INT,         0, F(min_interval_seconds), 0, 604800 },
    { "max_runs_per_day",     CF_INT,         0, F(max_runs_per_day), 0, 100000 },
    { "expects_result",       CF_BOOL,        0, F(expects_result), 0, 0 },
    { "timeout_seconds",      CF_INT,         0, F(timeout_seconds), 0, 604800 },
    { "enabled",              CF_BOOL,        0, F(enabled), 0, 0 },
    { "claims",               CF_BOOL,        0, F(claims), 0, 0 },
};
#define CF_NFIELDS (sizeof cf_fields / sizeof cf_fields[0])
#define CF_COST_MAX 1000.0

static void cf_defaults(struct catalog_wf *w)
{
    memset(w, 0, sizeof *w);
    w->intensity = CATALOG_ANY_INTENSITY;
    w->concurrency = CONCURRENCY_ALLOW;
    snprintf(w->parameters, sizeof w->parameters, "{}");
    w->cost = 1;
    w->enabled = 1;
    w->order = -1;
}

/* Nonzero when s is a title: 1..CATALOG_TITLE_MAX bytes of UTF-8 text
 * without control characters. */
static int cf_title_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CATALOG_TITLE_MAX)
        return 0;
    while (*s) {
        unsigned cp;
        int l = utf8_decode(s, &cp);
        if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
            return 0;
        s += l;
    }
    return 1;
}

/* An array of distinct words of names[0..n) into a bit set.  Returns 0 or -1 with err. */
static int cf_word_set(const struct cf_at *at, const char *field, json_object *v, const char *const *names, int n,
                       const char *expect, unsigned *out, char *err, size_t errlen)
{
    char show[64];
    if (!json_object_is_type(v, json_type_array))
        return cf_fail(at, err, errlen, "field \"%s\": expected an array of %s; got %s", field, expect,
                       cf_show(v, show, sizeof show));
    *out = 0;
    size_t len = json_object_array_length(v);
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        int k = -1;
        for (int j = 0; e && json_object_is_type(e, json_type_string) && j < n; j++)
            if (strcmp(json_object_get_string(e), names[j]) == 0)
                k = j;
        if (k < 0)
            return cf_fail(at, err, errlen, "field \"%s\": item %zu: expected one of %s; got %s", field, i, expect,
                           cf_show(e, show, sizeof show));
        if (*out & (1u << k))
            return cf_fail(at, err, errlen, "field \"%s\": \"%s\" listed twice", field, names[k]);
        *out |= 1u << k;
    }
    return 0;
}

/* One field's value into w.  Returns 0 or -1 with err.  Longer than most
 * functions: one case per kind of field, so that each field's rule and its
 * message sit side by side. */
static int cf_field_set(const struct cf_at *at, const struct cf_field *f, json_object *v, struct catalog_wf *w,
                        char *err, size_t errlen)
{
    static const char *const sessions[SESSION_COUNT] = { "sydney", "tokyo", "london", "newyork" };
    static const char *const feeds[FEED_COUNT] = { "dexscreener", "pumpfun", "tradermade", "birdeye" };
    char show[64];
    char *field = (char *)w + f->off;
    int is_str = json_object_is_type(v, json_type_string);
    const char *s = is_str ? json_object_get_string(v) : NULL;
    switch (f->kind) {
    case CF_NAME:
        if (!is_str || !catalog_name_valid(s))
            return cf_fail(at, err, errlen, "field \"name\": expected a webhook path of 1 to %d characters "
                           "(letters, digits, '-', '_', '.', segments separated by '/', each starting with a "
                           "letter or digit); got %s", CATALOG_NAME_MAX, cf_show(v, show, sizeof show));
        snprintf(w->name, sizeof w->name, "%s", s);
        return 0;
    case CF_TITLE:
        if (!is_str || !cf_title_ok(s))
            return cf_fail(at, err, errlen, "field \"title\": expected text of 1 to %d bytes without control "
                           "characters; got %s", CATALOG_TITLE_MAX, cf_show(v, show, sizeof show));
        snprintf(w->title, sizeof w->title, "%s", s);
        return 0;
    case CF_MARKET:
        if ((w->market = catalog_market_parse(s)) < 0)
            return cf_fail(at, err, errlen, "field \"market\": expected one of crypto, forex, both, system; got %s",
                           cf_show(v, show, sizeof show));
        return 0;
    case CF_INTENSITY:
        if (s && strcmp(s, "any") == 0)
            w->intensity = CATALOG_ANY_INTENSITY;
        else if ((w->intensity = catalog_intensity_parse(s)) < 0)
            return cf_fail(at, err, errlen, "field \"intensity\": expected one of aggressive, normal, light, any; "
                           "got %s", cf_show(v, show, sizeof show));
        return 0;
    case CF_SESSIONS:
        return cf_word_set(at, "sessions", v, sessions, SESSION_COUNT, "sydney, tokyo, london, newyork",
                           &w->sessions, err, errlen);
    case CF_NEEDS:
        return cf_word_set(at, "needs", v, feeds, FEED_COUNT, "dexscreener, pumpfun, tradermade, birdeye",
                           &w->needs, err, errlen);
    case CF_CONCURRENCY:
        if ((w->concurrency = catalog_concurrency_parse(s)) < 0)
            return cf_fail(at, err, errlen, "field \"concurrency\": expected one of forbid, allow, replace; got %s",
                           cf_show(v, show, sizeof show));
        return 0;
    case CF_PARAMETERS: {
        if (!json_object_is_type(v, json_type_object))
            return cf_fail(at, err, errlen, "field \"parameters\": expected an object; got %s",
                           cf_show(v, show, sizeof show));
        const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (strlen(t) > CATALOG_PARAMS_MAX)
            return cf_fail(at, err, errlen, "field \"parameters\": %zu bytes as JSON, at most %d", strlen(t),
                           CATALOG_PARAMS_MAX);
        snprintf(w->parameters, sizeof w->parameters, "%s", t);
        return 0;
    }
    case CF_COST: {
        double d = json_object_get_double(v);
        if (!(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) || !isfinite(d) ||
            !(d > 0) || d > CF_COST_MAX)
            return cf_fail(at, err, errlen, "field \"cost\": expected a number above 0 and at most %g; got %s",
                           CF_COST_MAX, cf_show(v, show, sizeof show));
        w->cost = d;
        return 0;
    }
    case CF_INT: {
        errno = 0;
        int64_t n = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || errno || n < f->min || n > f->max)
            return cf_fail(at, err, errlen, "field \"%s\": expected a whole number from %ld to %ld; got %s", f->name,
                           f->min, f->max, cf_show(v, show, sizeof show));
        if (strcmp(f->name, "timeout_seconds") == 0 && n > 0 && n < 5)
            return cf_fail(at, err, errlen, "field \"timeout_seconds\": expected 0 (TRACK_TIMEOUT_SECONDS) or 5 "
                           "to %ld; got %s", f->max, cf_show(v, show, sizeof show));
        *(long *)(void *)field = (long)n;
        return 0;
    }
    case CF_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return cf_fail(at, err, errlen, "field \"%s\": expected true or false; got %s", f->name,
                           cf_show(v, show, sizeof show));
        *(int *)(void *)field = json_object_get_boolean(v);
        return 0;
    }
    return -1;
}

/* Entry idx of the file into *w.  Returns 0 or -1 with err. */
static int cf_entry(const char *path, int idx, json_object *o, struct catalog_wf *w, char *err, size_t errlen)
{
    struct cf_at at = { path, idx, NULL };
    char show[64];
    cf_defaults(w);
    if (!json_object_is_type(o, json_type_object))
        return cf_fail(&at, err, errlen, "expected an object; got %s", cf_show(o, show, sizeof show));
    json_object *name;
    if (json_object_object_get_ex(o, "name", &name) && json_object_is_type(name, json_type_string) &&
        utf8_cut(json_object_get_string(name), strlen(json_object_get_string(name)), 64) ==
            strlen(json_object_get_string(name)))
        at.name = json_object_get_string(name);
    /* every field known, in the file's order, so the first wrong one is named */
    json_object_object_foreach(o, key, val) {
        const struct cf_field *f = NULL;
        for (size_t k = 0; k < CF_NFIELDS; k++)
            if (strcmp(key, cf_fields[k].name) == 0)
                f = &cf_fields[k];
        if (!f)
            return cf_fail(&at, err, errlen, "field \"%.40s\": unknown field", key);
        if (cf_field_set(&at, f, val, w, err, errlen) < 0)
            return -1;
    }
    for (size_t k = 0; k < CF_NFIELDS; k++)
        if (cf_fields[k].required && !json_object_object_get_ex(o, cf_fields[k].name, NULL))
            return cf_fail(&at, err, errlen, "field \"%s\": required", cf_fields[k].name);
    if (!json_object_object_get_ex(o, "title", NULL))
        snprintf(w->title, sizeof w->title, "%s", w->name);
    return 0;
}

/* ---- the file ----------------------------------------------------------------------- */

/* The top level: {"$schema"?, "version"?, "workflows": [...]}.  Returns 0 or -1. */
static int cf_top(const char *path, json_object *root, struct catalog_file *out, json_object **wfs,
                  char *err, size_t errlen)
{
    struct cf_at at = { path, -1, NULL };
    char show[64];
    if (!json_object_is_type(root, json_type_object))
        return cf_fail(&at, err, errlen, "expected an object {\"workflows\": [...]}; got %s", cf_show(root, show, sizeof show));
    json_object_object_foreach(root, key, val) {
        if (strcmp(key, "$schema") == 0) {
            if (!json_object_is_type(val, json_type_string))
                return cf_fail(&at, err, errlen, "field \"$schema\": expected a string");
        } else if (strcmp(key, "version") == 0) {
            const char *v = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
            if (!v || !*v || strlen(v) >= sizeof out->version || !cf_title_ok(v))
                return cf_fail(&at, err, errlen, "field \"version\": expected text of 1 to %zu bytes; got %s",
                               sizeof out->version - 1, cf_show(val, show, sizeof show));
            snprintf(out->version, sizeof out->version, "%s", v);
        } else if (strcmp(key, "workflows") != 0) {
            return cf_fail(&at, err, errlen, "field \"%.40s\": unknown field (expected $schema, version, workflows)", key);
        }
    }
    if (!json_object_object_get_ex(root, "workflows", wfs))
        return cf_fail(&at, err, errlen, "field \"workflows\": required");
    if (!json_object_is_type(*wfs, json_type_array))
        return cf_fail(&at, err, errlen, "field \"workflows\": expected an array");
    size_t n = json_object_array_length(*wfs);
    if (n == 0 || n > CATALOG_MAX)
        return cf_fail(&at, err, errlen, "field \"workflows\": %zu entries; expected 1 to %d", n, CATALOG_MAX);
    return 0;
}

/* Rules across entries: names unique, every market with an enabled entry.
 * Returns 0 or -1 with err. */
static int cf_across(const char *path, const struct catalog *cat, char *err, size_t errlen)
{
    for (int i = 0; i < cat->n; i++)
        for (int k = 0; k < i; k++)
            if (strcmp(cat->wf[i].name, cat->wf[k].name) == 0)
                return cf_fail(&(struct cf_at){ path, i, cat->wf[i].name }, err, errlen,
                               "field \"name\": duplicate of workflows[%d]", k);
    static const int markets[] = { MARKET_CRYPTO, MARKET_FOREX };
    for (size_t m = 0; m < sizeof markets / sizeof markets[0]; m++) {
        int have = 0;
        for (int i = 0; i < cat->n; i++)
            have |= cat->wf[i].market == markets[m] && cat->wf[i].enabled;
        if (!have)
            return cf_fail(&(struct cf_at){ path, -1, NULL }, err, errlen,
                           "field \"market\": no enabled workflow has market \"%s\" (every market needs at least "
                           "one: the orchestrator scans it with its own workflows)", catalog_market_name(markets[m]));
    }
    return 0;
}

int catalog_file_parse(const char *text, size_t len, const char *path, struct catalog_file *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", path);
    struct cf_at at = { path, -1, NULL };
    if (len > CATALOG_FILE_MAX_BYTES)
        return cf_fail(&at, err, errlen, "larger than %d bytes", CATALOG_FILE_MAX_BYTES);
    if (memchr(text, '\0', len))
        return cf_fail(&at, err, errlen, "contains a NUL byte");
    char *copy = malloc(len + 1);
    if (!copy)
        return cf_fail(&at, err, errlen, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (utf8_clean(copy) > 0) {
        free(copy);
        return cf_fail(&at, err, errlen, "not valid UTF-8");
    }
    int rc = -1;
    json_tokener *tok = json_tokener_new_ex(CF_DEPTH);
    json_object *root = NULL, *wfs = NULL;
    if (!tok) {
        cf_fail(&at, err, errlen, "out of memory");
        goto out;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, copy, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (root && je == json_tokener_success)
        while (end < len && strchr(" \t\r\n", copy[end]))
            end++;
    if (!root || je != json_tokener_success || end < len) {
        /* the line of the problem helps in a hand-written file */
        int line = 1;
        for (size_t i = 0; i < end && i < len; i++)
            line += copy[i] == '\n';
        cf_fail(&at, err, errlen, "not valid JSON (line %d: %s)", line,
                je == json_tokener_continue ? "unexpected end of the file"
                : je != json_tokener_success ? json_tokener_error_desc(je) : "text after the document");
        goto out;
    }
    if (cf_no_repeats(copy, len, path, root, err, errlen) < 0 || cf_top(path, root, out, &wfs, err, errlen) < 0)
        goto out;
    size_t n = json_object_array_length(wfs);
    for (size_t i = 0; i < n; i++)
        if (cf_entry(path, (int)i, json_object_array_get_idx(wfs, i), &out->cat.wf[i], err, errlen) < 0)
            goto out;
    out->cat.n = (int)n;
    if (cf_across(path, &out->cat, err, errlen) < 0)
        goto out;
    prompt_sha256_hex(text, len, out->hash);
    rc = 0;
out:
    if (rc < 0)
        out->cat.n = 0;
    json_object_put(root);
    if (tok)
        json_tokener_free(tok);
    free(copy);
    return rc;
}

int catalog_file_load(const char *path, time_t now, struct catalog_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct cf_at at = { path, -1, NULL };
    FILE *f = fopen(path, "rb");
    if (!f)
        return cf_fail(&at, err, errlen, "cannot open: %s", strerror(errno));
    char *buf = malloc(CATALOG_FILE_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return cf_fail(&at, err, errlen, "out of memory");
    }
    size_t n = fread(buf, 1, CATALOG_FILE_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? cf_fail(&at, err, errlen, "cannot read") : catalog_file_parse(buf, n, path, out, err, errlen);
    free(buf);
    if (rc == 0)
        out->loaded_at = now;
    return rc;
}

json_object *catalog_file_entry_json(const struct catalog_wf *w)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "name", json_object_new_string(w->name));
    json_object_object_add(o, "title", json_object_new_string(w->title));
    json_object_object_add(o, "market", json_object_new_string(catalog_market_name(w->market)));
    json_object_object_add(o, "intensity", json_object_new_string(catalog_wf_intensity_name(w->intensity)));
    json_object *s = json_object_new_array(), *n = json_object_new_array();
    for (int k = 0; k < SESSION_COUNT; k++)
        if (w->sessions & (1u << k))
            json_object_array_add(s, json_object_new_string(session_name((enum session_id)k)));
    for (int k = 0; k < FEED_COUNT; k++)
        if (w->needs & (1u << k))
            json_object_array_add(n, json_object_new_string(catalog_feed_name(k)));
    json_object_object_add(o, "sessions", s);
    json_object_object_add(o, "needs", n);
    json_object_object_add(o, "concurrency", json_object_new_string(catalog_concurrency_name(w->concurrency)));
    json_object *p = json_tokener_parse(w->parameters);
    json_object_object_add(o, "parameters", p ? p : json_object_new_object());
    json_object_object_add(o, "cost", json_object_new_double(w->cost));
    json_object_object_add(o, "min_interval_seconds", json_object_new_int64(w->min_interval_seconds));
    json_object_object_add(o, "max_runs_per_day", json_object_new_int64(w->max_runs_per_day));
    json_object_object_add(o, "expects_result", json_object_new_boolean(w->expects_result));
    json_object_object_add(o, "timeout_seconds", json_object_new_int64(w->timeout_seconds));
    json_object_object_add(o, "enabled", json_object_new_boolean(w->enabled));
    json_object_object_add(o, "claims", json_object_new_boolean(w->claims));
    return o;
}
