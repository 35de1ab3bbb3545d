"""An SMTP server for the deployment test: aiosmtpd (PyPI) on a loopback port, requiring STARTTLS
and AUTH PLAIN, keeping every message it accepts in a Maildir. notification-service sends the
test's mail through it with its own SMTP client, so the conversation is checked by a server that
is not ours.
Usage: python smtp_server.py --port P --maildir DIR --cert cert.pem --key key.pem --user U --password W
Runs until killed; prints 'ready' once it listens.
"""

import argparse
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    parser = argparse.ArgumentParser()
    for name in ("--maildir", "--cert", "--key", "--user", "--password"):
        parser.add_argument(name, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        good = mechanism == "PLAIN" and isinstance(auth_data, LoginPassword) \
            and auth_data.login == args.user.encode() and auth_data.password == args.password.encode()
        return AuthResult(success=good, handled=False)

    controller = Controller(
        Mailbox(args.maildir), hostname="127.0.0.1", port=args.port, tls_context=context, require_starttls=True,
        authenticator=authenticate, auth_required=True, auth_require_tls=True, server_hostname="localhost",
    )
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
