"""Lab 4 as a practitioner's tool: the gateway over real HTTP, in front of your own model server
or a fake one, and a bounded load that honours Retry-After. Loopback only, unless you give keys.

    python3 solution/tools/gateway.py live          a gateway on 127.0.0.1 and a load on it, 3 s
    python3 solution/tools/gateway.py serve         the gateway, until Ctrl-C
    python3 solution/tools/gateway.py load --url http://127.0.0.1:8000/v1/chat --rps 20 --seconds 5

It admits each request through lab 4's `Gateway` (solution/lab4_limits.py) and answers with its
`response_headers`. What it adds is HTTP, on a small socket server of its own, because the
standard library's is too lenient to face a network: request heads framed as RFC 9112 says
(CRLF lines, one Content-Length or a chunked body, never both; every body read or the connection
closed), a budget of connections (a header timeout, idle ones closed first), answers written in
one piece with Nagle's algorithm off, and an upstream client that keeps its connections alive,
checks every answer's framing and usage, and tells a client the truth when the upstream fails.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import ipaddress
import json
import math
import os
import random
import re
import select
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Iterator

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from solution import traffic
from solution.cli import (at_most, fail, parse_command_line, port_value, positive_float,
                          positive_int, refuse_ignored, run_cli, seed_value)
from solution.lab4_limits import STATUS, Admission, Gateway, Limits, Plan
from solution.terminal import table
from solution.tools import promtext as prom

MAX_BODY_BYTES = 64 * 1024       # a request body larger than this is refused with 413
DRAIN_LIMIT_BYTES = 1024 * 1024  # ... and read away (not kept) if it is no larger than this
MAX_HEAD_BYTES = 16 * 1024       # a request head larger than this: 431
MAX_TOKENS_CAP = 4096            # the largest max_tokens a request may ask for
MAX_CHOICES = 128                # the largest n (OpenAI's own bound)
MODEL_DELAY_S = 0.2              # how long the fake model "thinks"
HEADER_TIMEOUT_S = 5.0           # a whole request head must arrive within this (and a kept-alive
                                 # connection may stay silent this long between requests)
REQUEST_DEADLINE_S = 30.0        # a request's body, from the end of its head
WRITE_TIMEOUT_S = 10.0           # a client that stops reading an answer for this long is dropped
MAX_CONNECTIONS = 256            # open at once; beyond, idle ones are closed, else 503 and close
LISTEN_BACKLOG = 1024            # connections the kernel queues before accept (the default is 5)
MAX_JITTER_S = 60.0              # the most a refusal's Retry-After is spread by
LOOPBACK_NAMES = ("localhost",)


# ── the headers a client needs to back off well ───────────────────────────────────────────────────

_POLICY = {"ok": "requests", "rate": "requests", "tokens": "tokens", "quota": "day"}


def response_headers(verdict: Admission, plan: Plan,
                     rng: random.Random | None = None) -> list[tuple[str, str]]:
    """The headers a client needs to back off well, after the IETF draft "RateLimit header fields
    for HTTP", draft-ietf-httpapi-ratelimit-headers-11 (2026-05-23), and RFC 9110.

    RateLimit-Policy lists every policy: its quota q over a window of w seconds. "tokens" counts
    tokens, which the draft's unit registry (requests, content-bytes, concurrent-requests) lacks,
    so it says so in a vendor-prefixed parameter, opslab-unit. RateLimit gives the policy that
    decided: r, the units that remain (never below 0, though a tenant may owe tokens), and t, the
    seconds until more quota becomes available (for a bucket, its next whole unit above zero; for
    the daily quota, the next day). Retry-After (RFC 9110, 10.2.3) is in whole seconds, rounded
    up, and never points earlier than t. A 503 is about the service, not the tenant: it gets
    Retry-After only. A request that can never fit (retry_after_s is infinite) gets no
    Retry-After: waiting won't help. With `rng`, the wait is spread (see `spread_wait`), so that
    the clients refused in one instant do not all come back in the next.

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
        whole = max(0, math.floor(remaining))
        if name == "day":                   # a quota: more only when the next period begins
            t = verdict.retry_after_s
        elif remaining < quota:             # a bucket: its next whole unit (past any debt)
            t = (whole + 1 - remaining) / (quota / window)
        headers.append(("RateLimit", f'"{name}";r={whole};t={math.ceil(t)}'))
    if verdict.status != 200 and math.isfinite(verdict.retry_after_s):
        wait = max(verdict.retry_after_s, math.ceil(t))
        headers[1:1] = retry_headers(wait, rng)
    return headers


def spread_wait(wait_s: float, rng: random.Random) -> float:
    """A wait of at least wait_s, spread by a random extra of up to wait_s itself (at least 1 s,
    at most a minute): clients refused together come back over a spell, not in one instant
    (AWS Architecture Blog, "Exponential Backoff And Jitter").

    >>> 2.0 <= spread_wait(2.0, random.Random(1)) < 4.0
    True
    """
    return wait_s + rng.uniform(0.0, min(max(1.0, wait_s), MAX_JITTER_S))


def retry_headers(wait_s: float, rng: random.Random | None = None) -> list[tuple[str, str]]:
    """Retry-After in whole seconds (RFC 9110), never 0, and, when spread, retry-after-ms
    beside it (the millisecond field OpenAI's clients read first).

    >>> retry_headers(0.2)
    [('Retry-After', '1')]
    """
    if rng is None:
        return [("Retry-After", str(max(1, math.ceil(wait_s))))]
    wait_s = spread_wait(wait_s, rng)
    return [("Retry-After", str(max(1, math.ceil(wait_s)))),
            ("retry-after-ms", str(max(1, math.ceil(wait_s * 1000))))]


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


# ── what a request asks for: the lab's own shape and the OpenAI API's ─────────────────────────────

def estimate_tokens(text: str) -> int:
    """About four characters a token for English text (OpenAI's rule of thumb): the gateway must
    count a prompt before any tokenizer sees it.

    >>> estimate_tokens("How do I change my billing plan?")
    8
    """
    return max(1, math.ceil(len(text) / 4))


def size_tokens(value) -> int:
    """What a part that is not text (an image, audio, a tool's schema) is counted as: its size as
    JSON, four characters a token. An image's real price is set by its pixels, not known here;
    counting its bytes keeps a 60 KB image from passing as six tokens, and the answer's `usage`
    settles the difference afterwards.

    >>> size_tokens({"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 60_000}})
    15017
    >>> len('{"type":"image_url","image_url":{"url":"data:image/png;base64,"}}') + 60_000   # / 4, up
    60065
    """
    return estimate_tokens(json.dumps(value, separators=(",", ":")))


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


DEFAULT_MAX_TOKENS = 512         # reserved when a request does not say (max_tokens is optional)
LEGACY_MAX_TOKENS = 16           # /v1/completions' own default (OpenAI's API reference)
FAKE_MODEL = "opslab-fake-1"     # what the built-in model calls itself in /v1/models
UPSTREAM_TIMEOUT_S = 60.0        # an upstream silent this long (connect, or between bytes): 504
MAX_UPSTREAM_BYTES = 8 << 20     # the most of one non-streamed upstream answer the gateway holds
MAX_EVENT_BYTES = 1 << 20        # the longest server-sent event line relayed
ABSURD_TOKENS = 10_000_000       # more tokens than any model's context: a usage this big is a lie
CHAT, LEGACY, EMBEDDINGS, RESPONSES = ("/v1/chat/completions", "/v1/completions",
                                       "/v1/embeddings", "/v1/responses")


@dataclass(frozen=True)
class Completion:
    """A request to the OpenAI API, as the gateway needs it: what to reserve, whether to stream."""
    model: str
    prompt_tokens: int            # estimated: the gateway counts before any tokenizer does
    max_tokens: int               # the output one choice may use (0 for embeddings)
    stream: bool
    body: dict                    # the request itself, forwarded to the upstream
    n: int = 1                    # choices asked for: each may use max_tokens
    include_usage: bool = False   # the client asked for the usage chunk (stream_options)
    route: str = CHAT
    bounded: bool = False         # the client set the output's bound itself

    @property
    def reserved(self) -> int:
        """Tokens held against the tenant's minute until the answer says what it used."""
        return self.prompt_tokens + self.n * self.max_tokens


def _whole(data: dict, name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"'{name}' must be a whole number from {low} to {high}")
    return value


def _streaming(data: dict) -> tuple[bool, bool]:
    """(stream, include_usage), checked: `stream` a boolean, `stream_options` an object or null
    whose `include_usage` is a boolean."""
    stream, options = data.get("stream", False), data.get("stream_options")
    if not isinstance(stream, bool):
        raise ValueError("'stream' must be true or false")
    if options is None:
        return stream, False
    if not isinstance(options, dict):
        raise ValueError("'stream_options' must be an object, e.g. {\"include_usage\": true}")
    include = options.get("include_usage", False)
    if not isinstance(include, bool):
        raise ValueError("'stream_options.include_usage' must be true or false")
    return stream, include


def _content_tokens(content, where: str) -> int:
    """A message's content: text, or a list of parts; text counts by its characters, any other
    part (an image, audio, a file) by its size."""
    if isinstance(content, str):
        return estimate_tokens(content)
    if content is None:
        return 0
    if not isinstance(content, list):
        raise ValueError(f"{where}.content must be text or a list of parts")
    tokens = 0
    for part in content:
        if not isinstance(part, dict):
            raise ValueError(f"{where}.content must be text or a list of parts")
        text = part.get("text")
        if part.get("type", "text") in ("text", "input_text", "output_text") and isinstance(text, str):
            tokens += estimate_tokens(text)
        else:
            tokens += size_tokens(part)
    return tokens


