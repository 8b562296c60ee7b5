"""`alpha-panda zerodha login|status|logout|instruments`: the daily Kite session and the
instrument master.

`login` prints Kite's login URL and takes the request token Kite redirects with: pasted
(the whole redirect URL or just the token) or caught by a one-shot HTTP listener
(`--listen 127.0.0.1:PORT`, the app's redirect URL at Kite). It exchanges it through the
official client at KITE_ROOT and stores the access token owner-only under the data
directory (`actors/kite/session_store.py`). No secret is ever printed: not the API secret,
not the request token, not the access token.
"""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from actors.kite.session import (
    LOGIN_HINT,
    KiteSessionError,
    exchange_request_token,
    kite_client,
    load_session,
)
from actors.kite.session_store import IST, delete_session, read_session, session_path
from ops.settings import Settings, load_settings
from schemas.errors import ConfigError

__all__ = ["register", "parse_request_token", "RedirectListener"]

LISTEN_TIMEOUT_S = 300.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("zerodha", help="the daily Kite login; Kite's instrument master")
    z = p.add_subparsers(dest="zerodha_command", metavar="ACTION", required=True)
    login = z.add_parser("login", help="log in to Kite and store the day's access token")
    login.add_argument(
        "--listen", metavar="HOST:PORT",
        help="catch Kite's redirect on this local address (your app's redirect URL) "
             "instead of reading the pasted redirect URL or token from stdin",
    )  # fmt: skip
    login.add_argument("--timeout", type=float, default=LISTEN_TIMEOUT_S,
                       help="seconds to wait for the redirect (with --listen)")  # fmt: skip
    login.set_defaults(func=_login)
    status = z.add_parser("status", help="who is logged in and until when (no token shown)")
    status.add_argument("--offline", action="store_true", help="do not ask Kite (profile)")
    status.set_defaults(func=_status)
    logout = z.add_parser("logout", help="invalidate the token at Kite and delete it here")
    logout.set_defaults(func=_logout)
    inst = z.add_parser("instruments", help="import Kite's instruments dump")
    inst.add_argument("--exchange", default="NSE", help="the exchange to import (NSE, NFO, ...)")
    inst.add_argument(
        "--out", type=Path, help="the CSV to write (default: DATA_DIR/instruments.csv)"
    )
    inst.set_defaults(func=_instruments)


def _say(line: str) -> None:
    print(line, flush=True)


def _note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def parse_request_token(text: str) -> str:
    """The request token in a pasted redirect URL (`...?request_token=X&status=success`) or a
    bare token. A failed login (status other than success) is an error naming it."""
    text = text.strip()
    if not text:
        raise KiteSessionError("nothing was pasted: paste Kite's redirect URL or its request_token")
    if "request_token=" in text or "://" in text or text.startswith("?"):
        query = parse_qs(urlsplit(text).query if "://" in text else text.rpartition("?")[2])
        status = (query.get("status") or ["success"])[0]
        if status != "success":
            raise KiteSessionError(
                f"Kite's redirect says status={status!r}: the login did not complete; open the "
                "login URL again"
            )
        found = (query.get("request_token") or [""])[0]
        if not found:
            raise KiteSessionError(
                "the pasted URL has no request_token; paste the whole redirect URL"
            )
        text = found
    if not text.isalnum() or len(text) > 128:
        raise KiteSessionError(
            "that is not a request token (letters and digits); paste the redirect URL or the "
            "request_token value from it"
        )
    return text


class RedirectListener:
    """A one-shot local HTTP server: the first request with a request_token (or a failed
    status) ends it. The page it answers names no token."""

    def __init__(self, host: str, port: int) -> None:
        self.found: str | None = None
        self.error: str | None = None
        self.done = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if "request_token" not in query and "status" not in query:
                    self._page(404, "Waiting for Kite's login redirect.")
                    return
                try:
                    listener.found = parse_request_token("?" + urlsplit(self.path).query)
                    self._page(200, "Logged in to Kite: you can close this tab.")
                except KiteSessionError as exc:
                    listener.error = str(exc)
                    self._page(400, "The Kite login did not complete; see the terminal.")
                listener.done.set()

            def _page(self, code: int, text: str) -> None:
                body = f"<!doctype html><title>alpha-panda</title><p>{text}</p>".encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the default line holds the URL, and the URL holds the request token

        try:
            self.server = HTTPServer((host, port), Handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); pick a free port"
            ) from None
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def wait(self, timeout_s: float) -> str:
        self.thread.start()
        try:
            if not self.done.wait(timeout_s):
                raise KiteSessionError(
                    f"no login redirect reached {self.url} within {timeout_s:g} s; set it as "
                    "your Kite app's redirect URL and run the login again"
                )
        finally:
            self.server.shutdown()
            self.server.server_close()
        if self.error is not None:
            raise KiteSessionError(self.error)
        assert self.found is not None
        return self.found


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"--listen: expected HOST:PORT such as 127.0.0.1:5000, got {text!r}")
    return host, int(port)


def _login_url(settings: Settings) -> str:
    from kiteconnect import KiteConnect

    key = settings.kite_api_key.get_secret_value() if settings.kite_api_key else ""
    if not key:
        raise KiteSessionError(
            "the login needs KITE_API_KEY: export your Kite Connect app's key (or eval the "
            "export lines of `alpha-panda sim kite`)"
        )
    url: str = KiteConnect(api_key=key, root=settings.kite_root).login_url()
    return url


