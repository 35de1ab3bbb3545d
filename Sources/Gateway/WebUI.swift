import Hummingbird

/// The page at `/`. For now a landing page that points at the API; the full web UI (campaign
/// pages, donating, the admin panel) is the gateway issue's.
enum WebUI {
    static func indexPage() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: .init(string: html))
        )
    }

    static let html = """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>CareForAll</title>
        <meta name="viewport" content="width=device-width, initial-scale=1"></head>
        <body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
        <h1>CareForAll</h1>
        <p>Donations with exact, live totals. The API is served under <code>/api</code>:</p>
        <ul>
        <li><code>POST /api/users/register</code> and <code>POST /api/users/login</code></li>
        <li><code>GET /api/users/me</code> with <code>Authorization: Bearer &lt;token&gt;</code></li>
        <li><code>GET /api/campaigns</code>, <code>GET /api/campaigns/{id}</code> and <code>/donations</code></li>
        <li><code>POST /api/pledges</code> with an <code>Idempotency-Key</code> header</li>
        </ul>
        </body>
        </html>
        """
}
