/* hello: the bare libfcgi program that scripts/bench.sh measures the API
 * against.  It answers every request with a small JSON body and touches
 * nothing else: no database, no parsing beyond what libfcgi does.
 *
 * Usage: hello --socket PATH [--processes N] [--socket-mode 0660] [--socket-group G]
 * Build: cc -O2 -o hello bench/hello.c -lfcgi
 * SIGTERM or SIGINT to the parent stops it and its children. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELLO_MAX_PROCESSES 64

static volatile sig_atomic_t hello_stop;

static void hello_on_signal(int sig)
{
    (void)sig;
    hello_stop = 1;
}

/* Parse a decimal or octal (leading 0) number into *out within [min, max].
 * Returns 0, or -1 when s is not such a number. */
#define HELLO_MAX_PAD (1024 * 1024)

static int hello_parse_long(const char *s, int base, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, base);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Serve requests on listen_fd until stopped.  Returns the exit status. */
static int hello_serve(int listen_fd)
{
    FCGX_Request req;
    unsigned long served = 0;

    if (FCGX_InitRequest(&req, listen_fd, 0) != 0) {
        fprintf(stderr, "hello: FCGX_InitRequest failed\n");
        return 1;
    }
    static char pad[HELLO_MAX_PAD];
    memset(pad, ' ', sizeof pad);
    while (!hello_stop && FCGX_Accept_r(&req) >= 0) {
        char body[128];
        int n = snprintf(body, sizeof body,
                         "{\"status\":\"ok\",\"service\":\"hello\",\"pid\":%ld,\"served\":%lu}\n",
                         (long)getpid(), ++served);
        if (n < 0 || (size_t)n >= sizeof body)
            n = 0;
        /* ?bytes=N pads the answer to N bytes: the same-size baseline for a large page */
        long want = 0;
        const char *qs = FCGX_GetParam("QUERY_STRING", req.envp);
        if (qs && strncmp(qs, "bytes=", 6) == 0 && hello_parse_long(qs + 6, 10, 0, HELLO_MAX_PAD, &want) < 0)
            want = 0;
        long extra = want > n ? want - n : 0;
        FCGX_FPrintF(req.out,
                     "Status: 200 OK\r\n"
                     "Content-Type: application/json\r\n"
                     "Cache-Control: no-store\r\n"
                     "Content-Length: %ld\r\n\r\n", (long)n + extra);
        FCGX_PutStr(body, n, req.out);
        if (extra)
            FCGX_PutStr(pad, (int)extra, req.out);
        FCGX_Finish_r(&req);
    }
    FCGX_Free(&req, 1);
    return 0;
}

int main(int argc, char **argv)
{
    const char *sock = NULL, *group = NULL;
    long processes = 2, mode = 0660;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            sock = argv[++i];
        } else if (!strcmp(argv[i], "--processes") && i + 1 < argc) {
            if (hello_parse_long(argv[++i], 10, 1, HELLO_MAX_PROCESSES, &processes) < 0) {
                fprintf(stderr, "hello: --processes takes 1 to %d\n", HELLO_MAX_PROCESSES);
                return 2;
            }
        } else if (!strcmp(argv[i], "--socket-mode") && i + 1 < argc) {
            if (hello_parse_long(argv[++i], 8, 0, 0777, &mode) < 0) {
                fprintf(stderr, "hello: --socket-mode takes an octal mode such as 0660\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--socket-group") && i + 1 < argc) {
            group = argv[++i];
        } else {
            fprintf(stderr, "usage: hello --socket PATH [--processes N] [--socket-mode 0660] [--socket-group G]\n");
            return 2;
        }
    }
    if (!sock) {
        fprintf(stderr, "usage: hello --socket PATH [--processes N] [--socket-mode 0660] [--socket-group G]\n");
        return 2;
    }
    gid_t gid = (gid_t)-1;
    if (group) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            fprintf(stderr, "hello: no group %s\n", group);
            return 2;
        }
        gid = gr->gr_gid;
    }

    if (FCGX_Init() != 0) {
        fprintf(stderr, "hello: FCGX_Init failed\n");
        return 1;
    }
    unlink(sock);
    int fd = FCGX_OpenSocket(sock, 128);
    if (fd < 0) {
        fprintf(stderr, "hello: cannot listen on %s\n", sock);
        return 1;
    }
    if (gid != (gid_t)-1 && chown(sock, (uid_t)-1, gid) != 0) {
        fprintf(stderr, "hello: chown %s: %s\n", sock, strerror(errno));
        return 1;
    }
    if (chmod(sock, (mode_t)mode) != 0) {
        fprintf(stderr, "hello: chmod %s: %s\n", sock, strerror(errno));
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hello_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    pid_t kids[HELLO_MAX_PROCESSES];
    long started = 0;
    for (; started < processes; started++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "hello: fork: %s\n", strerror(errno));
            break;
        }
        if (pid == 0) {
            /* children die with the default action: a blocked accept() is
             * not interrupted by a handler that libfcgi restarts */
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            _exit(hello_serve(fd));
        }
        kids[started] = pid;
    }
    while (!hello_stop && started > 0) {
        if (wait(NULL) < 0 && errno == ECHILD)
            break;
    }
    for (long i = 0; i < started; i++)
        kill(kids[i], SIGTERM);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    unlink(sock);
    return 0;
}
