#!/usr/bin/env python3
"""Seeded fault injection over the services as processes on PostgreSQL (scripts/chaos sets them
up, with the sandbox's webhook chaos on: every webhook 2-3 times, shuffled, late). For each
scenario and seed: a fresh campaign, guest donors pledging and paying at once through the gateway
(retrying as clients do, with the same Idempotency-Key), the fault at a moment the seed picks,
then the invariants, polled until they hold or the time runs out:
- every pledge that got a 201 exists;
- at most one provider charge per pledge (the sandbox's intents);
- the campaign's pending, authorized, captured (net of refunds), failed and refunded totals
  equal pledge-service's sums by status, captured and refunded also payment-service's; no bucket
  is negative; its pledge count is exact (an admin refunds part or all of some captured payments
  while the donors pledge, in every scenario);
- every payment captured exactly when the provider's intent succeeded, and refunded exactly what
  the provider refunded;
- nothing left AUTHORIZED (pledges or payments) once settled; no dead outbox row (and, after a
  relay crash, none left to send);
- reconciliation reports no drift for the campaign.
The scenarios (SCENARIOS; docs/operations.md has the table): kill -9 of each service, a relay's
process exiting between delivery and marking, campaign-service down, PostgreSQL restarted at
once, a TCP fault proxy between a service and PostgreSQL and between two services, forged and
replayed webhooks, a service's clock skewed, one Idempotency-Key raced.
One line per scenario and seed; exit 1 on any violation.
"""
import argparse
import collections
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

from faultproxy import FaultProxy

SCENARIOS = ["kill-pledge", "kill-payment", "kill-campaign", "kill-notification", "kill-gateway", "kill-user",
             "relay-crash", "campaign-down", "postgres-restart", "db-proxy", "service-proxy", "webhook-storm", "clock-skew", "idempotency-race"]


