"""The front proxy's rules, attacked: run once against the built-in gateway and once against
deploy/nginx/nginx.conf in nginx, both in front of the services as processes.

- every spelling of every internal route is refused (400 or 404; the service never answers it);
- every spelling of every rate-limited route is limited (or refused), each from a client address
  of its own, so one spelling's budget cannot hide another's;
- live-total streams: capped per client, and a crowd of them does not starve reads or pledges;
- half-sent requests are closed by the proxy's header timeout;
- the web UI cannot be framed; token answers are never cached;
- login, registration and password change share one bcrypt budget per client;
- the gateway's own /metrics and /health/* are not served to the public (a request that came
  through a front proxy);
- a body with broken chunked framing is a 400, never a 500;
- the public API documents list no internal route and no signature scheme.

Prints '<name>: N passed, N failed'.
Usage: python3 edge_rules.py --name nginx --url http://127.0.0.1:PORT --admin-email E --admin-password P [--block 20]
"""

import argparse
import selectors
import socket
import threading
import time
import uuid

from lib import Sources, Steps, as_json, call, error_code, new_email, raw_request, spellings, split_url

# Internal routes (method, path): services call them directly; no spelling may pass the edge.
INTERNAL_ROUTES = [
    ("POST", "/api/campaigns/events"),
    ("POST", "/api/notifications/events"),
    ("POST", "/api/pledges/webhooks/payment"),
    ("POST", "/api/pledges/internal/lookup"),
    ("POST", "/api/campaigns/internal/pledgeable"),
    ("GET", "/api/pledges/internal/summary"),
    ("POST", "/api/pledges/internal/resend"),
    ("GET", "/api/payments/internal/summary"),
    ("POST", "/api/payments/internal/resend"),
    ("GET", "/api/users/internal/token-versions/00000000-0000-4000-8000-000000000000"),
]

# Rate-limited routes: (path, limit per minute, body, headers, the handler's own answer to that
# body). A request the handler answered was not refused by the edge; one of these per spelling
# must be 429 within the limit, or none may reach the handler at all.
RATE_LIMITED = [
    ("/api/users/login", 10, {}, {}, (400, "missing_field")),
    ("/api/users/register", 10, {}, {}, (400, "missing_field")),
    ("/api/users/me/password", 10, {}, {}, (401, "unauthorized")),
    ("/api/pledges", 30, {}, {}, (400, "idempotency_key_required")),
    ("/api/payments", 30, {}, {}, (400, "invalid_pledge_id")),
]


