/* orch-replay: run the real decision cycle over recorded market data on a
 * simulated clock and score it against fixed crons (see worker/replay.h).
 *
 * Configuration comes from the environment like the worker's (DATABASE_URL,
 * DECISION_*, LEARN_*); no webhook is sent and, unless --llm is given, no
 * LLM is called.  Decisions, triggers and outcomes are written under a new
 * replay_runs row (one per seed) unless --no-db, through the batched writer
 * (worker/store_batch.h: one round trip for many statements).  Prints the scorecard, or with several seeds one
 * line per seed and market and the table of means and worst seeds
 * (worker/replay_seeds.h); exit status 0, 1 on errors, 2 on bad
 * arguments. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "cycle.h"
#include "db.h"
#include "http.h"
#include "learn.h"
#include "log.h"
#include "replay.h"
#include "replay_score.h"
#include "replay_seeds.h"
#include "replay_svg.h"
#include "store.h"
#include "store_batch.h"
#include "usage.h"
#include "catalog_live.h"
#include "timeutil.h"

static void replay_usage(FILE *out)
{
    fprintf(out,
            "usage: orch-replay [--seed N | --seeds LIST] [--from ISO] [--to ISO] [--label TEXT] [--no-db]\n"
            "                   [--llm] [--csv-out FILE] [--svg-out FILE] [--summary-out FILE] [--verbose]\n"
            "                   [[--instrument NAME] [--market crypto|forex] FILE]...\n"
            "  Replays recorded 1-minute bars (HistData ASCII; CSV with a timestamp or\n"
            "  open_time header; headerless Binance klines; .gz or plain) through the\n"
            "  worker's decision cycle and prints a scorecard against crons every 1, 5,\n"
            "  15 and 60 minutes.\n"
            "  --seed N      LEARN_SEED for this run (default: the environment's, else 1)\n"
            "  --seeds LIST  one run per seed: \"1-10\", \"3\" or \"1-3,8\" (at most %d); prints\n"
            "                each seed's figures and per market their mean and worst seed\n"
            "  --from, --to  the simulated clock's range (default: the data's), e.g. 2019-01-01\n"
            "  --label TEXT  stored with the run\n"
            "  --no-db       write nothing to PostgreSQL\n"
            "  --llm         ask the configured LLM every cycle (costs tokens)\n"
            "  --csv-out F   the scorecard as CSV (several seeds: F with -seedN before its extension)\n"
            "  --svg-out F   the picture (price, volatility, top windows, scans), likewise\n"
            "  --summary-out F  the seeds' means and worst seeds as JSON\n"
            "  --verbose     log every cycle (LOG_LEVEL) instead of warnings only\n"
            "  --instrument NAME  the instrument of the files that follow (default: the\n"
            "                file's symbol, instrument or pair column, else its name)\n"
            "  --market M    crypto or forex for the files that follow (default: forex\n"
            "                for HistData and pairs of fiat currencies, else crypto)\n",
            REPLAY_MAX_SEEDS);
}

struct replay_args {
    const char *label, *csv_out, *svg_out, *summary_out;
    const char *files[REPLAY_MAX_SERIES];
    struct replay_read_opts fopts[REPLAY_MAX_SERIES];
    int nfiles, no_db, use_llm, verbose;
    time_t from, to;
    const char *seed_arg;                     /* --seed */
    long seeds[REPLAY_MAX_SEEDS];             /* --seeds */
    int nseeds;
};

/* An option that takes a value: its value into *dst, or complain. */
static int replay_value(int argc, char **argv, int *i, const char **dst)
{
    if (*i + 1 >= argc)
        return -1;
    *dst = argv[++*i];
    return 0;
}

/* The command line into *a.  Returns 0, 1 when --help was answered, or 2
 * after a message on a bad argument. */
