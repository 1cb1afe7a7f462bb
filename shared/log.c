/* log: JSON-lines logging; see log.h. */
#include "config.h"
#include "log.h"
#include "utf8.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "orchestrator";
static enum log_level log_min = LOG_INFO;
static const char *const log_names[] = { "debug", "info", "warn", "error" };
static char log_cycle[64];
static int log_fd = STDERR_FILENO;     /* where the lines go */
static char log_path[4097];            /* LOG_FILE, "" for stderr */

/* Open path for appending.  Returns the descriptor or -1 (errno set). */
static int log_open(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int log_set_file(const char *path)
{
    if (!path || !*path)
        return 0;
    if (strlen(path) >= sizeof log_path) {
        fprintf(stderr, "%s: LOG_FILE: path longer than %zu bytes\n", log_prog, sizeof log_path - 1);
        return -1;
    }
    int fd = log_open(path);
    if (fd < 0) {
        fprintf(stderr, "%s: LOG_FILE: cannot open %s: %s\n", log_prog, path, strerror(errno));
        return -1;
    }
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    memcpy(log_path, path, strlen(path) + 1);
    return 0;
}

int log_reopen(void)
{
    if (!log_path[0])
        return 0;
    int saved = errno;
    int fd = log_open(log_path);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    if (fd != log_fd) {
        dup2(fd, log_fd);           /* atomic: a write goes to the old or the new file */
        close(fd);
    }
    errno = saved;
    return 0;
}

void log_set_cycle(const char *cycle_id)
{
    snprintf(log_cycle, sizeof log_cycle, "%s", cycle_id ? cycle_id : "");
}

void log_init(const char *prog, enum log_level level)
{
    log_prog = prog;
    log_min = level;
}

enum log_level log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcasecmp(name, log_names[i]) == 0)
            return (enum log_level)i;
    if (name && strcasecmp(name, "warning") == 0)
        return LOG_WARN;
    return LOG_INFO;
}

int log_enabled(enum log_level level) { return level >= log_min; }

size_t log_json_escape(char *out, size_t len, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (cap == 0)
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[7];
        size_t n;
        unsigned cp;
        int seq;
        if (ch >= 0x80) {
            /* text from outside: a whole UTF-8 character or '?', so that
             * every log line stays valid UTF-8 (and is never cut inside one) */
            seq = utf8_decode(s, &cp);
            if (seq == 0) {
                esc[0] = '?';
                n = 1;
            } else {
                if (len + (size_t)seq >= cap)
                    break;
                memcpy(out + len, s, (size_t)seq);
                len += (size_t)seq;
                s += seq - 1;
                continue;
            }
        } else if (ch == '"' || ch == '\\') {
            esc[0] = '\\'; esc[1] = (char)ch; n = 2;
        } else if (ch == '\n') {
            esc[0] = '\\'; esc[1] = 'n'; n = 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[ch >> 4]; esc[5] = hex[ch & 15]; n = 6;
        } else {
            esc[0] = (char)ch; n = 1;
        }
        if (len + n >= cap)
            break;
        memcpy(out + len, esc, n);
        len += n;
    }
    out[len < cap ? len : cap - 1] = '\0';
    return len;
}

/* The members every line starts with (ts, level, prog, event, and the
 * current cycle's id unless spec names its own) into buf (cap bytes).
 * Returns the length written. */
static size_t log_head(char *buf, size_t cap, enum log_level level, const char *event, const char *spec)
{
    char ts[TU_ISO_LEN];
    int n = snprintf(buf, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"prog\":\"",
                     tu_iso8601_ms(tu_now_ms(), ts), log_names[level]);
    size_t len = (size_t)n;
    len = log_json_escape(buf, len, cap, log_prog);
    len += (size_t)snprintf(buf + len, cap - len, "\",\"event\":\"");
    len = log_json_escape(buf, len, cap, event);
    if (len < cap - 1)
        buf[len++] = '"';
    if (log_cycle[0] && !(spec && strstr(spec, "s:cycle_id"))) {
        len += (size_t)snprintf(buf + len, cap - len, ",\"cycle_id\":\"");
        len = log_json_escape(buf, len, cap - 1, log_cycle);
        if (len < cap - 1)
            buf[len++] = '"';
    }
    return len;
}

void log_event(enum log_level level, const char *event, const char *spec, ...)
{
    if (level < log_min)
        return;
    char buf[4096];
    size_t cap = sizeof buf - 2, len = log_head(buf, cap, level, event, spec);
    int n;
    va_list ap;
    va_start(ap, spec);
    const char *p = spec ? spec : "";
    while (*p && len < cap - 8) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char type = *p;
        if (p[1] != ':')
            break;
        p += 2;
        const char *name = p;
        while (*p && *p != ' ')
            p++;
        size_t nlen = (size_t)(p - name);
        n = snprintf(buf + len, cap - len, ",\"%.*s\":", (int)nlen, name);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
        switch (type) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) {
                n = snprintf(buf + len, cap - len, "null");
            } else {
                buf[len++] = '"';
                len = log_json_escape(buf, len, cap - 1, s);
                n = snprintf(buf + len, cap - len, "\"");
            }
            break;
        }
        case 'i':
            n = snprintf(buf + len, cap - len, "%lld", va_arg(ap, long long));
            break;
        case 'd': {
            double d = va_arg(ap, double);
            n = (d == d && d - d == 0) ? snprintf(buf + len, cap - len, "%.6g", d)
                                       : snprintf(buf + len, cap - len, "null");
            break;
        }
        case 'b':
            n = snprintf(buf + len, cap - len, "%s", va_arg(ap, int) ? "true" : "false");
            break;
        default:
            n = snprintf(buf + len, cap - len, "null");
            break;
        }
        if (n < 0 || (size_t)n >= cap - len) {
            len = cap - 1;
            break;
        }
        len += (size_t)n;
    }
    va_end(ap);
    if (len > cap - 1)
        len = cap - 1;
    buf[len++] = '}';
    buf[len++] = '\n';
    ssize_t w = write(log_fd, buf, len);
    (void)w;
}
