-- Signed checkpoints of the audit chain: the head {lastEventId, lastHash,
-- count, at}, signed with the audit key (Ed25519, never the feed's), taken
-- at an interval and on demand, and pushed to copies outside the database.
CREATE TABLE "audit_checkpoints" (
    "id" UUID NOT NULL,
    "count" BIGINT NOT NULL,
    "last_event_id" UUID,
    "last_hash" CHAR(64) NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "signature" VARCHAR(100) NOT NULL,
    "public_key" VARCHAR(64) NOT NULL,
    "created_by" VARCHAR(100) NOT NULL,
    CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_checkpoints_at_idx" ON "audit_checkpoints"("at");

CREATE TRIGGER "audit_checkpoints_no_update_delete"
    BEFORE UPDATE OR DELETE ON "audit_checkpoints"
    FOR EACH ROW EXECUTE FUNCTION "audit_refuse_change"();
CREATE TRIGGER "audit_checkpoints_no_truncate"
    BEFORE TRUNCATE ON "audit_checkpoints"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_refuse_change"();

-- The generated audit signing key, where AUDIT_SIGNING_KEY is not set and
-- AUDIT_SIGNING_KEY_IN_DATABASE allows it (not by default in production).
CREATE TABLE "audit_signing_key" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "seed" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "audit_signing_key_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "audit_signing_key_single_row" CHECK ("id" = 1)
);
