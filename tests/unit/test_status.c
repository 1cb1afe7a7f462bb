/* test_status: the C names of decision and trigger states are exactly the
 * words the database accepts -- the CHECK lists of the migrations in sql/, the last
 * definition of each (a later migration may widen a list) -- and parse
 * back to their enum. */
#include "config.h"

#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "status.h"

#ifndef TOP_SRCDIR
#error "TOP_SRCDIR must be defined (Makefile.am's UNIT_CFLAGS)"
#endif

#define MAX_WORDS 32

/* The quoted words of the last "<column> IN (...)" list after anchor in
 * the migrations, in order of the files.  Returns how many, or -1. */
static int check_list(const char *anchor, const char *column, char words[MAX_WORDS][32])
{
    glob_t g;
    int n = -1;
    if (glob(TOP_SRCDIR "/sql/[0-9][0-9][0-9]_*.sql", 0, NULL, &g) != 0)
        return -1;
    for (size_t f = 0; f < g.gl_pathc; f++) {
        FILE *fp = fopen(g.gl_pathv[f], "r");
        if (!fp)
            continue;
        static char text[1 << 20];
        size_t len = fread(text, 1, sizeof text - 1, fp);
        fclose(fp);
        text[len] = '\0';
        for (char *p = strstr(text, anchor); p; p = strstr(p + 1, anchor)) {
            char pat[64];
            snprintf(pat, sizeof pat, "%s IN (", column);
            char *l = strstr(p, pat), *stmt_end = strchr(p, ';');   /* within the anchor's statement */
            if (!l || (stmt_end && l > stmt_end))
                continue;
            char *end = strchr(l, ')');
            if (!end)
                continue;
            n = 0;
            for (char *q = l + strlen(pat); q < end && n < MAX_WORDS;) {
                char *a = strchr(q, '\'');
                if (!a || a > end)
                    break;
                char *b = strchr(a + 1, '\'');
                if (!b || b > end)
                    break;
                snprintf(words[n++], 32, "%.*s", (int)(b - a - 1), a + 1);
                q = b + 1;
            }
        }
    }
    globfree(&g);
    return n;
}

static void same_words(const char *anchor, const char *column, int count, const char *(*name)(int),
                       int (*parse)(const char *))
{
    char words[MAX_WORDS][32];
    int n = check_list(anchor, column, words);
    assert_int_equal(n, count);
    for (int i = 0; i < n; i++) {
        int v = parse(words[i]);
        if (v < 0)
            fail_msg("%s: the database accepts '%s', C does not know it", anchor, words[i]);
        assert_string_equal(name(v), words[i]);
    }
    for (int v = 0; v < count; v++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(words[i], name(v)) == 0;
        if (!found)
            fail_msg("%s: C writes '%s', the database refuses it", anchor, name(v));
    }
}

static void test_decision_states(void **state)
{
    (void)state;
    same_words("CREATE TABLE decisions", "status", DECISION_STATUS_COUNT, decision_status_name, decision_status_parse);
}

static void test_trigger_states(void **state)
{
    (void)state;
    same_words("triggers_status_check", "status", TRIGGER_STATUS_COUNT, trigger_status_name, trigger_status_parse);
}

static void test_trigger_outcomes(void **state)
{
    (void)state;
    same_words("ADD COLUMN outcome", "outcome", OUTCOME_COUNT, trigger_outcome_name, trigger_outcome_parse);
}

static void test_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(decision_status_name(-1), "unknown");
    assert_string_equal(trigger_status_name(TRIGGER_STATUS_COUNT), "unknown");
    assert_int_equal(trigger_outcome_parse("exploded"), -1);
    assert_int_equal(decision_status_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_states),
        cmocka_unit_test(test_trigger_states),
        cmocka_unit_test(test_trigger_outcomes),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
