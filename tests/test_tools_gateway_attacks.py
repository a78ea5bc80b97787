"""The gateway attacked as a network would attack it (issue: "A gateway you can put on a
network"): raw sockets for each framing case of RFC 9112, the idle-socket flood, the anonymous
route, keys that never leak, and a serve process whose stderr stays free of tracebacks."""

import json
import random
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from solution import lab4_limits as lesson
from solution import limiters
from solution.tools import gateway as lab

SCRIPT = Path(__file__).resolve().parents[1] / "solution" / "tools" / "gateway.py"
CHAT = json.dumps({"model": "m", "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}).encode()


@pytest.fixture
def gateway_server():
    gateway = lab.live_gateway(rate=1000.0, burst=1000, max_in_flight=50, shed_at=1.0)
    server = lab.start_server(gateway, model_delay_s=0.0, header_timeout_s=2.0)
    yield server
    server.shutdown()
    server.server_close()


def exchange(server, raw: bytes, answers: int = 1, seconds: float = 5.0) -> tuple[list[int], bool]:
    """Send raw bytes; (the status of every answer that came back, was the connection closed?).
    Reads until the server closes, or, once `answers` answers are in, for 0.2 s of silence."""
    sock = socket.create_connection(server.server_address[:2], timeout=seconds)
    sock.sendall(raw)
    out, closed, end = b"", False, time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            if len(statuses_in(out)) >= answers:
                break                              # answered, and nothing more is coming
            continue
        data = sock.recv(65536)
        if not data:
            closed = True
            break
        out += data
    sock.close()
    return statuses_in(out), closed


def statuses_in(out: bytes) -> list[int]:
    """Every answer's status (an answer follows the last one's body, on the same line)."""
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\nDate: ", out)]


def request(method: str, path: str, head: bytes = b"", body: bytes = b"") -> bytes:
    return b"%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n%s" % (method.encode(), path.encode(), head, body)


@pytest.mark.parametrize("raw, status", [
    (b"GET /metrics HTTP/1.1\nHost: x\n\n", 400),                                 # bare LF
    (b"GET /metrics HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400),                    # one bare LF
    (b"GET /metrics HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400),                    # bare CR
    (request("POST", "/v1/chat/completions", b"Authorization: Bearer acme\r\n"
             b"Authorization: Bearer globex\r\nContent-Length: %d\r\n" % len(CHAT), CHAT), 400),
    (request("POST", "/v1/chat/completions", b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), 400),
    (request("POST", "/v1/chat", b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400),
    (request("POST", "/v1/chat", b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),
    (request("POST", "/v1/chat", b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n"), 400),
    (request("POST", "/v1/chat", b"Content-Length: 1e3\r\n", b"x"), 400),
    (request("GET", "/metrics", b"X-Folded: a\r\n b\r\n"), 400),                 # obs-fold
    (request("GET", "/metrics", b"Content-Length : 0\r\n"), 400),                # space before colon
    (b"GET /metrics HTTP/1.1\r\n\r\n", 400),                                     # no Host
    (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),                        # two spaces
    (request("GET", "/metrics", b"X: " + b"a" * 20_000 + b"\r\n"), 431),
])
def test_a_request_that_cannot_be_framed_gets_an_error_and_a_close(gateway_server, raw, status):
    statuses, closed = exchange(gateway_server, raw + request("GET", "/metrics"), answers=9)
    assert statuses == [status] and closed           # the bytes after it are never a request


@pytest.mark.parametrize("first, status", [
    (request("GET", "/metrics", b"Content-Length: %d\r\n"), 200),      # a GET with a body
    (request("POST", "/no/such/route", b"Content-Length: %d\r\n"), 404),
    (request("POST", "/v1/chat/completions", b"Content-Length: %d\r\n"), 401),   # no key
    (request("GET", "/v1/chat/completions", b"Content-Length: %d\r\n"), 405),
    (request("HEAD", "/v1/models", b"Authorization: Bearer nope\r\nContent-Length: %d\r\n"), 401),
])
def test_every_body_is_read_whatever_the_route_and_status(gateway_server, first, status):
    # the body is itself a request (a "CL.0" desync, if the server left it unread): it must be
    # read as a body, so that the connection's next request is the one after it
    smuggled = request("GET", "/v1/smuggled")
    raw = first % len(smuggled) + smuggled + request("GET", "/metrics", b"Connection: close\r\n")
    statuses, closed = exchange(gateway_server, raw, answers=9)      # until the close
    assert statuses == [status, 200] and closed


def test_a_chunked_body_is_read_and_the_connection_kept(gateway_server):
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (CHAT[:10], CHAT[10:])) + \
        b"0\r\nX-Trailer: ignored\r\n\r\n"
    raw = request("POST", "/v1/chat/completions", b"Authorization: Bearer acme\r\n"
                  b"Transfer-Encoding: chunked\r\n", chunked) + request("GET", "/metrics")
    statuses, closed = exchange(gateway_server, raw, answers=2)
    assert statuses == [200, 200] and not closed


def test_head_is_answered_wherever_get_is_without_a_body(gateway_server):
    sock = socket.create_connection(gateway_server.server_address[:2], timeout=5)
    sock.sendall(request("GET", "/metrics", b"Connection: close\r\n"))
    whole = b""
    while data := sock.recv(65536):
        whole += data
    length = int(re.search(rb"Content-Length: (\d+)", whole).group(1))
    statuses, _ = exchange(gateway_server, request("HEAD", "/metrics") + request(
        "HEAD", "/v1/models", b"Authorization: Bearer acme\r\n") + request("GET", "/metrics"), answers=3)
    assert statuses == [200, 200, 200] and length == len(whole.partition(b"\r\n\r\n")[2])


def test_expect_100_continue_is_answered_before_the_body_is_sent(gateway_server):
    sock = socket.create_connection(gateway_server.server_address[:2], timeout=5)
    sock.sendall(request("POST", "/v1/chat/completions", b"Authorization: Bearer acme\r\n"
                         b"Expect: 100-continue\r\nContent-Length: %d\r\n" % len(CHAT)))
    assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    sock.sendall(CHAT)
    assert sock.recv(100).startswith(b"HTTP/1.1 200 ")
    sock.close()


def test_an_idle_socket_flood_cannot_take_the_gateway(tmp_path):
    # a budget of 8 connections, a header timeout of 0.3 s: 30 sockets that send nothing
    gateway = lab.live_gateway(rate=1000.0, burst=1000, max_in_flight=1, shed_at=1.0)
    server = lab.start_server(gateway, model_delay_s=0.0, max_connections=8, header_timeout_s=0.3)
    try:
        flood = [socket.create_connection(server.server_address[:2], timeout=5) for _ in range(30)]
        time.sleep(0.05)
        assert server.open_connections <= 8
        # a client is still served at once, and so is Prometheus
        statuses, _ = exchange(server, request("POST", "/v1/chat/completions", b"Authorization: "
                               b"Bearer acme\r\nContent-Length: %d\r\n" % len(CHAT), CHAT))
        assert statuses == [200]
        # the silent ones are closed by the header timeout, and every one is counted
        time.sleep(0.5)
        statuses, _ = exchange(server, request("GET", "/metrics"))
        text = metrics_text(server)
        closed = {m.group(1): int(m.group(2)) for m in re.finditer(
            r'opslab_gateway_connections_closed_total\{reason="(\w+)"\} (\d+)', text)}
        # (most make room for the next; on a slow machine, some time out first)
        assert statuses == [200] and closed["evicted_idle"] >= 1
        assert closed["evicted_idle"] + closed["header_timeout"] >= 30
        for sock in flood:
            sock.close()
    finally:
        server.shutdown()
        server.server_close()


def metrics_text(server) -> str:
    sock = socket.create_connection(server.server_address[:2], timeout=5)
    sock.sendall(request("GET", "/metrics", b"Connection: close\r\n"))
    whole = b""
    while data := sock.recv(65536):
        whole += data
    return whole.partition(b"\r\n\r\n")[2].decode()


def test_metrics_answers_while_every_model_slot_is_taken():
    gateway = lab.live_gateway(rate=1000.0, burst=1000, max_in_flight=2, shed_at=1.0)
    server = lab.start_server(gateway, model_delay_s=1.0)
    try:
        slow = [socket.create_connection(server.server_address[:2], timeout=5) for _ in range(2)]
        for sock in slow:
            sock.sendall(request("POST", "/v1/chat/completions", b"Authorization: Bearer acme\r\n"
                                 b"Content-Length: %d\r\n" % len(CHAT), CHAT))
        deadline = time.monotonic() + 3
        while gateway.concurrency.in_flight < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "opslab_gateway_in_flight 2" in metrics_text(server)
        for sock in slow:
            sock.close()
    finally:
        server.shutdown()
        server.server_close()


def test_with_keys_of_your_own_every_capacity_route_needs_one():
    gateway = lab.live_gateway(rate=1000.0, burst=1000, max_in_flight=4, shed_at=1.0,
                               tenants={"acme": "interactive", "globex": "interactive"})
    server = lab.start_server(gateway, model_delay_s=0.0, keys={"sk-acme-7f3": "acme",
                                                                "sk-globex-9d1": "globex"})
    lab_chat = json.dumps({"tenant": "acme", "prompt": "hi", "max_tokens": 4}).encode()
    try:
        for path, body in (("/v1/chat", lab_chat), ("/v1/chat/completions", CHAT)):
            anonymous = request("POST", path, b"Content-Length: %d\r\n" % len(body), body)
            assert exchange(server, anonymous)[0] == [401]
        # a key speaks for its own tenant only
        as_globex = request("POST", "/v1/chat", b"Authorization: Bearer sk-globex-9d1\r\n"
                            b"Content-Length: %d\r\n" % len(lab_chat), lab_chat)
        assert exchange(server, as_globex)[0] == [403]
        as_acme = as_globex.replace(b"sk-globex-9d1", b"sk-acme-7f3")
        assert exchange(server, as_acme)[0] == [200]
        assert exchange(server, request("GET", "/v1/models"))[0] == [401]
        text = metrics_text(server)
        assert 'tenant="acme"' in text and "sk-" not in text      # tenant names, never keys
    finally:
        server.shutdown()
        server.server_close()


def test_default_keys_live_on_loopback_only(capsys):
    gateway = lab.live_gateway(rate=1.0, burst=1, max_in_flight=1, shed_at=1.0)
    with pytest.raises(ValueError, match="reachable from other machines"):
        lab.GatewayServer(("0.0.0.0", 0), gateway, 0.0)
    assert lab.main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--key" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, secret", [
    (["--upstream", "http://admin:hunter2@127.0.0.1:9/v1"], "hunter2"),
    (["--upstream", "http://127.0.0.1:9/v1?api-key=hunter2"], "hunter2"),
    (["--upstream", "http://127.0.0.1:9/v1", "--upstream-key-env", "OPSLAB_TEST_KEY"], "hunter2"),
])
def test_upstream_credentials_are_refused_and_never_printed(argv, secret, capsys, monkeypatch):
    monkeypatch.setenv("OPSLAB_TEST_KEY", secret)
    assert lab.main(["serve", "--port", "0", *argv]) == 2      # the last: no keys of your own
    err = capsys.readouterr().err
    assert secret not in err and err.count("\n") == 1 and "Traceback" not in err


def test_load_never_prints_a_key():
    load = lab.Load({"acme": {"200": 3}, "sk-live-0123456789": {"200": 1, "429": 2}},
                    {"acme": 0, "sk-live-0123456789": 1}, 1.0)
    printed = lab.load_report(load)
    assert "sk-live" not in printed and "key 2" in printed and "acme" in printed


def test_refused_clients_are_told_different_waits_never_shorter_than_the_real_one():
    plan = lesson.Plan("interactive", rate=1.0, burst=1, tokens_per_minute=600, requests_per_day=10)
    verdict = lesson.Admission(429, "rate", 0.4, limiters.Decision(False, 0.4, 0.6))
    waits = [int(dict(lab.response_headers(verdict, plan, random.Random(3 + i)))["retry-after-ms"])
             for i in range(50)]
    assert min(waits) >= 400 and len(set(waits)) > 40
    # seeded: the same seed, the same spread
    again = [int(dict(lab.response_headers(verdict, plan, random.Random(3 + i)))["retry-after-ms"])
             for i in range(50)]
    assert again == waits
    for ms in waits:                # Retry-After in whole seconds: the same wait, rounded up
        header = dict(lab.response_headers(verdict, plan, random.Random(ms)))
        assert int(header["Retry-After"]) * 1000 >= int(header["retry-after-ms"])


def test_serve_survives_every_attack_without_a_traceback():
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "serve", "--port", "0", "--header-timeout",
                             "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "serve printed no address"
        port = int(re.search(r"127\.0\.0\.1:(\d+)", proc.stdout.readline()).group(1))
        attacks = [b"\x00\xff" * 100, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                   b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme\r\n"
                   b"Content-Length: 64\r\n\r\n" + b'{"model": "m", "messages": [], "stream_options": "x"}'.ljust(64),
                   b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme\r\n"
                   b"Content-Length: 90\r\n\r\n" + b'{"model":"m","stream":true,"stream_options":"x",'
                   b'"messages":[{"role":"user","content":"hi"}]}'.ljust(90),
                   b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
                   b"GET /metrics HTTP/1.1\r\nHost: \x7f\r\n\r\n", b"\r\n" * 5000, b"GET /metrics HTTP/1.1\r\nHost"]
        for raw in attacks:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(raw)
            try:
                sock.recv(65536)
            except OSError:
                pass
            sock.close()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and err == "", err


def test_an_http_1_0_client_gets_a_stream_it_can_read_ended_by_the_close(gateway_server):
    body = json.dumps({"model": "m", "max_tokens": 2, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    sock = socket.create_connection(gateway_server.server_address[:2], timeout=5)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.0\r\nAuthorization: Bearer acme\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    whole = b""
    while data := sock.recv(65536):
        whole += data
    head, _, events = whole.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Connection: close" in head
    assert events.startswith(b"data: {") and events.endswith(b"data: [DONE]\n\n")


def test_mangled_requests_each_get_an_http_answer_and_no_internal_error(gateway_server, capsys):
    # a valid streamed request, mangled at random (seeded): bytes changed, cut, or CR, LF, ":",
    # NUL and "chunked" slipped in; each is answered with a status line, none breaks the server
    rng = random.Random(5)
    body = json.dumps({"model": "m", "max_tokens": 2, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    valid = request("POST", "/v1/chat/completions", b"Authorization: Bearer acme\r\n"
                    b"Content-Length: %d\r\n" % len(body), body)
    for _ in range(150):
        raw = bytearray(valid)
        for _ in range(rng.randint(1, 6)):
            at, choice = rng.randrange(len(raw)), rng.random()
            if choice < 0.4:
                raw[at] = rng.randrange(256)
            elif choice < 0.7:
                del raw[at:at + rng.randint(1, 5)]
            else:
                raw[at:at] = rng.choice([b"\r\n", b"\n", b"\r", b" ", b":", b"\x00", b"chunked", b"0"])
        sock = socket.create_connection(gateway_server.server_address[:2], timeout=5)
        sock.sendall(bytes(raw))
        sock.shutdown(socket.SHUT_WR)
        assert re.match(rb"HTTP/1\.1 [1-5][0-9][0-9] ", sock.recv(100)), bytes(raw)
        sock.close()
    assert "internal error" not in capsys.readouterr().err
