/* fuzz_headers: request headers the API reads (Authorization,
 * X-Request-Id, Accept-Encoding).  The input is split at its first
 * newline: the presented header, then (for auth) the configured token. */
#include "config.h"
#include "fuzz.h"

#include "auth.h"
#include "gzbody.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *s = fuzz_cstr(data, size);
    char *nl = strchr(s, '\n');
    const char *token = "s3cret-token";
    if (nl) {
        *nl = '\0';
        token = nl + 1;
    }
    enum auth_result a = auth_check(token, s);
    FUZZ_CHECK(a >= AUTH_OK && a <= AUTH_WRONG);
    FUZZ_CHECK(fuzz_text_ok(auth_strerror(a)));
    if (a == AUTH_OK)
        FUZZ_CHECK(strstr(s, token) != NULL);
    char id[72];
    route_request_id(s, NULL, 42, id);
    FUZZ_CHECK(strlen(id) > 0 && strlen(id) <= 64);
    for (const char *p = id; *p; p++)
        FUZZ_CHECK((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   *p == '-' || *p == '_' || *p == '.');
    route_request_id(NULL, s, 43, id);
    int g = gzbody_accepts(s);
    FUZZ_CHECK(g == 0 || g == 1);
    free(s);
    return 0;
}
