/* orch-api: the REST API as a pre-forking FastCGI server.
 *
 *   orch-api --socket PATH [--processes N] [--socket-mode OCTAL] [--socket-group NAME]
 *   orch-api --fill-bench N   (scripts/bench.sh: time N builds of each cached answer, print, exit)
 *
 * The parent reads the configuration, opens the Unix socket itself (nginx
 * connects to it), forks N children that each accept requests with their
 * own database connection and cache, restarts children that die, and on
 * SIGTERM or SIGINT stops them, removes the socket and exits 0.  SIGHUP
 * reopens LOG_FILE (logrotate): the parent reopens its own and forwards the
 * signal to every child, which reopens between two requests.
 *
 * A child serves every connection it accepted, not one at a time: nginx
 * keeps its FastCGI connections open (fastcgi_keep_conn on, upstream
 * keepalive), and a child polls all of its connections and the listening
 * socket (non-blocking, shared by the children) and answers whichever has
 * a request.  So no connection nginx keeps idle pins a child, and a
 * request costs no connect, accept and close. */
#include "config.h"
#include "api.h"
#include "cfg.h"
#include "log.h"
#include "route.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAIN_MAX_PROCESSES 64
#define MAIN_MAX_CONNS 256         /* connections one child holds open at once */
#define MAIN_POLL_MS 500           /* a child looks at its stop flag at least this often */
#define MAIN_BACKLOG 1024
#define MAIN_STOP_GRACE_SECONDS 5
#define MAIN_VERSION PACKAGE_VERSION

struct main_opts {
    const char *socket;
    long processes;
    long mode;
    const char *group;
    long fill_bench;           /* > 0: --fill-bench N */
};

struct main_child {
    pid_t pid;                 /* 0: not running */
    time_t started;
    time_t respawn_at;         /* when pid is 0: start again at this time */
};

/* ---- the child ------------------------------------------------------------ */

static volatile sig_atomic_t child_stop;
static volatile sig_atomic_t child_reopen;

/* SIGHUP in a child: reopen the log file before the next poll. */
static void child_on_hup(int sig)
{
    (void)sig;
    child_reopen = 1;
}

/* SIGTERM/SIGINT in a child: finish the current request, then exit. */
static void child_on_term(int sig)
{
    (void)sig;
    child_stop = 1;
}

/* Answer the request waiting on slot q (a connection nginx kept open, or
 * a new one from the listening socket).  Returns 0, 1 when there was none
 * (the connection ended, or another child took the new one), or -1 on an
 * error that should stop the child. */
static int child_serve(struct api_ctx *ctx, FCGX_Request *q, unsigned long long *seq)
{
    int a = FCGX_Accept_r(q);
    if (a < 0) {
        if (a == -EAGAIN || a == -EWOULDBLOCK || a == -EINTR || a == -ECONNABORTED || child_stop)
            return 1;
        log_event(LOG_ERROR, "api.accept_failed", "i:error", (long long)a);
        return -1;
    }
    route_handle(ctx, q, ++*seq);
    FCGX_Finish_r(q);                       /* keeps the connection when nginx asked to */
    return 0;
}

/* A child's signals: SIGTERM and SIGINT stop it, SIGHUP reopens the log,
 * none restarts poll(); the parent's death stops it.  Returns 0, or -1
 * when the parent is gone already. */
static int child_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = child_on_term;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                        /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = child_on_hup;           /* no SA_RESTART either: poll() returns EINTR */
    sigaction(SIGHUP, &sa, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);       /* the parent died: stop too */
    if (getppid() == 1)
        return -1;
#endif
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    return 0;
}

/* What a child polls: the open connections of slot[], then the listening
 * socket when a slot is free (*free_slot, else -1); who[k] is the slot of
 * pfd[k], -1 for the listening socket.  Returns the number of entries. */
static int child_pollset(const FCGX_Request *slot, int listen_fd, struct pollfd *pfd, int *who, int *free_slot)
{
    int n = 0;
    *free_slot = -1;
    for (int i = 0; i < MAIN_MAX_CONNS; i++) {
        if (slot[i].ipcFd >= 0) {
            pfd[n] = (struct pollfd){ .fd = slot[i].ipcFd, .events = POLLIN };
            who[n++] = i;
        } else if (*free_slot < 0) {
            *free_slot = i;
        }
    }
    if (*free_slot >= 0) {
        pfd[n] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
        who[n++] = -1;
    }
    return n;
}

/* The newest carried-out control command any child has read (api_new):
 * one long long that the parent maps shared before it forks the children,
 * NULL when that failed (each child then keeps its own). */
static long long *main_applied;

