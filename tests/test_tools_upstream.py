"""The gateway as an OpenAI-compatible front door, in front of a model server: a fake upstream on
loopback (standard library only) plays vLLM or Ollama, and the standard library's HTTP client
plays the `openai` client (its requests, streaming too). Checked: answers relayed, streams relayed
chunk by chunk, the slot held for a stream's length, tokens settled from the upstream's usage,
upstream errors and timeouts answered 502 and 504 and counted in /metrics."""

import http.client
import socket
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from solution.lab4_limits import Gateway, Plan
from solution.tools import gateway as lab

GAP_S = 0.3                   # the fake upstream's pause between streamed events
CHUNKS = ["Your ", "order ", "ships ", "today."]


class FakeModelServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose behaviour is chosen by the request's model name."""
    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args):
        pass

    def _json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._json(200, {"object": "list", "data": [{"id": "echo", "object": "model", "created": 0,
                                                     "owned_by": "fake"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeModelServer.seen.append((self.headers.get("Authorization"), body))
        model = body["model"]
        if model == "boom":
            return self._json(500, {"error": {"message": "CUDA out of memory", "type": "server_error"}})
        if model == "picky":
            return self._json(400, {"error": {"message": "unknown model", "type": "invalid_request_error",
                                              "param": "model", "code": None}})
        if model == "hang":
            time.sleep(2.0)
            return self._json(200, {})
        if not body.get("stream"):
            return self._json(200, {"id": "x", "object": "chat.completion", "model": model,
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": "".join(CHUNKS)}}],
                                    "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [{"choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]} for c in CHUNKS]
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 4,
                                                    "total_tokens": 15}})
        try:
            for event in events:
                line = b"data: " + json.dumps(event).encode() + b"\n\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                time.sleep(GAP_S)
            done = b"data: [DONE]\n\n"
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
        except OSError:
            pass                                # the gateway hung up: its client went


def serve(server):
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture
def front(monkeypatch):
    """A gateway (600 tokens a minute, so settling shows) in front of the fake model server."""
    upstream = serve(ThreadingHTTPServer(("127.0.0.1", 0), FakeModelServer))
    FakeModelServer.seen = []
    limits = Gateway({"acme": Plan("interactive", 100.0, 100, 600, 100_000)}, 4, 4, 1.0)
    host, port = upstream.server_address[:2]
    server = lab.start_server(limits, keys={"sk-acme": "acme"}, upstream=lab.Upstream(
        f"http://{host}:{port}/v1", api_key="sk-upstream-secret", timeout_s=1.0))
    yield server
    for s in (server, upstream):
        s.shutdown()
        s.server_close()


def ask(server, model="echo", stream=False, key="sk-acme", max_tokens=100, connection=None):
    """What the openai client sends: POST {base_url}/chat/completions with a Bearer key."""
    host, port = server.server_address[:2]
    connection = connection or http.client.HTTPConnection(host, port, timeout=10)
    body = {"model": model, "max_tokens": max_tokens, "stream": stream,
            "messages": [{"role": "user", "content": "Where is my order?"}]}
    connection.request("POST", "/v1/chat/completions", json.dumps(body),
                       {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    return connection, connection.getresponse()


def metric(server, line_start: str) -> float:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    found = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start)]
    return sum(found)


