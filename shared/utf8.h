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

/* The length (1-4) of the well-formed sequence at s, with its code point
 * in *cp; 0 when s does not start one (or is at its end). */
int utf8_decode(const char *s, unsigned *cp);

#endif