def parse_completion(raw: bytes) -> Completion:
    """An OpenAI chat completions body (POST /v1/chat/completions), or ValueError with the reason:
    `model`, a non-empty list of `messages` with a `role` and a `content` (text, or a list of
    parts: text counts by its characters, any other part by its size), `max_completion_tokens`
    and `max_tokens` (the larger counts; default 512, at most 4096), `n` (each choice may use
    them all), `stream` and `stream_options`. The prompt's tokens are estimated at four
    characters a token, plus three a message (OpenAI's cookbook counts about that much per
    message's wrapping), plus tool definitions and calls by their size.

    >>> c = parse_completion(b'{"model": "m", "messages": [{"role": "user", "content": "Where is my order?"}]}')
    >>> c.prompt_tokens, c.max_tokens, c.stream      # 3 + (3 + 18 characters / 4, rounded up)
    (11, 512, False)
    """
    data = _json_object(raw, '{"model", "messages": [{"role", "content"}], "max_tokens", "stream"}')
    model, messages = _model(data), data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list of {role, content}")
    prompt_tokens = 3
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ValueError(f"messages[{i}] must be an object with a 'role'")
        prompt_tokens += 3 + _content_tokens(message.get("content"), f"messages[{i}]")
        if message.get("tool_calls") is not None:
            prompt_tokens += size_tokens(message["tool_calls"])
    for extra in ("tools", "functions"):
        if data.get(extra) is not None:
            prompt_tokens += size_tokens(data[extra])
    asked = [value for value in (_whole(data, "max_completion_tokens", 1, MAX_TOKENS_CAP),
                                 _whole(data, "max_tokens", 1, MAX_TOKENS_CAP)) if value is not None]
    n = _whole(data, "n", 1, MAX_CHOICES) or 1
    stream, include_usage = _streaming(data)
    return Completion(model=model, prompt_tokens=prompt_tokens,
                      max_tokens=max(asked, default=DEFAULT_MAX_TOKENS), stream=stream, body=data,
                      n=n, include_usage=include_usage, route=CHAT, bounded=bool(asked))


def _model(data: dict) -> str:
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise ValueError("you must provide a model parameter (a non-empty string)")
    return model


def _input_tokens(value, name: str) -> int:
    """`prompt` or `input`: text, a list of texts, a list of token ids, or lists of those."""
    if isinstance(value, str):
        return estimate_tokens(value)
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool)
                                                 for v in value):
        return len(value)
    if isinstance(value, list) and value:
        return sum(_input_tokens(v, name) for v in value)
    raise ValueError(f"'{name}' must be text, a list of texts, or token ids")


def parse_request(route: str, raw: bytes) -> Completion:
    """Any of the routes the gateway forwards, as a Completion: /v1/chat/completions (see
    `parse_completion`), /v1/completions (`prompt`, `max_tokens` default 16, `n`, `best_of`),
    /v1/embeddings (`input`; nothing to generate) and /v1/responses (`input`, `instructions`,
    `max_output_tokens`). ValueError with the reason for a body that is not one."""
    if route == CHAT:
        return parse_completion(raw)
    data = _json_object(raw, '{"model", ...}')
    model = _model(data)
    if route == EMBEDDINGS:
        return Completion(model=model, prompt_tokens=_input_tokens(data.get("input"), "input"),
                          max_tokens=0, stream=False, body=data,
                          route=route, bounded=True)
    stream, include_usage = _streaming(data)
    if route == LEGACY:
        asked = _whole(data, "max_tokens", 1, MAX_TOKENS_CAP)
        n = max(_whole(data, "n", 1, MAX_CHOICES) or 1, _whole(data, "best_of", 1, MAX_CHOICES) or 1)
        return Completion(model=model, prompt_tokens=_input_tokens(data.get("prompt"), "prompt"),
                          max_tokens=asked or LEGACY_MAX_TOKENS, stream=stream, body=data, n=n,
                          include_usage=include_usage, route=route, bounded=True)
    if data.get("input") is None:
        raise ValueError("'input' is required: text or a list of items")
    prompt = size_tokens(data["input"]) if not isinstance(data["input"], str) \
        else estimate_tokens(data["input"])
    if isinstance(data.get("instructions"), str):
        prompt += estimate_tokens(data["instructions"])
    asked = _whole(data, "max_output_tokens", 1, MAX_TOKENS_CAP)
    return Completion(model=model, prompt_tokens=prompt, max_tokens=asked or DEFAULT_MAX_TOKENS,
                      stream=stream, body=data,
                      include_usage=True, route=route, bounded=asked is not None)


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


# ── answers: errors in OpenAI's shape, usage read and checked ─────────────────────────────────────

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


def usage_of(answer) -> tuple[int, int] | None:
    """(input, output) tokens from an answer's `usage` (chat and completions: prompt_tokens and
    completion_tokens; embeddings: prompt_tokens alone; responses: input_tokens and output_tokens,
    also inside a stream's `response`), as the answer states them, or None if it states none.
    Whether they are believable is `usage_problem`'s question.

    >>> usage_of({"usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}})
    (11, 5)
    >>> usage_of({"type": "response.completed", "response": {"usage": {"input_tokens": 9, "output_tokens": 2}}})
    (9, 2)
    """
    if not isinstance(answer, dict):
        return None
    usage = answer.get("usage")
    if usage is None and isinstance(answer.get("response"), dict):
        usage = answer["response"].get("usage")
    if not isinstance(usage, dict):
        return None
    for prompt, completion in (("prompt_tokens", "completion_tokens"), ("input_tokens", "output_tokens")):
        if usage.get(prompt) is not None:          # (null counts, as some servers send: none)
            output = usage.get(completion)
            return usage[prompt], 0 if output is None else output
    return None


def usage_problem(usage: tuple, request: Completion) -> str | None:
    """Why an answer's usage cannot be believed, or None: counts that are not whole numbers of 0
    or more, an output beyond what the request allowed (n choices of max_tokens each), or more
    tokens than any model's context. Charging such a usage would mint tokens (a negative count)
    or bill the tenant for what it never asked."""
    prompt, completion = usage
    for value in usage:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"the upstream's usage is not a count of tokens ({value!r})"
    bound = request.n * request.max_tokens if request.bounded else ABSURD_TOKENS
    if completion > bound:
        return f"the upstream's usage says {completion:,} output tokens; the request allowed {bound:,}"
    if prompt > ABSURD_TOKENS:
        return f"the upstream's usage says {prompt:,} input tokens, more than any model reads"
    return None


def stream_error(message: str, code: str, route: str) -> bytes:
    """The event that ends a stream that failed: {"error": {...}} for chat and completions (what
    OpenAI's clients raise as an APIError), a `type: error` event for the Responses API."""
    if route == RESPONSES:
        event = {"type": "error", "code": code, "message": message, "param": None}
        return b"event: error\ndata: " + json.dumps(event).encode() + b"\n\n"
    return b"data: " + json.dumps(openai_error(message, "upstream_error", code)).encode() + b"\n\n"


class StreamReader:
    """What the gateway learns from a stream of server-sent events while it passes them on, a
    batch at a time: the usage (checked), whether the stream ended as the API says a stream ends
    (`data: [DONE]`, or the Responses API's last event), whether the upstream reported an error.
    It drops the usage chunk (`choices: []`) the gateway asked for when the client did not."""

    _FINAL = (b'"response.completed"', b'"response.incomplete"', b'"response.failed"')

    def __init__(self, request: Completion):
        self.request = request
        self.partial = b""
        self.usage = None
        self.finished = self.failed = False
        self.problem: str | None = None
        self._skip_blank = False

    def feed(self, data: bytes) -> bytes:
        """The whole lines of `data` (with what was left over from before) to pass on."""
        data = self.partial + data if self.partial else data
        cut = data.rfind(b"\n") + 1
        self.partial = data[cut:]
        if len(self.partial) > MAX_EVENT_BYTES:
            self.problem = f"the upstream sent an event line over {MAX_EVENT_BYTES:,} bytes"
            return b""
        ready = data[:cut]
        if not self._skip_blank and b'"usage"' not in ready and b"[DONE]" not in ready \
                and b'"error"' not in ready and b'"response.' not in ready:
            return ready                                   # most batches: nothing to look at
        kept = []
        for line in ready.split(b"\n")[:-1]:
            if self._look(line.rstrip(b"\r")):
                kept.append(line + b"\n")
            if self.problem:
                break
        return b"".join(kept)

    def _look(self, line: bytes) -> bool:
        """Learn from one line; False when it is not passed on."""
        if self._skip_blank:
            self._skip_blank = False
            if not line:
                return False
        if not line.startswith(b"data:"):
            return True
        payload = line[5:].lstrip(b" ")
        if payload == b"[DONE]":
            self.finished = True
            return True
        if not payload.startswith(b"{"):
            return True
        try:
            event = json.loads(payload)
        except (ValueError, RecursionError):
            return True
        if not isinstance(event, dict):
            return True
        kind = event.get("type")
        if event.get("error") is not None or kind in ("error", "response.failed"):
            self.failed = True
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.finished = True
        usage = usage_of(event)
        if usage is None:
            return True
        self.problem = usage_problem(usage, self.request)
        if self.problem:
            return False
        self.usage = usage
        if event.get("choices") == [] and not self.request.include_usage:
            self._skip_blank = True                        # the client did not ask for it
            return False
        return True


# ── the built-in model ────────────────────────────────────────────────────────────────────────────

