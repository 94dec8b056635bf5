#!/usr/bin/env python3
"""Self-check of fault_proxy.py and make_test_certs.py (unittest; exits non-zero on failure).

    python3 Tests/Peers/test_fault_proxy.py [-v] [TestClass[.test_name] ...]

Starts an in-process upstream (http.server, answering every POST with a JSON ack built from the
X-Lampd-Sequence header and the body's SHA-256, and recording what it received), and the proxy as
a subprocess through its real command line. TLS tests need `cryptography` and are skipped without it.
"""
import hashlib
import http.client
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "fault_proxy.py")
MAKE_CERTS = os.path.join(HERE, "make_test_certs.py")
BATCH = b"\xd2\x84" + bytes(range(256)) * 4   # stands in for a COSE_Sign1 body (1026 bytes)


# --------------------------------------------------------------------------------------------
# Upstream stand-in for lamp-ingest
# --------------------------------------------------------------------------------------------

class Upstream:
    """A tiny receiver: POST -> 200 JSON ack; remembers (path, headers, body) of each request."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with upstream.lock:
                    upstream.received.append((self.path, dict(self.headers), body))
                ack = json.dumps({"status": "stored", "device": "pole-0042", "kid": "21fe31dfa154a261",
                                  "sequence": int(self.headers.get("X-Lampd-Sequence", "1")),
                                  "hash": hashlib.sha256(body).hexdigest()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ack)))
                self.end_headers()
                self.wfile.write(ack)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.received)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------------------------
# Proxy process and raw HTTP helpers
# --------------------------------------------------------------------------------------------

class ProxyProcess:
    def __init__(self, upstream_url, *extra):
        self.tmp = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.tmp.name, "port")
        self.process = subprocess.Popen(
            [sys.executable, PROXY, "--listen", "127.0.0.1:0", "--upstream", upstream_url,
             "--port-file", port_file, "--watch-stdin", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"proxy did not start: {line!r} {self.process.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1])
        with open(port_file) as file:
            assert int(file.read()) == self.port
        self.stderr_lines = []
        self.stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self.stderr_thread.start()

    def _drain_stderr(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        self.process.stdin.close()          # --watch-stdin: exits when stdin closes
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.stderr_thread.join(5)
        self.process.stderr.close()
        self.tmp.cleanup()
        crashes = [line for line in self.stderr_lines if "Traceback" in line or "never retrieved" in line]
        if crashes:
            raise AssertionError("proxy stderr shows errors:\n" + "".join(self.stderr_lines))


def connect(port, timeout=5.0):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def post_bytes(body, sequence=1, path="/v1/batches", extra=b"", connection=b"keep-alive"):
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: proxy\r\n"
            b"Content-Type: application/cose; cose-type=\"cose-sign1\"\r\n"
            b"X-Lampd-Device: pole-0042\r\nX-Lampd-Sequence: " + str(sequence).encode() + b"\r\n"
            + extra + b"Connection: " + connection + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def read_response(sock):
    """Reads one Content-Length-framed response; returns (status, headers, body, raw bytes)."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed before a response head: {raw!r}")
        raw += data
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed mid-body")
        rest += data
        raw += data
    if status == 100:                       # interim response: the real one follows
        s2, h2, b2, r2 = read_response_from(sock, rest)
        return s2, h2, b2, raw[: len(head) + 4] + r2
    return status, headers, rest[:length], raw


def read_response_from(sock, buffered):
    class Buffered:
        def __init__(self):
            self.buffer = buffered

        def recv(self, n):
            if self.buffer:
                data, self.buffer = self.buffer, b""
                return data
            return sock.recv(n)
    return read_response(Buffered())


def expect_cut(test, sock):
    """The proxy must close (preferably reset) the connection without a response."""
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return "reset"
    test.assertEqual(data, b"", "expected no response at all")
    return "closed"


