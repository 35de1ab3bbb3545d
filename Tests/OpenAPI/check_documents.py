#!/usr/bin/env python3
"""The services' OpenAPI 3.1 documents against the running services:
1. each document, as the service serves it (`/openapi.json`) and as the gateway serves its public
   part (`/api/openapi/<service>.json`: no route signed between services, no operations route),
   both valid (openapi-spec-validator);
2. schemathesis (fixed seed, 10 examples an operation, positive data, its coverage, fuzzing and
   stateful phases) against each service: no 5xx, every status documented, every response of the
   documented content type and schema. campaign-, pledge-, payment- and notification-service run
   with an admin's token (signed in afresh for each); user-service with a new donor's, since its
   logout and password routes end the caller's tokens. The live stream is left out (it never ends).
Prints one line per service with schemathesis's counts, and 'openapi: N passed, N failed'.
Usage: check_documents.py --gateway URL --services user=URL,campaign=URL,... --admin-email E --admin-password P --tools VENV
"""
import argparse
import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid

SEGMENTS = {"user": "users", "campaign": "campaigns", "pledge": "pledges", "payment": "payments", "notification": "notifications"}


def fetch(url, body=None, token=None):
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method="POST" if body else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--services", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--tools", required=True, help="the virtualenv with schemathesis and openapi-spec-validator")
    parser.add_argument("--examples", type=int, default=10)
    args = parser.parse_args()
    services = dict(item.split("=", 1) for item in args.services.split(","))
    results = []

    def report(ok, line):
        results.append(ok)
        print(("  ok    " if ok else "  FAIL  ") + line, flush=True)

    for role, segment in SEGMENTS.items():
        served = fetch(services[role] + "/openapi.json")
        through = fetch(args.gateway + "/api/openapi/%s.json" % segment)
        valid = []
        for name, raw in (("service", served), ("gateway", through)):
            path = "/tmp/careforall-openapi-%s-%s-%s.json" % (segment, name, uuid.uuid4().hex[:8])
            with open(path, "wb") as f:
                f.write(raw)
            validator = subprocess.run([os.path.join(args.tools, "bin", "openapi-spec-validator"), path], capture_output=True, text=True)
            valid.append(validator.returncode == 0)
            os.unlink(path)
        document, public = json.loads(served), json.loads(through)
        # The gateway serves the public part: every public operation as the service documents it,
        # nothing signed between services, no operations routes.
        signed = {(p, m) for p, ops in document["paths"].items() for m, op in ops.items()
                  if isinstance(op, dict) and any("signature" in s for s in op.get("security", []))}
        expected = {p: {m: op for m, op in ops.items() if (p, m) not in signed} for p, ops in document["paths"].items()
                    if not p.startswith("/health/") and p != "/metrics"}
        expected = {p: ops for p, ops in expected.items() if any(m in ("get", "post", "put", "patch", "delete") for m in ops)}
        report(all(valid) and document["openapi"].startswith("3.1") and public["paths"] == expected
               and "signature" not in public["components"].get("securitySchemes", {}),
               "%s: the document (%d operations) is valid OpenAPI %s; the gateway serves its public part (%d operations, %d signed left out)"
               % (segment, sum(len(v) for v in document["paths"].values()), document["openapi"],
                  sum(len(v) for v in public["paths"].values()), len(signed)))

    def admin_token():
        # From user-service itself: the gateway's per-client sign-in limits are not what is tested here.
        return json.loads(fetch(services["user"] + "/users/login", {"email": args.admin_email, "password": args.admin_password}))["access_token"]

    def donor_token():
        answer = fetch(services["user"] + "/users/register", {"email": "openapi-%s@example.org" % uuid.uuid4().hex[:10], "password": "a good password", "name": "OpenAPI"})
        return json.loads(answer)["access_token"]

    for role in ["campaign", "pledge", "payment", "notification", "user"]:
        token = donor_token() if role == "user" else admin_token()
        command = [os.path.join(args.tools, "bin", "schemathesis"), "run", services[role] + "/openapi.json", "--url", services[role],
                   "-H", "Authorization: Bearer " + token,
                   "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                   "--mode", "positive", "--max-examples", str(args.examples), "--seed", "1", "--no-shrink", "--request-timeout", "10",
                   "--exclude-path-regex", "/stream$", "--warnings", "off"]
        run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ, NO_COLOR="1"))
        output = run.stdout + run.stderr
        counts = re.search(r"(\d+) generated, (\d+) passed(?:, (\d+) failed)?", output)
        summary = counts.group(0) if counts else "no summary"
        report(run.returncode == 0, "%s: schemathesis %s" % (role, summary))
        if run.returncode != 0:
            print("\n".join(output.splitlines()[-60:]))

    failed = results.count(False)
    print("openapi: %d passed, %d failed" % (results.count(True), failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
