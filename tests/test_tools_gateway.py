"""Lab 4's tool (solution/tools/gateway.py): the gateway answers real HTTP on loopback, a load
honours Retry-After, and everything stops when the test ends."""

import json
import math
import re
import resource
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from solution import lab4_limits as lesson
from solution import limiters
from solution.tools import gateway as lab

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "solution" / "tools" / "gateway.py"


def test_bad_settings_are_refused_with_the_reason(capsys):
    for argv, reason in ((["serve", "--rate", "-1"], "greater than 0"),
                         (["serve", "--burst", "0"], "greater than 0"),
                         (["load", "--url", "http://127.0.0.1:9/v1/chat", "--rps", "5000"], "at most 200"),
                         # an option of serve, given before it: told where it goes
                         (["--rate", "5"], "--rate is an option of the serve command"),
                         (["--url=http://x", "load"], "--url is an option of the load command")):
        with pytest.raises(SystemExit) as exit_:
            lab.main(argv)
        assert exit_.value.code == 2 and reason in capsys.readouterr().err


# ── the live gateway, on loopback ───────────────────────────────────────────────────────────────

@pytest.fixture
def server():
    gateway = lab.live_gateway(rate=1.0, burst=2, max_in_flight=4, shed_at=1.0)
    server = lab.start_server(gateway, "127.0.0.1", 0, model_delay_s=0.01)
    yield server
    server.shutdown()
    server.server_close()


