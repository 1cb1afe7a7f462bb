/* auth: the bearer token of the control endpoints; see auth.h. */
#include "config.h"
#include "auth.h"

#include <string.h>
#include <strings.h>

int auth_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen == 0)
        return 0;
    /* Walk every presented byte whatever happens; index the secret modulo
     * its length so that no early exit or length branch leaks it. */
    volatile unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)(a[i % alen] ^ b[i]);
    return diff == 0 && blen == alen;
}

enum auth_result auth_check(const char *token, const char *header)
{
    static const char scheme[] = "Bearer";
    const size_t slen = sizeof scheme - 1;

    if (!token || !*token)
        return AUTH_DISABLED;
    if (!header)
        return AUTH_MISSING;
    const char *p = header;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return AUTH_MISSING;
    if (strncasecmp(p, scheme, slen) != 0 || p[slen] != ' ')
        return AUTH_BAD_SCHEME;
    p += slen;
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return AUTH_BAD_SCHEME;
    return auth_equal(token, strlen(token), p, n) ? AUTH_OK : AUTH_WRONG;
}

const char *auth_strerror(enum auth_result r)
{
    switch (r) {
    case AUTH_OK:         return "authorized";
    case AUTH_DISABLED:   return "control is disabled: ORCHESTRATOR_API_TOKEN is not set";
    case AUTH_MISSING:    return "missing Authorization header (expected: Bearer <token>)";
    case AUTH_BAD_SCHEME: return "Authorization header must be: Bearer <token>";
    case AUTH_WRONG:      return "invalid token";
    }
    return "unknown";
}