def wait_until(test, seconds=3.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if test():
            return True
        time.sleep(0.02)
    return test()


def remaining_tokens(server) -> float:
    return server.gateway.tenants["acme"].tokens.try_acquire(0).remaining


def test_an_answer_is_relayed_and_its_tokens_settled_from_the_upstreams_usage(front):
    connection, response = ask(front, max_tokens=100)
    answer = json.loads(response.read())
    assert response.status == 200 and answer["choices"][0]["message"]["content"] == "".join(CHUNKS)
    assert "RateLimit" in response.headers and "RateLimit-Policy" in response.headers
    # reserved: 11 estimated + 100 asked = 111 of 600; used: 11 + 5 = 16, so 95 come back
    # (the gateway settles once the answer is out: the test waits for it, a moment at most)
    assert wait_until(lambda: remaining_tokens(front) >= 600 - 16 - 1)
    assert wait_until(lambda: front.gateway.concurrency.in_flight == 0)
    # the upstream saw the gateway's own key, never the client's
    authorization, body = FakeModelServer.seen[-1]
    assert authorization == "Bearer sk-upstream-secret" and body["model"] == "echo"
    # HTTP/1.1 keep-alive: a second request on the same connection
    _, again = ask(front, connection=connection)
    assert again.status == 200 and json.loads(again.read())["usage"]["completion_tokens"] == 5
    assert wait_until(lambda: metric(front, 'opslab_gateway_tokens_total{tenant="acme",type="output"}') == 10)


def test_a_stream_is_relayed_event_by_event_and_holds_its_slot_to_the_end(front):
    _, response = ask(front, stream=True, max_tokens=100)
    assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
    arrivals, held = [], []
    while line := response.readline():
        if line.startswith(b"data: "):
            arrivals.append((time.monotonic(), line))
            held.append(front.gateway.concurrency.in_flight)
    contents = [json.loads(l[6:])["choices"][0]["delta"]["content"] for _, l in arrivals
                if l.startswith(b"data: {") and json.loads(l[6:])["choices"]]
    assert contents == CHUNKS and arrivals[-1][1] == b"data: [DONE]\n"
    # event by event, as they came: the first arrived well before the last was even sent
    assert arrivals[-1][0] - arrivals[0][0] >= 3 * GAP_S * 0.8
    assert all(n == 1 for n in held[:-1])                       # the slot, held while it streams
    assert wait_until(lambda: front.gateway.concurrency.in_flight == 0)
    # the gateway asked the upstream for the usage chunk, and settled from it: 11 + 4 used
    assert FakeModelServer.seen[-1][1]["stream_options"] == {"include_usage": True}
    assert wait_until(lambda: remaining_tokens(front) >= 600 - 15 - 1)


def test_a_client_that_leaves_mid_stream_gives_its_slot_back(front):
    connection, response = ask(front, stream=True)
    assert response.readline().startswith(b"data: ")
    assert front.gateway.concurrency.in_flight == 1
    connection.sock.shutdown(socket.SHUT_RDWR)         # gone (the response still holds the fd)
    connection.sock.close()
    assert wait_until(lambda: front.gateway.concurrency.in_flight == 0, 5.0)
    # counted as the client's leaving, not as the upstream's failure
    assert wait_until(lambda: metric(front, 'opslab_gateway_requests_total{tenant="acme",outcome="client_gone"}') == 1)
    assert metric(front, 'opslab_gateway_requests_total{tenant="acme",outcome="upstream') == 0


def test_upstream_failures_are_502_and_504_in_openais_shape_and_counted(front):
    for model, status, outcome in (("boom", 502, "upstream_error"), ("hang", 504, "upstream_timeout")):
        _, response = ask(front, model=model)
        error = json.loads(response.read())["error"]
        assert response.status == status and error["type"] == "upstream_error", (model, error)
        assert wait_until(lambda: metric(
            front, f'opslab_gateway_requests_total{{tenant="acme",outcome="{outcome}"}}') == 1)
    _, response = ask(front, model="picky")                     # the upstream's own 400: relayed
    assert response.status == 400 and json.loads(response.read())["error"]["param"] == "model"
    assert wait_until(lambda: front.gateway.concurrency.in_flight == 0)
    # an upstream that is not there at all
    gone = lab.start_server(Gateway({"acme": Plan("interactive", 9.0, 9, 600, 100)}, 2, 2, 1.0),
                            keys={"k": "acme"}, upstream=lab.Upstream("http://127.0.0.1:9/v1", timeout_s=1))
    try:
        _, response = ask(gone, key="k")
        assert response.status == 502 and "cannot be reached" in json.loads(response.read())["error"]["message"]
    finally:
        gone.shutdown()
        gone.server_close()


def test_keys_models_refusals_and_metrics_speak_the_clients_language(front):
    _, response = ask(front, key="sk-wrong")
    error = json.loads(response.read())["error"]
    assert response.status == 401 and error["code"] == "invalid_api_key"
    host, port = front.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/v1/models", headers={"Authorization": "Bearer sk-acme"})
    assert json.loads(connection.getresponse().read())["data"][0]["id"] == "echo"    # relayed
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    text = response.read().decode()
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert re.search(r'^opslab_gateway_requests_total\{tenant="-",outcome="unauthorized"\} 1$', text, re.M)
    assert "# TYPE opslab_gateway_request_duration_seconds histogram" in text
    assert "opslab_gateway_in_flight 0" in text


def test_the_fake_model_speaks_the_same_api_streaming_included():
    server = lab.start_server(lab.live_gateway(rate=1.0, burst=4, max_in_flight=4, shed_at=1.0),
                              model_delay_s=0.05)
    try:
        _, response = ask(server, key="acme", max_tokens=3)
        answer = json.loads(response.read())
        assert answer["object"] == "chat.completion" and answer["usage"]["completion_tokens"] == 3
        _, response = ask(server, key="acme", stream=True, max_tokens=3)
        events = [line for line in response.read().split(b"\n") if line.startswith(b"data: ")]
        assert events[-1] == b"data: [DONE]" and len(events) == 1 + 3 + 1 + 1
        # a refusal in OpenAI's shape, with the headers that say when to come back
        for _ in range(6):
            _, response = ask(server, key="acme", max_tokens=3)
            body = json.loads(response.read())
            if response.status == 429:
                break
        assert response.status == 429 and body["error"]["code"] == "rate_limit_exceeded"
        assert response.headers["Retry-After"] and response.headers["RateLimit"].startswith('"requests"')
    finally:
        server.shutdown()
        server.server_close()


def test_load_keeps_its_time_bound_and_says_when_it_fell_short():
    # a model that takes 2 s and room for 5 open requests: 10 requests/s for 1 s cannot all go
    server = lab.start_server(lab.live_gateway(rate=100.0, burst=100, max_in_flight=50, shed_at=1.0),
                              model_delay_s=2.0)
    try:
        start = time.monotonic()
        load = lab.drive(server.base_url, rps=10, seconds=1, tenants=["acme"], max_open=5, timeout_s=5)
        took = time.monotonic() - start
    finally:
        server.shutdown()
        server.server_close()
    assert load.asked == 10 and load.unsent == 5 and load.statuses["acme"] == {"200": 5}
    assert took < 1 + 5 + 4            # the run, a request's timeout, and room for a busy machine
    assert "could not reach the asked rate: 5 of 10 requests not sent" in lab.load_report(load)


# ── an upstream that misbehaves, byte for byte: each failure told truthfully ────────────────────

USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def _answer(body: bytes, status: str = "200 OK", extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
            % (status.encode(), len(body), extra, body))


def _events(*events: bytes, done: bool = True) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events)
    if done:
        chunks += b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks


