/* alert_text: an alert's HTML under construction, as alert.c's messages
 * build it (alert_html_escape and alert_scrub, also defined in
 * alert_text.c, are declared in alert.h). */
#ifndef ALERT_TEXT_H
#define ALERT_TEXT_H

#include <stddef.h>

#include "alert.h"

#define ALERT_FIELD_UNITS 120       /* a short field (mode, workflow, status, id) */
#define ALERT_HTML_BYTES (ALERT_TEXT_MAX * 3 + 8)   /* at most 3 bytes per unit, the ellipsis, NUL */

/* An HTML message under construction: tags are appended raw, text escaped;
 * units counts UTF-16 units of the whole. */
struct alert_doc {
    char *s;
    size_t len, units;
    int cut;
};

/* Start an empty document.  Returns 0, or -1 out of memory. */
int alert_doc_init(struct alert_doc *d);

/* Append an ASCII tag or separator (the helpers keep these within the limit). */
void alert_doc_raw(struct alert_doc *d, const char *raw);

/* Append text escaped, at most max_units of it and never past the limit
 * (one unit is kept for the ellipsis of a cut text). */
void alert_doc_text(struct alert_doc *d, const char *text, size_t max_units);

/* Start a document with a bold title.  Returns 0, or -1 out of memory. */
int alert_doc_start(struct alert_doc *d, const char *title);

#endif
