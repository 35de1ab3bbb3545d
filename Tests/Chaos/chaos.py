#!/usr/bin/env python3
"""Seeded fault injection over the services as processes on PostgreSQL (scripts/chaos sets them
up, with the sandbox's webhook chaos on: every webhook 2-3 times, shuffled, late). For each
scenario and seed: a fresh campaign, guest donors pledging and paying at once through the gateway
(retrying as clients do, with the same Idempotency-Key), the fault at a moment the seed picks,
then the invariants, polled until they hold or the time runs out:
- every pledge that got a 201 exists;
- at most one provider charge per pledge (the sandbox's intents);
- the campaign's pending, authorized, captured and failed totals equal pledge-service's sums by
  status, captured also payment-service's captured payments; its pledge count is exact;
- nothing left AUTHORIZED (pledges or payments) once settled; no dead outbox row;
- reconciliation reports no drift for the campaign.
One line per scenario and seed; exit 1 on any violation.
"""
import argparse
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

SCENARIOS = ["kill-pledge", "kill-payment", "kill-campaign", "kill-notification", "kill-gateway", "kill-user",
             "campaign-down", "postgres-restart", "idempotency-race"]


class Platform:
    def __init__(self, args):
        self.gateway = args.gateway
        self.services_dir = args.services_dir
        self.ports = dict(item.split("=") for item in args.ports.split(","))
        self.psql = args.psql
        self.pg_restart = args.pg_restart
        self.admin = None
        self.admin_email, self.admin_password = args.admin_email, args.admin_password

    def request(self, method, path, body=None, token=None, headers=None, base=None, timeout=10):
        host, port = (base or self.gateway).replace("http://", "").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        all_headers = {"Content-Type": "application/json"}
        if token:
            all_headers["Authorization"] = "Bearer " + token
        all_headers.update(headers or {})
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body), headers=all_headers)
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

    @staticmethod
    def alive(pid):
        """Running: a killed process its parent has not reaped yet (a zombie) counts as gone."""
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False

    def start(self, role):
        log = open(os.path.join(self.services_dir, role + ".log"), "ab")
        process = subprocess.Popen(["bash", os.path.join(self.services_dir, role + ".launch")], stdout=log, stderr=log, start_new_session=True)
        with open(os.path.join(self.services_dir, role + ".pid"), "w") as f:
            f.write(str(process.pid))
        self.wait_ready(role)

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
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(random.Random(rng.random()),), daemon=True) for _ in range(count)]

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

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)


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
    sums = {status: (int(count), int(total)) for status, count, total in platform.sql(
        "pledges", "SELECT status, count(*), coalesce(sum(amount), 0) FROM pledges WHERE campaign_id = '%s' GROUP BY status" % campaign)}
    rollup = platform.sql("campaigns", "SELECT pending_amount, authorized_amount, captured_amount, failed_amount, total_pledges "
                                       "FROM campaign_rollups WHERE campaign_id = '%s'" % campaign)
    pending, authorized, captured, failed, total = map(int, rollup[0]) if rollup else (0, 0, 0, 0, 0)
    for name, status, value in [("pending", "PENDING", pending), ("authorized", "AUTHORIZED", authorized), ("captured", "CAPTURED", captured),
                                ("failed", "FAILED", failed)]:
        if sums.get(status, (0, 0))[1] != value:
            found.append("%s: pledges %d, campaign %d" % (name, sums.get(status, (0, 0))[1], value))
    if sum(count for count, _ in sums.values()) != total:
        found.append("pledges %d, campaign counts %d" % (sum(c for c, _ in sums.values()), total))
    paid = platform.sql("payments", "SELECT status, count(*), coalesce(sum(amount), 0) FROM payments WHERE campaign_id = '%s' GROUP BY status" % campaign)
    paid = {status: (int(count), int(total)) for status, count, total in paid}
    if paid.get("CAPTURED", (0, 0))[1] != captured:
        found.append("captured: payments %d, campaign %d" % (paid.get("CAPTURED", (0, 0))[1], captured))
    if authorized or paid.get("AUTHORIZED") or paid.get("PENDING"):
        found.append("not settled: %d authorized, payments %s" % (authorized, {k: v for k, v in paid.items() if k in ("AUTHORIZED", "PENDING")}))
    for database in ("pledges", "payments", "campaigns"):
        dead = platform.sql(database, "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL")
        if int(dead[0][0]):
            found.append("%s: %s dead outbox rows" % (database, dead[0][0]))
    return found, sums


def settle(platform, campaign, created, seconds):
    deadline = time.time() + seconds
    while True:
        found, sums = violations(platform, campaign, created)
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
    with Donors(platform, campaign, rng, args.donors) as donors:
        time.sleep(fault_at)
        if scenario.startswith("kill-"):
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
    created = list(donors.created)
    wait = 100 if scenario in ("kill-payment", "postgres-restart") else 45
    found, sums = settle(platform, campaign, created, wait)
    summary = "%d pledges: %s" % (len(created), ", ".join("%d %s" % (count, status.lower()) for status, (count, _) in sorted(sums.items())))
    return found, summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--services-dir", required=True)
    parser.add_argument("--ports", required=True)
    parser.add_argument("--psql", required=True, help="the psql command line, as the superuser")
    parser.add_argument("--pg-restart", required=True, help="a shell command stopping PostgreSQL with -m immediate and starting it again")
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8, help="how long donors pledge in each scenario")
    parser.add_argument("--outage", type=float, default=5, help="how long campaign-service stays down in campaign-down")
    parser.add_argument("--donors", type=int, default=6)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    args = parser.parse_args()
    args.psql = args.psql.split()
    platform = Platform(args)
    failures = 0
    for scenario in args.scenario or SCENARIOS:
        for seed in range(1, args.seeds + 1):
            started = time.time()
            try:
                found, summary = run_scenario(platform, scenario, seed, args)
            except Exception as error:
                found, summary = ["the scenario failed: %r" % error], ""
            failures += bool(found)
            print("  %s  %-18s seed %-3d %5.1fs  %s%s" % ("FAIL" if found else "ok  ", scenario, seed, time.time() - started, summary,
                                                        "" if not found else "\n        " + "\n        ".join(found)), flush=True)
    total = len(args.scenario or SCENARIOS) * args.seeds
    print("chaos: %d passed, %d failed" % (total - failures, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
