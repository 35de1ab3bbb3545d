#!/bin/sh
# Runs before the services in Docker Compose: makes the secrets every service reads from
# /run/careforall/secrets.env, once, and keeps them in the `secrets` volume. A value set in .env
# (passed in the environment) wins over the generated one.
set -eu
file=/run/careforall/secrets.env
if [ ! -s "$file" ]; then
    random() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
    umask 077
    {
        printf 'JWT_PRIVATE_KEY="${JWT_PRIVATE_KEY:-%s}"\n' "$(careforall generate-key)"
        printf 'INTERNAL_SIGNING_SECRET="${INTERNAL_SIGNING_SECRET:-%s}"\n' "$(random 32)"
        printf 'STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_%s}"\n' "$(random 24)"
        printf 'ADMIN_PASSWORD="${ADMIN_PASSWORD:-%s}"\n' "$(random 12)"
    } >"$file.tmp"
    mv "$file.tmp" "$file"
    chown 10001 "$file"
    echo "secrets generated in the 'secrets' volume"
fi
# Tell the person at the terminal how to sign in as the bootstrap admin.
. "$file"
echo "admin: ${ADMIN_EMAIL:-admin@careforall.local} / ${ADMIN_PASSWORD}  (set ADMIN_PASSWORD in .env to choose it)"
