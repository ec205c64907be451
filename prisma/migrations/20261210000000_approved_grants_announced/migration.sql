-- An exception that waited for approval takes effect when it is approved:
-- subscribers to `exception.granted` hear of it too, not only those to
-- `exception.approved`. One audit action may now announce several event
-- types, each written once into the outbox.

ALTER TABLE "notification_event_actions" DROP CONSTRAINT "notification_event_actions_pkey";
ALTER TABLE "notification_event_actions" ADD CONSTRAINT "notification_event_actions_pkey" PRIMARY KEY ("action", "event_type");
INSERT INTO "notification_event_actions" ("action", "event_type") VALUES ('exception.approved', 'exception.granted');

DROP INDEX "notification_events_audit_event_id_key";
CREATE UNIQUE INDEX "notification_events_audit_event_id_type_key" ON "notification_events"("audit_event_id", "type");

CREATE OR REPLACE FUNCTION "notification_event_from_audit"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mapped RECORD;
    announced BOOLEAN := FALSE;
    subject JSONB;
    organization JSONB;
BEGIN
    FOR mapped IN SELECT m."event_type" FROM "notification_event_actions" m WHERE m."action" = NEW."action" ORDER BY m."event_type" LOOP
        IF NOT announced THEN
            -- The bulky proof stays in the audit trail; receivers get the resource.
            subject := COALESCE(NEW."after", NEW."before", '{}'::jsonb) - 'evidence' - 'blocklistResult' - 'blocklistAccepted';
            SELECT jsonb_build_object('id', o."id", 'name', o."name", 'customerRef', o."customer_ref")
              INTO organization FROM "organizations" o WHERE o."id" = NEW."organization_id";
            announced := TRUE;
        END IF;
        INSERT INTO "notification_events" ("type", "organization_id", "occurred_at", "data", "audit_event_id")
        VALUES (
            mapped."event_type",
            NEW."organization_id",
            NEW."occurred_at",
            jsonb_build_object(
                NEW."entity_type", subject,
                'organization', organization,
                'actor', jsonb_build_object('name', NEW."actor_name", 'role', NEW."actor_role")
            ),
            NEW."id"
        );
    END LOOP;
    IF announced THEN
        PERFORM pg_notify('helopass_notifications', '');
    END IF;
    RETURN NULL;
END;
$$;
