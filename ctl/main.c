/* orchctl: check and steer the orchestrator from a terminal, through its
 * REST API (the same one the dashboard and curl use).
 *
 *   orchctl [--url URL] [--config FILE] [--json] [--timeout S] COMMAND [ARGS]
 *
 * Settings come from the cfg table (shared/cfg.c, program CFG_PROG_CTL):
 * ORCH_URL and ORCHESTRATOR_API_TOKEN (or ORCHESTRATOR_API_TOKEN_FILE), from
 * the environment first, then from KEY=VALUE lines of the config file
 * (--config, else $XDG_CONFIG_HOME/orchctl or ~/.config/orchctl); --url
 * wins over both and is checked like ORCH_URL.  The token
 * is never taken from the command line, where ps would show it.  Exit codes:
 * client.h. */
#include "config.h"
#include "cfg.h"
#include "client.h"
#include "http.h"
#include "view.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAIN_FILE_MAX (64 * 1024)
#define MAIN_FILE_VARS 32
#define MAIN_WAIT_SECONDS 30

struct main_opts {
    const char *url, *config, *mode;
    int json, wait, config_given;
    long timeout_s, limit, interval_s, count;
    int have_limit, have_mode, have_interval, have_count;
};

/* The config file's variables: name=value pairs, owned by main_file_buf. */
static char *main_file_buf;
static const char *main_file_name[MAIN_FILE_VARS], *main_file_value[MAIN_FILE_VARS];
static int main_file_n;

static volatile sig_atomic_t main_stop;
static const char *main_url_flag;      /* --url: wins over ORCH_URL, checked by the same table */

static void main_on_int(int sig)
{
    (void)sig;
    main_stop = 1;
}

static void main_usage(FILE *f)
{
    fprintf(f,
        "usage: orchctl [OPTIONS] COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  status                          worker state, last and next decision, sources, LLM, workflows\n"
        "  decisions [--limit N] [--mode M]  the newest decisions (N 1-200, default 20;\n"
        "                                  M crypto, forex, hybrid or standby)\n"
        "  show ID                         one decision in full: triggers and the LLM audit\n"
        "  force [--wait]                  make a decision now\n"
        "  stop [--wait]                   stop the decision cycles\n"
        "  start [--wait]                  start them again\n"
        "  reload                          reload the workflow catalog (POST /control/reload-catalog)\n"
        "  watch [--interval S] [--count N]  status and the last decisions every S seconds (2);\n"
        "                                  Ctrl-C stops, --count stops after N refreshes\n"
        "\n"
        "options:\n"
        "  --url URL       the API's base URL (ORCH_URL; default http://127.0.0.1:8080)\n"
        "  --config FILE   settings file (default $XDG_CONFIG_HOME/orchctl or ~/.config/orchctl)\n"
        "                  with lines ORCH_URL=..., ORCHESTRATOR_API_TOKEN=... or\n"
        "                  ORCHESTRATOR_API_TOKEN_FILE=...; the environment wins over it\n"
        "  --json          print the API's JSON (one document per line) instead of tables\n"
        "  --wait          force/stop/start: follow the command until the worker has done it\n"
        "                  (stop/start: and /status shows it)\n"
        "  --timeout S     seconds per request (1-300, default 10)\n"
        "  --help, --version\n"
        "\n"
        "The token (force, stop, start, reload) comes from ORCHESTRATOR_API_TOKEN or\n"
        "ORCHESTRATOR_API_TOKEN_FILE, never from the command line.\n"
        "\n"
        "exit status:\n"
        "  0  done\n"
        "  1  the API answered but the command failed (the worker marked it failed, --wait timed out)\n"
        "  2  bad arguments or configuration\n"
        "  3  the API cannot be reached (connection refused, unknown host, timeout)\n"
        "  4  no token, token refused (401/403), or control disabled on the server\n"
        "  5  not found: unknown decision id, or an endpoint this API does not have\n"
        "  6  any other error answer from the API (400, 409, 5xx, database unavailable)\n"
        "  7  an answer that is not the JSON expected\n");
}

/* Read the config file into main_file_*.  A missing default file is fine;
 * a missing --config file, a bad line or a file too big is an error.
 * Returns 0 or -1 after printing why. */
