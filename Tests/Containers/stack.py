"""The platform as docker-compose.yml runs it, proven against the running containers.
scripts/containers starts the engine, makes the images and runs this; this runs docker-compose
itself (up, kill, restart, scale, down) and checks what a user of the stack would see.

  --profile quick   CI: up from the image already built, every container healthy, the admin
                    password shown once, a donation through nginx (tests/Deploy's proxy suite,
                    mail read from the mail volume), a refund, a container killed and back,
                    down
  --profile full    also: up --build (compiled in the Dockerfile's builder stage), the secrets
                    shares, pledge-service x3 and payment-service x2 under a burst of donations
                    with one of each killed mid-burst (totals exact, each outbox row delivered and
                    counted once), PostgreSQL restarted, Prometheus scraping every replica and
                    traces reaching the OTLP receiver (the observability overlay)

Prints 'ok'/'FAIL' lines and '<name>: N passed, N failed'.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

SERVICES = ["user-service", "campaign-service", "pledge-service", "payment-service", "notification-service", "gateway"]
# What each service's share of the secrets holds (deploy/secrets/init-secrets.sh), and nothing else.
SHARES = {
    "user-service": {"JWT_PRIVATE_KEY", "ADMIN_PASSWORD", "USER_SERVICE_SIGNING_SECRET", "DATABASE_URL"},
    "campaign-service": {"CAMPAIGN_SERVICE_SIGNING_SECRET", "USER_SERVICE_SIGNING_SECRET", "NOTIFICATION_SERVICE_SIGNING_SECRET",
                         "PLEDGE_SERVICE_SIGNING_SECRET", "PAYMENT_SERVICE_SIGNING_SECRET", "DATABASE_URL"},
    "pledge-service": {"PLEDGE_SERVICE_SIGNING_SECRET", "CAMPAIGN_SERVICE_SIGNING_SECRET", "USER_SERVICE_SIGNING_SECRET",
                       "NOTIFICATION_SERVICE_SIGNING_SECRET", "DATABASE_URL"},
    "payment-service": {"STRIPE_WEBHOOK_SECRET", "STRIPE_API_KEY", "PAYMENT_SERVICE_SIGNING_SECRET", "PLEDGE_SERVICE_SIGNING_SECRET",
                        "CAMPAIGN_SERVICE_SIGNING_SECRET", "USER_SERVICE_SIGNING_SECRET", "DATABASE_URL"},
    "notification-service": {"NOTIFICATION_SERVICE_SIGNING_SECRET", "USER_SERVICE_SIGNING_SECRET", "SMTP_URL", "DATABASE_URL"},
}


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Deploy"))
from donation_through_proxy import as_json, call as http_call  # noqa: E402


def call(base, method, path, body=None, token=None, headers=None, timeout=15):
    """(status, JSON body or {}); status 0 when the connection failed (a container dying under it)."""
    try:
        status, _, raw = http_call(base, method, path, body, token, headers, timeout)
    except (OSError, http.client.HTTPException) as error:
        return 0, {"error": repr(error)}
    return status, as_json(raw)


class Stack:
    def __init__(self, args):
        self.args = args
        self.files = sum((["-f", f] for f in args.file), [])

    def compose(self, *words, check=True, capture=True, timeout=900):
        command = ["docker-compose", "-p", self.args.project] + self.files + list(words)
        result = subprocess.run(command, capture_output=capture, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError("%s: %s" % (" ".join(words), (result.stderr or "")[-1500:]))
        return result.stdout if capture else ""

    def containers(self, service):
        return [c for c in self.compose("ps", "-q", service).split() if c]

    def inspect(self, container, template):
        return subprocess.run(["docker", "inspect", "-f", template, container], capture_output=True, text=True).stdout.strip()

    def state(self, container):
        return self.inspect(container, "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}").split(" ")

    def docker(self, *words, check=True):
        result = subprocess.run(["docker"] + list(words), capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError("docker %s: %s" % (" ".join(words[:2]), result.stderr[-500:]))
        return result.stdout

    def wait_healthy(self, services, counts=None, timeout=240):
        deadline, last = time.time() + timeout, {}
        while time.time() < deadline:
            last, ready = {}, True
            for service in services:
                ids = self.containers(service)
                states = [self.state(c) for c in ids]
                last[service] = states
                want = (counts or {}).get(service, 1)
                if len(ids) < want or any(s[0] != "running" or (len(s) > 1 and s[1] not in ("healthy", "")) for s in states):
                    ready = False
            if ready:
                return last
            time.sleep(1)
        raise AssertionError("not healthy after %d s: %s" % (timeout, last))

    def psql(self, database, sql):
        return self.docker("exec", self.containers("postgres")[0], "psql", "-U", "careforall", "-d", database, "-tAc", sql).strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    parser.add_argument("--file", action="append", required=True, help="a Compose file, in order")
    parser.add_argument("--url", required=True, help="nginx's published address")
    parser.add_argument("--profile", choices=["quick", "full"], default="quick")
    parser.add_argument("--build", action="store_true", help="up --build: compile the image in its builder stage")
    parser.add_argument("--donations", type=int, default=300, help="the burst (full), from 12 client containers")
    args = parser.parse_args()
    stack, base, full = Stack(args), args.url, args.profile == "full"
    results, state = [], {}
    scale = {"pledge-service": 3, "payment-service": 2} if full else {}
    overlay = ["prometheus", "node-exporter", "jaeger"] if full else []

    def step(name, body):
        started = time.time()
        try:
            detail = body()
            results.append(True)
            print("  ok    %s (%.1f s)%s" % (name, time.time() - started, ": " + detail if detail else ""), flush=True)
        except Exception as error:
            results.append(False)
            print("  FAIL  %s: %s" % (name, error), flush=True)

    def admin_token():
        status, body = call(base, "POST", "/api/users/login", {"email": "admin@careforall.local", "password": state["admin_password"]})
        assert status == 200, (status, body)
        return body["access_token"]

    def wait_for(what, probe, timeout=60):
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            last = probe()
            if last is True:
                return
            time.sleep(0.5)
        raise AssertionError("%s: still %r after %d s" % (what, last, timeout))

    def follow_addresses(containers, before):
        # nginx resolves the services' names when it starts. A container started again usually
        # gets its old address, but two started together can swap theirs; then nginx must be
        # restarted, as docs/operations.md says, or it sends one service's requests to the other.
        after = [stack.inspect(c, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}") for c in containers]
        if after == before:
            return "back at the same address"
        stack.compose("restart", "nginx")
        stack.wait_healthy(["nginx"], timeout=60)
        return "addresses %s -> %s, so nginx restarted" % (before, after)

    def totals(campaign):
        return call(base, "GET", "/api/campaigns/" + campaign, headers={"Cache-Control": "no-cache"})[1]

    def guest_donation(campaign, amount, card="pm_card_visa", attempts=12):
        # A guest pledges and pays; a refused or lost request is retried with the same key, as a
        # client would, so a container killed mid-request costs a retry, never a second pledge.
        key = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        body = {"campaign_id": campaign, "amount": amount, "currency": "USD", "donor": {"name": "Burst Donor", "email": "burst@example.org"}}
        pledge = None
        for _ in range(attempts):
            status, answer = call(base, "POST", "/api/pledges", body, headers={"Idempotency-Key": key})
            if status == 201:
                pledge = answer
                break
            time.sleep(0.5)
        assert pledge, ("pledge", status, answer)
        for _ in range(attempts):
            status, answer = call(base, "POST", "/api/payments?receipt_token=" + pledge["receipt_token"], {"pledge_id": pledge["id"], "payment_method": card})
            if status in (200, 201):
                return pledge, answer
            if status == 409 and answer.get("error", {}).get("code") == "pledge_not_payable":
                return pledge, None  # an earlier attempt was captured; its answer was lost
            time.sleep(0.5)
        raise AssertionError(("payment", status, answer))

    # ---- up ----
    def up():
        words = ["up", "-d"] + (["--build"] if args.build else ["--no-build"])
        for service, count in scale.items():
            words += ["--scale", "%s=%d" % (service, count)]
        words += ["postgres", "secrets"] + SERVICES + ["nginx"] + overlay
        stack.compose(*words, timeout=3600)
        return "docker-compose " + " ".join(words)

    def healthy():
        states = stack.wait_healthy(["postgres"] + SERVICES + ["nginx"], counts=scale)
        secrets = stack.containers("secrets")
        assert secrets and stack.inspect(secrets[0], "{{.State.Status}} {{.State.ExitCode}}") == "exited 0", "the secrets container did not finish"
        names = sorted(stack.inspect(c, "{{.Name}}").lstrip("/") + " " + "/".join(stack.state(c)) for s in ["postgres"] + SERVICES + ["nginx"] + overlay for c in stack.containers(s))
        state["containers"] = names
        return "%d containers: %s" % (len(names), ", ".join(names))

    def admin_password_once():
        logs = stack.compose("logs", "--no-color", "secrets")
        shown = re.findall(r"admin: admin@careforall\.local / (\S+)  \(shown once\)", logs)
        assert len(shown) == 1, logs[-500:]
        state["admin_password"] = shown[0]
        state["admin"] = admin_token()

    def nginx_routes():
        status, _ = call(base, "GET", "/nginx-health")
        assert status == 200, status
        request = urllib.request.Request(base + "/")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert b"CareForAll" in response.read() and response.headers.get("Content-Type", "").startswith("text/html")
        status, body = call(base, "GET", "/api/campaigns")
        assert status == 200 and "items" in body, (status, body)
        status, body = call(base, "POST", "/api/campaigns/events", {})
        assert status == 404, (status, body)

    def proxy_suite():
        mail = stack.docker("volume", "inspect", "-f", "{{.Mountpoint}}", args.project + "_mail").strip()
        command = [sys.executable, "Tests/Deploy/donation_through_proxy.py", "--name", "containers", "--url", base,
                   "--admin-email", "admin@careforall.local", "--admin-password", state["admin_password"], "--eml-dir", os.path.join(mail, "mail")]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        print("\n".join("      " + line for line in result.stdout.strip().splitlines()), flush=True)
        assert result.returncode == 0, result.stderr[-800:]

    def refund_lowers_total():
        status, campaign = call(base, "POST", "/api/campaigns", {"title": "Refunds in containers", "goal_amount": 100000, "currency": "USD"}, token=state["admin"])
        assert status == 201, (status, campaign)
        _, payment = guest_donation(campaign["id"], 5000)
        assert payment, "the payment's answer was lost; its id is unknown"
        wait_for("captured 5000", lambda: totals(campaign["id"]).get("captured_amount") == 5000 or totals(campaign["id"]))
        status, refund = call(base, "POST", "/api/payments/%s/refunds" % payment["id"], {"amount": 2000, "reason": "container check"},
                              token=state["admin"], headers={"Idempotency-Key": uuid.uuid4().hex})
        assert status == 201, (status, refund)
        wait_for("refund counted", lambda: (lambda t: (t.get("captured_amount"), t.get("refunded_amount")) == (3000, 2000) or t)(totals(campaign["id"])))
        return "captured 5000, refunded 2000: the total is 3000"

    def kill_and_back(service):
        def run():
            victim = stack.containers(service)[0]
            address = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
            before, address_before = stack.inspect(victim, "{{.RestartCount}}"), stack.inspect(victim, address)
            stack.docker("kill", victim)
            stack.compose("up", "-d", "--no-build", "--no-recreate", *sum((["--scale", "%s=%d" % kv] for kv in scale.items()), []), service)
            moved = follow_addresses([victim], [address_before])
            stack.wait_healthy([service], counts=scale, timeout=120)
            status, campaign = call(base, "POST", "/api/campaigns", {"title": "After a kill", "goal_amount": 100000, "currency": "USD"}, token=state["admin"])
            assert status == 201, (status, campaign)
            guest_donation(campaign["id"], 1234)
            wait_for("counted", lambda: totals(campaign["id"]).get("captured_amount") == 1234 or totals(campaign["id"]))
            after = stack.inspect(victim, "{{.RestartCount}} {{.State.Status}}")
            return "%s killed, started again by docker-compose up (restart count %s -> %s; Docker's restart policy leaves a container `docker kill` stopped), %s, healthy, a donation counted" % (
                victim[:12], before, after.split()[0], moved)
        return run

    # ---- full ----
    def secret_shares():
        shares = {}
        for service, expected in SHARES.items():
            text = stack.docker("exec", stack.containers(service)[0], "cat", "/run/careforall/service.env")
            keys = set(re.findall(r"^([A-Z_]+)=", text, re.M))
            assert keys == expected, (service, sorted(keys ^ expected))
            shares[service] = text
            everything = subprocess.run(["docker", "exec", stack.containers(service)[0], "ls", "/run/careforall/all"], capture_output=True)
            assert everything.returncode != 0, "%s sees every secret" % service
        gateway = subprocess.run(["docker", "exec", stack.containers("gateway")[0], "ls", "/run/careforall"], capture_output=True)
        assert gateway.returncode != 0, "the gateway has a secrets share"
        # The same container again, as a `docker-compose up` after a reboot starts it.
        again = subprocess.run(["docker", "start", "-a", stack.containers("secrets")[0]], capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr[-300:]
        assert "shown once" not in again.stdout and "generated" not in again.stdout, again.stdout
        for service in SHARES:
            again = stack.docker("exec", stack.containers(service)[0], "cat", "/run/careforall/service.env")
            assert again == shares[service], "%s's share changed on a second run" % service
        return "each service holds only its keys; a second run of the secrets container made nothing new and showed nothing"

    def burst():
        # Donors are many clients, and nginx limits each: the crowds run in containers of their
        # own on the Compose network (python3 on the Debian base), each a client nginx tells apart.
        status, campaign = call(base, "POST", "/api/campaigns", {"title": "Burst in containers", "goal_amount": 10000000, "currency": "USD"}, token=state["admin"])
        assert status == 201, (status, campaign)
        crowds, each = 12, max(1, args.donations // 12)
        build = subprocess.run(["docker", "build", "-q", "-t", "careforall-check-client", "-"], capture_output=True, text=True, timeout=600,
                               input="FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*\n")
        assert build.returncode == 0, build.stderr[-500:]
        network = stack.inspect(stack.containers("nginx")[0], "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}")
        script = os.path.abspath("Tests/Containers/burst_client.py")
        # The victims are chosen first, so the kill follows the count without a Compose call.
        victims = [stack.containers(service)[-1] for service in ("pledge-service", "payment-service")]
        gate = tempfile.mkdtemp(prefix="careforall-burst.")
        clients = []
        try:
            clients = [stack.docker("run", "-d", "--network", network, "-v", script + ":/burst_client.py:ro", "-v", gate + ":/gate:ro",
                                    "careforall-check-client", "python3", "/burst_client.py", "--url", "http://nginx:8080", "--campaign", campaign["id"],
                                    "--count", str(each), "--seed", str(n), "--gate", "/gate/go").strip() for n in range(crowds)]
            open(os.path.join(gate, "go"), "w").close()
            total = crowds * each
            sql = "SELECT count(*) FROM pledges WHERE campaign_id = '%s'" % campaign["id"]
            postgres = stack.containers("postgres")[0]

            def made():
                return int(stack.docker("exec", postgres, "psql", "-U", "careforall", "-d", "pledges", "-tAc", sql).strip() or 0)
            wait_for("a quarter of the pledges made", lambda: made() >= total // 4 or made(), timeout=180)
            address = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
            before = [stack.inspect(victim, address) for victim in victims]
            for victim in victims:
                stack.docker("kill", victim)
            made_at_kill = made()
            running = sum(1 for client in clients if stack.inspect(client, "{{.State.Running}}") == "true")
            # Mid-burst: donations still to come, crowds still sending.
            assert made_at_kill < total and running > 0, ("the kill came after the burst", made_at_kill, running)
            for service in ("pledge-service", "payment-service"):
                stack.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "%s=%d" % (service, scale[service]), service)
            moved = follow_addresses(victims, before)
            stack.wait_healthy(["pledge-service", "payment-service"], counts=scale, timeout=180)
            done = []
            for client in clients:
                code = subprocess.run(["docker", "wait", client], capture_output=True, text=True, timeout=600).stdout.strip()
                logs = subprocess.run(["docker", "logs", client], capture_output=True, text=True)
                assert code == "0", (client[:12], code, logs.stdout[-300:], logs.stderr[-300:])
                done += [json.loads(line) for line in logs.stdout.splitlines() if line.startswith("{")]
        finally:
            for client in clients:
                subprocess.run(["docker", "rm", "-f", client], capture_output=True)
            shutil.rmtree(gate, ignore_errors=True)
        killed = [victim[:12] for victim in victims]
        assert len(done) == total, (len(done), total)
        # A payment whose request died with its container is settled by payment recovery (after
        # 60 s unsettled): every pledge ends CAPTURED.
        statuses = {d["pledge"]: None for d in done}

        def all_captured():
            for d in done:
                if statuses[d["pledge"]] != "CAPTURED":
                    statuses[d["pledge"]] = call(base, "GET", "/api/pledges/%s?receipt_token=%s" % (d["pledge"], d["receipt_token"]))[1].get("status")
            waiting = [s for s in statuses.values() if s != "CAPTURED"]
            return True if not waiting else waiting[:5]
        wait_for("every donation captured", all_captured, timeout=240)
        expected = sum(d["amount"] for d in done)
        wait_for("totals exact", lambda: (lambda t: (t.get("captured_amount"), t.get("total_payments"), t.get("total_pledges")) == (expected, total, total) or t)(totals(campaign["id"])), timeout=120)
        # Every replica took requests; every outbox row was delivered, and counted once.
        served = {c[:12]: stack.docker("logs", c).count('"path":"/pledges"') for c in stack.containers("pledge-service")}
        assert len(served) == 3 and sum(1 for n in served.values() if n > 0) >= 2, served
        # Every event both publishers wrote for this campaign was delivered and is in
        # campaign-service's event log exactly once (the log is keyed by event id).
        for database in ("pledges", "payments"):
            wait_for(database + " outbox drained", lambda: stack.psql(database, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL") == "0" or "pending")
        rows = int(stack.psql("pledges", "SELECT count(*) FROM outbox WHERE destination = 'campaign-events' AND aggregate_id IN (SELECT id FROM pledges WHERE campaign_id = '%s')" % campaign["id"]))
        rows += int(stack.psql("payments", "SELECT count(*) FROM outbox WHERE destination = 'campaign-events' AND aggregate_id IN (SELECT pledge_id FROM payments WHERE campaign_id = '%s')" % campaign["id"]))
        logged = int(stack.psql("campaigns", "SELECT count(*) FROM campaign_event_log WHERE campaign_id = '%s'" % campaign["id"]))
        assert rows == logged, ("outbox rows", rows, "logged", logged)
        return "%d donations from %d client containers, %d cents captured and counted (pledges %d, payments %d); pledge-service and payment-service %s killed at %d pledges with %d crowds still sending, %s; requests per pledge-service replica %s; %d outbox rows (pledge- and payment-service) for campaign-service, %d in its event log" % (
            total, crowds, expected, total, total, killed, made_at_kill, running, moved, served, rows, logged)

    def postgres_restart():
        stack.compose("restart", "postgres")
        stack.wait_healthy(["postgres"] + SERVICES, counts=scale, timeout=180)
        status, campaign = call(base, "POST", "/api/campaigns", {"title": "After PostgreSQL restarted", "goal_amount": 100000, "currency": "USD"}, token=state["admin"])
        assert status == 201, (status, campaign)
        guest_donation(campaign["id"], 777)
        wait_for("counted", lambda: totals(campaign["id"]).get("captured_amount") == 777 or totals(campaign["id"]))
        count = stack.psql("campaigns", "SELECT count(*) FROM campaigns")
        return "every service ready again, a donation counted; %s campaigns kept on the volume" % count

    def prometheus_targets():
        def probe():
            answer = stack.docker("exec", stack.containers("gateway")[0], "curl", "-fsS", "http://prometheus:9090/api/v1/targets", check=False)
            try:
                targets = json.loads(answer)["data"]["activeTargets"]
            except Exception:
                return answer[:200]
            up = {}
            for target in targets:
                if target["health"] == "up":
                    up[target["labels"]["job"]] = up.get(target["labels"]["job"], 0) + 1
            want = {"user-service": 1, "campaign-service": 1, "pledge-service": 3, "payment-service": 2, "notification-service": 1, "gateway": 1,
                    "prometheus": 1, "node-exporter": 1}
            return True if all(up.get(job, 0) >= n for job, n in want.items()) else up
        wait_for("every replica scraped", probe, timeout=90)
        return "every service's replicas up in Prometheus (pledge 3, payment 2), and Prometheus itself and node-exporter"

    def traces_received():
        answer = stack.docker("exec", stack.containers("gateway")[0], "curl", "-fsS", "http://jaeger:4318/count")
        counts = json.loads(answer)
        assert counts["spans"] > 0 and len(counts["services"]) >= 4, counts
        return "%d spans from %s" % (counts["spans"], ", ".join(sorted(counts["services"])))

    step("up: the real docker-compose.yml%s" % (" with the observability overlay" if full else ""), up)
    step("every container healthy", healthy)
    step("the admin password is printed once by the secrets container", admin_password_once)
    step("nginx in its container routes /api/* and the web UI", nginx_routes)
    step("donations through nginx: signed-in and guest, exact totals, receipt and its mail (Tests/Deploy/donation_through_proxy.py)", proxy_suite)
    step("a refund lowers the campaign's total", refund_lowers_total)
    if full:
        step("each service sees only its own secrets; the secrets are made once", secret_shares)
        step("a burst over pledge-service x3 and payment-service x2, one of each killed mid-burst", burst)
        step("PostgreSQL restarted: the data stays, the services recover", postgres_restart)
        step("Prometheus scrapes every service container and node-exporter", prometheus_targets)
        step("traces reach the OTLP receiver", traces_received)
    else:
        step("docker kill pledge-service: back and counting", kill_and_back("pledge-service"))
    passed = sum(results)
    print("containers (%s): %d passed, %d failed" % (args.profile, passed, len(results) - passed))
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
