/* params: validation of the /decisions query string and of item ids in
 * paths (/decisions/{id}, /control/commands/{id}).
 *
 * Pure functions (no FastCGI, no database), so that tests/unit/test_params.c
 * can feed them every good and bad input.  Like kcgi, every input is checked
 * against a declared table of parameters (fields.h) before anything uses it:
 * unknown, repeated or empty parameters, malformed percent-encoding and
 * overlong query strings (over FIELDS_QUERY_MAX bytes) are refused with a
 * message naming the parameter. */
#ifndef PARAMS_H
#define PARAMS_H

#include <stddef.h>

#define PARAMS_LIMIT_DEFAULT 20
#define PARAMS_LIMIT_MAX     200
#define PARAMS_ERR_MAX       128    /* room for any message params_* writes */

/* The normalized parameters of GET /decisions and GET /decisions/{id}.
 * Two requests that mean the same thing give equal structs (the cache
 * key). */
struct params_decisions {
    int limit;              /* 1 .. PARAMS_LIMIT_MAX */
    long long before;       /* 0: no bound, else only rows with id < before */
    int mode;               /* enum catalog_mode, or -1 for every mode */
    int detail;             /* 1: full items (inputs, menu, raw model output); 0: light page */
    long long id;           /* 0: a page; > 0: GET /decisions/{id} (the fields above unused) */
};

/* Parse the query string qs (NULL or "" for none) of GET /decisions into
 * *p, defaults filled in (detail 0, id 0).  Parameters: limit, before, mode,
 * detail (0, 1, false or true).  Returns 0, or -1 with a message for the client in
 * err (at most errlen bytes, PARAMS_ERR_MAX is enough); *p is then
 * unspecified.  Nothing is allocated. */
int params_decisions_parse(const char *qs, struct params_decisions *p, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parse the id of an item path ("/decisions/{id}", "/control/commands/{id}"):
 * digits only, 1 .. 2^63-1.  Returns 0 with *id set, or -1. */
int params_item_id(const char *s, long long *id) __attribute__((warn_unused_result));

/* Nonzero when a and b are the same normalized parameters. */
int params_decisions_equal(const struct params_decisions *a, const struct params_decisions *b);

#endif
