-- 008_catalog: the user's workflows, declared in a catalog file, instead of
-- the eight names compiled in.
-- Never edit this file once landed; add sql/NNN_*.sql instead.  (007 is
-- another change's; this one does not depend on it.)
--
--  * workflows: one row per workflow any catalog ever named.  The worker
--    (the leader, fenced) upserts the catalog in force when it takes the
--    lease and after every reload (worker/catalog_live.c): the entries get
--    present_in_catalog true, last_seen now and their attributes; the rows
--    a catalog no longer names get present_in_catalog false and keep their
--    history.  A replay adds the rows of its catalog's names that are
--    missing, not present.  The API reads this table, never the file.
--  * triggers.workflow and workflow_state.workflow reference it instead of
--    the CHECK lists of 001 and 004: an existing database keeps all its
--    history, the eight seed names becoming its first rows.
--  * control_commands: 'reload_catalog' (POST /control/reload-catalog).
--  * worker_state.catalog: the catalog in force and the last reload error
--    ({"file","hash","version","loaded_at","workflows","enabled","reloads",
--    "reload_failures","error":{"message","at"}|null}), for /status.

CREATE TABLE workflows (
  name                 text PRIMARY KEY
                       CHECK (length(name) BETWEEN 1 AND 64
                              AND name ~ '^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$'),
  title                text        NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
  market               text        NOT NULL CHECK (market IN ('crypto','forex','both','system')),
  intensity            text        NOT NULL DEFAULT 'any'
                       CHECK (intensity IN ('aggressive','normal','light','any')),
  sessions             text[]      NOT NULL DEFAULT '{}'
                       CHECK (sessions <@ ARRAY['sydney','tokyo','london','newyork']),
  needs                text[]      NOT NULL DEFAULT '{}'
                       CHECK (needs <@ ARRAY['dexscreener','pumpfun','tradermade','birdeye']),
  concurrency          text        NOT NULL DEFAULT 'allow' CHECK (concurrency IN ('forbid','allow','replace')),
  parameters           jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(parameters) = 'object'),
  cost                 double precision NOT NULL DEFAULT 1 CHECK (cost > 0 AND cost <= 1000),
  min_interval_seconds integer     NOT NULL DEFAULT 0 CHECK (min_interval_seconds BETWEEN 0 AND 604800),
  max_runs_per_day     integer     NOT NULL DEFAULT 0 CHECK (max_runs_per_day BETWEEN 0 AND 100000),
  expects_result       boolean     NOT NULL DEFAULT false,
  timeout_seconds      integer     NOT NULL DEFAULT 0
                       CHECK (timeout_seconds = 0 OR timeout_seconds BETWEEN 5 AND 604800),
  enabled              boolean     NOT NULL DEFAULT true,
  claims               boolean     NOT NULL DEFAULT false,
  catalog_order        integer,                          -- position in the catalog in force; NULL when not present
  present_in_catalog   boolean     NOT NULL DEFAULT false,
  first_seen           timestamptz NOT NULL DEFAULT now(),
  last_seen            timestamptz NOT NULL DEFAULT now(),  -- the last load of a catalog that named it
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_present ON workflows (catalog_order) WHERE present_in_catalog;

-- The eight seed workflows, as catalog/default.json declares them: an
-- existing database's history refers to them.  first_seen is when they
-- were first triggered, if ever.
INSERT INTO workflows (name, title, market, intensity, sessions, needs, concurrency, expects_result, claims,
                       catalog_order, present_in_catalog, first_seen)
SELECT s.name, s.title, s.market, s.intensity, s.sessions, s.needs, s.concurrency, true, true, s.ord, true,
       coalesce((SELECT min(t.created_at) FROM triggers t WHERE t.workflow = s.name), now())
  FROM (VALUES
    (0, 'crypto-aggressive-scan', 'Crypto scan, aggressive: new pairs and momentum, wide net', 'crypto', 'aggressive',
        '{}'::text[], '{dexscreener}'::text[], 'allow'),
    (1, 'crypto-normal-scan', 'Crypto scan, normal depth', 'crypto', 'normal', '{}', '{dexscreener}', 'allow'),
    (2, 'crypto-light-monitoring', 'Crypto monitoring, light: watch known pairs', 'crypto', 'light', '{}',
        '{dexscreener}', 'allow'),
    (3, 'forex-london-session', 'Forex scan for the London session', 'forex', 'any', '{london}', '{tradermade}', 'allow'),
    (4, 'forex-newyork-session', 'Forex scan for the New York session', 'forex', 'any', '{newyork}', '{tradermade}',
        'allow'),
    (5, 'forex-asia-session', 'Forex scan for the Sydney and Tokyo sessions', 'forex', 'any', '{sydney,tokyo}',
        '{tradermade}', 'allow'),
    (6, 'health-monitor-check', 'Health check of data sources and workflows', 'system', 'any', '{}', '{}', 'allow'),
    (7, 'deep-market-analysis', 'Deep cross-market analysis (expensive)', 'both', 'aggressive', '{}',
        '{dexscreener,tradermade}', 'forbid')
  ) AS s(ord, name, title, market, intensity, sessions, needs, concurrency);

-- Any other name the history holds (none can, under 001's CHECK; kept for
-- databases that were edited by hand): a row of its own, not present.
INSERT INTO workflows (name, title, market, present_in_catalog, first_seen)
SELECT t.workflow, left(t.workflow, 120), 'system', false, min(t.created_at)
  FROM triggers t
 WHERE t.workflow ~ '^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$' AND length(t.workflow) <= 64
 GROUP BY t.workflow
ON CONFLICT (name) DO NOTHING;

-- ---- the references instead of the CHECK lists ----------------------------------
ALTER TABLE triggers DROP CONSTRAINT triggers_workflow_check;
ALTER TABLE triggers ADD CONSTRAINT triggers_workflow_fkey FOREIGN KEY (workflow) REFERENCES workflows (name);
ALTER TABLE workflow_state DROP CONSTRAINT workflow_state_workflow_check;
ALTER TABLE workflow_state ADD CONSTRAINT workflow_state_workflow_fkey FOREIGN KEY (workflow) REFERENCES workflows (name);

-- ---- control: reload the catalog ------------------------------------------------
ALTER TABLE control_commands DROP CONSTRAINT control_commands_command_check;
ALTER TABLE control_commands ADD CONSTRAINT control_commands_command_check
  CHECK (command IN ('start','stop','force_decision','reload_catalog'));
CREATE INDEX control_reload_pending ON control_commands (id) WHERE command = 'reload_catalog' AND status = 'pending';

ALTER TABLE worker_state ADD COLUMN catalog jsonb NOT NULL DEFAULT '{}'::jsonb;

-- the worker's writes are the leader's (sql/006_leader.sql); people see changes at once
CREATE TRIGGER workflows_fence BEFORE INSERT OR UPDATE OR DELETE ON workflows
  FOR EACH STATEMENT EXECUTE FUNCTION orch_fence();
CREATE TRIGGER workflows_notify AFTER INSERT OR UPDATE ON workflows
  FOR EACH STATEMENT EXECUTE FUNCTION orch_notify_state();

-- ---- reporting ------------------------------------------------------------------
-- For psql users: the catalog, in force or not, with each workflow's runs.
CREATE VIEW workflow_catalog AS
SELECT w.name, w.title, w.market, w.intensity, w.enabled, w.present_in_catalog, w.catalog_order, w.cost,
       w.first_seen, w.last_seen,
       count(t.id)                                               AS triggers,
       count(t.id) FILTER (WHERE t.created_at > now() - interval '24 hours') AS triggers_24h,
       count(t.id) FILTER (WHERE t.outcome = 'succeeded')        AS succeeded,
       sum(t.opportunities)                                      AS opportunities,
       max(t.created_at)                                         AS last_triggered_at
  FROM workflows w
  LEFT JOIN (SELECT tr.* FROM triggers tr JOIN decisions d ON d.id = tr.decision_id WHERE d.run_id IS NULL) t
         ON t.workflow = w.name
 GROUP BY w.name
 ORDER BY w.present_in_catalog DESC, w.catalog_order, w.name;

GRANT SELECT, INSERT, UPDATE ON workflows TO orch_worker;
GRANT SELECT ON workflows, workflow_catalog TO orch_api;
