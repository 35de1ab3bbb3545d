"""Cross-checks the deployment files against each other and against the configuration table:
Kubernetes manifests, the Compose files, nginx's upstreams, Grafana's dashboards and
datasources, Prometheus's alert rules. The tools themselves (promtool, docker-compose, nginx -t)
are run by scripts/test; this checks what no single tool can see: names, ports, keys and metrics
that must agree across files. Prints 'configs: N passed, N failed'.
Usage: python3 Tests/Deploy/check_configs.py   (from the repository root)
"""

import glob
import json
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Security"))
from edge_rules import INTERNAL_ROUTES, RATE_LIMITED  # noqa: E402
from lib import spellings  # noqa: E402

ROLES = {  # role -> (Kubernetes / Compose name, port), as DESIGN.md's table
    "user": ("user-service", 3004), "campaign": ("campaign-service", 3001), "pledge": ("pledge-service", 3003),
    "payment": ("payment-service", 3002), "notification": ("notification-service", 3005), "gateway": ("gateway", 8080),
}
# DESIGN.md's configuration table: these exact names must stay.
DESIGN_KEYS = {
    "CAREFORALL_DATA_DIR", "HOST", "GATEWAY_PORT", "CAMPAIGN_SERVICE_PORT", "PAYMENT_SERVICE_PORT", "PLEDGE_SERVICE_PORT",
    "USER_SERVICE_PORT", "DATABASE_URL", "ADMIN_EMAIL", "ADMIN_PASSWORD", "JWT_PRIVATE_KEY", "JWKS_URL",
    "ACCESS_TOKEN_TTL_SECONDS", "INTERNAL_SIGNING_SECRET", "EVENT_DISPATCH_URL", "CAMPAIGN_SERVICE_URL", "PLEDGE_SERVICE_URL",
    "PAYMENT_SERVICE_URL", "USER_SERVICE_URL", "PAYMENT_PROVIDER", "STRIPE_API_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET",
    "SANDBOX_WEBHOOK_CHAOS", "LOG_LEVEL", "LOG_FORMAT", "GATEWAY_LOGIN_RATE_LIMIT", "GATEWAY_REGISTER_RATE_LIMIT",
    "GATEWAY_PLEDGE_RATE_LIMIT", "GATEWAY_PAYMENT_RATE_LIMIT", "GATEWAY_PASSWORD_RATE_LIMIT", "USER_SERVICE_SIGNING_SECRET", "CAMPAIGN_SERVICE_SIGNING_SECRET",
    "PLEDGE_SERVICE_SIGNING_SECRET", "PAYMENT_SERVICE_SIGNING_SECRET", "NOTIFICATION_SERVICE_PORT", "NOTIFICATION_SERVICE_URL",
    "NOTIFICATION_SERVICE_SIGNING_SECRET", "PUBLIC_BASE_URL", "SMTP_URL", "MAIL_FROM", "NOTIFY_ADMIN_EMAILS", "RECONCILE_INTERVAL_SECONDS",
    "JWT_PREVIOUS_PUBLIC_KEYS",
} | {
    # OpenTelemetry's standard variables, read by the tracing SDK (swift-otel) itself.
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_SDK_DISABLED",
}
# The secrets each service may hold (deploy/k8s and docker-compose agree): the signing secret of a
# service goes to it and to its callers; the JWT key and the admin password to user-service only.
SECRETS_OF = {
    "user": {"USER_SERVICE_SIGNING_SECRET", "JWT_PRIVATE_KEY", "ADMIN_PASSWORD", "DATABASE_URL"},
    "campaign": {"CAMPAIGN_SERVICE_SIGNING_SECRET", "USER_SERVICE_SIGNING_SECRET", "NOTIFICATION_SERVICE_SIGNING_SECRET",
                 "PLEDGE_SERVICE_SIGNING_SECRET", "PAYMENT_SERVICE_SIGNING_SECRET", "DATABASE_URL"},
    "pledge": {"PLEDGE_SERVICE_SIGNING_SECRET", "CAMPAIGN_SERVICE_SIGNING_SECRET", "USER_SERVICE_SIGNING_SECRET",
               "NOTIFICATION_SERVICE_SIGNING_SECRET", "DATABASE_URL"},
    "payment": {"PAYMENT_SERVICE_SIGNING_SECRET", "PLEDGE_SERVICE_SIGNING_SECRET", "CAMPAIGN_SERVICE_SIGNING_SECRET", "USER_SERVICE_SIGNING_SECRET", "DATABASE_URL",
                "STRIPE_WEBHOOK_SECRET", "STRIPE_API_KEY"},
    "notification": {"NOTIFICATION_SERVICE_SIGNING_SECRET", "USER_SERVICE_SIGNING_SECRET", "DATABASE_URL", "SMTP_URL"},
    "gateway": set(),
}
SECRET_KEYS = set().union(*SECRETS_OF.values()) | {"INTERNAL_SIGNING_SECRET"}
# Read by the image, not by the configuration reader.
IMAGE_KEYS = {"CAREFORALL_ROLE"}
# Docker Compose's own variables (interpolation only).
COMPOSE_ONLY = {"HTTP_PORT", "CAREFORALL_VERSION"}

