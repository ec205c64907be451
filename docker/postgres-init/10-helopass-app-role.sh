#!/bin/sh
# Runs once, when the postgres container initialises its data folder: the
# login role the HeloPass services connect as (DATABASE_URL). It owns
# nothing; `db migrate` / the migrations at start (as POSTGRES_USER, the
# owner: MIGRATION_DATABASE_URL) grant it what the services need, and on the
# audit tables only INSERT and SELECT.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="${HELOPASS_APP_USER:-helopass_app}" -v app_password="${HELOPASS_APP_PASSWORD:-helopass_app}" <<'SQL'
CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
SQL
