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
import email.utils
import io
import ipaddress
import json
import math
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make the `solution` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from solution import traffic
from solution.cli import (at_most, fail, parse_command_line, port_value, positive_float,
                          positive_int, run_cli)
from solution.lab4_limits import STATUS, Admission, Gateway, Limits, Plan
from solution.terminal import table

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
    """The fields of a chat request, or ValueError with the reason (the client gets it in a 400)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise ValueError("the body nests too deeply") from None
    if not isinstance(data, dict):
        raise ValueError('the body must be a JSON object: {"tenant", "prompt", "max_tokens"}')
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
    """POST /v1/chat: the gateway decides; an admitted request reaches the fake model."""
    server: GatewayServer
    server_version = "opslab-gateway/1"
    timeout = 10                      # a client that stalls mid-request does not hold a thread
    deadline = 0.0                    # time.monotonic() by which this request must be read

    def setup(self) -> None:
        super().setup()
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self))

    def handle_one_request(self) -> None:
        self.deadline = time.monotonic() + self.server.request_deadline_s
        super().handle_one_request()

    def do_POST(self) -> None:
        if urllib.parse.urlsplit(self.path).path != "/v1/chat":
            return self._reply(404, {"error": "not found: POST /v1/chat"})
        length, problem = body_length(self.headers)
        if problem:
            self.close_connection = True             # what follows on this connection is unknown
            return self._reply(*problem)
        if length > MAX_BODY_BYTES:
            self._discard(length)
            return self._reply(413, {"error": f"the body is over {MAX_BODY_BYTES:,} bytes"})
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            return self._reply(408, {"error": "the body did not arrive in time"})
        if len(body) < length:                        # the client closed before the body ended
            self.close_connection = True
            return self._reply(400, {"error": f"the body ended after {len(body)} of {length} bytes"})
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
            return self._reply(verdict.status, problem_details(verdict), headers,
                               "application/problem+json")
        unused = max_tokens
        try:
            time.sleep(self.server.model_delay_s)          # the fake model at work
            completion = min(max_tokens, 20)
            unused = max_tokens - completion
        finally:                                           # the slot comes back, whatever happens
            gateway.complete(tenant, unused)
        self._reply(200, {"tenant": tenant, "answer": f"(a fake answer of {completion} tokens)",
                          "usage": {"prompt_tokens": prompt_tokens,
                                    "completion_tokens": completion}}, headers)

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

    def do_GET(self) -> None:
        self._reply(405, {"error": "use POST /v1/chat"}, [("Allow", "POST")])

    def _reply(self, status: int, payload: dict, headers: list[tuple[str, str]] = (),
               content_type: str = "application/json") -> None:
        body = json.dumps(payload).encode()
        self.connection.settimeout(self.timeout)           # the answer: its own bounded time
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
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
                 max_connections: int = MAX_CONNECTIONS):
        self.gateway, self.model_delay_s = gateway, model_delay_s
        self.request_deadline_s = request_deadline_s
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
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/v1/chat"


def live_gateway(rate: float, burst: float, max_in_flight: int, shed_at: float,
                 scenario: traffic.Scenario = traffic.STORY) -> Gateway:
    """The story's tenants, each limited to `rate` requests/s and `burst` at once; the fake model
    has `max_in_flight` slots (no queue: it answers at once or not at all)."""
    limits = Limits()
    plans = {t.name: Plan(t.priority, rate, burst, limits.tokens_per_minute,
                          limits.requests_per_day) for t in scenario.tenants}
    return Gateway(plans, max_in_flight, max_in_flight, shed_at)


def start_server(gateway: Gateway, host: str = "127.0.0.1", port: int = 0,
                 model_delay_s: float = MODEL_DELAY_S) -> GatewayServer:
    """Listen (port 0: any free port; the server knows which) and serve in a background thread.
    Stop it with server.shutdown(); server.server_close()."""
    server = GatewayServer((host, port), gateway, model_delay_s)
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


def drive(url: str, rps: float, seconds: float, tenants: list[str], max_tokens: int = 64,
          workers: int = 8, timeout_s: float = 5.0) -> Load:
    """Send rps x seconds requests at a steady pace, tenants in turn, from a few threads.
    A tenant that got a Retry-After sends nothing more until it has run out: those requests are
    counted as held back, not sent. Bounded: at most rps x seconds requests, each with a timeout."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never via a proxy
    statuses = {t: Counter() for t in tenants}
    held_back = dict.fromkeys(tenants, 0)
    not_before = dict.fromkeys(tenants, 0.0)
    lock = threading.Lock()

    def send(tenant: str) -> None:
        body = json.dumps({"tenant": tenant, "prompt": "How do I change my billing plan?",
                           "max_tokens": max_tokens}).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        retry = None
        try:
            with opener.open(request, timeout=timeout_s) as response:
                status = str(response.status)
        except urllib.error.HTTPError as exc:
            status, retry = str(exc.code), retry_after_seconds(exc.headers.get("Retry-After"))
            exc.close()
        except (urllib.error.URLError, OSError):
            status = "error"
        with lock:
            statuses[tenant][status] += 1
            if retry is not None:
                not_before[tenant] = max(not_before[tenant], time.monotonic() + retry)

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i in range(round(rps * seconds)):
            tenant = tenants[i % len(tenants)]
            pause = start + i / rps - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            with lock:
                waiting = time.monotonic() < not_before[tenant]
                held_back[tenant] += waiting
            if not waiting:
                pool.submit(send, tenant)
    return Load({t: dict(sorted(statuses[t].items())) for t in tenants}, held_back,
                time.monotonic() - start)


