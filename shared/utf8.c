/* utf8: well-formed UTF-8 checks; see utf8.h. */
#include "config.h"
#include "utf8.h"

#include <string.h>

int utf8_decode(const char *s, unsigned *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0];
    if (c == 0)
        return 0;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; c &= 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; c &= 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; c &= 0x07; min = 0x10000; }
    else return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)     /* also stops at the terminating NUL */
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

size_t utf8_clean(char *s)
{
    size_t bad = 0;
    while (*s) {
        unsigned cp;
        int n = utf8_decode(s, &cp);
        if (n == 0) {
            *s++ = '?';
            bad++;
        } else {
            s += n;
        }
    }
    return bad;
}

size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t k = max;
    /* back over continuation bytes, at most three */
    while (k > 0 && max - k < 3 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return ((unsigned char)s[k] & 0xC0) == 0x80 ? max : k;
}

int utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned cp;
        if (s[i] == '\0')
            return 0;
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        /* utf8_decode reads up to 4 bytes and stops at a NUL or a byte
         * that is not a continuation: check the room first */
        size_t need = (unsigned char)s[i] >= 0xF0 ? 4 : (unsigned char)s[i] >= 0xE0 ? 3 : 2;
        if (len - i < need)
            return 0;
        int n = utf8_decode(s + i, &cp);
        if (n == 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}

size_t utf8_copy_clean(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return 0;
    if (!src)
        src = "";
    size_t n = utf8_cut(src, strlen(src), cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    size_t bad = utf8_clean(dst);
    for (char *p = dst; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = ' ';
            bad++;
        }
    }
    return bad;
}
