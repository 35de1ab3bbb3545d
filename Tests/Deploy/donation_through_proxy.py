"""A donation through a front proxy (deploy/nginx/nginx.conf in nginx, or the built-in gateway),
in front of the services running as separate processes on PostgreSQL, plus the proxy's rules:
internal routes refused, request ids, live totals streaming, rate limits, JSON errors.
Prints '<name>: N passed, N failed'.
Usage: python3 donation_through_proxy.py --name nginx --url http://127.0.0.1:PORT --admin-email E --admin-password P
"""

import argparse
import email
import glob
import os
import email.policy
import email.utils
import mailbox
import json
import re
import sys
import time
import urllib.error
import urllib.request
import uuid


def call(base, method, path, body=None, token=None, headers=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, dict(response.headers), raw
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def as_json(raw):
    try:
        return json.loads(raw)
    except Exception:
        return {}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--maildir", help="where the SMTP server keeps what notification-service sent it")
    parser.add_argument("--eml-dir", help="where notification-service writes its mail as .eml files (no SMTP server)")
    args = parser.parse_args()
    base = args.url
    results = []
    state = {}

    def step(name, body):
        try:
            body()
            results.append(True)
            print("  ok    " + name, flush=True)
        except Exception as error:
            results.append(False)
            print("  FAIL  %s: %r" % (name, error), flush=True)

    def web_ui():
        status, headers, raw = call(base, "GET", "/")
        assert status == 200 and b"CareForAll" in raw, status
        assert headers.get("Content-Type", "").startswith("text/html"), headers

    def register_and_request_ids():
        email = "donor-%s@example.org" % uuid.uuid4().hex[:8]
        status, headers, raw = call(base, "POST", "/api/users/register", {"email": email, "password": "through the proxy", "name": "Proxy Donor"},
                                    headers={"X-Request-ID": "proxy-test-1"})
        assert status == 201, (status, raw)
        assert headers.get("X-Request-ID") == "proxy-test-1", headers
        state["donor"] = as_json(raw)["access_token"]
        status, headers, _ = call(base, "GET", "/api/users/me", token=state["donor"])
        assert status == 200 and len(headers.get("X-Request-ID", "")) >= 16, headers

    def admin_opens_campaign():
        status, _, raw = call(base, "POST", "/api/users/login", {"email": args.admin_email, "password": args.admin_password})
        assert status == 200, (status, raw)
        admin = as_json(raw)["access_token"]
        status, _, raw = call(base, "POST", "/api/campaigns", {"title": "Through " + args.name, "goal_amount": 100000, "currency": "USD"}, token=admin)
        assert status == 201, (status, raw)
        state["campaign"] = as_json(raw)["id"]

    def pledge_and_pay():
        key = str(uuid.uuid4())
        body = {"campaign_id": state["campaign"], "amount": 4200, "currency": "USD", "anonymous": False, "message": "via " + args.name}
        status, _, raw = call(base, "POST", "/api/pledges", body, token=state["donor"], headers={"Idempotency-Key": key})
        assert status == 201, (status, raw)
        pledge = as_json(raw)
        status, headers, replay = call(base, "POST", "/api/pledges", body, token=state["donor"], headers={"Idempotency-Key": key})
        assert status == 201 and headers.get("Idempotent-Replayed") == "true" and as_json(replay)["id"] == pledge["id"], (status, headers)
        status, _, raw = call(base, "POST", "/api/payments", {"pledge_id": pledge["id"], "payment_method": "pm_card_visa"}, token=state["donor"])
        assert status == 201 and as_json(raw)["status"] == "CAPTURED", (status, raw)
        state["pledge"] = pledge["id"]

    def totals_settle():
        deadline = time.time() + 30
        campaign = {}
        while time.time() < deadline:
            campaign = as_json(call(base, "GET", "/api/campaigns/" + state["campaign"])[2])
            if campaign.get("captured_amount") == 4200 and campaign.get("total_payments") == 1:
                break
            time.sleep(0.3)
        assert campaign.get("captured_amount") == 4200 and campaign.get("pending_amount") == 0, campaign
        pledge = as_json(call(base, "GET", "/api/pledges/" + state["pledge"], token=state["donor"])[2])
        assert pledge.get("status") == "CAPTURED", pledge

    def yen_donation():
        # JPY has no minor units: 3,000 is 3,000 yen, counted as 3,000 in the campaign and its history.
        status, _, raw = call(base, "POST", "/api/users/login", {"email": args.admin_email, "password": args.admin_password})
        admin = as_json(raw)["access_token"]
        status, _, raw = call(base, "POST", "/api/campaigns", {"title": "Yen through " + args.name, "goal_amount": 1000000, "currency": "JPY"}, token=admin)
        assert status == 201 and as_json(raw)["minor_units"] == 0, (status, raw)
        campaign = as_json(raw)["id"]
        body = {"campaign_id": campaign, "amount": 3000, "currency": "JPY", "donor": {"name": "Yen Gäst", "email": "yen-%s@example.org" % args.name}}
        status, _, raw = call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert status == 201, (status, raw)
        pledge = as_json(raw)
        status, _, raw = call(base, "POST", "/api/payments?receipt_token=" + pledge["receipt_token"], {"pledge_id": pledge["id"], "payment_method": "pm_card_visa"})
        assert status == 201 and as_json(raw)["status"] == "CAPTURED" and as_json(raw)["amount"] == 3000, (status, raw)
        deadline, totals = time.time() + 30, {}
        while time.time() < deadline and totals.get("captured_amount") != 3000:
            totals = as_json(call(base, "GET", "/api/campaigns/" + campaign)[2])
            time.sleep(0.3)
        assert totals.get("captured_amount") == 3000, totals
        history = as_json(call(base, "GET", "/api/campaigns/" + campaign + "/donations")[2])["items"]
        assert [(row["amount"], row["currency"], row["status"]) for row in history] == [(3000, "JPY", "CAPTURED")], history
        # Its receipt, by the guest's token: once the capture reaches pledge-service.
        receipt_path = "/api/pledges/%s/receipt?receipt_token=%s" % (pledge["id"], pledge["receipt_token"])
        deadline, status = time.time() + 30, 0
        while time.time() < deadline:
            status, _, raw = call(base, "GET", receipt_path)
            if status == 200:
                break
            time.sleep(0.3)
        receipt = as_json(raw)
        assert status == 200 and re.match(r"^CFA-\d{4}-\d{6,}$", receipt["receipt_number"]) and receipt["amount"] == 3000, (status, raw)
        status, headers, page = call(base, "GET", receipt_path, headers={"Accept": "text/html"})
        assert status == 200 and receipt["receipt_number"].encode() in page and b"3000 JPY" in page, (status, page[:300])
        state["yen"] = (pledge, receipt["receipt_number"])

    def sent_mail():
        if args.maildir:
            return [message.as_bytes() for message in mailbox.Maildir(args.maildir, create=False)]
        return [open(path, "rb").read() for path in glob.glob(os.path.join(args.eml_dir, "*.eml"))]

    def receipt_mail():
        # notification-service sent it through a real SMTP server (aiosmtpd: STARTTLS and AUTH
        # PLAIN required), which kept it in a Maildir; Python's own MIME parser reads it.
        pledge, number = state["yen"]
        recipient = "yen-%s@example.org" % args.name
        deadline, found = time.time() + 30, None
        while time.time() < deadline and found is None:
            for raw in sent_mail():
                parsed = email.message_from_bytes(raw, policy=email.policy.default)
                if recipient in str(parsed["To"]):
                    found = parsed
            time.sleep(0.3)
        assert found is not None, "no mail to %s" % recipient
        assert str(found["Subject"]) == "Your donation receipt " + number, found["Subject"]
        assert str(found["To"]) == "Yen Gäst <%s>" % recipient, found["To"]
        assert re.match(r"^<[0-9a-f-]{36}@[^>]+>$", str(found["Message-ID"])), found["Message-ID"]
        assert email.utils.parsedate_to_datetime(str(found["Date"])).tzinfo is not None, found["Date"]
        assert found.get_content_type() == "multipart/alternative", found.get_content_type()
        text = found.get_body(("plain",)).get_content()
        html = found.get_body(("html",)).get_content()
        link = "/#/receipts/%s/%s" % (pledge["id"], pledge["receipt_token"])
        assert "3000 JPY" in text and number in text and link in text, text
        assert "Dear Yen Gäst," in html and link in html, html

    def live_stream():
        request = urllib.request.Request(base + "/api/campaigns/" + state["campaign"] + "/stream")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers.get("Content-Type", "").startswith("text/event-stream"), response.headers
            text = b""
            while b"event: campaign" not in text or not text.endswith(b"\n\n"):
                chunk = response.read1(4096)
                assert chunk, "the stream ended before its first event"
                text += chunk
            assert b'"captured_amount":4200' in text, text[:300]

    def internal_routes_refused():
        for method, path in [("POST", "/api/campaigns/events"), ("POST", "/api/pledges/webhooks/payment"),
                             ("POST", "/api/pledges/internal/lookup"), ("POST", "/api//campaigns/events"), ("GET", "/api/unknown/thing")]:
            status, _, raw = call(base, method, path, {})
            assert status == 404 and as_json(raw).get("error", {}).get("code") == "not_found", (method, path, status, raw)

    def login_rate_limited():
        answers = []
        for _ in range(15):
            status, headers, raw = call(base, "POST", "/api/users/login", {"email": "nobody@example.org", "password": "wrong password"})
            answers.append((status, headers.get("Retry-After"), as_json(raw).get("error", {}).get("code")))
        limited = [a for a in answers if a[0] == 429]
        assert limited, answers
        assert all(a[1] and int(a[1]) >= 1 and a[2] == "rate_limited" for a in limited), limited
        assert answers[0][0] == 401, answers[0]

    step("the web UI is served at /", web_ui)
    step("register through the proxy; X-Request-ID kept, or made", register_and_request_ids)
    step("an admin opens a campaign", admin_opens_campaign)
    step("a pledge (replayed by its Idempotency-Key) and its payment", pledge_and_pay)
    step("the campaign total and the pledge settle", totals_settle)
    step("a guest's yen donation is counted in yen (no minor units), and its receipt is issued", yen_donation)
    if args.maildir:
        step("its receipt mail reaches a real SMTP server (STARTTLS, AUTH PLAIN) as a MIME message with both parts", receipt_mail)
    elif args.eml_dir:
        step("its receipt mail is written (no SMTP server configured) as a MIME message with both parts", receipt_mail)
    step("live totals stream through", live_stream)
    step("internal and unknown routes are 404 not_found", internal_routes_refused)
    step("login is rate-limited: 429 rate_limited with Retry-After", login_rate_limited)
    passed = sum(results)
    print("%s: %d passed, %d failed" % (args.name, passed, len(results) - passed))
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
