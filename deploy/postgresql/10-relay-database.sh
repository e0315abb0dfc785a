#!/bin/sh
# Runs once, when the postgresql service initialises an empty data volume
# (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
#
# Creates Relay's own role and database next to the databases Temporal's auto-setup creates
# (`temporal`, `temporal_visibility`, owned by the superuser). The `relay` role owns only the
# `relay` database: Relay cannot read or alter Temporal's tables.
#
# The password comes from POSTGRES_RELAY_PASSWORD (the operator's .env); psql passes it as a
# variable (:'relay_password'), so no quoting of the value is needed here.
set -eu
: "${POSTGRES_RELAY_PASSWORD:?POSTGRES_RELAY_PASSWORD must be set}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v relay_password="$POSTGRES_RELAY_PASSWORD" <<'SQL'
CREATE ROLE relay LOGIN PASSWORD :'relay_password';
CREATE DATABASE relay OWNER relay;
REVOKE ALL ON DATABASE relay FROM PUBLIC;
SQL
