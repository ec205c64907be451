-- The allowlist's change log: for every version, the state each exception it
-- touched ended in (its feed entry, or NULL when it left the list). A process
-- at version N applies exactly N+1..current from here (or from the NOTIFY
-- payload), without reading the whole list. Pruned by FEED_CHANGE_LOG_RETENTION_HOURS.

CREATE TABLE "feed_changes" (
    "version" BIGINT NOT NULL,
    "exception_id" UUID NOT NULL,
    "entry" JSONB,

    CONSTRAINT "feed_changes_pkey" PRIMARY KEY ("version", "exception_id")
);