static int main_read_config(const char *path, int given)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!given && errno == ENOENT)
            return 0;
        fprintf(stderr, "orchctl: config %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077))
        fprintf(stderr, "orchctl: warning: %s is readable by others (chmod 600 it: it may hold the token)\n", path);
    main_file_buf = malloc(MAIN_FILE_MAX + 1);
    if (!main_file_buf) {
        fclose(f);
        return -1;
    }
    size_t n = fread(main_file_buf, 1, MAIN_FILE_MAX + 1, f);
    fclose(f);
    if (n > MAIN_FILE_MAX) {
        fprintf(stderr, "orchctl: config %s: larger than %d bytes\n", path, MAIN_FILE_MAX);
        return -1;
    }
    main_file_buf[n] = '\0';
    int lineno = 0;
    for (char *line = main_file_buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq || eq == line || main_file_n == MAIN_FILE_VARS) {
            fprintf(stderr, "orchctl: config %s:%d: expected NAME=VALUE\n", path, lineno);
            return -1;
        }
        *eq = '\0';
        main_file_name[main_file_n] = line;
        main_file_value[main_file_n++] = eq + 1;
    }
    return 0;
}

/* cfg getter: the environment, then the config file.  X and X_FILE are one
 * setting: when the environment has either, the file gives neither. */
static const char *main_get(const char *name, void *ctx)
{
    (void)ctx;
    if (main_url_flag && strcmp(name, "ORCH_URL") == 0)
        return main_url_flag;
    char base[96];
    snprintf(base, sizeof base, "%s", name);
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, "_FILE") == 0)
        base[n - 5] = '\0';
    char file[104];
    snprintf(file, sizeof file, "%s_FILE", base);
    const char *e1 = getenv(base), *e2 = getenv(file);
    if ((e1 && *e1) || (e2 && *e2))
        return getenv(name);
    for (int i = 0; i < main_file_n; i++)
        if (strcmp(main_file_name[i], name) == 0)
            return main_file_value[i];
    return NULL;
}

/* A whole number from min to max in *out.  Returns 0 or -1 after printing. */
static int main_number(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "orchctl: %s: expected a whole number from %ld to %ld, got \"%.40s\"\n", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parse the options (anywhere on the line).  Returns the index of the
 * command in argv, or -1 after printing why (exit 2). */
static int main_args(int argc, char **argv, struct main_opts *o)
{
    static const struct option longopts[] = {
        { "url", required_argument, NULL, 'u' },  { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },       { "timeout", required_argument, NULL, 't' },
        { "limit", required_argument, NULL, 'l' }, { "mode", required_argument, NULL, 'm' },
        { "wait", no_argument, NULL, 'w' },       { "interval", required_argument, NULL, 'i' },
        { "count", required_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },    { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof *o);
    o->timeout_s = 10;
    o->limit = 20;
    o->interval_s = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'u': o->url = optarg; break;
        case 'c': o->config = optarg; o->config_given = 1; break;
        case 'j': o->json = 1; break;
        case 'w': o->wait = 1; break;
        case 't': if (main_number("--timeout", optarg, 1, 300, &o->timeout_s) < 0) return -1; break;
        case 'l': if (main_number("--limit", optarg, 1, 200, &o->limit) < 0) return -1; o->have_limit = 1; break;
        case 'i': if (main_number("--interval", optarg, 1, 3600, &o->interval_s) < 0) return -1; o->have_interval = 1; break;
        case 'n': if (main_number("--count", optarg, 1, 1000000, &o->count) < 0) return -1; o->have_count = 1; break;
        case 'm':
            if (strcmp(optarg, "crypto") && strcmp(optarg, "forex") && strcmp(optarg, "hybrid") && strcmp(optarg, "standby")) {
                fprintf(stderr, "orchctl: --mode: expected crypto, forex, hybrid or standby, got \"%.40s\"\n", optarg);
                return -1;
            }
            o->mode = optarg;
            o->have_mode = 1;
            break;
        case 'h': main_usage(stdout); exit(0);
        case 'V': printf("orchctl %s\n", PACKAGE_VERSION); exit(0);
        default:
            fprintf(stderr, "orchctl: see orchctl --help\n");
            return -1;
        }
    }
    if (optind >= argc) {
        main_usage(stderr);
        return -1;
    }
    return optind;
}

/* Print an answer: its JSON (--json) or through view(). */
static void main_print(const struct main_opts *o, json_object *j, void (*view)(FILE *, json_object *))
{
    if (o->json)
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    else
        view(stdout, j);
    fflush(stdout);
}

/* Sleep ms milliseconds unless Ctrl-C comes first. */
static void main_sleep(long ms)
{
    for (long left = ms; left > 0 && !main_stop; left -= 100) {
        struct timespec ts = { 0, (left < 100 ? left : 100) * 1000000L };
        nanosleep(&ts, NULL);
    }
}

/* After a stop or start the worker has carried out: /status is the API's
 * cache, which follows the worker within moments; wait (until deadline)
 * for it to say so, so that the next `orchctl status` agrees (whichever
 * process of the API answers it: once one has answered from a read after
 * the command, none answers from an older one, api_fetch).  Returns
 * CLIENT_EXIT_OK, or the client's exit code of a failed call. */