class Platform:
    def __init__(self, args):
        self.gateway = args.gateway
        self.services_dir = args.services_dir
        self.ports = dict(item.split("=") for item in args.ports.split(","))
        self.psql = args.psql
        self.pg_restart = args.pg_restart
        self.admin = None
        self.admin_email, self.admin_password = args.admin_email, args.admin_password
        self.webhook_secret = args.webhook_secret
        self.faketime = args.faketime_lib
        self.pg_port = args.psql[args.psql.index("-p") + 1]

    def request(self, method, path, body=None, token=None, headers=None, base=None, timeout=10):
        host, port = (base or self.gateway).replace("http://", "").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        all_headers = {"Content-Type": "application/json"}
        if token:
            all_headers["Authorization"] = "Bearer " + token
        all_headers.update(headers or {})
        try:
            data = body if isinstance(body, bytes) or body is None else json.dumps(body)
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw or b"{}")
            except ValueError:
                return response.status, {}
        finally:
            connection.close()

    def admin_token(self):
        status, answer = self.request("POST", "/users/login", {"email": self.admin_email, "password": self.admin_password},
                                      base="http://127.0.0.1:%s" % self.ports["user"])
        assert status == 200, (status, answer)
        return answer["access_token"]

    def sql(self, database, query):
        output = subprocess.run(self.psql + ["-d", database, "-At", "-F", "|", "-c", query], capture_output=True, text=True, timeout=30)
        if output.returncode != 0:
            raise RuntimeError(output.stderr.strip())
        return [line.split("|") for line in output.stdout.splitlines() if line]

    def pid(self, role):
        with open(os.path.join(self.services_dir, role + ".pid")) as f:
            return int(f.read())

    def kill(self, role, how=signal.SIGKILL):
        try:
            os.kill(self.pid(role), how)
        except ProcessLookupError:
            pass
        deadline = time.time() + 30
        while time.time() < deadline and self.alive(self.pid(role)):
            time.sleep(0.05)
        # A graceful stop that has not finished in 30 s is cut short: the next start must not
        # leave it running beside the new process.
        if self.alive(self.pid(role)):
            print("        (%s had not stopped 30 s after signal %d: killed)" % (role, how), flush=True)
            try:
                os.kill(self.pid(role), signal.SIGKILL)
            except ProcessLookupError:
                pass
            while self.alive(self.pid(role)):
                time.sleep(0.05)

    def clock_offset(self, role):
        """How far `role`'s clock is from ours, in seconds, from its HTTP Date header."""
        connection = http.client.HTTPConnection("127.0.0.1", int(self.ports[role]), timeout=5)
        try:
            connection.request("GET", "/health/live")
            response = connection.getresponse()
            response.read()
            return email.utils.parsedate_to_datetime(response.getheader("Date")).timestamp() - time.time()
        finally:
            connection.close()

    def skewed(self, skew):
        """The environment that runs a service with its wall clock `skew` seconds off (libfaketime;
        its monotonic clock, timers and sleeps, untouched)."""
        return {"LD_PRELOAD": self.faketime, "FAKETIME": "%+ds" % skew, "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_NO_CACHE": "1"}

    @staticmethod
    def alive(pid):
        """Running: a killed process its parent has not reaped yet (a zombie) counts as gone."""
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False

    def start(self, role, env=None, wait=True, database_port=None):
        """Starts `role` again from its launch file, with `env` added; with `database_port`, its
        DATABASE_URL names that port instead of PostgreSQL's (a fault proxy's)."""
        log = open(os.path.join(self.services_dir, role + ".log"), "ab")
        launch = os.path.join(self.services_dir, role + ".launch")
        if database_port:
            with open(launch) as f:
                text = f.read()
            assert "@127.0.0.1:%s/" % self.pg_port in text, "no DATABASE_URL on PostgreSQL's port in " + launch
            launch = os.path.join(self.services_dir, role + "-proxied.launch")
            with open(os.open(launch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(text.replace("@127.0.0.1:%s/" % self.pg_port, "@127.0.0.1:%s/" % database_port))
        process = subprocess.Popen(["bash", launch], stdout=log, stderr=log, start_new_session=True,
                                   env=dict(os.environ, **(env or {})))
        with open(os.path.join(self.services_dir, role + ".pid"), "w") as f:
            f.write(str(process.pid))
        if wait:
            self.wait_ready(role)
        return process

    def wait_ready(self, role, seconds=90):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if self.request("GET", "/health/ready", base="http://127.0.0.1:%s" % self.ports[role], timeout=2)[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise RuntimeError(role + " did not come back")


class Donors:
    """Guests pledging and paying at once through the gateway until stopped; every request retried
    on a transport error or a 5xx, with the same Idempotency-Key, as a client would."""

    def __init__(self, platform, campaign, rng, count):
        self.platform, self.campaign = platform, campaign
        self.created = []
        self.refunds = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(random.Random(rng.random()),), daemon=True) for _ in range(count)]
        self.threads.append(threading.Thread(target=self.refund, args=(random.Random(rng.random()), platform.admin_token()), daemon=True))

    def send(self, method, path, body, headers=None, give_up=60):
        deadline = time.time() + give_up
        while True:
            try:
                status, answer = self.platform.request(method, path, body, headers=headers)
                if status < 500 and status not in (409, 429) or time.time() > deadline:
                    return status, answer
                if status == 409 and answer.get("error", {}).get("code") not in ("idempotency_key_in_use",):
                    return status, answer
            except (OSError, http.client.HTTPException):
                # refused, reset, timed out, or cut off mid-answer (a killed gateway): retry
                if time.time() > deadline:
                    return None, {}
            time.sleep(0.3)

    def run(self, rng):
        while not self.stop.is_set():
            key = uuid.uuid4().hex
            body = {"campaign_id": self.campaign, "amount": rng.randint(100, 5000), "currency": "USD", "anonymous": False,
                    "donor": {"name": "Chaos", "email": "chaos-%s@example.org" % key[:10]}}
            status, pledge = self.send("POST", "/api/pledges", body, {"Idempotency-Key": key})
            if status != 201:
                continue
            with self.lock:
                self.created.append(pledge["id"])
            card = "pm_card_visa" if rng.random() < 0.85 else "pm_card_chargeDeclined"
            self.send("POST", "/api/payments?receipt_token=" + pledge["receipt_token"], {"pledge_id": pledge["id"], "payment_method": card})

    def refund(self, rng, token):
        """An admin refunding part or all of a captured payment now and then, through the gateway,
        retried with the same Idempotency-Key as the donors' requests."""
        while not self.stop.wait(rng.uniform(0.2, 0.6)):
            try:
                rows = self.platform.sql("payments", "SELECT id, amount - refunded_amount FROM payments WHERE campaign_id = '%s' "
                                                     "AND status = 'CAPTURED' AND refunded_amount < amount ORDER BY random() LIMIT 1" % self.campaign)
            except (RuntimeError, subprocess.TimeoutExpired):
                continue  # PostgreSQL is being restarted
            if not rows:
                continue
            payment, left = rows[0][0], int(rows[0][1])
            body = {"reason": "chaos"} if left < 2 or rng.random() < 0.5 else {"amount": rng.randint(1, left - 1), "reason": "chaos"}
            status, _ = self.send("POST", "/api/payments/%s/refunds" % payment, body, {"Idempotency-Key": uuid.uuid4().hex,
                                                                                      "Authorization": "Bearer " + token})
            if status == 201:
                with self.lock:
                    self.refunds += 1

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)


