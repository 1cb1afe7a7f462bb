/* Unit tests for ctl/view.c: what orchctl prints of the API's text.  Market
 * text and model output must not reach a terminal as escape sequences,
 * bidi overrides or broken UTF-8, and cells are cut to their width. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

/* view_text(s, width, pad) into buf. */
static const char *shown(char *buf, size_t cap, const char *s, int width, int pad)
{
    FILE *f = fmemopen(buf, cap, "w");
    assert_non_null(f);
    view_text(f, s, width, pad);
    fclose(f);
    return buf;
}

static void test_plain_and_null(void **state)
{
    (void)state;
    char b[256];
    assert_string_equal(shown(b, sizeof b, "crypto / light", 0, 0), "crypto / light");
    assert_string_equal(shown(b, sizeof b, NULL, 0, 0), "-");
    assert_string_equal(shown(b, sizeof b, "ok", 6, 1), "ok    ");
    assert_string_equal(shown(b, sizeof b, "ok", 6, 0), "ok");
}

static void test_escapes_become_visible(void **state)
{
    (void)state;
    char b[256];
    /* ESC [2J (clear screen), OSC 52 (write the clipboard), a bell, DEL, C1 CSI */
    assert_string_equal(shown(b, sizeof b, "a\033[2Jb", 0, 0), "a?[2Jb");
    assert_string_equal(shown(b, sizeof b, "\033]52;c;aGk=\007x", 0, 0), "?]52;c;aGk=?x");
    assert_string_equal(shown(b, sizeof b, "x\177y\xc2\x9bz", 0, 0), "x?y?z");
    /* new lines and tabs are spaces: one line per row */
    assert_string_equal(shown(b, sizeof b, "one\ntwo\tthree", 0, 0), "one two three");
    /* right-to-left override and isolates, zero-width marks */
    assert_string_equal(shown(b, sizeof b, "a\xe2\x80\xae" "b\xe2\x81\xa6" "c\xe2\x80\x8f" "d", 0, 0), "a?b?c?d");
    /* bytes that are not UTF-8 */
    assert_string_equal(shown(b, sizeof b, "bad\xff\xfe.", 0, 0), "bad??.");
    /* markup is just text here too */
    assert_string_equal(shown(b, sizeof b, "<img src=x onerror=alert(1)>", 0, 0), "<img src=x onerror=alert(1)>");
}

static void test_cut_to_width(void **state)
{
    (void)state;
    char b[256];
    assert_string_equal(shown(b, sizeof b, "abcdefgh", 5, 1), "abcd~");
    assert_string_equal(shown(b, sizeof b, "abcde", 5, 1), "abcde");
    /* characters, not bytes: never a cut inside one */
    assert_string_equal(shown(b, sizeof b, "\xc3\xa9t\xc3\xa9 \xe2\x82\xac\xe2\x82\xac", 4, 1), "\xc3\xa9t\xc3\xa9~");
    assert_string_equal(shown(b, sizeof b, "\xc3\xa9", 3, 1), "\xc3\xa9  ");
}

static void test_get_path(void **state)
{
    (void)state;
    json_object *j = json_tokener_parse("{\"worker\":{\"alive\":true,\"pid\":7},\"list\":[1]}");
    assert_non_null(j);
    assert_true(json_object_get_boolean(view_get(j, "worker.alive")));
    assert_int_equal(json_object_get_int(view_get(j, "worker.pid")), 7);
    assert_null(view_get(j, "worker.nothing"));
    assert_null(view_get(j, "list.0"));
    assert_null(view_get(j, "worker.alive.deeper"));
    assert_true(view_get(j, "") == j);
    json_object_put(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_null),
        cmocka_unit_test(test_escapes_become_visible),
        cmocka_unit_test(test_cut_to_width),
        cmocka_unit_test(test_get_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