static int main_wait_running(const struct client *c, const char *cmd, time_t deadline)
{
    int want = strcmp(cmd, "start") == 0;
    if (!want && strcmp(cmd, "stop") != 0)
        return CLIENT_EXIT_OK;
    for (;;) {
        struct client_answer st;
        int rc = client_call(c, "GET", "/status", 0, cmd, &st);
        if (rc != CLIENT_EXIT_OK)
            return rc;
        json_object *r = view_get(st.json, "running");
        int seen = r && json_object_is_type(r, json_type_boolean) && json_object_get_boolean(r) == want;
        client_answer_free(&st);
        if (seen || main_stop || time(NULL) >= deadline)
            return CLIENT_EXIT_OK;
        main_sleep(100);
    }
}

/* POST /control/<what>, then with --wait follow the command to its end. */
static int main_control(const struct client *c, const struct main_opts *o, const char *cmd, const char *path)
{
    struct client_answer a;
    int rc = client_call(c, "POST", path, 1, cmd, &a);
    if (rc != CLIENT_EXIT_OK)
        return rc;
    json_object *id = view_get(a.json, "command_id");
    if (!o->wait || !id) {
        main_print(o, a.json, view_command);
        client_answer_free(&a);
        return CLIENT_EXIT_OK;
    }
    char cpath[64];
    snprintf(cpath, sizeof cpath, "/control/commands/%lld", (long long)json_object_get_int64(id));
    client_answer_free(&a);
    time_t deadline = time(NULL) + MAIN_WAIT_SECONDS;
    for (;;) {
        rc = client_call(c, "GET", cpath, 1, cmd, &a);
        if (rc != CLIENT_EXIT_OK)
            return rc;
        json_object *st = view_get(a.json, "status");
        const char *s = st ? json_object_get_string(st) : "";
        if (strcmp(s, "pending") != 0 || main_stop || time(NULL) >= deadline) {
            rc = strcmp(s, "done") == 0 ? CLIENT_EXIT_OK : CLIENT_EXIT_FAILED;
            if (rc == CLIENT_EXIT_OK) {
                int wrc = main_wait_running(c, cmd, deadline);
                if (wrc != CLIENT_EXIT_OK) {
                    client_answer_free(&a);
                    return wrc;
                }
            }
            main_print(o, a.json, view_command);
            if (strcmp(s, "pending") == 0)
                fprintf(stderr, "orchctl: %s: still pending after %d s: is the worker running?\n", cmd,
                        MAIN_WAIT_SECONDS);
            else if (rc != CLIENT_EXIT_OK)
                fprintf(stderr, "orchctl: %s: the worker marked the command %s\n", cmd, s);
            client_answer_free(&a);
            return rc;
        }
        client_answer_free(&a);
        main_sleep(250);
    }
}

/* One refresh of watch: status and the last decisions. */
static int main_watch_once(const struct client *c, const struct main_opts *o, int tty)
{
    struct client_answer st, dec;
    int rc = client_call(c, "GET", "/status", 0, "watch", &st);
    if (rc != CLIENT_EXIT_OK)
        return rc;
    rc = client_call(c, "GET", "/decisions?limit=10", 0, "watch", &dec);
    if (rc != CLIENT_EXIT_OK) {
        client_answer_free(&st);
        return rc;
    }
    if (o->json) {
        json_object *both = json_object_new_object();
        if (both) {
            json_object_object_add(both, "status", json_object_get(st.json));
            json_object_object_add(both, "decisions", json_object_get(view_get(dec.json, "decisions")));
            printf("%s\n", json_object_to_json_string_ext(both, JSON_C_TO_STRING_PLAIN));
            json_object_put(both);
        }
    } else {
        if (tty)
            fputs("\033[H\033[2J", stdout);
        time_t now = time(NULL);
        struct tm tm;
        char when[32];
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
        printf("orchctl watch %s: every %ld s, %s (Ctrl-C stops)\n\n", c->url, o->interval_s, when);
        view_status(stdout, st.json);
        putchar('\n');
        view_decisions(stdout, dec.json);
        if (!tty)
            putchar('\n');
    }
    fflush(stdout);
    client_answer_free(&st);
    client_answer_free(&dec);
    return CLIENT_EXIT_OK;
}

static int main_watch(const struct client *c, const struct main_opts *o)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = main_on_int;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = isatty(STDOUT_FILENO), rc = CLIENT_EXIT_OK;
    for (long n = 0; !main_stop && (!o->have_count || n < o->count); n++) {
        if (n)
            main_sleep(o->interval_s * 1000);
        if (main_stop)
            break;
        rc = main_watch_once(c, o, tty);     /* an error is printed; watching goes on */
    }
    return main_stop ? CLIENT_EXIT_OK : rc;
}

