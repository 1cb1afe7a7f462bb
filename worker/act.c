/* act: webhook payloads and delivery; see act.h. */
#include "config.h"
#include "act.h"
#include "http.h"
#include "log.h"
#include "utf8.h"
#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ACT_MAX_RESPONSE (256 * 1024)

const char *act_status_name(enum act_status s)
{
    switch (s) {
    case ACT_SENT:        return "sent";
    case ACT_FAILED:      return "failed";
    case ACT_UNAVAILABLE: return "unavailable";
    case ACT_DRY_RUN:     return "dry_run";
    }
    return "failed";
}

void act_key(long long decision_id, const char *workflow, char *out, size_t cap)
{
    snprintf(out, cap, "orch-%lld-%s", decision_id, workflow);
}

void act_replay_key(long long run_id, long long seq, const char *workflow, char *out, size_t cap)
{
    snprintf(out, cap, "replay-%lld-%lld-%s", run_id, seq, workflow);
}

long act_scan_limit(int intensity)
{
    return intensity == INTENSITY_AGGRESSIVE ? 50 : intensity == INTENSITY_LIGHT ? 10 : 25;
}

/* Split list (separated by commas) into arr: items trimmed of spaces, empty
 * ones and those longer than maxlen (or not matching ok) left out, at most
 * max of them. */
static void act_split(json_object *arr, const char *list, size_t maxlen, int max, int (*ok)(const char *, size_t))
{
    int n = 0;
    for (const char *s = list; s && *s && n < max;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        const char *a = s;
        size_t l = len;
        while (l && (*a == ' ' || *a == '\t')) {
            a++;
            l--;
        }
        while (l && (a[l - 1] == ' ' || a[l - 1] == '\t'))
            l--;
        if (l > 0 && l <= maxlen && (!ok || ok(a, l))) {
            json_object_array_add(arr, json_object_new_string_len(a, (int)l));
            n++;
        }
        if (!e)
            break;
        s = e + 1;
    }
}

/* A six-letter upper-case currency pair. */
static int act_pair_ok(const char *s, size_t n)
{
    if (n != 6)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return 0;
    return 1;
}

/* Printable ASCII without quotes or backslashes. */
static int act_query_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

json_object *act_parameters(const struct cfg *c, const char *workflow, int intensity)
{
    if (!c)
        return NULL;
    const struct catalog_wf *d = catalog_workflow(catalog_workflow_parse(workflow));
    if (!d)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    /* what the orchestrator knows of the market it scans; a system
     * workflow (the health check) checks its own fixed set */
    if (d->market == MARKET_CRYPTO || d->market == MARKET_BOTH) {
        json_object *q = json_object_new_array();
        act_split(q, c->dexscreener_query, ACT_QUERY_MAX, ACT_QUERIES_MAX, act_query_ok);
        json_object_object_add(o, "queries", q);
        json_object_object_add(o, "limit", json_object_new_int64(act_scan_limit(intensity)));
    }
    if (d->market == MARKET_FOREX || d->market == MARKET_BOTH) {
        json_object *pa = json_object_new_array();
        act_split(pa, c->forex_pairs, 6, ACT_PAIRS_MAX, act_pair_ok);
        json_object_object_add(o, "pairs", pa);
    }
    /* the catalog entry's own parameters win */
    json_object *own = json_tokener_parse(d->parameters);
    if (own && json_object_is_type(own, json_type_object)) {
        json_object_object_foreach(own, key, val)
            json_object_object_add(o, key, json_object_get(val));
    }
    json_object_put(own);
    return o;
}