def fake_answer(request: Completion, delay_s: float) -> tuple[str, Iterator[bytes], tuple[int, int]]:
    """The built-in model, in the same API: (content type, the body in pieces, usage). It thinks
    for delay_s, then answers min(max_tokens, 20) tokens; streamed, a word at a time as server-
    sent events ending in `data: [DONE]`, with the usage chunk last (as an upstream does when
    asked; the gateway passes it on only to a client that asked for it)."""
    tokens = min(request.max_tokens, 20)
    words = [f"w{i}" for i in range(tokens)]
    created, name = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
    usage = {"prompt_tokens": request.prompt_tokens, "completion_tokens": tokens * request.n,
             "total_tokens": request.prompt_tokens + tokens * request.n}
    finish = "length" if tokens == request.max_tokens else "stop"
    if not request.stream:
        def whole() -> Iterator[bytes]:
            time.sleep(delay_s)
            yield json.dumps({"id": name, "object": "chat.completion", "created": created,
                              "model": request.model, "usage": usage, "choices": [
                                  {"index": i, "finish_reason": finish, "message": {
                                      "role": "assistant", "content": " ".join(words)}}
                                  for i in range(request.n)]}).encode()
        return "application/json", whole(), (request.prompt_tokens, tokens * request.n)

    def chunk(choices: list, **extra) -> bytes:
        body = {"id": name, "object": "chat.completion.chunk", "created": created,
                "model": request.model, "choices": choices, **extra}
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    def each(delta: dict, reason: str | None = None) -> list:
        return [{"index": i, "delta": delta, "finish_reason": reason} for i in range(request.n)]

    def events() -> Iterator[bytes]:
        yield chunk(each({"role": "assistant", "content": ""}))
        for word in words:
            time.sleep(delay_s / max(1, len(words)))
            yield chunk(each({"content": word + " "}))
        yield chunk(each({}, finish)) + chunk([], usage=usage) + b"data: [DONE]\n\n"
    return "text/event-stream", events(), (request.prompt_tokens, tokens * request.n)


# ── the upstream: a client that keeps its connections, and believes nothing unchecked ─────────────

READ_SIZE = 64 * 1024
MAX_UPSTREAM_HEAD = 64 * 1024
UPSTREAM_POOL = 8                # idle connections kept per upstream (serve: --max-in-flight)
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: [^\x00-\x08\x0a-\x1f\x7f]*)?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")


class UpstreamFailure(Exception):
    """The upstream failed; the message says how, in words a client may read (never a secret).
    A timeout is answered 504 and counted upstream_timeout; anything else 502, upstream_error."""

    def __init__(self, message: str, timeout: bool = False):
        super().__init__(message)
        self.timeout = timeout

    @property
    def status(self) -> int:
        return 504 if self.timeout else 502

    @property
    def outcome(self) -> str:
        return "upstream_timeout" if self.timeout else "upstream_error"

    @property
    def code(self) -> str:
        return "gateway_timeout" if self.timeout else "bad_gateway"


class _Stale(Exception):
    """A kept-alive connection closed before any byte of an answer: send again, on a new one."""


def _header_lines(lines: list[bytes], single: frozenset, error) -> dict[str, str]:
    """Header lines as {lower-case name: value}: each NAME: VALUE with no space before the colon
    and no folded line (RFC 9112, 5); repeated names joined by ", ", except those in `single`,
    which may come once (error(reason) is raised)."""
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise error("a header line is not NAME: VALUE (no space before the colon, no folding)")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise error("a header value holds a control character")
        key, text = name.decode("ascii").lower(), value.decode("latin-1")
        if key in headers:
            if key in single:
                raise error(f"{name.decode('ascii')} is given twice")
            headers[key] = f"{headers[key]}, {text}"
        else:
            headers[key] = text
    return headers


class _Wire:
    """A socket and the bytes read from it but not used yet."""
    __slots__ = ("sock", "buffer")

    def __init__(self, sock: socket.socket):
        self.sock, self.buffer = sock, bytearray()

    def fill(self, deadline: float | None = None) -> bool:
        """Wait for more bytes (until `deadline`, a time.monotonic(), if given: TimeoutError
        after it) and keep them; False at the end of the stream."""
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("past the deadline")
            self.sock.settimeout(left)
        data = self.sock.recv(READ_SIZE)
        if not data:
            return False
        self.buffer += data
        return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class UpstreamResponse:
    """One answer from the upstream: status, headers, and its body read as its framing says (RFC
    9112, 6.3): none for a 204 or 304, chunked, Content-Length, or up to the close. Used as a
    context manager: at the end its connection goes back to the pool if the answer was read whole
    and the connection may be kept, else it is closed."""

    def __init__(self, upstream: "Upstream", wire: _Wire, status: int, headers: dict[str, str],
                 framing: str, length: int, keep: bool):
        self.upstream, self.wire, self.status, self.headers = upstream, wire, status, headers
        self._framing, self._left, self._keep = framing, length, keep
        self.complete = framing == "none"

    def __enter__(self) -> "UpstreamResponse":
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def release(self) -> None:
        if self.wire is None:
            return
        wire, self.wire = self.wire, None
        if self.complete and self._keep and not wire.buffer:
            self.upstream._give_back(wire)
        else:
            wire.close()

    def pieces(self) -> Iterator[tuple[bytes, bool]]:
        """The body as it arrives: (bytes, whether that was the last of it), each time with all
        that has come (never waiting for more than one read). UpstreamFailure when the body ends
        before its framing says, TimeoutError when the upstream goes quiet."""
        wire = self.wire
        if self._framing == "none":
            return
        if self._framing == "chunked":
            while True:
                data = self._dechunk()
                if data or self.complete:
                    yield data, self.complete
                    if self.complete:
                        return
                elif not wire.fill():
                    raise UpstreamFailure("the upstream's answer ended in the middle of a chunk")
        while self._left != 0:
            if not wire.buffer and not wire.fill():
                if self._framing == "close":
                    self.complete = True
                    yield b"", True
                    return
                raise UpstreamFailure("the upstream's answer ended before its Content-Length")
            take = len(wire.buffer) if self._left < 0 else min(self._left, len(wire.buffer))
            data = bytes(wire.buffer[:take])
            del wire.buffer[:take]
            if self._left > 0:
                self._left -= take
            self.complete = self._left == 0
            yield data, self.complete

    def read_all(self, limit: int | None = None) -> bytes:
        """The whole body, or UpstreamFailure if it is longer than `limit` (MAX_UPSTREAM_BYTES)
        or ends short."""
        limit = MAX_UPSTREAM_BYTES if limit is None else limit
        body = bytearray()
        for data, _ in self.pieces():
            body += data
            if len(body) > limit:
                raise UpstreamFailure(f"the upstream's answer is over {limit:,} bytes")
        return bytes(body)

    def _dechunk(self) -> bytes:
        """Decode what the buffer holds of a chunked body (RFC 9112, 7.1), without waiting."""
        buffer, out = self.wire.buffer, bytearray()
        while True:
            if self._left > 0:                     # inside a chunk's data
                if not buffer:
                    break
                take = min(self._left, len(buffer))
                out += buffer[:take]
                del buffer[:take]
                self._left -= take
                if self._left == 0:
                    self._left = -2
                continue
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_UPSTREAM_HEAD:
                    raise UpstreamFailure("the upstream sent a chunk header without an end")
                break
            line = bytes(buffer[:end])
            del buffer[:end + 2]
            if self._left == -2:                   # the CRLF after a chunk's data
                if line:
                    raise UpstreamFailure("the upstream's chunked answer is malformed")
                self._left = -1
            elif self._left == -1:                 # a chunk's size
                size = line.split(b";", 1)[0].strip(b" \t")
                if not _HEX.fullmatch(size):
                    raise UpstreamFailure("the upstream's chunked answer is malformed")
                self._left = int(size, 16) or -3
            elif not line:                         # -3: trailers, up to an empty line
                self.complete = True
                break
        return bytes(out)

    @classmethod
    def read(cls, upstream: "Upstream", wire: _Wire, method: str) -> "UpstreamResponse":
        """Read an answer's head; interim answers (1xx) are read and dropped (RFC 9110, 15.2),
        but 101 (a protocol switch nobody asked for) is a failure, as is any head that is not
        HTTP/1.x's: a status line of three digits, CRLF lines, sane framing."""
        for _ in range(10):
            while True:
                end = wire.buffer.find(b"\r\n\r\n")
                if end >= 0:
                    break
                if len(wire.buffer) > MAX_UPSTREAM_HEAD:
                    raise UpstreamFailure(f"the upstream's answer head is over {MAX_UPSTREAM_HEAD:,} bytes")
                if not wire.fill():
                    if not wire.buffer:
                        raise _Stale()
                    raise UpstreamFailure("the upstream closed the connection in the middle of its answer's head")
            head = bytes(wire.buffer[:end])
            del wire.buffer[:end + 4]
            if head.count(b"\n") != head.count(b"\r\n"):
                raise UpstreamFailure("the upstream's answer head has lines not ended by CRLF")
            lines = head.split(b"\r\n")
            matched = _STATUS_LINE.fullmatch(lines[0])
            if not matched:
                raise UpstreamFailure("the upstream's status line is malformed (not HTTP/1.x NNN)")
            status = int(matched.group(2))
            headers = _header_lines(lines[1:], frozenset(), UpstreamFailure)
            if status == 101:
                raise UpstreamFailure("the upstream switched protocols (101), which nobody asked for")
            if status >= 200:
                break
        else:
            raise UpstreamFailure("the upstream sent more than ten interim answers")
        keep = matched.group(1) == b"1" and "close" not in headers.get("connection", "").lower()
        coding, length = headers.get("transfer-encoding"), headers.get("content-length")
        if method == "HEAD" or status in (204, 304):
            return cls(upstream, wire, status, headers, "none", 0, keep)
        if coding is not None:
            chunked = coding.rsplit(",", 1)[-1].strip().lower() == "chunked"
            # with both, Transfer-Encoding wins and the connection is not used again (RFC 9112, 6.3)
            return cls(upstream, wire, status, headers, "chunked" if chunked else "close",
                       -1, keep and chunked and length is None)
        if length is not None:
            values = {v.strip() for v in length.split(",")}
            if len(values) != 1 or not re.fullmatch(r"[0-9]{1,15}", next(iter(values))):
                raise UpstreamFailure("the upstream's Content-Length is not one whole number")
            size = int(values.pop())
            framing = "length" if size else "none"
            return cls(upstream, wire, status, headers, framing, size, keep)
        return cls(upstream, wire, status, headers, "close", -1, False)


