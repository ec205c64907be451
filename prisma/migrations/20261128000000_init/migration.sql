-- HeloPass initial schema: organizations, mail servers, API keys, audit trail,
-- idempotency records.

-- btree_gist lets one exclusion constraint mix equality on text/uuid with
-- overlap on inet.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TYPE "organization_status" AS ENUM ('active', 'suspended');
CREATE TYPE "api_key_role" AS ENUM ('admin', 'csr', 'auditor', 'filter');

CREATE TABLE "organizations" (
    "id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "customer_ref" VARCHAR(64),
    "status" "organization_status" NOT NULL DEFAULT 'active',
    "notes" VARCHAR(4000),
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "organizations_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "organizations_customer_ref_key" ON "organizations"("customer_ref");
CREATE INDEX "organizations_name_idx" ON "organizations"("name");

CREATE TABLE "mail_servers" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "helo_hostname" VARCHAR(253) NOT NULL,
    "description" VARCHAR(1000),
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),
    CONSTRAINT "mail_servers_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "mail_servers_organization_id_idx" ON "mail_servers"("organization_id");
CREATE INDEX "mail_servers_helo_hostname_idx" ON "mail_servers"("helo_hostname");
ALTER TABLE "mail_servers" ADD CONSTRAINT "mail_servers_organization_id_fkey"
    FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "mail_server_addresses" (
    "id" UUID NOT NULL,
    "mail_server_id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "helo_hostname" VARCHAR(253) NOT NULL,
    "prefix" INET NOT NULL,
    "position" INTEGER NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),
    CONSTRAINT "mail_server_addresses_pkey" PRIMARY KEY ("id"),
    -- Stored canonical: the network address of its prefix (host bits zero).
    CONSTRAINT "mail_server_addresses_prefix_canonical"
        CHECK ("prefix" = set_masklen(network("prefix")::inet, masklen("prefix")))
);
CREATE UNIQUE INDEX "mail_server_addresses_mail_server_id_prefix_key"
    ON "mail_server_addresses"("mail_server_id", "prefix");
ALTER TABLE "mail_server_addresses" ADD CONSTRAINT "mail_server_addresses_mail_server_id_fkey"
    FOREIGN KEY ("mail_server_id") REFERENCES "mail_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
-- The same (HELO, address) may not belong to two organizations; overlapping
-- prefixes count as the same address.
ALTER TABLE "mail_server_addresses" ADD CONSTRAINT "mail_server_addresses_helo_prefix_one_org"
    EXCLUDE USING gist ("helo_hostname" WITH =, "prefix" inet_ops WITH &&, "organization_id" WITH <>)
    WHERE ("deleted_at" IS NULL);

CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "role" "api_key_role" NOT NULL,
    "prefix" VARCHAR(32) NOT NULL,
    "secret_hash" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys"("secret_hash");

CREATE TABLE "audit_events" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "actor_id" UUID,
    "actor_name" VARCHAR(100) NOT NULL,
    "actor_role" VARCHAR(32) NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "entity_type" VARCHAR(64) NOT NULL,
    "entity_id" UUID NOT NULL,
    "organization_id" UUID,
    "before" JSONB,
    "after" JSONB,
    "request_id" VARCHAR(128),
    "prev_hash" CHAR(64) NOT NULL,
    "hash" CHAR(64) NOT NULL,
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "audit_events_seq_key" ON "audit_events"("seq");
CREATE UNIQUE INDEX "audit_events_hash_key" ON "audit_events"("hash");
CREATE INDEX "audit_events_entity_type_entity_id_idx" ON "audit_events"("entity_type", "entity_id");
CREATE INDEX "audit_events_organization_id_occurred_at_idx" ON "audit_events"("organization_id", "occurred_at");
CREATE INDEX "audit_events_actor_id_occurred_at_idx" ON "audit_events"("actor_id", "occurred_at");
CREATE INDEX "audit_events_action_occurred_at_idx" ON "audit_events"("action", "occurred_at");
CREATE INDEX "audit_events_occurred_at_idx" ON "audit_events"("occurred_at");

-- The audit trail is append-only: the database itself refuses to change or
-- remove a row, whoever asks.
CREATE FUNCTION "audit_events_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER "audit_events_no_update_delete"
    BEFORE UPDATE OR DELETE ON "audit_events"
    FOR EACH ROW EXECUTE FUNCTION "audit_events_refuse_change"();
CREATE TRIGGER "audit_events_no_truncate"
    BEFORE TRUNCATE ON "audit_events"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_refuse_change"();

CREATE TABLE "idempotency_records" (
    "id" UUID NOT NULL,
    "api_key_id" UUID NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "method" VARCHAR(10) NOT NULL,
    "path" VARCHAR(2048) NOT NULL,
    "request_hash" CHAR(64) NOT NULL,
    "response_status" INTEGER,
    "response_body" JSONB,
    "response_headers" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),
    CONSTRAINT "idempotency_records_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "idempotency_records_api_key_id_key_key" ON "idempotency_records"("api_key_id", "key");
CREATE INDEX "idempotency_records_created_at_idx" ON "idempotency_records"("created_at");
