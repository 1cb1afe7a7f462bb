/* Unit tests for shared/log.c: levels (the seed's spellings), LOG_FILE and
 * log_reopen() as logrotate uses it (rename, SIGHUP, reopen). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* The contents of path (at most 64 KiB) in buf; "" when missing. */
static const char *slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

static void test_level_parse(void **state)
{
    (void)state;
    assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
    assert_int_equal(log_level_parse("DEBUG"), LOG_DEBUG);
    assert_int_equal(log_level_parse("Info"), LOG_INFO);
    assert_int_equal(log_level_parse("warn"), LOG_WARN);
    assert_int_equal(log_level_parse("WARNING"), LOG_WARN);
    assert_int_equal(log_level_parse("ERROR"), LOG_ERROR);
    assert_int_equal(log_level_parse("nonsense"), LOG_INFO);
    assert_int_equal(log_level_parse(NULL), LOG_INFO);
}

static void test_file_and_reopen(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_log.XXXXXX", path[128], rotated[128];
    static char buf[65536];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/api.log", dir);
    snprintf(rotated, sizeof rotated, "%s/api.log.1", dir);

    log_init("test_log", LOG_INFO);
    assert_int_equal(log_reopen(), 0);              /* stderr: nothing to reopen */
    assert_int_equal(log_set_file(""), 0);          /* empty: stays on stderr */
    assert_int_equal(log_set_file("/nonexistent-dir/x.log"), -1);
    assert_int_equal(log_set_file(path), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777 & ~0640, 0);  /* never world-readable */

    log_event(LOG_INFO, "test.before", "i:n", 1LL);
    log_event(LOG_DEBUG, "test.hidden", NULL);
    /* logrotate: the file is moved away; lines go on into it until the reopen */
    assert_int_equal(rename(path, rotated), 0);
    log_event(LOG_WARN, "test.moved", "s:where", "still the old file");
    assert_int_equal(log_reopen(), 0);
    log_event(LOG_ERROR, "test.after", "i:n", 2LL);

    slurp(rotated, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"event\":\"test.before\""));
    assert_non_null(strstr(buf, "\"event\":\"test.moved\""));
    assert_null(strstr(buf, "test.after"));
    assert_null(strstr(buf, "test.hidden"));
    assert_non_null(strstr(buf, "\"prog\":\"test_log\""));
    slurp(path, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"event\":\"test.after\""));
    assert_null(strstr(buf, "test.before"));
    /* one complete JSON line */
    assert_int_equal(buf[0], '{');
    assert_int_equal(buf[strlen(buf) - 1], '\n');
    assert_non_null(strstr(buf, "\"level\":\"error\""));

    /* the new file appends: reopening again keeps what is there */
    assert_int_equal(log_reopen(), 0);
    log_event(LOG_INFO, "test.again", NULL);
    slurp(path, buf, sizeof buf);
    assert_non_null(strstr(buf, "test.after"));
    assert_non_null(strstr(buf, "test.again"));

    /* a directory that vanished: the reopen fails, logging goes on */
    unlink(path);
    unlink(rotated);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(log_reopen(), -1);
    log_event(LOG_INFO, "test.orphan", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_file_and_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
