#!/bin/sh
# Runs once, when the PostgreSQL volume is new: one database per service, each owned by a role of
# its own that can connect to nothing else, with the passwords the `secrets` container made
# ($CAREFORALL_ROLES_FILE, default /run/careforall/roles.env). No service ever uses the superuser.
set -eu
roles=${CAREFORALL_ROLES_FILE:-/run/careforall/roles.env}
. "$roles"
create() {
    # $1 role, $2 database, $3 password; the password goes through a psql variable, never the command line.
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -q -v role="$1" -v database="$2" -v password="$3" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";
SQL
}
create user_service users "$USER_DB_PASSWORD"
create campaign_service campaigns "$CAMPAIGN_DB_PASSWORD"
create pledge_service pledges "$PLEDGE_DB_PASSWORD"
create payment_service payments "$PAYMENT_DB_PASSWORD"
create notification_service notifications "$NOTIFICATION_DB_PASSWORD"
