"""Lab 4 as a practitioner's tool: the gateway over real HTTP, in front of a fake model, and a
bounded load that honours Retry-After. Loopback only, unless you say otherwise.

    python3 solution/tools/gateway.py live          a gateway on 127.0.0.1 and a load on it, 3 s
    python3 solution/tools/gateway.py serve         the gateway, until Ctrl-C
    python3 solution/tools/gateway.py load --url http://127.0.0.1:8000/v1/chat --rps 20 --seconds 5

It admits each request through lab 4's `Gateway` (solution/lab4_limits.py) and answers with its
`response_headers`; what it adds is HTTP: parsing, body limits, timeouts, a server thread.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import hmac
import http.client
import io
import itertools
import ipaddress
import json
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from solution import traffic
from solution.cli import (at_most, fail, parse_command_line, port_value, positive_float,
                          positive_int, refuse_ignored, run_cli)
from solution.lab4_limits import STATUS, Admission, Gateway, Limits, Plan
from solution.terminal import table
from solution.tools import promtext as prom

MAX_BODY_BYTES = 64 * 1024       # a request body larger than this is refused with 413
DRAIN_LIMIT_BYTES = 1024 * 1024  # ... and read away (not kept) if it is no larger than this
MAX_TOKENS_CAP = 4096            # the largest max_tokens a request may ask for
MODEL_DELAY_S = 0.2              # how long the fake model "thinks"
REQUEST_DEADLINE_S = 30.0        # a whole request, from its first byte to the answer's last
MAX_CONNECTIONS = 256            # open at once; beyond, an immediate 503 and close
LISTEN_BACKLOG = 1024            # connections the kernel queues before accept (the default is 5)
LOOPBACK_NAMES = ("localhost",)


# ── the headers a client needs to back off well ─────────────────────────────────────────────────

_POLICY = {"ok": "requests", "rate": "requests", "tokens": "tokens", "quota": "day"}


def response_headers(verdict: Admission, plan: Plan) -> list[tuple[str, str]]:
    """The headers a client needs to back off well, after the IETF draft "RateLimit header fields
    for HTTP", draft-ietf-httpapi-ratelimit-headers-11 (2026-05-23), and RFC 9110.

    RateLimit-Policy lists every policy: its quota q over a window of w seconds. "tokens" counts
    tokens, which the draft's unit registry (requests, content-bytes, concurrent-requests) lacks,
    so it says so in a vendor-prefixed parameter, opslab-unit. RateLimit gives the policy that
    decided: r, the units that remain, and t, the seconds until more quota becomes available (for
    a bucket, its next whole unit; for the daily quota, the next day). Retry-After (RFC 9110,
    10.2.3) is in whole seconds, rounded up, and never points earlier than t. A 503 is about the
    service, not the tenant: it gets Retry-After only. A request that can never fit (retry_after_s
    is infinite) gets no Retry-After: waiting won't help.

    >>> from solution.limiters import Decision
    >>> plan = Plan("interactive", rate=2.0, burst=10, tokens_per_minute=60_000, requests_per_day=5_000)
    >>> for header in response_headers(Admission(429, "rate", 0.2, Decision(False, 0.2, 0.6)), plan):
    ...     print(*header, sep=": ")
    RateLimit-Policy: "requests";q=10;w=5, "tokens";q=60000;w=60;opslab-unit="tokens", "day";q=5000;w=86400
    Retry-After: 1
    RateLimit: "requests";r=0;t=1
    """
    policies = {"requests": (plan.burst, plan.burst / plan.rate, ""),
                "tokens": (plan.tokens_per_minute, 60.0, ';opslab-unit="tokens"'),
                "day": (plan.requests_per_day, 86_400.0, "")}
    headers = [("RateLimit-Policy", ", ".join(f'"{name}";q={int(q)};w={math.ceil(w)}{unit}'
                                              for name, (q, w, unit) in policies.items()))]
    t = 0.0
    if verdict.decision is not None:
        name = _POLICY[verdict.reason]
        quota, window, _ = policies[name]
        remaining = verdict.decision.remaining
        if name == "day":                   # a quota: more only when the next period begins
            t = verdict.retry_after_s
        elif remaining < quota:             # a bucket: its next whole unit
            t = (math.floor(remaining) + 1 - remaining) / (quota / window)
        headers.append(("RateLimit", f'"{name}";r={math.floor(remaining)};t={math.ceil(t)}'))
    if verdict.status != 200 and math.isfinite(verdict.retry_after_s):
        wait = max(1, math.ceil(verdict.retry_after_s), math.ceil(t))
        headers.insert(1, ("Retry-After", str(wait)))
    return headers


# ── the HTTP server ─────────────────────────────────────────────────────────────────────────────

def estimate_tokens(text: str) -> int:
    """About four characters a token for English text (OpenAI's rule of thumb): the gateway must
    count a prompt before any tokenizer sees it.

    >>> estimate_tokens("How do I change my billing plan?")
    8
    """
    return max(1, math.ceil(len(text) / 4))


def parse_chat(body: bytes) -> tuple[str, str, int]:
    """The fields of the lab's own chat request (POST /v1/chat: {"tenant", "prompt",
    "max_tokens"}), or ValueError with the reason (the client gets it in a 400)."""
    data = _json_object(body, '{"tenant", "prompt", "max_tokens"}')
    tenant, prompt, max_tokens = data.get("tenant"), data.get("prompt"), data.get("max_tokens")
    if not isinstance(tenant, str) or not tenant:
        raise ValueError('"tenant" must be a non-empty string')
    if not isinstance(prompt, str):
        raise ValueError('"prompt" must be a string')
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) \
            or not 1 <= max_tokens <= MAX_TOKENS_CAP:
        raise ValueError(f'"max_tokens" must be a whole number from 1 to {MAX_TOKENS_CAP}')
    return tenant, prompt, max_tokens


def body_length(headers) -> tuple[int, tuple[int, dict] | None]:
    """The body's length from the headers, strictly (RFC 9110 8.6, RFC 9112 6.3): one
    Content-Length of digits only, or the same value repeated; no Transfer-Encoding, since this
    server reads no chunked body (and the two together are how requests are smuggled). Returns
    (length, None), or (0, (status, error body)).

    >>> body_length({"Content-Length": "52"})
    (52, None)
    >>> body_length({"Content-Length": "+52"})[1][0]
    400
    """
    values = headers.get_all("Content-Length", []) if hasattr(headers, "get_all") else \
        [headers["Content-Length"]] if "Content-Length" in headers else []
    if headers.get("Transfer-Encoding") is not None:
        return 0, ((400, {"error": "Content-Length and Transfer-Encoding together"}) if values else
                   (411, {"error": "a chunked body is not read here: send a Content-Length"}))
    if not values:
        return 0, (411, {"error": "a Content-Length header is required"})
    if len({v.strip() for v in values}) != 1 or not re.fullmatch(r"[0-9]+", values[0].strip()):
        return 0, (400, {"error": "Content-Length must be one whole number of digits"})
    return int(values[0].strip()), None


_PROBLEMS = {429: ("quota-exceeded", "Quota Exceeded", "the tenant is over its limits"),
             503: ("temporary-reduced-capacity", "Temporary Reduced Capacity",
                   "the service is overloaded")}


def problem_details(verdict: Admission) -> dict:
    """The body of a 429 or 503: an RFC 9457 problem, of the types the RateLimit draft (-11,
    section 5) registers. A 429 names the policy it violated, as RateLimit-Policy names it; a
    503 is about the service's capacity, which no policy of the tenant's describes. `reason` is
    this gateway's own extension: the check that said no.

    >>> from solution.limiters import Decision
    >>> problem_details(Admission(429, "tokens", 12.0, Decision(False, 12.0, 300.0)))["violated-policies"]
    ['tokens']
    """
    kind, title, detail = _PROBLEMS[verdict.status]
    if math.isinf(verdict.retry_after_s):
        detail = "the request can never fit the tenant's limits"
    body = {"type": f"https://iana.org/assignments/http-problem-types#{kind}", "title": title,
            "status": verdict.status, "detail": detail, "reason": verdict.reason}
    if verdict.status == 429:
        body["violated-policies"] = [_POLICY[verdict.reason]]
    return body


# ── the OpenAI-compatible API: requests, errors, answers ────────────────────────────────────────

DEFAULT_MAX_TOKENS = 512         # reserved when a request does not say (max_tokens is optional)
FAKE_MODEL = "opslab-fake-1"     # what the built-in model calls itself in /v1/models
UPSTREAM_TIMEOUT_S = 60.0        # an upstream silent this long (connect, or between bytes): 504
MAX_UPSTREAM_BYTES = 8 << 20     # the most of one non-streamed upstream answer the gateway holds
MAX_EVENT_BYTES = 1 << 20        # the longest server-sent event line relayed


@dataclass(frozen=True)
class Completion:
    """A chat completion request, as the gateway needs it: what to reserve, whether to stream."""
    model: str
    prompt_tokens: int            # estimated: the gateway counts before any tokenizer does
    max_tokens: int
    stream: bool
    body: dict                    # the request itself, forwarded to the upstream


def parse_completion(raw: bytes) -> Completion:
    """An OpenAI chat completions body (POST /v1/chat/completions), or ValueError with the reason:
    `model`, a non-empty list of `messages` with a `role` and a `content` (text, or a list of
    parts whose text counts), `max_completion_tokens` or `max_tokens` (default 512, at most
    4096), `stream`. The prompt's tokens are estimated at four characters a token, plus three a
    message (OpenAI's cookbook counts about that much per message's wrapping).

    >>> c = parse_completion(b'{"model": "m", "messages": [{"role": "user", "content": "Where is my order?"}]}')
    >>> c.prompt_tokens, c.max_tokens, c.stream      # 3 + (3 + 18 characters / 4, rounded up)
    (11, 512, False)
    """
    data = _json_object(raw, '{"model", "messages": [{"role", "content"}], "max_tokens", "stream"}')
    model, messages, stream = data.get("model"), data.get("messages"), data.get("stream", False)
    if not isinstance(model, str) or not model:
        raise ValueError("you must provide a model parameter (a non-empty string)")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list of {role, content}")
    prompt_tokens = 3
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ValueError(f"messages[{i}] must be an object with a 'role'")
        content = message.get("content")
        parts = [content] if isinstance(content, str) else \
            [p.get("text") for p in content if isinstance(p, dict)] if isinstance(content, list) else None
        if parts is None or not all(isinstance(t, (str, type(None))) for t in parts):
            raise ValueError(f"messages[{i}].content must be text or a list of text parts")
        prompt_tokens += 3 + sum(estimate_tokens(t) for t in parts if t)
    asked = data.get("max_completion_tokens", data.get("max_tokens", DEFAULT_MAX_TOKENS))
    if isinstance(asked, bool) or not isinstance(asked, int) or not 1 <= asked <= MAX_TOKENS_CAP:
        raise ValueError(f"'max_completion_tokens' (or 'max_tokens') must be a whole number from 1 "
                         f"to {MAX_TOKENS_CAP}")
    if not isinstance(stream, bool):
        raise ValueError("'stream' must be true or false")
    return Completion(model, prompt_tokens, asked, stream, data)


def _json_object(raw: bytes, shape: str) -> dict:
    """A request body as a JSON object, or ValueError with the reason."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise ValueError("the body nests too deeply") from None
    if not isinstance(data, dict):
        raise ValueError(f"the body must be a JSON object: {shape}")
    return data


