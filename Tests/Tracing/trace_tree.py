#!/usr/bin/env python3
"""One donation is one trace, with the services running as processes and exporting OTLP/HTTP to
Tests/Tracing/otlp_receiver.py (which decodes with the OpenTelemetry project's own protobuf
definitions). Checks, through the gateway:
- a guest's pledge and payment sent under one traceparent give spans from the gateway and every
  service the donation touches, all of that one trace, none orphaned (every parent is in the
  trace, or is the caller's span); the campaign's ingestion of the pledge's events and the
  sandbox's webhook handling are inside it, and the receipt mail's sending too;
- donations made at once, each under its own traceparent, keep their own traces even when the
  outbox delivers their events in one batch: each event's ingestion is in its donation's trace,
  and the batch's span links to every trace it carried.
Prints the first donation's span tree (service, span name, duration) and 'tracing: N passed, N failed'.
Usage: trace_tree.py --url GATEWAY --receiver OTLP_URL --admin-email E --admin-password P [--block 40]
"""
import argparse
import concurrent.futures
import http.client
import itertools
import json
import secrets
import sys
import time
import urllib.parse
import urllib.request


SOURCES = itertools.count(1)
BLOCK = 40


def next_source():
    """A loopback address of its own (127.BLOCK.x.y) for each donor: the gateway's per-client rate
    limits count each apart, as they would count real donors."""
    number = next(SOURCES)
    return "127.%d.%d.%d" % (BLOCK, number // 250, number % 250 + 1)


def call(base, method, path, body=None, token=None, headers=None, source="127.0.0.1"):
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10, source_address=(source, 0))
    data = None if body is None else json.dumps(body).encode()
    all_headers = dict(headers or {})
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    if token:
        all_headers["Authorization"] = "Bearer " + token
    try:
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def spans(receiver):
    with urllib.request.urlopen(receiver + "/spans", timeout=10) as response:
        return json.loads(response.read())


def traceparent():
    return "00-%s-%s-01" % (secrets.token_hex(16), secrets.token_hex(8))


def donate(base, campaign_id, parent, amount):
    headers = {"traceparent": parent, "Idempotency-Key": secrets.token_hex(16)}
    source = next_source()
    status, pledge = call(base, "POST", "/api/pledges", {"campaign_id": campaign_id, "amount": amount, "currency": "USD",
                                                          "donor": {"name": "Tracy", "email": "tracy@example.org"}}, headers=headers, source=source)
    assert status == 201, (status, pledge)
    status, paid = call(base, "POST", "/api/payments?receipt_token=" + pledge["receipt_token"],
                        {"pledge_id": pledge["id"], "payment_method": "pm_card_visa"}, headers={"traceparent": parent}, source=source)
    assert status == 201 and paid.get("status") == "CAPTURED", (status, paid)
    return pledge["id"]