/* Run the command argv[0..argc).  Returns the exit code. */
static int main_run(const struct client *c, const struct main_opts *o, int argc, char **argv)
{
    const char *cmd = argv[0];
    int is_decisions = strcmp(cmd, "decisions") == 0, is_watch = strcmp(cmd, "watch") == 0;
    int is_control = !strcmp(cmd, "force") || !strcmp(cmd, "stop") || !strcmp(cmd, "start");
    if ((o->have_limit || o->have_mode) && !is_decisions) {
        fprintf(stderr, "orchctl: --limit and --mode go with decisions\n");
        return CLIENT_EXIT_USAGE;
    }
    if ((o->have_interval || o->have_count) && !is_watch) {
        fprintf(stderr, "orchctl: --interval and --count go with watch\n");
        return CLIENT_EXIT_USAGE;
    }
    if (o->wait && !is_control) {
        fprintf(stderr, "orchctl: --wait goes with force, stop and start\n");
        return CLIENT_EXIT_USAGE;
    }
    int want_args = strcmp(cmd, "show") == 0 ? 2 : 1;
    if (argc != want_args) {
        fprintf(stderr, "orchctl: %s: %s\n", cmd, argc < want_args ? "which decision? (orchctl show ID)"
                                                                   : "unexpected argument");
        return CLIENT_EXIT_USAGE;
    }
    struct client_answer a;
    char path[96];
    int rc;
    if (strcmp(cmd, "status") == 0) {
        if ((rc = client_call(c, "GET", "/status", 0, cmd, &a)) != CLIENT_EXIT_OK)
            return rc;
        main_print(o, a.json, view_status);
    } else if (is_decisions) {
        snprintf(path, sizeof path, "/decisions?limit=%ld%s%s", o->limit, o->mode ? "&mode=" : "", o->mode ? o->mode : "");
        if ((rc = client_call(c, "GET", path, 0, cmd, &a)) != CLIENT_EXIT_OK)
            return rc;
        main_print(o, a.json, view_decisions);
    } else if (strcmp(cmd, "show") == 0) {
        long id;
        if (main_number("show", argv[1], 1, 9007199254740991L, &id) < 0)
            return CLIENT_EXIT_USAGE;
        snprintf(path, sizeof path, "/decisions/%ld", id);
        if ((rc = client_call(c, "GET", path, 0, "show", &a)) != CLIENT_EXIT_OK)
            return rc;
        main_print(o, a.json, view_decision);
    } else if (strcmp(cmd, "force") == 0) {
        return main_control(c, o, cmd, "/control/force-decision");
    } else if (strcmp(cmd, "stop") == 0 || strcmp(cmd, "start") == 0) {
        snprintf(path, sizeof path, "/control/%s", cmd);
        return main_control(c, o, cmd, path);
    } else if (strcmp(cmd, "reload") == 0) {
        rc = client_call(c, "POST", "/control/reload-catalog", 1, cmd, &a);
        if (rc == CLIENT_EXIT_NOT_FOUND)
            fprintf(stderr, "orchctl: reload: this API has no catalog reload (an older version?)\n");
        if (rc != CLIENT_EXIT_OK)
            return rc;
        main_print(o, a.json, view_command);
    } else if (is_watch) {
        return main_watch(c, o);
    } else {
        fprintf(stderr, "orchctl: unknown command \"%.40s\" (see orchctl --help)\n", cmd);
        return CLIENT_EXIT_USAGE;
    }
    client_answer_free(&a);
    return CLIENT_EXIT_OK;
}

int main(int argc, char **argv)
{
    struct main_opts o;
    int first = main_args(argc, argv, &o);
    if (first < 0)
        return CLIENT_EXIT_USAGE;

    char defpath[4096];
    const char *path = o.config;
    if (!path) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && *xdg == '/')
            snprintf(defpath, sizeof defpath, "%s/orchctl", xdg);
        else
            snprintf(defpath, sizeof defpath, "%s/.config/orchctl", home && *home ? home : "/nonexistent");
        path = defpath;
    }
    struct cfg cfg;
    char err[512];
    int rc = CLIENT_EXIT_USAGE;
    if (main_read_config(path, o.config_given) < 0) {
        free(main_file_buf);
        return CLIENT_EXIT_USAGE;
    }
    main_url_flag = o.url;
    if (cfg_load_from_prog(&cfg, CFG_PROG_CTL, main_get, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "orchctl: configuration: %s\n", err);
        free(main_file_buf);
        return CLIENT_EXIT_USAGE;
    }
    if (http_global_init() < 0) {
        fprintf(stderr, "orchctl: libcurl initialisation failed\n");
        goto out;
    }
    struct client c = { cfg.url, cfg.api_token, o.timeout_s * 1000 };
    signal(SIGPIPE, SIG_IGN);
    rc = main_run(&c, &o, argc - first, argv + first);
    http_global_cleanup();
out:
    cfg_free(&cfg);
    free(main_file_buf);
    return rc;
}