def openai_error(message: str, kind: str, code: str | None = None) -> dict:
    """An error body as the OpenAI API writes it (vLLM, Ollama, llama.cpp and LiteLLM too)."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


_OPENAI_KINDS = {"rate": ("requests", "rate_limit_exceeded"), "tokens": ("tokens", "rate_limit_exceeded"),
                 "quota": ("insufficient_quota", "insufficient_quota"),
                 "overload": ("server_error", "overloaded"), "shed": ("server_error", "overloaded")}


def openai_refusal(verdict: Admission) -> dict:
    """A 429 or 503 in OpenAI's shape; the RateLimit headers beside it say when to come back.

    >>> openai_refusal(Admission(503, "shed", 1.0, None))["error"]["code"]
    'overloaded'
    """
    problem = problem_details(verdict)
    kind, code = _OPENAI_KINDS[verdict.reason]
    return openai_error(f"{problem['title']}: {problem['detail']} (refused by: {verdict.reason})", kind, code)


def usage_of(answer: dict) -> tuple[int, int] | None:
    """(prompt, completion) tokens from an answer's `usage`, if it reports them."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    if isinstance(usage, dict) and all(isinstance(usage.get(k), int) and not isinstance(usage.get(k), bool)
                                       for k in ("prompt_tokens", "completion_tokens")):
        return usage["prompt_tokens"], usage["completion_tokens"]
    return None


