-- Exceptions: grants that let a mail server pass the HELO check, and the
-- allowlist version that every change to the list bumps.

CREATE TYPE "exception_scope" AS ENUM ('pair', 'ip', 'helo');
CREATE TYPE "exception_status" AS ENUM ('pending_approval', 'active', 'suspended', 'revoked', 'expired', 'rejected');

CREATE TABLE "exceptions" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "mail_server_id" UUID NOT NULL,
    "scope" "exception_scope" NOT NULL DEFAULT 'pair',
    "status" "exception_status" NOT NULL,
    "reason" VARCHAR(2000) NOT NULL,
    "ticket_ref" VARCHAR(100),
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "helo_hostname" VARCHAR(253) NOT NULL,
    "addresses" TEXT[],
    "override" BOOLEAN NOT NULL DEFAULT false,
    "justification" VARCHAR(2000),
    "approval_reasons" TEXT[],
    "evidence" JSONB NOT NULL,
    "requested_by" UUID NOT NULL,
    "requested_by_name" VARCHAR(100) NOT NULL,
    "approved_by" UUID,
    "approved_at" TIMESTAMPTZ(3),
    "rejected_by" UUID,
    "rejected_at" TIMESTAMPTZ(3),
    "rejection_reason" VARCHAR(2000),
    "revoked_by" UUID,
    "revoked_at" TIMESTAMPTZ(3),
    "revoke_reason" VARCHAR(2000),
    "suspension_cause" VARCHAR(16),
    "suspended_at" TIMESTAMPTZ(3),
    "renewal_expires_at" TIMESTAMPTZ(3),
    "renewal_requested_by" UUID,
    "last_matched_at" TIMESTAMPTZ(3),
    "match_count" BIGINT NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "exceptions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "exceptions_window" CHECK ("starts_at" < "expires_at"),
    -- The four-eyes rule, held by the database too: nobody approves their own request.
    CONSTRAINT "exceptions_four_eyes" CHECK ("approved_by" IS NULL OR "approved_by" <> "requested_by")
);
CREATE INDEX "exceptions_organization_id_status_idx" ON "exceptions"("organization_id", "status");
CREATE INDEX "exceptions_mail_server_id_idx" ON "exceptions"("mail_server_id");
CREATE INDEX "exceptions_status_expires_at_idx" ON "exceptions"("status", "expires_at");
CREATE INDEX "exceptions_helo_hostname_idx" ON "exceptions"("helo_hostname");
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_organization_id_fkey"
    FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_mail_server_id_fkey"
    FOREIGN KEY ("mail_server_id") REFERENCES "mail_servers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "feed_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "version" BIGINT NOT NULL DEFAULT 0,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "feed_state_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "feed_state_single_row" CHECK ("id" = 1)
);
INSERT INTO "feed_state" ("id", "version") VALUES (1, 0);

-- Every version and when it began: what `?asOf=` reads to name the version of a past list.
CREATE TABLE "feed_versions" (
    "version" BIGINT NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "feed_versions_pkey" PRIMARY KEY ("version")
);
CREATE INDEX "feed_versions_changed_at_idx" ON "feed_versions"("changed_at");
INSERT INTO "feed_versions" ("version", "changed_at") VALUES (0, CURRENT_TIMESTAMP);

-- The allowlist signing key when FEED_SIGNING_KEY is not set (generated on first start).
CREATE TABLE "feed_signing_key" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "seed" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "feed_signing_key_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "feed_signing_key_single_row" CHECK ("id" = 1)
);
