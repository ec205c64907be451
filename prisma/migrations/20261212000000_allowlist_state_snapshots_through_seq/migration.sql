-- Each history snapshot records the highest seq of the exception events dated
-- at or before its cut: an event after the cut with a higher seq cannot have
-- been overtaken by one dated before it, so `?asOf=` looks behind the cut only
-- for the (rare) events recorded out of order.
ALTER TABLE "allowlist_state_snapshots" ADD COLUMN "through_seq" BIGINT NOT NULL DEFAULT 0;

-- Snapshots already taken get theirs from the trail (their cuts are settled:
-- every event dated by then is there). The append-only guard stands aside for
-- this one statement of the owner's, inside the migration's transaction.
ALTER TABLE "allowlist_state_snapshots" DISABLE TRIGGER "allowlist_state_snapshots_no_update_delete";
UPDATE "allowlist_state_snapshots" s SET "through_seq" = COALESCE(
    (SELECT max(e."seq") FROM "audit_events" e WHERE e."entity_type" = 'exception' AND e."occurred_at" <= s."cut_at"), 0);
ALTER TABLE "allowlist_state_snapshots" ENABLE TRIGGER "allowlist_state_snapshots_no_update_delete";

ALTER TABLE "allowlist_state_snapshots" ALTER COLUMN "through_seq" DROP DEFAULT;
