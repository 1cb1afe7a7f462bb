/* fuzz: what the libFuzzer harnesses in tests/fuzz/ share.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput() for one parser of
 * outside input and checks, beyond "no crash, no sanitizer report", what
 * the parser promises: text out is valid UTF-8 without control bytes where
 * it is stored, logged or prompted; numbers out are finite and inside the
 * declared bounds; JSON out never holds Infinity or NaN.  A broken promise
 * aborts (FUZZ_CHECK), which libFuzzer reports like a crash.
 *
 * Built two ways: by scripts/fuzz.sh with clang -fsanitize=fuzzer (the
 * fuzzing itself), and by make check with replay.c as main(), which runs
 * every file of tests/fuzz/corpus/<target>/ through the harness once (the
 * seeds and every input that ever crashed: the regression tests). */
#ifndef FUZZ_H
#define FUZZ_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message when cond is false: a broken promise is a finding. */
#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* The input as a NUL-terminated string (caller frees), cut at its first
 * NUL as a C parser sees it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Split s (size bytes, from fuzz_cstr) at its first newline: *hdr the
 * line before it (a header's value; NULL without a newline), *body and
 * *blen what follows (the whole input without a newline). */
static inline void fuzz_split_line(char *s, size_t size, const char **hdr, const char **body, size_t *blen)
{
    char *nl = memchr(s, '\n', size);
    *hdr = NULL;
    *body = s;
    *blen = size;
    if (nl) {
        *nl = '\0';
        *hdr = s;
        *body = nl + 1;
        *blen = size - (size_t)(nl + 1 - s);
    }
}

/* Logs only errors: a fuzzer's run would drown in warnings. */
static inline void fuzz_quiet(void)
{
    static int done;
    if (!done) {
        log_init("fuzz", LOG_ERROR);
        done = 1;
    }
}

/* Text that may be stored (PostgreSQL), logged or put in a prompt. */
static inline int fuzz_text_ok(const char *s)
{
    if (!s)
        return 1;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return utf8_valid(s, strlen(s));
}

/* A message for a person (an error): valid UTF-8, control bytes allowed
 * only as JSON would escape them, so simply: valid UTF-8. */
static inline int fuzz_utf8_ok(const char *s)
{
    return !s || utf8_valid(s, strlen(s));
}

/* JSON that PostgreSQL's jsonb accepts: valid UTF-8, no Infinity/NaN. */
static inline int fuzz_json_ok(json_object *j)
{
    const char *t = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    if (!t || !utf8_valid(t, strlen(t)))
        return 0;
    /* json-c prints non-finite doubles as NaN, Infinity, -Infinity (or
     * nan/inf), outside strings: look for them outside quotes */
    int in_str = 0;
    for (const char *p = t; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = 0;
        } else if (*p == '"') {
            in_str = 1;
        } else if (*p == 'N' || *p == 'I' || *p == 'n' || *p == 'i') {
            if (strncmp(p, "null", 4) == 0) {
                p += 3;
                continue;
            }
            return 0;
        }
    }
    return 1;
}

#endif
