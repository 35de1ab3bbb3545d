#!/bin/sh
# Runs before everything else in Docker Compose: makes the platform's secrets once and gives each
# container only the ones it needs, as deploy/k8s/ does:
#   $SECRETS_DIR/all/secrets.env        every value (only this container mounts it)
#   $SECRETS_DIR/<role>/service.env     user, campaign, pledge, payment, notification: that service's keys
#   $SECRETS_DIR/postgres/              the superuser's password and the services' database roles
# The signing secret of a service goes to it and to the services that call it (user: all the
# others; campaign: pledge and payment; pledge: payment and campaign; payment: campaign;
# notification: campaign and pledge); the
# JWT key and the admin password to user-service only; Stripe's to payment-service only; SMTP_URL
# (it holds the mail server's password) to notification-service only. Each service connects as its own database
# role, owner of its own database only. The admin password is printed once, when it is generated.
# A value set in .env (passed in the environment) wins when the service starts.
set -eu
dir=${SECRETS_DIR:-/run/careforall}
all=$dir/all/secrets.env
umask 077
mkdir -p "$dir/all" "$dir/user" "$dir/campaign" "$dir/pledge" "$dir/payment" "$dir/notification" "$dir/postgres"

random() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

if [ ! -s "$all" ]; then
    generated_admin=
    if [ -z "${ADMIN_PASSWORD:-}" ]; then generated_admin=$(random 12); fi
    {
        printf 'JWT_PRIVATE_KEY="%s"\n' "$(careforall generate-key)"
        printf 'USER_SERVICE_SIGNING_SECRET=%s\n' "$(random 32)"
        printf 'CAMPAIGN_SERVICE_SIGNING_SECRET=%s\n' "$(random 32)"
        printf 'PLEDGE_SERVICE_SIGNING_SECRET=%s\n' "$(random 32)"
        printf 'PAYMENT_SERVICE_SIGNING_SECRET=%s\n' "$(random 32)"
        printf 'NOTIFICATION_SERVICE_SIGNING_SECRET=%s\n' "$(random 32)"
        printf 'STRIPE_WEBHOOK_SECRET=whsec_%s\n' "$(random 24)"
        printf 'ADMIN_PASSWORD=%s\n' "${generated_admin:-$(random 12)}"
        printf 'POSTGRES_SUPERUSER_PASSWORD=%s\n' "$(random 24)"
        for role in USER CAMPAIGN PLEDGE PAYMENT NOTIFICATION; do printf '%s_DB_PASSWORD=%s\n' "$role" "$(random 24)"; done
    } >"$all.tmp"
    mv "$all.tmp" "$all"
    echo "secrets generated in the 'secrets' volume"
    if [ -n "$generated_admin" ]; then
        # The only time it is shown: it is never printed again (set ADMIN_PASSWORD in .env to choose it).
        echo "admin: ${ADMIN_EMAIL:-admin@careforall.local} / $generated_admin  (shown once)"
    fi
fi

# Secrets added by later versions, made once for an installation that predates them.
for key in NOTIFICATION_SERVICE_SIGNING_SECRET NOTIFICATION_DB_PASSWORD; do
    if ! grep -q "^$key=" "$all"; then printf '%s=%s\n' "$key" "$(random 32)" >>"$all"; fi
done

# Every start: write each container's share from the one source, so a rotation in $all reaches all.
. "$all"
url() { printf 'DATABASE_URL=postgres://%s_service:%s@postgres:5432/%s\n' "$1" "$2" "$3"; }
# A value from .env wins over the generated one when the service reads its file.
keep() { printf '%s="${%s:-%s}"\n' "$1" "$1" "$2"; }
{
    keep JWT_PRIVATE_KEY "$JWT_PRIVATE_KEY"
    keep ADMIN_PASSWORD "$ADMIN_PASSWORD"
    keep USER_SERVICE_SIGNING_SECRET "$USER_SERVICE_SIGNING_SECRET"
    url user "$USER_DB_PASSWORD" users
} >"$dir/user/service.env"
{
    keep CAMPAIGN_SERVICE_SIGNING_SECRET "$CAMPAIGN_SERVICE_SIGNING_SECRET"
    keep USER_SERVICE_SIGNING_SECRET "$USER_SERVICE_SIGNING_SECRET"
    keep NOTIFICATION_SERVICE_SIGNING_SECRET "$NOTIFICATION_SERVICE_SIGNING_SECRET"
    keep PLEDGE_SERVICE_SIGNING_SECRET "$PLEDGE_SERVICE_SIGNING_SECRET"
    keep PAYMENT_SERVICE_SIGNING_SECRET "$PAYMENT_SERVICE_SIGNING_SECRET"
    url campaign "$CAMPAIGN_DB_PASSWORD" campaigns
} >"$dir/campaign/service.env"
{
    keep PLEDGE_SERVICE_SIGNING_SECRET "$PLEDGE_SERVICE_SIGNING_SECRET"
    keep CAMPAIGN_SERVICE_SIGNING_SECRET "$CAMPAIGN_SERVICE_SIGNING_SECRET"
    keep USER_SERVICE_SIGNING_SECRET "$USER_SERVICE_SIGNING_SECRET"
    keep NOTIFICATION_SERVICE_SIGNING_SECRET "$NOTIFICATION_SERVICE_SIGNING_SECRET"
    url pledge "$PLEDGE_DB_PASSWORD" pledges
} >"$dir/pledge/service.env"
{
    keep STRIPE_WEBHOOK_SECRET "$STRIPE_WEBHOOK_SECRET"
    keep STRIPE_API_KEY ""
    keep PAYMENT_SERVICE_SIGNING_SECRET "$PAYMENT_SERVICE_SIGNING_SECRET"
    keep PLEDGE_SERVICE_SIGNING_SECRET "$PLEDGE_SERVICE_SIGNING_SECRET"
    keep CAMPAIGN_SERVICE_SIGNING_SECRET "$CAMPAIGN_SERVICE_SIGNING_SECRET"
    keep USER_SERVICE_SIGNING_SECRET "$USER_SERVICE_SIGNING_SECRET"
    url payment "$PAYMENT_DB_PASSWORD" payments
} >"$dir/payment/service.env"
{
    keep NOTIFICATION_SERVICE_SIGNING_SECRET "$NOTIFICATION_SERVICE_SIGNING_SECRET"
    keep USER_SERVICE_SIGNING_SECRET "$USER_SERVICE_SIGNING_SECRET"
    keep SMTP_URL ""
    url notification "$NOTIFICATION_DB_PASSWORD" notifications
} >"$dir/notification/service.env"
printf '%s' "$POSTGRES_SUPERUSER_PASSWORD" >"$dir/postgres/superuser_password"
{
    printf 'USER_DB_PASSWORD=%s\n' "$USER_DB_PASSWORD"
    printf 'CAMPAIGN_DB_PASSWORD=%s\n' "$CAMPAIGN_DB_PASSWORD"
    printf 'PLEDGE_DB_PASSWORD=%s\n' "$PLEDGE_DB_PASSWORD"
    printf 'PAYMENT_DB_PASSWORD=%s\n' "$PAYMENT_DB_PASSWORD"
    printf 'NOTIFICATION_DB_PASSWORD=%s\n' "$NOTIFICATION_DB_PASSWORD"
} >"$dir/postgres/roles.env"

# The services run as uid 10001, PostgreSQL as 70 (alpine's postgres): each owns only its share.
if [ "$(id -u)" = "0" ]; then
    for role in user campaign pledge payment notification; do chown -R 10001 "$dir/$role"; done
    chown -R 70 "$dir/postgres"
fi