def outline(trace, caller_span):
    children = {}
    for span in trace:
        children.setdefault(span["parent_span_id"], []).append(span)
    lines = []

    def walk(parent, depth):
        for span in sorted(children.get(parent, []), key=lambda s: s["start"]):
            lines.append("%s%s  %s  %.1f ms" % ("  " * depth, span["service"], span["name"], (span["end"] - span["start"]) / 1e6))
            walk(span["span_id"], depth + 1)
    walk(caller_span, 0)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--receiver", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--tree", help="write the first donation's span tree to this file")
    parser.add_argument("--block", type=int, default=40, help="second octet of the 127.x.y.z client addresses")
    args = parser.parse_args()
    global BLOCK
    BLOCK = args.block
    base = args.url
    results = []

    def step(name, body):
        try:
            body()
            results.append(True)
            print("  ok    " + name, flush=True)
        except Exception as error:
            results.append(False)
            print("  FAIL  %s: %r" % (name, error), flush=True)

    status, login = call(base, "POST", "/api/users/login", {"email": args.admin_email, "password": args.admin_password}, source=next_source())
    assert status == 200, (status, login)
    status, campaign = call(base, "POST", "/api/campaigns", {"title": "Traced", "goal_amount": 10_000_000, "currency": "USD", "status": "active"},
                            token=login["access_token"], source=next_source())
    assert status == 201, (status, campaign)
    campaign_id = campaign["id"]

    def one_donation_one_trace():
        parent = traceparent()
        trace_id, caller_span = parent.split("-")[1], parent.split("-")[2]
        donate(base, campaign_id, parent, 2500)
        deadline = time.time() + 30
        while True:
            trace = [s for s in spans(args.receiver) if s["trace_id"] == trace_id]
            names = {(s["service"], s["name"]) for s in trace}
            ids = {s["span_id"] for s in trace}
            # A parent ends, and is exported, after its children: wait for the orphans to go too.
            orphans = [(s["service"], s["name"]) for s in trace if s["parent_span_id"] not in ids and s["parent_span_id"] != caller_span]
            done = ("campaign-service", "ingest PAYMENT_CAPTURED") in names and ("notification-service", "mail.send receipt") in names \
                and any(service == "payment-service" and name.startswith("webhook.apply") for service, name in names) and not orphans
            if done or time.time() > deadline:
                break
            time.sleep(0.3)
        assert done, (sorted(names), orphans)
        services = {s["service"] for s in trace}
        assert {"gateway", "pledge-service", "payment-service", "campaign-service", "notification-service"} <= services, services
        # In serve mode each process is its role's service; every span also names the role.
        assert all(s["service"] == s["attributes"].get("careforall.service", "?") + ("" if s["service"] == "gateway" else "-service") for s in trace), \
            {(s["service"], s["attributes"].get("careforall.service")) for s in trace}
        roots = [s for s in trace if s["parent_span_id"] == caller_span]
        assert roots and all(s["service"] == "gateway" and s["kind"] == 2 for s in roots), roots
        transactions = [s for s in trace if s["name"] == "db.transaction"]
        assert transactions and all(int(s["attributes"].get("db.statement_count", "0")) > 0 for s in transactions)
        ingested = [s for s in trace if s["service"] == "campaign-service" and s["name"].startswith("ingest ")]
        batches = {s["trace_id"] + "-" + s["span_id"] for s in spans(args.receiver) if s["name"] == "events.ingest_batch"}
        assert ingested and all(set(s["links"]) <= batches and s["links"] for s in ingested), ingested
        assert not any("tracy@example.org" in value for s in trace for value in s["attributes"].values())
        tree = outline(trace, caller_span)
        print(tree)
        if args.tree:
            with open(args.tree, "w") as out:
                out.write(tree + "\n")

    def donations_at_once_keep_their_traces():
        # Up to three rounds of 16 donations at once: the relay batches what committed meanwhile,
        # so some batch carries several donations' events.
        for _ in range(3):
            parents = [traceparent() for _ in range(16)]
            with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(lambda p: donate(base, campaign_id, p, 100), parents))
            traces = {p.split("-")[1] for p in parents}
            deadline = time.time() + 30
            while True:
                received = spans(args.receiver)
                ingested = [s for s in received if s["trace_id"] in traces and s["name"] == "ingest PAYMENT_CAPTURED"]
                if len({s["trace_id"] for s in ingested}) == len(traces) or time.time() > deadline:
                    break
                time.sleep(0.3)
            assert len({s["trace_id"] for s in ingested}) == len(traces), "some donations' ingestion spans are missing"
            by_id = {(s["trace_id"], s["span_id"]): s for s in received}
            for span in ingested:
                # A child of its own donation's trace: its parent is a span of that trace.
                assert (span["trace_id"], span["parent_span_id"]) in by_id, span
            shared = [s for s in received if s["name"] == "events.ingest_batch"
                      and len({link.split("-")[0] for link in s["links"]} & traces) >= 2]
            if shared:
                print("    a batch carried %d of the donations' traces" % max(len({l.split("-")[0] for l in s["links"]} & traces) for s in shared))
                return
        raise AssertionError("no outbox batch carried two donations in three rounds")

    step("one donation is one trace: every service, no orphans, ingestion, webhooks and mail inside it", one_donation_one_trace)
    step("donations batched together keep their own traces; the batch span links to each", donations_at_once_keep_their_traces)
    failed = results.count(False)
    print("tracing: %d passed, %d failed" % (results.count(True), failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