static int replay_args(int argc, char **argv, struct replay_args *a)
{
    memset(a, 0, sizeof *a);
    a->label = "";
    struct replay_read_opts cur = { NULL, -1 };
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = NULL;
        int bad = 0;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            replay_usage(stdout);
            return 1;
        } else if (strcmp(o, "--no-db") == 0) {
            a->no_db = 1;
        } else if (strcmp(o, "--llm") == 0) {
            a->use_llm = 1;
        } else if (strcmp(o, "--verbose") == 0) {
            a->verbose = 1;
        } else if (o[0] == '-' && o[1] == '-' && replay_value(argc, argv, &i, &v) < 0) {
            fprintf(stderr, "orch-replay: unknown or incomplete option \"%s\"\n", o);
            replay_usage(stderr);
            return 2;
        } else if (strcmp(o, "--seed") == 0) {
            a->seed_arg = v;
            char *end;
            long long s = strtoll(v, &end, 10);
            bad = end == v || *end || s < 0 || s > 2147483647LL;
        } else if (strcmp(o, "--seeds") == 0) {
            bad = replay_seeds_parse(v, a->seeds, REPLAY_MAX_SEEDS, &a->nseeds) < 0;
        } else if (strcmp(o, "--from") == 0 || strcmp(o, "--to") == 0) {
            bad = replay_parse_iso(v, o[2] == 'f' ? &a->from : &a->to) < 0;
        } else if (strcmp(o, "--label") == 0) {
            a->label = v;
        } else if (strcmp(o, "--csv-out") == 0) {
            a->csv_out = v;
        } else if (strcmp(o, "--svg-out") == 0) {
            a->svg_out = v;
        } else if (strcmp(o, "--summary-out") == 0) {
            a->summary_out = v;
        } else if (strcmp(o, "--instrument") == 0) {
            cur.instrument = v;
        } else if (strcmp(o, "--market") == 0) {
            cur.market = strcmp(v, "crypto") == 0 ? LEARN_CRYPTO : strcmp(v, "forex") == 0 ? LEARN_FOREX : -1;
            bad = cur.market < 0;
        } else if (v) {
            fprintf(stderr, "orch-replay: unknown option \"%s\"\n", o);
            replay_usage(stderr);
            return 2;
        } else if (a->nfiles < REPLAY_MAX_SERIES) {
            a->fopts[a->nfiles] = cur;
            a->files[a->nfiles++] = o;
        } else {
            fprintf(stderr, "orch-replay: at most %d files\n", REPLAY_MAX_SERIES);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "orch-replay: %s %s: expected %s\n", o, v,
                    strcmp(o, "--seed") == 0 ? "an integer from 0 to 2147483647"
                    : strcmp(o, "--seeds") == 0 ? "seeds like 1-10, 7 or 1-3,8 (0 to 2147483647, at most 100)"
                    : strcmp(o, "--market") == 0 ? "crypto or forex"
                    : "an ISO date like 2019-01-01 or 2019-01-01T08:00Z");
            return 2;
        }
    }
    if (a->nfiles == 0) {
        replay_usage(stderr);
        return 2;
    }
    if (a->from && a->to && a->to <= a->from) {
        fprintf(stderr, "orch-replay: --to must be after --from\n");
        return 2;
    }
    if (a->seed_arg && a->nseeds) {
        fprintf(stderr, "orch-replay: --seed or --seeds, not both\n");
        return 2;
    }
    return 0;
}

/* The recorded data every seed replays (owned: replay_data_free). */
struct replay_data {
    struct replay_series series[REPLAY_MAX_SERIES];
    int ns;
    time_t from, to;
    long long bars;                   /* bars in the replayed range */
    json_object *files;               /* what replay_runs.files records */
    double load_s;
};

static void replay_data_free(struct replay_data *d)
{
    for (int i = 0; i < REPLAY_MAX_SERIES; i++)
        replay_series_free(&d->series[i]);
    json_object_put(d->files);
    d->files = NULL;
}

/* A file's entry of replay_runs.files.  Caller frees. */
static json_object *replay_file_json(const struct replay_series *s)
{
    json_object *f = json_object_new_object();
    char a[32], b[32];
    tu_iso8601(s->t[0], a);
    tu_iso8601(s->t[s->n - 1], b);
    json_object_object_add(f, "path", json_object_new_string(s->path));
    json_object_object_add(f, "instrument", json_object_new_string(s->name));
    json_object_object_add(f, "market", json_object_new_string(learn_market_name(s->market)));
    json_object_object_add(f, "format", json_object_new_string(replay_format_name(s->format)));
    json_object_object_add(f, "bars", json_object_new_int64((long long)s->n));
    json_object_object_add(f, "duplicates_dropped", json_object_new_int64((long long)s->duplicates));
    json_object_object_add(f, "conflicts_dropped", json_object_new_int64((long long)s->conflicts));
    json_object_object_add(f, "first", json_object_new_string(a));
    json_object_object_add(f, "last", json_object_new_string(b));
    return f;
}

