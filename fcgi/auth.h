/* auth: the bearer token of the control endpoints.
 *
 * Pure functions (no FastCGI), tested in tests/unit/test_auth.c.  The token
 * is compared in constant time with respect to its contents; nothing here
 * logs or copies it. */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>

enum auth_result {
    AUTH_OK = 0,
    AUTH_DISABLED,      /* no token configured: control is off */
    AUTH_MISSING,       /* no Authorization header */
    AUTH_BAD_SCHEME,    /* not "Bearer <token>" */
    AUTH_WRONG          /* a bearer token, but not ours */
};

/* Check an Authorization header value (NULL when absent) against the
 * configured token (NULL or "" when control is disabled).  The scheme is
 * matched without regard to case ("Bearer", "bearer"), followed by one or
 * more spaces; trailing spaces and tabs are ignored.  Returns the verdict. */
enum auth_result auth_check(const char *token, const char *header);

/* Constant-time equality of a[0 .. alen) (the secret, alen > 0) and
 * b[0 .. blen) (what was presented): the time depends only on blen.
 * Returns 1 when equal, else 0. */
int auth_equal(const char *a, size_t alen, const char *b, size_t blen);

/* A static description of r for messages; never contains the token. */
const char *auth_strerror(enum auth_result r);

#endif
