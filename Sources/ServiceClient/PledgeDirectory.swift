import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Signatures

/// Looks pledges up in pledge-service: what may be charged, and for whom.
public protocol PledgeDirectory: Sendable {
    /// The pledge, nil when pledge-service has none; throws when it cannot be asked.
    func pledge(id: PledgeID, receiptToken: String?) async throws -> PledgeLookupResponse?
}

/// pledge-service's internal `POST /pledges/internal/lookup`, signed with the internal secret.
public struct HTTPPledgeDirectory: PledgeDirectory {
    let url: String
    let signatures: SignatureScheme
    let client: HTTPClient
    let timeout: TimeAmount

    public init(baseURL: String, signatures: SignatureScheme, client: HTTPClient = .betweenServices, timeout: TimeAmount = .seconds(5)) {
        self.url = baseURL + "/pledges/internal/lookup"
        self.signatures = signatures
        self.client = client
        self.timeout = timeout
    }

    public func pledge(id: PledgeID, receiptToken: String?) async throws -> PledgeLookupResponse? {
        let body = try WireCoding.encoder.encode(PledgeLookupRequest(pledgeId: id, receiptToken: receiptToken))
        do {
            let (status, answer) = try await client.postSigned(body, to: url, signatures: signatures, timeout: timeout)
            switch status {
            case 200: return try WireCoding.decoder.decode(PledgeLookupResponse.self, from: Data(buffer: answer))
            case 404: return nil
            default: throw PledgeDirectoryError.unavailable
            }
        } catch {
            throw PledgeDirectoryError.unavailable
        }
    }
}

public enum PledgeDirectoryError: Error {
    case unavailable
}
