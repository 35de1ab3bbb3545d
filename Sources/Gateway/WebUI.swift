import HTTPTypes
import Hummingbird
import NIOCore

/// The web UI's three files (`WebUI/`), compiled into the binary and served by the gateway.
enum WebUI {
    struct Asset: Sendable {
        let bytes: [UInt8]
        let contentType: String
    }

    static let assets: [String: Asset] = [
        "/": Asset(bytes: PackageResources.index_html, contentType: "text/html; charset=utf-8"),
        "/app.js": Asset(bytes: PackageResources.app_js, contentType: "text/javascript; charset=utf-8"),
        "/style.css": Asset(bytes: PackageResources.style_css, contentType: "text/css; charset=utf-8"),
    ]

    static func addRoutes(to router: Router<some RequestContext>) {
        for (path, asset) in assets {
            router.get(RouterPath(path)) { _, _ in
                Response(
                    status: .ok,
                    headers: [
                        .contentType: asset.contentType, .cacheControl: "no-cache",
                        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                        // Never inside another site's frame (clickjacking): the modern and the old header.
                        HTTPField.Name("Content-Security-Policy")!:
                            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
                        HTTPField.Name("X-Frame-Options")!: "DENY",
                        HTTPField.Name("Referrer-Policy")!: "no-referrer",
                    ],
                    body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes))
                )
            }
        }
    }
}
