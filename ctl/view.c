/* view: orchctl's human output; see view.h. */
#include "config.h"
#include "view.h"
#include "utf8.h"

#include <math.h>
#include <string.h>

json_object *view_get(json_object *j, const char *path)
{
    char key[128];
    while (j && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key || !json_object_is_type(j, json_type_object))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        if (!json_object_object_get_ex(j, key, &j))
            return NULL;
        path += n + (dot ? 1 : 0);
    }
    return j;
}

/* The value at path as text: strings as they are, numbers and booleans
 * as JSON writes them, dflt for null or missing.  Borrowed. */
static const char *view_str(json_object *j, const char *path, const char *dflt)
{
    json_object *v = view_get(j, path);
    if (!v)
        return dflt;
    return json_object_get_string(v);
}

/* A code point that must not reach a terminal. */
static int view_unsafe(unsigned cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
           cp == 0x061c || cp == 0xfeff;
}

/* The number of characters of s (a byte that is not UTF-8 counts as one). */
static int view_width(const char *s)
{
    int cols = 0;
    while (*s) {
        unsigned cp;
        int n = utf8_decode(s, &cp);
        s += n > 0 ? n : 1;
        cols++;
    }
    return cols;
}

void view_text(FILE *f, const char *s, int width, int pad)
{
    if (!s)
        s = "-";
    int total = view_width(s), show = width > 0 && total > width ? width - 1 : total, cols = 0;
    for (; *s && cols < show; cols++) {
        unsigned cp = 0;
        int n = utf8_decode(s, &cp);
        if (n <= 0) {
            fputc('?', f);
            s++;
            continue;
        }
        if (view_unsafe(cp))
            fputc(cp == '\n' || cp == '\t' ? ' ' : '?', f);
        else
            fwrite(s, 1, (size_t)n, f);
        s += n;
    }
    if (show < total) {
        fputc('~', f);                  /* cut: one column says so */
        cols++;
    }
    for (; pad && cols < width; cols++)
        fputc(' ', f);
}

/* "2026-12-05T22:11:30.000Z" -> "2026-12-05 22:11:30" (UTC). */
static void view_time(FILE *f, const char *iso, int pad)
{
    char t[20];
    if (!iso || strlen(iso) < 19) {
        view_text(f, iso ? iso : "-", 19, pad);
        return;
    }
    memcpy(t, iso, 19);
    t[19] = '\0';
    t[10] = ' ';
    view_text(f, t, 19, pad);
}

/* label: value */
static void view_line(FILE *f, const char *label, const char *value)
{
    fprintf(f, "%-16s ", label);
    view_text(f, value, 0, 0);
    fputc('\n', f);
}

static void view_status_sources(FILE *f, json_object *status)
{
    json_object *src = view_get(status, "sources");
    if (!src || !json_object_is_type(src, json_type_object))
        return;
    fprintf(f, "\n%-12s %-6s %9s  %s\n", "SOURCE", "HEALTH", "LATENCY", "ERROR");
    json_object_object_foreach(src, name, s) {
        json_object *ok = view_get(s, "ok"), *conf = view_get(s, "configured"), *lat = view_get(s, "latency_ms");
        const char *health = conf && !json_object_get_boolean(conf) ? "off"
                             : !ok ? "-" : json_object_get_boolean(ok) ? "ok" : "DOWN";
        view_text(f, name, 12, 1);
        fprintf(f, " %-6s ", health);
        if (lat && !json_object_is_type(lat, json_type_null))
            fprintf(f, "%6.0f ms  ", json_object_get_double(lat));
        else
            fprintf(f, "%9s  ", "-");
        view_text(f, view_str(s, "error", ""), 60, 0);
        fputc('\n', f);
    }
}