def fake_answer(request: Completion, delay_s: float) -> tuple[int, str, Iterator[bytes]]:
    """The built-in model, in the same API: (status, content type, the body in pieces). It thinks
    for delay_s, then answers min(max_tokens, 20) tokens; streamed, a word at a time as server-
    sent events ending in `data: [DONE]`, with the usage chunk when stream_options asks for it."""
    tokens = min(request.max_tokens, 20)
    words = [f"w{i}" for i in range(tokens)]
    created, name = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
    usage = {"prompt_tokens": request.prompt_tokens, "completion_tokens": tokens,
             "total_tokens": request.prompt_tokens + tokens}
    if not request.stream:
        def whole() -> Iterator[bytes]:
            time.sleep(delay_s)
            yield json.dumps({"id": name, "object": "chat.completion", "created": created,
                              "model": request.model, "usage": usage, "choices": [
                                  {"index": 0, "finish_reason": "length" if tokens == request.max_tokens else "stop",
                                   "message": {"role": "assistant", "content": " ".join(words)}}]}).encode()
        return 200, "application/json", whole()

    def chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
        body = {"id": name, "object": "chat.completion.chunk", "created": created, "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    def events() -> Iterator[bytes]:
        yield chunk({"role": "assistant", "content": ""})
        for word in words:
            time.sleep(delay_s / max(1, len(words)))
            yield chunk({"content": word + " "})
        yield chunk({}, "stop")
        options = request.body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            yield b"data: " + json.dumps({"id": name, "object": "chat.completion.chunk", "created": created,
                                         "model": request.model, "choices": [], "usage": usage}).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
    return 200, "text/event-stream", events()


@dataclass(frozen=True)
class Upstream:
    """An OpenAI-compatible server the gateway forwards admitted requests to: its base URL (as an
    OpenAI client's base_url, e.g. http://127.0.0.1:11434/v1), an API key for it (read from the
    environment, never from the command line), and how long it may stay silent."""
    base_url: str
    api_key: str | None = None
    timeout_s: float = UPSTREAM_TIMEOUT_S

    def request(self, method: str, path: str, body: bytes | None = None) -> http.client.HTTPResponse:
        """Send one request; the response (close it when done). TimeoutError or OSError if the
        upstream cannot be reached in time."""
        parts = urllib.parse.urlsplit(self.base_url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=self.timeout_s)
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            connection.request(method, parts.path.rstrip("/") + path, body=body, headers=headers)
            return connection.getresponse()
        except BaseException:
            connection.close()
            raise


# ── live metrics: what Prometheus scrapes at GET /metrics ───────────────────────────────────────

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 6.0, 10.0, 30.0, 60.0, math.inf)  # 6: the SLO's


