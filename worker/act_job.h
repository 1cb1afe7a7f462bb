/* act_job: one webhook call and its answer, as plain data.
 *
 * A leaf header (no includes): act fills a job (act.h), store records its
 * answer (store_trigger_result, store_trigger_attempt in store.h). */
#ifndef ACT_JOB_H
#define ACT_JOB_H

enum act_status {
    ACT_SENT = 0,        /* 2xx: n8n accepted it */
    ACT_FAILED,          /* transport error, timeout, 5xx, other 4xx */
    ACT_UNAVAILABLE,     /* 404 "not registered": the workflow is not active */
    ACT_DRY_RUN          /* nothing sent: no N8N_BASE_URL */
};

struct act_job {
    const char *workflow;       /* webhook path (borrowed) */
    const char *payload;        /* JSON body (borrowed) */
    const char *key;            /* idempotency key (borrowed) */
    long long trigger_id;       /* the trigger and its decision (0: unknown), for a transport */
    long long decision_id;      /* that reports the end later (the replay); not sent */
    /* results */
    enum act_status status;
    int transport_err;          /* enum http_err: HTTP_OK when an answer arrived */
    long http_status;
    long retry_after_ms;        /* the answer's retry-after header in ms, -1 when absent or invalid */
    double latency_ms;
    char error[256];
    char response[512];         /* first bytes of the answer */
};

#endif
