"""One donor crowd's share of the burst in Tests/Containers/stack.py, run in a container of its own
on the Compose network (so nginx sees each crowd as its own client, as it would see donors):
guest pledges and their payments through nginx, each request retried with the same
Idempotency-Key (a pledge) or for the same pledge (a payment) when a container dies under it.
Prints one JSON line per donation: {"pledge", "receipt_token", "amount"}.
Usage: burst_client.py --url http://nginx:8080 --campaign ID --count N --seed K [--gate FILE]
(--gate: start when FILE exists, so that every crowd starts at once)
"""

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


def call(url, body, headers):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=dict(headers, **{"Content-Type": "application/json"}))
    # A container dying mid-answer shows as any of these: the caller retries.
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except (ValueError, OSError, http.client.HTTPException):
            return error.code, {}
    except (ValueError, OSError, http.client.HTTPException) as error:
        return 0, {"error": repr(error)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--campaign", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--gate")
    args = parser.parse_args()
    deadline = time.time() + 120
    while args.gate and not os.path.exists(args.gate) and time.time() < deadline:
        time.sleep(0.05)
    for i in range(args.count):
        amount = 100 + (args.seed * 131 + i * 37) % 900
        key = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        body = {"campaign_id": args.campaign, "amount": amount, "currency": "USD",
                "donor": {"name": "Crowd %d" % args.seed, "email": "crowd-%d@example.org" % args.seed}}
        pledge = None
        for _ in range(60):
            status, answer = call(args.url + "/api/pledges", body, {"Idempotency-Key": key})
            if status == 201:
                pledge = answer
                break
            time.sleep(1)
        if pledge is None:
            sys.exit("pledge %d: %s %s" % (i, status, answer))
        for _ in range(60):
            status, answer = call(args.url + "/api/payments?receipt_token=" + pledge["receipt_token"],
                                  {"pledge_id": pledge["id"], "payment_method": "pm_card_visa"}, {})
            if status in (200, 201) or (status == 409 and answer.get("error", {}).get("code") == "pledge_not_payable"):
                break
            time.sleep(1)
        else:
            sys.exit("payment %d: %s %s" % (i, status, answer))
        print(json.dumps({"pledge": pledge["id"], "receipt_token": pledge["receipt_token"], "amount": amount}), flush=True)


if __name__ == "__main__":
    main()