def _delta(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]}).encode() + b"\n\n"


def _completion(usage=USAGE) -> bytes:
    return json.dumps({"object": "chat.completion", "usage": usage, "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]}).encode()


class RawUpstream:
    """A model server on loopback that answers, byte for byte, what the request's model names
    (a kept-alive connection serves one request after another); it records each request's path,
    Authorization and body, and counts the connections it accepted."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen, self.connections, self.socks = [], 0, []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self):
        self.listener.close()
        for sock in self.socks:
            sock.close()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self.socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode().split("\r\n")
                fields = dict(line.split(": ", 1) for line in lines[1:])
                while len(buffer) < int(fields.get("Content-Length", 0)):
                    buffer += sock.recv(65536)
                size = int(fields.get("Content-Length", 0))
                body, buffer = json.loads(buffer[:size] or b"{}"), buffer[size:]
                path = lines[0].split()[1]
                self.seen.append((path, fields.get("Authorization"), body))
                if not self._answer(sock, path, body.get("model", "")):
                    sock.close()
                    return
        except OSError:
            return

    def _answer(self, sock, path, model) -> bool:
        """Write the answer the model names; False: close the connection after it."""
        send = sock.sendall
        if model == "garbage":
            send(b"HTPP/1.1 2000 Fine\r\n\r\n")
            return False
        if model == "short":
            send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"usa")
            return False
        if model == "huge":
            send(_answer(b"[" + b"1," * 2000 + b"1]"))
        elif model == "interim":
            send(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + _answer(_completion()))
        elif model == "switch":
            send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            return False
        elif model == "nocontent":
            send(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif model == "notmodified":
            send(b"HTTP/1.1 304 Not Modified\r\n\r\n")
        elif model == "negative":
            send(_answer(_completion({"prompt_tokens": -500, "completion_tokens": 3})))
        elif model == "greedy":
            send(_answer(_completion({"prompt_tokens": 5, "completion_tokens": 10_000})))
        elif model == "long":                   # no max_tokens asked: more than the 512 reserved
            send(_answer(_completion({"prompt_tokens": 11, "completion_tokens": 1_100})))
        elif model == "busy":
            send(_answer(b'{"error": {"message": "slow down"}}', "429 Too Many Requests",
                         b"Retry-After: 7\r\n"))
        elif model == "drop":
            send(_events(_delta("Your "), _delta("order "), done=False))
            return False
        elif model == "stall":
            send(_events(_delta("Your "), done=False))
            time.sleep(2.5)
            return False
        elif model == "nodone":
            send(_events(_delta("Your "), done=False) + b"0\r\n\r\n")
        elif model == "usage-stream":
            send(_events(_delta("Hi"), b"data: " + json.dumps({"choices": [], "usage": USAGE}).encode() + b"\n\n"))
        elif model == "forgets":                # closes a kept-alive connection, unannounced
            send(_answer(_completion()))
            return False
        elif path.endswith("/embeddings"):
            send(_answer(json.dumps({"object": "list", "data": [],
                                     "usage": {"prompt_tokens": 4, "total_tokens": 4}}).encode()))
        elif path.endswith("/responses"):
            send(_answer(json.dumps({"object": "response", "output": [],
                                     "usage": {"input_tokens": 6, "output_tokens": 2}}).encode()))
        else:
            send(_answer(_completion()))
        return True


@pytest.fixture
def raw():
    """A gateway (600 tokens a minute) in front of the raw upstream; silent 1 s, it has stalled
    (a bound with room for a busy machine; the stalling model sleeps 2.5 s)."""
    upstream = RawUpstream()
    limits = Gateway({"acme": Plan("interactive", 100.0, 100, 600, 100_000)}, 4, 4, 1.0)
    server = lab.start_server(limits, keys={"sk-acme": "acme"}, upstream=lab.Upstream(
        upstream.url, api_key="sk-upstream-secret", timeout_s=1.0))
    server.raw = upstream
    yield server
    server.shutdown()
    server.server_close()
    upstream.close()


def post_raw(server, path: str, body: dict, key="sk-acme"):
    """POST on a raw socket: (status, head, body bytes, closed without a last chunk?)."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(server.server_address[:2], timeout=10)
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n%s" % (path.encode(), key.encode(), len(data), data))
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    sock.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), head.decode("latin-1"), rest


@pytest.mark.parametrize("model, status, outcome", [
    ("garbage", 502, "upstream_error"),            # not a status line: a 502, no traceback
    ("short", 502, "upstream_error"),              # a body shorter than its Content-Length
    ("switch", 502, "upstream_error"),             # 101, asked by nobody
    ("notmodified", 502, "upstream_error"),        # 304 answers conditional requests only
    ("negative", 502, "upstream_error"),           # a usage that would mint tokens
    ("greedy", 502, "upstream_error"),             # 10,000 output tokens; 100 allowed
])
def test_an_upstream_that_answers_what_is_not_an_answer_is_a_502_in_openais_shape(raw, model, status, outcome):
    got, _, body = post_raw(raw, "/v1/chat/completions", {
        "model": model, "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]})
    error = json.loads(body)["error"]
    assert got == status and error["type"] == "upstream_error" and error["code"] == "bad_gateway"
    assert wait_until(lambda: metric(raw, f'opslab_gateway_requests_total{{tenant="acme",outcome="{outcome}"}}') == 1)
    assert metric(raw, "opslab_gateway_tokens_total") == 0          # nothing counted from a lie
    assert wait_until(lambda: raw.gateway.concurrency.in_flight == 0)


def test_an_over_limit_answer_is_a_502_never_a_truncated_200(raw, monkeypatch):
    monkeypatch.setattr(lab, "MAX_UPSTREAM_BYTES", 1000)
    got, _, body = post_raw(raw, "/v1/chat/completions", {"model": "huge", "messages": [
        {"role": "user", "content": "hi"}]})
    assert got == 502 and "over 1,000 bytes" in json.loads(body)["error"]["message"]


def test_interim_answers_are_skipped_and_204_has_no_body(raw):
    got, _, body = post_raw(raw, "/v1/chat/completions", {"model": "interim", "messages": [
        {"role": "user", "content": "hi"}]})
    assert got == 200 and json.loads(body)["usage"] == USAGE           # the 103 dropped
    got, head, body = post_raw(raw, "/v1/chat/completions", {"model": "nocontent", "messages": [
        {"role": "user", "content": "hi"}]})
    assert got == 204 and body == b"" and "Content-Type" not in head and "Content-Length" not in head


@pytest.mark.parametrize("model, code, outcome", [
    ("drop", "bad_gateway", "upstream_error"),         # the connection closed mid-stream
    ("stall", "gateway_timeout", "upstream_timeout"),  # silent past --upstream-timeout (1 s)
    ("nodone", "bad_gateway", "upstream_error"),       # ended cleanly, but never said [DONE]
])
def test_a_stream_cut_by_the_upstream_ends_in_an_error_event_and_an_unfinished_answer(raw, model, code, outcome):
    got, _, body = post_raw(raw, "/v1/chat/completions", {"model": model, "stream": True, "messages": [
        {"role": "user", "content": "hi"}]})
    events = [json.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: {")]
    assert got == 200 and events[0]["choices"][0]["delta"]["content"] == "Your "
    # what the openai client raises an APIError on: an event carrying "error"
    assert events[-1]["error"]["code"] == code and events[-1]["error"]["type"] == "upstream_error"
    assert not body.endswith(b"0\r\n\r\n")              # HTTP says it too: no last chunk
    assert wait_until(lambda: metric(raw, f'opslab_gateway_requests_total{{tenant="acme",outcome="{outcome}"}}') == 1)
    assert metric(raw, 'opslab_gateway_requests_total{tenant="acme",outcome="ok"}') == 0


def test_the_usage_chunk_reaches_only_a_client_that_asked_for_it(raw):
    asked = {"model": "usage-stream", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    for options, chunks in ((None, 0), ({"include_usage": True}, 1)):
        _, _, body = post_raw(raw, "/v1/chat/completions", {**asked, "stream_options": options})
        events = [json.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: {")]
        # the standard loop `chunk.choices[0].delta.content` must never meet `choices: []`
        assert sum(1 for e in events if e["choices"] == []) == chunks
        assert body.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")
        assert raw.raw.seen[-1][2]["stream_options"]["include_usage"] is True   # asked upstream
    assert wait_until(lambda: metric(raw, 'opslab_gateway_tokens_total{tenant="acme",type="output"}') == 6)


def test_an_upstream_429_passes_its_later_retry_after_on(raw):
    got, head, _ = post_raw(raw, "/v1/chat/completions", {"model": "busy", "messages": [
        {"role": "user", "content": "hi"}]})
    fields = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])
    assert got == 429 and int(fields["Retry-After"]) >= 7 and int(fields["retry-after-ms"]) >= 7000


def test_tokens_used_beyond_the_reservation_are_owed_and_the_next_request_waits(raw):
    # 600 a minute (10 a second); reserved 11 + 512 (no max_tokens: the default); used 11 + 1,100:
    # 588 owed beyond the reservation, so the bucket is at 600 - 1,111 = -511 (plus the refill of
    # the moment). The next request (523) waits for (523 + 511) / 10 = 103 s; RateLimit's t, the
    # next whole token above zero, is (511 + 1) / 10 = 52 s away
    got, _, body = post_raw(raw, "/v1/chat/completions", {"model": "long", "messages": [
        {"role": "user", "content": "Where is my order?"}]})
    assert got == 200 and json.loads(body)["usage"]["completion_tokens"] == 1_100
    assert wait_until(lambda: raw.gateway.concurrency.in_flight == 0)
    got, head, body = post_raw(raw, "/v1/chat/completions", {"model": "echo", "messages": [
        {"role": "user", "content": "Where is my order?"}]})
    fields = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])
    assert got == 429 and json.loads(body)["error"]["code"] == "rate_limit_exceeded"
    t = int(re.fullmatch(r'"tokens";r=0;t=(\d+)', fields["RateLimit"]).group(1))
    assert 50 <= t <= 52 and int(fields["Retry-After"]) >= 100


def test_n_and_the_larger_max_are_reserved_and_parts_count_by_size():
    # hand-worked: 3 + (3 + ceil(2 / 4)) = 7 prompt tokens; n = 3 choices of max(1, 300)
    ask = lab.parse_completion(json.dumps({"model": "m", "n": 3, "max_completion_tokens": 1,
                                           "max_tokens": 300, "messages": [{"role": "user", "content": "hi"}]}).encode())
    assert (ask.prompt_tokens, ask.max_tokens, ask.n, ask.reserved) == (7, 300, 3, 7 + 900)
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 60_000}}
    ask = lab.parse_completion(json.dumps({"model": "m", "max_tokens": 1, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"}, image]}]}).encode())
    # 3 + 3 + ceil(13 / 4) + ceil(60,065 characters of the part's JSON / 4)
    assert ask.prompt_tokens == 3 + 3 + 4 + 15_017
    for bad in ('"x"', "[]", '{"include_usage": "yes"}'):
        with pytest.raises(ValueError, match="stream_options"):
            lab.parse_completion(('{"model": "m", "stream": true, "stream_options": %s, "messages": '
                                  '[{"role": "user", "content": "hi"}]}' % bad).encode())


def test_completions_embeddings_and_responses_are_forwarded_with_the_same_keys_and_limits(raw):
    for path, body, used in (
            ("/v1/completions", {"model": "m", "prompt": "Say hi", "max_tokens": 5}, 5 + 3),
            ("/v1/embeddings", {"model": "m", "input": ["a", "b"]}, 4),
            ("/v1/responses", {"model": "m", "input": "hi", "max_output_tokens": 9}, 6 + 2)):
        before = metric(raw, 'opslab_gateway_tokens_total{tenant="acme"')
        got, _, _ = post_raw(raw, path, body)
        assert got == 200 and raw.raw.seen[-1][:2] == (path, "Bearer sk-upstream-secret")
        assert wait_until(lambda: metric(raw, 'opslab_gateway_tokens_total{tenant="acme"') == before + used)
        assert post_raw(raw, path, body, key="sk-nobody")[0] == 401
    got, _, body = post_raw(raw, "/v1/audio/speech", {"model": "m"})
    assert got == 404 and json.loads(body)["error"]["code"] == "not_found"


def test_upstream_connections_are_kept_alive_and_a_closed_one_is_replaced(raw):
    for _ in range(5):
        assert post_raw(raw, "/v1/chat/completions", {"model": "m", "max_tokens": 5, "messages": [
            {"role": "user", "content": "hi"}]})[0] == 200
    assert raw.raw.connections == 1                    # five requests, one connection
    # the upstream closes a connection after answering, without a word: the next request is
    # sent on a new one, and answered
    for model in ("forgets", "m", "forgets", "m"):
        assert post_raw(raw, "/v1/chat/completions", {"model": model, "max_tokens": 5, "messages": [
            {"role": "user", "content": "hi"}]})[0] == 200
    assert raw.raw.connections == 3
