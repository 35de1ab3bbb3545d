import HTTPTypes
import Hummingbird

extension ResponseEncodable {
    /// The value with a status other than 200 (`.created(...)` for 201).
    public func with(status: HTTPResponse.Status) -> EditedResponse<Self> {
        EditedResponse(status: status, response: self)
    }
}
