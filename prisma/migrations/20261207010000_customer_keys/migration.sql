-- Customer self-service: a `customer` key is bound to one organization and
-- sees nothing else. Its owner (the person at the customer) is required like
-- any person's key (api_keys_owner_named holds for every role but filter).

ALTER TYPE "api_key_role" ADD VALUE IF NOT EXISTS 'customer';

ALTER TABLE "api_keys" ADD COLUMN "organization_id" UUID;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_fkey"
    FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- A customer key, and only a customer key, names its organization. (Compared
-- as text: the new enum value may not be used in the transaction adding it.)
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_customer_bound"
    CHECK (("role"::text = 'customer') = ("organization_id" IS NOT NULL));
CREATE INDEX "api_keys_organization_id_idx" ON "api_keys"("organization_id");
