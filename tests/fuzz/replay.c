/* replay: main() for a fuzz harness built without libFuzzer (make check).
 *
 * Runs every file of the harness's corpus once through
 * LLVMFuzzerTestOneInput: tests/fuzz/corpus/<target>/ under $top_srcdir
 * (else the current directory), <target> being the program's name without
 * its "fuzz_" prefix; or the files and directories given as arguments.
 * Those files are the seeds and every input a fuzzer ever found crashing,
 * so this is the harnesses' regression test, under the suite's own
 * sanitizers.  Exits 0 when all ran, 1 when the corpus is missing or
 * empty (a harness that tests nothing is a failure). */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file.  Returns 1 when run, 0 when skipped, -1 on a read error. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    /* an exact-size copy, so that ASan sees any read past the input */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 1;
}

/* Run a file, or every regular file of a directory (sorted).  Adds to *count. */
static int replay_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: no %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        int r = replay_file(path);
        if (r > 0)
            (*count)++;
        return r < 0 ? -1 : 0;
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char file[4096];
        if (names[i]->d_name[0] != '.') {
            snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
            if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
                int r = replay_file(file);
                if (r < 0)
                    rc = -1;
                else
                    (*count)++;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0, rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            if (replay_path(argv[i], &count) < 0)
                rc = 1;
    } else {
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (strncmp(base, "fuzz_", 5) == 0)
            base += 5;
        const char *top = getenv("top_srcdir");
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", top && *top ? top : ".", base);
        if (replay_path(dir, &count) < 0)
            rc = 1;
    }
    if (count == 0) {
        fprintf(stderr, "replay: no input replayed\n");
        rc = 1;
    }
    printf("%s: %d inputs replayed%s\n", argv[0], count, rc ? " (with errors)" : "");
    return rc;
}
