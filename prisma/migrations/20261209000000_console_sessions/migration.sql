-- Console sessions: an API key exchanged for a session cookie, so that the
-- key itself never sits in a browser. Only the SHA-256 hash of the session
-- token is stored; the token is the cookie's value and nothing else.

CREATE TABLE "console_sessions" (
    "id" UUID NOT NULL,
    "token_hash" CHAR(64) NOT NULL,
    "api_key_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "console_sessions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "console_sessions_window" CHECK ("expires_at" > "created_at")
);

CREATE UNIQUE INDEX "console_sessions_token_hash_key" ON "console_sessions"("token_hash");
CREATE INDEX "console_sessions_api_key_id_idx" ON "console_sessions"("api_key_id");

ALTER TABLE "console_sessions" ADD CONSTRAINT "console_sessions_api_key_id_fkey"
    FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;