class Upstream:
    """An OpenAI-compatible server the gateway forwards admitted requests to: its base URL (as an
    OpenAI client's base_url, e.g. http://127.0.0.1:11434/v1; never with credentials in it), an
    API key for it (read from the environment, never from the command line), how long it may
    stay silent, and how many idle connections to keep for the next requests (HTTP/1.1
    persistent connections: no new TCP handshake, no slow start, per request). A kept connection
    the upstream has closed in the meantime is noticed, and the request sent again on a new one,
    only when not a byte of an answer came back."""

    def __init__(self, base_url: str, api_key: str | None = None,
                 timeout_s: float = UPSTREAM_TIMEOUT_S, pool_size: int = UPSTREAM_POOL):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an upstream is an http:// or https:// base_url")
        if parts.username is not None or parts.password is not None:
            raise ValueError("an upstream URL with credentials in it is refused: ps and logs "
                             "would show them; give the key with --upstream-key-env")
        if parts.query or parts.fragment:
            raise ValueError("an upstream base_url has no query and no fragment")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("the upstream's port is not a number from 0 to 65535") from None
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, port or (443 if self.https else 80)
        self.base_url = base_url.rstrip("/")
        self.prefix = parts.path.rstrip("/")
        self.api_key, self.timeout_s, self.pool_size = api_key, timeout_s, pool_size
        host = f"[{self.host}]" if ":" in self.host else self.host
        if parts.port:
            host = f"{host}:{self.port}"
        self._head = (f"Host: {host}\r\nUser-Agent: opslab-gateway\r\n"
                      "Accept: application/json, text/event-stream\r\n")
        if api_key:
            self._head += f"Authorization: Bearer {api_key}\r\n"
        self._idle: list[_Wire] = []
        self._lock = threading.Lock()
        self.opened = 0                               # connections made, ever

    def __repr__(self) -> str:                        # never the key
        return f"Upstream({self.base_url!r})"

    def request(self, method: str, path: str, body: bytes = b"") -> UpstreamResponse:
        """Send one request on a kept connection (or a new one); its answer's head read. Close
        the answer (a `with` block) when done. UpstreamFailure if the upstream cannot be reached,
        goes quiet, or answers what is not HTTP."""
        data = (f"{method} {self.prefix}{path} HTTP/1.1\r\n{self._head}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode("latin-1") + body
        for attempt in range(2):
            wire, reused = self._take()
            try:
                wire.sock.sendall(data)
                return UpstreamResponse.read(self, wire, method)
            except (_Stale, ConnectionResetError, BrokenPipeError) as exc:
                wire.close()
                if reused and attempt == 0 and not wire.buffer:
                    continue                          # it had closed while idle: send it anew
                if isinstance(exc, _Stale):
                    raise UpstreamFailure("the upstream closed the connection without an answer") from None
                raise UpstreamFailure(f"the upstream dropped the connection ({exc.__class__.__name__})") from None
            except TimeoutError:
                wire.close()
                raise UpstreamFailure("the upstream did not answer in time", timeout=True) from None
            except OSError as exc:
                wire.close()
                raise UpstreamFailure(f"the upstream cannot be reached ({exc.__class__.__name__})") from None
            except BaseException:
                wire.close()
                raise
        raise UpstreamFailure("the upstream closed the connection without an answer")

    def _take(self) -> tuple[_Wire, bool]:
        """A kept connection that is still quiet (a readable idle one has closed, or sent what
        nobody asked for: dropped), or a new one."""
        while True:
            with self._lock:
                wire = self._idle.pop() if self._idle else None
            if wire is None:
                break
            poller = select.poll()
            poller.register(wire.sock, select.POLLIN)
            if not poller.poll(0):
                return wire, True
            wire.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except TimeoutError:
            raise UpstreamFailure("the upstream did not accept a connection in time", timeout=True) from None
        except OSError as exc:
            raise UpstreamFailure(f"the upstream cannot be reached ({exc.__class__.__name__})") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.https:
            try:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise UpstreamFailure(f"TLS with the upstream failed ({exc.__class__.__name__})") from None
        with self._lock:
            self.opened += 1
        return _Wire(sock), False

    def _give_back(self, wire: _Wire) -> None:
        with self._lock:
            if len(self._idle) < self.pool_size:
                self._idle.append(wire)
                return
        wire.close()

    def close(self) -> None:
        """Close the kept connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for wire in idle:
            wire.close()


# ── live metrics: what Prometheus scrapes at GET /metrics ─────────────────────────────────────────

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 6.0, 10.0, 30.0, 60.0, math.inf)  # 6: the SLO's
CONNECTION_ENDS = ("turned_away", "evicted_idle", "header_timeout", "idle_timeout", "bad_framing")


class Metrics:
    """The gateway's counters, safe across threads: requests by tenant and outcome, tokens by
    tenant and type, a histogram of admitted requests' durations by outcome, and connections
    the server closed or turned away, by why."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests: Counter = Counter()          # (tenant, outcome) -> count
        self.tokens: Counter = Counter()            # (tenant, "input" | "output") -> count
        self.durations: dict[str, list] = {}        # outcome -> [counts per bucket, sum]
        self.connections: Counter = Counter(dict.fromkeys(CONNECTION_ENDS, 0))

    def count(self, tenant: str, outcome: str) -> None:
        with self._lock:
            self.requests[(tenant, outcome)] += 1

    def closed(self, why: str) -> None:
        with self._lock:
            self.connections[why] += 1

    def served(self, tenant: str, outcome: str, seconds: float, usage: tuple[int, int] | None) -> None:
        with self._lock:
            self.requests[(tenant, outcome)] += 1
            counts = self.durations.setdefault(outcome, [[0] * len(DURATION_BUCKETS), 0.0])
            counts[0][next(i for i, b in enumerate(DURATION_BUCKETS) if seconds <= b)] += 1
            counts[1] += seconds
            if usage:
                self.tokens[(tenant, "input")] += usage[0]
                self.tokens[(tenant, "output")] += usage[1]

    def exposition(self, gateway: SharedGateway, open_connections: int = 0) -> str:
        """The Prometheus text format, version 0.0.4 (tools/promtext.py)."""
        with self._lock:
            requests, tokens = sorted(self.requests.items()), sorted(self.tokens.items())
            durations = {k: (list(v[0]), v[1]) for k, v in sorted(self.durations.items())}
            connections = sorted(self.connections.items())
        refusals, in_flight = gateway.snapshot()
        refused = [((("tenant", t), ("reason", why)), n) for t, reasons in sorted(refusals.items())
                   for why, n in reasons.items()]
        out = [prom.family("opslab_gateway_requests_total", "counter",
                           "Requests answered, by tenant and outcome (ok, a refusal reason, upstream_error, ...).",
                           [((("tenant", t), ("outcome", o)), n) for (t, o), n in requests]),
               prom.family("opslab_gateway_refusals_total", "counter",
                           "Requests the limits refused, by tenant and reason (429: rate, tokens, quota; "
                           "503: overload, shed).", refused),
               prom.family("opslab_gateway_in_flight", "gauge",
                           "Admitted requests not yet finished (streams until their last event).",
                           [((), in_flight)]),
               prom.family("opslab_gateway_tokens_total", "counter",
                           "Tokens the answers used, from their usage, by tenant and type.",
                           [((("tenant", t), ("type", k)), n) for (t, k), n in tokens]),
               prom.family("opslab_gateway_open_connections", "gauge",
                           "Client connections open now.", [((), open_connections)]),
               prom.family("opslab_gateway_connections_closed_total", "counter",
                           "Client connections the gateway turned away (all busy) or closed, by why.",
                           [((("reason", why),), n) for why, n in connections]),
               "# HELP opslab_gateway_request_duration_seconds Admitted requests, admission to last byte.",
               "# TYPE opslab_gateway_request_duration_seconds histogram"]
        for outcome, (counts, total) in durations.items():
            out += prom.histogram_samples("opslab_gateway_request_duration_seconds", [("outcome", outcome)],
                                          DURATION_BUCKETS, _running(counts), total)
        return "\n".join(out) + "\n"


def _running(counts: list[int]) -> list[int]:
    total, out = 0, []
    for count in counts:
        total += count
        out.append(total)
    return out


# ── HTTP/1.1, read as RFC 9112 frames it ──────────────────────────────────────────────────────────

class ClientGone(Exception):
    """The client stopped reading (it closed, or its socket stayed full past WRITE_TIMEOUT_S):
    not the upstream's failure, whatever the moment."""


class HttpError(Exception):
    """A request the gateway answers with an error status (and, unless `close` is False, then
    closes the connection: what follows on it can no longer be framed)."""

    def __init__(self, status: int, message: str, close: bool = True):
        super().__init__(message)
        self.status, self.close = status, close


_SINGLE = frozenset({"content-length", "transfer-encoding", "authorization", "host",
                     "content-type", "expect"})
_TARGET = re.compile(rb"[\x21-\x7e]+")
_VERSION = re.compile(rb"HTTP/[0-9]\.[0-9]")


@dataclass
class Request:
    """One request, as read: method, path (no query), version, headers (lower-case names)."""
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        return self.version == "HTTP/1.1" and "close" not in tokens


def parse_head(head: bytes) -> Request:
    """A request head (without its last empty line), read strictly: lines end in CRLF, never a
    bare LF or CR; a request line METHOD SP TARGET SP HTTP/1.x; header lines NAME: VALUE with no
    space before the colon and no folding; Content-Length, Transfer-Encoding, Authorization,
    Host, Content-Type and Expect at most once; Host in every HTTP/1.1 request (RFC 9112, 2.2,
    3, 5). HttpError(400) otherwise, 505 for another HTTP version.

    >>> parse_head(b"GET /metrics HTTP/1.1\\r\\nHost: x").path
    '/metrics'
    >>> try:
    ...     parse_head(b"GET /metrics HTTP/1.1\\nHost: x")
    ... except HttpError as exc:
    ...     print(exc.status, exc)
    400 a line ends in a bare LF: HTTP/1.1 lines end in CRLF (RFC 9112, 2.2)
    """
    crlf = head.count(b"\r\n")
    if head.count(b"\n") != crlf:
        raise HttpError(400, "a line ends in a bare LF: HTTP/1.1 lines end in CRLF (RFC 9112, 2.2)")
    if head.count(b"\r") != crlf:
        raise HttpError(400, "a bare CR in the request head (RFC 9112, 2.2)")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]):
        raise HttpError(400, "the request line is not METHOD SP TARGET SP HTTP/1.1")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        if _VERSION.fullmatch(version):
            raise HttpError(505, "this server speaks HTTP/1.1 (and 1.0)")
        raise HttpError(400, "the request line is not METHOD SP TARGET SP HTTP/1.1")
    headers = _header_lines(lines[1:], _SINGLE, lambda why: HttpError(400, why))
    if version == b"HTTP/1.1" and "host" not in headers:
        raise HttpError(400, "an HTTP/1.1 request needs a Host header (RFC 9112, 3.2)")
    path = target.decode("ascii")
    if path.startswith(("http://", "https://")):          # absolute-form (RFC 9112, 3.2.2)
        path = urllib.parse.urlsplit(path).path or "/"
    elif not path.startswith("/"):
        raise HttpError(400, "the request target is not a path")
    return Request(method=method.decode("ascii"), path=path.split("?", 1)[0],
                   version=version.decode("ascii"), headers=headers)


