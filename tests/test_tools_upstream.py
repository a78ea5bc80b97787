"""The gateway as an OpenAI-compatible front door, in front of a model server: a fake upstream on
loopback (standard library only) plays vLLM or Ollama, and the standard library's HTTP client
plays the `openai` client (its requests, streaming too). Checked: answers relayed, streams relayed
chunk by chunk, the slot held for a stream's length, tokens settled from the upstream's usage,
upstream errors and timeouts answered 502 and 504 and counted in /metrics."""

import http.client
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
        f"http://{host}:{port}/v1", api_key="sk-upstream-secret", timeout_s=0.5))
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
    connection.sock.close()
    assert wait_until(lambda: front.gateway.concurrency.in_flight == 0, 5.0)


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