results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(("  ok    " if condition else "  FAIL  ") + name + ("" if condition else ": " + str(detail)), flush=True)


def env_example_keys():
    keys = set()
    for line in open(".env.example"):
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            keys.add(match.group(1))
    return keys


def swift_config_keys():
    """The keys PlatformConfig reads: `reader.x(forKey: "a.b.c"` is A_B_C in the environment."""
    keys = set()
    for path in glob.glob("Sources/PlatformConfig/*.swift"):
        text = open(path).read()
        for key in re.findall(r'forKey: "([a-z0-9.]+)"', text):
            keys.add(key.upper().replace(".", "_"))
        for key in re.findall(r'"([a-z]+)\.service\.(?:port|url)"', text):
            keys.add(key.upper())
    # Signing secrets are read through ServiceRole's signingSecretKey.
    for role in ["CAMPAIGN_SERVICE", "PAYMENT_SERVICE", "PLEDGE_SERVICE", "USER_SERVICE"]:
        keys.add(role + "_SIGNING_SECRET")
    # Ports and URLs are read through ServiceRole's portKey/urlKey.
    for role in ["GATEWAY", "CAMPAIGN_SERVICE", "PAYMENT_SERVICE", "PLEDGE_SERVICE", "USER_SERVICE"]:
        keys.add(role + "_PORT")
    for role in ["CAMPAIGN_SERVICE", "PAYMENT_SERVICE", "PLEDGE_SERVICE", "USER_SERVICE"]:
        keys.add(role + "_URL")
    return {key for key in keys if re.match(r"^[A-Z][A-Z0-9_]*$", key)}


def emitted_metrics():
    """The names of Sources/Observability/Metric.swift, the one place every metric is named."""
    return set(re.findall(r'case \w+ = "([a-z_]+)"', open("Sources/Observability/Metric.swift").read()))


def metric_names(expr):
    expr = re.sub(r"\{[^}]*\}", "{}", expr)  # label matchers are not metric names
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # nor are grouping labels
    candidates = set(re.findall(r"\b([a-z_][a-z0-9_]*)(?=\s*[{\[]|\s*\)|\s*[<>=]|\s*$)", expr))
    functions = {"sum", "rate", "increase", "max", "min", "avg", "histogram_quantile", "by", "without", "on", "le", "job"}
    return {name for name in candidates if name not in functions}


