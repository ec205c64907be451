-- Snapshots of the allowlist's history, so that `?asOf=` answers from the
-- nearest snapshot at or before the instant plus the audit events after it,
-- instead of replaying the whole trail. Each row holds, compactly, every
-- exception whose last recorded state at or before `cut_at` was `active`
-- (its feed entry and the seq of the event that recorded it), exactly what
-- a replay of the trail up to `cut_at` gives.
-- Written by the worker, only for instants older than any transaction can
-- be (no event can still arrive with an earlier time); append-only like the
-- trail it is derived from.
CREATE TABLE "allowlist_state_snapshots" (
    "cut_at" TIMESTAMPTZ(3) NOT NULL,
    "entry_count" INTEGER NOT NULL,
    "entries" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "allowlist_state_snapshots_pkey" PRIMARY KEY ("cut_at")
);

CREATE TRIGGER "allowlist_state_snapshots_no_update_delete"
    BEFORE UPDATE OR DELETE ON "allowlist_state_snapshots"
    FOR EACH ROW EXECUTE FUNCTION "audit_refuse_change"();
CREATE TRIGGER "allowlist_state_snapshots_no_truncate"
    BEFORE TRUNCATE ON "allowlist_state_snapshots"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_refuse_change"();

-- The events after a snapshot, of one kind, by time: what `?asOf=` reads.
CREATE INDEX "audit_events_entity_type_occurred_at_idx" ON "audit_events"("entity_type", "occurred_at");