/* Read and prepare the files of a into *d (zeroed first).  Returns 0 or -1
 * (after a message). */
static int replay_load(const struct replay_args *a, long window_s, struct replay_data *d)
{
    double t0 = tu_mono_ms();
    memset(d, 0, sizeof *d);
    d->files = json_object_new_array();
    char err[512];
    time_t first = 0, last = 0;
    for (int i = 0; i < a->nfiles; i++) {
        struct replay_series *s = &d->series[i];
        d->ns = i + 1;
        if (replay_read_opt(a->files[i], &a->fopts[i], s, err, sizeof err) < 0) {
            fprintf(stderr, "orch-replay: %s\n", err);
            return -1;
        }
        if (replay_prepare(s, window_s) < 0) {
            fprintf(stderr, "orch-replay: out of memory\n");
            return -1;
        }
        if (!first || s->t[0] < first)
            first = s->t[0];
        if (s->t[s->n - 1] + 60 > last)
            last = s->t[s->n - 1] + 60;
        json_object_array_add(d->files, replay_file_json(s));
    }
    d->from = a->from ? a->from : first - first % 60;
    d->to = a->to ? a->to : last;
    if (d->to <= d->from) {
        fprintf(stderr, "orch-replay: the range holds no data\n");
        return -1;
    }
    for (int i = 0; i < d->ns; i++) {
        long long in = 0;
        for (size_t j = 0; j < d->series[i].n; j++)
            in += d->series[i].t[j] >= d->from && d->series[i].t[j] < d->to;
        d->bars += in;
        json_object_object_add(json_object_array_get_idx(d->files, (size_t)i), "bars_in_range", json_object_new_int64(in));
    }
    d->load_s = (tu_mono_ms() - t0) / 1000.0;
    return 0;
}

/* path, or with several seeds path with "-seedN" before its extension, into out. */
static const char *replay_seed_path(const char *path, long seed, int several, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!several)
        snprintf(out, cap, "%s", path);
    else if (dot && (!slash || dot > slash + 1))
        snprintf(out, cap, "%.*s-seed%ld%s", (int)(dot - path), path, seed, dot);
    else
        snprintf(out, cap, "%s-seed%ld", path, seed);
    return out;
}

static int replay_write_file(const char *path, const char *text, const struct replay_score *sc)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "orch-replay: cannot write %s\n", path);
        return -1;
    }
    int rc = text ? (fputs(text, f) < 0 ? -1 : 0) : replay_score_csv(f, sc);
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "orch-replay: cannot write %s\n", path);
    return rc;
}

/* The run's parameters as replay_runs.params records them.  Caller frees. */
/* The catalog whose workflows the replay simulates (CATALOG_FILE). */
static struct catalog_live replay_catalog;

static json_object *replay_params_json(const struct cfg *cfg, int use_llm)
{
    json_object *params = json_object_new_object();
    json_object_object_add(params, "seed", json_object_new_int64(cfg->learn_seed));
    json_object_object_add(params, "learn_half_life_hours", json_object_new_double(cfg->learn_half_life_hours));
    json_object_object_add(params, "learn_run_cost", json_object_new_double(cfg->learn_run_cost));
    json_object_object_add(params, "learn_epsilon", json_object_new_double(cfg->learn_epsilon));
    json_object_object_add(params, "learn_max_stale_minutes", json_object_new_int64(cfg->learn_max_stale_minutes));
    json_object_object_add(params, "learn_window_minutes", json_object_new_int64(cfg->learn_window_minutes));
    json_object_object_add(params, "decision_min_seconds", json_object_new_int64(cfg->decision_min_seconds));
    json_object_object_add(params, "decision_max_seconds", json_object_new_int64(cfg->decision_max_seconds));
    json_object_object_add(params, "llm", json_object_new_boolean(use_llm));
    json_object *cat = json_object_new_object();
    json_object_object_add(cat, "file", json_object_new_string(replay_catalog.path));
    json_object_object_add(cat, "hash", json_object_new_string(replay_catalog.hash));
    json_object_object_add(cat, "workflows", json_object_new_int(replay_catalog.workflows));
    json_object_object_add(params, "catalog", cat);
    return params;
}

