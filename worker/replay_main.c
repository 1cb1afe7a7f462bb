/* orch-replay: run the real decision cycle over recorded market data on a
 * simulated clock and score it against fixed crons (see worker/replay.h).
 *
 * Configuration comes from the environment like the worker's (DATABASE_URL,
 * DECISION_*, LEARN_*); no webhook is sent and, unless --llm is given, no
 * LLM is called.  Decisions, triggers and outcomes are written under a new
 * replay_runs row unless --no-db.  Prints the scorecard; exit status 0, 1 on
 * errors, 2 on bad arguments. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog_live.h"
#include "cfg.h"
#include "cycle.h"
#include "db.h"
#include "http.h"
#include "learn.h"
#include "log.h"
#include "replay.h"
#include "store.h"
#include "usage.h"

static void replay_usage(FILE *out)
{
    fprintf(out,
            "usage: orch-replay [--seed N] [--from ISO] [--to ISO] [--label TEXT] [--no-db] [--llm]\n"
            "                   [--csv-out FILE] [--svg-out FILE] [--verbose] FILE...\n"
            "  Replays recorded 1-minute bars (HistData forex or Binance crypto CSV, .gz or\n"
            "  plain) through the worker's decision cycle and prints a scorecard against\n"
            "  crons every 1, 5, 15 and 60 minutes.\n"
            "  --seed N      LEARN_SEED for this run (default: the environment's, else 1)\n"
            "  --from, --to  the simulated clock's range (default: the data's), e.g. 2019-01-01\n"
            "  --label TEXT  stored with the run\n"
            "  --no-db       write nothing to PostgreSQL\n"
            "  --llm         ask the configured LLM every cycle (costs tokens)\n"
            "  --csv-out F   the scorecard as CSV\n"
            "  --svg-out F   the picture (price, volatility, top windows, scans)\n"
            "  --verbose     log every cycle (LOG_LEVEL) instead of warnings only\n");
}

static double replay_seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static int replay_write_file(const char *path, const char *text, int csv, const struct replay_score *sc)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "orch-replay: cannot write %s\n", path);
        return -1;
    }
    int rc = csv ? replay_score_csv(f, sc) : (fputs(text, f) < 0 ? -1 : 0);
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "orch-replay: cannot write %s\n", path);
    return rc;
}

int main(int argc, char **argv)
{
    const char *label = "", *csv_out = NULL, *svg_out = NULL, *seed_arg = NULL;
    const char *files[REPLAY_MAX_SERIES];
    int nfiles = 0, no_db = 0, use_llm = 0, verbose = 0;
    time_t from = 0, to = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--seed") == 0 && more) {
            seed_arg = argv[++i];
        } else if (strcmp(a, "--from") == 0 && more) {
            if (replay_parse_iso(argv[++i], &from) < 0) {
                fprintf(stderr, "orch-replay: --from: expected an ISO date like 2019-01-01 or 2019-01-01T08:00Z\n");
                return 2;
            }
        } else if (strcmp(a, "--to") == 0 && more) {
            if (replay_parse_iso(argv[++i], &to) < 0) {
                fprintf(stderr, "orch-replay: --to: expected an ISO date like 2019-02-01\n");
                return 2;
            }
        } else if (strcmp(a, "--label") == 0 && more) {
            label = argv[++i];
        } else if (strcmp(a, "--csv-out") == 0 && more) {
            csv_out = argv[++i];
        } else if (strcmp(a, "--svg-out") == 0 && more) {
            svg_out = argv[++i];
        } else if (strcmp(a, "--no-db") == 0) {
            no_db = 1;
        } else if (strcmp(a, "--llm") == 0) {
            use_llm = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            replay_usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "orch-replay: unknown or incomplete option \"%s\"\n", a);
            replay_usage(stderr);
            return 2;
        } else if (nfiles < REPLAY_MAX_SERIES) {
            files[nfiles++] = a;
        } else {
            fprintf(stderr, "orch-replay: at most %d files\n", REPLAY_MAX_SERIES);
            return 2;
        }
    }
    if (nfiles == 0) {
        replay_usage(stderr);
        return 2;
    }
    if (from && to && to <= from) {
        fprintf(stderr, "orch-replay: --to must be after --from\n");
        return 2;
    }
    if (seed_arg) {
        char *end;
        long long v = strtoll(seed_arg, &end, 10);
        if (end == seed_arg || *end || v < 0 || v > 2147483647LL) {
            fprintf(stderr, "orch-replay: --seed: expected an integer from 0 to 2147483647\n");
            return 2;
        }
        if (setenv("LEARN_SEED", seed_arg, 1) != 0)
            return 1;
    }

    struct cfg cfg;
    char err[512];
    if (cfg_load(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "orch-replay: configuration error: %s\n", err);
        return 1;
    }
    log_init("replay", verbose ? log_level_parse(cfg.log_level) : LOG_WARN);
    /* the simulated workflows are "sent": the cycle acts as with n8n */
    free(cfg.n8n_base_url);
    cfg.n8n_base_url = strdup("http://replay.invalid");
    int rc = 1;
    struct replay_series series[REPLAY_MAX_SERIES];
    memset(series, 0, sizeof series);
    struct replay r;
    memset(&r, 0, sizeof r);
    struct cycle_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    static struct learn learn;
    static struct catalog_live catalog;
    struct usage usage;
    memset(&usage, 0, sizeof usage);
    struct replay_score sc;
    json_object *score_json = NULL, *files_json = json_object_new_array(), *params = json_object_new_object();
    char *svg = NULL;
    PGconn *db = NULL;
    long long run_id = 0;
    struct timespec t0, t1, t2, t3;
    if (!cfg.n8n_base_url)
        goto out;
    /* the simulated workflows are the catalog's */
    if (catalog_live_start(&catalog, &cfg, time(NULL), err, sizeof err) < 0) {
        fprintf(stderr, "orch-replay: catalog error (CATALOG_FILE): %s\n", err);
        goto out;
    }
    if (usage_init(&usage) < 0)
        goto out;
    if (use_llm && http_global_init() < 0) {
        fprintf(stderr, "orch-replay: libcurl initialisation failed\n");
        goto out;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    time_t first = 0, last = 0;
    long long bars = 0;                 /* bars in the replayed range (all of them without --from/--to) */
    for (int i = 0; i < nfiles; i++) {
        if (replay_read(files[i], &series[i], err, sizeof err) < 0 || replay_prepare(&series[i], cfg.learn_window_minutes * 60) < 0) {
            fprintf(stderr, "orch-replay: %s\n", err);
            r.ns = i + 1;
            goto out;
        }
        r.ns = i + 1;
        struct replay_series *s = &series[i];
        if (!first || s->t[0] < first)
            first = s->t[0];
        if (s->t[s->n - 1] + 60 > last)
            last = s->t[s->n - 1] + 60;
        json_object *f = json_object_new_object();
        char a[32], b[32];
        sense_iso8601(s->t[0], a);
        sense_iso8601(s->t[s->n - 1], b);
        json_object_object_add(f, "path", json_object_new_string(s->path));
        json_object_object_add(f, "instrument", json_object_new_string(s->name));
        json_object_object_add(f, "market", json_object_new_string(learn_market_name(s->market)));
        json_object_object_add(f, "bars", json_object_new_int64((long long)s->n));
        json_object_object_add(f, "duplicates_dropped", json_object_new_int64((long long)s->duplicates));
        json_object_object_add(f, "first", json_object_new_string(a));
        json_object_object_add(f, "last", json_object_new_string(b));
        json_object_array_add(files_json, f);
    }
    r.s = series;
    r.from = from ? from : first - first % 60;
    r.to = to ? to : last;
    r.window_s = cfg.learn_window_minutes * 60;
    if (r.to <= r.from) {
        fprintf(stderr, "orch-replay: the range holds no data\n");
        goto out;
    }
    for (int i = 0; i < r.ns; i++) {
        long long in = 0;
        for (size_t j = 0; j < series[i].n; j++)
            in += series[i].t[j] >= r.from && series[i].t[j] < r.to;
        bars += in;
        json_object_object_add(json_object_array_get_idx(files_json, (size_t)i), "bars_in_range", json_object_new_int64(in));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    json_object_object_add(params, "seed", json_object_new_int64(cfg.learn_seed));
    json_object_object_add(params, "learn_half_life_hours", json_object_new_double(cfg.learn_half_life_hours));
    json_object_object_add(params, "learn_run_cost", json_object_new_double(cfg.learn_run_cost));
    json_object_object_add(params, "learn_epsilon", json_object_new_double(cfg.learn_epsilon));
    json_object_object_add(params, "learn_max_stale_minutes", json_object_new_int64(cfg.learn_max_stale_minutes));
    json_object_object_add(params, "learn_window_minutes", json_object_new_int64(cfg.learn_window_minutes));
    json_object_object_add(params, "decision_min_seconds", json_object_new_int64(cfg.decision_min_seconds));
    json_object_object_add(params, "decision_max_seconds", json_object_new_int64(cfg.decision_max_seconds));
    json_object_object_add(params, "llm", json_object_new_boolean(use_llm));
    json_object *cat = json_object_new_object();
    json_object_object_add(cat, "file", json_object_new_string(catalog.path));
    json_object_object_add(cat, "hash", json_object_new_string(catalog.hash));
    json_object_object_add(cat, "workflows", json_object_new_int(catalog.workflows));
    json_object_object_add(params, "catalog", cat);

    learn_init(&learn, &cfg);
    ctx.cfg = &cfg;
    ctx.learn = &learn;
    ctx.usage = &usage;
    char scope[32] = "";
    if (use_llm) {
        llm_init(&ctx.llm, &cfg);
        if (llm_configured(&ctx.llm)) {
            if (prompt_load(cfg.llm_prompt_file, &ctx.prompt, err, sizeof err) < 0) {
                fprintf(stderr, "orch-replay: LLM_PROMPT_FILE: %s\n", err);
                goto out;
            }
            ctx.have_prompt = 1;
        } else {
            fprintf(stderr, "orch-replay: --llm given but no LLM provider is configured\n");
        }
    }
    if (!no_db) {
        if (!(db = db_connect(cfg.database_url, "orch-replay"))) {
            fprintf(stderr, "orch-replay: cannot connect to the database (DATABASE_URL; --no-db runs without it)\n");
            goto out;
        }
        if (store_replay_begin(db, label, cfg.learn_seed, json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN),
                               json_object_to_json_string_ext(files_json, JSON_C_TO_STRING_PLAIN), r.from, r.to,
                               &run_id) < 0) {
            fprintf(stderr, "orch-replay: cannot record the run (is sql/003_learning.sql applied?)\n");
            goto out;
        }
        /* the triggers name the catalog's workflows: their rows must exist
         * (added not present: the live catalog is the worker's) */
        char *entries = catalog_live_entries();
        int ok = entries && store_catalog_ensure(db, entries) == 0;
        free(entries);
        if (!ok) {
            fprintf(stderr, "orch-replay: cannot record the catalog's workflows (is sql/008_catalog.sql applied?)\n");
            goto out;
        }
        snprintf(scope, sizeof scope, "%lld", run_id);
        ctx.db = db;
        ctx.run_id = run_id;
        ctx.learn_scope = scope;
        ctx.learn_save_every = 100;   /* and once at the end */
    }

    int ran = replay_run(&r, &ctx, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (ran < 0)
        fprintf(stderr, "orch-replay: %s\n", err);
    if (replay_score(&r, &sc) < 0) {
        fprintf(stderr, "orch-replay: out of memory while scoring\n");
        goto out;
    }
    score_json = replay_score_json(&r, &sc);
    svg = replay_svg(&r, &sc);
    clock_gettime(CLOCK_MONOTONIC, &t3);

    char a[32], b[32];
    sense_iso8601(r.from, a);
    sense_iso8601(r.to, b);
    double replay_s = replay_seconds(&t1, &t2);
    printf("replay%s%s: %d file(s), %lld bars replayed, %s .. %s, seed %ld%s%s\n", *label ? " " : "", label, r.ns, bars, a, b,
           cfg.learn_seed, run_id ? ", run " : " (not stored)", run_id ? scope : "");
    replay_score_print(stdout, &r, &sc);
    printf("timings: load %.2f s, replay %.2f s (%lld decisions, %.0f per second), score and picture %.2f s\n",
           replay_seconds(&t0, &t1), replay_s, r.decisions, replay_s > 0 ? (double)r.decisions / replay_s : 0,
           replay_seconds(&t2, &t3));
    fflush(stdout);

    json_object *timings = json_object_new_object();
    json_object_object_add(timings, "load_s", json_object_new_double(replay_seconds(&t0, &t1)));
    json_object_object_add(timings, "replay_s", json_object_new_double(replay_s));
    json_object_object_add(timings, "score_s", json_object_new_double(replay_seconds(&t2, &t3)));
    json_object_object_add(timings, "decisions", json_object_new_int64(r.decisions));
    json_object_object_add(timings, "bars", json_object_new_int64(bars));
    rc = ran < 0 ? 1 : 0;
    if (db && store_replay_finish(db, run_id, ran < 0 ? "failed" : "succeeded",
                                  json_object_to_json_string_ext(timings, JSON_C_TO_STRING_PLAIN),
                                  json_object_to_json_string_ext(score_json, JSON_C_TO_STRING_PLAIN), svg,
                                  ran < 0 ? err : NULL) < 0) {
        fprintf(stderr, "orch-replay: could not store the scorecard\n");
        rc = 1;
    }
    json_object_put(timings);
    if (db) {
        json_object *j = learn_to_json(&learn);
        if (store_learning_save(db, scope, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), r.to) < 0)
            rc = 1;
        json_object_put(j);
    }
    if (csv_out && replay_write_file(csv_out, NULL, 1, &sc) < 0)
        rc = 1;
    if (svg_out && (!svg || replay_write_file(svg_out, svg, 0, &sc) < 0))
        rc = 1;
out:
    usage_free(&usage);
    free(svg);
    json_object_put(score_json);
    json_object_put(files_json);
    json_object_put(params);
    replay_free(&r);
    for (int i = 0; i < REPLAY_MAX_SERIES; i++)
        replay_series_free(&series[i]);
    PQfinish(db);
    prompt_free(&ctx.prompt);
    if (use_llm)
        http_global_cleanup();
    cfg_free(&cfg);
    return rc;
}