class Forger(threading.Thread):
    """Provider webhooks that lie, repeat or come late, sent straight to payment-service's webhook
    route while the sandbox's own (duplicated, shuffled, late) flow: a signed one about a real
    intent may claim any state (succeeded, capturable, failed, canceled, refunded) and must be
    answered 200 yet move nothing the provider does not say; an event sent twice is `duplicate`
    the second time; a stale or wrong signature is refused with 400; an unknown intent is
    recorded and ignored. The invariants afterwards show nothing moved that should not have."""

    CLAIMS = {"succeeded": ("payment_intent.succeeded", "succeeded"), "capturable": ("payment_intent.amount_capturable_updated", "requires_capture"),
              "failed": ("payment_intent.payment_failed", "requires_payment_method"), "canceled": ("payment_intent.canceled", "canceled")}
    KINDS = list(CLAIMS) + ["refunded", "replayed", "stale-signature", "bad-signature", "unknown-intent"]

    def __init__(self, platform, campaign, rng):
        super().__init__(daemon=True)
        self.platform, self.campaign, self.rng = platform, campaign, rng
        self.base = "http://127.0.0.1:%s" % platform.ports["payment"]
        self.sent = collections.Counter()
        self.problems = []
        self.halt = threading.Event()

    def sign(self, body, at=None, secret=None):
        at = int(time.time()) if at is None else at
        mac = hmac.new((secret or self.platform.webhook_secret).encode(), b"%d." % at + body, hashlib.sha256).hexdigest()
        return "t=%d,v1=%s" % (at, mac)

    def event(self, kind, intent, pledge, amount):
        if kind == "refunded":
            kind_type, data = "charge.refunded", {"id": "ch_" + intent[3:], "object": "charge", "payment_intent": intent, "amount": amount,
                                                  "amount_refunded": amount, "currency": "usd", "refunded": True, "status": "succeeded"}
        else:
            kind_type, status = self.CLAIMS.get(kind, self.CLAIMS["succeeded"])
            data = {"id": intent, "object": "payment_intent", "amount": amount, "currency": "usd", "status": status, "capture_method": "manual",
                    "metadata": {"pledge_id": pledge}, "last_payment_error": None}
        return json.dumps({"id": "evt_chaos_" + uuid.uuid4().hex[:16], "object": "event", "type": kind_type, "created": int(time.time()),
                           "livemode": False, "data": {"object": data}}).encode()

    def post(self, body, signature):
        try:
            return self.platform.request("POST", "/payments/webhooks/stripe", body, headers={"Stripe-Signature": signature}, base=self.base)
        except (OSError, http.client.HTTPException) as error:
            return None, {"error": repr(error)}

    def expect(self, kind, answer, status, result=None):
        self.sent[kind] += 1
        if answer[0] != status or (result and answer[1].get("result") != result):
            self.problems.append("%s webhook answered %s %s (expected %d%s)" % (kind, answer[0], answer[1], status, " " + result if result else ""))

    def run(self):
        while not self.halt.wait(0.3):
            try:
                rows = self.platform.sql("payments", "SELECT provider_payment_id, pledge_id, amount FROM payments WHERE campaign_id = '%s' "
                                                     "AND provider_payment_id IS NOT NULL ORDER BY random() LIMIT 12" % self.campaign)
            except (RuntimeError, subprocess.TimeoutExpired):
                continue
            for intent, pledge, amount in rows:
                kind = self.rng.choice(self.KINDS)
                if kind == "unknown-intent":
                    self.expect(kind, self.post(body := self.event("succeeded", "pi_chaos_" + uuid.uuid4().hex[:20], pledge, int(amount)),
                                                self.sign(body)), 200, "unknown_intent")
                    continue
                body = self.event(kind if kind in self.CLAIMS or kind == "refunded" else self.rng.choice(list(self.CLAIMS)), intent, pledge, int(amount))
                if kind == "stale-signature":
                    self.expect(kind, self.post(body, self.sign(body, at=int(time.time()) - 600)), 400)
                elif kind == "bad-signature":
                    self.expect(kind, self.post(body, self.sign(body, secret="whsec_not_ours")), 400)
                elif kind == "replayed":
                    first = self.post(body, self.sign(body))
                    if first[0] != 200:
                        self.expect(kind, first, 200)
                        continue
                    self.expect(kind, self.post(body, self.sign(body)), 200, "duplicate")
                else:
                    self.expect(kind, self.post(body, self.sign(body)), 200)

    def stop(self):
        self.halt.set()
        self.join(timeout=60)
        return self.problems[:5] + (["... and %d more" % (len(self.problems) - 5)] if len(self.problems) > 5 else [])


