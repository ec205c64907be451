-- Closing the loop with the customer: technical contacts of an organization,
-- an outbox of events written in the same transaction as the change that
-- causes them, webhook subscriptions (secrets encrypted at rest), and a
-- delivery log with one row per attempt.

-- Technical contacts ------------------------------------------------------------

ALTER TABLE "organizations" ADD COLUMN "technical_contacts" VARCHAR(254)[] NOT NULL DEFAULT '{}';
ALTER TABLE "organizations" ADD CONSTRAINT "organizations_technical_contacts_bounded"
    CHECK (cardinality("technical_contacts") <= 20);

-- Which audit actions are events the outside world hears about ------------------
-- A row here is all it takes for a new audit action to become a webhook event.

CREATE TABLE "notification_event_actions" (
    "action" VARCHAR(64) NOT NULL,
    "event_type" VARCHAR(64) NOT NULL,

    CONSTRAINT "notification_event_actions_pkey" PRIMARY KEY ("action")
);

INSERT INTO "notification_event_actions" ("action", "event_type") VALUES
    ('exception.requested', 'exception.requested'),
    ('exception.approved', 'exception.approved'),
    ('exception.rejected', 'exception.rejected'),
    ('exception.granted', 'exception.granted'),
    ('exception.revoked', 'exception.revoked'),
    ('exception.renewed', 'exception.renewed'),
    ('exception.renewal_approved', 'exception.renewed'),
    ('exception.suspended', 'exception.suspended'),
    ('exception.restored', 'exception.restored'),
    ('exception.expired', 'exception.expired'),
    ('exception.no_longer_needed', 'exception.no_longer_needed'),
    ('domain.verified', 'domain.verified'),
    ('domain.override_approved', 'domain.verified'),
    ('domain.failing', 'domain.failing'),
    ('domain.lapsed', 'domain.lapsed'),
    ('domain.recovered', 'domain.recovered');

-- The outbox ----------------------------------------------------------------------

CREATE TABLE "notification_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "type" VARCHAR(64) NOT NULL,
    "organization_id" UUID,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "data" JSONB NOT NULL,
    -- The audit event it follows from; null for the worker's timed events.
    "audit_event_id" UUID,
    -- The occasion of a timed event (exception, lead time, expiry): each is announced once.
    "occasion_key" VARCHAR(200),
    -- When it was handed to the subscriptions (and contacts) it concerns.
    "dispatched_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_events_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "notification_events_audit_event_id_key" ON "notification_events"("audit_event_id");
CREATE UNIQUE INDEX "notification_events_occasion_key_key" ON "notification_events"("occasion_key");
CREATE INDEX "notification_events_occurred_at_idx" ON "notification_events"("occurred_at");
CREATE INDEX "notification_events_undispatched_idx" ON "notification_events"("created_at") WHERE "dispatched_at" IS NULL;

-- Every audit event whose action is listed above writes its event into the
-- outbox, inside the transaction that made the change: no code path can make
-- a change and forget to announce it, and nothing is announced that did not
-- commit. The worker hears of it through NOTIFY (sent at commit).
CREATE FUNCTION "notification_event_from_audit"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mapped VARCHAR(64);
    subject JSONB;
    organization JSONB;