def post(url: str, body: bytes):
    """POST and return (status, headers, JSON body); never through a proxy, never for long."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, json.loads(exc.read())


def chat(tenant="acme", prompt="Where is my order?", max_tokens=64) -> bytes:
    return json.dumps({"tenant": tenant, "prompt": prompt, "max_tokens": max_tokens}).encode()


def test_the_live_gateway_answers_429_with_retry_after_once_the_bucket_is_empty(server):
    assert server.server_address[0] == "127.0.0.1"
    first, second, third = (post(server.url, chat()) for _ in range(3))
    assert first[0] == second[0] == 200 and first[2]["usage"]["completion_tokens"] == 20
    status, headers, body = third
    assert status == 429 and body["reason"] == "rate"
    # the draft's problem details (RFC 9457), naming the policy as RateLimit-Policy does
    assert headers["Content-Type"] == "application/problem+json"
    assert body["type"] == "https://iana.org/assignments/http-problem-types#quota-exceeded"
    assert body["status"] == 429 and body["violated-policies"] == ["requests"]
    # 1 token at 1/s, nearly a whole second away; spread by up to a second more, so that the
    # clients refused together do not all come back together; Retry-After is never before it
    waited = int(headers["retry-after-ms"])
    assert 900 <= waited <= 2000 and headers["Retry-After"] == str(math.ceil(waited / 1000))
    assert re.fullmatch(r'"requests";r=0;t=\d+', headers["RateLimit"])
    assert headers["RateLimit-Policy"].startswith('"requests";q=2;w=2')
    assert post(server.url, chat("globex"))[0] == 200           # another tenant, its own bucket


def test_the_live_gateway_refuses_bad_requests_without_crashing(server):
    assert post(server.url, b"{not json")[0] == 400
    assert post(server.url, b'["a list"]')[0] == 400
    assert post(server.url, chat(max_tokens=0))[0] == 400
    assert post(server.url, chat(max_tokens=True))[0] == 400
    assert post(server.url, b"\xff\xfe")[0] == 400
    assert post(server.url, chat(prompt="x" * (lab.MAX_BODY_BYTES + 1)))[0] == 413
    assert post(server.url, chat(tenant="mallory"))[0] == 403
    assert post(server.url.replace("/v1/chat", "/v2/other"), chat())[0] == 404
    assert post(server.url, chat())[0] == 200                   # and it still serves


def test_load_is_bounded_and_honours_retry_after(server):
    load = lab.drive(server.base_url, rps=20, seconds=0.5, tenants=["initech"])
    statuses = load.statuses["initech"]
    # 10 planned; the first 2 pass, the 3rd gets 429 + Retry-After: 1, the rest wait it out
    assert statuses.get("200") == 2 and statuses.get("429", 0) >= 1
    assert sum(statuses.values()) + load.held_back["initech"] == 10
    assert load.held_back["initech"] >= 5 and load.seconds < 5


def test_the_server_stops_when_asked():
    server = lab.start_server(lab.live_gateway(1.0, 1, 1, 1.0), "127.0.0.1", 0)
    url = server.url
    assert post(url, chat())[0] == 200
    server.shutdown()
    server.server_close()
    with pytest.raises(urllib.error.URLError):
        post(url, chat())


def test_serve_prints_its_loopback_address_and_stops_cleanly_when_killed():
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "serve", "--port", "0", "--rate", "1",
                             "--burst", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "serve printed no address"
        url = re.search(r"http://127\.0\.0\.1:\d+/v1/chat", proc.stdout.readline()).group()
        assert post(url, chat())[0] == 200
        status, headers, _ = post(url, chat())
        assert status == 429 and headers["Retry-After"] in ("1", "2")   # a second, spread
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped" in out and "acme 1 x 429 rate" in out


def test_live_mode_runs_both_for_a_few_seconds_and_stops(capsys):
    start = time.monotonic()
    assert lab.main(["live"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"http://127\.0\.0\.1:\d+/v1/chat", printed)
    assert "429" in printed and "held back" in printed
    assert time.monotonic() - start < 20
    for _ in range(100):                  # the server's thread ends once shutdown() has returned
        if not any(t.name == "lab4-gateway" for t in threading.enumerate()):
            break
        time.sleep(0.01)
    else:
        pytest.fail("the live server is still running")


def test_load_drives_only_this_machine(capsys):
    assert lab.is_loopback("http://127.0.0.1:8000/v1/chat") and lab.is_loopback("http://[::1]:80/")
    assert lab.is_loopback("http://localhost:8000/")
    assert not lab.is_loopback("http://example.com/v1/chat")
    assert not lab.is_loopback("http://10.0.0.1/")
    assert lab.main(["load", "--url", "http://example.com/v1/chat"]) == 2
    assert "this machine" in capsys.readouterr().err


def test_the_headers_follow_the_ratelimit_draft_11_and_retry_after_never_comes_before_t():
    # worked by hand: a bucket of 4 refilled at 0.5/s (window 8 s) holding 0.4 tokens gets its
    # next whole token in (1 - 0.4) / 0.5 = 1.2 s: t = 2 (whole seconds, rounded up), and so does
    # Retry-After. draft-ietf-httpapi-ratelimit-headers-11: t is "until more quota becomes
    # available", not until the bucket is full (which would be (4 - 0.4) / 0.5 = 7.2 s).
    plan = lesson.Plan("interactive", rate=0.5, burst=4, tokens_per_minute=90_000,
                       requests_per_day=1_000)
    headers = dict(lab.response_headers(lesson.Admission(429, "rate", 1.2,
                                                         limiters.Decision(False, 1.2, 0.4)), plan))
    assert headers["RateLimit-Policy"] == ('"requests";q=4;w=8, "tokens";q=90000;w=60;'
                                           'opslab-unit="tokens", "day";q=1000;w=86400')
    assert headers["RateLimit"] == '"requests";r=0;t=2' and headers["Retry-After"] == "2"
    # admitted with 2.5 left: the next whole token in (3 - 2.5) / 0.5 = 1 s; a full bucket: t=0
    ok = dict(lab.response_headers(lesson.Admission(200, "ok", 0.0, limiters.Decision(True, 0.0, 2.5)), plan))
    assert ok["RateLimit"] == '"requests";r=2;t=1' and "Retry-After" not in ok
    full = dict(lab.response_headers(lesson.Admission(200, "ok", 0.0, limiters.Decision(True, 0.0, 4.0)), plan))
    assert full["RateLimit"] == '"requests";r=4;t=0'
    # tokens: 300.25 left of 90,000 a minute (1,500/s): the next token in 0.0005 s, t = 1; the
    # request needs more, 0.8 s: Retry-After 1, never before t
    tokens = dict(lab.response_headers(lesson.Admission(429, "tokens", 0.8,
                                                        limiters.Decision(False, 0.8, 300.25)), plan))
    assert tokens["RateLimit"] == '"tokens";r=300;t=1' and tokens["Retry-After"] == "1"
    # the daily quota: more only at the next day, an hour and a half-second away
    day = dict(lab.response_headers(lesson.Admission(429, "quota", 3600.5,
                                                     limiters.Decision(False, 3600.5, 0)), plan))
    assert day["RateLimit"] == '"day";r=0;t=3601' and day["Retry-After"] == "3601"
    busy = dict(lab.response_headers(lesson.Admission(503, "shed", 1.0, None), plan))
    assert busy["Retry-After"] == "1" and "RateLimit" not in busy
    never = dict(lab.response_headers(lesson.Admission(429, "tokens", math.inf,
                                                       limiters.Decision(False, math.inf, 10.0)), plan))
    assert "Retry-After" not in never


def test_refusals_are_the_drafts_problem_types_and_a_503_blames_no_policy_of_the_tenant():
    # draft-ietf-httpapi-ratelimit-headers-11, sections 5.1-5.2 and 10.2: the registered types
    quota = lab.problem_details(lesson.Admission(429, "quota", 60.0, limiters.Decision(False, 60.0, 0)))
    assert quota["type"] == "https://iana.org/assignments/http-problem-types#quota-exceeded"
    assert (quota["title"], quota["status"], quota["violated-policies"]) == ("Quota Exceeded", 429, ["day"])
    shed = lab.problem_details(lesson.Admission(503, "shed", 1.0, None))
    assert shed["type"] == "https://iana.org/assignments/http-problem-types#temporary-reduced-capacity"
    assert shed["title"] == "Temporary Reduced Capacity" and "violated-policies" not in shed
    never = lab.problem_details(lesson.Admission(429, "tokens", math.inf,
                                                 limiters.Decision(False, math.inf, 10.0)))
    assert never["violated-policies"] == ["tokens"] and "never" in never["detail"]


# ── what one client, or many, can hold ──────────────────────────────────────────────────────────

def raw_server(**bounds):
    gateway = lab.live_gateway(rate=1000.0, burst=1000, max_in_flight=50, shed_at=1.0)
    server = lab.GatewayServer(("127.0.0.1", 0), gateway, 0.01, **bounds)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def status_of(sock) -> int:
    sock.settimeout(30)
    head = sock.recv(64)
    return int(head.split()[1]) if head.startswith(b"HTTP/") else -1


CHAT = (b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s")


def test_five_hundred_clients_at_once_each_get_an_http_answer():
    # the default listen backlog (5) reset most of a burst of connections, uncounted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)   # 1,000 sockets: past a 1,024 default
    if soft != resource.RLIM_INFINITY and soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    server = raw_server()
    body = chat()
    try:
        socks = [socket.create_connection(server.server_address, timeout=30) for _ in range(500)]
        for sock in socks:
            sock.sendall(CHAT % (len(body), body))
        statuses = Counter(status_of(sock) for sock in socks)
        for sock in socks:
            sock.close()
    finally:
        server.shutdown()
        server.server_close()
    assert sum(statuses.values()) == 500 and set(statuses) <= {200, 429, 503}, statuses
    # every answer is counted: refused by the gateway, or turned away for want of a thread
    refused = sum(n for reasons in server.gateway.refused.values() for n in reasons.values())
    assert statuses[429] + statuses[503] == refused + server.turned_away


def test_a_client_that_trickles_its_body_is_cut_off_at_the_deadline():
    server = raw_server(request_deadline_s=1.0)
    try:
        sock = socket.create_connection(server.server_address, timeout=30)
        sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        started, answer = time.monotonic(), b""
        for _ in range(100):                  # a byte every 0.3 s: 30 s if nobody stops it
            try:
                sock.sendall(b"{")
            except OSError:
                break
            ready, _, _ = select.select([sock], [], [], 0.3)
            if ready:
                answer = sock.recv(200)
                break
        sock.close()
    finally:
        server.shutdown()
        server.server_close()
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 25


def test_beyond_the_connection_cap_idle_connections_make_room_and_busy_ones_turn_newcomers_away():
    server = raw_server(max_connections=2, request_deadline_s=10.0)
    body = chat()
    try:
        # two connections that sent nothing: a newcomer closes the longest idle and is served
        idle = [socket.create_connection(server.server_address, timeout=30) for _ in range(2)]
        time.sleep(0.2)                                          # both accepted, both waiting
        third = socket.create_connection(server.server_address, timeout=30)
        third.sendall(CHAT % (len(body), body))
        assert status_of(third) == 200 and idle[0].recv(10) == b""    # the oldest was closed
        assert server.metrics.connections["evicted_idle"] == 1 and server.turned_away == 0
        # two connections each in the middle of a request head: nobody idle, a newcomer gets 503
        for sock in (*idle, third):
            sock.close()
        deadline = time.monotonic() + 10               # their threads see the close and go
        while time.monotonic() < deadline and server.open_connections:
            time.sleep(0.02)
        busy = [socket.create_connection(server.server_address, timeout=30) for _ in range(2)]
        for sock in busy:
            sock.sendall(b"POST /v1/chat HTTP/1.1\r\n")
        deadline = time.monotonic() + 10               # both read from, the others gone
        while time.monotonic() < deadline and not (server.open_connections == 2 and not any(
                c.idle for c in list(server._open.values()))):
            time.sleep(0.02)
        fourth = socket.create_connection(server.server_address, timeout=30)
        assert status_of(fourth) == 503 and server.turned_away == 1
        for sock in (*busy, fourth):
            sock.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("head,body,status", [
    (b"Content-Length: +52\r\n", None, 400),                       # RFC 9110: 1*DIGIT, no sign
    (b"Content-Length: 52\r\nContent-Length: 10\r\n", None, 400),  # two lengths: which body?
    (b"Content-Length: 52\r\nTransfer-Encoding: chunked\r\n", None, 400),   # the smuggling pair
    (b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n", 501),   # a coding not read here
    (b"", b"", 411),
    (b"Content-Length: 99999999999999999999999\r\n", b"", 413),     # huge: refused by its size
    (b"Content-Length: 52\r\nContent-Length: 52\r\n", None, 400),   # twice, even the same: refused
])
def test_strict_http_one_content_length_of_digits(head, body, status):
    server = raw_server()
    body = b'{"tenant": "acme", "prompt": "hi", "max_tokens": 64}' if body is None else body  # 52
    try:
        sock = socket.create_connection(server.server_address, timeout=30)
        sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\n" + head + b"Connection: close\r\n\r\n" + body)
        assert status_of(sock) == status
        sock.close()
    finally:
        server.shutdown()
        server.server_close()


def test_a_body_shorter_than_its_content_length_is_a_bad_request():
    server = raw_server()
    body = chat()
    try:
        sock = socket.create_connection(server.server_address, timeout=30)
        sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body) + 20, body))
        sock.shutdown(socket.SHUT_WR)                     # the client is done: 20 bytes short
        assert status_of(sock) == 400
        sock.close()
    finally:
        server.shutdown()
        server.server_close()


def test_every_slot_comes_back_when_clients_vanish_mid_request():
    # 40 clients send a whole request and hang up before the fake model (0.2 s) answers: the
    # gateway still frees each admitted request's slot when its work ends
    gateway = lab.live_gateway(rate=1000.0, burst=1000, max_in_flight=50, shed_at=1.0)
    server = lab.GatewayServer(("127.0.0.1", 0), gateway, 0.2)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    body, busiest = chat(), 0
    try:
        for _ in range(40):
            sock = socket.create_connection(server.server_address, timeout=30)
            sock.sendall(CHAT % (len(body), body))
            sock.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (busiest == 0 or gateway.concurrency.in_flight):
            busiest = max(busiest, gateway.concurrency.in_flight)
            time.sleep(0.01)
        assert busiest > 0 and gateway.concurrency.in_flight == 0     # they were held, then freed
    finally:
        server.shutdown()
        server.server_close()


def test_keys_are_read_from_flags_and_a_file_and_a_bad_one_is_named_not_echoed(tmp_path, capsys):
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nsk-team-a=team-a\n\nsk-night=nightly:batch  # the re-runs\n")
    assert lab.read_keys(["sk-x=acme"], str(keys)) == {
        "sk-x": ("acme", "interactive"), "sk-team-a": ("team-a", "interactive"),
        "sk-night": ("nightly", "batch")}
    keys.write_text("sk-team-a=team-a\nsk-super-secret-value\n")
    assert lab.main(["serve", "--keys", str(keys), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{keys}: entry 2 is not KEY=TENANT" in err and "secret" not in err.replace(str(keys), "")
    assert lab.main(["serve", "--upstream", "http://127.0.0.1:9/v1", "--upstream-key-env",
                     "OPSLAB_NO_SUCH_VARIABLE", "--port", "0"]) == 2
    assert "$OPSLAB_NO_SUCH_VARIABLE is not set" in capsys.readouterr().err


def test_the_shared_gateway_counts_every_refusal_of_many_threads_and_frees_every_slot():
    # lab 4's Gateway is one caller's; the server shares it through SharedGateway, whose lock makes
    # admit and complete single steps: 8 threads x 500 requests, each admitted one completed at
    # once, must leave the refusals plus the admissions equal to the requests, and no slot held
    shared = lab.SharedGateway(lab.live_gateway(rate=50.0, burst=20, max_in_flight=3, shed_at=1.0))
    admitted: list[str] = []                           # list.append is one step under threads

    def hammer(tenant: str) -> None:
        for _ in range(500):
            if shared.admit(tenant, 10, 10).status == 200:
                admitted.append(tenant)
                shared.complete(tenant, 10)

    threads = [threading.Thread(target=hammer, args=(t,)) for t in sorted(shared.tenants)
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused, in_flight = shared.snapshot()
    assert in_flight == 0 and admitted
    assert len(admitted) + sum(sum(r.values()) for r in refused.values()) == 500 * len(threads)