def violations(platform, campaign, created):
    found = []
    existing = {row[0] for row in platform.sql("pledges", "SELECT id FROM pledges WHERE campaign_id = '%s'" % campaign)}
    missing = [p for p in created if p not in existing]
    if missing:
        found.append("%d pledges answered 201 are missing" % len(missing))
    doubled = platform.sql("payments", "SELECT pledge_id, count(*) FROM sandbox_intents WHERE status IN ('succeeded', 'requires_capture') "
                                       "AND pledge_id IN (SELECT id FROM (VALUES %s) AS ids(id)) GROUP BY pledge_id HAVING count(*) > 1"
                                       % (",".join("('%s')" % p for p in created) or "('none')"))
    if doubled:
        found.append("charged twice: %s" % doubled[:3])
    # Per status: count, amount net of refunds (what a captured bucket holds), refunded.
    sums = {status: (int(count), int(net), int(refunded)) for status, count, net, refunded in platform.sql(
        "pledges", "SELECT status, count(*), coalesce(sum(amount - refunded_amount), 0), coalesce(sum(refunded_amount), 0) "
                   "FROM pledges WHERE campaign_id = '%s' GROUP BY status" % campaign)}
    rollup = platform.sql("campaigns", "SELECT pending_amount, authorized_amount, captured_amount, failed_amount, refunded_amount, total_pledges "
                                       "FROM campaign_rollups WHERE campaign_id = '%s'" % campaign)
    pending, authorized, captured, failed, refunded, total = map(int, rollup[0]) if rollup else (0, 0, 0, 0, 0, 0)
    if min(pending, authorized, captured, failed, refunded) < 0:
        found.append("a negative bucket: %s" % rollup[0])
    for name, status, value in [("pending", "PENDING", pending), ("authorized", "AUTHORIZED", authorized), ("captured", "CAPTURED", captured),
                                ("failed", "FAILED", failed)]:
        if sums.get(status, (0, 0, 0))[1] != value:
            found.append("%s: pledges %d, campaign %d" % (name, sums.get(status, (0, 0, 0))[1], value))
    pledges_refunded = sum(r for _, _, r in sums.values())
    if pledges_refunded != refunded:
        found.append("refunded: pledges %d, campaign %d" % (pledges_refunded, refunded))
    if sum(count for count, _, _ in sums.values()) != total:
        found.append("pledges %d, campaign counts %d" % (sum(c for c, _, _ in sums.values()), total))
    paid = platform.sql("payments", "SELECT status, count(*), coalesce(sum(amount - refunded_amount), 0), coalesce(sum(refunded_amount), 0) "
                                    "FROM payments WHERE campaign_id = '%s' GROUP BY status" % campaign)
    paid = {status: (int(count), int(net), int(refunded)) for status, count, net, refunded in paid}
    if paid.get("CAPTURED", (0, 0, 0))[1] != captured:
        found.append("captured: payments %d, campaign %d" % (paid.get("CAPTURED", (0, 0, 0))[1], captured))
    if sum(r for _, _, r in paid.values()) != refunded:
        found.append("refunded: payments %d, campaign %d" % (sum(r for _, _, r in paid.values()), refunded))
    if authorized or paid.get("AUTHORIZED") or paid.get("PENDING"):
        found.append("not settled: %d authorized, payments %s" % (authorized, {k: v for k, v in paid.items() if k in ("AUTHORIZED", "PENDING")}))
    # The provider's word and ours agree: captured (or refunded) exactly when the intent succeeded,
    # and refunded as much as the provider refunded.
    disagree = platform.sql("payments", "SELECT p.id, p.status, i.status, p.refunded_amount, "
                                        "(SELECT coalesce(sum(r.amount), 0) FROM sandbox_refunds r WHERE r.intent_id = i.id) "
                                        "FROM payments p JOIN sandbox_intents i ON i.id = p.provider_payment_id WHERE p.campaign_id = '%s' "
                                        "AND ((p.status IN ('CAPTURED', 'REFUNDED')) <> (i.status = 'succeeded') "
                                        "OR p.refunded_amount <> (SELECT coalesce(sum(r.amount), 0) FROM sandbox_refunds r WHERE r.intent_id = i.id))"
                            % campaign)
    if disagree:
        found.append("payments and the provider disagree: %s" % disagree[:3])
    for database in ("pledges", "payments", "campaigns"):
        dead = platform.sql(database, "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL")
        if int(dead[0][0]):
            found.append("%s: %s dead outbox rows" % (database, dead[0][0]))
    return found, sums


