"""The services' own defences, attacked through the front (--url) and, where a service is called
directly, on its own port (--services):

- internal signatures (v2) are bound to method, path and the receiving service's secret; v1 is
  refused on internal routes;
- token revocation: logout, password change and a role change end the older tokens at every service;
- text is limited in bytes as well as characters (a one-"character" megabyte is refused);
- a pledge of a campaign that is paused or closed cannot be paid;
- a refused card cannot be retried on the same pledge more than a few times;
- every service closes half-sent requests;
- each service's database role reaches its own database only (with --psql);
- names and titles cannot write markup into mail (with --maildir) or into the receipt page, however
  they hide their angle brackets (a prepended U+0600 joins `<` into another grapheme cluster);
- a campaign's currency cannot change under a pledge pledge-service has taken, however its
  lookups are cached;
- a guest's Idempotency-Key carries 128 bits or more;
- a user's password attempts are limited, from however many clients;
- a rebuild of an unknown campaign is 404; an admin's refund note stays internal; a NUL is 400
  invalid_text.

Secrets come from the environment the services were started with: <ROLE>_SERVICE_SIGNING_SECRET.
Prints 'platform: N passed, N failed'.
Usage: python3 platform_rules.py --url http://127.0.0.1:G --services user=http://..,campaign=..,pledge=..,payment=.. \
           --admin-email E --admin-password P
"""

import argparse
import email
import email.policy
import hashlib
import html.parser
import mailbox
import subprocess
import hmac
import json
import os
import time
import uuid

from edge_rules import HalfSentRequests
from lib import Sources, Steps, as_json, call, error_code, new_email, raw_request, wait_for


def signature(secret, method, path, body, version="v2", at=None):
    t = int(at or time.time())
    if version == "v1":
        payload = b"%d." % t + body
    else:
        payload = ("%d.%s.%s." % (t, method, path)).encode() + body
    return "t=%d,%s=%s" % (t, version, hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest())


