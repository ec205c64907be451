-- The approver's reason is kept with the decision, as a rejection's is: one
-- approval or a batch of them (POST /v1/exceptions/bulk-decisions) records it
-- on each exception it approves, and so in that change's audit event.
ALTER TABLE "exceptions" ADD COLUMN "approval_note" VARCHAR(2000);

-- Why a renewal waits for a second person, kept with it while it waits (the
-- approvals queue shows it as it shows a grant's approval_reasons).
ALTER TABLE "exceptions" ADD COLUMN "renewal_approval_reasons" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