/* What one seed's run gives back to main. */
struct replay_outcome {
    struct replay_score sc;
    long long decisions;
    double replay_s;
};

/* The LLM of ctx when --llm: its client and prompt.  Returns 0 or -1. */
static int replay_llm(struct cycle_ctx *ctx, const struct cfg *cfg)
{
    char err[512];
    llm_init(&ctx->llm, cfg);
    if (!llm_configured(&ctx->llm)) {
        fprintf(stderr, "orch-replay: --llm given but no LLM provider is configured\n");
        return 0;
    }
    if (prompt_load(cfg->llm_prompt_file, &ctx->prompt, err, sizeof err) < 0) {
        fprintf(stderr, "orch-replay: LLM_PROMPT_FILE: %s\n", err);
        return -1;
    }
    ctx->have_prompt = 1;
    return 0;
}

/* Print one run's results: the whole scorecard with its timings, or
 * (several seeds) one line per market. */
static void replay_report(const struct replay_args *a, const struct cfg *cfg, const struct replay_data *d,
                          const struct replay *r, const struct replay_score *sc, long long run_id, double score_s,
                          double replay_s)
{
    double per_s = replay_s > 0 ? (double)r->decisions / replay_s : 0;
    if (a->nseeds > 1) {
        replay_seeds_print_seed(stdout, cfg->learn_seed, sc);
        printf("seed %ld: %lld decisions in %.2f s, %.0f per second%s\n", cfg->learn_seed, r->decisions, replay_s, per_s,
               run_id ? " (stored)" : "");
        fflush(stdout);
        return;
    }
    char from[32], to[32];
    tu_iso8601(d->from, from);
    tu_iso8601(d->to, to);
    printf("replay%s%s: %d file(s), %lld bars replayed, %s .. %s, seed %ld", *a->label ? " " : "", a->label, d->ns,
           d->bars, from, to, cfg->learn_seed);
    if (run_id)
        printf(", run %lld\n", run_id);
    else
        printf(" (not stored)\n");
    replay_score_print(stdout, r, sc);
    printf("timings: load %.2f s, replay %.2f s (%lld decisions, %.0f per second%s), score and picture %.2f s\n",
           d->load_s, replay_s, r->decisions, per_s, run_id ? ", stored in PostgreSQL" : ", not stored", score_s);
    fflush(stdout);
}

/* Close the stored run: its status, timings, scorecard, picture and the
 * last learning state.  Returns 0 or -1. */
static int replay_finish(PGconn *db, long long run_id, const char *scope, int ran, const char *err,
                         const struct replay_data *d, const struct replay *r, json_object *score, const char *svg,
                         const struct learn *learn, double replay_s, double score_s)
{
    json_object *timings = json_object_new_object();
    json_object_object_add(timings, "load_s", json_object_new_double(d->load_s));
    json_object_object_add(timings, "replay_s", json_object_new_double(replay_s));
    json_object_object_add(timings, "score_s", json_object_new_double(score_s));
    json_object_object_add(timings, "decisions", json_object_new_int64(r->decisions));
    json_object_object_add(timings, "decisions_per_second",
                           json_object_new_double(replay_s > 0 ? (double)r->decisions / replay_s : 0));
    json_object_object_add(timings, "bars", json_object_new_int64(d->bars));
    int rc = 0;
    if (store_replay_finish(db, run_id, ran < 0 ? "failed" : "succeeded",
                            json_object_to_json_string_ext(timings, JSON_C_TO_STRING_PLAIN),
                            json_object_to_json_string_ext(score, JSON_C_TO_STRING_PLAIN), svg, ran < 0 ? err : NULL) < 0) {
        fprintf(stderr, "orch-replay: could not store the scorecard\n");
        rc = -1;
    }
    json_object_put(timings);
    json_object *j = learn_to_json(learn);
    if (store_learning_save(db, scope, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), r->to) < 0)
        rc = -1;
    json_object_put(j);
    return rc;
}

/* One replay of d with cfg (its learn_seed set), stored through db unless
 * NULL; prints it and fills *out.  Returns 0, or 1 on a failure (after a
 * message). */