void view_status(FILE *f, json_object *st)
{
    char buf[256];
    json_object *alive = view_get(st, "worker.alive");
    snprintf(buf, sizeof buf, "%s%s, worker %s (heartbeat %ss ago)",
             json_object_get_boolean(view_get(st, "running")) ? "running" : "STOPPED",
             json_object_get_boolean(view_get(st, "dry_run")) ? " (dry run)" : "",
             alive ? (json_object_get_boolean(alive) ? "alive" : "NOT ALIVE") : "unknown",
             view_str(st, "worker.heartbeat_age_seconds", "?"));
    view_line(f, "state", buf);
    snprintf(buf, sizeof buf, "%s / %s", view_str(st, "mode", "-"), view_str(st, "intensity", "-"));
    view_line(f, "mode", buf);
    json_object *ld = view_get(st, "last_decision");
    if (ld && json_object_is_type(ld, json_type_object)) {
        snprintf(buf, sizeof buf, "#%s %s by %s: %s", view_str(ld, "id", "?"), view_str(ld, "decided_at", "?"),
                 view_str(ld, "source", "?"), view_str(ld, "status", "?"));
        view_line(f, "last decision", buf);
        view_line(f, "reason", view_str(ld, "reason", "-"));
    } else {
        view_line(f, "last decision", "none yet");
    }
    snprintf(buf, sizeof buf, "%s (in %s s)", view_str(st, "next_decision_at", "-"),
             view_str(st, "next_decision_in_seconds", "?"));
    view_line(f, "next decision", buf);
    json_object *rate = view_get(st, "success_rate");
    if (rate && !json_object_is_type(rate, json_type_null))
        snprintf(buf, sizeof buf, "%.1f %% of %s decisions (%s in 24 h)", 100.0 * json_object_get_double(rate),
                 view_str(st, "counts.decisions", "?"), view_str(st, "counts.decisions_24h", "?"));
    else
        snprintf(buf, sizeof buf, "- (%s decisions)", view_str(st, "counts.decisions", "?"));
    view_line(f, "success", buf);
    snprintf(buf, sizeof buf, "%s, %s/%s calls this hour, %s/%s tokens today, fallback streak %s",
             json_object_get_boolean(view_get(st, "llm.configured")) ? "configured" : "not configured",
             view_str(st, "llm.calls_last_hour", "?"), view_str(st, "llm.max_calls_per_hour", "?"),
             view_str(st, "llm.tokens_today", "?"), view_str(st, "llm.max_tokens_per_day", "?"),
             view_str(st, "llm.fallback_streak", "?"));
    view_line(f, "llm", buf);
    json_object *open = view_get(st, "workflows.circuits_open"), *unav = view_get(st, "workflows.unavailable");
    snprintf(buf, sizeof buf, "%s running, %zu circuit(s) open, %zu unavailable",
             view_str(st, "workflows.running", "0"),
             open && json_object_is_type(open, json_type_array) ? json_object_array_length(open) : 0,
             unav && json_object_is_type(unav, json_type_array) ? json_object_array_length(unav) : 0);
    view_line(f, "workflows", buf);
    view_line(f, "control", json_object_get_boolean(view_get(st, "control_enabled")) ? "enabled" : "disabled");
    view_line(f, "server time", view_str(st, "server_time", "-"));
    view_status_sources(f, st);
}

void view_decisions(FILE *f, json_object *page)
{
    json_object *rows = view_get(page, "decisions");
    fprintf(f, "%-7s %-19s %-8s %-10s %-9s %-11s %4s  %s\n", "ID", "DECIDED (UTC)", "MODE", "INTENSITY", "SOURCE",
            "STATUS", "TRIG", "REASON");
    if (!rows || !json_object_is_type(rows, json_type_array))
        return;
    size_t n = json_object_array_length(rows);
    for (size_t i = 0; i < n; i++) {
        json_object *d = json_object_array_get_idx(rows, i), *t = view_get(d, "triggers");
        view_text(f, view_str(d, "id", "?"), 7, 1);
        fputc(' ', f);
        view_time(f, view_str(d, "decided_at", NULL), 1);
        fputc(' ', f);
        view_text(f, view_str(d, "mode", "-"), 8, 1);
        fputc(' ', f);
        view_text(f, view_str(d, "intensity", "-"), 10, 1);
        fputc(' ', f);
        view_text(f, view_str(d, "source", "-"), 9, 1);
        fputc(' ', f);
        view_text(f, view_str(d, "status", "-"), 11, 1);
        fprintf(f, " %4zu  ", t && json_object_is_type(t, json_type_array) ? json_object_array_length(t) : 0);
        view_text(f, view_str(d, "reason", ""), 70, 0);
        fputc('\n', f);
    }
    if (n == 0)
        fprintf(f, "(no decisions)\n");
}