class Metrics:
    """The gateway's counters, safe across threads: requests by tenant and outcome, tokens by
    tenant and type, and a histogram of admitted requests' durations by outcome."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests: Counter = Counter()          # (tenant, outcome) -> count
        self.tokens: Counter = Counter()            # (tenant, "input" | "output") -> count
        self.durations: dict[str, list] = {}        # outcome -> [counts per bucket, sum]

    def count(self, tenant: str, outcome: str) -> None:
        with self._lock:
            self.requests[(tenant, outcome)] += 1

    def served(self, tenant: str, outcome: str, seconds: float, usage: tuple[int, int] | None) -> None:
        with self._lock:
            self.requests[(tenant, outcome)] += 1
            counts = self.durations.setdefault(outcome, [[0] * len(DURATION_BUCKETS), 0.0])
            counts[0][next(i for i, b in enumerate(DURATION_BUCKETS) if seconds <= b)] += 1
            counts[1] += seconds
            if usage:
                self.tokens[(tenant, "input")] += usage[0]
                self.tokens[(tenant, "output")] += usage[1]

    def exposition(self, gateway: Gateway) -> str:
        """The Prometheus text format, version 0.0.4 (tools/promtext.py)."""
        with self._lock:
            requests, tokens = sorted(self.requests.items()), sorted(self.tokens.items())
            durations = {k: (list(v[0]), v[1]) for k, v in sorted(self.durations.items())}
        refused = [((("tenant", t), ("reason", why)), n) for t, reasons in sorted(gateway.refused.items())
                   for why, n in reasons.items()]
        out = [prom.family("opslab_gateway_requests_total", "counter",
                           "Requests answered, by tenant and outcome (ok, a refusal reason, upstream_error, ...).",
                           [((("tenant", t), ("outcome", o)), n) for (t, o), n in requests]),
               prom.family("opslab_gateway_refusals_total", "counter",
                           "Requests the limits refused, by tenant and reason (429: rate, tokens, quota; "
                           "503: overload, shed).", refused),
               prom.family("opslab_gateway_in_flight", "gauge",
                           "Admitted requests not yet finished (streams until their last event).",
                           [((), gateway.concurrency.in_flight)]),
               prom.family("opslab_gateway_tokens_total", "counter",
                           "Tokens the answers used, from their usage, by tenant and type.",
                           [((("tenant", t), ("type", k)), n) for (t, k), n in tokens]),
               "# HELP opslab_gateway_request_duration_seconds Admitted requests, admission to last byte.",
               "# TYPE opslab_gateway_request_duration_seconds histogram"]
        for outcome, (counts, total) in durations.items():
            out += prom.histogram_samples("opslab_gateway_request_duration_seconds", [("outcome", outcome)],
                                          DURATION_BUCKETS, list(itertools.accumulate(counts)), total)
        return "\n".join(out) + "\n"


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, read only until a deadline: every recv waits at most the time left, so a
    client that trickles a byte a second cannot hold a thread longer than the whole-request
    deadline (a per-read timeout alone would let it)."""

    def __init__(self, sock: socket.socket, handler: "ChatHandler"):
        self.sock, self.handler = sock, handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took longer than its deadline")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class ChatHandler(BaseHTTPRequestHandler):
    """The gateway's HTTP face. POST /v1/chat/completions and GET /v1/models speak the OpenAI API
    (the tenant is the one its Bearer key maps to); POST /v1/chat is the lab's own small shape
    ({"tenant", "prompt", "max_tokens"}); GET /metrics is for Prometheus. An admitted request
    goes to the upstream, or to the built-in fake model, and holds its slot until its last byte."""
    server: GatewayServer
    server_version = "opslab-gateway/2"
    protocol_version = "HTTP/1.1"     # keep-alive: every answer has a length, or is chunked
    timeout = 10                      # a client that stalls mid-request does not hold a thread
    deadline = 0.0                    # time.monotonic() by which this request must be read

    def setup(self) -> None:
        super().setup()
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self))

    def handle_one_request(self) -> None:
        self.deadline = time.monotonic() + self.server.request_deadline_s
        super().handle_one_request()

    # ── routing ──

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if path not in ("/v1/chat", "/v1/chat/completions"):
            return self._reply(404, openai_error(f"no route POST {path}: use POST /v1/chat/completions",
                                                 "invalid_request_error", "not_found"))
        body = self._body()
        if body is None:
            return None
        if path == "/v1/chat":
            return self._chat(body)
        return self._completions(body)

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if path == "/metrics":
            text = self.server.metrics.exposition(self.server.gateway).encode()
            return self._send(200, text, prom.CONTENT_TYPE)
        if path == "/v1/models":
            return self._models()
        if path in ("/v1/chat", "/v1/chat/completions"):
            return self._reply(405, openai_error(f"use POST {path}", "invalid_request_error"), [("Allow", "POST")])
        return self._reply(404, openai_error(f"no route GET {path}: try /v1/models or /metrics",
                                             "invalid_request_error", "not_found"))

    def _body(self) -> bytes | None:
        """The request body, read strictly and within the deadline; None when already answered."""
        length, problem = body_length(self.headers)
        if problem:
            self.close_connection = True             # what follows on this connection is unknown
            self._reply(*problem)
            return None
        if length > MAX_BODY_BYTES:
            self._discard(length)
            self._reply(413, {"error": f"the body is over {MAX_BODY_BYTES:,} bytes"})
            return None
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            self._reply(408, {"error": "the body did not arrive in time"})
            return None
        if len(body) < length:                        # the client closed before the body ended
            self.close_connection = True
            self._reply(400, {"error": f"the body ended after {len(body)} of {length} bytes"})
            return None
        return body

    def _tenant(self) -> str | None:
        """The tenant its Bearer key maps to (compared in constant time); None: answered 401."""
        scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            self.server.metrics.count("-", "unauthorized")
            self._reply(401, openai_error("You didn't provide an API key: send Authorization: Bearer KEY.",
                                          "invalid_request_error", "invalid_api_key"))
            return None
        tenant = None
        for known, name in self.server.keys.items():  # every key compared: no timing hint
            if hmac.compare_digest(known.encode(), key.strip().encode()):
                tenant = name
        if tenant is None:
            self.server.metrics.count("-", "unauthorized")
            self._reply(401, openai_error("Incorrect API key provided.", "invalid_request_error",
                                          "invalid_api_key"))
        return tenant

    # ── the lab's own shape: POST /v1/chat ──

    def _chat(self, body: bytes) -> None:
        try:
            tenant, prompt, max_tokens = parse_chat(body)
        except ValueError as exc:
            return self._reply(400, {"error": str(exc)})
        gateway = self.server.gateway
        if tenant not in gateway.tenants:
            return self._reply(403, {"error": f"unknown tenant {tenant!r}"})
        prompt_tokens = estimate_tokens(prompt)
        verdict = gateway.admit(tenant, prompt_tokens, max_tokens)
        headers = response_headers(verdict, gateway.tenants[tenant].plan)
        if verdict.status != 200:
            self.server.metrics.count(tenant, verdict.reason)
            return self._reply(verdict.status, problem_details(verdict), headers,
                               "application/problem+json")
        unused, started = max_tokens, time.monotonic()
        try:
            time.sleep(self.server.model_delay_s)          # the fake model at work
            completion = min(max_tokens, 20)
            unused = max_tokens - completion
        finally:                                           # the slot comes back, whatever happens
            gateway.complete(tenant, unused)
        self.server.metrics.served(tenant, "ok", time.monotonic() - started, (prompt_tokens, completion))
        self._reply(200, {"tenant": tenant, "answer": f"(a fake answer of {completion} tokens)",
                          "usage": {"prompt_tokens": prompt_tokens,
                                    "completion_tokens": completion}}, headers)

    # ── the OpenAI API ──

    def _models(self) -> None:
        if self._tenant() is None:
            return None
        upstream = self.server.upstream
        if upstream is None:
            return self._reply(200, {"object": "list", "data": [
                {"id": FAKE_MODEL, "object": "model", "created": 0, "owned_by": "opslab"}]})
        try:
            response = upstream.request("GET", "/models")
            with contextlib.closing(response):
                data = response.read(MAX_UPSTREAM_BYTES)
                if response.status >= 500:
                    return self._reply(502, openai_error(f"the upstream answered {response.status}",
                                                         "upstream_error", "bad_gateway"))
                return self._send(response.status, data,
                                  response.headers.get("Content-Type", "application/json"))
        except TimeoutError:
            return self._reply(504, openai_error("the upstream did not answer in time", "upstream_error",
                                                 "gateway_timeout"))
        except OSError as exc:
            return self._reply(502, openai_error(f"the upstream cannot be reached ({exc.__class__.__name__})",
                                                 "upstream_error", "bad_gateway"))

    def _completions(self, body: bytes) -> None:
        tenant = self._tenant()
        if tenant is None:
            return None
        try:
            request = parse_completion(body)
        except ValueError as exc:
            self.server.metrics.count(tenant, "bad_request")
            return self._reply(400, openai_error(str(exc), "invalid_request_error"))
        gateway = self.server.gateway
        verdict = gateway.admit(tenant, request.prompt_tokens, request.max_tokens)
        headers = response_headers(verdict, gateway.tenants[tenant].plan)
        if verdict.status != 200:
            self.server.metrics.count(tenant, verdict.reason)
            return self._reply(verdict.status, openai_refusal(verdict), headers)
        reserved, started = request.prompt_tokens + request.max_tokens, time.monotonic()
        outcome, usage = "client_gone", None
        try:
            outcome, usage = self._answer(request, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True                   # the client went: stop, free the slot
        finally:                                           # the slot comes back, whatever happens
            # settle the reservation: what the answer used, from its usage; no answer, no output;
            # an answer without usage keeps the whole reservation (the safe side)
            unused = reserved - sum(usage) if usage else request.max_tokens if outcome != "ok" else 0
            gateway.complete(tenant, max(0, unused))
            self.server.metrics.served(tenant, outcome, time.monotonic() - started, usage)

    def _answer(self, request: Completion, headers) -> tuple[str, tuple[int, int] | None]:
        """Get the answer (upstream or fake) and relay it: (outcome, usage)."""
        upstream = self.server.upstream
        if upstream is None:
            status, kind, pieces = fake_answer(request, self.server.model_delay_s)
            return self._relay(status, kind, pieces, request.stream, headers)
        body = dict(request.body)
        if request.stream:             # ask for the usage chunk, to settle the reserved tokens
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        try:
            response = upstream.request("POST", "/chat/completions", json.dumps(body).encode())
        except TimeoutError:
            self._reply(504, openai_error("the upstream did not answer in time", "upstream_error",
                                          "gateway_timeout"), headers)
            return "upstream_timeout", None
        except OSError as exc:
            self._reply(502, openai_error(f"the upstream cannot be reached ({exc.__class__.__name__})",
                                          "upstream_error", "bad_gateway"), headers)
            return "upstream_error", None
        with contextlib.closing(response):
            kind = response.headers.get("Content-Type", "application/json")
            if response.status >= 500:
                self._reply(502, openai_error(f"the upstream answered {response.status}", "upstream_error",
                                              "bad_gateway"), headers)
                return "upstream_error", None
            streamed = request.stream and response.status == 200 and kind.startswith("text/event-stream")
            pieces = iter(lambda: response.readline(MAX_EVENT_BYTES), b"") if streamed else \
                iter([response.read(MAX_UPSTREAM_BYTES)])
            try:
                return self._relay(response.status, kind, pieces, streamed, headers)
            except TimeoutError:
                return "upstream_timeout", None

    def _relay(self, status: int, kind: str, pieces: Iterator[bytes], stream: bool,
               headers) -> tuple[str, tuple[int, int] | None]:
        """Pass an answer on: whole, or as server-sent events, each the moment it comes."""
        if not stream:
            try:
                data = b"".join(pieces)
            except TimeoutError:
                self._reply(504, openai_error("the upstream stopped answering", "upstream_error",
                                              "gateway_timeout"), headers)
                return "upstream_timeout", None
            self._send(status, data, kind, headers)
            try:
                answer = json.loads(data)
            except ValueError:
                answer = None
            return ("ok" if status == 200 else f"upstream_{status}"), usage_of(answer)
        self.connection.settimeout(self.timeout)           # each write: its own bounded time
        self.send_response(200)
        for name, value in [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
                            ("Transfer-Encoding", "chunked"), *headers]:
            self.send_header(name, value)
        self.end_headers()
        usage, outcome = None, "ok"
        try:
            for line in pieces:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                if line.startswith(b"data: {") and b'"usage"' in line:
                    try:
                        usage = usage_of(json.loads(line[6:])) or usage
                    except ValueError:
                        pass
        except TimeoutError:                               # the upstream went quiet mid-stream
            outcome = "upstream_timeout"
            self.close_connection = True
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return outcome, usage

    # ── answering ──

    def _discard(self, length: int) -> None:
        """Read an oversized body away, in chunks, up to a bound, so that closing the connection
        does not reset it before the client reads the 413. Past the bound: just close."""
        self.close_connection = True
        if length <= DRAIN_LIMIT_BYTES:
            while length > 0:
                chunk = self.rfile.read(min(length, MAX_BODY_BYTES))
                if not chunk:
                    break
                length -= len(chunk)

    def _reply(self, status: int, payload: dict, headers: list[tuple[str, str]] = (),
               content_type: str = "application/json") -> None:
        self._send(status, json.dumps(payload).encode(), content_type, headers)

    def _send(self, status: int, body: bytes, content_type: str,
              headers: list[tuple[str, str]] = ()) -> None:
        self.connection.settimeout(self.timeout)           # the answer: its own bounded time
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the gateway counts what it refused, and `load` counts what it got."""


class GatewayServer(ThreadingHTTPServer):
    """A standard-library threaded HTTP server that holds the gateway and the fake model's delay,
    and bounds what clients can hold: a thread per connection, at most `max_connections` of them
    (the next is answered 503 at once and closed), each for at most `request_deadline_s` a
    request; a listen backlog that absorbs a burst of connections instead of resetting them."""
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], gateway: Gateway, model_delay_s: float,
                 request_deadline_s: float = REQUEST_DEADLINE_S,
                 max_connections: int = MAX_CONNECTIONS, keys: dict[str, str] | None = None,
                 upstream: Upstream | None = None):
        self.gateway, self.model_delay_s = gateway, model_delay_s
        self.request_deadline_s = request_deadline_s
        self.keys = {name: name for name in gateway.tenants} if keys is None else dict(keys)
        self.upstream, self.metrics = upstream, Metrics()
        self.connections = threading.BoundedSemaphore(max_connections)
        self.turned_away = 0                        # connections answered 503 for want of a thread
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, ChatHandler)

    def process_request(self, request, client_address) -> None:
        if not self.connections.acquire(blocking=False):
            self.turned_away += 1
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                                b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def handle_error(self, request, client_address) -> None:
        """A client that hung up mid-answer is not the server's error: stay quiet about it."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as base_url."""
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/v1"

    @property
    def url(self) -> str:
        """The lab's own chat endpoint."""
        return f"{self.base_url}/chat"


def live_gateway(rate: float, burst: float, max_in_flight: int, shed_at: float,
                 scenario: traffic.Scenario = traffic.STORY,
                 tenants: dict[str, str] | None = None) -> Gateway:
    """Each tenant ({name: "interactive" | "batch"}; by default the story's) limited to `rate`
    requests/s and `burst` at once; the model behind it has `max_in_flight` slots (no queue: it
    answers at once or not at all)."""
    limits = Limits()
    tenants = {t.name: t.priority for t in scenario.tenants} if tenants is None else tenants
    plans = {name: Plan(priority, rate, burst, limits.tokens_per_minute, limits.requests_per_day)
             for name, priority in tenants.items()}
    return Gateway(plans, max_in_flight, max_in_flight, shed_at)


def start_server(gateway: Gateway, host: str = "127.0.0.1", port: int = 0,
                 model_delay_s: float = MODEL_DELAY_S, keys: dict[str, str] | None = None,
                 upstream: Upstream | None = None) -> GatewayServer:
    """Listen (port 0: any free port; the server knows which) and serve in a background thread.
    Stop it with server.shutdown(); server.server_close()."""
    server = GatewayServer((host, port), gateway, model_delay_s, keys=keys, upstream=upstream)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     name="lab4-gateway", daemon=True).start()
    return server


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds: delay-seconds, or an HTTP date (RFC 9110, 10.2.3).

    >>> retry_after_seconds("3"), retry_after_seconds(None), retry_after_seconds("soon")
    (3.0, None, None)
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def is_loopback_host(host: str) -> bool:
    """Is this host name or address this machine?"""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    """Does the URL point at this machine? `load` drives nothing else."""
    return is_loopback_host(urllib.parse.urlsplit(url).hostname or "")


