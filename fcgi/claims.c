/* claims: POST /claims body validation; see claims.h. */
#include "config.h"
#include "claims.h"
#include "catalog.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Nonzero when s (n bytes, 1..max) holds only bytes allowed by kind:
 * 'k' printable ASCII, 'e' [A-Za-z0-9_-], 'w' a workflow's name
 * (catalog_name_valid: a webhook path). */
static int claims_ok(const char *s, size_t n, size_t max, char kind)
{
    if (n == 0 || n > max)
        return 0;
    if (kind == 'w')
        return strlen(s) == n && catalog_name_valid(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
        int ok = kind == 'k' ? c >= 0x20 && c <= 0x7e
               : kind == 'e' ? alnum || (c >= 'A' && c <= 'Z') || c == '_' || c == '-'
               : alnum || c == '_' || c == '.' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

#define CLAIMS_FAIL(f, ...) do { *field = (f); snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

int claims_parse(const char *body, size_t len, struct claims_in *out, const char **field, char *err, size_t errlen)
{
    static const struct { const char *name; size_t off, max; char kind; int required; } members[] = {
        { "idempotency_key", offsetof(struct claims_in, idempotency_key), CLAIMS_KEY_MAX, 'k', 1 },
        { "execution_id", offsetof(struct claims_in, execution_id), CLAIMS_EXEC_MAX, 'e', 1 },
        { "workflow", offsetof(struct claims_in, workflow), CLAIMS_WORKFLOW_MAX, 'w', 0 },
    };
    json_object *root = NULL;
    json_tokener *tok = NULL;
    memset(out, 0, sizeof *out);
    *field = "body";
    if (!body || len == 0)
        CLAIMS_FAIL("body", "the body must be a JSON object (it is empty)");
    if (len > CLAIMS_BODY_MAX)
        CLAIMS_FAIL("body", "the body is larger than %d bytes", CLAIMS_BODY_MAX);
    if (memchr(body, '\0', len))
        CLAIMS_FAIL("body", "the body holds a NUL byte");
    tok = json_tokener_new_ex(8);
    if (!tok)
        CLAIMS_FAIL("body", "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, body, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int)len)
        CLAIMS_FAIL("body", "the body is not one valid JSON document");
    if (!json_object_is_type(root, json_type_object))
        CLAIMS_FAIL("body", "the body must be a JSON object");
    int seen[3] = { 0, 0, 0 };
    json_object_object_foreach(root, key, val) {
        int m = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(key, members[i].name) == 0)
                m = i;
        if (m < 0)
            CLAIMS_FAIL("body", "unknown member (allowed: idempotency_key, execution_id, workflow)");
        if (seen[m]++)
            CLAIMS_FAIL(members[m].name, "%s is given twice", members[m].name);
        if (!m && json_object_is_type(val, json_type_null))
            CLAIMS_FAIL(members[m].name, "%s must be a string", members[m].name);
        if (json_object_is_type(val, json_type_null) && !members[m].required)
            continue;
        if (!json_object_is_type(val, json_type_string))
            CLAIMS_FAIL(members[m].name, "%s must be a string", members[m].name);
        const char *s = json_object_get_string(val);
        size_t n = (size_t)json_object_get_string_len(val);
        if (!claims_ok(s, n, members[m].max, members[m].kind))
            CLAIMS_FAIL(members[m].name, "%s must be 1-%zu %s", members[m].name, members[m].max,
                        members[m].kind == 'k' ? "printable ASCII characters"
                        : members[m].kind == 'e' ? "characters of [A-Za-z0-9_-]"
                        : "characters of a workflow name (a webhook path)");
        memcpy((char *)out + members[m].off, s, n);
        ((char *)out + members[m].off)[n] = '\0';
    }
    for (int i = 0; i < 3; i++)
        if (members[i].required && !seen[i])
            CLAIMS_FAIL(members[i].name, "%s is required", members[i].name);
    json_object_put(root);
    json_tokener_free(tok);
    return 0;
fail:
    json_object_put(root);
    if (tok)
        json_tokener_free(tok);
    memset(out, 0, sizeof *out);
    return -1;
}
