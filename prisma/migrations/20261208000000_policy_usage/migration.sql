-- Usage reported by the policy servers: each flush of match counts is one
-- batch with an id chosen by the server. The batch id is written in the same
-- transaction as the counts it adds, so a flush retried after an unknown
-- outcome (the commit went through, the answer was lost) adds nothing twice.
-- Rows are purged after a retention far longer than any retry.

CREATE TABLE "policy_usage_batches" (
    "id" UUID NOT NULL,
    "server_id" VARCHAR(64) NOT NULL,
    "exceptions" INTEGER NOT NULL,
    "matches" BIGINT NOT NULL,
    "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_usage_batches_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "policy_usage_batches_applied_at_idx" ON "policy_usage_batches"("applied_at");

-- `GET /v1/exceptions?unusedSince=`: exceptions not matched since an instant.
CREATE INDEX "exceptions_last_matched_at_idx" ON "exceptions"("last_matched_at");