class ProxyTestCase(unittest.TestCase):
    upstream: Upstream
    proxy: ProxyProcess

    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream()
        cls.proxy = ProxyProcess(cls.upstream.url)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.upstream.stop()

    def setUp(self):
        self.control("POST", "/_proxy/clear")
        self.control("POST", "/_proxy/stats/reset")

    def tearDown(self):
        self.assertTrue(self.proxy.alive(), "the proxy process died")

    def control(self, method, path, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=5)
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body))
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    def faults(self, *faults):
        status, reply = self.control("POST", "/_proxy/faults", list(faults))
        self.assertEqual(status, 200, reply)

    def stats(self):
        return self.control("GET", "/_proxy/stats")[1]

    def ok_request(self, sequence=1):
        """A plain request through the proxy that must succeed (the proxy is still healthy)."""
        with connect(self.proxy.port) as sock:
            sock.sendall(post_bytes(BATCH, sequence, connection=b"close"))
            status, _, body, _ = read_response(sock)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["sequence"], sequence)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------

class ForwardingTests(ProxyTestCase):
    def test_keep_alive_many_requests_one_connection(self):
        before = self.upstream.count()
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=5)
        for sequence in range(1, 101):
            connection.request("POST", "/v1/batches", body=BATCH,
                               headers={"X-Lampd-Sequence": str(sequence),
                                        "Content-Type": "application/cose; cose-type=\"cose-sign1\"",
                                        "Content-Encoding": "deflate"})
            response = connection.getresponse()
            ack = json.loads(response.read())
            self.assertEqual(response.status, 200)
            self.assertEqual((ack["status"], ack["sequence"]), ("stored", sequence))
            self.assertEqual(ack["hash"], hashlib.sha256(BATCH).hexdigest())
        connection.close()
        self.assertEqual(self.upstream.count() - before, 100)
        path, headers, body = self.upstream.received[-1]
        self.assertEqual((path, body), ("/v1/batches", BATCH))
        self.assertEqual(headers["Content-Encoding"], "deflate")
        self.assertEqual(headers["Host"], f"127.0.0.1:{self.upstream.port}")
        stats = self.stats()
        self.assertEqual((stats["requests"], stats["forwarded"], stats["upstream_200"]), (100, 100, 100))
        self.assertEqual(stats["connections"], 1 + 1)   # the client's, and this stats request's

    def test_byte_counters_count_the_whole_wire(self):
        sent = received = b""
        with connect(self.proxy.port) as sock:
            for sequence in (1, 2, 3):
                request = post_bytes(BATCH, sequence)
                sock.sendall(request)
                sent += request
                received += read_response(sock)[3]
            # a chunked request body: counted as framed on the wire, forwarded de-chunked
            chunked = (b"POST /v1/batches HTTP/1.1\r\nHost: p\r\nX-Lampd-Sequence: 4\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n"
                       + b"%x\r\n" % 1000 + BATCH[:1000] + b"\r\n"
                       + b"%x;ext=1\r\n" % 26 + BATCH[1000:] + b"\r\n0\r\n\r\n")
            sock.sendall(chunked)
            sent += chunked
            status, _, _, raw = read_response(sock)
            received += raw
            self.assertEqual(status, 200)
        self.assertEqual(self.upstream.received[-1][2], BATCH)
        stats = self.stats()
        self.assertEqual(stats["bytes_from_clients"], len(sent))
        self.assertEqual(stats["bytes_to_clients"], len(received))
        self.assertEqual(stats["upstream_200"], 4)

    def test_expect_100_continue(self):
        with connect(self.proxy.port) as sock:
            head = post_bytes(BATCH, 5, extra=b"Expect: 100-continue\r\n")
            head, body = head[: -len(BATCH)], BATCH
            sock.sendall(head)
            interim = sock.recv(100)
            self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(body)
            status, _, ack, raw = read_response(sock)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(ack)["sequence"], 5)
        stats = self.stats()
        self.assertEqual(stats["bytes_from_clients"], len(head) + len(body))
        self.assertEqual(stats["bytes_to_clients"], len(interim) + len(raw))

    def test_client_disconnects_never_kill_the_proxy(self):
        request = post_bytes(BATCH, 9)
        for cut in (5, 40, len(request) - 500, len(request)):
            sock = connect(self.proxy.port)
            sock.sendall(request[:cut])
            sock.close()                                  # FIN mid-request / before the response
        sock = connect(self.proxy.port)
        sock.sendall(request[:60])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()                                      # RST mid-headers
        time.sleep(0.3)
        self.ok_request(10)
        self.assertGreaterEqual(self.stats()["client_disconnects"], 4)

    def test_malformed_request_gets_400_and_proxy_survives(self):
        with connect(self.proxy.port) as sock:
            sock.sendall(b"NONSENSE\r\n\r\n")
            status = read_response(sock)[0]
        self.assertEqual(status, 400)
        self.ok_request()