@dataclass
class Load:
    """What a bounded load run got back, per tenant: HTTP statuses, and requests held back."""
    statuses: dict[str, dict[str, int]]      # tenant -> "200" / "429" / "503" / "error" -> count
    held_back: dict[str, int]                # not sent: a Retry-After had not run out yet
    seconds: float
    asked: int = 0                           # rps x seconds
    unsent: int = 0                          # not sent: every connection was busy at its moment


MAX_OPEN = 256                   # requests `load` keeps open at once


def completions_url(url: str) -> str:
    """The chat completions URL from a base_url, the lab's own /v1/chat, or the URL itself.

    >>> completions_url("http://127.0.0.1:8000/v1"), completions_url("http://h:1/v1/chat")
    ('http://127.0.0.1:8000/v1/chat/completions', 'http://h:1/v1/chat/completions')
    """
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    return f"{url.removesuffix('/chat')}/chat/completions"


def drive(url: str, rps: float, seconds: float, tenants: list[str], max_tokens: int = 64,
          timeout_s: float = 5.0, max_open: int = MAX_OPEN) -> Load:
    """Send rps x seconds chat completions at a steady pace, as an OpenAI client would (each
    tenant's name as its API key), tenants in turn. A tenant that got a Retry-After sends nothing
    more until it has run out: those requests are held back, not sent. Bounded in time: a request
    is sent at its moment or not at all (when `max_open` are already open it is counted unsent,
    never queued), each has a timeout, so the run ends within seconds + timeout_s."""
    target = completions_url(url)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never via a proxy
    statuses = {t: Counter() for t in tenants}
    held_back = dict.fromkeys(tenants, 0)
    not_before = dict.fromkeys(tenants, 0.0)
    lock, open_slots = threading.Lock(), threading.BoundedSemaphore(max_open)
    body = json.dumps({"model": FAKE_MODEL, "max_tokens": max_tokens, "messages": [
        {"role": "user", "content": "How do I change my billing plan?"}]}).encode()

    def send(tenant: str) -> None:
        request = urllib.request.Request(target, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {tenant}"})
        retry = None
        try:
            with opener.open(request, timeout=timeout_s) as response:
                response.read()
                status = str(response.status)
        except urllib.error.HTTPError as exc:
            status, retry = str(exc.code), retry_after_seconds(exc.headers.get("Retry-After"))
            exc.close()
        except (urllib.error.URLError, OSError):
            status = "error"
        finally:
            open_slots.release()
        with lock:
            statuses[tenant][status] += 1
            if retry is not None:
                not_before[tenant] = max(not_before[tenant], time.monotonic() + retry)

    start, unsent, threads = time.monotonic(), 0, []
    asked = round(rps * seconds)
    for i in range(asked):
        tenant = tenants[i % len(tenants)]
        pause = start + i / rps - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        with lock:
            waiting = time.monotonic() < not_before[tenant]
            held_back[tenant] += waiting
        if waiting:
            continue
        if not open_slots.acquire(blocking=False):
            unsent += 1
            continue
        thread = threading.Thread(target=send, args=(tenant,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, start + seconds + timeout_s + 1 - time.monotonic()))
    return Load({t: dict(sorted(statuses[t].items())) for t in tenants}, held_back,
                time.monotonic() - start, asked, unsent)


def load_report(load: Load) -> str:
    codes = sorted({code for counts in load.statuses.values() for code in counts})
    rows = [[tenant, f"{sum(counts.values()):,}", *(f"{counts.get(code, 0):,}" for code in codes),
             f"{load.held_back[tenant]:,}"] for tenant, counts in load.statuses.items()]
    lines = [f"after {load.seconds:.1f} s, responses by HTTP status; held back: not sent, a Retry-After"
             f" ran", table(rows, ["tenant", "sent", *codes, "held back"])]
    if load.unsent:
        lines.append(f"could not reach the asked rate: {load.unsent:,} of {load.asked:,} requests "
                     f"not sent, all {MAX_OPEN} connections busy (the server answers too slowly)")
    return "\n".join(lines)


def gateway_report(gateway: Gateway) -> str:
    refused = {(t, why): n for t, reasons in gateway.refused.items() for why, n in reasons.items() if n}
    if not refused:
        return "the gateway refused nothing"
    return "the gateway refused:\n" + "\n".join(f"  {t} {n} x {STATUS[why]} {why}"
                                                for (t, why), n in sorted(refused.items()))




# ── the command line ────────────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gateway.py",
        description="Lab 4's gateway over real HTTP: an OpenAI-compatible front door (POST "
                    "/v1/chat/completions, GET /v1/models, GET /metrics) that applies each tenant's "
                    "limits and the service's, in front of a model server of yours (--upstream) or "
                    "a built-in fake model. Serve it, drive it with a bounded load, or both (live).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve", help="run the gateway over HTTP until Ctrl-C",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the gateway. An OpenAI client points its base_url at it and sends its\n"
                    "tenant's key as the API key; the lab's own POST /v1/chat takes {tenant,\n"
                    "prompt, max_tokens}.",
        epilog="examples:\n"
               "  the fake model; each story tenant's name is its key:\n"
               "    %(prog)s\n"
               "  in front of Ollama, two tenants (the second shed first):\n"
               "    %(prog)s --upstream http://127.0.0.1:11434/v1 \\\n"
               "      --key sk-team-a=team-a --key sk-batch=nightly:batch\n"
               "  what Prometheus scrapes:\n"
               "    curl -s http://127.0.0.1:8000/metrics")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=port_value, default=8000,
                       help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--rate", dest="live_rate", metavar="R", type=positive_float, default=5.0,
                       help="requests per second per tenant (default 5)")
    serve.add_argument("--burst", dest="live_burst", metavar="B", type=positive_float, default=5.0,
                       help="requests at once per tenant (default 5)")
    serve.add_argument("--max-in-flight", dest="live_max", metavar="C", type=positive_int, default=4,
                       help="requests the model serves at once (default 4); a stream holds its "
                            "slot until its last event")
    serve.add_argument("--key", action="append", default=[], metavar="KEY=TENANT[:batch]",
                       help="an API key and the tenant it stands for (repeat; batch tenants are "
                            "shed first). Default: the story's tenants, each name its own key")
    serve.add_argument("--keys", metavar="FILE",
                       help="more keys, one KEY=TENANT[:batch] a line (# starts a comment): keeps "
                            "keys off the command line, where ps would show them")
    serve.add_argument("--upstream", metavar="URL",
                       help="forward admitted requests to this OpenAI-compatible server, its "
                            "base_url (e.g. http://127.0.0.1:8001/v1 for vLLM); default: the fake model")
    serve.add_argument("--upstream-key-env", metavar="VAR",
                       help="the environment variable holding the upstream's API key")
    serve.add_argument("--upstream-timeout", type=at_most(positive_float, 3600), default=UPSTREAM_TIMEOUT_S,
                       metavar="SECONDS", help="an upstream silent this long is answered 504 "
                                               f"(default {UPSTREAM_TIMEOUT_S:g})")

    load = commands.add_parser("load", help="drive a gateway on this machine with a bounded load",
                               description="Send a steady, bounded load of chat completions to a "
                                           "gateway on this machine, honouring Retry-After; print "
                                           "what came back.")
    load.add_argument("--url", required=True,
                      help="the gateway's base_url, e.g. http://127.0.0.1:8000/v1")
    load.add_argument("--rps", type=at_most(positive_float, 200), default=10.0,
                      help="requests per second, at most 200 (default 10)")
    load.add_argument("--seconds", type=at_most(positive_float, 60), default=5.0,
                      help="how long, at most 60 (default 5); the run ends within 5 s after")
    load.add_argument("--tenant", action="append", dest="tenants", metavar="KEY",
                      help="the API key to send as; repeat for several, taking turns (default "
                           "acme: with serve's default keys, a tenant's name is its key)")
    commands.add_parser("live", help="a gateway on 127.0.0.1 and a load on it, for 3 seconds",
                        description="Start the gateway on a free loopback port, drive it for 3 "
                                    "seconds with two tenants, print what came back, stop.")
    args = parse_command_line(parser, commands, argv)
    refuse_ignored(parser, argv, [("--upstream-key-env", bool(getattr(args, "upstream", None)),
                                   "only applies with --upstream URL"),
                                  ("--upstream-timeout", bool(getattr(args, "upstream", None)),
                                   "only applies with --upstream URL")])

    if args.command == "serve":
        return _serve(args)
    if args.command == "load":
        if not is_loopback(args.url) or urllib.parse.urlsplit(args.url).scheme != "http":
            return fail(f"{args.url}: load drives only an http:// gateway on this machine "
                        "(127.0.0.1, ::1 or localhost)")
        result = drive(args.url, args.rps, args.seconds, args.tenants or ["acme"])
        print(load_report(result))
        return 0
    return _live()


