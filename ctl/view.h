/* view: orchctl's human output -- tables and summaries of the API's JSON.
 *
 * Every string from the API is printed through view_text(), which turns
 * control characters (C0, DEL, C1), bidi controls and bytes that are not
 * UTF-8 into '?': market text and model output must not move the cursor,
 * recolour or rewrite a terminal.  The JSON objects are borrowed. */
#ifndef VIEW_H
#define VIEW_H

#include <stdio.h>
#include <json-c/json.h>

/* The member at a dotted path ("worker.alive") of j, borrowed, or NULL. */
json_object *view_get(json_object *j, const char *path);

/* Print s safely (see above), cut to at most width characters (0: no
 * limit) and, when pad, padded with spaces to width. */
void view_text(FILE *f, const char *s, int width, int pad);

/* GET /status as a summary. */
void view_status(FILE *f, json_object *status);

/* GET /decisions as a table, newest first. */
void view_decisions(FILE *f, json_object *page);

/* GET /decisions/{id} in full: the decision, its triggers and its audit. */
void view_decision(FILE *f, json_object *d);

/* A control command's answer (POST /control/..., GET /control/commands/{id}). */
void view_command(FILE *f, json_object *cmd);

#endif