/* The request loop of one child.  Returns the process exit code. */
static int child_main(int listen_fd, const struct cfg *c)
{
    if (child_signals() < 0)
        return 0;
    struct api_ctx *ctx = api_new(c, main_applied);
    FCGX_Request *slot = calloc(MAIN_MAX_CONNS, sizeof *slot);
    struct pollfd *pfd = calloc(MAIN_MAX_CONNS + 1, sizeof *pfd);
    int *who = calloc(MAIN_MAX_CONNS + 1, sizeof *who);
    if (!ctx || !slot || !pfd || !who) {
        log_event(LOG_ERROR, "api.child_failed", "s:error", "out of memory");
        api_free(ctx);
        free(slot);
        free(pfd);
        free(who);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < MAIN_MAX_CONNS && rc == 0; i++)
        if (FCGX_InitRequest(&slot[i], listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
            rc = 1;
    log_event(LOG_DEBUG, "api.child_start", "i:pid", (long long)getpid());
    unsigned long long seq = 0;
    while (!child_stop && rc == 0) {
        if (child_reopen) {
            child_reopen = 0;
            if (log_reopen() < 0)
                log_event(LOG_ERROR, "log.reopen_failed", "s:error", strerror(errno));
        }
        int free_slot;
        int n = child_pollset(slot, listen_fd, pfd, who, &free_slot);
        int ready = poll(pfd, (nfds_t)n, MAIN_POLL_MS);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            log_event(LOG_ERROR, "api.poll_failed", "s:error", strerror(errno));
            rc = 1;
            break;
        }
        for (int k = 0; k < n && ready > 0 && !child_stop; k++) {
            if (!pfd[k].revents)
                continue;
            ready--;
            FCGX_Request *q = who[k] >= 0 ? &slot[who[k]] : &slot[free_slot];
            if (who[k] < 0 && q->ipcFd >= 0)   /* the free slot was taken meanwhile */
                continue;
            if (child_serve(ctx, q, &seq) < 0)
                rc = 1;
        }
    }
    for (int i = 0; i < MAIN_MAX_CONNS; i++)
        FCGX_Free(&slot[i], 1);
    free(slot);
    free(pfd);
    free(who);
    api_free(ctx);
    return rc;
}

/* ---- the parent ----------------------------------------------------------- */

static void main_usage(FILE *f)
{
    fprintf(f, "usage: orch-api --socket PATH [--processes N (default 2)] "
               "[--socket-mode OCTAL (default 0660)] [--socket-group NAME]\n");
}

/* Parse the command line.  Returns 0 or -1 after printing why. */
static int main_args(int argc, char **argv, struct main_opts *o)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "processes", required_argument, NULL, 'p' },
        { "socket-mode", required_argument, NULL, 'm' },
        { "socket-group", required_argument, NULL, 'g' },
        { "fill-bench", required_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    o->socket = NULL;
    o->processes = 2;
    o->mode = 0660;
    o->group = NULL;
    o->fill_bench = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 's':
            o->socket = optarg;
            break;
        case 'p':
            errno = 0;
            o->processes = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || o->processes < 1 || o->processes > MAIN_MAX_PROCESSES) {
                fprintf(stderr, "orch-api: --processes: expected an integer from 1 to %d, got \"%s\"\n",
                        MAIN_MAX_PROCESSES, optarg);
                return -1;
            }
            break;
        case 'm':
            errno = 0;
            o->mode = strtol(optarg, &end, 8);
            if (errno || end == optarg || *end || o->mode < 0 || o->mode > 0777) {
                fprintf(stderr, "orch-api: --socket-mode: expected octal permissions such as 0660, got \"%s\"\n",
                        optarg);
                return -1;
            }
            break;
        case 'g':
            o->group = optarg;
            break;
        case 'b':
            errno = 0;
            o->fill_bench = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || o->fill_bench < 1 || o->fill_bench > 100000) {
                fprintf(stderr, "orch-api: --fill-bench: expected an integer from 1 to 100000, got \"%s\"\n", optarg);
                return -1;
            }
            break;
        case 'h':
            main_usage(stdout);
            exit(0);
        default:
            main_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "orch-api: unexpected argument \"%s\"\n", argv[optind]);
        main_usage(stderr);
        return -1;
    }
    if (o->fill_bench)
        return 0;
    if (!o->socket || !*o->socket) {
        fprintf(stderr, "orch-api: --socket PATH is required\n");
        main_usage(stderr);
        return -1;
    }
    struct sockaddr_un sun;
    if (strlen(o->socket) >= sizeof sun.sun_path || strchr(o->socket, ':')) {
        fprintf(stderr, "orch-api: --socket: a Unix socket path shorter than %zu bytes, without ':'\n",
                sizeof sun.sun_path);
        return -1;
    }
    return 0;
}

/* Remove a stale socket file at path; refuse when something else is there
 * or a server still answers on it.  Returns 0 or -1 after printing why. */
