-- 002_llm: LLM decisions with an audit trail, shadow decisions and budgets.

ALTER TABLE decisions
  ADD COLUMN llm_outcome text NOT NULL DEFAULT 'not_configured'
      CHECK (llm_outcome IN ('ok','not_configured','budget','circuit_open','rate_limited','timeout',
                             'transport','server_error','request_error','json_validate_failed',
                             'malformed','length','empty','invalid','rejected')),
  ADD COLUMN llm_detail            text,      -- why the LLM's answer was not used, or 'accepted'
  ADD COLUMN llm_provider          text,
  ADD COLUMN llm_model             text,
  ADD COLUMN llm_raw               text,      -- the model's answer as received (bounded)
  ADD COLUMN llm_prompt_tokens     integer,
  ADD COLUMN llm_completion_tokens integer,
  ADD COLUMN llm_latency_ms        integer,
  ADD COLUMN prompt_version        text,
  ADD COLUMN prompt_hash           text,      -- SHA-256 of the prompt template file
  ADD COLUMN shadow                jsonb,     -- what the fallback policy chose alongside
  ADD COLUMN agreement             boolean;   -- LLM and shadow agree on mode and intensity; NULL without LLM

-- Every HTTP call to an LLM provider: budgets, metrics and the audit.
CREATE TABLE llm_calls (
  id                bigserial PRIMARY KEY,
  decision_id       bigint      REFERENCES decisions (id),
  called_at         timestamptz NOT NULL DEFAULT now(),
  provider          text        NOT NULL,
  model             text        NOT NULL,
  http_status       integer,
  outcome           text        NOT NULL,
  latency_ms        integer     NOT NULL DEFAULT 0,
  prompt_tokens     integer     NOT NULL DEFAULT 0,
  completion_tokens integer     NOT NULL DEFAULT 0,
  error             text
);
CREATE INDEX llm_calls_time ON llm_calls (called_at);
CREATE INDEX llm_calls_decision ON llm_calls (decision_id);

-- The worker's view of its providers: circuit state, rate limits, budget use.
ALTER TABLE worker_state ADD COLUMN llm jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE VIEW llm_agreement_per_day AS
SELECT (decided_at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE llm_outcome = 'ok')                      AS llm_decisions,
       count(*) FILTER (WHERE llm_outcome NOT IN ('ok','not_configured')) AS fell_back,
       count(*) FILTER (WHERE agreement)                                AS agreed,
       round(100.0 * count(*) FILTER (WHERE agreement)
             / nullif(count(*) FILTER (WHERE agreement IS NOT NULL), 0), 1) AS agreement_pct,
       sum(coalesce(llm_prompt_tokens, 0) + coalesce(llm_completion_tokens, 0)) AS tokens
  FROM decisions
 GROUP BY 1
 ORDER BY 1 DESC;

GRANT SELECT, INSERT, UPDATE, DELETE ON llm_calls TO orch_worker;
GRANT USAGE, SELECT ON SEQUENCE llm_calls_id_seq TO orch_worker;
GRANT SELECT ON llm_calls, llm_agreement_per_day TO orch_api;
