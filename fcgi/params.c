/* params: validation of the /decisions query string and item ids; see params.h. */
#include "config.h"
#include "params.h"
#include "catalog.h"
#include "fields.h"

#include <limits.h>

/* The declared parameters of GET /decisions. */
enum params_id { PARAMS_LIMIT = 0, PARAMS_BEFORE, PARAMS_MODE, PARAMS_DETAIL, PARAMS_COUNT };

static const struct fields_spec params_fields[PARAMS_COUNT] = {
    /* a larger page is capped, not refused: the answer's "limit" says so */
    [PARAMS_LIMIT] = { "limit", FIELDS_UINT, FIELDS_CLAMP, 1, PARAMS_LIMIT_MAX, PARAMS_LIMIT_DEFAULT, NULL, NULL,
                       "limit must be a positive integer (at most " FIELDS_STR(PARAMS_LIMIT_MAX) " are listed)", NULL },
    [PARAMS_BEFORE] = { "before", FIELDS_UINT, 0, 1, LLONG_MAX, 0, NULL, NULL,
                        "before must be a positive integer (a decision id)", NULL },
    [PARAMS_MODE] = { "mode", FIELDS_ENUM, 0, 0, 0, -1, catalog_mode_parse, NULL,
                      "mode must be one of crypto, forex, hybrid, standby", NULL },
    [PARAMS_DETAIL] = { "detail", FIELDS_ENUM, 0, 0, 0, 0, fields_bool, NULL, "detail must be 0, 1, false or true",
                        NULL },
};

static const struct fields_query params_form = {
    .spec = params_fields,
    .count = PARAMS_COUNT,
    .too_long = "query string is longer than " FIELDS_STR(FIELDS_QUERY_MAX) " bytes",
    .bad_name = "malformed percent-encoding in a parameter name",
    .unknown = "unknown parameter \"{}\" (known: limit, before, mode, detail)",
    .repeated = "parameter {} is given more than once",
    .bad_escape = "parameter {}: malformed percent-encoding",
    .empty = "parameter {} has an empty value",
};

int params_decisions_parse(const char *qs, struct params_decisions *p, char *err, size_t errlen)
{
    struct fields_value v[PARAMS_COUNT];
    int rc = fields_query_parse(&params_form, qs, v, err, errlen);
    p->limit = (int)v[PARAMS_LIMIT].n;
    p->before = v[PARAMS_BEFORE].n;
    p->mode = (int)v[PARAMS_MODE].n;
    p->detail = (int)v[PARAMS_DETAIL].n;
    p->id = 0;
    return rc;
}

int params_item_id(const char *s, long long *id)
{
    long long v;
    if (fields_uint(s, LLONG_MAX, &v) < 0 || v < 1)
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