json_object *act_payload(const struct sense_snapshot *snap, const struct decide_choice *ch,
                         long long decision_id, long long trigger_id, const char *workflow,
                         const char *key, long long next_decision_at, int dry_run)
{
    json_object *p = json_object_new_object();
    if (!p)
        return NULL;
    char ts[32];
    json_object_object_add(p, "decision_id", json_object_new_int64(decision_id));
    json_object_object_add(p, "trigger_id", json_object_new_int64(trigger_id));
    json_object_object_add(p, "idempotency_key", json_object_new_string(key));
    json_object_object_add(p, "workflow", json_object_new_string(workflow));
    json_object_object_add(p, "mode", json_object_new_string(catalog_mode_name(ch->mode)));
    json_object_object_add(p, "intensity", json_object_new_string(catalog_intensity_name(ch->intensity)));
    json_object_object_add(p, "source", json_object_new_string(catalog_source_name(ch->source)));
    json_object_object_add(p, "session", json_object_new_string(snap->session_label ? snap->session_label : "closed"));
    json_object *open = json_object_new_array();
    for (int s = 0; s < SESSION_COUNT; s++)
        if (snap->sessions.open[s])
            json_object_array_add(open, json_object_new_string(session_name(s)));
    json_object_object_add(p, "sessions", open);

    /* the market context the workflow may use to tune its scan (without
     * the learning summary, which this body does not carry and which is
     * the costly part to build) */
    struct sense_snapshot *bare = malloc(sizeof *bare);
    if (!bare) {
        json_object_put(p);
        return NULL;
    }
    *bare = *snap;
    bare->learn = NULL;
    json_object *full = sense_to_json(bare);
    free(bare);
    json_object *market = NULL;
    if (full && json_object_object_get_ex(full, "market", &market))
        json_object_object_add(p, "market", json_object_get(market));
    json_object_put(full);

    json_object *params = act_parameters(snap->cfg, workflow, ch->intensity);
    if (params)
        json_object_object_add(p, "parameters", params);

    json_object_object_add(p, "reason", json_object_new_string(ch->reason));
    tu_iso8601((time_t)next_decision_at, ts);
    json_object_object_add(p, "next_decision_at", json_object_new_string(ts));
    tu_iso8601(snap->now, ts);
    json_object_object_add(p, "decided_at", json_object_new_string(ts));
    json_object_object_add(p, "dry_run", json_object_new_boolean(dry_run));
    json_object_object_add(p, "sent_by", json_object_new_string(PACKAGE_NAME "/" PACKAGE_VERSION));
    return p;
}

enum act_status act_classify(int transport_ok, long status, const char *body)
{
    if (!transport_ok)
        return ACT_FAILED;
    if (status >= 200 && status <= 299)
        return ACT_SENT;
    /* n8n: 'The requested webhook "POST x" is not registered.' (the wording
     * around it varies by version); any other 404 (a wrong base URL, a
     * proxy's page) is a plain failure, not a missing workflow */
    if (status == 404 && body && strstr(body, "not registered"))
        return ACT_UNAVAILABLE;
    return ACT_FAILED;
}

long act_retry_after_ms(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        char *end;
        errno = 0;
        long long s = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (errno || *end || s < 0)
            return -1;
        return s > 86400 ? 86400L * 1000L : (long)s * 1000L;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    char wd[4], mn[4], tz[4];
    int day, year, hh, mm, ss, used = 0;
    if (sscanf(value, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n",
               wd, &day, mn, &year, &hh, &mm, &ss, tz, &used) != 8 || value[used] || strcmp(tz, "GMT"))
        return -1;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcasecmp(mn, mon[i]) == 0)
            m = i;
    if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970)
        return -1;
    long long d = tu_utc(year, m + 1, day, hh, mm, ss) - (long long)now;
    if (d < 0)
        d = 0;
    return d > 86400 ? 86400L * 1000L : (long)d * 1000L;
}

void act_excerpt(char *out, size_t cap, const char *s, size_t len)
{
    if (cap == 0)
        return;
    size_t n = len < cap - 1 ? len : cap - 1;
    /* never cut inside a character (utf8_cut looks at s[n], which exists when n < len) */
    if (n < len)
        n = utf8_cut(s, len, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = ch >= 0x20 && ch != 0x7f ? (char)ch : ' ';
    }
    out[n] = '\0';
    /* it is stored (triggers.response): PostgreSQL takes only UTF-8 (an n8n
     * answer with "\xc5\xff" failed the trigger's update; e2e_hostile) */
    utf8_clean(out);
}