def settle(platform, campaign, created, seconds, drained=()):
    """Polls the invariants until they hold (and the outboxes of `drained` have nothing left to
    send) or `seconds` pass."""
    deadline = time.time() + seconds
    while True:
        found, sums = violations(platform, campaign, created)
        for database in drained:
            left = int(platform.sql(database, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL")[0][0])
            if left:
                found.append("%s: %d outbox rows not yet delivered" % (database, left))
        if not found:
            status, run = platform.request("POST", "/api/campaigns/admin/reconcile", token=platform.admin_token())
            drift = [d for d in run.get("drift", []) if d.get("campaign_id") == campaign] if status == 200 else ["reconcile answered %d" % status]
            if not drift:
                return [], sums
            found = ["reconciliation drift: %s" % drift[:3]]
        if time.time() > deadline:
            return found, sums
        time.sleep(1)


def run_scenario(platform, scenario, seed, args):
    rng = random.Random("%s-%d" % (scenario, seed))
    token = platform.admin_token()
    status, campaign = platform.request("POST", "/api/campaigns", {"title": "Chaos %s %d" % (scenario, seed), "goal_amount": 10_000_000,
                                                                  "currency": "USD"}, token=token)
    assert status == 201, (status, campaign)
    campaign = campaign["id"]
    if scenario == "idempotency-race":
        key, body = uuid.uuid4().hex, {"campaign_id": campaign, "amount": rng.randint(100, 5000), "currency": "USD", "anonymous": False,
                                       "donor": {"name": "Race", "email": "race@example.org"}}
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(platform.request("POST", "/api/pledges", body, headers={"Idempotency-Key": key})))
                   for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ids = {answer.get("id") for status, answer in answers if status == 201}
        refused = [status for status, answer in answers if status != 201 and not (status == 409 and answer.get("error", {}).get("code") == "idempotency_key_in_use")]
        rows = platform.sql("pledges", "SELECT count(*) FROM pledges WHERE campaign_id = '%s'" % campaign)[0][0]
        problems = [] if len(ids) == 1 and not refused and rows == "1" else ["ids %s, other answers %s, rows %s" % (ids, refused, rows)]
        found, _ = settle(platform, campaign, list(ids), 30)
        return problems + found, "16 at once: %d created, %d told to wait" % (sum(1 for s, _ in answers if s == 201), 16 - sum(1 for s, _ in answers if s == 201))
    fault_at = rng.uniform(0.2, 0.6) * args.seconds
    problems, note, drained = [], "", []
    with Donors(platform, campaign, rng, args.donors) as donors:
        forger = Forger(platform, campaign, random.Random(rng.random())) if scenario == "webhook-storm" else None
        if forger:
            forger.start()
        time.sleep(fault_at)
        if scenario == "relay-crash":
            # The service exits right after its relay's n-th delivery, before it records it: the
            # destination has the events, the outbox still says pending; they go out again.
            role, deliveries = ("pledge", "payment")[seed % 2 == 0], rng.randint(1, 20)
            platform.kill(role)
            process = platform.start(role, env={"OUTBOX_RELAY_EXIT_AFTER_DELIVERIES": str(deliveries)}, wait=False)
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                code = None
                platform.kill(role)
            if code != 86:
                problems.append("%s did not exit between delivery and marking (exit %s)" % (role, code))
            platform.start(role)
            note = "; %s exited after delivery %d" % (role, deliveries)
            drained = [role + "s"]
        elif scenario in ("db-proxy", "service-proxy"):
            # A misbehaving network, through a TCP proxy of ours: between pledge- or payment-service
            # (by seed) and PostgreSQL (latency, every connection reset mid-statement and new ones
            # refused, half-open, then again), or between payment-service and pledge-service, which its notices and
            # its pledge lookups go to (latency, answers dropped, half-open, resets).
            if scenario == "db-proxy":
                role = ("pledge", "payment")[seed % 2 == 0]
                proxy = FaultProxy(platform.pg_port)
                platform.kill(role, signal.SIGTERM)
                platform.start(role, database_port=proxy.port)
                faults = [("latency", 2), ("reset", 1), ("pass", 1), ("half-open", 2), ("pass", 1), ("latency", 1), ("reset", 0.5)]
            else:
                role = "payment"
                proxy = FaultProxy(platform.ports["pledge"])
                platform.kill(role, signal.SIGTERM)
                platform.start(role, env={"PLEDGE_SERVICE_URL": "http://127.0.0.1:%d" % proxy.port})
                faults = [("latency", 2), ("drop-responses", 3), ("pass", 1), ("half-open", 3), ("reset", 1)]
            proxy.delay = rng.uniform(0.05, 0.3)
            for mode, seconds in faults:
                proxy.mode = mode
                time.sleep(seconds)
            proxy.mode = "pass"
            note = "; %s behind a proxy: %s, %d ms latency, %d connections" % (
                role, " ".join(mode for mode, _ in faults), proxy.delay * 1000, proxy.accepted)
        elif scenario == "clock-skew":
            # One service's wall clock minutes off, either way, within the signatures' 300 s
            # tolerance, from now until the invariants hold: its signed calls, the webhooks it
            # checks, the tokens it verifies and the rows it dates must all still agree.
            role, skew = ("pledge", "payment", "campaign")[seed % 3], rng.choice([-1, 1]) * rng.randint(60, 240)
            platform.kill(role, signal.SIGTERM)
            platform.start(role, env=platform.skewed(skew))
            offset = platform.clock_offset(role)
            if abs(offset - skew) > 5:
                problems.append("%s's clock is %+.0f s off, not %+d s" % (role, offset, skew))
            note = "; %s's clock %+d s" % (role, skew)
        elif scenario.startswith("kill-"):
            role = scenario[len("kill-"):]
            platform.kill(role)
            time.sleep(rng.uniform(0.2, 1.5))
            platform.start(role)
        elif scenario == "campaign-down":
            platform.kill("campaign", signal.SIGTERM)
            time.sleep(args.outage)
            platform.start("campaign")
        elif scenario == "postgres-restart":
            subprocess.run(["sh", "-c", platform.pg_restart], check=True, capture_output=True, timeout=120)
        time.sleep(max(0, args.seconds - fault_at))
        if forger:
            problems += forger.stop()
            note = "; forged webhooks: " + ", ".join("%d %s" % (n, kind) for kind, n in sorted(forger.sent.items()))
    created = list(donors.created)
    # A restarted payment-service settles what it lost after 60 s (its recovery looks every 15 s); a
    # crashed relay's rows go out after their 30 s lease; a call cut off waits for its 10 s deadline;
    # rows a relay could not deliver during an outage wait out their backoff, up to 60 s, once it ends.
    slow = ("kill-payment", "postgres-restart", "relay-crash", "db-proxy", "service-proxy", "campaign-down")
    wait = 150 if scenario in slow else 45
    found, sums = settle(platform, campaign, created, wait, drained)
    if scenario in ("clock-skew", "db-proxy", "service-proxy"):
        platform.kill(role, signal.SIGTERM)
        platform.start(role)
    if scenario in ("db-proxy", "service-proxy"):
        proxy.close()
    summary = "%d pledges: %s; %d refunds%s" % (len(created), ", ".join("%d %s" % (count, status.lower()) for status, (count, _, _) in sorted(sums.items())),
                                                donors.refunds, note)
    return problems + found, summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--services-dir", required=True)
    parser.add_argument("--ports", required=True)
    parser.add_argument("--psql", required=True, help="the psql command line, as the superuser")
    parser.add_argument("--pg-restart", required=True, help="a shell command stopping PostgreSQL with -m immediate and starting it again")
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--webhook-secret", required=True, help="payment-service's STRIPE_WEBHOOK_SECRET, for webhook-storm")
    parser.add_argument("--faketime-lib", required=True, help="libfaketime.so.1, for clock-skew")
    parser.add_argument("--seeds", type=int, default=3, help="run seeds 1 to N")
    parser.add_argument("--seed", type=int, action="append", help="run this seed only (repeatable; instead of --seeds)")
    parser.add_argument("--seconds", type=float, default=8, help="how long donors pledge in each scenario")
    parser.add_argument("--outage", type=float, default=5, help="how long campaign-service stays down in campaign-down")
    parser.add_argument("--donors", type=int, default=6)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    args = parser.parse_args()
    args.psql = args.psql.split()
    platform = Platform(args)
    failures, crashed = 0, set()
    seeds = args.seed or range(1, args.seeds + 1)
    for scenario in args.scenario or SCENARIOS:
        for seed in seeds:
            started = time.time()
            try:
                found, summary = run_scenario(platform, scenario, seed, args)
            except Exception as error:
                found, summary = ["the scenario failed: %r" % error], ""
            # A service that died on its own (a crash, not the scenario's kill) is a failure; it
            # is started again, as its supervisor would, so the scenarios after it still mean something.
            for role in platform.ports:
                if not platform.alive(platform.pid(role)):
                    found.append("%s was not running after the scenario (crashed? its log is kept below); started again" % role)
                    crashed.add(role)
                    try:
                        platform.start(role)
                    except Exception as error:
                        found.append("%s did not start again: %r" % (role, error))
            failures += bool(found)
            print("  %s  %-18s seed %-3d %5.1fs  %s%s" % ("FAIL" if found else "ok  ", scenario, seed, time.time() - started, summary,
                                                        "" if not found else "\n        " + "\n        ".join(found)), flush=True)
    total = len(args.scenario or SCENARIOS) * len(seeds)
    print("chaos: %d passed, %d failed" % (total - failures, failures))
    if crashed:
        print("chaos: %s stopped on their own; their logs follow" % ", ".join(sorted(crashed)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
