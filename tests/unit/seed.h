/* seed: the eight workflows of catalog/default.json put in force, for the
 * tests written against the seed catalog.  Their registry slots follow the
 * file's order, which these constants name (test code only: the worker
 * knows no workflow by number). */
#ifndef TEST_SEED_H
#define TEST_SEED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "catalog_file.h"

#ifndef TOP_SRCDIR
#error "TOP_SRCDIR must be defined (Makefile.am's UNIT_CFLAGS)"
#endif

enum {
    WF_CRYPTO_AGGRESSIVE = 0,
    WF_CRYPTO_NORMAL,
    WF_CRYPTO_LIGHT,
    WF_FOREX_LONDON,
    WF_FOREX_NEWYORK,
    WF_FOREX_ASIA,
    WF_HEALTH_CHECK,
    WF_DEEP_ANALYSIS,
    WF_COUNT
};

/* Reset the registry and put the shipped catalog in force; exits the test
 * program when it cannot (a broken catalog/default.json fails every test). */
static inline void seed_install(void)
{
    static const char *const names[WF_COUNT] = {
        "crypto-aggressive-scan", "crypto-normal-scan", "crypto-light-monitoring", "forex-london-session",
        "forex-newyork-session", "forex-asia-session", "health-monitor-check", "deep-market-analysis",
    };
    struct catalog_file *f = malloc(sizeof *f);
    char err[CATALOG_FILE_ERR_MAX];
    catalog_reset();
    if (!f || catalog_file_load(TOP_SRCDIR "/catalog/default.json", time(NULL), f, err, sizeof err) < 0 ||
        catalog_install(&f->cat, err, sizeof err) < 0) {
        fprintf(stderr, "seed_install: %s\n", f ? err : "out of memory");
        exit(1);
    }
    free(f);
    for (int w = 0; w < WF_COUNT; w++) {
        if (catalog_workflow_parse(names[w]) != w) {
            fprintf(stderr, "seed_install: catalog/default.json does not list %s at %d\n", names[w], w);
            exit(1);
        }
    }
}

#endif
