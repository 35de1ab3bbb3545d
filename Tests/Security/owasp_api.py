"""The OWASP API Security Top 10 (2023) items that the other suites do not already cover, attacked
through one front proxy (the built-in gateway or nginx) in front of the services as processes.
Each step names its item; docs/security.md lists every item with all the tests that cover it.

API1 object-level authorization: every {id} route, as another donor, as a guest with another
  pledge's receipt token, with a made-up token.
API2 authentication: garbage, tampered (role raised, signature kept), `alg: none`, HS256 keyed with
  the public key, ES256 signed by another key under the real key's id; a token signed with the
  platform's own key (--jwt-key-file) that expired a minute ago.
API3 property-level authorization: mass assignment on register, pledges, campaigns and users;
  nothing private (emails, user ids, receipt tokens) in public answers.
API4 resource consumption: bodies over 1 MiB, page sizes over the maximum.
API5 function-level authorization: every admin route without a token (401) and as a donor (403),
  then in every spelling of its path (lib.spellings, the corpus the internal routes get).
API7 SSRF: URLs of a listener of ours in every text field and in forwarding headers; nothing
  ever connects to it.
API8 misconfiguration: errors carry a stable code and no internals; no server version is told.
Prints '<name> owasp: N passed, N failed'.
Usage: owasp_api.py --name gateway --url http://127.0.0.1:PORT --admin-email E --admin-password P --jwt-key-file F [--block 50]
"""

import argparse
import base64
import json
import socket
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from lib import Sources, Steps, as_json, call, error_code, new_email, raw_request, spellings