def read_keys(pairs: list[str], path: str | None) -> dict[str, tuple[str, str]]:
    """{key: (tenant, priority)} from KEY=TENANT[:batch] pairs and a file of them; ValueError with
    the reason for a line that is not one."""
    lines = [("--key", n, pair) for n, pair in enumerate(pairs, 1)]
    if path:
        with open(path, encoding="utf-8") as stream:
            lines += [(path, n, line.split("#", 1)[0].strip()) for n, line in enumerate(stream, 1)]
    keys = {}
    for where, number, line in lines:
        if not line:
            continue
        key, _, tenant = line.partition("=")
        tenant, _, priority = tenant.partition(":")
        if not key.strip() or not tenant.strip() or priority not in ("", "batch", "interactive"):
            # (the line is not echoed: it may hold a secret)
            raise ValueError(f"{where}: entry {number} is not KEY=TENANT or KEY=TENANT:batch")
        keys[key.strip()] = (tenant.strip(), priority or "interactive")
    return keys


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def _serve(args) -> int:
    try:
        keys = read_keys(args.key, args.keys)
    except OSError as exc:
        return fail(f"{args.keys}: {exc.strerror or exc}")
    except ValueError as exc:
        return fail(str(exc))
    upstream = None
    if args.upstream:
        parts = urllib.parse.urlsplit(args.upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return fail(f"{args.upstream}: an upstream is an http:// or https:// base_url")
        secret = os.environ.get(args.upstream_key_env) if args.upstream_key_env else None
        if args.upstream_key_env and not secret:
            return fail(f"${args.upstream_key_env} is not set: it should hold the upstream's API key")
        upstream = Upstream(args.upstream.rstrip("/"), secret, args.upstream_timeout)
    tenants = {tenant: priority for tenant, priority in keys.values()} or None
    gateway = live_gateway(args.live_rate, args.live_burst, args.live_max, Limits().shed_at,
                           tenants=tenants)
    try:
        server = GatewayServer((args.host, args.port), gateway, MODEL_DELAY_S,
                               keys={key: tenant for key, (tenant, _) in keys.items()} or None,
                               upstream=upstream)
    except OSError as exc:
        return fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    if not is_loopback_host(args.host):
        print(f"warning: {args.host} is reachable from other machines", file=sys.stderr)
    model = f"in front of {upstream.base_url}" if upstream else "in front of a fake model"
    print(f"gateway on {server.base_url} (OpenAI API; also {server.url} and /metrics) {model}\n"
          f"  tenants {', '.join(gateway.tenants)}"
          + ("" if keys else " (each name is its API key)") +
          f"; each {args.live_rate:g} requests/s, {args.live_burst:g} at once; "
          f"{args.live_max} in flight. Ctrl-C stops it.", flush=True)
    signal.signal(signal.SIGTERM, _stop)         # `kill` stops it as cleanly as Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print(f"stopped; {gateway_report(gateway)}")
    return 0


def _live() -> int:
    """Both halves for a few seconds: a gateway on a free port, a load against it, then stop."""
    gateway = live_gateway(rate=5.0, burst=5.0, max_in_flight=4, shed_at=0.5)
    try:
        server = start_server(gateway, "127.0.0.1", 0)
    except OSError as exc:
        return fail(f"cannot listen on 127.0.0.1: {exc.strerror or exc}")
    try:
        print(f"gateway on {server.base_url} (OpenAI API; the lab's own {server.url})")
        print("  each tenant 5 requests/s, 5 at once; the fake model 4 at a time (0.2 s each);")
        print("  batch shed above 50 % busy. Load: acme (interactive) and umbrella (batch),")
        print("  15 chat completions/s each for 3 s, honouring Retry-After.")
        print(load_report(drive(server.base_url, rps=30, seconds=3, tenants=["acme", "umbrella"])))
        print(gateway_report(gateway))
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    run_cli(main)
