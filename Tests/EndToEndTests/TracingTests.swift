import AsyncHTTPClient
import Foundation
import Logging
import Observability
import Platform
import ServiceLifecycle
import Synchronization
import PlatformConfig
import Testing
import TestSupport

/// Tracing on, exporting OTLP/HTTP to an in-process receiver: one donation is one trace.
@Suite("End to end: one donation, one trace", .serialized)
struct TracingTests {
    static let roles: [ServiceRole] = [.user, .campaign, .pledge, .payment, .notification, .gateway]

    @Test("a guest's pledge and payment under one traceparent: spans from every service it touches, one connected tree")
    func donationIsOneTrace() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let receiver = OTLPReceiver(port: try FreePort.next())
        let tracing = try TracingBackend.make(
            roles: Self.roles, endpoint: receiver.endpoint, scheduleDelay: .milliseconds(50), logger: TestLogging.logger
        )
        let traceID = (0..<32).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        let callerSpan = "00f067aa0ba902b7"
        let traceParent = "00-\(traceID)-\(callerSpan)-01"

        try await receiver.run {
            try await withDevPlatform(dataDirectory: dataDirectory, tracing: tracing) { platform in
                let api = platform.gateway + "/api"
                let adminToken = try await platform.adminToken()
                let campaignId = try #require(try await HTTPClient.testing.send(
                    "POST", api + "/campaigns", json: ["title": "Traced", "goal_amount": 100_000, "currency": "USD", "status": "active"], bearer: adminToken
                ).json()["id"] as? String)
                let pledge = try await HTTPClient.testing.send(
                    "POST", api + "/pledges",
                    json: ["campaign_id": campaignId, "amount": 2500, "currency": "USD", "donor": ["name": "Tracy", "email": "tracy@example.org"]],
                    headers: ["Idempotency-Key": "trace-1-0123456789abcdef", "traceparent": traceParent]
                )
                #expect(pledge.status == 201)
                let pledgeId = try #require(try pledge.json()["id"] as? String)
                let receipt = try #require(try pledge.json()["receipt_token"] as? String)
                let paid = try await HTTPClient.testing.send(
                    "POST", api + "/payments?receipt_token=\(receipt)", json: ["pledge_id": pledgeId, "payment_method": "pm_card_visa"],
                    headers: ["traceparent": traceParent]
                )
                #expect(try paid.json()["status"] as? String == "CAPTURED")

                // Wait for the trace's far ends: the capture counted by campaign-service, the
                // sandbox's webhooks applied, the receipt mailed.
                // (A parent span ends, and is exported, after its children: wait for the orphans to go too.)
                @Sendable func orphans(_ trace: [ReceivedSpan]) -> [ReceivedSpan] {
                    let ids = Set(trace.map(\.spanID))
                    return trace.filter { !ids.contains($0.parentSpanID) && $0.parentSpanID != callerSpan }
                }
                let complete = try await eventually(timeout: .seconds(30)) {
                    let trace = receiver.spans.filter { $0.traceID == traceID }
                    let names = Set(trace.map { "\($0.role) \($0.name)" })
                    return names.contains("campaign ingest PAYMENT_CAPTURED") && names.contains("notification mail.send receipt")
                        && names.contains { $0.hasPrefix("payment webhook.apply") } && orphans(trace).isEmpty
                }
                let trace = receiver.spans.filter { $0.traceID == traceID }
                #expect(complete, "the trace misses spans: \(trace.map(\.description).sorted())")

                // Every service the donation touches, under the one trace id; in dev mode they share
                // the process's `service.name` and each span names its role.
                #expect(Set(trace.map(\.role)).isSuperset(of: ["gateway", "pledge", "payment", "campaign", "notification"]))
                #expect(trace.allSatisfy { $0.service == "careforall" })
                // No orphans: each span's parent is in the trace, or is the caller's span.
                #expect(orphans(trace).isEmpty, "spans whose parent is not in the trace: \(orphans(trace))")
                #expect(trace.filter { $0.parentSpanID == callerSpan }.allSatisfy { $0.role == "gateway" && $0.kind == 2 })

