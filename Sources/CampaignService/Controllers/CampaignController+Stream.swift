import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Outbox

/// `GET /campaigns/{id}/stream`: the campaign's totals as Server-Sent Events. The first event is
/// the campaign as it is; another follows whenever its totals or status change: at once when this
/// replica ingested the change, within `pollInterval` when another did. A comment line keeps idle
/// connections open through proxies. A stream ends after `maximumLifetime` (browsers reconnect by
/// themselves) or when the service shuts down, so it never holds a shutdown up.
/// At most `maximumStreams` are open at once (503 `too_many_streams` beyond); the per-client cap
/// is the edge's (the gateway or nginx), since behind it every client has the proxy's address.
/// How live streams behave; tests shorten it.
public struct StreamConfig: Sendable {
    public var pollInterval: Duration = .seconds(5)
    public var maximumLifetime: Duration = .seconds(600)
    public var maximumStreams = 2000

    public init() {}
}

extension CampaignController {
    @Sendable func stream(_ request: Request, context: AppRequestContext) async throws -> Response {
        let first = try await visibleCampaign(request, context)
        let slot = try streamSlots.take(client: nil)
        let id = first.id
        let (store, changes, pollInterval, maximumLifetime) = (store, changes, streams.pollInterval, streams.maximumLifetime)
        let body = ResponseBody { writer in
            // The slot lives as long as this body: given back when the stream ends, however it ends.
            defer { withExtendedLifetime(slot) {} }
            let (subscription, signal) = changes.subscribe(campaignId: id)
            defer { changes.unsubscribe(subscription) }
            let deadline = ContinuousClock.now + maximumLifetime
            var last = try Self.event(first)
            try await writer.write(ByteBuffer(string: "retry: 3000\n\n" + last))
            var quietRounds = 0
            while ContinuousClock.now < deadline && !Task.isCancelled && !Task.isShuttingDownGracefully {
                await cancelWhenGracefulShutdown { await signal.wait(timeout: pollInterval) }
                guard let campaign = try await store.find(id: id) else { break }
                let event = try Self.event(campaign)
                if event != last {
                    try await writer.write(ByteBuffer(string: event))
                    last = event
                    quietRounds = 0
                } else {
                    quietRounds += 1
                    if quietRounds % 3 == 0 { try await writer.write(ByteBuffer(string: ": keep-alive\n\n")) }
                }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no"],
            body: body
        )
    }

    /// `event: campaign` with the campaign as `GET /campaigns/{id}` shows it, on one `data:` line.
    static func event(_ campaign: Campaign) throws -> String {
        let json = String(decoding: try JSONCoding.encoder.encode(CampaignResponse(campaign)), as: UTF8.self)
        return "event: campaign\ndata: \(json)\n\n"
    }
}
