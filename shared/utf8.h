/* utf8: keeping text from outside (model answers, provider errors, market
 * data) valid UTF-8, so that PostgreSQL accepts it and a JSON encoder never
 * emits a broken sequence. */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/* Replace, in place, every byte of s that does not belong to a well-formed
 * UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF, no truncated sequence) with '?'.  The length never changes.
 * Returns the number of bytes replaced. */
size_t utf8_clean(char *s);

/* The largest length <= max at which s (of length len) can be cut without
 * splitting a UTF-8 sequence: max itself when s[max] starts a character. */
size_t utf8_cut(const char *s, size_t len, size_t max);

/* Nonzero when s[0 .. len) is entirely well-formed UTF-8 (the same rules
 * as utf8_clean) and holds no NUL byte. */
int utf8_valid(const char *s, size_t len);

/* Copy src into dst (cap bytes, always NUL-terminated when cap > 0): cut
 * on a character boundary to at most cap - 1 bytes, bytes that are not
 * UTF-8 replaced by '?' and control characters (C0, DEL) by spaces, so
 * that the copy can be stored, logged and put in a prompt as it is.
 * Returns the number of bytes replaced.  src NULL copies "". */
size_t utf8_copy_clean(char *dst, size_t cap, const char *src);

/* The length (1-4) of the well-formed sequence at s, with its code point
 * in *cp; 0 when s does not start one (or is at its end). */
int utf8_decode(const char *s, unsigned *cp);

#endif
