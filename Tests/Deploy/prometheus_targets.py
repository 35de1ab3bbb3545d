"""Debian's Prometheus, with deploy/observability/prometheus.yml and its alert rules, scraping the
services running as processes: every service target must be up and every rule loaded.
The Compose DNS discovery of each job is replaced by the services' loopback addresses; jobs for
containers that only exist under Docker (node-exporter, cAdvisor, Loki) are left out.
Prints 'prometheus: N passed, N failed'.
Usage: python3 prometheus_targets.py --prometheus /usr/bin/prometheus --ports user=P,campaign=P,...
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

NAMES = {"user": "user-service", "campaign": "campaign-service", "pledge": "pledge-service", "payment": "payment-service", "notification": "notification-service", "gateway": "gateway"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--ports", required=True, help="user=3004,campaign=3001,...")
    args = parser.parse_args()
    ports = {NAMES[k]: int(v) for k, v in (pair.split("=") for pair in args.ports.split(","))}

    source = yaml.safe_load(open("deploy/observability/prometheus.yml"))
    config = {"global": dict(source["global"], scrape_interval="1s", evaluation_interval="1s"),
              "rule_files": [os.path.abspath(os.path.join("deploy/observability", f)) for f in source["rule_files"]],
              "scrape_configs": []}
    for job in source["scrape_configs"]:
        if job["job_name"] not in ports:
            continue
        static = dict(job)
        static.pop("dns_sd_configs")
        static["static_configs"] = [{"targets": ["127.0.0.1:%d" % ports[job["job_name"]]]}]
        config["scrape_configs"].append(static)

    folder = tempfile.mkdtemp(prefix="careforall-prometheus-")
    path = os.path.join(folder, "prometheus.yml")
    yaml.safe_dump(config, open(path, "w"))
    port = free_port()
    log = open(os.path.join(folder, "prometheus.log"), "w")
    process = subprocess.Popen([args.prometheus, "--config.file=" + path, "--storage.tsdb.path=" + os.path.join(folder, "data"),
                                "--web.listen-address=127.0.0.1:%d" % port], stdout=log, stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % port
    results = []

    def check(name, condition, detail=""):
        results.append(bool(condition))
        print(("  ok    " if condition else "  FAIL  ") + name + ("" if condition else ": " + str(detail)), flush=True)

    try:
        deadline = time.time() + 60
        targets = []
        while time.time() < deadline:
            try:
                targets = get(base + "/api/v1/targets")["data"]["activeTargets"]
                if len(targets) == len(ports) and all(t["health"] == "up" for t in targets):
                    break
            except Exception:
                pass
            time.sleep(0.5)
        check("Prometheus scrapes a target for each of the %d services" % len(ports), {t["labels"]["job"] for t in targets} == set(ports),
              [t["labels"]["job"] for t in targets])
        for target in targets:
            check("%s is up" % target["labels"]["job"], target["health"] == "up", target.get("lastError"))
        rules = [rule for group in get(base + "/api/v1/rules")["data"]["groups"] for rule in group["rules"]]
        expected = sum(len(g["rules"]) for g in yaml.safe_load(open("deploy/observability/alerts.yml"))["groups"])
        check("all %d alert rules are loaded and evaluate" % expected, len(rules) == expected and all(r.get("health") == "ok" for r in rules),
              [(r["name"], r.get("health"), r.get("lastError")) for r in rules])
        series = get(base + "/api/v1/query?query=" + urllib.request.quote("count(http_requests_total)"))["data"]["result"]
        check("the services' own metrics are stored (http_requests_total)", series and float(series[0]["value"][1]) > 0, series)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)
    passed = sum(results)
    print("prometheus: %d passed, %d failed" % (passed, len(results) - passed))
    sys.exit(0 if results and passed == len(results) else 1)


if __name__ == "__main__":
    main()
