-- The hash chain leaves the event rows. An event is written with its change,
-- inside that change's transaction, without any lock; right after it commits
-- it is linked into the chain, in commit order, by a short critical section
-- (one advisory lock, a batch of links, no user transaction inside it). So
-- writers no longer queue behind one global lock held across whole
-- transactions, and the chain holds only what committed.

-- One link per event: position 1, 2, 3, … without gaps; hash =
-- sha256(prev_hash + canonical event), prev_hash the link before's hash.
CREATE TABLE "audit_chain" (
    "position" BIGINT NOT NULL,
    "event_id" UUID NOT NULL,
    "prev_hash" CHAR(64) NOT NULL,
    "hash" CHAR(64) NOT NULL,
    "chained_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "audit_chain_pkey" PRIMARY KEY ("position")
);
CREATE UNIQUE INDEX "audit_chain_event_id_key" ON "audit_chain"("event_id");
CREATE UNIQUE INDEX "audit_chain_hash_key" ON "audit_chain"("hash");
ALTER TABLE "audit_chain" ADD CONSTRAINT "audit_chain_event_id_fkey"
    FOREIGN KEY ("event_id") REFERENCES "audit_events"("id") ON DELETE RESTRICT ON UPDATE RESTRICT;

-- The events chained so far keep their links and hashes, in their order.
INSERT INTO "audit_chain" ("position", "event_id", "prev_hash", "hash")
SELECT row_number() OVER (ORDER BY "seq"), "id", "prev_hash", "hash" FROM "audit_events";

ALTER TABLE "audit_events" DROP COLUMN "prev_hash", DROP COLUMN "hash";

-- Append-only like the events: the guard names the table it stands on.
CREATE FUNCTION "audit_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER "audit_chain_no_update_delete"
    BEFORE UPDATE OR DELETE ON "audit_chain"
    FOR EACH ROW EXECUTE FUNCTION "audit_refuse_change"();
CREATE TRIGGER "audit_chain_no_truncate"
    BEFORE TRUNCATE ON "audit_chain"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_refuse_change"();

-- Events committed but not linked yet (a work queue, not part of the record:
-- verification finds an event without a link whatever this table says).
CREATE TABLE "audit_unchained" (
    "event_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    CONSTRAINT "audit_unchained_pkey" PRIMARY KEY ("event_id")
);
CREATE INDEX "audit_unchained_seq_idx" ON "audit_unchained"("seq");

-- Every event lands in the queue with its own insert: no code path can write
-- an event and forget to have it chained.
CREATE FUNCTION "audit_event_queue_for_chain"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "audit_unchained" ("event_id", "seq") VALUES (NEW."id", NEW."seq");
    RETURN NULL;
END;
$$;
CREATE TRIGGER "audit_events_queue_for_chain" AFTER INSERT ON "audit_events"
    FOR EACH ROW EXECUTE FUNCTION "audit_event_queue_for_chain"();