class ControlApiTests(ProxyTestCase):
    def test_invalid_faults_rejected(self):
        for bad in ([{"kind": "explode"}], [{"kind": "status"}], [{"kind": "status", "status": 503, "count": 0}],
                    [{"kind": "garbage", "variant": "nope"}], [{"kind": "slow"}], "text"):
            status, reply = self.control("POST", "/_proxy/faults", bad)
            self.assertEqual(status, 400, bad)
            self.assertIn("error", reply)
        self.assertEqual(self.control("GET", "/_proxy/faults")[1], {"pending": []})
        self.assertEqual(self.control("GET", "/_proxy/nothing")[0], 404)

    def test_queue_clear_and_control_not_counted(self):
        self.faults({"kind": "status", "status": 500, "count": 2}, {"kind": "hang"})
        self.assertEqual(len(self.control("GET", "/_proxy/faults")[1]["pending"]), 2)
        self.control("POST", "/_proxy/clear")
        self.assertEqual(self.control("GET", "/_proxy/faults")[1], {"pending": []})
        self.ok_request()
        stats = self.stats()
        self.assertEqual(stats["faulted_total"], 0)
        self.assertEqual(stats["requests"], 1)
        self.control("POST", "/_proxy/stats/reset")
        stats = self.stats()
        self.assertEqual((stats["bytes_from_clients"], stats["bytes_to_clients"], stats["requests"]), (0, 0, 0))

    def test_single_object_accepted(self):
        status, reply = self.control("POST", "/_proxy/faults", {"kind": "status", "status": 429})
        self.assertEqual((status, reply["queued"]), (200, 1))


