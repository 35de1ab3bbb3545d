#!/usr/bin/env python3
"""An OTLP/HTTP trace receiver for the tests: POST /v1/traces takes an ExportTraceServiceRequest in
protobuf, decoded with the OpenTelemetry project's own definitions (PyPI opentelemetry-proto);
GET /spans answers every span received so far as JSON (ids in hex, attributes as text, links as
"<trace id>-<span id>", the resource's service.name as "service"). With --count-only (for the
benchmark, and as the Compose overlay's Jaeger stand-in, with --host 0.0.0.0) it keeps no span:
GET /count answers {"spans": N, "requests": N, "services": {service.name: N}}."""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

SPANS = []
COUNTS = {"spans": 0, "requests": 0, "services": {}}
COUNT_ONLY = False
LOCK = threading.Lock()


def text(value):
    kind = value.WhichOneof("value")
    return "" if kind is None else str(getattr(value, kind))


def decode(body):
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: text(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append({
                    "service": resource.get("service.name", ""),
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": int(span.kind),
                    "start": span.start_time_unix_nano,
                    "end": span.end_time_unix_nano,
                    "attributes": {a.key: text(a.value) for a in span.attributes},
                    "links": [link.trace_id.hex() + "-" + link.span_id.hex() for link in span.links],
                    "status": int(span.status.code),
                })
    return spans


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_error(415 if self.path == "/v1/traces" else 404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            if COUNT_ONLY:
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                spans = []
                for resource_spans in request.resource_spans:
                    service = next((text(a.value) for a in resource_spans.resource.attributes if a.key == "service.name"), "")
                    spans += [{"service": service}] * sum(len(s.spans) for s in resource_spans.scope_spans)
            else:
                spans = decode(body)
        except Exception as error:  # a malformed export is the exporter's bug: answer 400 and say so
            self.send_error(400, str(error))
            return
        with LOCK:
            COUNTS["spans"] += len(spans)
            COUNTS["requests"] += 1
            for span in spans:
                COUNTS["services"][span["service"]] = COUNTS["services"].get(span["service"], 0) + 1
            if not COUNT_ONLY:
                SPANS.extend(spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self):
        if self.path not in ("/spans", "/count"):
            self.send_error(404)
            return
        with LOCK:
            body = json.dumps(SPANS if self.path == "/spans" else COUNTS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count-only", action="store_true")
    args = parser.parse_args()
    global COUNT_ONLY
    COUNT_ONLY = args.count_only
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
