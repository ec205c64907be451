-- Self-healing exceptions: the worker re-checks each running exception's HELO
-- name in DNS; once Postfix's own checks would pass it, the exception is
-- marked no longer needed (with what was seen) and, after a grace, revoked —
-- unless a person chose to keep it until its expiry.

ALTER TABLE "exceptions" ADD COLUMN "helo_checked_at" TIMESTAMPTZ(3);
-- Since when the HELO name passes Postfix's checks by itself; null while it does not (or was never seen to).
ALTER TABLE "exceptions" ADD COLUMN "no_longer_needed_since" TIMESTAMPTZ(3);
-- What the check saw when it first passed: the name's A, AAAA and MX records and the resolver.
ALTER TABLE "exceptions" ADD COLUMN "no_longer_needed_evidence" JSONB;
-- A person's choice to let it run until its expiry although it is no longer needed.
ALTER TABLE "exceptions" ADD COLUMN "kept_reason" VARCHAR(2000);
ALTER TABLE "exceptions" ADD COLUMN "kept_by" UUID;
ALTER TABLE "exceptions" ADD COLUMN "kept_by_owner" VARCHAR(254);
ALTER TABLE "exceptions" ADD COLUMN "kept_at" TIMESTAMPTZ(3);

ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_no_longer_needed_has_evidence"
    CHECK (("no_longer_needed_since" IS NULL) = ("no_longer_needed_evidence" IS NULL));
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_kept_has_reason"
    CHECK (("kept_at" IS NULL) = ("kept_reason" IS NULL));

-- The worker's sweep: running exceptions whose HELO name was not looked at lately.
CREATE INDEX "exceptions_helo_checked_at_idx" ON "exceptions"("helo_checked_at" NULLS FIRST)
    WHERE "status" IN ('pending_approval', 'active', 'suspended');
