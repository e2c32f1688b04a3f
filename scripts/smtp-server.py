#!/usr/bin/env python3
"""A real SMTP server on loopback for Kizuna's e-mail tests (aiosmtpd).

It speaks SMTP with STARTTLS (required) and AUTH LOGIN/PLAIN (required), with a certificate
from a throw-away CA (trustme) whose PEM it writes for the client to trust. Every accepted
message is written as an .eml file into --maildir. Recipients whose local part starts with
`bounce` are refused with 550 (permanent), `tempfail` with 451 (try again later).

It prints `READY <port>` once it accepts connections and runs until its stdin closes.

    smtp-server.py --port 2525 --maildir DIR --ca-file ca.pem --user u --password p
"""

import argparse
import os
import ssl
import sys
import time

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir):
        self.maildir = maildir

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("bounce"):
            return "550 5.1.1 no such user here"
        if local.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = "%d-%d.eml" % (time.time_ns(), os.getpid())
        path = os.path.join(self.maildir, name)
        head = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\nX-Tls: %s\r\nX-Auth: %s\r\n" % (
            envelope.mail_from,
            ",".join(envelope.rcpt_tos),
            "yes" if session.ssl else "no",
            session.authenticated and "yes" or "no",
        )
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--ca-file", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    a = p.parse_args()
    os.makedirs(a.maildir, exist_ok=True)

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca.cert_pem.write_to_path(a.ca_file)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == a.user
            and auth_data.password.decode() == a.password
        )
        return AuthResult(success=ok)

    controller = Controller(
        Handler(a.maildir),
        hostname="127.0.0.1",
        port=a.port,
        server_hostname="localhost",
        tls_context=ctx,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    print("READY %d" % a.port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