/* A stored run's start: its replay_runs row (*run_id), the catalog's
 * workflows in the workflows table (the triggers name them; added not
 * present: the live catalog is the worker's), and the batched writer on
 * db.  Returns the writer, or NULL after a message. */
static struct store_batch *replay_store_begin(const struct replay_args *a, const struct cfg *cfg,
                                              const struct replay_data *d, PGconn *db, json_object *params,
                                              long long *run_id)
{
    if (store_replay_begin(db, a->label, cfg->learn_seed, json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN),
                           json_object_to_json_string_ext(d->files, JSON_C_TO_STRING_PLAIN), d->from, d->to,
                           run_id) < 0) {
        fprintf(stderr, "orch-replay: cannot record the run (is sql/003_learning.sql applied?)\n");
        return NULL;
    }
    char *entries = catalog_live_entries();
    int ok = entries && store_catalog_ensure(db, entries) == 0;
    free(entries);
    if (!ok) {
        fprintf(stderr, "orch-replay: cannot record the catalog's workflows (is sql/008_catalog.sql applied?)\n");
        return NULL;
    }
    struct store_batch *batch = store_batch_new(db, *run_id);
    if (!batch)
        fprintf(stderr, "orch-replay: out of memory\n");
    return batch;
}

static int replay_once(const struct replay_args *a, const struct cfg *cfg, struct replay_data *d, PGconn *db,
                       struct replay_outcome *out)
{
    struct replay r;
    memset(&r, 0, sizeof r);
    r.s = d->series;
    r.ns = d->ns;
    r.from = d->from;
    r.to = d->to;
    r.window_s = cfg->learn_window_minutes * 60;
    static struct learn learn;          /* large (per-workflow learning): not on the stack */
    learn_init(&learn, cfg);
    struct usage usage;
    memset(&usage, 0, sizeof usage);
    struct cycle_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = cfg;
    ctx.learn = &learn;
    static struct sink_memory mem;      /* --no-db: the decisions kept in memory */
    sink_mem_reset(&mem);
    ctx.sink = db ? sink_pg(db) : sink_mem(&mem);
    json_object *params = replay_params_json(cfg, a->use_llm), *score = NULL;
    char *svg = NULL, scope[32] = "", err[512] = "", path[1024];
    long long run_id = 0;
    struct store_batch *batch = NULL;
    int rc = 1;
    if (usage_init(&usage) < 0)
        goto out;
    ctx.usage = &usage;
    if (a->use_llm && replay_llm(&ctx, cfg) < 0)
        goto out;
    if (db) {
        if (!(batch = replay_store_begin(a, cfg, d, db, params, &run_id)))
            goto out;
        snprintf(scope, sizeof scope, "%lld", run_id);
        ctx.run_id = run_id;
        ctx.learn_scope = scope;
        ctx.learn_save_every = 100;   /* and once at the end */
    }
    double t0 = tu_mono_ms(), t1, t2;
    int ran = replay_run(&r, &ctx, err, sizeof err);
    if (batch && store_batch_finish(batch) < 0 && ran == 0) {
        snprintf(err, sizeof err, "the last decisions could not be written (see the log)");
        ran = -1;
    }
    store_batch_free(batch);
    batch = NULL;
    t1 = tu_mono_ms();
    if (ran < 0)
        fprintf(stderr, "orch-replay: %s\n", err);
    if (replay_score(&r, &out->sc) < 0) {
        fprintf(stderr, "orch-replay: out of memory while scoring\n");
        goto out;
    }
    score = replay_score_json(&r, &out->sc);
    svg = replay_svg(&r, &out->sc);
    t2 = tu_mono_ms();
    out->decisions = r.decisions;
    out->replay_s = (t1 - t0) / 1000.0;
    replay_report(a, cfg, d, &r, &out->sc, run_id, (t2 - t1) / 1000.0, out->replay_s);
    rc = ran < 0 ? 1 : 0;
    if (db && replay_finish(db, run_id, scope, ran, err, d, &r, score, svg, &learn, out->replay_s,
                            (t2 - t1) / 1000.0) < 0)
        rc = 1;
    if (a->csv_out && replay_write_file(replay_seed_path(a->csv_out, cfg->learn_seed, a->nseeds > 1, path, sizeof path),
                                        NULL, &out->sc) < 0)
        rc = 1;
    if (a->svg_out && (!svg || replay_write_file(replay_seed_path(a->svg_out, cfg->learn_seed, a->nseeds > 1, path,
                                                                  sizeof path), svg, NULL) < 0))
        rc = 1;
out:
    store_batch_free(batch);
    usage_free(&usage);
    free(svg);
    json_object_put(score);
    json_object_put(params);
    replay_free(&r);
    prompt_free(&ctx.prompt);
    return rc;
}

