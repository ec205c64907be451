-- DNS blocklists: "not being used for illegitimate email". Running exceptions
-- are looked up again on a schedule; a listing suspends them. Suspensions may
-- now have several causes at once (the organization, a lapsed domain, a
-- blocklist), so that lifting one cause never lifts another.

-- Suspension causes ------------------------------------------------------------

ALTER TABLE "exceptions" ADD COLUMN "suspension_causes" VARCHAR(16)[] NOT NULL DEFAULT '{}';
UPDATE "exceptions" SET "suspension_causes" = ARRAY["suspension_cause"] WHERE "suspension_cause" IS NOT NULL;
ALTER TABLE "exceptions" DROP COLUMN "suspension_cause";
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_suspension_causes_known"
    CHECK ("suspension_causes" <@ ARRAY['organization', 'domain', 'blocklist']::VARCHAR(16)[]);
-- Suspended exactly while some cause holds (ended exceptions keep what held when they ended).
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_suspended_for_a_cause"
    CHECK ("status" NOT IN ('active', 'suspended') OR ("status" = 'suspended') = (cardinality("suspension_causes") > 0));

-- Blocklist checks ---------------------------------------------------------------

ALTER TABLE "exceptions"
    ADD COLUMN "blocklist_checked_at" TIMESTAMPTZ(3),
    ADD COLUMN "blocklist_result" JSONB,
    ADD COLUMN "blocklist_accepted" JSONB;

-- The worker's sweep: running exceptions, least recently checked first.
CREATE INDEX "exceptions_blocklist_due_idx" ON "exceptions" ("blocklist_checked_at" NULLS FIRST)
    WHERE "status" IN ('active', 'suspended');
