/* fields: the one parser of what a client sends as parameters -- a query
 * string, or the members of a JSON object -- driven by a table per
 * endpoint, as kcgi does.
 *
 * An endpoint declares its fields once, as an array of struct fields_spec
 * {name, type, flags (required, clamp), bounds, default, message}; the
 * parser checks every key against that table before anything uses a
 * value: unknown keys, repeated keys (query strings), empty values,
 * malformed percent-escapes, values out of bounds, strings that are not
 * valid UTF-8 or hold a NUL, numbers that are not finite and nesting past
 * 64 levels are refused with a message for the client (a 400 body: valid
 * UTF-8, no control characters).
 *
 * Pure functions (no FastCGI, no database), for tests/unit/test_params.c,
 * test_learning_api.c, test_results.c and the fuzz harnesses.  Nothing is
 * allocated; the values are numbers or borrowed from the parsed input. */
#ifndef FIELDS_H
#define FIELDS_H

#include <json-c/json.h>
#include <stddef.h>

#define FIELDS_QUERY_MAX 1024   /* longest query string accepted, in bytes */
#define FIELDS_MAX       16     /* fields of one endpoint, at most */

/* A macro's value as a string literal, for the messages of a table
 * ("limit must be an integer from 1 to " FIELDS_STR(LEARNING_LIMIT_MAX)). */
#define FIELDS_STR_(x) #x
#define FIELDS_STR(x) FIELDS_STR_(x)

enum fields_type {
    FIELDS_UINT = 0,   /* query: digits only; JSON: an integer; from min to max */
    FIELDS_ENUM,       /* a string that parse() maps to a value >= 0 */
    FIELDS_TEXT,       /* JSON: a string of min .. max bytes, valid UTF-8, accepted by ok() when set */
    FIELDS_OBJECT      /* JSON: an object that jsonb can store (no NUL, finite numbers, depth <= 64) */
};

#define FIELDS_REQUIRED 1u      /* JSON: must be present and not null (a query parameter is optional) */
#define FIELDS_CLAMP    2u      /* UINT: a value above max is capped to max, not refused */

/* One declared field.  msg is the refusal of a wrong value, type_msg (JSON
 * only; NULL: msg) the refusal of a value of another JSON type. */
struct fields_spec {
    const char *name;
    enum fields_type type;
    unsigned flags;
    long long min, max;                 /* UINT: of the value; TEXT: of the length in bytes */
    long long def;                      /* UINT, ENUM: the value when absent */
    int (*parse)(const char *s);        /* ENUM: the value of s, or -1 */
    int (*ok)(const char *s, size_t n); /* TEXT: nonzero when s[0 .. n) is acceptable; NULL: any */
    const char *msg;
    const char *type_msg;
};

/* What the parser found for one field. */
struct fields_value {
    int present;                        /* given (and, in JSON, not null) */
    long long n;                        /* UINT, ENUM: the value, def when absent */
    const char *s;                      /* TEXT: the string (borrowed from the document), NULL when absent */
    size_t len;                         /* TEXT: its length */
    json_object *o;                     /* OBJECT: borrowed from the document, NULL when absent */
};

/* A query-string endpoint: its fields and the wording of its refusals.
 * In the templates "{}" stands for the parameter's name (unknown: as sent,
 * printable ASCII, cut at 32 characters). */
struct fields_query {
    const struct fields_spec *spec;
    int count;                          /* at most FIELDS_MAX */
    size_t name_max, value_max;         /* bytes of a decoded name / value, at most; 0: FIELDS_QUERY_MAX */
    const char *too_long;               /* the query string is longer than FIELDS_QUERY_MAX bytes */
    const char *bad_name;               /* a malformed percent-escape in a name, or a name too long */
    const char *unknown;                /* "{}": a name the table does not declare */
    const char *repeated;               /* "{}": a name given twice */
    const char *bad_escape;             /* "{}": a malformed escape in a value, or a value too long;
                                         * NULL: the field's msg */
    const char *empty;                  /* "{}": an empty value ("a=", "a"); NULL: the field's msg */
};

/* A JSON-object endpoint: its fields, checked in the table's order (the
 * first wrong one is named), and the wording of an unknown member. */
struct fields_json {
    const struct fields_spec *spec;
    int count;                          /* at most FIELDS_MAX */
    const char *unknown;                /* "{}": the member's name, cleaned to valid UTF-8 */
};

/* Percent-decode in[0 .. n) into out (cap bytes, always NUL-terminated when
 * cap > 0), '+' meaning a space.  Returns the decoded length, or -1 when an
 * escape is malformed ("%4", "%zz"), decodes to a NUL byte, or the result
 * does not fit in cap - 1 bytes. */
long fields_decode(const char *in, size_t n, char *out, size_t cap);

/* Parse an unsigned decimal integer made only of digits (no sign, no
 * space), at most max.  Returns 0 with *out set, or -1. */
int fields_uint(const char *s, long long max, long long *out) __attribute__((warn_unused_result));

/* An ENUM parser for booleans: 1 for "1" and "true", 0 for "0" and
 * "false", else -1. */
int fields_bool(const char *s);

/* Parse the query string qs (NULL or "" for none) against q into
 * out[0 .. q->count) (absent fields: present 0, n = def).  Returns 0, or
 * -1 with a message for the client in err (errlen bytes); out is then
 * unspecified. */
int fields_query_parse(const struct fields_query *q, const char *qs, struct fields_value *out, char *err,
                       size_t errlen) __attribute__((warn_unused_result));

/* Check the members of the JSON object obj (borrowed) against j into
 * out[0 .. j->count).  Returns 0 with *field NULL, or -1 with a message
 * for the client in err (errlen bytes) and in *field the offending
 * field's name (static; "body" for an unknown member). */
int fields_json_parse(const struct fields_json *j, json_object *obj, struct fields_value *out, const char **field,
                      char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