class Tags(html.parser.HTMLParser):
    """The start tags (name, attributes) an HTML5 parser finds in a document."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    @classmethod
    def of(cls, text):
        parser = cls()
        parser.feed(text)
        parser.close()
        return parser.tags


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--services", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--block", type=int, default=30)
    parser.add_argument("--header-timeout", type=float, default=30)
    parser.add_argument("--psql", help="psql, to check the services' database roles (passwords from <ROLE>_DB_PASSWORD)")
    parser.add_argument("--pg-port", type=int)
    parser.add_argument("--maildir", help="where the SMTP server keeps what notification-service sent (the escaping check reads the mail)")
    args = parser.parse_args()
    base = args.url
    services = dict(item.split("=", 1) for item in args.services.split(","))
    secrets = {role: os.environ.get(role.upper() + "_SERVICE_SIGNING_SECRET", "").split(",")[0] for role in services}
    sources = Sources(args.block)
    steps = Steps("platform rules")
    state = {}

    slow = {role: HalfSentRequests(url, 50, sources) for role, url in services.items()}

    def login(email, password):
        status, _, raw = call(base, "POST", "/api/users/login", {"email": email, "password": password}, source=sources.take())
        assert status == 200, (status, raw)
        return as_json(raw)

    def register(name="Donor"):
        email, password = new_email(), "a good password"
        status, _, raw = call(base, "POST", "/api/users/register", {"email": email, "password": password, "name": name}, source=sources.take())
        assert status == 201, (status, raw)
        answer = as_json(raw)
        return {"email": email, "password": password, "token": answer["access_token"], "id": answer["user"]["id"]}

    def setup():
        state["admin"] = login(args.admin_email, args.admin_password)["access_token"]
        status, _, raw = call(base, "POST", "/api/campaigns", {"title": "Platform rules", "goal_amount": 100000, "currency": "USD"},
                              token=state["admin"], source=sources.take())
        assert status == 201, (status, raw)
        state["campaign"] = as_json(raw)["id"]

    # MARK: signatures

    def post_signed(role, path, body, header):
        return raw_request(services[role], "POST", path, body=body, headers={"X-CareForAll-Signature": header}, source=sources.take())

    def signatures_bound_to_route_and_service():
        body = json.dumps({"events": []}).encode()
        path = "/campaigns/events"
        status, _, raw = post_signed("campaign", path, body, signature(secrets["campaign"], "POST", path, body))
        assert status == 200, ("a correct v2 signature must pass", status, raw)
        refusals = {
            "v1 (body only)": signature(secrets["campaign"], "POST", path, body, version="v1"),
            "v2 made for another path": signature(secrets["campaign"], "POST", "/pledges/internal/lookup", body),
            "v2 made for another method": signature(secrets["campaign"], "GET", path, body),
            "v2 with another service's secret": signature(secrets["pledge"], "POST", path, body),
            "v2 older than 300 s": signature(secrets["campaign"], "POST", path, body, at=time.time() - 400),
        }
        wrong = []
        for name, header in refusals.items():
            status, _, raw = post_signed("campaign", path, body, header)
            if status != 401 or error_code(raw) != "invalid_signature":
                wrong.append("%s -> %d %s" % (name, status, raw[:100]))
        # A signature made for the pledge lookup replayed at the payment webhook.
        lookup = json.dumps({"pledge_id": str(uuid.uuid4())}).encode()
        header = signature(secrets["pledge"], "POST", "/pledges/internal/lookup", lookup)
        status, _, raw = post_signed("pledge", "/pledges/internal/lookup", lookup, header)
        if status != 404:
            wrong.append("the lookup's own signature -> %d %s" % (status, raw[:100]))
        status, _, raw = post_signed("pledge", "/pledges/webhooks/payment", lookup, header)
        if status != 401:
            wrong.append("the lookup's signature replayed at the payment webhook -> %d %s" % (status, raw[:100]))
        assert not wrong, "\n    " + "\n    ".join(wrong)

    # MARK: revocation

    def revoked_everywhere(token):
        """Whether every service now refuses `token` with token_revoked."""
        checks = [("GET", "/api/users/me"), ("GET", "/api/pledges"), ("GET", "/api/payments"), ("GET", "/api/campaigns?status=active")]
        answers = {}
        for method, path in checks:
            status, _, raw = call(base, method, path, token=token, source=sources.take())
            answers[path] = (status, error_code(raw))
        return all(answer == (401, "token_revoked") for answer in answers.values()), answers

    def logout_ends_tokens():
        donor = register()
        status, _, _ = call(base, "GET", "/api/pledges", token=donor["token"], source=sources.take())
        assert status == 200, status
        status, _, raw = call(base, "POST", "/api/users/logout", token=donor["token"], source=sources.take())
        assert status == 204, (status, raw)
        done = wait_for(lambda: revoked_everywhere(donor["token"])[0], 15)
        assert done, revoked_everywhere(donor["token"])[1]
        fresh = login(donor["email"], donor["password"])["access_token"]
        status, _, raw = call(base, "GET", "/api/users/me", token=fresh, source=sources.take())
        assert status == 200, ("a token issued after the logout works", status, raw)

    def password_change_ends_tokens():
        donor = register()
        status, headers, raw = call(base, "POST", "/api/users/me/password",
                                    {"current_password": "wrong password!", "new_password": "another password"}, token=donor["token"], source=sources.take())
        assert status == 401 and error_code(raw) == "invalid_credentials", (status, raw)
        status, headers, raw = call(base, "POST", "/api/users/me/password",
                                    {"current_password": donor["password"], "new_password": "another password"}, token=donor["token"], source=sources.take())
        assert status == 200 and "no-store" in headers.get("cache-control", ""), (status, headers, raw)
        fresh = as_json(raw)["access_token"]
        done = wait_for(lambda: revoked_everywhere(donor["token"])[0], 15)
        assert done, revoked_everywhere(donor["token"])[1]
        status, _, raw = call(base, "GET", "/api/pledges", token=fresh, source=sources.take())
        assert status == 200, ("the new token works", status, raw)
        status, _, raw = call(base, "POST", "/api/users/login", {"email": donor["email"], "password": donor["password"]}, source=sources.take())
        assert status == 401, ("the old password no longer logs in", status, raw)

    def demoted_admin_loses_admin():
        user = register("Soon admin")
        status, _, raw = call(base, "PATCH", "/api/users/" + user["id"], {"role": "admin"}, token=state["admin"], source=sources.take())
        assert status == 200, (status, raw)
        as_admin = login(user["email"], user["password"])["access_token"]
        create = {"title": "By a temporary admin", "goal_amount": 1000, "currency": "USD", "status": "draft"}
        status, _, raw = call(base, "POST", "/api/campaigns", create, token=as_admin, source=sources.take())
        assert status == 201, ("an admin may create", status, raw)
        status, _, raw = call(base, "PATCH", "/api/users/" + user["id"], {"role": "donor"}, token=state["admin"], source=sources.take())
        assert status == 200, (status, raw)

        def refused():
            status, _, raw = call(base, "POST", "/api/campaigns", create, token=as_admin, source=sources.take())
            return (status, error_code(raw)) == (401, "token_revoked")
        assert wait_for(refused, 15), "the demoted admin's token still creates campaigns"

    # MARK: resources and business flows

    def text_limited_in_bytes():
        heavy = "a" + "\u0301" * (400 * 1024)  # one grapheme cluster, 800 KiB of UTF-8: under the body limit
        pledge = {"campaign_id": state["campaign"], "amount": 100, "currency": "USD", "anonymous": False,
                  "message": heavy, "donor": {"name": "Guest", "email": new_email("guest")}}
        status, _, raw = call(base, "POST", "/api/pledges", pledge, headers={"Idempotency-Key": str(uuid.uuid4())}, source=sources.take())
        assert status == 400 and error_code(raw) == "invalid_message", (status, raw[:200])
        pledge["message"] = "ok"
        pledge["donor"]["name"] = "b" + "\u0301" * 4000
        status, _, raw = call(base, "POST", "/api/pledges", pledge, headers={"Idempotency-Key": str(uuid.uuid4())}, source=sources.take())
        assert status == 400 and error_code(raw) == "invalid_donor", (status, raw[:200])
        status, _, raw = call(base, "POST", "/api/users/register", {"email": new_email(), "password": "a good password", "name": "c" + "\u0301" * 4000},
                              source=sources.take())
        assert status == 400 and error_code(raw) == "name_required", (status, raw[:200])
        status, _, raw = call(base, "POST", "/api/campaigns", {"title": "d" + "\u0301" * 4000, "goal_amount": 100, "currency": "USD"},
                              token=state["admin"], source=sources.take())
        assert status == 400 and error_code(raw) == "invalid_title", (status, raw[:200])

    def guest_pledge(campaign, amount=700):
        body = {"campaign_id": campaign, "amount": amount, "currency": "USD", "anonymous": False,
                "donor": {"name": "Guest", "email": new_email("guest")}}
        status, _, raw = call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": str(uuid.uuid4())}, source=sources.take())
        assert status == 201, (status, raw)
        return as_json(raw)

    def closed_or_paused_campaign_not_paid():
        for final_status in ["paused", "closed"]:
            status, _, raw = call(base, "POST", "/api/campaigns", {"title": "Soon " + final_status, "goal_amount": 1000, "currency": "USD"},
                                  token=state["admin"], source=sources.take())
            campaign = as_json(raw)["id"]
            pledge = guest_pledge(campaign)
            if final_status == "paused":
                status, _, raw = call(base, "PATCH", "/api/campaigns/" + campaign, {"status": "paused"}, token=state["admin"], source=sources.take())
            else:
                status, _, raw = call(base, "DELETE", "/api/campaigns/" + campaign, token=state["admin"], source=sources.take())
            assert status == 200, (status, raw)
            status, _, raw = call(base, "POST", "/api/payments?receipt_token=" + pledge["receipt_token"],
                                  {"pledge_id": pledge["id"], "payment_method": "pm_card_visa"}, source=sources.take())
            assert status == 409 and error_code(raw) == "campaign_not_open", (final_status, status, raw)

    def card_testing_capped():
        pledge = guest_pledge(state["campaign"])
        answers = []
        for attempt in range(6):
            status, _, raw = call(base, "POST", "/api/payments?receipt_token=" + pledge["receipt_token"],
                                  {"pledge_id": pledge["id"], "payment_method": "pm_card_stolen_%d" % attempt}, source=sources.take())
            answers.append((status, error_code(raw)))
        refused = [a for a in answers if a == (422, "payment_method_refused")]
        assert 1 <= len(refused) <= 3, answers
        assert answers[-1] == (409, "payment_attempts_exhausted"), answers
        status, _, raw = call(base, "POST", "/api/payments?receipt_token=" + pledge["receipt_token"],
                              {"pledge_id": pledge["id"], "payment_method": "pm_card_visa"}, source=sources.take())
        assert (status, error_code(raw)) == (409, "payment_attempts_exhausted"), (status, raw)

    def services_close_half_sent_requests():
        wrong = []
        for role, watcher in slow.items():
            still_open, slowest = watcher.result(args.header_timeout)
            if still_open or slowest > args.header_timeout + 5:
                wrong.append("%s: %d of 50 still open, last closed after %s s" % (role, still_open, slowest))
        assert not wrong, wrong

    def database_roles_confined():
        databases = {"user": "users", "campaign": "campaigns", "pledge": "pledges", "payment": "payments"}
        wrong = []
        for role, own in databases.items():
            for database in databases.values():
                env = dict(os.environ, PGPASSWORD=os.environ[role.upper() + "_DB_PASSWORD"], PGCONNECT_TIMEOUT="5")
                answer = subprocess.run([args.psql, "-h", "127.0.0.1", "-p", str(args.pg_port), "-U", role + "_service", "-d", database,
                                         "-At", "-c", "SELECT 1"], env=env, capture_output=True, text=True)
                if (answer.returncode == 0) != (database == own):
                    wrong.append("%s_service -> %s: %s" % (role, database, "connected" if answer.returncode == 0 else answer.stderr.strip()[:120]))
            env = dict(os.environ, PGPASSWORD="wrong-password", PGCONNECT_TIMEOUT="5")
            answer = subprocess.run([args.psql, "-h", "127.0.0.1", "-p", str(args.pg_port), "-U", role + "_service", "-d", own, "-c", "SELECT 1"],
                                    env=env, capture_output=True, text=True)
            if answer.returncode == 0:
                wrong.append("%s_service connects with a wrong password" % role)
        assert not wrong, wrong

    # MARK: what the second attack found

    attack_name = ("\u0600<h1 \u0600>Action required\u0600</h1 \u0600>\u0600<a href=https://evil.example/claim \u0600>"
                   "Claim your refund\u0600</a \u0600>")
    redirect_name = "Rita\u0600<meta http-equiv=refresh content=0;url=https://evil.example/ \u0600><style>body{display:none}</style>"

    def pay(pledge, method):
        return call(base, "POST", "/api/payments?receipt_token=" + pledge["receipt_token"], {"pledge_id": pledge["id"], "payment_method": method},
                    source=sources.take())

    def markup_in_mail_and_receipts_escaped():
        status, _, raw = call(base, "POST", "/api/campaigns", {"title": "Wells " + attack_name, "goal_amount": 100000, "currency": "USD"},
                              token=state["admin"], source=sources.take())
        assert status == 201, (status, raw)
        campaign = as_json(raw)["id"]
        victim = new_email("victim")
        declined = named_guest_pledge(campaign, attack_name, victim)
        status, _, raw = pay(declined, "pm_card_chargeDeclined")
        assert status in (201, 200, 402, 422), (status, raw[:200])
        paid = named_guest_pledge(campaign, redirect_name, new_email("rita"))
        status, _, raw = pay(paid, "pm_card_visa")
        assert status in (200, 201), (status, raw[:200])

        def receipt_page():
            status, headers, raw = call(base, "GET", "/api/pledges/%s/receipt?receipt_token=%s" % (paid["id"], paid["receipt_token"]),
                                        headers={"Accept": "text/html"}, source=sources.take())
            return (headers, raw) if status == 200 else None
        page = wait_for(receipt_page, 20)
        assert page, "no receipt page"
        tags = Tags.of(page[1].decode())
        assert_only_template_markup("the receipt page", tags, allowed={"html", "head", "meta", "title", "style", "body", "p", "strong", "h1",
                                                                       "table", "tr", "th", "td"})
        assert [t for t in tags if t[0] == "h1"] == [("h1", [])], "the page's own h1 only"
        assert len([t for t in tags if t[0] == "style"]) == 1, "an injected <style>"
        assert all(dict(attributes).get("http-equiv") is None for name, attributes in tags if name == "meta"), "an injected meta refresh"
        if args.maildir:
            def failure_mail():
                for message in mailbox.Maildir(args.maildir, create=False):
                    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
                    if victim in str(parsed["To"]):
                        return parsed
                return None
            mail = wait_for(failure_mail, 30)
            assert mail is not None, "no payment-failed mail to %s" % victim
            html_part = mail.get_body(("html",)).get_content()
            tags = Tags.of(html_part)
            assert_only_template_markup("the payment-failed mail", tags, allowed={"html", "head", "meta", "title", "body", "p", "a"})
            assert not [t for t in tags if t[0] == "h1"], "an injected <h1> in the mail"

    def assert_only_template_markup(where, tags, allowed):
        foreign = [t for t in tags if t[0] not in allowed]
        assert not foreign, "%s has elements the template never writes: %r" % (where, foreign[:5])
        leaked = [t for t in tags if any("evil.example" in (value or "") for _, value in t[1])]
        assert not leaked, "%s has an attribute naming evil.example: %r" % (where, leaked[:3])

    def named_guest_pledge(campaign, name, address, amount=1500):
        body = {"campaign_id": campaign, "amount": amount, "currency": "USD", "anonymous": False, "donor": {"name": name, "email": address}}
        status, _, raw = call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": str(uuid.uuid4())}, source=sources.take())
        assert status == 201, (status, raw[:300])
        return as_json(raw)

    def currency_fixed_under_cached_lookups():
        status, _, raw = call(base, "POST", "/api/campaigns", {"title": "Currency lock", "goal_amount": 100000, "currency": "USD"},
                              token=state["admin"], source=sources.take())
        campaign = as_json(raw)["id"]

        def pledge(currency, amount=5000):
            body = {"campaign_id": campaign, "amount": amount, "currency": currency, "donor": {"name": "Cy", "email": new_email("cy")}}
            return call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": str(uuid.uuid4())}, source=sources.take())
        # The attack: a refused pledge makes pledge-service remember the campaign; the currency
        # changes; within the remembered 5 s a pledge in the old currency must still be refused.
        status, _, raw = pledge("EUR")
        assert (status, error_code(raw)) == (422, "currency_mismatch"), (status, raw)
        status, _, raw = call(base, "PATCH", "/api/campaigns/" + campaign, {"currency": "JPY"}, token=state["admin"], source=sources.take())
        assert status == 200, ("no pledge exists yet: the change is allowed", status, raw)
        status, _, raw = pledge("USD")
        assert (status, error_code(raw)) == (422, "currency_mismatch"), ("a USD pledge to a JPY campaign", status, raw)
        status, _, raw = pledge("JPY", 500)
        assert status == 201, (status, raw)
        # Taken before its event can have arrived: the currency is fixed already.
        status, _, raw = call(base, "PATCH", "/api/campaigns/" + campaign, {"currency": "USD"}, token=state["admin"], source=sources.take())
        assert (status, error_code(raw)) == (409, "currency_locked"), (status, raw)

    def guest_keys_unguessable():
        body = {"campaign_id": state["campaign"], "amount": 700, "currency": "USD", "donor": {"name": "Gus", "email": new_email("gus")}}
        status, _, raw = call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": "guess-me-1234"}, source=sources.take())
        assert (status, error_code(raw)) == (400, "idempotency_key_too_short"), (status, raw)
        key = str(uuid.uuid4())
        status, _, raw = call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": key}, source=sources.take())
        assert status == 201, (status, raw)

    def password_guessing_limited_per_user():
        donor = register()
        answers = []
        # Each guess from a client of its own: the per-client limits never see more than one.
        for guess in range(11):
            status, _, raw = call(base, "POST", "/api/users/me/password", {"current_password": "guess number %d" % guess, "new_password": "x" * 12},
                                  token=donor["token"], source=sources.take())
            answers.append((status, error_code(raw)))
        assert answers[:10] == [(401, "invalid_credentials")] * 10, answers
        status, headers, raw = call(base, "POST", "/api/users/me/password", {"current_password": donor["password"], "new_password": "x" * 12},
                                    token=donor["token"], source=sources.take())
        assert answers[10] == (429, "rate_limited") and (status, error_code(raw)) == (429, "rate_limited"), (answers, status, raw)
        assert int(headers.get("retry-after", "0")) >= 1, headers

    def smaller_points():
        status, _, raw = call(base, "POST", "/api/campaigns/%s/rebuild?from=events" % uuid.uuid4(), token=state["admin"], source=sources.take())
        assert (status, error_code(raw)) == (404, "not_found"), ("rebuild of an unknown campaign", status, raw)
        pledge = guest_pledge(state["campaign"], 2000)
        status, _, raw = pay(pledge, "pm_card_visa")
        payment = as_json(raw)
        assert status in (200, 201), (status, raw)

        def captured():
            status, _, raw = call(base, "GET", "/api/payments/%s?receipt_token=%s" % (payment["id"], pledge["receipt_token"]), source=sources.take())
            return as_json(raw).get("status") == "CAPTURED"
        assert wait_for(captured, 20), "the payment was not captured"
        note = "internal: suspected card testing, ticket 4411"
        status, _, raw = call(base, "POST", "/api/payments/%s/refunds" % payment["id"], {"amount": 500, "reason": note}, token=state["admin"],
                              headers={"Idempotency-Key": str(uuid.uuid4())}, source=sources.take())
        assert status == 201 and as_json(raw)["reason"] == note, (status, raw)
        status, _, raw = call(base, "GET", "/api/payments/%s?receipt_token=%s" % (payment["id"], pledge["receipt_token"]), source=sources.take())
        assert status == 200 and note not in raw.decode() and [r.get("reason") for r in as_json(raw)["refunds"]] == [None], ("the donor's view", raw)
        status, _, raw = call(base, "GET", "/api/payments/" + payment["id"], token=state["admin"], source=sources.take())
        assert [r.get("reason") for r in as_json(raw)["refunds"]] == [note], ("the admin's view", raw)
        body = {"campaign_id": state["campaign"], "amount": 700, "currency": "USD", "message": "nul\u0000here", "donor": {"name": "N", "email": new_email("nul")}}
        status, _, raw = call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": str(uuid.uuid4())}, source=sources.take())
        assert (status, error_code(raw)) == (400, "invalid_text"), (status, raw)

    steps.run("an admin opens a campaign", setup)
    if args.psql:
        steps.run("each service's database role reaches its own database only, with its password", database_roles_confined)
    steps.run("internal signatures are bound to method, path and the receiving service's secret", signatures_bound_to_route_and_service)
    steps.run("logout ends the caller's tokens at every service", logout_ends_tokens)
    steps.run("a password change ends older tokens and answers a new one", password_change_ends_tokens)
    steps.run("a demoted admin's token no longer acts as admin", demoted_admin_loses_admin)
    steps.run("text is limited in bytes as well as characters", text_limited_in_bytes)
    steps.run("a pledge of a paused or closed campaign cannot be paid", closed_or_paused_campaign_not_paid)
    steps.run("a refused card cannot be retried on the same pledge more than 3 times", card_testing_capped)
    steps.run("names and titles write no markup into mail or the receipt page, whatever marks hide their < and >", markup_in_mail_and_receipts_escaped)
    steps.run("a campaign's currency cannot change under a pledge taken on a remembered lookup", currency_fixed_under_cached_lookups)
    steps.run("a guest's Idempotency-Key is at least 128 bits", guest_keys_unguessable)
    steps.run("a user's password attempts are limited however many clients send them", password_guessing_limited_per_user)
    steps.run("rebuilding an unknown campaign is 404; an admin's refund note stays internal; a NUL is invalid_text", smaller_points)
    steps.run("every service closes half-sent requests", services_close_half_sent_requests)
    steps.finish()


if __name__ == "__main__":
    main()