static void view_triggers(FILE *f, json_object *d)
{
    json_object *t = view_get(d, "triggers");
    if (!t || !json_object_is_type(t, json_type_array) || json_object_array_length(t) == 0) {
        fprintf(f, "\n(no triggers)\n");
        return;
    }
    fprintf(f, "\n%-24s %-11s %5s %4s %-10s %5s  %s\n", "WORKFLOW", "STATUS", "HTTP", "TRY", "OUTCOME", "OPPS", "ERROR");
    for (size_t i = 0; i < json_object_array_length(t); i++) {
        json_object *g = json_object_array_get_idx(t, i);
        view_text(f, view_str(g, "workflow", "?"), 24, 1);
        fputc(' ', f);
        view_text(f, view_str(g, "status", "-"), 11, 1);
        fputc(' ', f);
        fprintf(f, "%5s %4s ", view_str(g, "http_status", "-"), view_str(g, "attempts", "-"));
        view_text(f, view_str(g, "outcome", "-"), 10, 1);
        fprintf(f, " %5s  ", view_str(g, "opportunities", "-"));
        view_text(f, view_str(g, "error", ""), 60, 0);
        fputc('\n', f);
    }
}

void view_decision(FILE *f, json_object *d)
{
    char buf[256];
    snprintf(buf, sizeof buf, "#%s (cycle %s)", view_str(d, "id", "?"), view_str(d, "cycle_id", "-"));
    view_line(f, "decision", buf);
    view_line(f, "decided at", view_str(d, "decided_at", "-"));
    snprintf(buf, sizeof buf, "%s / %s, by %s%s", view_str(d, "mode", "-"), view_str(d, "intensity", "-"),
             view_str(d, "source", "-"), json_object_get_boolean(view_get(d, "dry_run")) ? " (dry run)" : "");
    view_line(f, "mode", buf);
    view_line(f, "status", view_str(d, "status", "-"));
    view_line(f, "session", view_str(d, "session", "-"));
    view_line(f, "reason", view_str(d, "reason", "-"));
    snprintf(buf, sizeof buf, "%s (%s s)", view_str(d, "next_decision_at", "-"), view_str(d, "next_seconds", "?"));
    view_line(f, "next decision", buf);
    json_object *a = view_get(d, "audit");
    if (a) {
        snprintf(buf, sizeof buf, "%s%s%s", view_str(a, "llm_outcome", "-"), view_get(a, "llm_detail") ? ": " : "",
                 view_str(a, "llm_detail", ""));
        view_line(f, "llm", buf);
        if (view_get(a, "provider")) {
            snprintf(buf, sizeof buf, "%s %s, prompt %s, %s+%s tokens, %s ms", view_str(a, "provider", "-"),
                     view_str(a, "model", "-"), view_str(a, "prompt_version", "-"), view_str(a, "prompt_tokens", "?"),
                     view_str(a, "completion_tokens", "?"), view_str(a, "latency_ms", "?"));
            view_line(f, "model", buf);
        }
        json_object *ag = view_get(a, "agreement");
        view_line(f, "shadow agrees", !ag || json_object_is_type(ag, json_type_null) ? "-"
                                      : json_object_get_boolean(ag) ? "yes" : "no");
        if (view_get(a, "raw_output"))
            view_line(f, "raw output", view_str(a, "raw_output", ""));
    }
    view_triggers(f, d);
}

void view_command(FILE *f, json_object *cmd)
{
    char buf[256];
    snprintf(buf, sizeof buf, "#%s %s: %s", view_str(cmd, "command_id", "?"), view_str(cmd, "command", "?"),
             view_str(cmd, "status", "?"));
    view_line(f, "command", buf);
    if (view_get(cmd, "decision_id") && !json_object_is_type(view_get(cmd, "decision_id"), json_type_null))
        view_line(f, "decision", view_str(cmd, "decision_id", "-"));
    if (view_get(cmd, "result") && !json_object_is_type(view_get(cmd, "result"), json_type_null))
        view_line(f, "result", view_str(cmd, "result", "-"));
}
