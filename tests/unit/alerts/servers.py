"""Real servers on loopback for the alert tests: an aiosmtpd SMTP server (optionally STARTTLS
with a trustme CA) and an HTTP server that records JSON webhooks."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a loopback port the kernel chose: held from here on, so no other
    process can take the port between choosing it and using it."""
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))
    return bound


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port where nothing listens, for as long as the block runs: bound and never
    listening, a connection to it is refused (a port picked, then let go, may be taken)."""
    with loopback_socket() as bound:
        port: int = bound.getsockname()[1]
        yield port


class _BoundController(Controller):
    """aiosmtpd serving on a socket bound before it starts (``_create_server`` is its
    documented override point)."""

    def __init__(self, handler: Any, bound: socket.socket, **kwargs: Any) -> None:
        self._bound = bound
        super().__init__(handler, hostname="127.0.0.1", port=bound.getsockname()[1], **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self._bound, ssl=self.ssl_context
        )


@dataclass
class Mailbox:
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(content)))
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    ca_file: Path | None
    controller: Controller
    running: bool = True

    def stop(self) -> None:
        """Take the server down mid-test, as a mail relay goes down."""
        if self.running:
            self.controller.stop()
            self.running = False


@contextmanager
def smtp_server(
    tmp_path: Path,
    *,
    starttls: bool = False,
    implicit_tls: bool = False,
    password: str | None = None,
    reject_reply: str | None = None,
) -> Iterator[SmtpServer]:
    """``reject_reply``: every login fails with this reply, ``{login}`` and ``{password}``
    filled in with what the client sent (servers that echo credentials exist)."""
    mailbox = Mailbox()
    kwargs: dict[str, Any] = {}
    ca_file = None
    if starttls or implicit_tls:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(server_context)
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        if implicit_tls:
            kwargs.update(ssl_context=server_context)
        else:
            kwargs.update(tls_context=server_context, require_starttls=True)
    if password is not None:

        def check(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
        ) -> Any:
            from aiosmtpd.smtp import AuthResult, LoginPassword

            ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
            if reject_reply is not None and isinstance(auth_data, LoginPassword):
                reply = reject_reply.format(
                    login=auth_data.login.decode(), password=auth_data.password.decode()
                )
                return AuthResult(success=False, handled=False, message=reply)
            if ok:
                mailbox.logins.append((auth_data.login.decode(), "ok"))
            return AuthResult(success=ok)

        kwargs.update(authenticator=check, auth_require_tls=starttls, auth_required=True)
    bound = loopback_socket()
    port = bound.getsockname()[1]
    controller = _BoundController(mailbox, bound, **kwargs)
    controller.start()
    try:
        server = SmtpServer(port, mailbox, ca_file, controller)
        yield server
    finally:
        server.stop()


@dataclass
class WebhookServer:
    port: int
    received: list[dict[str, Any]]
    server: ThreadingHTTPServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def webhook_server() -> Iterator[WebhookServer]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook = WebhookServer(server.server_address[1], received, server)
    try:
        yield hook
    finally:
        if thread.is_alive():
            hook.stop()
