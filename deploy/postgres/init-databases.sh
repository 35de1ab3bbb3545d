#!/bin/sh
# Runs once, when the PostgreSQL volume is new: one database per service, as DESIGN.md says.
set -eu
for database in users campaigns pledges payments; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -c "CREATE DATABASE $database"
done
