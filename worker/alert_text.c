/* alert_text: the HTML of an alert -- UTF-8 decoded, escaped and cut to
 * Telegram's limit (UTF-16 units), secrets scrubbed from what is logged;
 * see alert_text.h. */
#include "config.h"
#include "alert.h"
#include "alert_text.h"
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERT_ELLIPSIS "\xe2\x80\xa6"               /* U+2026, one unit */

/* Decode one UTF-8 character at s.  Returns its length in bytes (1..4) and
 * sets *cp, or returns the length of an invalid sequence to skip (>= 1)
 * with *cp = -1. */
static size_t alert_utf8(const unsigned char *s, long *cp)
{
    unsigned char c = s[0];
    size_t n;
    long v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2; v = c & 0x1f; min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3; v = c & 0x0f; min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4; v = c & 0x07; min = 0x10000;
    } else {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = -1;
            return i;               /* resynchronise on the byte that broke it */
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        *cp = -1;
        return n;
    }
    *cp = v;
    return n;
}

size_t alert_html_escape(const char *text, size_t max_units, char *out, size_t cap, int *cut)
{
    size_t len = 0, units = 0;
    if (cut)
        *cut = 0;
    if (cap == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    while (*p) {
        long cp;
        size_t n = alert_utf8(p, &cp);
        const char *piece;
        size_t plen, pu;
        char one[4];
        if (cp < 0) {
            piece = "\xef\xbf\xbd";     /* U+FFFD */
            plen = 3;
            pu = 1;
        } else if (cp == '&') {
            piece = "&amp;"; plen = 5; pu = 5;
        } else if (cp == '<') {
            piece = "&lt;"; plen = 4; pu = 4;
        } else if (cp == '>') {
            piece = "&gt;"; plen = 4; pu = 4;
        } else if (cp == '"') {
            piece = "&quot;"; plen = 6; pu = 6;
        } else if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            p += n;                     /* control character: dropped */
            continue;
        } else {
            memcpy(one, p, n);
            piece = one;
            plen = n;
            pu = cp >= 0x10000 ? 2 : 1;
        }
        if (units + pu > max_units || len + plen + 1 > cap) {
            if (cut)
                *cut = 1;
            break;
        }
        memcpy(out + len, piece, plen);
        len += plen;
        units += pu;
        p += n;
    }
    out[len] = '\0';
    return units;
}

void alert_scrub(char *s, size_t cap, const char *token)
{
    if (!s || cap == 0)
        return;
    char *out = malloc(cap);
    if (!out) {
        s[0] = '\0';                    /* cannot check it: show nothing */
        return;
    }
    size_t tl = token ? strlen(token) : 0, o = 0, i = 0;
    while (s[i] && o + 1 < cap) {
        const char *rep = NULL;
        if (tl && strncmp(s + i, token, tl) == 0) {
            rep = "<token>";
            i += tl;
        } else if (strncmp(s + i, "/bot", 4) == 0) {
            rep = "/bot<token>";
            i += 4;
            while (s[i] && !strchr("/?# \t\r\n\"'", s[i]))
                i++;
        }
        if (rep) {
            for (; *rep && o + 1 < cap; rep++)
                out[o++] = *rep;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    /* the replacements lengthen the text: a cut may have split a character
     * at the end (found by fuzz_telegram) */
    utf8_clean(out);
    memcpy(s, out, o + 1);
    free(out);
}

int alert_doc_init(struct alert_doc *d)
{
    memset(d, 0, sizeof *d);
    d->s = malloc(ALERT_HTML_BYTES);
    if (!d->s)
        return -1;
    d->s[0] = '\0';
    return 0;
}

/* Append an ASCII tag or separator (the helpers keep these within the limit). */
void alert_doc_raw(struct alert_doc *d, const char *raw)
{
    size_t n = strlen(raw);
    if (d->units + n > ALERT_TEXT_MAX || d->len + n + 1 > ALERT_HTML_BYTES) {
        d->cut = 1;
        return;
    }
    memcpy(d->s + d->len, raw, n + 1);
    d->len += n;
    d->units += n;
}

/* Append text escaped, at most max_units of it and never past the limit
 * (one unit is kept for the ellipsis of a cut text). */
void alert_doc_text(struct alert_doc *d, const char *text, size_t max_units)
{
    size_t room = ALERT_TEXT_MAX - d->units;
    int cut = 0;
    size_t u = alert_html_escape(text, max_units < room ? max_units : room, d->s + d->len,
                                 ALERT_HTML_BYTES - d->len, &cut);
    if (cut) {
        /* again with one unit less, then the ellipsis */
        if (room == 0)
            return;
        size_t lim = (max_units < room ? max_units : room) - 1;
        u = alert_html_escape(text, lim, d->s + d->len, ALERT_HTML_BYTES - d->len, NULL);
        d->len += strlen(d->s + d->len);
        memcpy(d->s + d->len, ALERT_ELLIPSIS, sizeof ALERT_ELLIPSIS);
        d->len += sizeof ALERT_ELLIPSIS - 1;
        d->units += u + 1;
        if (max_units >= room)
            d->cut = 1;
        return;
    }
    d->len += strlen(d->s + d->len);
    d->units += u;
}

/* Start a document with a bold title. */
int alert_doc_start(struct alert_doc *d, const char *title)
{
    if (alert_doc_init(d) < 0)
        return -1;
    alert_doc_raw(d, "<b>");
    alert_doc_text(d, title, ALERT_FIELD_UNITS);
    alert_doc_raw(d, "</b>");
    return 0;
}