/* Every seed of a over d; prints the seeds' table when there are several.
 * Returns the exit status. */
static int replay_all(const struct replay_args *a, struct cfg *cfg, struct replay_data *d, PGconn *db)
{
    int nseeds = a->nseeds ? a->nseeds : 1, rc = 0;
    struct replay_seeds *ss = calloc(1, sizeof *ss);
    struct replay_outcome *o = malloc(sizeof *o);
    if (!ss || !o) {
        free(ss);
        free(o);
        fprintf(stderr, "orch-replay: out of memory\n");
        return 1;
    }
    for (int i = 0; i < nseeds; i++) {
        if (a->nseeds)
            cfg->learn_seed = a->seeds[i];
        if (replay_once(a, cfg, d, db, o) != 0)
            rc = 1;
        else if (replay_seeds_add(ss, cfg->learn_seed, &o->sc, o->decisions, o->replay_s) < 0)
            rc = 1;
    }
    if (nseeds > 1) {
        printf("timings: load %.2f s\n", d->load_s);
        replay_seeds_print(stdout, ss);
    }
    if (a->summary_out) {
        json_object *j = replay_seeds_json(ss);
        FILE *f = fopen(a->summary_out, "w");
        if (!f || fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY), f) < 0 || fputc('\n', f) == EOF) {
            fprintf(stderr, "orch-replay: cannot write %s\n", a->summary_out);
            rc = 1;
        }
        if (f && fclose(f) != 0)
            rc = 1;
        json_object_put(j);
    }
    free(ss);
    free(o);
    return rc;
}

int main(int argc, char **argv)
{
    struct replay_args a;
    int rc = replay_args(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (a.seed_arg && setenv("LEARN_SEED", a.seed_arg, 1) != 0)
        return 1;
    struct cfg cfg;
    char err[512];
    if (cfg_load_prog(&cfg, CFG_PROG_REPLAY, err, sizeof err) < 0) {
        fprintf(stderr, "orch-replay: configuration error: %s\n", err);
        return 1;
    }
    log_init("replay", a.verbose ? log_level_parse(cfg.log_level) : LOG_WARN);
    if (log_set_file(cfg.log_file) < 0) {
        cfg_free(&cfg);
        return 1;
    }
    /* the simulated workflows are "sent": the cycle acts as with n8n */
    free(cfg.n8n_base_url);
    cfg.n8n_base_url = strdup("http://replay.invalid");
    rc = 1;
    struct replay_data *d = calloc(1, sizeof *d);
    PGconn *db = NULL;
    int curl = 0;
    if (!cfg.n8n_base_url || !d)
        goto out;
    /* the simulated workflows are the catalog's */
    if (catalog_live_start(&replay_catalog, &cfg, tu_now(), err, sizeof err) < 0) {
        fprintf(stderr, "orch-replay: catalog error (CATALOG_FILE): %s\n", err);
        goto out;
    }
    if (a.use_llm && !(curl = http_global_init() == 0)) {
        fprintf(stderr, "orch-replay: libcurl initialisation failed\n");
        goto out;
    }
    if (replay_load(&a, cfg.learn_window_minutes * 60, d) < 0)
        goto out;
    if (!a.no_db && !(db = db_connect(cfg.database_url, "orch-replay"))) {
        fprintf(stderr, "orch-replay: cannot connect to the database (DATABASE_URL; --no-db runs without it)\n");
        goto out;
    }
    rc = replay_all(&a, &cfg, d, db);
out:
    if (d)
        replay_data_free(d);
    free(d);
    PQfinish(db);
    if (curl)
        http_global_cleanup();
    cfg_free(&cfg);
    return rc;
}
