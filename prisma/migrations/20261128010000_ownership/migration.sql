-- Ownership through DNS: domains and their TXT challenges, every look at a
-- challenge record, and the ownership evidence of mail servers.

CREATE TYPE "domain_status" AS ENUM ('pending', 'verified', 'lapsed', 'failed');

CREATE TABLE "domains" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" VARCHAR(253) NOT NULL,
    "status" "domain_status" NOT NULL DEFAULT 'pending',
    "challenge_token" VARCHAR(64) NOT NULL,
    "challenge_issued_at" TIMESTAMPTZ(3) NOT NULL,
    "challenge_expires_at" TIMESTAMPTZ(3) NOT NULL,
    "verified_at" TIMESTAMPTZ(3),
    "last_checked_at" TIMESTAMPTZ(3),
    "next_check_at" TIMESTAMPTZ(3),
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "first_failure_at" TIMESTAMPTZ(3),
    "override_justification" VARCHAR(2000),
    "override_expires_at" TIMESTAMPTZ(3),
    "override_by" UUID,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "domains_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "domains_organization_id_name_key" ON "domains"("organization_id", "name");
CREATE INDEX "domains_name_idx" ON "domains"("name");
CREATE INDEX "domains_status_next_check_at_idx" ON "domains"("status", "next_check_at");
-- A verified domain belongs to one organization at a time.
CREATE UNIQUE INDEX "domains_verified_name_key" ON "domains"("name") WHERE "status" = 'verified';
ALTER TABLE "domains" ADD CONSTRAINT "domains_organization_id_fkey"
    FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "domain_checks" (
    "id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,
    "checked_at" TIMESTAMPTZ(3) NOT NULL,
    "trigger" VARCHAR(16) NOT NULL,
    "outcome" VARCHAR(24) NOT NULL,
    "record_name" VARCHAR(320) NOT NULL,
    "resolvers" JSONB NOT NULL,
    "status_before" "domain_status" NOT NULL,
    "status_after" "domain_status" NOT NULL,
    "detail" VARCHAR(1000) NOT NULL,
    CONSTRAINT "domain_checks_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "domain_checks_domain_id_checked_at_idx" ON "domain_checks"("domain_id", "checked_at");
ALTER TABLE "domain_checks" ADD CONSTRAINT "domain_checks_domain_id_fkey"
    FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "mail_server_ownership" (
    "mail_server_id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "verified" BOOLEAN NOT NULL,
    "evidence" JSONB NOT NULL,
    -- Set when something the evidence rests on changed (a domain's status, the server itself).
    "stale" BOOLEAN NOT NULL DEFAULT false,
    "checked_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "mail_server_ownership_pkey" PRIMARY KEY ("mail_server_id")
);
CREATE INDEX "mail_server_ownership_organization_id_idx" ON "mail_server_ownership"("organization_id");
ALTER TABLE "mail_server_ownership" ADD CONSTRAINT "mail_server_ownership_mail_server_id_fkey"
    FOREIGN KEY ("mail_server_id") REFERENCES "mail_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