class FaultTests(ProxyTestCase):
    def test_status_with_retry_after_count_then_normal(self):
        before = self.upstream.count()
        self.faults({"kind": "status", "status": 503, "retry_after": "2", "count": 3},
                    {"kind": "status", "status": 429, "retry_after": "Wed, 21 Oct 2026 07:28:00 GMT"},
                    {"kind": "status", "status": 500})
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=5)
        seen = []
        for sequence in range(1, 7):
            connection.request("POST", "/v1/batches", body=BATCH, headers={"X-Lampd-Sequence": str(sequence)})
            response = connection.getresponse()
            body = json.loads(response.read())
            seen.append((response.status, response.getheader("Retry-After"), body.get("error")))
        connection.close()
        self.assertEqual(seen, [(503, "2", "busy")] * 3 + [
            (429, "Wed, 21 Oct 2026 07:28:00 GMT", "busy"), (500, None, "injected-fault"), (200, None, None)])
        self.assertEqual(self.upstream.count() - before, 1)
        stats = self.stats()
        self.assertEqual((stats["faulted"]["status"], stats["forwarded"]), (5, 1))

    def test_reset_mid_body(self):
        before = self.upstream.count()
        self.faults({"kind": "reset_mid_body"})
        request = post_bytes(BATCH, 1)
        head_length = len(request) - len(BATCH)
        with connect(self.proxy.port) as sock:
            sock.sendall(request[: head_length + len(BATCH) // 2])   # the proxy reads half, then resets
            try:
                data = sock.recv(100)
                self.fail(f"expected a connection reset, got {data!r}")
            except ConnectionResetError:
                pass
        self.assertEqual(self.upstream.count(), before)
        self.assertEqual(self.stats()["bytes_from_clients"], head_length + len(BATCH) // 2)
        self.ok_request()

    def test_reset_before_response_stores_upstream(self):
        before = self.upstream.count()
        self.faults({"kind": "reset_before_response"})
        with connect(self.proxy.port) as sock:
            sock.sendall(post_bytes(BATCH, 42))
            self.assertEqual(expect_cut(self, sock), "reset")
        self.assertEqual(self.upstream.count(), before + 1)     # stored, but the ack was lost
        self.assertEqual(self.upstream.received[-1][2], BATCH)
        stats = self.stats()
        self.assertEqual((stats["upstream_200"], stats["bytes_to_clients"]), (1, 0))
        self.ok_request(42)

    def test_hang_does_not_block_others(self):
        self.faults({"kind": "hang"})
        hanging = connect(self.proxy.port, timeout=1.0)
        hanging.sendall(post_bytes(BATCH, 1))
        time.sleep(0.2)
        start = time.monotonic()
        self.ok_request(2)                                   # another connection is served meanwhile
        self.assertLess(time.monotonic() - start, 1.0)
        with self.assertRaises(socket.timeout):
            hanging.recv(100)
        hanging.close()                                      # the client gives up
        time.sleep(0.2)
        self.ok_request(3)
        self.assertEqual(self.stats()["faulted"]["hang"], 1)

    def test_hang_after_forward(self):
        before = self.upstream.count()
        self.faults({"kind": "hang", "forward": True})
        with connect(self.proxy.port, timeout=0.8) as sock:
            sock.sendall(post_bytes(BATCH, 1))
            with self.assertRaises(socket.timeout):
                sock.recv(100)
        self.assertEqual(self.upstream.count(), before + 1)

    def test_garbage_variants(self):
        before = self.upstream.count()
        self.faults({"kind": "garbage", "variant": "not_json"},
                    {"kind": "garbage", "variant": "wrong_sequence"},
                    {"kind": "garbage", "variant": "truncated"},
                    {"kind": "garbage", "variant": "wrong_sequence", "sequence": 1000})
        with connect(self.proxy.port) as sock:
            sock.sendall(post_bytes(BATCH, 7))
            status, headers, body, _ = read_response(sock)
            self.assertEqual(status, 200)
            with self.assertRaises(ValueError):
                json.loads(body)
            self.assertEqual(self.upstream.count(), before)     # not_json: not forwarded

            sock.sendall(post_bytes(BATCH, 7))
            status, _, body, _ = read_response(sock)
            ack = json.loads(body)
            self.assertEqual((status, ack["sequence"], ack["status"]), (200, 8, "stored"))
            self.assertEqual(ack["hash"], hashlib.sha256(BATCH).hexdigest())
            self.assertEqual(self.upstream.count(), before + 1)

            sock.sendall(post_bytes(BATCH, 7))
            status, _, body, _ = read_response(sock)
            self.assertEqual(status, 200)
            self.assertTrue(body.startswith(b'{"status": "stored"'))
            with self.assertRaises(ValueError):
                json.loads(body)

            sock.sendall(post_bytes(BATCH, 7))
            self.assertEqual(json.loads(read_response(sock)[2])["sequence"], 1000)

            sock.sendall(post_bytes(BATCH, 7))              # the queue is empty again
            self.assertEqual(json.loads(read_response(sock)[2])["sequence"], 7)
        self.assertEqual(self.stats()["faulted"]["garbage"], 4)

    def test_garbage_truncated_cut(self):
        self.faults({"kind": "garbage", "variant": "truncated", "cut": True})
        with connect(self.proxy.port) as sock:
            sock.sendall(post_bytes(BATCH, 7))
            with self.assertRaises(ConnectionError):
                read_response(sock)

    def test_slow(self):
        self.faults({"kind": "slow", "seconds": 1.2})
        start = time.monotonic()
        self.ok_request(3)
        self.assertGreaterEqual(time.monotonic() - start, 1.2)
        start = time.monotonic()
        self.ok_request(4)
        self.assertLess(time.monotonic() - start, 1.0)

    def test_slow_before_upstream_and_client_gives_up(self):
        before = self.upstream.count()
        self.faults({"kind": "slow", "seconds": 0.8, "delay_upstream": True})
        with connect(self.proxy.port, timeout=0.3) as sock:
            sock.sendall(post_bytes(BATCH, 1))
            with self.assertRaises(socket.timeout):
                sock.recv(100)                                 # the client times out and closes
        time.sleep(0.8)
        self.assertEqual(self.upstream.count(), before)       # so nothing was forwarded
        self.faults({"kind": "slow", "seconds": 0.5, "delay_upstream": True})
        start = time.monotonic()
        self.ok_request(2)
        self.assertGreaterEqual(time.monotonic() - start, 0.5)
        self.assertEqual(self.upstream.count(), before + 1)

    def test_faults_in_order_across_connections(self):
        self.faults({"kind": "status", "status": 503}, {"kind": "reset_before_response"},
                    {"kind": "garbage", "variant": "not_json"})
        results = []
        for sequence in range(1, 5):
            with connect(self.proxy.port) as sock:
                sock.sendall(post_bytes(BATCH, sequence))
                try:
                    results.append(read_response(sock)[0])
                except ConnectionError:
                    results.append("cut")
        self.assertEqual(results, [503, "cut", 200, 200])


class UpstreamDownTests(unittest.TestCase):
    def test_502_when_upstream_unreachable(self):
        with socket.socket() as placeholder:
            placeholder.bind(("127.0.0.1", 0))
            dead_port = placeholder.getsockname()[1]      # nothing listens here once closed
        proxy = ProxyProcess(f"http://127.0.0.1:{dead_port}")
        try:
            with connect(proxy.port) as sock:
                sock.sendall(post_bytes(BATCH, 1))
                status, _, body, _ = read_response(sock)
            self.assertEqual((status, json.loads(body)["error"]), (502, "bad-gateway"))
            self.assertTrue(proxy.alive())
        finally:
            proxy.stop()


class LifecycleTests(unittest.TestCase):
    def test_sigterm_and_stdin_close_exit_cleanly_with_hanging_connection(self):
        upstream = Upstream()
        try:
            for how in ("sigterm", "stdin"):
                proxy = ProxyProcess(upstream.url)
                faults = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
                faults.request("POST", "/_proxy/faults", body=json.dumps([{"kind": "hang"}]))
                self.assertEqual(faults.getresponse().status, 200)
                faults.close()
                hanging = connect(proxy.port)
                hanging.sendall(post_bytes(BATCH, 1))
                time.sleep(0.2)
                start = time.monotonic()
                if how == "sigterm":
                    proxy.process.terminate()
                    proxy.process.wait(5)
                proxy.stop()                               # closes stdin; checks stderr
                self.assertEqual(proxy.process.returncode, 0)
                self.assertLess(time.monotonic() - start, 3)
                hanging.close()
        finally:
            upstream.stop()


try:
    import cryptography  # noqa: F401
    HAVE_CRYPTOGRAPHY = True
except ImportError:
    HAVE_CRYPTOGRAPHY = False


@unittest.skipUnless(HAVE_CRYPTOGRAPHY, "cryptography not installed")
class TlsTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.TemporaryDirectory()
        subprocess.run([sys.executable, MAKE_CERTS, cls.certs.name], check=True, capture_output=True)
        cls.upstream = Upstream()

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()
        cls.certs.cleanup()

    def path(self, name):
        return os.path.join(self.certs.name, name)

    def client_context(self, with_client_cert=False):
        context = ssl.create_default_context(cafile=self.path("ca.pem"))
        if with_client_cert:
            context.load_cert_chain(self.path("client.pem"), self.path("client.key"))
        return context

    def tls_post(self, port, context, host="127.0.0.1", sequence=1):
        connection = http.client.HTTPSConnection(host, port, context=context, timeout=5)
        try:
            connection.request("POST", "/v1/batches", body=BATCH, headers={"X-Lampd-Sequence": str(sequence)})
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    def tls_stats(self, port, context):
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
        try:
            connection.request("GET", "/_proxy/stats")
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def test_certificate_files(self):
        for stem in ("ca", "server", "client", "rogue"):
            self.assertTrue(os.path.getsize(self.path(f"{stem}.pem")) > 0)
            self.assertTrue(os.path.getsize(self.path(f"{stem}.key")) > 0)
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        import datetime
        with open(self.path("server.pem"), "rb") as file:
            server = x509.load_pem_x509_certificate(file.read())
        self.assertIsInstance(server.public_key(), ec.EllipticCurvePublicKey)
        self.assertEqual(server.public_key().curve.name, "secp256r1")
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertAlmostEqual((now - server.not_valid_before_utc).total_seconds(), 86400, delta=120)
        self.assertAlmostEqual((server.not_valid_after_utc - now).total_seconds(), 30 * 86400, delta=120)

    def test_trusted_certificate_accepted_by_ip_and_name(self):
        proxy = ProxyProcess(self.upstream.url, "--tls-cert", self.path("server.pem"),
                             "--tls-key", self.path("server.key"))
        try:
            self.assertEqual(self.tls_post(proxy.port, self.client_context(), sequence=11)[1]["sequence"], 11)
            self.assertEqual(self.tls_post(proxy.port, self.client_context(), host="localhost")[0], 200)
            with connect(proxy.port) as plain:                  # plain HTTP to a TLS port
                plain.sendall(post_bytes(BATCH, 1))
                try:
                    plain.recv(100)
                except ConnectionError:
                    pass
            self.assertEqual(self.tls_post(proxy.port, self.client_context())[0], 200)
            stats = self.tls_stats(proxy.port, self.client_context())
            self.assertEqual((stats["upstream_200"], stats["tls_handshake_failures"]), (3, 1))
            self.assertGreater(stats["bytes_from_clients"], 3 * len(BATCH))
        finally:
            proxy.stop()

    def test_rogue_certificate_refused_by_client(self):
        proxy = ProxyProcess(self.upstream.url, "--tls-cert", self.path("rogue.pem"),
                             "--tls-key", self.path("rogue.key"))
        try:
            with self.assertRaises(ssl.SSLCertVerificationError):
                self.tls_post(proxy.port, self.client_context())
            time.sleep(0.2)
            self.assertTrue(proxy.alive())
            # the proxy still serves a client that trusts the rogue certificate
            trusting = ssl.create_default_context(cafile=self.path("rogue.pem"))
            self.assertEqual(self.tls_post(proxy.port, trusting)[0], 200)
            self.assertEqual(self.tls_stats(proxy.port, trusting)["tls_handshake_failures"], 1)
        finally:
            proxy.stop()

    def test_mutual_tls(self):
        proxy = ProxyProcess(self.upstream.url, "--tls-cert", self.path("server.pem"),
                             "--tls-key", self.path("server.key"), "--tls-client-ca", self.path("ca.pem"))
        try:
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                self.tls_post(proxy.port, self.client_context(with_client_cert=False))
            self.assertEqual(self.tls_post(proxy.port, self.client_context(with_client_cert=True))[0], 200)
            self.assertTrue(proxy.alive())
            stats = self.tls_stats(proxy.port, self.client_context(with_client_cert=True))
            self.assertEqual((stats["tls_handshake_failures"], stats["upstream_200"]), (1, 1))
        finally:
            proxy.stop()


if __name__ == "__main__":
    unittest.main()