BEGIN
    SELECT m."event_type" INTO mapped FROM "notification_event_actions" m WHERE m."action" = NEW."action";
    IF mapped IS NULL THEN
        RETURN NULL;
    END IF;
    -- The bulky proof stays in the audit trail; receivers get the resource.
    subject := COALESCE(NEW."after", NEW."before", '{}'::jsonb) - 'evidence' - 'blocklistResult' - 'blocklistAccepted';
    SELECT jsonb_build_object('id', o."id", 'name', o."name", 'customerRef', o."customer_ref")
      INTO organization FROM "organizations" o WHERE o."id" = NEW."organization_id";
    INSERT INTO "notification_events" ("type", "organization_id", "occurred_at", "data", "audit_event_id")
    VALUES (
        mapped,
        NEW."organization_id",
        NEW."occurred_at",
        jsonb_build_object(
            NEW."entity_type", subject,
            'organization', organization,
            'actor', jsonb_build_object('name', NEW."actor_name", 'role', NEW."actor_role")
        ),
        NEW."id"
    );
    PERFORM pg_notify('helopass_notifications', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER "audit_events_notification" AFTER INSERT ON "audit_events"
    FOR EACH ROW EXECUTE FUNCTION "notification_event_from_audit"();

-- Webhook subscriptions -------------------------------------------------------------

CREATE TABLE "webhook_subscriptions" (
    "id" UUID NOT NULL,
    "url" VARCHAR(2048) NOT NULL,
    "events" VARCHAR(64)[] NOT NULL,
    "organization_id" UUID,
    -- The signing secret, AES-256-GCM under WEBHOOK_SECRET_KEY (HMAC needs the secret itself, so no hash will do).
    "secret_sealed" VARCHAR(200) NOT NULL,
    -- Which key sealed it (the first 16 hex digits of its SHA-256), so a rotation can find the right one.
    "secret_key_id" CHAR(16) NOT NULL,
    "created_by" UUID,
    "created_by_owner" VARCHAR(254),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_subscriptions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhook_subscriptions_events_bounded" CHECK (cardinality("events") BETWEEN 1 AND 32)
);

CREATE INDEX "webhook_subscriptions_organization_id_idx" ON "webhook_subscriptions"("organization_id");

ALTER TABLE "webhook_subscriptions" ADD CONSTRAINT "webhook_subscriptions_organization_id_fkey"
    FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The key that seals subscription secrets when WEBHOOK_SECRET_KEY is not set (where allowed).
CREATE TABLE "webhook_secret_key" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "key" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_secret_key_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhook_secret_key_single_row" CHECK ("id" = 1)
);

-- Deliveries and their attempts -----------------------------------------------------

CREATE TABLE "notification_deliveries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "event_id" UUID NOT NULL,
    "channel" VARCHAR(8) NOT NULL,
    "subscription_id" UUID,
    -- E-mail: the organization's technical contacts when the event was dispatched.
    "recipients" VARCHAR(254)[] NOT NULL DEFAULT '{}',
    -- The delivery an admin replayed (a replay is a delivery of its own).
    "replay_of" UUID,
    "status" VARCHAR(16) NOT NULL DEFAULT 'pending',
    "attempt_count" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3),
    -- A worker is attempting it until then (a worker that dies mid-attempt leaves it to another).
    "claimed_until" TIMESTAMPTZ(3),
    "last_error" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "notification_deliveries_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notification_deliveries_channel_known" CHECK ("channel" IN ('webhook', 'email')),
    CONSTRAINT "notification_deliveries_status_known" CHECK ("status" IN ('pending', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT "notification_deliveries_webhook_has_subscription" CHECK (("channel" = 'webhook') = ("subscription_id" IS NOT NULL))
);

CREATE INDEX "notification_deliveries_event_id_idx" ON "notification_deliveries"("event_id");
CREATE INDEX "notification_deliveries_subscription_id_created_at_idx" ON "notification_deliveries"("subscription_id", "created_at");
-- Each event reaches each subscription (and the contacts) once; replays come on top.
CREATE UNIQUE INDEX "notification_deliveries_once_per_subscription" ON "notification_deliveries"("event_id", "subscription_id")
    WHERE "replay_of" IS NULL AND "channel" = 'webhook';
CREATE UNIQUE INDEX "notification_deliveries_once_by_email" ON "notification_deliveries"("event_id")
    WHERE "replay_of" IS NULL AND "channel" = 'email';
CREATE INDEX "notification_deliveries_due_idx" ON "notification_deliveries"("next_attempt_at") WHERE "status" = 'pending';

ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_event_id_fkey"
    FOREIGN KEY ("event_id") REFERENCES "notification_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_subscription_id_fkey"
    FOREIGN KEY ("subscription_id") REFERENCES "webhook_subscriptions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "notification_attempts" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "delivery_id" UUID NOT NULL,
    "attempted_at" TIMESTAMPTZ(3) NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    -- delivered, failed (an answer other than 2xx, or no answer), refused (a target we will not reach).
    "outcome" VARCHAR(16) NOT NULL,
    "status_code" INTEGER,
    "error" VARCHAR(500),
    -- The URL last tried (after redirects), or "smtp" for e-mail.
    "target" VARCHAR(2048),

    CONSTRAINT "notification_attempts_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notification_attempts_outcome_known" CHECK ("outcome" IN ('delivered', 'failed', 'refused'))
);

CREATE INDEX "notification_attempts_delivery_id_attempted_at_idx" ON "notification_attempts"("delivery_id", "attempted_at");

ALTER TABLE "notification_attempts" ADD CONSTRAINT "notification_attempts_delivery_id_fkey"
    FOREIGN KEY ("delivery_id") REFERENCES "notification_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;