static int main_clear_socket(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) < 0)
        return errno == ENOENT ? 0 : (fprintf(stderr, "orch-api: %s: %s\n", path, strerror(errno)), -1);
    if (!S_ISSOCK(sb.st_mode)) {
        fprintf(stderr, "orch-api: %s exists and is not a socket\n", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0) {
        struct sockaddr_un sun;
        memset(&sun, 0, sizeof sun);
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
        int live = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
        close(fd);
        if (live) {
            fprintf(stderr, "orch-api: another server is listening on %s\n", path);
            return -1;
        }
    }
    if (unlink(path) < 0) {
        fprintf(stderr, "orch-api: cannot remove stale socket %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Open the listening socket with its permissions.  Returns the descriptor
 * and the socket file's inode in *ino, or -1 after printing why. */
static int main_open_socket(const struct main_opts *o, ino_t *ino)
{
    gid_t gid = (gid_t)-1;
    if (o->group) {
        struct group *g = getgrnam(o->group);
        char *end;
        errno = 0;
        long n = strtol(o->group, &end, 10);
        if (g)
            gid = g->gr_gid;
        else if (!errno && end != o->group && !*end && n >= 0)
            gid = (gid_t)n;
        else {
            fprintf(stderr, "orch-api: --socket-group: no group \"%s\"\n", o->group);
            return -1;
        }
    }
    if (main_clear_socket(o->socket) < 0)
        return -1;
    mode_t old = umask(0177);               /* no one else connects before chmod */
    int fd = FCGX_OpenSocket(o->socket, MAIN_BACKLOG);
    umask(old);
    if (fd < 0) {
        fprintf(stderr, "orch-api: cannot listen on %s: %s\n", o->socket, strerror(errno));
        return -1;
    }
    /* non-blocking: children poll it and may lose a connection to another */
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        fprintf(stderr, "orch-api: %s: %s\n", o->socket, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (o->group && chown(o->socket, (uid_t)-1, gid) < 0) {
        fprintf(stderr, "orch-api: chgrp %s %s: %s\n", o->group, o->socket, strerror(errno));
        goto fail;
    }
    if (chmod(o->socket, (mode_t)o->mode) < 0) {
        fprintf(stderr, "orch-api: chmod %lo %s: %s\n", (unsigned long)o->mode, o->socket, strerror(errno));
        goto fail;
    }
    if (lstat(o->socket, &sb) < 0) {
        fprintf(stderr, "orch-api: %s: %s\n", o->socket, strerror(errno));
        goto fail;
    }
    *ino = sb.st_ino;
    return fd;
fail:
    close(fd);
    unlink(o->socket);
    return -1;
}

/* Start child slot i.  Returns 0 or -1 (fork failed, logged). */
static int main_spawn(struct main_child *ch, int listen_fd, const struct cfg *c)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_event(LOG_ERROR, "api.fork_failed", "s:error", strerror(errno));
        return -1;
    }
    if (pid == 0)
        exit(child_main(listen_fd, c));   /* exit, not _exit: leak checkers see the child too */
    ch->pid = pid;
    ch->started = time(NULL);
    ch->respawn_at = 0;
    return 0;
}

/* Reap exited children; schedule their restart (at once, or after a second
 * when they lived less than one: a crash loop must not spin). */
static void main_reap(struct main_child *kids, long n, int stopping)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (long i = 0; i < n; i++) {
            if (kids[i].pid != pid)
                continue;
            kids[i].pid = 0;
            time_t now = time(NULL);
            kids[i].respawn_at = now - kids[i].started < 1 ? now + 1 : now;
            if (!stopping) {
                if (WIFSIGNALED(status))
                    log_event(LOG_WARN, "api.child_died", "i:pid i:signal", (long long)pid,
                              (long long)WTERMSIG(status));
                else
                    log_event(LOG_WARN, "api.child_exited", "i:pid i:code", (long long)pid,
                              (long long)WEXITSTATUS(status));
            }
        }
    }
}

/* Stop every child: SIGTERM, then SIGKILL after the grace period. */
static void main_stop_children(struct main_child *kids, long n, const sigset_t *set)
{
    for (long i = 0; i < n; i++)
        if (kids[i].pid > 0)
            kill(kids[i].pid, SIGTERM);
    time_t deadline = time(NULL) + MAIN_STOP_GRACE_SECONDS;
    for (;;) {
        main_reap(kids, n, 1);
        int left = 0;
        for (long i = 0; i < n; i++)
            left += kids[i].pid > 0;
        if (!left)
            return;
        time_t now = time(NULL);
        if (now >= deadline)
            break;
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        sigtimedwait(set, NULL, &ts);
    }
    for (long i = 0; i < n; i++)
        if (kids[i].pid > 0) {
            log_event(LOG_WARN, "api.child_killed", "i:pid", (long long)kids[i].pid);
            kill(kids[i].pid, SIGKILL);
            waitpid(kids[i].pid, NULL, 0);
            kids[i].pid = 0;
        }
}

