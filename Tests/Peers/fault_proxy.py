#!/usr/bin/env python3
"""Fault-injection HTTP proxy between lampd's uplink and its receiver (lamp-ingest), for tests.

    fault_proxy.py --listen 127.0.0.1:0 --upstream http://127.0.0.1:PORT
                   [--tls-cert F --tls-key F [--tls-client-ca F]]
                   [--upstream-ca F] [--port-file F] [--watch-stdin]

Python 3.11 standard library only (asyncio). Prints "listening on HOST:PORT" on stdout once it
accepts connections, and writes PORT to --port-file (atomically) if given. Serves until SIGINT,
SIGTERM, or (with --watch-stdin) until stdin closes, so it never outlives the test that started it.

Forwarding (docs/uplink.md §6)
    HTTP/1.1 from the client, keep-alive honoured, request bodies framed by Content-Length or
    chunked (a chunked body is forwarded with a Content-Length). `Expect: 100-continue` is answered
    by the proxy. Each forwarded request opens its own upstream connection (`Connection: close`);
    the request target is sent unchanged, prefixed with the upstream URL's path if it has one.
    Hop-by-hop headers are dropped, Host is rewritten to the upstream. The upstream response is
    relayed with a Content-Length (chunked upstream bodies are de-chunked). Upstream unreachable:
    502 {"error": "bad-gateway"}. An https:// upstream is checked against --upstream-ca or the
    system CAs. A client that disconnects at any point only ends its own connection.

TLS
    With --tls-cert/--tls-key the proxy listens with TLS; with --tls-client-ca it also requires a
    client certificate signed by that CA (mutual TLS). Failed handshakes (the agent refusing an
    untrusted certificate, a missing client certificate, plain HTTP to the TLS port) are counted
    in stats as "tls_handshake_failures". (Under TLS 1.3 a client certificate the proxy rejects
    fails after the client considers the handshake done; it is still counted here.)

Control API (same port, path prefix /_proxy/, never forwarded, never faulted, not in byte counts)
    POST /_proxy/faults        body: a JSON fault object or list of them; appended to the queue.
                               -> 200 {"queued": N}  (400 {"error": ...} on an invalid fault)
    GET  /_proxy/faults        -> {"pending": [...]}  what is still queued
    POST /_proxy/clear         empties the fault queue
    GET  /_proxy/stats         -> counters (see Stats.snapshot)
    POST /_proxy/stats/reset   zeroes the counters

Faults: each consumes one client request (other than control requests) when its request line and
headers have arrived, in queue order, across all connections; "count" (default 1) repeats a fault
for that many requests. Kinds:
    {"kind": "status", "status": 503, "retry_after": "2", "error": "busy", "message": "..."}
        answer with that status and a JSON error body {"error", "message"} without forwarding;
        Retry-After is sent if retry_after is given (seconds or an HTTP date, sent verbatim).
    {"kind": "reset_mid_body", "bytes": N}
        read only N bytes of the request body (default: half its Content-Length; 1 byte of a
        chunked body), then reset the connection (SO_LINGER 0 -> RST). Nothing is forwarded.
        (What the client already sent beyond that sits unread in the kernel; the RST drops it.)
    {"kind": "reset_before_response"}
        forward the whole request, read the upstream's full response (the batch is stored), then
        reset the client connection without answering ("ack lost after the receiver stored it").
    {"kind": "hang", "forward": false}
        read the request and never answer; the connection stays open until the client closes it.
        With "forward": true the request is forwarded first (stored, then the ack never arrives).
    {"kind": "garbage", "variant": "not_json" | "wrong_sequence" | "truncated", "forward": bool}
        not_json:       200, Content-Type application/json, body that is not JSON (not forwarded
                        unless "forward": true).
        wrong_sequence: forwarded; a JSON ack from the upstream has its "sequence" replaced by
                        "sequence" if given, else sequence + "delta" (default 1).
        truncated:      forwarded; the upstream body is cut to its first half and sent as a
                        well-framed 200 (so it does not parse). With "cut": true the full
                        Content-Length is announced instead and the connection is reset after the
                        first half (a response cut on the wire).
    {"kind": "slow", "seconds": 5.0, "delay_upstream": false}
        forward, wait `seconds`, then answer. With "delay_upstream": true the wait comes before
        forwarding, and a client that closed meanwhile (timed out) is not forwarded at all.

Byte counters ("bytes_from_clients", "bytes_to_clients") count every HTTP byte of non-control
traffic: request and status lines, headers, bodies (as framed on the wire, chunk sizes included),
interim 100 Continue responses, and partial requests of clients that disconnected, as far as the
proxy read them. Under TLS they count the HTTP bytes inside TLS, not TLS records or handshakes.

Stats (GET /_proxy/stats): requests, forwarded, faulted {kind: n}, faulted_total,
bytes_from_clients, bytes_to_clients, upstream_200, upstream_status {"503": n}, upstream_errors,
client_disconnects, connections, tls_handshake_failures, pending_faults.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024          # request or response head (line + headers)
MAX_BODY = 64 * 1024 * 1024   # any single body
CONTROL_PREFIX = "/_proxy/"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "expect", "proxy-authenticate", "proxy-authorization"}
FAULT_KINDS = ("status", "reset_mid_body", "reset_before_response", "hang", "garbage", "slow")
GARBAGE_VARIANTS = ("not_json", "wrong_sequence", "truncated")
REASONS = {100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 411: "Length Required",
           413: "Content Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
           431: "Request Header Fields Too Large", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def log(message: str) -> None:
    print(f"fault_proxy: {message}", file=sys.stderr, flush=True)


class ClientGone(Exception):
    """The client closed or broke the connection; only this connection ends."""


class BadRequest(Exception):
    """The client's request cannot be parsed; answered with 400 (or 431/413) and closed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------------------