                // The names that make the tree readable.
                func spans(_ role: String, _ prefix: String) -> [ReceivedSpan] {
                    trace.filter { $0.role == role && $0.name.hasPrefix(prefix) }
                }
                #expect(trace.contains { $0.role == "gateway" && $0.kind == 2 && $0.attributes["url.path"] == "/api/pledges" })
                #expect(!spans("pledge", "POST /pledges").isEmpty)
                #expect(!spans("payment", "payment_provider.create_intent").isEmpty)
                let transactions = trace.filter { $0.name == "db.transaction" }
                #expect(!transactions.isEmpty && transactions.allSatisfy { Int($0.attributes["db.statement_count"] ?? "") ?? 0 > 0 })
                #expect(!spans("pledge", "outbox.deliver").isEmpty)
                // Ingestion of the pledge's events is a child of the event's trace and links to its batch.
                let ingested = spans("campaign", "ingest ")
                #expect(ingested.contains { $0.name == "ingest PLEDGE_CREATED" })
                let batches = Set(receiver.spans.filter { $0.name == "events.ingest_batch" }.map { "\($0.traceID)-\($0.spanID)" })
                #expect(ingested.allSatisfy { !$0.links.isEmpty && batches.isSuperset(of: $0.links) })
                // The sandbox's webhook carried no trace header: its handling continues the payment's trace.
                let webhook = try #require(spans("payment", "webhook.apply").first)
                #expect(webhook.links.count == 1 && !webhook.links[0].hasPrefix(traceID))
                #expect(!spans("pledge", "notice CAPTURED").isEmpty)
                #expect(spans("notification", "mail.send receipt").count == 1)
                // No span carries values: no e-mail address in any attribute.
                #expect(!receiver.spans.contains { $0.attributes.values.contains { $0.contains("tracy@example.org") } })
            }
        }
    }

    @Test("tracing is off unless an endpoint is set; OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn it off")
    func switches() {
        #expect(!TracingBackend.isEnabled(in: [:]))
        #expect(!TracingBackend.isEnabled(in: ["OTEL_EXPORTER_OTLP_ENDPOINT": ""]))
        #expect(!TracingBackend.isEnabled(in: ["OTEL_TRACES_EXPORTER": "otlp"]))
        #expect(TracingBackend.isEnabled(in: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"]))
        #expect(TracingBackend.isEnabled(in: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4318/v1/traces"]))
        #expect(!TracingBackend.isEnabled(in: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_SDK_DISABLED": "true"]))
        #expect(!TracingBackend.isEnabled(in: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_TRACES_EXPORTER": "none"]))
    }

    @Test("a log line under a span carries the span's trace_id and span_id; a line about one event keeps that event's trace")
    func logLinesCarrySpanIDs() async throws {
        let receiver = OTLPReceiver(port: try FreePort.next())
        let tracing = try TracingBackend.make(roles: [.pledge], endpoint: receiver.endpoint, scheduleDelay: .milliseconds(20), logger: TestLogging.logger)
        let lines = Mutex<[String]>([])
        let logger = Logger(label: "careforall.pledge") { label in
            JSONLogHandler(label: label, output: LogOutput { data in lines.withLock { $0.append(String(decoding: data, as: UTF8.self)) } })
        }
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let exporter = ServiceGroup(configuration: .init(services: tracing.services, logger: TestLogging.logger))
        try await receiver.run {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await exporter.run() }
                let spanID = try await ServiceTracer.$current.withValue(tracing.tracers[.pledge]) {
                    try await Trace.span("work", parent: parent) { span in
                        logger.info("inside")
                        logger.info("about another event", metadata: ["trace_id": "0af7651916cd43dd8448eb211c80319c"])
                        return try #require(span.traceParent).split(separator: "-")[2]
                    }
                }
                logger.info("outside")
                let exported = try await eventually(timeout: .seconds(10)) { receiver.spans.contains { $0.name == "work" } }
                #expect(exported)
                let work = try #require(receiver.spans.first { $0.name == "work" })
                #expect(work.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && work.parentSpanID == "00f067aa0ba902b7" && work.spanID == String(spanID))
                #expect(work.service == "pledge-service" && work.role == "pledge")
                let logged = lines.withLock { $0 }
                #expect(logged[0].contains("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"") && logged[0].contains("\"span_id\":\"\(spanID)\""))
                #expect(logged[1].contains("\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\""))
                #expect(!logged[2].contains("trace_id") && !logged[2].contains("span_id"))
                await exporter.triggerGracefulShutdown()
                try await group.next()
            }
        }
    }
}