ROUTES = {"/metrics": "GET", "/v1/models": "GET", "/v1/chat": "POST", CHAT: "POST",
          LEGACY: "POST", EMBEDDINGS: "POST", RESPONSES: "POST"}
_DATE = [0, ""]


def _http_date() -> str:
    """The Date header (RFC 9110, 6.6.1), made once a second."""
    now = int(time.time())
    if _DATE[0] != now:
        _DATE[1] = email.utils.formatdate(now, usegmt=True)
        _DATE[0] = now
    return _DATE[1]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class _Connection:
    """What the server knows of one client connection: whether it waits, idle, for a request
    (and since when), and how many it has served."""
    __slots__ = ("sock", "idle", "idle_since", "served")

    def __init__(self, sock: socket.socket):
        self.sock, self.idle, self.idle_since, self.served = sock, True, time.monotonic(), 0

    def quiet(self) -> bool:
        """Idle, and nothing waiting on the socket to be read."""
        if not self.idle:
            return False
        poller = select.poll()
        try:
            poller.register(self.sock, select.POLLIN)
        except (OSError, ValueError):
            return False
        return not poller.poll(0)


class ChatHandler(socketserver.BaseRequestHandler):
    """One client connection: requests read strictly, one after another (HTTP/1.1 keep-alive),
    each answered in one write. POST /v1/chat/completions, /v1/completions, /v1/embeddings and
    /v1/responses and GET /v1/models speak the OpenAI API (the tenant is the one its Bearer key
    maps to); POST /v1/chat is the lab's own small shape ({"tenant", "prompt", "max_tokens"});
    GET /metrics is for Prometheus; HEAD wherever GET. An admitted request goes to the upstream,
    or to the built-in fake model, and holds its slot until its last byte."""
    server: "GatewayServer"

    def setup(self) -> None:
        self.wire = _Wire(self.request)
        self.conn = self.server.connection_of(self.request)
        self.head_only = False
        self.close = False
        self.chunked = True                        # HTTP/1.0 knows no chunked answers

    def handle(self) -> None:
        try:
            while not self.close:
                try:
                    request = self._read_request()
                except HttpError as exc:
                    if exc.close:
                        self.server.metrics.closed("bad_framing")
                    self._reply(exc.status, openai_error(str(exc), "invalid_request_error"),
                                close=exc.close)
                    if exc.close:
                        return self._close_gently()
                    continue
                if request is None:
                    return None
                self.conn.served += 1
                self.close = not request.keep_alive
                self._route(request)
        except (OSError, ClientGone):
            pass                                   # the client went, or stopped reading
        except Exception as exc:                   # a bug: one line, not a traceback
            self.server.internal_error(exc)

    # ── reading a request ──

    def _read_request(self) -> Request | None:
        """The next request, or None when the client closed or stayed silent (header timeout)."""
        wire, conn = self.wire, self.conn
        deadline = time.monotonic() + self.server.header_timeout_s
        conn.idle, conn.idle_since = not wire.buffer, time.monotonic()
        while True:
            while wire.buffer[:2] == b"\r\n":      # empty lines before a request (RFC 9112, 2.2)
                del wire.buffer[:2]
            end = wire.buffer.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES + 4)
            if end >= 0:
                break
            if len(wire.buffer) > MAX_HEAD_BYTES:
                raise HttpError(431, f"the request head is over {MAX_HEAD_BYTES:,} bytes")
            if wire.buffer.count(b"\n") != wire.buffer.count(b"\r\n"):
                raise HttpError(400, "a line ends in a bare LF: HTTP/1.1 lines end in CRLF "
                                     "(RFC 9112, 2.2)")
            try:
                more = wire.fill(deadline)
            except TimeoutError:
                started = bool(wire.buffer) or conn.served == 0
                self.server.metrics.closed("header_timeout" if started else "idle_timeout")
                if wire.buffer:
                    self._reply(408, openai_error("the request head did not arrive in time",
                                                  "invalid_request_error"), close=True)
                return None
            if not more:
                if wire.buffer.strip(b"\r\n"):
                    raise HttpError(400, "the request head ended before its empty line")
                return None
            conn.idle = False
        conn.idle = False
        request = parse_head(bytes(wire.buffer[:end]))
        del wire.buffer[:end + 4]
        self.head_only = request.method == "HEAD"
        self.chunked = request.version == "HTTP/1.1"
        request.body = self._read_body(request, time.monotonic() + self.server.request_deadline_s)
        return request

    def _read_body(self, request: Request, deadline: float) -> bytes:
        """The body, framed as RFC 9112, 6.3 says, read whole whatever the route; HttpError for a
        body that cannot be framed, is too big (413) or does not arrive in time (408)."""
        headers = request.headers
        coding, length = headers.get("transfer-encoding"), headers.get("content-length")
        if coding is not None:
            if length is not None:
                raise HttpError(400, "Content-Length and Transfer-Encoding together: the body's "
                                     "end is ambiguous (RFC 9112, 6.3)")
            if request.version != "HTTP/1.1":
                raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
            if [c.strip().lower() for c in coding.split(",")] != ["chunked"]:
                raise HttpError(501, "the only transfer coding read here is chunked")
            self._continue(request)
            return self._read_chunked(deadline)
        if length is None:
            if request.method in ("POST", "PUT", "PATCH"):
                raise HttpError(411, "a Content-Length header is required", close=False)
            return b""
        if not (length.isascii() and length.isdigit()):
            raise HttpError(400, "Content-Length must be one whole number of digits")
        size = int(length) if len(length) < 19 else DRAIN_LIMIT_BYTES + MAX_BODY_BYTES + 1
        if size > MAX_BODY_BYTES:
            if "expect" not in headers:
                self._discard(size, min(deadline, time.monotonic() + 2.0))
            raise HttpError(413, f"the body is over {MAX_BODY_BYTES:,} bytes")
        self._continue(request)
        return self._exact(size, deadline)

    def _continue(self, request: Request) -> None:
        """Expect: 100-continue (RFC 9110, 10.1.1): say so before reading the body."""
        expect = request.headers.get("expect")
        if expect is None:
            return
        if expect.lower() != "100-continue":
            raise HttpError(417, "the only expectation met here is 100-continue")
        if not self.wire.buffer:
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _exact(self, size: int, deadline: float) -> bytes:
        wire = self.wire
        try:
            while len(wire.buffer) < size:
                if not wire.fill(deadline):
                    raise HttpError(400, f"the body ended after {len(wire.buffer)} of {size} bytes")
        except TimeoutError:
            raise HttpError(408, "the body did not arrive in time") from None
        body = bytes(wire.buffer[:size])
        del wire.buffer[:size]
        return body

    def _line(self, deadline: float) -> bytes:
        wire = self.wire
        try:
            while (end := wire.buffer.find(b"\r\n")) < 0:
                if len(wire.buffer) > 4096 or b"\n" in wire.buffer:
                    raise HttpError(400, "a chunk line is malformed")
                if not wire.fill(deadline):
                    raise HttpError(400, "the chunked body ended early")
        except TimeoutError:
            raise HttpError(408, "the body did not arrive in time") from None
        line = bytes(wire.buffer[:end])
        del wire.buffer[:end + 2]
        if b"\n" in line or b"\r" in line:
            raise HttpError(400, "a chunk line is malformed")
        return line

    def _read_chunked(self, deadline: float) -> bytes:
        """A chunked body (RFC 9112, 7.1): sizes in hexadecimal, extensions ignored, trailers
        read and dropped; at most MAX_BODY_BYTES in all."""
        body = bytearray()
        while True:
            size = self._line(deadline).split(b";", 1)[0].rstrip(b" \t")
            if not _HEX.fullmatch(size):
                raise HttpError(400, "a chunk size is not a hexadecimal number")
            size = int(size, 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise HttpError(413, f"the body is over {MAX_BODY_BYTES:,} bytes")
            data = self._exact(size + 2, deadline)
            if data[-2:] != b"\r\n":
                raise HttpError(400, "a chunk is longer than its size says")
            body += data[:-2]
        for _ in range(64):
            if not self._line(deadline):
                return bytes(body)
        raise HttpError(431, "too many trailer lines")

    def _discard(self, length: int, deadline: float) -> None:
        """Read an oversized body away, up to a bound and for two seconds at most, so that
        closing the connection does not reset it before the client reads the 413."""
        if length > DRAIN_LIMIT_BYTES:
            return
        wire = self.wire
        try:
            while len(wire.buffer) < length and wire.fill(deadline):
                if len(wire.buffer) > READ_SIZE:
                    length -= len(wire.buffer)
                    wire.buffer.clear()
        except (OSError, TimeoutError):
            pass
        wire.buffer.clear()

    def _close_gently(self) -> None:
        """Close after an error: stop sending, read what the client still sends (a second at
        most, a bound of bytes), then close, so that the answer is not lost to a reset."""
        try:
            self.request.shutdown(socket.SHUT_WR)
            deadline, read = time.monotonic() + 1.0, 0
            while read < DRAIN_LIMIT_BYTES and self.wire.fill(deadline):
                read += len(self.wire.buffer)
                self.wire.buffer.clear()
        except (OSError, TimeoutError):
            pass

    # ── routing ──

    def _route(self, request: Request) -> None:
        path = request.path.rstrip("/") or "/"
        allowed = ROUTES.get(path)
        if allowed is None:
            return self._reply(404, openai_error(
                f"no route {request.method} {path}: the gateway serves POST /v1/chat/completions, "
                f"/v1/completions, /v1/embeddings, /v1/responses, GET /v1/models and GET /metrics",
                "invalid_request_error", "not_found"))
        if request.method != allowed and not (request.method == "HEAD" and allowed == "GET"):
            methods = "GET, HEAD" if allowed == "GET" else "POST"
            return self._reply(405, openai_error(f"use {allowed} {path}", "invalid_request_error"),
                               [("Allow", methods)])
        if path == "/metrics":
            return self._metrics(request)
        if path == "/v1/models":
            return self._models(request)
        if path == "/v1/chat":
            return self._chat(request)
        return self._completions(request, path)

    def _metrics(self, request: Request) -> None:
        """/metrics: open to this machine; from another, only with the metrics key."""
        if not is_loopback_host(self.client_address[0]):
            key = self._bearer(request)
            wanted = self.server.metrics_key
            if wanted is None or key is None or _digest(key) != wanted:
                return self._reply(403, openai_error("/metrics from another machine needs the "
                                                     "metrics key", "invalid_request_error"))
        text = self.server.metrics.exposition(self.server.gateway, self.server.open_connections)
        self._send(200, text.encode(), prom.CONTENT_TYPE)

    @staticmethod
    def _bearer(request: Request) -> str | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        return key if scheme.lower() == "bearer" and key else None

    def _tenant(self, request: Request) -> str | None:
        """The tenant its Bearer key maps to (looked up by the key's SHA-256: no timing hint on
        the key's bytes); None: answered 401."""
        key = self._bearer(request)
        if key is None:
            self.server.metrics.count("-", "unauthorized")
            self._reply(401, openai_error("You didn't provide an API key: send Authorization: Bearer KEY.",
                                          "invalid_request_error", "invalid_api_key"))
            return None
        tenant = self.server.keys.get(_digest(key))
        if tenant is None:
            self.server.metrics.count("-", "unauthorized")
            self._reply(401, openai_error("Incorrect API key provided.", "invalid_request_error",
                                          "invalid_api_key"))
        return tenant

    # ── the lab's own shape: POST /v1/chat ──

    def _chat(self, request: Request) -> None:
        """{"tenant", "prompt", "max_tokens"}. With keys of your own, the Bearer key says who is
        asking and "tenant" must agree; with the story's default keys (loopback only) a tenant's
        name is its key, so the name in the body is enough."""
        keyed = None
        if not self.server.default_keys or "authorization" in request.headers:
            keyed = self._tenant(request)
            if keyed is None:
                return None
        try:
            tenant, prompt, max_tokens = parse_chat(request.body)
        except ValueError as exc:
            return self._reply(400, {"error": str(exc)})
        gateway = self.server.gateway
        if tenant not in gateway.tenants or (keyed is not None and tenant != keyed):
            return self._reply(403, {"error": "this key may not ask for that tenant"
                                     if keyed else f"unknown tenant {tenant!r}"})
        prompt_tokens = estimate_tokens(prompt)
        verdict = gateway.admit(tenant, prompt_tokens, max_tokens)
        headers = self.server.limit_headers(verdict, tenant)
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

    def _models(self, request: Request) -> None:
        if self._tenant(request) is None:
            return None
        upstream = self.server.upstream
        if upstream is None:
            return self._reply(200, {"object": "list", "data": [
                {"id": FAKE_MODEL, "object": "model", "created": 0, "owned_by": "opslab"}]})
        try:
            with upstream.request("GET", "/models") as response:
                data = response.read_all()
        except UpstreamFailure as exc:
            return self._reply(exc.status, openai_error(str(exc), "upstream_error", exc.code))
        except TimeoutError:
            return self._reply(504, openai_error("the upstream stopped answering", "upstream_error",
                                                 "gateway_timeout"))
        if response.status >= 500 or response.status < 200 or response.status in (204, 304):
            return self._reply(502, openai_error(f"the upstream answered {response.status}",
                                                 "upstream_error", "bad_gateway"))
        self._send(response.status, data, response.headers.get("content-type", "application/json"))

    def _completions(self, request: Request, route: str) -> None:
        tenant = self._tenant(request)
        if tenant is None:
            return None
        server = self.server
        if server.upstream is None and route != CHAT:
            return self._reply(404, openai_error(
                f"the built-in fake model answers {CHAT} only; {route} needs --upstream",
                "invalid_request_error", "not_found"))
        try:
            ask = parse_request(route, request.body)
        except ValueError as exc:
            server.metrics.count(tenant, "bad_request")
            return self._reply(400, openai_error(str(exc), "invalid_request_error"))
        gateway = server.gateway
        verdict = gateway.admit(tenant, ask.prompt_tokens, ask.n * ask.max_tokens)
        headers = server.limit_headers(verdict, tenant)
        if verdict.status != 200:
            server.metrics.count(tenant, verdict.reason)
            return self._reply(verdict.status, openai_refusal(verdict), headers)
        started = time.monotonic()
        outcome, usage = "client_gone", None
        try:
            if server.upstream is None:
                outcome, usage = self._fake(ask, headers)
            else:
                outcome, usage = self._forward(ask, request.body, headers)
        except ClientGone:
            self.close = True                              # the client went: stop, free the slot
        finally:                                           # the slot comes back, whatever happens
            server.settle(tenant, ask, outcome, usage)
            server.metrics.served(tenant, outcome, time.monotonic() - started, usage)

    def _fake(self, ask: Completion, headers: list) -> tuple[str, tuple[int, int] | None]:
        kind, pieces, usage = fake_answer(ask, self.server.model_delay_s)
        if not ask.stream:
            self._send(200, b"".join(pieces), kind, headers)
            return "ok", usage
        return self._relay(((piece, False) for piece in pieces), ask, headers)

    def _forward(self, ask: Completion, raw: bytes, headers: list) -> tuple[str, tuple | None]:
        """Send the request upstream and relay its answer: (outcome, usage)."""
        body = raw
        if ask.stream and ask.route in (CHAT, LEGACY) and not ask.include_usage:
            # ask for the usage chunk, to settle the tokens; the client will not see it. Most
            # requests name no stream_options: the field is added to the bytes as they are (a
            # JSON object, read above, ends in "}"), without encoding the request again
            if "stream_options" in ask.body:
                options = {**(ask.body.get("stream_options") or {}), "include_usage": True}
                body = json.dumps({**ask.body, "stream_options": options}).encode()
            else:
                body = raw.rstrip()[:-1] + b', "stream_options": {"include_usage": true}}'
        try:
            response = self.server.upstream.request("POST", ask.route.removeprefix("/v1"), body)
        except UpstreamFailure as exc:
            self._reply(exc.status, openai_error(str(exc), "upstream_error", exc.code), headers)
            return exc.outcome, None
        with response:
            try:
                return self._answer(response, ask, headers)
            except UpstreamFailure as exc:
                self._reply(exc.status, openai_error(str(exc), "upstream_error", exc.code), headers)
                return exc.outcome, None
            except TimeoutError:
                self._reply(504, openai_error("the upstream stopped answering", "upstream_error",
                                              "gateway_timeout"), headers)
                return "upstream_timeout", None

    def _answer(self, response: UpstreamResponse, ask: Completion,
                headers: list) -> tuple[str, tuple | None]:
        status, kind = response.status, response.headers.get("content-type", "application/json")
        if status == 204:                                  # no content: none to relay (RFC 9110)
            self._send(204, b"", "", headers)
            return "upstream_204", None
        if status == 304 or (status >= 500 and status != 503) or status < 200:
            raise UpstreamFailure(f"the upstream answered {status}")
        if status == 200 and ask.stream and kind.startswith("text/event-stream"):
            return self._relay(response.pieces(), ask, headers, kind)
        data = response.read_all()
        if status in (429, 503):                           # the later of its wait and ours
            theirs = retry_after_seconds(response.headers.get("retry-after"))
            ms = response.headers.get("retry-after-ms", "")
            if ms.isascii() and ms.isdigit():
                theirs = max(theirs or 0.0, int(ms) / 1000)
            ours = [v for k, v in headers if k == "RateLimit"]
            wait = max(theirs or 1.0, _t_of(ours[0]) if ours else 0.0)
            extra = [h for h in headers if h[0] != "Retry-After"] + self.server.retry_headers(wait)
            self._send(status, data, kind, extra)
            # a 503 is a 5xx to the client: an error for the SLO (tools/slorules.py counts it)
            return ("upstream_error" if status == 503 else "upstream_429"), None
        if status != 200:
            self._send(status, data, kind, headers)        # the upstream's own 4xx: relayed
            return f"upstream_{status}", None
        try:
            answer = json.loads(data)
        except (ValueError, RecursionError):
            raise UpstreamFailure("the upstream's answer is not JSON") from None
        usage = usage_of(answer)
        problem = usage and usage_problem(usage, ask)
        if problem:
            raise UpstreamFailure(problem)
        self._send(200, data, kind, headers)
        return "ok", usage

    def _relay(self, pieces: Iterator[tuple[bytes, bool]], ask: Completion, headers: list,
               kind: str = "text/event-stream") -> tuple[str, tuple | None]:
        """Pass a stream on as it comes: each read's whole events in one chunk, the head with the
        first of them. Ends with the upstream's end, or, if it fails, with an error event in the
        API's shape and a close without the last chunk (so that HTTP, too, says it is cut)."""
        events, sent, ended = StreamReader(ask), False, False
        failure: UpstreamFailure | None = None
        try:
            for data, last in pieces:
                out = events.feed(data)
                if events.problem:
                    failure = UpstreamFailure(events.problem)
                    break
                cut = last and not events.finished        # over, but not as the API ends one
                if not out and (cut or not last):
                    if cut:
                        break
                    continue
                chunk = self._chunk(out) if out else b""
                if last and not cut:
                    chunk += self._chunk(b"")
                    ended = True
                if sent:
                    self._write(chunk)
                else:
                    self._send_head(200, kind, headers, chunk)
                    sent = True
                if cut:
                    break
        except UpstreamFailure as exc:
            failure = exc
        except TimeoutError:
            failure = UpstreamFailure("the upstream went quiet in the middle of the stream",
                                      timeout=True)
        if failure is None and not events.finished:
            failure = UpstreamFailure("the upstream's stream ended before its last event")
        if failure is None:
            if not sent:
                self._send_head(200, kind, headers, self._chunk(b""))
            elif not ended:
                self._write(self._chunk(b""))
            return ("upstream_error" if events.failed else "ok"), events.usage
        if not sent:
            self._reply(failure.status, openai_error(str(failure), "upstream_error", failure.code),
                        headers)
            return failure.outcome, None
        error = stream_error(str(failure), failure.code, ask.route)
        self.close = True                                  # no last chunk: the answer is cut
        self._write(self._chunk(error))
        return failure.outcome, events.usage

    # ── answering, each answer in one write ──

    def _head(self, status: int, content_type: str, headers, length: int | None) -> bytes:
        lines = [f"HTTP/1.1 {status} {_PHRASES.get(status, 'Unknown')}", f"Date: {_http_date()}",
                 "Server: opslab-gateway"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if length is None:
            lines.append("Cache-Control: no-cache")
            if self.chunked:
                lines.append("Transfer-Encoding: chunked")
        elif status != 204:
            lines.append(f"Content-Length: {length}")
        if self.close:
            lines.append("Connection: close")
        lines += [f"{name}: {value}" for name, value in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _chunk(self, data: bytes) -> bytes:
        """Data as one chunk (RFC 9112, 7.1; b"" is the last chunk), or as it is for an HTTP/1.0
        client, whose answer ends when the connection closes."""
        if not self.chunked:
            return data
        return b"%x\r\n%s\r\n" % (len(data), data) if data else b"0\r\n\r\n"

    def _write(self, data: bytes) -> None:
        """Send to the client, or ClientGone (never an OSError: a write timeout is no upstream's)."""
        try:
            if self.request.gettimeout() != WRITE_TIMEOUT_S:     # (each change: two syscalls)
                self.request.settimeout(WRITE_TIMEOUT_S)
            self.request.sendall(data)
        except OSError as exc:
            raise ClientGone() from exc

    def _send_head(self, status: int, content_type: str, headers, first: bytes) -> None:
        self._write(self._head(status, content_type, headers, None) + first)

    def _send(self, status: int, body: bytes, content_type: str, headers=()) -> None:
        head = self._head(status, content_type, headers, len(body))
        self._write(head if self.head_only or status == 204 else head + body)

    def _reply(self, status: int, payload: dict, headers=(), content_type: str = "application/json",
               close: bool = False) -> None:
        self.close = self.close or close
        self._send(status, json.dumps(payload).encode(), content_type, headers)


_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def _t_of(ratelimit: str) -> float:
    """The t of a RateLimit field: '"requests";r=0;t=2' -> 2.0."""
    found = re.search(r";t=([0-9]+)", ratelimit)
    return float(found.group(1)) if found else 0.0


class SharedGateway:
    """Lab 4's Gateway shared by the server's threads. The lesson's gateway is one caller's: each
    limiter in it is thread-safe, but admit() is several steps and its refusal counts are plain
    dicts. Here one lock makes admit() and complete() single steps, and what /metrics and the
    closing report read (refusals, requests in flight) is a snapshot taken under the same lock."""

    def __init__(self, gateway: Gateway):
        self.gateway, self._lock = gateway, threading.Lock()
        self.tenants, self.concurrency = gateway.tenants, gateway.concurrency

    def admit(self, tenant: str, prompt_tokens: int, max_tokens: int) -> Admission:
        with self._lock:
            return self.gateway.admit(tenant, prompt_tokens, max_tokens)

    def complete(self, tenant: str, unused_tokens: int) -> None:
        with self._lock:
            self.gateway.complete(tenant, unused_tokens)

    def snapshot(self) -> tuple[dict[str, dict[str, int]], int]:
        """(tenant -> refusal reason -> count, requests in flight), read at one moment."""
        with self._lock:
            refused = {t: dict(reasons) for t, reasons in self.gateway.refused.items()}
            return refused, self.gateway.concurrency.in_flight

    @property
    def refused(self) -> dict[str, dict[str, int]]:
        return self.snapshot()[0]


class GatewayServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A threaded socket server that holds the gateway and the fake model's delay, and bounds
    what clients can hold: a thread per connection, at most `max_connections` of them; when all
    are taken, the idle one waiting longest for its next request is closed to make room (those
    kept alive after an answer first), and if none is idle the newcomer gets 503 at once; a
    request head must arrive within `header_timeout_s`, its body within `request_deadline_s`; a
    listen backlog that absorbs a burst of connections instead of resetting them.

    Keys ({key: tenant}) say who may spend capacity. Without them (None), each of the gateway's
    tenants' names is its own key: the lab's default, allowed on a loopback address only."""
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], gateway: Gateway, model_delay_s: float,
                 request_deadline_s: float = REQUEST_DEADLINE_S,
                 max_connections: int = MAX_CONNECTIONS, keys: dict[str, str] | None = None,
                 upstream: Upstream | None = None, header_timeout_s: float = HEADER_TIMEOUT_S,
                 seed: int = traffic.DEFAULT_SEED, metrics_key: str | None = None):
        self.default_keys = keys is None
        if self.default_keys and not is_loopback_host(address[0]):
            raise ValueError(f"{address[0]} is reachable from other machines: give keys (the "
                             "story's tenant names are keys only on loopback)")
        keys = {name: name for name in gateway.tenants} if keys is None else keys
        self.keys = {_digest(key): tenant for key, tenant in keys.items()}
        self.gateway, self.model_delay_s = SharedGateway(gateway), model_delay_s
        self.request_deadline_s, self.header_timeout_s = request_deadline_s, header_timeout_s
        self.max_connections = max_connections
        self.metrics_key = _digest(metrics_key) if metrics_key else None
        self.upstream, self.metrics = upstream, Metrics()
        self._rng, self._rng_lock = random.Random(seed), threading.Lock()
        self._open: dict[socket.socket, _Connection] = {}
        self._open_lock = threading.Lock()
        self.turned_away = 0                        # connections answered 503 for want of room
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, ChatHandler)

    # ── the connection budget ──

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def connection_of(self, sock: socket.socket) -> _Connection:
        return self._open.get(sock) or _Connection(sock)

    def process_request(self, request, client_address) -> None:
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no wait on ACKs
        except OSError:
            pass
        victim = None
        with self._open_lock:
            if len(self._open) >= self.max_connections:
                victim = self._idlest()
                if victim is not None:
                    del self._open[victim.sock]
            if victim is not None or len(self._open) < self.max_connections:
                self._open[request] = _Connection(request)
                admitted = True
            else:
                admitted = False
        if victim is not None:
            self.metrics.closed("evicted_idle")
            try:
                victim.sock.shutdown(socket.SHUT_RDWR)    # its thread sees the end and goes
            except OSError:
                pass
        if not admitted:
            self.turned_away += 1
            self.metrics.closed("turned_away")
            head = "".join(f"{k}: {v}\r\n" for k, v in self.retry_headers(1.0))
            try:
                request.sendall(f"HTTP/1.1 503 Service Unavailable\r\n{head}"
                                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def _idlest(self) -> _Connection | None:
        """The connection to close for a newcomer: idle (waiting for a request, nothing of it
        come), kept alive after an answer before one never used, the longest waiting first."""
        idle = sorted((c for c in self._open.values() if c.idle),
                      key=lambda c: (c.served == 0, c.idle_since))
        return next((c for c in idle if c.quiet()), None)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.pop(request, None)

    def server_close(self) -> None:
        """Stop listening, close every client connection, and the upstream's kept ones."""
        super().server_close()
        with self._open_lock:
            socks = list(self._open)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.upstream is not None:
            self.upstream.close()

    def handle_error(self, request, client_address) -> None:
        """A client that hung up is not the server's error; anything else: one line."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            self.internal_error(error)

    def internal_error(self, error: BaseException) -> None:
        where = error.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        line = f" at line {where.tb_lineno}" if where is not None else ""
        print(f"gateway: internal error{line}: {error.__class__.__name__}", file=sys.stderr)

    # ── limits, settled ──

    def retry_headers(self, wait_s: float) -> list[tuple[str, str]]:
        with self._rng_lock:
            return retry_headers(wait_s, self._rng)

    def limit_headers(self, verdict: Admission, tenant: str) -> list[tuple[str, str]]:
        with self._rng_lock:
            return response_headers(verdict, self.gateway.tenants[tenant].plan, self._rng)

    def settle(self, tenant: str, ask: Completion, outcome: str, usage: tuple | None) -> None:
        """Free the request's slot and settle its tokens from the answer's usage: what it did
        not use comes back; what it used beyond its reservation is owed (the bucket goes below
        zero, and the tenant's next requests wait). No usage: an answer keeps its whole
        reservation (the safe side); no answer gives back the output it reserved."""
        if usage is not None:
            unused = ask.reserved - sum(usage)
        elif outcome == "ok":
            unused = 0
        else:
            unused = ask.n * ask.max_tokens
        self.gateway.complete(tenant, max(0, unused))
        if unused < 0:
            self.gateway.tenants[tenant].tokens.charge(-unused)

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
                 tenants: dict[str, str] | None = None, tokens_per_minute: int | None = None,
                 requests_per_day: int | None = None) -> Gateway:
    """Each tenant ({name: "interactive" | "batch"}; by default the story's) limited to `rate`
    requests/s and `burst` at once (and lab 4's token and daily tiers, unless given); the model
    behind it has `max_in_flight` slots (no queue: it answers at once or not at all)."""
    limits = Limits()
    tenants = {t.name: t.priority for t in scenario.tenants} if tenants is None else tenants
    plans = {name: Plan(priority=priority, rate=rate, burst=burst,
                        tokens_per_minute=tokens_per_minute or limits.tokens_per_minute,
                        requests_per_day=requests_per_day or limits.requests_per_day)
             for name, priority in tenants.items()}
    return Gateway(plans, max_in_flight, max_in_flight, shed_at)


def start_server(gateway: Gateway, host: str = "127.0.0.1", port: int = 0,
                 model_delay_s: float = MODEL_DELAY_S, keys: dict[str, str] | None = None,
                 upstream: Upstream | None = None, **bounds) -> GatewayServer:
    """Listen (port 0: any free port; the server knows which) and serve in a background thread.
    Stop it with server.shutdown(); server.server_close()."""
    server = GatewayServer((host, port), gateway, model_delay_s, keys=keys, upstream=upstream,
                           **bounds)
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
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return max(0.0, when.timestamp() - time.time())
    except (OverflowError, ValueError, OSError):
        return None


def is_loopback_host(host: str) -> bool:
    """Is this host name or address this machine?"""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
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
    return Load(statuses={t: dict(sorted(statuses[t].items())) for t in tenants},
                held_back=held_back, seconds=time.monotonic() - start, asked=asked, unsent=unsent)


def load_report(load: Load) -> str:
    """What a load got back, a row per key: a story tenant's name is shown (it is public), any
    other key as "key N" (a key is never printed)."""
    codes = sorted({code for counts in load.statuses.values() for code in counts})
    story = {t.name for t in traffic.STORY.tenants}
    labels = [key if key in story else f"key {n}" for n, key in enumerate(load.statuses, 1)]
    rows = [[label, f"{sum(counts.values()):,}", *(f"{counts.get(code, 0):,}" for code in codes),
             f"{load.held_back[key]:,}"] for label, (key, counts) in zip(labels, load.statuses.items())]
    lines = [f"after {load.seconds:.1f} s, responses by HTTP status; held back: not sent, a Retry-After"
             f" ran", table(rows, ["tenant", "sent", *codes, "held back"])]
    if load.unsent:
        lines.append(f"could not reach the asked rate: {load.unsent:,} of {load.asked:,} requests "
                     f"not sent, all {MAX_OPEN} connections busy (the server answers too slowly)")
    return "\n".join(lines)


def gateway_report(gateway: SharedGateway) -> str:
    refused = {(t, why): n for t, reasons in gateway.refused.items() for why, n in reasons.items() if n}
    if not refused:
        return "the gateway refused nothing"
    return "the gateway refused:\n" + "\n".join(f"  {t} {n} x {STATUS[why]} {why}"
                                                for (t, why), n in sorted(refused.items()))




# ── the command line ──────────────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gateway.py",
        description="Lab 4's gateway over real HTTP: an OpenAI-compatible front door (POST "
                    "/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses, GET "
                    "/v1/models, GET /metrics) that applies each tenant's limits and the service's, "
                    "in front of a model server of yours (--upstream) or a built-in fake model. "
                    "Serve it, drive it with a bounded load, or both (live).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve", help="run the gateway over HTTP until Ctrl-C",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the gateway. An OpenAI client points its base_url at it and sends its\n"
                    "tenant's key as the API key; the lab's own POST /v1/chat takes {tenant,\n"
                    "prompt, max_tokens}. Every route that spends capacity needs a key; without\n"
                    "--key or --keys, on loopback only, each story tenant's name is its key.",
        epilog="examples:\n"
               "  the fake model, on this machine only; each story tenant's name is its key:\n"
               "    %(prog)s\n"
               "  in front of Ollama, two tenants (the second shed first):\n"
               "    %(prog)s --upstream http://127.0.0.1:11434/v1 \\\n"
               "      --key sk-team-a=team-a --key sk-batch=nightly:batch\n"
               "  what Prometheus scrapes:\n"
               "    curl -s http://127.0.0.1:8000/metrics")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; any "
                            "other needs --key or --keys)")
    serve.add_argument("--port", type=port_value, default=8000,
                       help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--rate", dest="live_rate", metavar="R", type=positive_float, default=5.0,
                       help="requests per second per tenant (default 5)")
    serve.add_argument("--burst", dest="live_burst", metavar="B", type=positive_float, default=5.0,
                       help="requests at once per tenant (default 5)")
    serve.add_argument("--max-in-flight", dest="live_max", metavar="C", type=positive_int, default=4,
                       help="requests the model serves at once (default 4); a stream holds its "
                            "slot until its last event. Also the upstream connections kept alive")
    serve.add_argument("--key", action="append", default=[], metavar="KEY=TENANT[:batch]",
                       help="an API key and the tenant it stands for (repeat; batch tenants are "
                            "shed first). Default, on loopback only: the story's tenants, each name "
                            "its own key")
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
    serve.add_argument("--tpm", type=positive_int, default=Limits().tokens_per_minute, metavar="N",
                       help="tokens per minute per tenant, prompt + max_tokens reserved, settled "
                            f"from each answer's usage (default {Limits().tokens_per_minute:,})")
    serve.add_argument("--rpd", type=positive_int, default=Limits().requests_per_day, metavar="N",
                       help=f"requests per day per tenant (default {Limits().requests_per_day:,})")
    serve.add_argument("--header-timeout", type=at_most(positive_float, 300), default=HEADER_TIMEOUT_S,
                       metavar="SECONDS", help="a connection that has not sent a whole request "
                       "head within this is closed; also how long a kept-alive connection may "
                       f"stay silent (default {HEADER_TIMEOUT_S:g})")
    serve.add_argument("--max-connections", type=at_most(positive_int, 10_000), default=MAX_CONNECTIONS,
                       metavar="N", help="client connections open at once; when all are taken, "
                       f"idle ones are closed first, then newcomers get 503 (default {MAX_CONNECTIONS})")
    serve.add_argument("--metrics-key-env", metavar="VAR",
                       help="the environment variable holding the key /metrics asks of clients on "
                            "other machines (this machine's need none)")
    serve.add_argument("--seed", type=seed_value, default=traffic.DEFAULT_SEED,
                       help="seeds the spread of Retry-After among refused clients "
                            f"(default {traffic.DEFAULT_SEED})")

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


MAX_KEYS_BYTES = 1 << 20      # a file of keys larger than this is something else


def read_keys(pairs: list[str], path: str | None) -> dict[str, tuple[str, str]]:
    """{key: (tenant, priority)} from KEY=TENANT[:batch] pairs and a file of them; ValueError with
    the reason for a line that is not one."""
    lines = [("--key", n, pair) for n, pair in enumerate(pairs, 1)]
    if path:
        with open(path, encoding="utf-8") as stream:      # read bounded: --keys /dev/zero ends
            text = stream.read(MAX_KEYS_BYTES + 1)
        if len(text) > MAX_KEYS_BYTES:
            raise ValueError(f"{path}: over {MAX_KEYS_BYTES >> 20} MiB, not a file of keys")
        lines += [(path, n, line.split("#", 1)[0].strip()) for n, line in enumerate(text.split("\n"), 1)]
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
    if not keys and not is_loopback_host(args.host):
        return fail(f"{args.host} is reachable from other machines: give the tenants' keys with "
                    "--key KEY=TENANT or --keys FILE (the story's default keys are for loopback only)")
    upstream = None
    if args.upstream:
        try:
            upstream = Upstream(args.upstream, None, args.upstream_timeout, pool_size=args.live_max)
        except ValueError as exc:               # (the URL is not echoed: it may hold a secret)
            return fail(f"--upstream: {exc}")
        if args.upstream_key_env:
            secret = os.environ.get(args.upstream_key_env)
            if not secret:
                return fail(f"${args.upstream_key_env} is not set: it should hold the upstream's API key")
            if not keys:
                return fail("--upstream-key-env needs --key or --keys: with the story's default keys, "
                            "anyone who knows a tenant's name would spend your upstream key")
            upstream = Upstream(args.upstream, secret, args.upstream_timeout, pool_size=args.live_max)
    metrics_key = None
    if args.metrics_key_env:
        metrics_key = os.environ.get(args.metrics_key_env)
        if not metrics_key:
            return fail(f"${args.metrics_key_env} is not set: it should hold the key for /metrics")
    tenants = {tenant: priority for tenant, priority in keys.values()} or None
    gateway = live_gateway(args.live_rate, args.live_burst, args.live_max, Limits().shed_at,
                           tenants=tenants, tokens_per_minute=args.tpm, requests_per_day=args.rpd)
    try:
        server = GatewayServer((args.host, args.port), gateway, MODEL_DELAY_S,
                               keys={key: tenant for key, (tenant, _) in keys.items()} or None,
                               upstream=upstream, header_timeout_s=args.header_timeout,
                               max_connections=args.max_connections, seed=args.seed,
                               metrics_key=metrics_key)
    except OSError as exc:
        return fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    model = f"in front of {upstream.base_url}" if upstream else "in front of a fake model"
    print(f"gateway on {server.base_url} (OpenAI API; also {server.url} and /metrics) {model}\n"
          f"  tenants {', '.join(gateway.tenants)}"
          + ("" if keys else " (each name is its API key, on this machine only)") +
          f"; each {args.live_rate:g} requests/s, {args.live_burst:g} at once; "
          f"{args.live_max} in flight. Ctrl-C stops it.", flush=True)
    signal.signal(signal.SIGTERM, _stop)         # `kill` stops it as cleanly as Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print(f"stopped; {gateway_report(server.gateway)}")
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
        print(gateway_report(server.gateway))
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    run_cli(main)
