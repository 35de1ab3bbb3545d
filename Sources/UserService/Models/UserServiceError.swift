import HTTPSupport
import HTTPTypes

/// Every way a user-service request can fail, each with its status and stable code.
public enum UserServiceError: Error, Equatable, APIErrorConvertible {
    case emailTaken
    case invalidCredentials
    case invalidEmail
    case passwordTooShort(minimum: Int)
    case passwordTooLong(maximum: Int)
    case nameRequired
    case invalidRole
    case userNotFound

    public var apiError: APIError {
        switch self {
        case .emailTaken:
            APIError(.conflict, code: "email_taken", message: "An account with this email already exists.")
        case .invalidCredentials:
            APIError(.unauthorized, code: "invalid_credentials", message: "The email or password is wrong.")
        case .invalidEmail:
            APIError(.badRequest, code: "invalid_email", message: "The email address is not valid.")
        case .passwordTooShort(let minimum):
            APIError(.badRequest, code: "password_too_short", message: "The password must be at least \(minimum) characters.")
        case .passwordTooLong(let maximum):
            APIError(.badRequest, code: "password_too_long", message: "The password must be at most \(maximum) bytes.")
        case .nameRequired:
            APIError(.badRequest, code: "name_required", message: "A name of 1 to 200 characters (at most 800 bytes of UTF-8) is required.")
        case .invalidRole:
            APIError(.badRequest, code: "invalid_role", message: "The role must be 'donor' or 'admin'.")
        case .userNotFound:
            APIError(.notFound, code: "not_found", message: "No such user.")
        }
    }
}
