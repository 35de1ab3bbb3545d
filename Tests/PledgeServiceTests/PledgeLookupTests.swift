import Contracts
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Signatures
import Testing
import TestSupport
@testable import PledgeService
import NIOFoundationEssentialsCompat
import HTTPSupport

@Suite("pledge-service's internal pledge lookup")
struct PledgeLookupTests {
    func lookup(_ service: PledgeHarness, _ body: [String: Any], secret: String? = pledgeSecret) async throws -> TestResponse {
        let data = try jsonData(body)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let secret { headers[.careForAllSignature] = SignatureScheme(secret: secret).sign(path: "/pledges/internal/lookup", body: data) }
        return try await service.client.execute(uri: "/pledges/internal/lookup", method: .post, headers: headers, body: ByteBuffer(data: data))
    }

    @Test("a signed lookup gives the pledge's own amount, currency, campaign and owner, and checks a receipt token", arguments: TestDatabase.all)
    func lookup(database: TestDatabase) async throws {
        try await withPledgeService(database) { service in
            let guest = try await service.pledge(["amount": 3300]).json(PledgeResponse.self)
            let receipt = try #require(guest.receiptToken)

            let withToken = try await lookup(service, ["pledge_id": guest.id, "receipt_token": receipt])
            #expect(withToken.status == .ok)
            let answer = try JSONDecoder().decode(PledgeLookupResponse.self, from: Data(buffer: withToken.body))
            #expect(answer == PledgeLookupResponse(
                id: guest.id, campaignId: service.campaignId, userId: nil, amount: 3300, currency: Currency(rawValue: "USD")!,
                status: .pending, receiptTokenValid: true
            ))
            let wrongToken = try await lookup(service, ["pledge_id": guest.id, "receipt_token": "nope"])
            #expect(try JSONDecoder().decode(PledgeLookupResponse.self, from: Data(buffer: wrongToken.body)).receiptTokenValid == false)

            let owned = try await service.pledge(token: service.donorToken).json(PledgeResponse.self)
            let ownedAnswer = try await lookup(service, ["pledge_id": owned.id])
            #expect(try JSONDecoder().decode(PledgeLookupResponse.self, from: Data(buffer: ownedAnswer.body)).userId == "donor-1")

            #expect(try await lookup(service, ["pledge_id": UUID().uuidString]).status == .notFound)
            #expect(try await lookup(service, ["pledge_id": guest.id], secret: nil).status == .unauthorized)
            #expect(try await lookup(service, ["pledge_id": guest.id], secret: "wrong").status == .unauthorized)
            #expect(try await lookup(service, ["receipt_token": receipt]).status == .badRequest)
        }
    }
}