# State: counters and the fault queue
# --------------------------------------------------------------------------------------------

@dataclass
class Stats:
    """Counters reported by GET /_proxy/stats (all reset by POST /_proxy/stats/reset)."""
    requests: int = 0                 # non-control requests whose head was read
    forwarded: int = 0                # requests sent to the upstream (faulted or not)
    faulted: dict = field(default_factory=lambda: {kind: 0 for kind in FAULT_KINDS})
    bytes_from_clients: int = 0
    bytes_to_clients: int = 0
    upstream_200: int = 0
    upstream_status: dict = field(default_factory=dict)   # "503" -> count
    upstream_errors: int = 0          # upstream unreachable / broken response (client got 502)
    client_disconnects: int = 0       # connections the client broke mid-request or mid-response
    connections: int = 0              # client connections accepted (after TLS), control included
    tls_handshake_failures: int = 0

    def snapshot(self) -> dict:
        return {
            "requests": self.requests,
            "forwarded": self.forwarded,
            "faulted": dict(self.faulted),
            "faulted_total": sum(self.faulted.values()),
            "bytes_from_clients": self.bytes_from_clients,
            "bytes_to_clients": self.bytes_to_clients,
            "upstream_200": self.upstream_200,
            "upstream_status": dict(self.upstream_status),
            "upstream_errors": self.upstream_errors,
            "client_disconnects": self.client_disconnects,
            "connections": self.connections,
            "tls_handshake_failures": self.tls_handshake_failures,
        }


def validate_fault(fault: object) -> dict:
    """Checks one fault object from the control API; returns a normalised copy or raises ValueError."""
    if not isinstance(fault, dict):
        raise ValueError("a fault must be a JSON object")
    kind = fault.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; kinds: {', '.join(FAULT_KINDS)}")
    fault = dict(fault)
    count = fault.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError("count must be an integer >= 1")
    fault["count"] = count
    if kind == "status":
        status = fault.get("status")
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
            raise ValueError("status fault needs an integer \"status\" 200-599")
        if "retry_after" in fault:
            fault["retry_after"] = str(fault["retry_after"])
    elif kind == "reset_mid_body":
        if "bytes" in fault and (not isinstance(fault["bytes"], int) or fault["bytes"] < 0):
            raise ValueError("bytes must be an integer >= 0")
    elif kind == "garbage":
        variant = fault.setdefault("variant", "not_json")
        if variant not in GARBAGE_VARIANTS:
            raise ValueError(f"garbage variant must be one of {', '.join(GARBAGE_VARIANTS)}")
        for key in ("sequence", "delta"):
            if key in fault and (not isinstance(fault[key], int) or isinstance(fault[key], bool)):
                raise ValueError(f"{key} must be an integer")
    elif kind == "slow":
        seconds = fault.get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise ValueError("slow fault needs \"seconds\" >= 0")
    return fault