/* The parent's life: start o->processes children on the listening socket
 * fd, start them again when they die, pass SIGHUP on (after reopening the
 * log); on SIGTERM or SIGINT (blocked in set, taken with sigtimedwait())
 * stop them and return. */
static void main_supervise(const struct main_opts *o, int fd, const struct cfg *c, sigset_t *set)
{
    struct main_child kids[MAIN_MAX_PROCESSES];
    memset(kids, 0, sizeof kids);
    for (long i = 0; i < o->processes; i++)
        if (main_spawn(&kids[i], fd, c) < 0)
            kids[i].respawn_at = time(NULL) + 1;

    int sig = 0;
    for (;;) {
        time_t now = time(NULL), next = 0;
        for (long i = 0; i < o->processes; i++) {
            if (kids[i].pid > 0)
                continue;
            if (kids[i].respawn_at <= now) {
                if (main_spawn(&kids[i], fd, c) < 0)
                    kids[i].respawn_at = now + 1;
                else
                    log_event(LOG_INFO, "api.child_restarted", "i:pid", (long long)kids[i].pid);
            }
            if (kids[i].pid == 0 && (!next || kids[i].respawn_at < next))
                next = kids[i].respawn_at;
        }
        struct timespec ts = { next ? (next > now ? next - now : 0) : 60, 0 };
        siginfo_t info;
        sig = sigtimedwait(set, &info, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP) {
            if (log_reopen() < 0)
                log_event(LOG_ERROR, "log.reopen_failed", "s:error", strerror(errno));
            else
                log_event(LOG_INFO, "log.reopened", "s:file", c->log_file);
            for (long i = 0; i < o->processes; i++)
                if (kids[i].pid > 0)
                    kill(kids[i].pid, SIGHUP);
        }
        if (sig == SIGCHLD || sig < 0)
            main_reap(kids, o->processes, 0);
    }
    log_event(LOG_INFO, "api.stopping", "s:signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    main_stop_children(kids, o->processes, set);
}

int main(int argc, char **argv)
{
    struct main_opts o;
    struct cfg c;
    char err[512];

    if (main_args(argc, argv, &o) < 0)
        return 1;
    /* the API's settings only: no worker secret is read, and a bad
     * worker-only value does not stop the API */
    if (cfg_load_prog(&c, CFG_PROG_API, err, sizeof err) < 0) {
        fprintf(stderr, "orch-api: configuration: %s\n", err);
        return 1;
    }
    log_init("api", log_level_parse(c.log_level));
    if (log_set_file(c.log_file) < 0) {
        cfg_free(&c);
        return 1;
    }
    /* a database that does not answer must not hang a request for long;
     * a connect_timeout in API_DATABASE_URL still wins */
    setenv("PGCONNECT_TIMEOUT", "3", 0);
    signal(SIGPIPE, SIG_IGN);
    if (o.fill_bench) {
        struct api_ctx *ctx = api_new(&c, NULL);
        int rc = ctx ? api_fill_bench(ctx, (int)o.fill_bench, stdout) : -1;
        api_free(ctx);
        cfg_free(&c);
        return rc < 0 ? 1 : 0;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "orch-api: FCGX_Init failed\n");
        cfg_free(&c);
        return 1;
    }
    void *shm = mmap(NULL, sizeof *main_applied, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED)
        log_event(LOG_WARN, "api.shared_failed", "s:error", strerror(errno));
    else
        main_applied = shm;                 /* zeroed by the kernel */
    ino_t ino = 0;
    int fd = main_open_socket(&o, &ino);
    if (fd < 0) {
        cfg_free(&c);
        return 1;
    }

    /* The parent only waits for signals: block them and take them with
     * sigtimedwait(), so none is lost between two checks. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);

    log_event(LOG_INFO, "api.start", "s:version s:socket i:processes s:socket_group i:pid",
              MAIN_VERSION, o.socket, (long long)o.processes, o.group, (long long)getpid());
    if (!c.api_token[0])
        log_event(LOG_WARN, "api.control_disabled", "s:reason",
                  "ORCHESTRATOR_API_TOKEN is empty: control endpoints disabled");

    main_supervise(&o, fd, &c, &set);
    close(fd);
    struct stat sb;
    if (lstat(o.socket, &sb) == 0 && sb.st_ino == ino)
        unlink(o.socket);
    log_event(LOG_INFO, "api.stop", "i:pid", (long long)getpid());
    cfg_free(&c);
    return 0;
}
