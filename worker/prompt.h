/* prompt: the LLM prompt, from a template file users can edit.
 *
 * The template's first line is "version: <text>"; the rest is the system
 * message, where {{MIN_SECONDS}} and {{MAX_SECONDS}} are replaced by the
 * configured bounds.  The user message is a JSON document built from what
 * the cycle sensed and the menu; text that comes from the market (token
 * names and symbols) is quoted as JSON strings, length-limited and stripped
 * of control characters, under "untrusted_market_text".
 *
 * The menu the model reads ("allowed_actions") lists the allowed modes and
 * intensities, the bounds of the next decision time, the run budget left,
 * the exclusion notes, and once each the workflows on the menu of any
 * allowed mode ("workflows": title, market, intensity, sessions, cost and
 * what was learned of each); which mode may start which workflow follows
 * from its market (decide.h), which the template states.  A catalog
 * large enough that the list passes PROMPT_WORKFLOWS_BUDGET bytes is
 * summarised, so that the prompt stays within its token budget (README:
 * about 2,300 prompt tokens with 200 workflows). */
#ifndef PROMPT_H
#define PROMPT_H

#include "cfg.h"
#include "decide.h"
#include "sense.h"

#define PROMPT_MAX_BYTES (64 * 1024)
#define PROMPT_TOKEN_TEXT 64      /* longest token name passed to the model */
#define PROMPT_URL_TEXT 100       /* longest URL (a pair's page, a profile's link) */
#define PROMPT_DESC_TEXT 200      /* longest token-profile description */
#define PROMPT_WORKFLOWS_BUDGET 6000  /* bytes of the menu's workflow list (allowed_actions.workflows):
                                       * a larger menu is summarised (titles and learned figures dropped,
                                       * then names grouped by market/intensity, then groups cut) */

struct prompt_tpl {
    char *text;            /* the template after the version line; owned */
    char version[64];
    char hash[65];         /* SHA-256 of the whole file, hex */
};

/* Load and check the template at path.  Returns 0, or -1 with err set. */
int prompt_load(const char *path, struct prompt_tpl *t, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Same, from a string (for tests). */
int prompt_parse(const char *file_text, struct prompt_tpl *t, char *err, size_t errlen) __attribute__((warn_unused_result));

void prompt_free(struct prompt_tpl *t);

/* Build the two messages.  *system and *user are allocated (caller frees)
 * on success.  Returns 0 or -1. */
int prompt_build(const struct prompt_tpl *t, const struct cfg *c, const struct sense_snapshot *snap,
                 const struct decide_menu *menu, char **system, char **user) __attribute__((warn_unused_result));

/* SHA-256 of data as 64 hex digits into out[65]. */
void prompt_sha256_hex(const void *data, size_t len, char out[65]);

/* Copy untrusted text for the prompt: control characters, zero-width and
 * bidi-control characters and line separators become spaces, bytes that are
 * not UTF-8 become '?', at most max bytes (never inside a character).  out
 * needs max + 1 bytes. */
void prompt_sanitize(const char *in, char *out, size_t max);

#endif
