/* harness.h: what the unit tests of the worker's HTTP clients share
 * (alert_rig.h, track_rig.h, llm_rig.h): a monotonic clock in ms, a
 * listening loopback socket for a scripted server, the capture of stderr
 * (a secret must never reach a log line), a per-test teardown that puts
 * stderr back and stops a stand-in left running, and the project's
 * stand-in (tests/standin/standin.py) started from a test.
 *
 * Before including it, a test that captures defines CAP_PREFIX (the temp
 * file's name, "/tmp/test_x_log"), CAP_SECRET and CAP_SECRET_PART (the
 * secret and a part of it that must not be logged) and CAP_SECRET_WHAT
 * (its name in the failure message).  Needs cmocka.h included first. */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR ".."
#endif

static inline long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The main() of a test program of an HTTP client: libcurl set up, logs as
 * prog at level (on stderr), the group of tests run, libcurl cleaned up.
 * Returns the exit status. */
static inline int harness_main(const char *prog, int level, const struct CMUnitTest *tests, size_t n)
{
    if (http_global_init() != 0)
        return 1;
    log_init(prog, level);
    int rc = _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
    http_global_cleanup();
    return rc;
}

/* A TCP socket listening on 127.0.0.1 with a backlog of backlog, on a free
 * port (*port); fails the test when it cannot. */
static inline int harness_listen(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port = ntohs(a.sin_port);
    assert_int_equal(listen(fd, backlog), 0);
    return fd;
}

/* Listen (harness_listen) and run fn(arg) in *thread, accepting on *fd. */
static inline void harness_serve(int backlog, int *fd, int *port, pthread_t *thread, void *(*fn)(void *), void *arg)
{
    *fd = harness_listen(backlog, port);
    pthread_create(thread, NULL, fn, arg);
}

/* Stop what harness_serve started: its socket shut and closed (accept
 * fails, the thread returns), its thread joined. */
static inline void harness_unserve(int fd, pthread_t thread)
{
    shutdown(fd, SHUT_RDWR);
    close(fd);
    pthread_join(thread, NULL);
}

/* Read one HTTP request from c into buf (cap bytes, NUL-terminated): its
 * head and, when it says Content-Length, its body.  Returns its length. */
static inline size_t harness_read_request(int c, char *buf, size_t cap)
{
    size_t n = 0, need = 0;
    ssize_t k;
    while (n < cap - 1 && (k = read(c, buf + n, cap - 1 - n)) > 0) {
        n += (size_t)k;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            char *cl = strcasestr(buf, "Content-Length:");
            need = (size_t)(end + 4 - buf) + (cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0);
            if (n >= need)
                break;
        }
    }
    buf[n] = '\0';
    return n;
}

/* Answer on c with status and body (JSON), headers the extra header lines
 * (each ending in \r\n; NULL: none), and close c. */
static inline void harness_answer(int c, int status, const char *headers, const char *body)
{
    char head[2048];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                      status, strlen(body), headers ? headers : "");
    ssize_t w = send(c, head, (size_t)hl, MSG_NOSIGNAL);
    w = send(c, body, strlen(body), MSG_NOSIGNAL);
    (void)w;
    close(c);
}

/* ---- stderr capture: every log line of a test goes to a temp file ------- */

#ifdef CAP_PREFIX
static int cap_saved __attribute__((unused)) = -1;
static char cap_path[64] __attribute__((unused));

static inline void cap_start(void)
{
    snprintf(cap_path, sizeof cap_path, "%s.XXXXXX", CAP_PREFIX);
    int fd = mkstemp(cap_path);
    assert_true(fd >= 0);
    fflush(stderr);
    cap_saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Restore stderr; returns what was logged (caller frees).  The secret must
 * not be in it, whatever the test. */
static inline char *cap_stop(void)
{
    fflush(stderr);
    dup2(cap_saved, STDERR_FILENO);
    close(cap_saved);
    cap_saved = -1;
    FILE *f = fopen(cap_path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(cap_path);
    if (strstr(buf, CAP_SECRET) || strstr(buf, CAP_SECRET_PART))
        fail_msg("%s reached the log:\n%s", CAP_SECRET_WHAT, buf);
    return buf;
}

/* Per-test teardown: after a failure inside a capture, put stderr back and
 * show what was captured (cmocka's message is in it); stop a stand-in left
 * running. */
static pid_t standin_pid __attribute__((unused)) = -1;

static inline int cap_teardown(void **state)
{
    (void)state;
    if (cap_saved >= 0) {
        dup2(cap_saved, STDERR_FILENO);
        close(cap_saved);
        cap_saved = -1;
        FILE *f = fopen(cap_path, "r");
        if (f) {
            char line[4096];
            while (fgets(line, sizeof line, f))
                fputs(line, stderr);
            fclose(f);
        }
        unlink(cap_path);
    }
    if (standin_pid > 0) {
        kill(standin_pid, SIGTERM);
        waitpid(standin_pid, NULL, 0);
        standin_pid = -1;
    }
    return 0;
}

/* ---- the project's stand-in ---------------------------------------------- */

struct standin {
    pid_t pid;
    int port;
    char base[64];
};

/* Start tests/standin/standin.py on a free port (s->base its URL); the
 * test fails when it does not start.  cap_teardown stops it after a
 * failure. */
static inline void standin_start(struct standin *s)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execlp("python3", "python3", TOP_SRCDIR "/tests/standin/standin.py", "--port", "0", "--quiet",
               (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[256];
    size_t n = 0;
    struct pollfd pf = { .fd = p[0], .events = POLLIN };
    while (n < sizeof line - 1 && poll(&pf, 1, 15000) > 0) {
        ssize_t k = read(p[0], line + n, 1);
        if (k <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(p[0]);
    if (sscanf(line, "standin listening on 127.0.0.1:%d", &s->port) != 1)
        fail_msg("the stand-in did not start (python3 %s): \"%s\"", TOP_SRCDIR "/tests/standin/standin.py", line);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    standin_pid = s->pid;
}

static inline void standin_stop(struct standin *s)
{
    kill(s->pid, SIGTERM);
    int st;
    waitpid(s->pid, &st, 0);
    standin_pid = -1;
}

/* A request to the stand-in's control API; returns the answer's body (caller frees). */
static inline char *standin_call(struct standin *s, const char *method, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    struct http_req req = { .method = method, .url = url, .body = body, .timeout_ms = 5000 };
    struct http_resp r;
    assert_int_equal(http_perform(&req, &r), HTTP_OK);
    if (r.status != 200)
        fail_msg("%s %s -> %ld: %s", method, path, r.status, r.body);
    char *out = strdup(r.body);
    http_resp_free(&r);
    return out;
}
#endif

#endif