void act_request(const struct cfg *c, const struct act_job *job, struct act_req *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->url, sizeof out->url, "%s/webhook/%s", c->n8n_base_url, job->workflow);
    snprintf(out->hdr[0], sizeof out->hdr[0], "Idempotency-Key: %s", job->key);
    int k = 0;
    out->hv[k++] = out->hdr[0];
    if (*c->n8n_auth_header) {
        snprintf(out->hdr[1], sizeof out->hdr[1], "%s: %s", c->n8n_auth_header, c->n8n_auth_value);
        out->hv[k++] = out->hdr[1];
    }
    out->hv[k] = NULL;
    out->req = (struct http_req){
        .method = "POST", .url = out->url, .body = job->payload, .headers = out->hv,
        .timeout_ms = c->webhook_timeout_ms, .max_bytes = ACT_MAX_RESPONSE,
    };
}

void act_answer(struct act_job *j, const struct http_resp *r)
{
    j->http_status = r->status;
    j->transport_err = (int)r->err;
    j->retry_after_ms = r->err == HTTP_OK ? act_retry_after_ms(http_resp_header(r, "retry-after"), time(NULL)) : -1;
    j->latency_ms = r->elapsed_ms;
    j->status = act_classify(r->err == HTTP_OK, r->status, r->body);
    /* a 2xx too large to read: n8n accepted it (its execution id is lost) */
    if (r->err == HTTP_ETOOBIG && r->status >= 200 && r->status <= 299)
        j->status = ACT_SENT;
    act_excerpt(j->response, sizeof j->response, r->body ? r->body : "", r->len);
    if (r->err == HTTP_ETOOBIG && j->status == ACT_SENT)
        snprintf(j->error, sizeof j->error, "accepted (HTTP %ld), answer %.160s: execution id unknown",
                 r->status, r->errmsg);
    else if (r->err != HTTP_OK)
        snprintf(j->error, sizeof j->error, "%s: %.200s", http_strerror(r->err), r->errmsg);
    else if (j->status == ACT_UNAVAILABLE)
        snprintf(j->error, sizeof j->error, "webhook not registered (HTTP 404): workflow inactive or missing in n8n");
    else if (j->status == ACT_FAILED)
        snprintf(j->error, sizeof j->error, "HTTP %ld", r->status);
    else
        j->error[0] = '\0';
    log_event(j->status == ACT_SENT ? LOG_INFO : LOG_WARN,
              j->status == ACT_SENT ? "hook.sent" : "hook.failed",
              "s:workflow s:key s:status i:http_status d:latency_ms s:error",
              j->workflow, j->key, act_status_name(j->status), (long long)j->http_status,
              j->latency_ms, j->error[0] ? j->error : NULL);
}

void act_fire_many(const struct cfg *c, struct act_job *jobs, int n)
{
    if (n <= 0)
        return;
    struct http_req *reqs = calloc((size_t)n, sizeof *reqs);
    struct http_resp *resps = calloc((size_t)n, sizeof *resps);
    struct act_req *ar = calloc((size_t)n, sizeof *ar);
    if (!reqs || !resps || !ar) {
        for (int i = 0; i < n; i++) {
            jobs[i].status = ACT_FAILED;
            jobs[i].transport_err = HTTP_EINTERNAL;
            jobs[i].retry_after_ms = -1;
            snprintf(jobs[i].error, sizeof jobs[i].error, "out of memory");
        }
        goto out;
    }
    for (int i = 0; i < n; i++) {
        act_request(c, &jobs[i], &ar[i]);
        reqs[i] = ar[i].req;
    }
    http_perform_many(reqs, resps, (size_t)n);
    for (int i = 0; i < n; i++) {
        act_answer(&jobs[i], &resps[i]);
        http_resp_free(&resps[i]);
    }
out:
    free(reqs);
    free(resps);
    free(ar);
}
