-- People behind keys: every key of a person names its owner, and four eyes
-- compares owners (two keys of one person are one pair of eyes), in the
-- application and here. Domain overrides become requests that another owner
-- approves.

-- API keys ------------------------------------------------------------------

ALTER TABLE "api_keys" ADD COLUMN "owner" VARCHAR(254);
-- Keys made before owners existed: each its own person, so that no two old
-- keys count as one (and none as a person named later).
UPDATE "api_keys" SET "owner" = 'legacy-key-' || "id"::text WHERE "role" <> 'filter';
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_owner_named"
    CHECK ("role" = 'filter' OR "owner" IS NOT NULL);
-- Stored normalized (see libs/domain/src/owner.ts): one spelling per person.
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_owner_normalized"
    CHECK ("owner" IS NULL OR (
        char_length("owner") BETWEEN 1 AND 254
        AND "owner" ~ '^[a-z0-9][a-z0-9._+-]*(@[a-z0-9][a-z0-9.-]*)?$'
        AND "owner" !~ '[.@]$'));
CREATE INDEX "api_keys_owner_idx" ON "api_keys"("owner");

-- Audit events ----------------------------------------------------------------

-- Hashed only when set, so every event written before keeps its hash.
ALTER TABLE "audit_events" ADD COLUMN "actor_owner" VARCHAR(254);
CREATE INDEX "audit_events_actor_owner_occurred_at_idx" ON "audit_events"("actor_owner", "occurred_at");

-- Exceptions ------------------------------------------------------------------

ALTER TABLE "exceptions"
    ADD COLUMN "requested_by_owner" VARCHAR(254),
    ADD COLUMN "approved_by_owner" VARCHAR(254),
    ADD COLUMN "rejected_by_owner" VARCHAR(254),
    ADD COLUMN "renewal_requested_by_owner" VARCHAR(254),
    ADD COLUMN "renewal_approved_by" UUID,
    ADD COLUMN "renewal_approved_by_owner" VARCHAR(254),
    ADD COLUMN "renewal_approved_at" TIMESTAMPTZ(3);

UPDATE "exceptions" e SET
    "requested_by_owner" = COALESCE(
        (SELECT k."owner" FROM "api_keys" k WHERE k."id" = e."requested_by"), 'legacy-key-' || e."requested_by"::text),
    "approved_by_owner" = CASE WHEN e."approved_by" IS NULL THEN NULL ELSE COALESCE(
        (SELECT k."owner" FROM "api_keys" k WHERE k."id" = e."approved_by"), 'legacy-key-' || e."approved_by"::text) END,
    "rejected_by_owner" = CASE WHEN e."rejected_by" IS NULL THEN NULL ELSE COALESCE(
        (SELECT k."owner" FROM "api_keys" k WHERE k."id" = e."rejected_by"), 'legacy-key-' || e."rejected_by"::text) END,
    "renewal_requested_by_owner" = CASE WHEN e."renewal_requested_by" IS NULL THEN NULL ELSE COALESCE(
        (SELECT k."owner" FROM "api_keys" k WHERE k."id" = e."renewal_requested_by"), 'legacy-key-' || e."renewal_requested_by"::text) END;
ALTER TABLE "exceptions" ALTER COLUMN "requested_by_owner" SET NOT NULL;

-- The four-eyes rule, held by the database too: nobody approves their own
-- request, whichever of their keys they use.
ALTER TABLE "exceptions" DROP CONSTRAINT "exceptions_four_eyes";
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_four_eyes"
    CHECK ("approved_by_owner" IS NULL OR "approved_by_owner" <> "requested_by_owner");
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_approver_owned"
    CHECK ("approved_by" IS NULL OR "approved_by_owner" IS NOT NULL);
-- The same for renewals: the last approved renewal keeps who asked and who approved.
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_renewal_four_eyes"
    CHECK ("renewal_approved_by_owner" IS NULL
        OR ("renewal_requested_by_owner" IS NOT NULL AND "renewal_approved_by_owner" <> "renewal_requested_by_owner"));
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_renewal_approver_owned"
    CHECK ("renewal_approved_by" IS NULL OR "renewal_approved_by_owner" IS NOT NULL);
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_renewal_requester_owned"
    CHECK ("renewal_expires_at" IS NULL OR "renewal_requested_by_owner" IS NOT NULL);

-- Domain overrides ------------------------------------------------------------

ALTER TABLE "domains"
    ADD COLUMN "override_by_owner" VARCHAR(254),
    ADD COLUMN "override_approved_by" UUID,
    ADD COLUMN "override_approved_by_owner" VARCHAR(254),
    ADD COLUMN "override_approved_at" TIMESTAMPTZ(3),
    ADD COLUMN "pending_override_justification" VARCHAR(2000),
    ADD COLUMN "pending_override_expires_at" TIMESTAMPTZ(3),
    ADD COLUMN "pending_override_by" UUID,
    ADD COLUMN "pending_override_by_owner" VARCHAR(254),
    ADD COLUMN "pending_override_requested_at" TIMESTAMPTZ(3);

-- An override recorded with its requester's owner (every override since this
-- migration) is in force only when another owner approved it. Overrides made
-- before keep a NULL owner and run to their expiry.
ALTER TABLE "domains" ADD CONSTRAINT "domains_override_four_eyes"
    CHECK ("override_approved_by_owner" IS NULL
        OR ("override_by_owner" IS NOT NULL AND "override_approved_by_owner" <> "override_by_owner"));
ALTER TABLE "domains" ADD CONSTRAINT "domains_override_approved"
    CHECK ("override_by_owner" IS NULL OR ("override_approved_by_owner" IS NOT NULL AND "override_approved_at" IS NOT NULL));
ALTER TABLE "domains" ADD CONSTRAINT "domains_pending_override_complete"
    CHECK (("pending_override_justification" IS NULL AND "pending_override_expires_at" IS NULL
            AND "pending_override_by" IS NULL AND "pending_override_by_owner" IS NULL AND "pending_override_requested_at" IS NULL)
        OR ("pending_override_justification" IS NOT NULL AND "pending_override_expires_at" IS NOT NULL
            AND "pending_override_by" IS NOT NULL AND "pending_override_by_owner" IS NOT NULL AND "pending_override_requested_at" IS NOT NULL));
