-- 011_unknown_lookup: triggers left 'unknown' looked up among n8n's executions.
-- Never edit this file once landed; add sql/NNN_*.sql instead.
--
-- A worker that dies while it sends to a workflow that does not claim its
-- key leaves the trigger 'unknown' (it may or may not have reached n8n).
-- With the n8n API configured, the leader looks such a trigger up among
-- its workflow's executions by the key it carried (worker/track_find.c):
-- found -> 'sent' with that execution id; none since it was decided -> sent
-- again (young enough) or left 'unknown' with execution_status
-- 'not_found'.  tracked_at and track_errors count the lookups, as they do
-- the looks at running executions.  This index keeps the search for the
-- ones still to look up small whatever the history.
CREATE INDEX triggers_unknown_lookup ON triggers (id)
  WHERE status = 'unknown' AND execution_id IS NULL AND execution_status IS NULL;