class HalfSentRequests:
    """Opens connections that send part of a request head and then nothing, and records when the
    server closes each one."""

    def __init__(self, base, count, sources):
        host, port = split_url(base)
        self.opened = time.time()
        self.closed = {}
        self.sockets = []
        source = None
        for index in range(count):
            if index % 50 == 0:
                source = sources.take()
            sock = socket.create_connection((host, port), timeout=5, source_address=(source, 0))
            sock.sendall(b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: applica")
            sock.setblocking(False)
            self.sockets.append(sock)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        selector = selectors.DefaultSelector()
        for sock in self.sockets:
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.time() + 90
        while len(self.closed) < len(self.sockets) and time.time() < deadline:
            for key, _ in selector.select(timeout=1):
                try:
                    data = key.fileobj.recv(65536)
                except (ConnectionResetError, BlockingIOError, OSError):
                    data = b""
                if not data:
                    self.closed[key.fileobj.fileno()] = time.time() - self.opened
                    selector.unregister(key.fileobj)
        selector.close()

    def result(self, within):
        self.thread.join(timeout=max(0, self.opened + within + 5 - time.time()))
        still_open = len(self.sockets) - len(self.closed)
        slowest = max(self.closed.values()) if self.closed else None
        for sock in self.sockets:
            sock.close()
        return still_open, slowest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--block", type=int, default=10, help="second octet of the 127.x.y.z client addresses")
    parser.add_argument("--stream-cap", type=int, default=6, help="live streams one client may hold")
    parser.add_argument("--header-timeout", type=float, default=30, help="seconds within which half-sent requests must be closed")
    args = parser.parse_args()
    base = args.url
    sources = Sources(args.block)
    steps = Steps(args.name + " edge rules")
    state = {}

    # Half-sent requests first, so the proxy's timeout runs while the other checks do.
    slow = HalfSentRequests(base, 300, sources)

    def admin_and_campaign():
        status, _, raw = call(base, "POST", "/api/users/login", {"email": args.admin_email, "password": args.admin_password}, source=sources.take())
        assert status == 200, (status, raw)
        state["admin"] = as_json(raw)["access_token"]
        status, _, raw = call(base, "POST", "/api/campaigns", {"title": "Edge " + args.name, "goal_amount": 100000, "currency": "USD"},
                              token=state["admin"], source=sources.take())
        assert status == 201, (status, raw)
        state["campaign"] = as_json(raw)["id"]

    def internal_routes_refused():
        passed = []
        for method, path in INTERNAL_ROUTES:
            for target in spellings(path):
                status, _, raw = raw_request(base, method, target, body={}, source=sources.take())
                if status not in (400, 404):
                    passed.append("%s %s -> %d %s" % (method, target, status, raw[:120]))
        assert not passed, "reached or not refused:\n    " + "\n    ".join(passed)

    def rate_limits_hold_for_every_spelling():
        escaped = []
        for path, limit, body, headers, handler_answer in RATE_LIMITED:
            for target in spellings(path):
                client = sources.take()
                answers = []
                for _ in range(limit + 2):
                    status, _, raw = raw_request(base, "POST", target, body=body, headers=headers, source=client)
                    answers.append((status, error_code(raw)))
                reached = sum(1 for answer in answers if answer == handler_answer)
                limited = any(status == 429 for status, _ in answers)
                if reached > 0 and not (limited and reached <= limit + 1):
                    escaped.append("POST %s: %d of %d reached the service, none limited" % (target, reached, len(answers)))
                if any(status >= 500 for status, _ in answers):
                    escaped.append("POST %s: a 5xx %r" % (target, answers))
        assert not escaped, "\n    " + "\n    ".join(escaped)

    def limited_answer_shape():
        client = sources.take()
        answer = None
        for _ in range(13):
            status, headers, raw = call(base, "POST", "/api/users/register", {}, source=client)
            if status == 429:
                answer = (headers, raw)
                break
        assert answer, "registration was never limited"
        headers, raw = answer
        assert error_code(raw) == "rate_limited" and int(headers.get("retry-after", "0")) >= 1, answer

    def bcrypt_budget_shared():
        # 4 logins, 4 registrations and 4 password changes from one client: each route is within
        # its own limit of 10, but together they pass the budget of 10 bcrypts a minute.
        client = sources.take()
        answers = []
        for _ in range(4):
            for path in ("/api/users/login", "/api/users/register", "/api/users/me/password"):
                status, _, raw = call(base, "POST", path, {}, source=client)
                answers.append((path, status, error_code(raw)))
        limited = [answer for answer in answers if answer[1] == 429]
        assert limited and all(code == "rate_limited" for _, _, code in limited), answers
        # nginx's limit_req lets one more through than its burst, as with every limit here.
        assert len(answers) - len(limited) <= 11, "%d of %d reached user-service" % (len(answers) - len(limited), len(answers))

    def operations_routes_not_public():
        # What a front proxy sends: the client's address in X-Forwarded-For.
        served = []
        for path in ("/metrics", "/health/live", "/health/ready", "/Metrics", "/metrics/", "//metrics", "/health//ready", "/x/../metrics"):
            status, _, raw = raw_request(base, "GET", path, headers={"X-Forwarded-For": "203.0.113.9"}, source=sources.take())
            if status != 404 or b"http_requests_total" in raw or b'"ready"' in raw:
                served.append("%s -> %d %s" % (path, status, raw[:80]))
        assert not served, served

    def broken_chunked_framing_is_400():
        host, port = split_url(base)
        sock = socket.create_connection((host, port), timeout=10, source_address=(sources.take(), 0))
        try:
            sock.sendall(b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Type: application/json\r\n\r\n5\r\nhello\n0\r\n\r\n")
            head = sock.recv(4096).split(b"\r\n", 1)[0]
        finally:
            sock.close()
        assert head.startswith(b"HTTP/1.1 400"), head

    def public_api_documents_hide_internal_routes():
        leaked = []
        for segment in ("users", "campaigns", "pledges", "payments", "notifications"):
            status, _, raw = call(base, "GET", "/api/openapi/%s.json" % segment, source=sources.take())
            assert status == 200, (segment, status, raw[:200])
            document = as_json(raw)
            for path in document.get("paths", {}):
                if "/internal/" in path or path in ("/campaigns/events", "/notifications/events", "/pledges/webhooks/payment"):
                    leaked.append("%s: %s" % (segment, path))
            if "X-CareForAll-Signature" in raw.decode("utf-8", "replace"):
                leaked.append("%s: the signature scheme" % segment)
        assert not leaked, leaked

    def streams_capped_per_client():
        client = sources.take()
        opened, refused = [], []
        try:
            for _ in range(args.stream_cap + 2):
                stream = open_stream(base, state["campaign"], client)
                (opened if stream[0] == 200 else refused).append(stream)
            assert len(opened) <= args.stream_cap, "%d streams open for one client" % len(opened)
            assert refused and all(s[0] == 429 for s in refused), [s[:2] for s in refused]
        finally:
            for stream in opened + refused:
                stream[2].close()

    def streams_do_not_starve_reads_or_pledges():
        streams = []
        try:
            for _ in range(24):
                stream = open_stream(base, state["campaign"], sources.take())
                assert stream[0] == 200, stream[:2]
                streams.append(stream)
            started = time.time()
            status, _, raw = call(base, "GET", "/api/campaigns/" + state["campaign"], source=sources.take(), timeout=5)
            assert status == 200, (status, raw)
            body = {"campaign_id": state["campaign"], "amount": 500, "currency": "USD", "anonymous": True,
                    "donor": {"name": "Guest", "email": new_email("guest")}}
            status, _, raw = call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": str(uuid.uuid4())}, source=sources.take(), timeout=5)
            assert status == 201, (status, raw)
            assert time.time() - started < 5, "reads and pledges waited %.1fs behind the streams" % (time.time() - started)
        finally:
            for stream in streams:
                stream[2].close()

    def ui_cannot_be_framed():
        status, headers, _ = call(base, "GET", "/", source=sources.take())
        assert status == 200, status
        assert headers.get("x-frame-options", "").upper() == "DENY", headers
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), headers

    def token_answers_not_cached():
        email = new_email()
        status, headers, raw = call(base, "POST", "/api/users/register", {"email": email, "password": "edge rules", "name": "Edge"}, source=sources.take())
        assert status == 201, (status, raw)
        assert "no-store" in headers.get("cache-control", ""), headers
        status, headers, raw = call(base, "POST", "/api/users/login", {"email": email, "password": "edge rules"}, source=sources.take())
        assert status == 200 and "no-store" in headers.get("cache-control", ""), (status, headers)

    def half_sent_requests_closed():
        still_open, slowest = slow.result(args.header_timeout)
        assert still_open == 0, "%d of 300 half-sent requests still open after %.0fs" % (still_open, args.header_timeout)
        assert slowest <= args.header_timeout + 5, "the last half-sent request was closed after %.1fs" % slowest

    steps.run("an admin opens a campaign", admin_and_campaign)
    steps.run("every spelling of every internal route is refused", internal_routes_refused)
    steps.run("every spelling of login, register, password change, pledge and payment creation is rate limited", rate_limits_hold_for_every_spelling)
    steps.run("a limited client gets 429 rate_limited with Retry-After", limited_answer_shape)
    steps.run("login, registration and password change share one bcrypt budget per client", bcrypt_budget_shared)
    steps.run("the gateway's own /metrics and /health are not served through the front", operations_routes_not_public)
    steps.run("a body with broken chunked framing is a 400", broken_chunked_framing_is_400)
    steps.run("the public API documents list no internal route and no signature scheme", public_api_documents_hide_internal_routes)
    steps.run("live streams are capped per client (429)", streams_capped_per_client)
    steps.run("24 open live streams do not hold up a read or a pledge", streams_do_not_starve_reads_or_pledges)
    steps.run("the web UI cannot be framed", ui_cannot_be_framed)
    steps.run("register and login answers are never cached", token_answers_not_cached)
    steps.run("300 half-sent requests are closed by the header timeout", half_sent_requests_closed)
    steps.finish()


def open_stream(base, campaign_id, source):
    """Opens GET /api/campaigns/{id}/stream from `source`; returns (status, first bytes, socket)."""
    host, port = split_url(base)
    sock = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
    sock.sendall(("GET /api/campaigns/%s/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n" % campaign_id).encode())
    data = b""
    deadline = time.time() + 10
    while b"\r\n\r\n" not in data and time.time() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n", 1)[0].split(b" ")
    status = int(head[1]) if len(head) > 1 and head[1].isdigit() else 0
    if status == 200:
        while b"event: campaign" not in data and time.time() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return status, data[:200], sock


if __name__ == "__main__":
    main()