class FaultQueue:
    """Faults waiting to be applied, in order; take() consumes one request's worth."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, faults: list[dict]) -> None:
        self.items.extend(faults)

    def clear(self) -> None:
        self.items.clear()

    def take(self) -> dict | None:
        if not self.items:
            return None
        head = self.items[0]
        if head["count"] > 1:
            head["count"] -= 1
            return {**head, "count": 1}
        return self.items.pop(0)


# --------------------------------------------------------------------------------------------
# HTTP messages
# --------------------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def connection_tokens(self) -> set[str]:
        value = ",".join(v for k, v in self.headers if k.lower() == "connection")
        return {token.strip().lower() for token in value.split(",") if token.strip()}

    @property
    def keep_alive(self) -> bool:
        tokens = self.connection_tokens()
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def parse_headers(lines: list[bytes]) -> list[tuple[str, str]]:
    headers = []
    for line in lines:
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            raise BadRequest(400, "obsolete header line folding")
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400, f"malformed header line {line[:80]!r}")
        headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    return headers


def json_body(obj: object) -> bytes:
    return json.dumps(obj, separators=(", ", ": ")).encode() + b"\n"


def error_response(status: int, error: str, message: str,
                   extra: list[tuple[str, str]] | None = None) -> Response:
    headers = [("Content-Type", "application/json")] + (extra or [])
    return Response(status, REASONS.get(status, "Error"), headers,
                    json_body({"error": error, "message": message}))


def json_response(status: int, obj: object) -> Response:
    return Response(status, REASONS.get(status, ""), [("Content-Type", "application/json")],
                    json_body(obj))


# --------------------------------------------------------------------------------------------
# One client connection
# --------------------------------------------------------------------------------------------

class Connection:
    """Serves the requests of one client connection, one after another (keep-alive)."""

    def __init__(self, proxy: "Proxy", reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.proxy = proxy
        self.reader = reader
        self.writer = writer
        self.counting = True   # False while serving a control request

    # -- counted I/O ---------------------------------------------------------------------------

    def _count_in(self, n: int) -> None:
        if self.counting:
            self.proxy.stats.bytes_from_clients += n

    async def _readuntil(self, separator: bytes) -> bytes:
        try:
            data = await self.reader.readuntil(separator)
        except asyncio.IncompleteReadError as error:
            self._count_in(len(error.partial))
            raise ClientGone("closed mid-message") from None
        except asyncio.LimitOverrunError:
            raise BadRequest(431, "request head or chunk line too long") from None
        except (ConnectionError, OSError, ssl.SSLError) as error:
            raise ClientGone(str(error)) from None
        self._count_in(len(data))
        return data

    async def _readexactly(self, n: int) -> bytes:
        try:
            data = await self.reader.readexactly(n)
        except asyncio.IncompleteReadError as error:
            self._count_in(len(error.partial))
            raise ClientGone("closed mid-body") from None
        except (ConnectionError, OSError, ssl.SSLError) as error:
            raise ClientGone(str(error)) from None
        self._count_in(len(data))
        return data

    async def _send(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise ClientGone("connection closing")
        self.writer.write(data)
        if self.counting:
            self.proxy.stats.bytes_to_clients += len(data)
        try:
            await self.writer.drain()
        except (ConnectionError, OSError, ssl.SSLError) as error:
            raise ClientGone(str(error)) from None

    async def send_response(self, response: Response, keep_alive: bool, head_only: bool = False,
                            declared_length: int | None = None) -> None:
        """Writes a response with Content-Length framing (declared_length overrides it)."""
        length = len(response.body) if declared_length is None else declared_length
        lines = [f"HTTP/1.1 {response.status} {response.reason}".encode("latin-1")]
        for name, value in response.headers:
            if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                continue
            lines.append(f"{name}: {value}".encode("latin-1"))
        lines.append(f"Content-Length: {length}".encode())
        lines.append(b"Connection: keep-alive" if keep_alive else b"Connection: close")
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        await self._send(head if head_only else head + response.body)

    def reset(self) -> None:
        """Closes the connection abruptly: SO_LINGER 0, so the kernel sends RST, not FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.writer.transport.abort()

    # -- request parsing -----------------------------------------------------------------------

    async def read_head(self) -> Request | None:
        """Reads a request line and headers; None when the client closed between requests."""
        # Skip stray empty lines between requests (RFC 9112 §2.2); EOF here is a clean close.
        while True:
            try:
                line = await self.reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as error:
                if error.partial:
                    self._count_in(len(error.partial))
                    raise ClientGone("closed mid-request-line") from None
                return None
            except asyncio.LimitOverrunError:
                raise BadRequest(431, "request line too long") from None
            except (ConnectionError, OSError, ssl.SSLError):
                return None
            if line.strip():
                break
            self._count_in(len(line))
        parts = line.decode("latin-1").split()
        # Control requests are left out of the byte counts, so decide before counting.
        self.counting = not (len(parts) == 3 and parts[1].startswith(CONTROL_PREFIX))
        self._count_in(len(line))
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(400, f"malformed request line {line[:80]!r}")
        head_lines, size = [], len(line)
        while True:   # header lines up to the empty line (CRLF, or a bare LF, tolerated)
            header_line = await self._readuntil(b"\n")
            size += len(header_line)
            if size > MAX_HEAD:
                raise BadRequest(431, "request head too long")
            if not header_line.strip(b"\r\n"):
                break
            head_lines.append(header_line.rstrip(b"\r\n"))
        method, target, version = parts
        return Request(method, target, version, parse_headers(head_lines))

    def body_framing(self, request: Request) -> tuple[str, int]:
        """("chunked", 0) or ("length", n) for the request's body."""
        encoding = request.header("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise BadRequest(400, f"unsupported Transfer-Encoding {encoding!r}")
            return "chunked", 0
        length = request.header("Content-Length")
        if length is None:
            return "length", 0
        try:
            n = int(length)
        except ValueError:
            raise BadRequest(400, f"bad Content-Length {length!r}") from None
        if n < 0:
            raise BadRequest(400, "negative Content-Length")
        if n > MAX_BODY:
            raise BadRequest(413, "body over the proxy's limit")
        return "length", n

    async def maybe_continue(self, request: Request) -> None:
        if (request.header("Expect") or "").lower() == "100-continue" and request.version == "HTTP/1.1":
            await self._send(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def read_body(self, request: Request) -> bytes:
        framing, length = self.body_framing(request)
        await self.maybe_continue(request)
        if framing == "length":
            return await self._readexactly(length) if length else b""
        chunks, total = [], 0
        while True:
            size_line = await self._readuntil(b"\n")
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest(400, f"bad chunk size line {size_line[:40]!r}") from None
            if size == 0:
                while (await self._readuntil(b"\n")).strip():   # trailers, until the empty line
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise BadRequest(413, "body over the proxy's limit")
            chunks.append(await self._readexactly(size))
            await self._readuntil(b"\n")

    async def read_partial_body(self, request: Request, n: int | None) -> None:
        """For reset_mid_body: reads about n bytes of the body as it comes off the wire."""
        framing, length = self.body_framing(request)
        await self.maybe_continue(request)
        if n is None:
            n = length // 2 if framing == "length" else 1
        if framing == "length":
            n = min(n, length)
        got = 0
        while got < n:
            try:
                data = await self.reader.read(n - got)
            except (ConnectionError, OSError, ssl.SSLError):
                return
            if not data:
                return
            self._count_in(len(data))
            got += len(data)

    # -- the request loop ----------------------------------------------------------------------

    async def serve(self) -> None:
        stats = self.proxy.stats   # reset in place by /_proxy/stats/reset, so this stays current
        stats.connections += 1
        try:
            while True:
                self.counting = True
                try:
                    request = await self.read_head()
                    if request is None:
                        return
                    if request.target.startswith(CONTROL_PREFIX):
                        request.body = await self.read_body(request)
                        response = self.proxy.control(request)
                        await self.send_response(response, request.keep_alive)
                        if not request.keep_alive:
                            return
                        continue
                    stats.requests += 1
                    keep_going = await self.handle(request)
                except BadRequest as error:
                    await self.send_response(
                        error_response(error.status, "proxy-bad-request", str(error)), False)
                    return
                if not keep_going:
                    return
        except ClientGone as error:
            stats.client_disconnects += 1
            log(f"client connection ended: {error}")
        except asyncio.CancelledError:
            raise
        except Exception as error:   # a bug here must end this connection only, never the proxy
            log(f"connection error: {error!r}")
        finally:
            if not self.writer.transport.is_closing():
                self.writer.transport.close()

    async def handle(self, request: Request) -> bool:
        """Serves one non-control request, applying the next fault; False ends the connection."""
        proxy, stats = self.proxy, self.proxy.stats
        fault = proxy.faults.take()
        kind = fault["kind"] if fault else None
        if kind:
            stats.faulted[kind] += 1
            log(f"fault {kind} on {request.method} {request.target}: {fault}")
        head_only = request.method == "HEAD"

        if kind == "reset_mid_body":
            await self.read_partial_body(request, fault.get("bytes"))
            self.reset()
            return False

        request.body = await self.read_body(request)
        keep_alive = request.keep_alive

        if kind == "status":
            status = fault["status"]
            extra = [("Retry-After", fault["retry_after"])] if "retry_after" in fault else []
            default_error = "busy" if status in (429, 503) else "injected-fault"
            response = error_response(status, fault.get("error", default_error),
                                      fault.get("message", f"fault_proxy: injected {status}"), extra)
            await self.send_response(response, keep_alive, head_only)
            return keep_alive

        if kind == "hang":
            if fault.get("forward"):
                await self.proxy.forward(request)
            await self.wait_for_client_close()
            return False

        if kind == "garbage" and fault["variant"] == "not_json" and not fault.get("forward"):
            response = Response(200, "OK", [("Content-Type", "application/json")],
                                b"<html><body>this is not JSON</body></html>\n")
            await self.send_response(response, keep_alive, head_only)
            return keep_alive

        if kind == "slow" and fault.get("delay_upstream"):
            await asyncio.sleep(fault["seconds"])
            if self.reader.at_eof() or self.reader.exception() or self.writer.is_closing():
                raise ClientGone("gave up during a slow fault; nothing forwarded")

        response = await self.proxy.forward(request)

        if kind == "reset_before_response":
            self.reset()
            return False
        if kind == "slow" and not fault.get("delay_upstream"):
            await asyncio.sleep(fault["seconds"])
        if kind == "garbage":
            variant = fault["variant"]
            if variant == "not_json":
                response = Response(200, "OK", [("Content-Type", "application/json")],
                                    b"<html><body>this is not JSON</body></html>\n")
            elif variant == "wrong_sequence":
                response = rewrite_sequence(response, fault)
            elif variant == "truncated":
                half = response.body[: len(response.body) // 2]
                if fault.get("cut"):
                    await self.send_response(Response(response.status, response.reason,
                                                      response.headers, half),
                                             keep_alive, head_only, len(response.body))
                    self.reset()
                    return False
                response = Response(200, "OK", response.headers, half)
        await self.send_response(response, keep_alive, head_only)
        return keep_alive

    async def wait_for_client_close(self) -> None:
        """For hang: reads (and counts) whatever the client sends until it closes."""
        while True:
            try:
                data = await self.reader.read(65536)
            except (ConnectionError, OSError, ssl.SSLError):
                return
            if not data:
                return
            self._count_in(len(data))


def rewrite_sequence(response: Response, fault: dict) -> Response:
    """garbage/wrong_sequence: the upstream's JSON ack with another "sequence"."""
    try:
        ack = json.loads(response.body)
    except ValueError:
        log("wrong_sequence: upstream body is not JSON; relayed unchanged")
        return response
    if not isinstance(ack, dict) or not isinstance(ack.get("sequence"), int):
        log("wrong_sequence: upstream body has no integer sequence; relayed unchanged")
        return response
    if isinstance(fault.get("sequence"), int):
        ack["sequence"] = fault["sequence"]
    else:
        ack["sequence"] += int(fault.get("delta", 1))
    return Response(response.status, response.reason, response.headers, json_body(ack))


# --------------------------------------------------------------------------------------------
# The proxy: upstream client, control API, server
# --------------------------------------------------------------------------------------------

class Proxy:
    def __init__(self, upstream: str, upstream_ca: str | None = None, upstream_timeout: float = 60.0):
        url = urllib.parse.urlsplit(upstream)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"upstream must be an http:// or https:// URL, not {upstream!r}")
        self.upstream_host = url.hostname
        self.upstream_port = url.port or (443 if url.scheme == "https" else 80)
        self.upstream_prefix = url.path.rstrip("/")
        self.upstream_ssl: ssl.SSLContext | None = None
        if url.scheme == "https":
            self.upstream_ssl = ssl.create_default_context(cafile=upstream_ca)
        default_port = 443 if url.scheme == "https" else 80
        host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
        self.upstream_authority = host if self.upstream_port == default_port else f"{host}:{self.upstream_port}"
        self.upstream_timeout = upstream_timeout
        self.stats = Stats()
        self.faults = FaultQueue()
        self.tls: ssl.SSLContext | None = None   # set by main_async for a TLS listener

    # -- control API ---------------------------------------------------------------------------

    def control(self, request: Request) -> Response:
        path = urllib.parse.urlsplit(request.target).path.rstrip("/")
        method = request.method
        if path == "/_proxy/faults" and method == "POST":
            try:
                parsed = json.loads(request.body or b"null")
                items = parsed if isinstance(parsed, list) else [parsed]
                faults = [validate_fault(item) for item in items]
            except ValueError as error:
                return error_response(400, "bad-fault", str(error))
            self.faults.add(faults)
            return json_response(200, {"queued": len(faults), "pending": len(self.faults.items)})
        if path == "/_proxy/faults" and method == "GET":
            return json_response(200, {"pending": self.faults.items})
        if path == "/_proxy/clear" and method == "POST":
            self.faults.clear()
            return json_response(200, {"pending": 0})
        if path == "/_proxy/stats" and method == "GET":
            return json_response(200, {**self.stats.snapshot(), "pending_faults": len(self.faults.items)})
        if path == "/_proxy/stats/reset" and method == "POST":
            self.stats.__init__()   # in place: open connections hold a reference
            return json_response(200, self.stats.snapshot())
        if path in ("/_proxy/faults", "/_proxy/clear", "/_proxy/stats", "/_proxy/stats/reset"):
            return error_response(405, "method-not-allowed", f"{method} not allowed on {path}")
        return error_response(404, "not-found", f"no control endpoint {path}")

    # -- upstream ------------------------------------------------------------------------------

    async def forward(self, request: Request) -> Response:
        """Sends the request upstream on a fresh connection and reads the whole response.

        Upstream failures become a 502 response (counted in upstream_errors)."""
        self.stats.forwarded += 1
        try:
            response = await asyncio.wait_for(self._exchange(request), self.upstream_timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError,
                asyncio.TimeoutError, ValueError, BadRequest) as error:
            self.stats.upstream_errors += 1
            log(f"upstream error: {error!r}")
            return error_response(502, "bad-gateway", f"fault_proxy: upstream failed: {error!r}")
        key = str(response.status)
        self.stats.upstream_status[key] = self.stats.upstream_status.get(key, 0) + 1
        if response.status == 200:
            self.stats.upstream_200 += 1
        return response

    async def _exchange(self, request: Request) -> Response:
        reader, writer = await asyncio.open_connection(
            self.upstream_host, self.upstream_port, ssl=self.upstream_ssl, limit=MAX_HEAD)
        try:
            lines = [f"{request.method} {self.upstream_prefix}{request.target} HTTP/1.1"]
            lines.append(f"Host: {self.upstream_authority}")
            for name, value in request.headers:
                lower = name.lower()
                if lower in HOP_BY_HOP or lower in ("host", "content-length"):
                    continue
                lines.append(f"{name}: {value}")
            if request.body or request.method in ("POST", "PUT", "PATCH"):
                lines.append(f"Content-Length: {len(request.body)}")
            lines.append("Connection: close")
            writer.write("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + request.body)
            await writer.drain()
            while True:   # skip interim 1xx responses
                status_line = await reader.readuntil(b"\n")
                parts = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
                if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                    raise ValueError(f"bad upstream status line {status_line[:80]!r}")
                status = int(parts[1])
                reason = parts[2] if len(parts) > 2 else REASONS.get(status, "")
                head_lines = []
                while (header_line := await reader.readuntil(b"\n")).strip(b"\r\n"):
                    head_lines.append(header_line.rstrip(b"\r\n"))
                headers = parse_headers(head_lines)
                if status >= 200:
                    break
            response = Response(status, reason, headers, b"")
            if request.method == "HEAD" or status in (204, 304):
                return response
            encoding = (response.header("Transfer-Encoding") or "").lower()
            if "chunked" in encoding:
                chunks = []
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                    if size == 0:
                        while (await reader.readuntil(b"\r\n")) != b"\r\n":
                            pass
                        break
                    chunks.append(await reader.readexactly(size))
                    await reader.readuntil(b"\r\n")
                response.body = b"".join(chunks)
            elif response.header("Content-Length") is not None:
                response.body = await reader.readexactly(int(response.header("Content-Length")))
            else:
                response.body = await reader.read(MAX_BODY)   # until the upstream closes
            return response
        finally:
            writer.close()

    # -- server --------------------------------------------------------------------------------

    async def handle_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """start_server's callback: one client connection, from the TLS handshake (if any) on."""
        try:
            if self.tls is not None:
                # The handshake is done here rather than by start_server(ssl=...), so that a
                # client refusing the certificate (or presenting none under mutual TLS) is seen
                # and counted.
                try:
                    await writer.start_tls(self.tls, ssl_handshake_timeout=10.0)
                except (ssl.SSLError, ConnectionError, OSError, asyncio.TimeoutError) as error:
                    self.stats.tls_handshake_failures += 1
                    log(f"TLS handshake failed: {error!r}")
                    writer.transport.abort()
                    return
            await Connection(self, reader, writer).serve()
        except asyncio.CancelledError:
            # Shutdown cancels open connections. Not re-raised: in Python 3.11 asyncio's
            # start_server callback would report a cancelled connection task as an error.
            writer.transport.abort()


def exception_handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """Keeps the loop's reports of broken connections to one line; anything else as usual."""
    error = context.get("exception")
    if isinstance(error, (ssl.SSLError, ConnectionError)):
        log(f"{context.get('message')}: {error!r}")
        return
    loop.default_exception_handler(context)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--listen wants HOST:PORT, not {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def server_tls_context(cert: str, key: str, client_ca: str | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def main_async(args: argparse.Namespace) -> int:
    proxy = Proxy(args.upstream, args.upstream_ca, args.upstream_timeout)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(exception_handler)
    tls = server_tls_context(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    proxy.tls = tls
    host, port = args.listen
    server = await asyncio.start_server(proxy.handle_client, host, port, limit=MAX_HEAD)
    bound = server.sockets[0].getsockname()
    if args.port_file:
        temporary = f"{args.port_file}.tmp{os.getpid()}"
        with open(temporary, "w") as file:
            file.write(f"{bound[1]}\n")
        os.replace(temporary, args.port_file)
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    log(f"{'https' if tls else 'http'} on {bound[0]}:{bound[1]} -> {args.upstream}")

    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if args.watch_stdin:
        # A daemon thread, not asyncio.to_thread: a blocked executor thread would hold up exit.
        def watch() -> None:
            while os.read(0, 65536):   # raw fd: no buffer lock held at interpreter exit
                pass
            loop.call_soon_threadsafe(stop.set)
        threading.Thread(target=watch, name="watch-stdin", daemon=True).start()
    async with server:
        await stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0),
                        help="HOST:PORT to listen on (PORT 0: any free port); default 127.0.0.1:0")
    parser.add_argument("--upstream", required=True, help="receiver URL, http://HOST:PORT[/prefix]")
    parser.add_argument("--tls-cert", help="serve TLS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", help="private key of --tls-cert (PEM)")
    parser.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    parser.add_argument("--upstream-ca", help="CA bundle for an https:// upstream")
    parser.add_argument("--upstream-timeout", type=float, default=60.0,
                        help="seconds for one upstream exchange before answering 502 (default 60)")
    parser.add_argument("--port-file", help="write the bound port to this file once listening")
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        parser.error("--tls-client-ca needs --tls-cert/--tls-key")
    try:
        return asyncio.run(main_async(args))
    except (ValueError, OSError, ssl.SSLError) as error:
        log(f"cannot start: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
