-- 005_n8n_stop: concurrency 'replace' stops the execution it replaces, an
-- answer too large to read is not retried.
-- Never edit this file once landed; add sql/NNN_*.sql instead.

-- stop_outcome: what became of the n8n execution of a trigger that a later
-- trigger of its workflow replaced (outcome 'superseded', concurrency
-- 'replace'):
--   'stopped'      POST /rest/executions/{id}/stop answered: n8n canceled it
--   'ended'        it had already ended when the stop was asked for
--   'not_stopped'  it could not be stopped: no owner login configured
--                  (N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD), no execution id,
--                  or n8n refused; it may still be running (the error says why)
-- NULL for every other trigger.
ALTER TABLE triggers
  ADD COLUMN stop_outcome text CHECK (stop_outcome IN ('stopped','ended','not_stopped'));

-- last_error_kind gains 'too_big': n8n answered, but with more than the
-- worker reads (256 KiB); the execution may have started, so it is not
-- retried.
ALTER TABLE triggers DROP CONSTRAINT triggers_last_error_kind_check;
ALTER TABLE triggers ADD CONSTRAINT triggers_last_error_kind_check
  CHECK (last_error_kind IN ('transport','timeout','server_error','rate_limited','client_error',
                             'not_registered','circuit_open','concurrency','too_big'));

-- A canceled execution (stopped in n8n by someone else than our 'replace')
-- counts as failed, like failed, crashed and timed_out.
CREATE OR REPLACE VIEW trigger_outcomes AS
SELECT t.workflow, t.status, count(*) AS triggers,
       round(avg(t.latency_ms)) AS avg_latency_ms, max(t.finished_at) AS last_finished_at,
       count(*) FILTER (WHERE t.outcome = 'succeeded')                  AS executions_succeeded,
       count(*) FILTER (WHERE t.outcome IN ('failed','crashed','timed_out','canceled')) AS executions_failed,
       sum(t.opportunities)                                             AS opportunities,
       sum(greatest(t.attempts - 1, 0))                                 AS retries
  FROM triggers t JOIN decisions d ON d.id = t.decision_id
 WHERE d.run_id IS NULL
 GROUP BY 1, 2
 ORDER BY 1, 2;

CREATE OR REPLACE VIEW executions_per_day AS
SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day,
       t.workflow,
       count(*) FILTER (WHERE t.status = 'sent')                         AS started,
       count(*) FILTER (WHERE t.outcome = 'succeeded')                   AS succeeded,
       count(*) FILTER (WHERE t.outcome IN ('failed','crashed','timed_out','canceled')) AS failed,
       count(*) FILTER (WHERE t.status = 'skipped')                      AS skipped,
       sum(t.opportunities)                                              AS opportunities,
       round(avg(t.duration_ms))                                         AS avg_duration_ms
  FROM triggers t JOIN decisions d ON d.id = t.decision_id
 WHERE d.run_id IS NULL
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2;