def nginx_uri(target):
    """What nginx matches locations on ($uri): the fragment and query dropped, percent-decoded,
    slashes merged, dot segments resolved. None when nginx itself refuses the request."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    try:
        decoded = re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), path)
    except ValueError:
        return None
    if "\x00" in decoded:
        return None
    segments = []
    for segment in decoded.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                return None
            segments.pop()
        else:
            segments.append(segment)
    return "/" + "/".join(segments) + ("/" if decoded.endswith("/") and segments else "")


def check_ingress_spellings(ingresses):
    """ingress-nginx makes each path a case-insensitive regex location and tries the longest path
    first; the first match picks the backend (and the Ingress's annotations: limits, rewrite)."""
    locations = []
    for _, ingress in ingresses:
        annotations = ingress["metadata"].get("annotations", {})
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                regex = path["path"] if annotations.get("nginx.ingress.kubernetes.io/use-regex") == "true" else re.escape(path["path"])
                locations.append((path["path"], regex, ingress["metadata"]["name"], annotations, path["backend"]["service"]["name"]))
    locations.sort(key=lambda location: len(location[0]), reverse=True)

    def route(uri):
        for _, regex, name, annotations, service in locations:
            match = re.match(regex, uri, re.IGNORECASE)
            if match:
                target = annotations.get("nginx.ingress.kubernetes.io/rewrite-target")
                rewritten = match.expand(target.replace("$", "\\")) if target else uri
                return name, annotations, service, rewritten
        return None

    def reaches(rewritten, service, path):
        # The service's router: case-sensitive, empty segments ignored, nothing decoded again.
        wanted = path.split("/")[2:]
        return service != "gateway" and [s for s in rewritten.split("/") if s] == wanted

    leaks, unlimited = [], []
    for method, path in INTERNAL_ROUTES:
        for target in spellings(path):
            uri = nginx_uri(target)
            routed = uri and route(uri)
            if routed and reaches(routed[3], routed[2], path):
                leaks.append("%s %s -> %s %s" % (method, target, routed[2], routed[3]))
    check("k8s: every spelling of every internal route is refused (%d spellings)" % (len(INTERNAL_ROUTES) * len(spellings("/a/b"))), not leaks, leaks)
    for path, limit, _, _, _ in RATE_LIMITED:
        for target in spellings(path):
            uri = nginx_uri(target)
            routed = uri and route(uri)
            if routed and reaches(routed[3], routed[2], path) and routed[1].get("nginx.ingress.kubernetes.io/limit-rpm") != str(limit):
                unlimited.append("POST %s -> %s without limit-rpm %d" % (target, routed[0], limit))
    check("k8s: every spelling of login, register, password change, pledge and payment creation is rate limited", not unlimited, unlimited)
    exposed = []
    for target in ("/metrics", "/health/live", "/health/ready", "/Metrics/", "//health//ready", "/x/../metrics"):
        uri = nginx_uri(target)
        routed = uri and route(uri)
        if routed and routed[3] != "/refused":
            exposed.append("%s -> %s %s" % (target, routed[2], routed[3]))
    check("k8s: the gateway's /metrics and /health are not public", not exposed, exposed)
    stream = route("/api/campaigns/abc/stream/")
    check("k8s: live streams are capped per client", stream and stream[1].get("nginx.ingress.kubernetes.io/limit-connections"), stream)


def check_compose_secrets(compose):
    """Each container gets only its share: no secret in the shared environment, each service's
    secrets volume its own, the database superuser without a default password."""
    for role, (name, _) in ROLES.items():
        service = compose["services"][name]
        env_secrets = set(service.get("environment", {})) & SECRET_KEYS
        check("compose: %s's environment passes only its own secrets" % name, env_secrets <= SECRETS_OF[role], sorted(env_secrets - SECRETS_OF[role]))
        volumes = [v for v in service.get("volumes", []) if str(v).startswith("secrets")]
        expected = [] if role == "gateway" else ["secrets-%s:/run/careforall:ro" % role]
        check("compose: %s mounts only its own secrets" % name, volumes == expected, volumes)
    script = open("deploy/secrets/init-secrets.sh").read()
    shares = {role: body for body, role in re.findall(r'\{\n((?:(?!\n\}).)*)\n\} >"\$dir/(\w+)/service\.env"', script, re.S)}
    for role in ["user", "campaign", "pledge", "payment", "notification"]:
        body = shares.get(role, "")
        written = set(re.findall(r"keep ([A-Z_]+)", body)) | ({"DATABASE_URL"} if "url %s " % role in body else set())
        check("secrets: %s-service's share holds exactly its secrets" % role, written == SECRETS_OF[role], sorted(written ^ SECRETS_OF[role]))
    postgres = compose["services"]["postgres"]["environment"]
    check("compose: the database superuser's password is generated, not a default", "POSTGRES_PASSWORD" not in postgres
          and postgres.get("POSTGRES_PASSWORD_FILE"), postgres)
    check("compose: no service connects as the superuser", "postgres://careforall" not in open("docker-compose.yml").read())


def main():
    env_keys = env_example_keys()
    config_keys = swift_config_keys()
    allowed = env_keys | IMAGE_KEYS
    check(".env.example lists every key of DESIGN.md's table", DESIGN_KEYS <= env_keys, sorted(DESIGN_KEYS - env_keys))
    check(".env.example lists every key the configuration reader reads", config_keys <= env_keys, sorted(config_keys - env_keys))
    check(".env.example has no key nobody reads", env_keys - COMPOSE_ONLY <= config_keys | DESIGN_KEYS,
          sorted(env_keys - COMPOSE_ONLY - config_keys - DESIGN_KEYS))

    # ---- Kubernetes ----
    documents = []
    for path in sorted(p for p in glob.glob("deploy/k8s/*.yaml") if not p.endswith("kustomization.yaml")):
        for document in yaml.safe_load_all(open(path)):
            if document:
                documents.append((path, document))
    kinds = lambda kind: [(p, d) for p, d in documents if d.get("kind") == kind]
    check("every manifest has apiVersion, kind and a name", all(d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name") for _, d in documents))
    check("every namespaced manifest is in the careforall namespace",
          all(d["metadata"].get("namespace") == "careforall" for _, d in documents if d["kind"] != "Namespace"))
    configmap = dict(kinds("ConfigMap")[0][1]["data"])
    secret = kinds("Secret")[0][1]
    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    check("ConfigMap keys are configuration keys", set(configmap) <= allowed, sorted(set(configmap) - allowed))

    deployments = {d["metadata"]["name"]: d for _, d in kinds("Deployment")}
    check("a Deployment per role", set(deployments) == {name for name, _ in ROLES.values()}, sorted(deployments))
    for role, (name, port) in ROLES.items():
        deployment = deployments.get(name)
        if not deployment:
            continue
        spec = deployment["spec"]
        container = spec["template"]["spec"]["containers"][0]
        ports = [p["containerPort"] for p in container.get("ports", [])]
        env = container.get("env", [])
        env_names = {e["name"] for e in env}
        refs = [e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]]
        check(name + ": two replicas or more", spec.get("replicas", 1) >= 2, spec.get("replicas"))
        check(name + ": selector matches the pod labels",
              all(spec["template"]["metadata"]["labels"].get(k) == v for k, v in spec["selector"]["matchLabels"].items()))
        check(name + ": listens on its port %d" % port, ports == [port], ports)
        check(name + ": runs its role", container.get("args") == ["serve", role] and
              any(e["name"] == "CAREFORALL_ROLE" and e.get("value") == role for e in env), container.get("args"))
        check(name + ": probes /health/ready and /health/live",
              container.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/health/ready"
              and container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/health/live")
        resources = container.get("resources", {})
        check(name + ": resource requests and limits", all(resources.get(k, {}).get(r) for k in ("requests", "limits") for r in ("cpu", "memory")), resources)
        check(name + ": env names are configuration keys", env_names <= allowed, sorted(env_names - allowed))
        check(name + ": secret references exist", all(r["name"] == secret["metadata"]["name"] and r["key"] in secret_keys for r in refs), refs)
        check(name + ": reads the ConfigMap", any(s.get("configMapRef", {}).get("name") == "careforall-config" for s in container.get("envFrom", [])))
        check(name + ": reads the tracing ConfigMap when there is one", any(
            s.get("configMapRef", {}).get("name") == "careforall-tracing" and s["configMapRef"].get("optional") is True for s in container.get("envFrom", [])))
        needs_database = role != "gateway"
        check(name + ": DATABASE_URL " + ("from the Secret" if needs_database else "not needed"), ("DATABASE_URL" in env_names) == needs_database)
        secret_env = {e["name"] for e in env if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]}
        check(name + ": reads exactly the secrets it needs", secret_env == SECRETS_OF[role], sorted(secret_env ^ SECRETS_OF[role]))

    services = {d["metadata"]["name"]: d for _, d in kinds("Service")}
    for name, port in ROLES.values():
        service = services.get(name)
        check(name + ": a Service on port %d that selects its pods" % port, service is not None
              and [p["port"] for p in service["spec"]["ports"]] == [port]
              and service["spec"]["selector"] == deployments[name]["spec"]["selector"]["matchLabels"], service and service["spec"])

    backends = []
    for _, ingress in kinds("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backends.append((path["path"], path["backend"]["service"]["name"], path["backend"]["service"]["port"]["number"]))
    ports_by_name = {name: port for name, port in ROLES.values()}
    check("every Ingress backend is a Service on its port", all(ports_by_name.get(s) == p for _, s, p in backends), backends)
    for segment, role in [("users", "user"), ("campaigns", "campaign"), ("pledges", "pledge"), ("payments", "payment")]:
        check("the Ingress routes /api/%s to %s" % (segment, ROLES[role][0]),
              any(path.startswith("/api/(" + segment) and service == ROLES[role][0] for path, service, _ in backends))
    check("the Ingress sends / to the gateway", ("/", "gateway", 8080) in backends)
    annotations = [d["metadata"].get("annotations", {}) for _, d in kinds("Ingress")]
    check("no Ingress relies on snippets (ingress-nginx turns them off by default)",
          not any(key.endswith("-snippet") for a in annotations for key in a), [k for a in annotations for k in a if k.endswith("snippet")])
    check_ingress_spellings(kinds("Ingress"))
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for _, d in kinds("HorizontalPodAutoscaler")}
    check("pledge- and payment-service scale automatically", {"pledge-service", "payment-service"} <= set(hpas), sorted(hpas))
    check("every HPA targets a Deployment", all(t in deployments for t in hpas))
    kustomization = yaml.safe_load(open("deploy/k8s/kustomization.yaml"))
    check("kustomization lists files that exist, all but the secret example",
          all(os.path.exists(os.path.join("deploy/k8s", r)) for r in kustomization["resources"])
          and set(kustomization["resources"]) == {os.path.basename(p) for p in glob.glob("deploy/k8s/*.yaml")} - {"kustomization.yaml", "secret.example.yaml"})

    # ---- the optional tracing overlay: Jaeger, and the variables pointing every service at it ----
    overlay = yaml.safe_load(open("deploy/k8s/tracing/kustomization.yaml"))
    check("k8s tracing: the overlay's files exist", all(os.path.exists(os.path.join("deploy/k8s/tracing", r)) for r in overlay["resources"])
          and all(os.path.exists(os.path.join("deploy/k8s/tracing", f)) for g in overlay.get("configMapGenerator", []) for f in g["files"]))
    overlay_documents = [d for r in overlay["resources"] for d in yaml.safe_load_all(open(os.path.join("deploy/k8s/tracing", r))) if d]
    tracing_config = next((d["data"] for d in overlay_documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "careforall-tracing"), {})
    check("k8s tracing: the ConfigMap holds only OpenTelemetry variables", tracing_config and all(k.startswith("OTEL_") and k in DESIGN_KEYS for k in tracing_config),
          sorted(tracing_config))
    jaeger_ports = {p["port"] for d in overlay_documents if d["kind"] == "Service" and d["metadata"]["name"] == "jaeger" for p in d["spec"]["ports"]}
    check("k8s tracing: the endpoint is the jaeger Service's OTLP/HTTP port", tracing_config.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://jaeger:4318"
          and 4318 in jaeger_ports, (tracing_config.get("OTEL_EXPORTER_OTLP_ENDPOINT"), jaeger_ports))
    jaeger = yaml.safe_load(open("deploy/k8s/tracing/jaeger.yml"))
    check("jaeger: receives OTLP over HTTP on 4318 and serves its UI on 16686",
          jaeger["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
          and jaeger["extensions"]["jaeger_query"]["http"]["endpoint"].endswith(":16686")
          and "otlp" in jaeger["service"]["pipelines"]["traces"]["receivers"])

    # ---- Docker Compose ----
    compose = yaml.safe_load(open("docker-compose.yml"))
    observability = yaml.safe_load(open("docker-compose.observability.yml"))
    everything = {**compose["services"], **observability["services"]}
    check("no container_name anywhere (replicas must be allowed)", not any("container_name" in s for s in everything.values()))
    for role, (name, port) in ROLES.items():
        service = compose["services"].get(name)
        check("compose: " + name + " exists, publishes no host port, runs its role",
              service is not None and "ports" not in service and service["environment"].get("CAREFORALL_ROLE") == role, service)
        check("compose: " + name + " has a health check on its port", service and str(port) in " ".join(service["healthcheck"]["test"]))
        check("compose: " + name + " env names are configuration keys", service and set(service["environment"]) <= allowed,
              service and sorted(set(service["environment"]) - allowed))
    check("compose: nginx is the single entry point", [n for n, s in compose["services"].items() if "ports" in s] == ["nginx"])
    check_compose_secrets(compose)
    for path in re.findall(r"\./([\w./-]+):", open("docker-compose.yml").read() + open("docker-compose.observability.yml").read()):
        check("compose: mounted file %s exists" % path, os.path.exists(path))
    for role, (name, _) in ROLES.items():
        traced = observability["services"].get(name, {}).get("environment", {})
        check("compose observability: " + name + " sends its spans to Jaeger", traced.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://jaeger:4318"
              and set(traced) <= DESIGN_KEYS, traced)
    check("compose observability: Jaeger runs with deploy/observability/jaeger.yml",
          "./deploy/observability/jaeger.yml:/etc/jaeger/jaeger.yml:ro" in observability["services"].get("jaeger", {}).get("volumes", []))
    for name, service in everything.items():
        for dependency in service.get("depends_on", {}) or {}:
            check("compose: %s depends on an existing service %s" % (name, dependency), dependency in everything)

    # ---- nginx upstreams ----
    nginx = open("deploy/nginx/nginx.conf").read()
    for name, port in ROLES.values():
        check("nginx: upstream %s:%d" % (name, port), "server %s:%d;" % (name, port) in nginx)

    # ---- observability ----
    metrics = emitted_metrics()
    known = metrics | {"up"} | {m + suffix for m in metrics for suffix in ("_bucket", "_sum", "_count")}
    rules = yaml.safe_load(open("deploy/observability/alerts.yml"))
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    for expr in expressions:
        unknown = metric_names(expr) - known
        check("alert rule uses metrics the services emit: " + " ".join(expr.split())[:70], not unknown, sorted(unknown))
    for needed in ["outbox_oldest_pending_seconds", "http_requests_total", "http_request_duration_seconds_bucket", "signature_failures_total"]:
        check("an alert watches " + needed, any(needed in expr for expr in expressions))
    prometheus = yaml.safe_load(open("deploy/observability/prometheus.yml"))
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    for name, port in ROLES.values():
        job = jobs.get(name, {})
        check("prometheus scrapes every %s replica on %d" % (name, port),
              any(sd.get("names") == [name] and sd.get("port") == port for sd in job.get("dns_sd_configs", [])))
    datasources = yaml.safe_load(open("deploy/observability/grafana/provisioning/datasources/datasources.yml"))
    uids = {d["uid"] for d in datasources["datasources"]}
    by_uid = {d["uid"]: d for d in datasources["datasources"]}
    check("grafana: a Jaeger datasource on Jaeger's query port", by_uid.get("jaeger", {}).get("url") == "http://jaeger:16686")
    derived = by_uid.get("loki", {}).get("jsonData", {}).get("derivedFields", [])
    check("grafana: a log line's trace_id links to its trace in Jaeger",
          any(f.get("datasourceUid") == "jaeger" and re.search(f["matcherRegex"], '{"trace_id":"%s"}' % ("ab" * 16)) for f in derived), derived)
    for path in glob.glob("deploy/observability/grafana/dashboards/*.json"):
        dashboard = json.load(open(path))
        panels = dashboard["panels"]
        check(os.path.basename(path) + ": panels use provisioned datasources", all(p["datasource"]["uid"] in uids for p in panels))
        prometheus_exprs = [t["expr"] for p in panels if p["datasource"]["uid"] == "prometheus" for t in p["targets"]]
        unknown = set().union(*(metric_names(e) for e in prometheus_exprs)) - known
        check(os.path.basename(path) + ": queries use metrics the services emit", not unknown, sorted(unknown))
        titles = " ".join(p["title"].lower() for p in panels)
        for topic in ["donations per minute", "captured", "request rate", "latency", "error", "outbox", "logs"]:
            check(os.path.basename(path) + ": has a panel for " + topic, topic in titles)

    # ---- the GitHub Actions workflow for users of the repository ----
    workflow = yaml.safe_load(open(".github/workflows/ci.yml"))
    triggers = workflow.get(True) or workflow.get("on")  # YAML 1.1 reads the key `on` as true
    check("workflow: runs on every push and pull request", set(triggers) >= {"push", "pull_request"}, triggers)
    steps = workflow["jobs"]["test"]["steps"]
    check("workflow: the test job runs scripts/test", any("scripts/test" in str(step.get("run", "")) for step in steps))
    images = workflow["jobs"]["images"]
    check("workflow: an image per service", set(images["strategy"]["matrix"]["role"]) == set(ROLES), images["strategy"]["matrix"]["role"])
    script = " ".join(str(step.get("run", "")) for step in images["steps"])
    check("workflow: images are tagged with the service's version from Versions.swift", "Versions.swift" in script and "$VERSION" in script)
    check("workflow: an image is built only when its service or the shared blocks changed", "git diff --quiet" in script)
    for role in ROLES:
        check("workflow: the version of %s can be read from Versions.swift" % role,
              re.search(r'case \.%s: "\d+\.\d+\.\d+"' % role, open("Sources/PlatformConfig/Versions.swift").read()))

    passed = sum(results)
    print("configs: %d passed, %d failed" % (passed, len(results) - passed))
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