def load_report(load: Load) -> str:
    codes = sorted({code for counts in load.statuses.values() for code in counts})
    rows = [[tenant, f"{sum(counts.values()):,}", *(f"{counts.get(code, 0):,}" for code in codes),
             f"{load.held_back[tenant]:,}"] for tenant, counts in load.statuses.items()]
    return "\n".join([
        f"after {load.seconds:.1f} s, responses by HTTP status; held back: not sent, a Retry-After"
        f" ran",
        table(rows, ["tenant", "sent", *codes, "held back"])])


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
        description="Lab 4's gateway over real HTTP on this machine: serve it, drive it with a "
                    "bounded load, or both for a few seconds (live).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="run the gateway over HTTP until Ctrl-C",
                                description="Run the gateway in front of a fake model: "
                                            "POST /v1/chat with JSON {tenant, prompt, max_tokens}.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=port_value, default=8000,
                       help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--rate", dest="live_rate", metavar="R", type=positive_float, default=5.0,
                       help="requests per second per tenant (default 5)")
    serve.add_argument("--burst", dest="live_burst", metavar="B", type=positive_float, default=5.0,
                       help="requests at once per tenant (default 5)")
    serve.add_argument("--max-in-flight", dest="live_max", metavar="C", type=positive_int, default=4,
                       help="requests the fake model serves at once (default 4)")

    load = commands.add_parser("load", help="drive a gateway on this machine with a bounded load",
                               description="Send a steady, bounded load to a gateway on this "
                                           "machine, honouring Retry-After; print what came back.")
    load.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8000/v1/chat")
    load.add_argument("--rps", type=at_most(positive_float, 200), default=10.0,
                      help="requests per second, at most 200 (default 10)")
    load.add_argument("--seconds", type=at_most(positive_float, 60), default=5.0,
                      help="how long, at most 60 (default 5)")
    load.add_argument("--tenant", action="append", dest="tenants", metavar="NAME",
                      help="tenant to send as; repeat for several, taking turns (default acme)")
    commands.add_parser("live", help="a gateway on 127.0.0.1 and a load on it, for 3 seconds",
                        description="Start the gateway on a free loopback port, drive it for 3 "
                                    "seconds with two tenants, print what came back, stop.")
    args = parse_command_line(parser, commands, argv)

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


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def _serve(args) -> int:
    gateway = live_gateway(args.live_rate, args.live_burst, args.live_max, Limits().shed_at)
    try:
        server = GatewayServer((args.host, args.port), gateway, MODEL_DELAY_S)
    except OSError as exc:
        return fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    if not is_loopback_host(args.host):
        print(f"warning: {args.host} is reachable from other machines", file=sys.stderr)
    print(f"gateway on {server.url} for {', '.join(gateway.tenants)}\n"
          f"  each tenant {args.live_rate:g} requests/s, {args.live_burst:g} at once; the fake model "
          f"{args.live_max} at a time. Ctrl-C stops it.", flush=True)
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
        print(f"gateway on {server.url}")
        print("  each tenant 5 requests/s, 5 at once; the fake model 4 at a time (0.2 s each);")
        print("  batch shed above 50 % busy. Load: acme (interactive) and umbrella (batch),")
        print("  15 requests/s each for 3 s, honouring Retry-After.")
        print(load_report(drive(server.url, rps=30, seconds=3, tenants=["acme", "umbrella"])))
        print(gateway_report(gateway))
    finally:
        server.shutdown()
        server.server_close()
    return 0




if __name__ == "__main__":
    run_cli(main)