def _login(args: argparse.Namespace) -> int:
    settings = load_settings()
    _say(f"open this URL and log in to Kite:\n  {_login_url(settings)}")
    if args.listen:
        listener = RedirectListener(*_listen_address(args.listen))
        _say(f"waiting for Kite's redirect on {listener.url} (your app's redirect URL)")
        token = listener.wait(args.timeout)
    else:
        _say("then paste the URL Kite redirected to (or its request_token):")
        line = sys.stdin.readline()
        token = parse_request_token(line)
    stored = exchange_request_token(settings, token)
    expires = stored.expires_at.astimezone(IST)
    _say(f"logged in as {stored.user_id}; the session is stored in "
         f"{session_path(settings.data_dir)} (owner-only) and expires at "
         f"{expires:%H:%M} IST on {expires:%Y-%m-%d}")  # fmt: skip
    if settings.kite_access_token is not None:
        _note("note: KITE_ACCESS_TOKEN is set in this environment and wins over the stored "
              "session; unset it to use this login")  # fmt: skip
    return 0


def _status(args: argparse.Namespace) -> int:
    from kiteconnect import exceptions as kex

    settings = load_settings()
    stored = read_session(settings.data_dir)
    if stored is not None:
        now = datetime.now(UTC)
        expires = stored.expires_at.astimezone(IST)
        login = stored.login_time.astimezone(IST)
        state = (
            "EXPIRED"
            if stored.expired(now)
            else f"{(stored.expires_at - now).total_seconds() / 3600:.1f} h left"
        )
        where = session_path(settings.data_dir)
        _say(f"stored session: {stored.user_id}, logged in {login:%Y-%m-%d %H:%M} IST, "
             f"expires {expires:%Y-%m-%d %H:%M} IST ({state}); {where}")  # fmt: skip
    else:
        _say(f"stored session: none ({session_path(settings.data_dir)})")
    if settings.kite_access_token is not None:
        _say("KITE_ACCESS_TOKEN is set in the environment and wins over the stored session")
    try:
        session = load_session(settings)
    except KiteSessionError as exc:
        _say(f"usable: no: {exc}")
        return 1
    if args.offline:
        _say("usable: yes (not checked with Kite)")
        return 0
    try:
        profile = kite_client(session, timeout_s=5.0).profile()
    except kex.TokenException:
        _say(f"usable: no: Kite rejected the token (TokenException): {LOGIN_HINT}")
        return 1
    except Exception as exc:
        _say(f"usable: unknown: Kite at {session.root} did not answer ({type(exc).__name__})")
        return 1
    _say(f"usable: yes: Kite accepts it for {profile.get('user_id', '?')}")
    return 0


def _logout(args: argparse.Namespace) -> int:
    settings = load_settings()
    stored = read_session(settings.data_dir)
    if stored is None:
        _say("no stored session; nothing to log out")
        return 0
    try:
        kite = kite_client(load_session(settings))
        kite.invalidate_access_token()
        _say(f"Kite invalidated the session of {stored.user_id}")
    except Exception as exc:  # expired already, or Kite unreachable: the local copy goes anyway
        _note(f"Kite did not confirm the logout ({type(exc).__name__}); deleting the local copy")
    delete_session(settings.data_dir)
    _say(f"deleted {session_path(settings.data_dir)}")
    return 0


def _instruments(args: argparse.Namespace) -> int:
    from kiteconnect import exceptions as kex

    from actors.kite.instruments_import import import_rows, write_book

    settings = load_settings()
    out: Path = args.out or settings.data_dir / "instruments.csv"
    kite = kite_client(load_session(settings), timeout_s=60.0)
    exchange = args.exchange.strip().upper()
    _note(f"downloading Kite's {exchange} instruments dump ...")
    try:
        rows = kite.instruments(exchange)
    except kex.TokenException:
        raise KiteSessionError(
            f"Kite rejected the access token (TokenException): {LOGIN_HINT}"
        ) from None
    except kex.KiteException as exc:
        raise ConfigError(
            f"Kite refused the instruments dump ({type(exc).__name__}: {exc})"
        ) from None
    except ValueError as exc:
        raise ConfigError(
            f"Kite's instruments dump has a malformed row ({exc}); try again later"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot reach Kite at {settings.kite_root} ({type(exc).__name__})"
        ) from None
    result = import_rows(rows, progress=lambda n: _note(f"checked {n}/{len(rows)} rows"))
    for finding in result.findings[:20]:
        _note(f"finding: {finding}")
    if len(result.findings) > 20:
        _note(f"... and {len(result.findings) - 20} more findings")
    if not result.rows:
        _note(f"no instrument of {exchange} could be imported; {out} is unchanged")
        return 1
    try:
        n = write_book(out, result.rows)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
    _say(f"imported {n} instruments of {exchange} to {out} ({len(result.findings)} findings, "
         f"{result.indices} index rows skipped)")  # fmt: skip
    _say(f"use it: export ALPHA_PANDA_INSTRUMENTS={out}")
    return 0