INTERNALS = ["Swift", ".swift", "Fatal", "SQL", "postgres", "sqlite", "Postgres", "stack", "NIO", "Hummingbird", "at /"]


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_json(value):
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Listener:
    """A TCP listener on loopback that counts connections: the SSRF probe's target."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--jwt-key-file", help="the platform's JWT signing key (PEM), for the expired-token test")
    args = parser.parse_args()
    base = args.url
    sources = Sources(args.block)
    steps = Steps(args.name + " owasp")
    state = {}

    def api(method, path, body=None, token=None, headers=None):
        status, headers_, raw = call(base, method, path, body=body, token=token, headers=headers, source=sources.take())
        return status, as_json(raw), raw, headers_

    def register():
        email = new_email()
        status, answer, raw, _ = api("POST", "/api/users/register", {"email": email, "password": "a good password", "name": "Owasp Donor"})
        assert status == 201, (status, raw)
        return {"email": email, "token": answer["access_token"], "id": answer["user"]["id"]}

    def pledge(token=None, donor=None, amount=900):
        body = {"campaign_id": state["campaign"], "amount": amount, "currency": "USD", "anonymous": False}
        if donor:
            body["donor"] = donor
        status, answer, raw, _ = api("POST", "/api/pledges", body, token=token, headers={"Idempotency-Key": new_email("key")})
        assert status == 201, (status, raw)
        return answer

    def setup():
        status, answer, raw, _ = api("POST", "/api/users/login", {"email": args.admin_email, "password": args.admin_password})
        assert status == 200, (status, raw)
        state["admin"] = answer["access_token"]
        status, answer, raw, _ = api("POST", "/api/campaigns", {"title": "OWASP", "goal_amount": 1000000, "currency": "USD"}, token=state["admin"])
        assert status == 201, (status, raw)
        state["campaign"] = answer["id"]
        state["alice"], state["bob"] = register(), register()
        state["alice_pledge"] = pledge(token=state["alice"]["token"])
        status, answer, raw, _ = api("POST", "/api/payments", {"pledge_id": state["alice_pledge"]["id"], "payment_method": "pm_card_visa"},
                                     token=state["alice"]["token"])
        assert status == 201 and answer["status"] == "CAPTURED", (status, raw)
        state["alice_payment"] = answer["id"]
        state["guest1"] = pledge(donor={"name": "Guest One", "email": new_email("guest")})
        state["guest2"] = pledge(donor={"name": "Guest Two", "email": new_email("guest")})

    # MARK: API1

    def objects_of_others_are_not_found():
        a, bob = state["alice_pledge"]["id"], state["bob"]["token"]
        payment = state["alice_payment"]
        for method, path, body in [
            ("GET", "/api/pledges/%s" % a, None), ("GET", "/api/pledges/%s/receipt" % a, None), ("GET", "/api/payments/%s" % payment, None),
            ("POST", "/api/payments", {"pledge_id": a, "payment_method": "pm_card_visa"}),
        ]:
            status, _, raw, _ = api(method, path, body, token=bob)
            assert status == 404, (method, path, status, raw)
        status, answer, raw, _ = api("GET", "/api/payments?pledge_id=%s" % a, token=bob)
        assert status in (200, 404) and not answer.get("items"), (status, raw)
        status, answer, _, _ = api("GET", "/api/pledges", token=bob)
        assert status == 200 and all(item["id"] != a for item in answer["items"]), answer
        status, _, raw, _ = api("PATCH", "/api/users/%s" % state["alice"]["id"], {"role": "admin"}, token=bob)
        assert status == 403, (status, raw)

    def receipt_tokens_open_their_own_pledge_only():
        one, two = state["guest1"], state["guest2"]
        status, _, raw, _ = api("GET", "/api/pledges/%s?receipt_token=%s" % (one["id"], one["receipt_token"]))
        assert status == 200, (status, raw)
        for path in ["/api/pledges/%s?receipt_token=%s" % (two["id"], one["receipt_token"]),
                     "/api/pledges/%s?receipt_token=%s" % (two["id"], "x" * 43),
                     "/api/pledges/%s" % two["id"],
                     "/api/payments?pledge_id=%s&receipt_token=%s" % (two["id"], one["receipt_token"])]:
            status, answer, raw, _ = api("GET", path)
            assert status in (401, 404) or (status == 200 and not answer.get("items")), (path, status, raw)
        status, _, raw, _ = api("POST", "/api/payments?receipt_token=%s" % one["receipt_token"], {"pledge_id": two["id"]})
        assert status == 404, (status, raw)

    # MARK: API2

    def forged_tokens_refused():
        genuine = state["alice"]["token"]
        header, payload, signature = genuine.split(".")
        claims = json.loads(unb64url(payload))
        raised = dict(claims, role="admin")
        status, jwks, raw, _ = api("GET", "/api/users/.well-known/jwks.json")
        assert status == 200, (status, raw)
        kid = jwks["keys"][0]["kid"]
        key = ec.generate_private_key(ec.SECP256R1())
        signing_input = "%s.%s" % (b64url_json({"alg": "ES256", "typ": "JWT", "kid": kid}), b64url_json(raised))
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        other_key = signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        import hmac as hmac_module, hashlib
        hs_input = "%s.%s" % (b64url_json({"alg": "HS256", "typ": "JWT", "kid": kid}), b64url_json(raised))
        hs = hs_input + "." + b64url(hmac_module.new(json.dumps(jwks["keys"][0]).encode(), hs_input.encode(), hashlib.sha256).digest())
        forged = {
            "garbage": "not.a.token",
            "tampered (role raised, signature kept)": "%s.%s.%s" % (header, b64url_json(raised), signature),
            "alg none": "%s.%s." % (b64url_json({"alg": "none", "typ": "JWT"}), b64url_json(raised)),
            "HS256 keyed with the public key": hs,
            "ES256 from another key under the real kid": other_key,
        }
        for name, token in forged.items():
            for path in ["/api/users/me", "/api/pledges", "/api/campaigns/admin/reconciliations"]:
                status, _, raw, _ = api("GET", path, token=token)
                assert status == 401 and error_code(raw) in ("invalid_token", "unauthorized"), (name, path, status, raw)
        status, _, _, _ = api("GET", "/api/users/me", token=genuine)
        assert status == 200, "the genuine token still works"

    def expired_token_refused():
        # Signed with the platform's own key (so only the expiry can be wrong): one expired a
        # minute ago is refused everywhere; the same claims not yet expired are accepted.
        if not args.jwt_key_file:
            raise AssertionError("--jwt-key-file is required: the platform's signing key, to sign a token that only expired")
        with open(args.jwt_key_file, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        claims = json.loads(unb64url(state["alice"]["token"].split(".")[1]))
        status, jwks, raw, _ = api("GET", "/api/users/.well-known/jwks.json")
        assert status == 200, (status, raw)
        header = json.loads(unb64url(state["alice"]["token"].split(".")[0]))
        assert header["kid"] in [k["kid"] for k in jwks["keys"]], header

        def signed(exp):
            signing_input = "%s.%s" % (b64url_json(header), b64url_json(dict(claims, iat=exp - 900, exp=exp)))
            r, s_ = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
            return signing_input + "." + b64url(r.to_bytes(32, "big") + s_.to_bytes(32, "big"))
        now = int(time.time())
        for path in ["/api/users/me", "/api/pledges", "/api/pledges/%s" % state["alice_pledge"]["id"]]:
            status, _, raw, _ = api("GET", path, token=signed(now - 60))
            assert status == 401, ("expired", path, status, raw[:200])
            status, _, raw, _ = api("GET", path, token=signed(now + 600))
            assert status == 200, ("the same token, not expired", path, status, raw[:200])

    # MARK: API3

    def mass_assignment_ignored():
        email = new_email()
        status, answer, raw, _ = api("POST", "/api/users/register", {"email": email, "password": "a good password", "name": "Mallory",
                                                                     "role": "admin", "id": "mallory", "token_version": 99})
        assert status == 201 and answer["user"]["role"] == "donor" and answer["user"]["id"] != "mallory", (status, raw)
        mallory, mallory_id = answer["access_token"], answer["user"]["id"]
        status, _, raw, _ = api("GET", "/api/users", token=mallory)
        assert status == 403, (status, raw)
        body = {"campaign_id": state["campaign"], "amount": 500, "currency": "USD", "anonymous": False, "status": "CAPTURED",
                "user_id": state["alice"]["id"], "receipt_number": "CFA-2026-000001", "refunded_amount": 500, "id": "chosen"}
        status, answer, raw, _ = api("POST", "/api/pledges", body, token=mallory, headers={"Idempotency-Key": new_email("key")})
        assert status in (201, 400), (status, raw)
        if status == 201:
            assert answer["status"] == "PENDING" and answer["id"] != "chosen" and answer.get("receipt_number") is None, answer
            assert answer.get("user_id") == mallory_id and answer.get("refunded_amount", 0) == 0, answer
            status, _, _, _ = api("GET", "/api/pledges/%s" % answer["id"], token=state["alice"]["token"])
            assert status == 404, "the pledge is Mallory's, not Alice's"
        status, answer, raw, _ = api("POST", "/api/campaigns", {"title": "Inflated", "goal_amount": 1000, "currency": "USD", "current_amount": 999,
                                                                "captured_amount": 999, "total_pledges": 9, "id": "chosen"}, token=state["admin"])
        assert status == 201 and answer["captured_amount"] == 0 and answer["total_pledges"] == 0 and answer["id"] != "chosen", (status, raw)
        status, answer, raw, _ = api("PATCH", "/api/campaigns/%s" % answer["id"], {"captured_amount": 5, "total_pledges": 5}, token=state["admin"])
        assert status in (200, 400) and (status == 400 or (answer["captured_amount"] == 0 and answer["total_pledges"] == 0)), (status, raw)
        status, answer, raw, _ = api("PATCH", "/api/users/%s" % state["bob"]["id"], {"role": "donor", "email": "taken@example.org"}, token=state["admin"])
        assert status in (200, 400) and (status == 400 or answer["email"] == state["bob"]["email"]), (status, raw)

    def nothing_private_in_public_answers():
        secrets_ = [state["alice"]["email"], state["alice"]["id"], state["guest1"]["receipt_token"], state["guest2"]["receipt_token"]]
        for path in ["/api/campaigns/%s" % state["campaign"], "/api/campaigns/%s/donations" % state["campaign"], "/api/campaigns"]:
            status, _, raw, _ = api("GET", path)
            assert status == 200, (path, status)
            text = raw.decode()
            assert not any(secret in text for secret in secrets_), (path, [s for s in secrets_ if s in text])
            assert '"email"' not in text and '"user_id"' not in text and '"receipt_token"' not in text, path
        status, answer, _, _ = api("GET", "/api/pledges/%s" % state["alice_pledge"]["id"], token=state["alice"]["token"])
        assert status == 200 and "receipt_token" not in answer and "receipt_token_hash" not in answer, answer

    # MARK: API4

    def bodies_and_pages_bounded():
        status, _, raw, _ = api("POST", "/api/users/register", {"email": new_email(), "password": "x" * (1 << 20), "name": "Big"})
        assert status == 413 and error_code(raw) == "payload_too_large", (status, raw[:200])
        for path in ["/api/campaigns?limit=100000", "/api/pledges?limit=100000"]:
            status, answer, raw, _ = api("GET", path, token=state["admin"])
            assert status == 400 or (status == 200 and len(answer.get("items", [])) <= 100), (path, status, raw[:200])

    # MARK: API5

    def admin_routes_need_an_admin():
        c, p, pay = state["campaign"], state["alice_pledge"]["id"], state["alice_payment"]
        routes = [
            ("GET", "/api/users"), ("PATCH", "/api/users/%s" % state["bob"]["id"]), ("POST", "/api/campaigns"),
            ("PATCH", "/api/campaigns/%s" % c), ("DELETE", "/api/campaigns/%s" % c), ("POST", "/api/campaigns/%s/rebuild?dry_run=true" % c),
            ("GET", "/api/campaigns/%s/events" % c), ("POST", "/api/campaigns/admin/reconcile"), ("GET", "/api/campaigns/admin/reconciliations"),
            ("GET", "/api/notifications"), ("GET", "/api/notifications/x"), ("POST", "/api/notifications/x/retry"),
            ("POST", "/api/payments/%s/refunds" % pay), ("GET", "/api/admin/status"),
        ] + [(m, "/api/%s/admin/outbox%s" % (seg, suffix)) for seg in ("campaigns", "pledges", "payments")
             for m, suffix in (("GET", ""), ("GET", "/x"), ("POST", "/x/retry"), ("POST", "/x/park"))]
        bob = state["bob"]["token"]
        for method, path in routes:
            body = {} if method in ("POST", "PATCH") else None
            headers = {"Idempotency-Key": new_email("key")}
            status, _, raw, _ = api(method, path, body, headers=headers)
            assert status == 401, ("no token", method, path, status, raw[:200])
            status, _, raw, _ = api(method, path, body, token=bob, headers=headers)
            assert status == 403, ("donor", method, path, status, raw[:200])
        # Every other spelling of every admin route (the corpus the internal routes get: case,
        # slashes, dots, encodings, fragments, parameters) reaches the same guard or is refused
        # outright, with no token and as a donor; never an answer, never a 5xx.
        tried = 0
        for method, target in routes:
            path, _, query = target.partition("?")
            for spelling in spellings(path):
                spelled = spelling + ("&" if "?" in spelling else "?") + query if query else spelling
                body = {} if method in ("POST", "PATCH") else None
                for token in (None, bob):
                    status, _, raw, _ = api(method, spelled, body, token=token, headers={"Idempotency-Key": new_email("key")})
                    assert status in (400, 401, 403, 404, 405), (method, spelled, "donor" if token else "no token", status, raw[:200])
                    tried += 1
        print("        %d admin requests in other spellings, all refused" % tried, flush=True)

    # MARK: API7

    def no_request_reaches_a_url_we_give():
        listener = Listener()
        url = "http://127.0.0.1:%d/ssrf" % listener.port
        probe = {"X-Forwarded-Host": "127.0.0.1:%d" % listener.port, "X-Original-URL": url, "X-Rewrite-URL": url, "Referer": url,
                 "X-Forwarded-For": "127.0.0.1", "Forwarded": "host=127.0.0.1:%d" % listener.port}
        status, answer, raw, _ = api("POST", "/api/campaigns", {"title": url, "description": url, "goal_amount": 1000, "currency": "USD"},
                                     token=state["admin"], headers=probe)
        assert status == 201, (status, raw)
        campaign = answer["id"]
        body = {"campaign_id": campaign, "amount": 700, "currency": "USD", "anonymous": False, "message": url,
                "donor": {"name": url[:60], "email": new_email("ssrf")}}
        status, answer, raw, _ = api("POST", "/api/pledges", body, headers=dict(probe, **{"Idempotency-Key": new_email("key")}))
        assert status == 201, (status, raw)
        status, _, raw, _ = api("POST", "/api/payments?receipt_token=%s" % answer["receipt_token"], {"pledge_id": answer["id"], "payment_method": url},
                                headers=probe)
        assert status in (400, 422), (status, raw)
        status, _, raw, _ = api("POST", "/api/payments?receipt_token=%s" % answer["receipt_token"], {"pledge_id": answer["id"]}, headers=probe)
        assert status in (200, 201), (status, raw)
        time.sleep(3)  # outbox deliveries, mail, webhooks
        assert listener.connections == 0, "something connected to the URL we gave: %d times" % listener.connections

    # MARK: API8

    def errors_tell_no_internals():
        for method, path, body, expected in [
            ("GET", "/api/nowhere", None, 404), ("GET", "/api/campaigns/not-a-campaign", None, 404),
            ("POST", "/api/users/login", b"{not json", 400), ("POST", "/api/pledges", {"amount": "many"}, 400),
            ("GET", "/api/pledges?limit=abc", None, 400), ("DELETE", "/api/users/me", None, None),
        ]:
            status, headers, raw = raw_request(base, method, path, body=body, headers={"Authorization": "Bearer " + state["alice"]["token"],
                                                                                      "Idempotency-Key": new_email("key")}, source=sources.take())
            assert expected is None or status == expected, (method, path, status, raw[:200])
            assert status < 500, (method, path, status, raw[:200])
            code = error_code(raw)
            assert code, (method, path, raw[:200])
            text = raw.decode(errors="replace")
            assert not any(word in text for word in INTERNALS), (method, path, text[:300])
            server = headers.get("server", "")
            assert not any(ch.isdigit() for ch in server), ("a version in Server:", server)

    steps.run("setup: two donors, two guests, a paid pledge", setup)
    steps.run("API1: another donor's pledge, receipt and payment are 404, and cannot be paid", objects_of_others_are_not_found)
    steps.run("API1: a receipt token opens its own pledge only", receipt_tokens_open_their_own_pledge_only)
    steps.run("API2: garbage, tampered, alg none, HS256 and other-key tokens are 401", forged_tokens_refused)
    steps.run("API2: a token the platform signed that expired a minute ago is 401 (the same claims unexpired: 200)", expired_token_refused)
    steps.run("API3: mass assignment on register, pledges, campaigns and users is ignored", mass_assignment_ignored)
    steps.run("API3: public answers hold no email, user id or receipt token", nothing_private_in_public_answers)
    steps.run("API4: bodies over 1 MiB are 413; pages never exceed 100", bodies_and_pages_bounded)
    steps.run("API5: every admin route is 401 without a token and 403 for a donor, in every spelling", admin_routes_need_an_admin)
    steps.run("API7: URLs in fields and forwarding headers are never fetched", no_request_reaches_a_url_we_give)
    steps.run("API8: errors carry a code and no internals; no version in Server", errors_tell_no_internals)
    steps.finish()


if __name__ == "__main__":
    main()
