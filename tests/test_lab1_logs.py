"""Lab 1: structured, correlated logs. Each test is a claim of the handout, checked against the
lines the logger actually wrote, with expected values worked by hand."""

import contextvars
import io
import json
import logging
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from solution import lab1_logs as lab
from solution import traffic
from solution.numeric import trace_fraction
from solution.redaction import luhn_ok, redact

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "solution" / "lab1_logs.py"
HEX32, HEX16 = re.compile(r"[0-9a-f]{32}"), re.compile(r"[0-9a-f]{16}")
RFC3339_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
# OpenTelemetry Logs Data Model: the SeverityNumber range of each SeverityText
RANGES = {"TRACE": range(1, 5), "DEBUG": range(5, 9), "INFO": range(9, 13), "WARN": range(13, 17),
          "ERROR": range(17, 21), "FATAL": range(21, 25)}
FIELDS = ["timestamp", "severity_text", "severity_number", "body", "trace_id", "span_id",
          "parent_span_id", "attributes"]


def make_request(trace_id: str, ts: float, *, stage_ms=(4.25, 61.5, 1432.4, 25.11),
                 ttft_ms: float | None = 415.87, status: int = 200, error: str | None = None,
                 error_stage: str | None = None, prompt: str = "How long do refunds take?",
                 completion_tokens: int = 80, span_ids: str | None = None) -> traffic.Request:
    """A request of our own making, so that every number it logs can be worked by hand."""
    return traffic.Request(
        trace_id=trace_id, ts=ts, tenant="acme", priority="interactive", topic="billing",
        model="opslab-chat-1", prompt=prompt, prompt_tokens=620, max_tokens=512,
        completion_tokens=completion_tokens, latency_ms=sum(stage_ms), ttft_ms=ttft_ms,
        status=status, error=error, error_stage=error_stage, stage_ms=stage_ms,
        span_ids=span_ids or "00f067aa0ba902b7a1a1a1a1a1a1a1a1b2b2b2b2b2b2b2b2c3c3c3c3c3c3c3c3",
        retrieved_docs=(101, 102, 103), answer="", grounded=True, acceptable=True, feedback=None)


def failed_at_retrieval(trace_id: str, ts: float) -> traffic.Request:
    return make_request(trace_id, ts, stage_ms=(4.0, 12.34, 0.0, 0.0), ttft_ms=None, status=503,
                        error="vector_store_unavailable", error_stage="retrieval",
                        completion_tokens=0)


def log_lines(requests, rate: float = 1.0, slow_ms: float = lab.SLOW_MS) -> list[str]:
    stream = io.StringIO()
    lab.write_log(requests, stream, rate=rate, slow_ms=slow_ms)
    return stream.getvalue().splitlines()


@pytest.fixture(scope="module")
def burst(default_results):
    """The default run: the story's error burst, logged and queried."""
    return default_results[1]


# ── the record ──────────────────────────────────────────────────────────────────────────────────

def test_every_line_is_one_json_object_that_obeys_the_field_rules(burst):
    lines = burst.log.splitlines()
    assert len(lines) == burst.lines > 4000
    for line in lines:
        record = json.loads(line)
        assert list(record) == FIELDS
        assert RFC3339_MS.fullmatch(record["timestamp"])
        assert record["severity_number"] in RANGES[record["severity_text"]]
        assert HEX32.fullmatch(record["trace_id"]) and record["trace_id"] != "0" * 32
        assert HEX16.fullmatch(record["span_id"]) and record["span_id"] != "0" * 16
        assert record["parent_span_id"] is None or HEX16.fullmatch(record["parent_span_id"])
        assert isinstance(record["attributes"], dict)
        if record["severity_number"] >= 17:
            assert record["attributes"]["error.type"]


def test_the_canonical_line_is_exactly_the_contract_lab_2_reads():
    # ts 7203.0 s is 2:00:03 on the story's clock, 11:00:03 on 2026-11-02; it ends after
    # 4.25 + 61.5 + 1432.4 + 25.11 = 1523.26 ms, so at 11:00:04.52326 -> .523; latency 1523.3,
    # ttft 415.87 -> 415.9 (rounded to 0.1 ms)
    lines = log_lines([make_request("4bf92f3577b34da6a3ce929d0e0e4736", 7203.0)])
    assert lines[-1] == (
        '{"timestamp": "2026-11-02T11:00:04.523Z", "severity_text": "INFO", "severity_number": 9, '
        '"body": "request.completed", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", '
        '"span_id": "00f067aa0ba902b7", "parent_span_id": null, "attributes": {"tenant": "acme", '
        '"priority": "interactive", "topic": "billing", "http.response.status_code": 200, '
        '"latency_ms": 1523.3, "gen_ai.request.model": "opslab-chat-1", '
        '"gen_ai.usage.input_tokens": 620, "gen_ai.usage.output_tokens": 80, "ttft_ms": 415.9}}')


def test_a_failed_request_ends_in_an_error_line_with_its_error_type():
    # 7200.5 s + (4.0 + 12.34) ms = 7200.51634 s -> 11:00:00.516; 16.34 -> 16.3
    lines = log_lines([failed_at_retrieval("4bf92f3577b34da6a3ce929d0e0e4736", 7200.5)])
    records = [json.loads(line) for line in lines]
    assert [r["body"] for r in records] == ["gateway.received", "retrieval.failed", "request.completed"]
    last = records[-1]
    assert (last["timestamp"], last["severity_text"], last["severity_number"]) == \
        ("2026-11-02T11:00:00.516Z", "ERROR", 17)
    assert last["attributes"]["error.type"] == "vector_store_unavailable"
    assert last["attributes"]["http.response.status_code"] == 503
    assert last["attributes"]["latency_ms"] == 16.3
    assert "ttft_ms" not in last["attributes"]          # no token came: no time to a first one
    assert records[1]["severity_number"] == 17 and records[1]["attributes"]["error.type"] == \
        "vector_store_unavailable"
    assert "error.type" not in records[0]["attributes"]


def test_the_gateway_line_carries_the_w3c_traceparent_and_the_stages_their_genai_names():
    records = [json.loads(line) for line in
               log_lines([make_request("4bf92f3577b34da6a3ce929d0e0e4736", 0.0)])]
    gateway, retrieval, llm, guardrail, _ = records
    # the W3C Trace Context specification's own example of a traceparent
    assert gateway["attributes"]["traceparent"] == \
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert gateway["timestamp"] == "2026-11-02T09:00:00.000Z"
    assert retrieval["attributes"]["gen_ai.operation.name"] == "retrieval"
    assert {k: llm["attributes"][k] for k in ("gen_ai.operation.name", "gen_ai.provider.name",
                                               "gen_ai.request.model", "gen_ai.usage.input_tokens",
                                               "gen_ai.usage.output_tokens")} == \
        {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "opslab",
         "gen_ai.request.model": "opslab-chat-1", "gen_ai.usage.input_tokens": 620,
         "gen_ai.usage.output_tokens": 80}
    # each stage line is written when its span ends: 4.25 + 61.5 = 65.75 ms -> .066
    assert retrieval["timestamp"] == "2026-11-02T09:00:00.066Z"
    assert [r["attributes"].get("duration_ms") for r in (retrieval, llm, guardrail)] == \
        [61.5, 1432.4, 25.1]


def test_a_traceparent_that_looks_like_a_card_is_logged_whole_and_a_forged_one_is_redacted():
    # a span id of 16 decimal digits can pass Luhn: 4111 1111 1111 1111 is the test card
    assert luhn_ok("4111111111111111")
    card_span = "4111111111111111" + "a1" * 8 + "b2" * 8 + "c3" * 8
    gateway = json.loads(log_lines([make_request("4bf92f3577b34da6a3ce929d0e0e4736", 0.0,
                                                 span_ids=card_span)])[0])
    assert gateway["attributes"]["traceparent"] == \
        "00-4bf92f3577b34da6a3ce929d0e0e4736-4111111111111111-01"
    # a value under that name that is not a W3C traceparent is text like any other
    assert lab.scrub("traceparent", "4111 1111 1111 1111") == "[REDACTED:card]"
    assert lab.scrub("prompt", "00-4bf92f3577b34da6a3ce929d0e0e4736-4111111111111111-01") != \
        "00-4bf92f3577b34da6a3ce929d0e0e4736-4111111111111111-01"


def test_every_gateway_line_of_the_burst_carries_its_traceparent_intact(burst, story):
    lines = [json.loads(line) for line in burst.log.splitlines()]
    received = [r for r in lines if r["body"] == "gateway.received"]
    assert len(received) == sum(7200 <= r.ts < 8400 for r in story)
    broken = [r["attributes"]["traceparent"] for r in received
              if r["attributes"]["traceparent"] != f"00-{r['trace_id']}-{r['span_id']}-01"]
    assert not broken, f"{len(broken)} traceparents were changed on the way to the log: {broken[:2]}"


def test_python_levels_map_to_opentelemetry_severity_numbers():
    assert [lab.severity(level) for level in (10, 20, 30, 40, 50)] == \
        [("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("FATAL", 21)]
    assert lab.severity(35) == ("WARN", 13)        # a custom level reads as the one below it


# ── correlation ─────────────────────────────────────────────────────────────────────────────────

def test_every_record_of_a_request_shares_its_trace_id_and_the_spans_form_one_tree(burst, story):
    by_trace: dict[str, list[dict]] = {}
    for line in burst.log.splitlines():
        record = json.loads(line)
        by_trace.setdefault(record["trace_id"], []).append(record)
    start, end = burst.window
    window = [r for r in story if start <= r.ts < end]
    assert sorted(by_trace) == sorted(r.trace_id for r in window)
    for r in window:
        records = by_trace[r.trace_id]
        roots = {rec["span_id"] for rec in records if rec["parent_span_id"] is None}
        assert roots == {r.stages[0].span_id}                  # one root: the gateway span
        children = {rec["span_id"] for rec in records if rec["parent_span_id"] is not None}
        assert all(rec["parent_span_id"] in roots for rec in records if rec["parent_span_id"])
        assert children == {s.span_id for s in r.stages[1:]}
        assert len(records) == len(r.stages) + 1               # + the gateway's arrival line


def test_the_filter_copies_the_ids_bound_in_contextvars_and_nothing_leaks_outside():
    stream = io.StringIO()
    with lab.json_logger(stream) as (logger, _):
        logger.info("outside")
        with lab.bound(lab.current_trace_id, "4bf92f3577b34da6a3ce929d0e0e4736"), \
                lab.bound(lab.current_span, ("00f067aa0ba902b7", None)):
            with lab.bound(lab.current_span, ("a1a1a1a1a1a1a1a1", "00f067aa0ba902b7")):
                logger.info("inner")
            logger.info("request.completed", extra={"attributes": {"latency_ms": 1.0}})
        logger.info("after")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    ids = {r["body"]: (r["trace_id"], r["span_id"], r["parent_span_id"]) for r in records}
    assert ids == {"outside": (None, None, None), "after": (None, None, None),
                   "inner": ("4bf92f3577b34da6a3ce929d0e0e4736", "a1a1a1a1a1a1a1a1", "00f067aa0ba902b7"),
                   "request.completed": ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", None)}


def test_a_new_thread_starts_without_the_trace_context_unless_it_is_copied():
    seen = {}
    with lab.bound(lab.current_trace_id, "4bf92f3577b34da6a3ce929d0e0e4736"):
        plain = threading.Thread(target=lambda: seen.update(plain=lab.current_trace_id.get()))
        copied = threading.Thread(target=contextvars.copy_context().run,
                                  args=(lambda: seen.update(copied=lab.current_trace_id.get()),))
        for thread in (plain, copied):
            thread.start()
            thread.join()
    assert seen == {"plain": None, "copied": "4bf92f3577b34da6a3ce929d0e0e4736"}


def test_the_logger_leaves_no_handler_behind_and_never_reaches_the_root_logger(story):
    caught = []

    class Catch(logging.Handler):
        def emit(self, record):
            caught.append(record)

    root, catch = logging.getLogger(), Catch()
    root.addHandler(catch)
    switches = (logging._srcfile, logging.logThreads, logging.logProcesses)
    try:
        first = log_lines(story[:50])
        second = log_lines(story[:50])
    finally:
        root.removeHandler(catch)
    assert first == second and len(first) == sum(len(r.stages) + 1 for r in story[:50])
    assert caught == []
    assert logging.getLogger(lab.LOGGER_NAME).handlers == []
    assert (logging._srcfile, logging.logThreads, logging.logProcesses) == switches


# ── redaction and injection ─────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("text,expected", [
    ("My email is jane.doe@example.com.", "My email is [REDACTED:email]."),
    ("mail OMAR.Haddad+support@mail.example.co.uk now", "mail [REDACTED:email] now"),
    ("Call me on +1 415 555 3993.", "Call me on [REDACTED:phone]."),
    ("(415) 555-0199, 415.555.0199 or 415-555-0199",
     "[REDACTED:phone], [REDACTED:phone] or [REDACTED:phone]"),
    ("+44 20 7946 0958 and +14155550199", "[REDACTED:phone] and [REDACTED:phone]"),
    ("My key is sk-testr9586hlabywe0dq51yx4eybb.", "My key is [REDACTED:api_key]."),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc, sk-proj-abc123def456ghi789jkl0",
     "[REDACTED:api_key], [REDACTED:api_key]"),
    ("ghp_" + "a1" * 18, "[REDACTED:api_key]"),
    ("Our AWS key AKIA7TQONJQQNREXWZQE stopped working.",
     "Our AWS key [REDACTED:aws_access_key_id] stopped working."),
    ("temporary ASIAY34FZKBOKMUTVV7A", "temporary [REDACTED:aws_access_key_id]"),
    ("Authorization: Bearer 1x9lz59ftt3a3bzibkw4scy2.", "Authorization: Bearer [REDACTED:bearer_token]."),
    ("bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "bearer [REDACTED:bearer_token]"),
    ("Card 4111 1111 1111 1111 was charged.", "Card [REDACTED:card] was charged."),
    ("4111-1111-1111-1111 / 4111111111111111 / 378282246310005",    # Visa twice, then Amex
     "[REDACTED:card] / [REDACTED:card] / [REDACTED:card]"),
    # digits glued on by a separator: the run of 18 fails Luhn, the card inside it does not
    ("ref 4111111111111111-01", "ref [REDACTED:card]-01"),
    ("12 4111 1111 1111 1111 paid", "12 [REDACTED:card] paid"),
    ("5555555555554444 4111111111111111", "[REDACTED:card] [REDACTED:card]"),
])
def test_secrets_and_personal_data_become_typed_placeholders(text, expected):
    assert lab.redact(text) == expected


@pytest.mark.parametrize("text,expected", [
    # a PEM private key, whole, and one cut off before its END line
    ("k: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- ok",
     "k: [REDACTED:private_key] ok"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk", "[REDACTED:private_key]"),
    ("postgres://admin:hunter2@db.internal:5432/app", "postgres://[REDACTED:url_credentials]@db.internal:5432/app"),
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "[REDACTED:webhook]"),
    ("mail renée@exämple.de", "mail [REDACTED:email]"),                   # internationalised
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "jwt [REDACTED:jwt]"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED:authorization]"),
    ("authorization=Token 9f8e7d6c5b4a", "authorization=Token [REDACTED:authorization]"),
    ("X-Api-Key: 3f9a1c77e0b24d5c", "X-Api-Key: [REDACTED:api_key]"),
    ('{"api_key": "abc123def456ghi"}', '{"api_key": "[REDACTED:api_key]"}'),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[REDACTED:api_key]"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "aws_secret_access_key = [REDACTED:aws_secret_access_key]"),
    ("IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000",     # ISO 13616's examples
     "IBAN [REDACTED:iban] and [REDACTED:iban]"),
    ("SSN 078-05-1120.", "SSN [REDACTED:ssn]."),
    ("card 4111.1111.1111.1111 or 4111\u00a01111\u00a01111\u00a01111",
     "card [REDACTED:card] or [REDACTED:card]"),
])
def test_the_kinds_a_security_review_asks_for_are_redacted(text, expected):
    assert lab.redact(text) == expected


@pytest.mark.parametrize("text", [
    "at 1793610003123 ms, then 1793610003125",         # epoch milliseconds: no issuer starts with 1
    "id 9000000000000000008 and 8000000000000000006",   # Luhn-valid, no issuer
    "trace 4bf92f3577b34da6a3ce929d0e0e4736, uuid 123e4567-e89b-12d3-a456-426614174000",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "md5 a4111111111111111b, commit 4111111111111111f00d",  # a card-like run inside hex
    "version 1.2.3-rc.4, GB82 is a postcode area, 000-12-3456 is no SSN",
    "the token expired; authorization failed; my api key rotated",
    "GB82 WEST 1234 5698 7654 33",                      # one digit off: the IBAN check fails
])
def test_benign_look_alikes_survive(text):
    assert lab.redact(text) == text


def test_structured_attributes_are_redacted_to_their_last_string_and_card_integers_too():
    messages = [{"role": "user", "content": "my card is 4111 1111 1111 1111"},
                {"role": "assistant", "content": "noted", "tokens": 12}]
    assert lab.scrub("gen_ai.input.messages", messages) == [
        {"role": "user", "content": "my card is [REDACTED:card]"},
        {"role": "assistant", "content": "noted", "tokens": 12}]
    assert lab.scrub("card", 4111111111111111) == "[REDACTED:card]"
    assert lab.scrub("ts_ms", 1793610003123) == 1793610003123 and lab.scrub("ok", True) is True


SECRETS = ("jane.doe@example.com", "+1 415 555 0199", "sk-testr9586hlabywe0dq51yx4eybb",
           "4111 1111 1111 1111", "AKIA7TQONJQQNREXWZQE", "Bearer 1x9lz59ftt3a3bzibkw4scy2")
NEIGHBOURS = ("\n", "\t", "\r\n", "\u2028", "\x85", "\x00", "\x1b[31m", "\x1b[1;31m",
              "\x1b]0;title\x07", "\x1bM")


@pytest.mark.parametrize("secret", SECRETS)
def test_a_control_character_or_terminal_escape_beside_a_secret_never_lets_it_through(secret):
    # escaping before searching turns "\nsk-..." into the letters "nsk-...": the key's word
    # boundary is gone, and the key reaches the log; so does one after a colour code "\x1b[31m"
    for before in NEIGHBOURS:
        for after in ("", *NEIGHBOURS):
            out = lab.redact(f"see{before}{secret}{after} and more")
            assert secret.split()[-1] not in out, (before, after, out)
            assert out.isprintable(), out


@pytest.mark.parametrize("text", [
    "Where is my order 8136058643?",                       # ten digits: an order, not a phone
    "Summarize support ticket #1324279381 for the weekly report.",
    "Card 4111 1111 1111 1112 was declined.",              # 16 digits, Luhn sum 31: not a card
    "It costs $1,234.56, due 2026-11-02 at 10:30, on version 3.11.7.",
    "I skimmed the risk-assessment; the Bearer of bad news was right.",
    "How do I paginate the orders endpoint?",
])
def test_ordinary_text_and_long_numbers_survive_redaction(text):
    assert lab.redact(text) == text


def test_the_luhn_check_is_what_tells_a_card_from_a_long_number():
    # 4111 1111 1111 1111: from the right, doubled digits 2,2,2,2,2,2,2,8 sum 22, the others 8: 30
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_user_text_can_never_forge_a_second_line_or_drive_the_terminal():
    prompt = "hi" + traffic.INJECTION + "\x85 next\u2029"
    lines = log_lines([make_request("4bf92f3577b34da6a3ce929d0e0e4736", 0.0, prompt=prompt)])
    text = "\n".join(lines) + "\n"
    assert len(text.splitlines()) == len(text.split("\n")) - 1 == 5
    logged = json.loads(lines[0])["attributes"]["prompt"]
    assert logged == ('hi\\r\\n{"severity_text": "INFO", "body": "forged"}\\u2028'
                      '\\x1b[31mALERT\\x1b[0m\\x85 next\\u2029')
    assert logged.isprintable()


def test_the_story_prompts_are_logged_redacted(burst, story):
    start, end = burst.window
    leaky = [r for r in story if start <= r.ts < end and any(
        marker in r.prompt for marker in ("@example.com", "sk-test", "AKIA", "4111 1111", "Bearer "))]
    assert leaky
    for r in leaky:
        for secret in re.findall(r"\S+@example\.com|sk-test\w+|AKIA\w+|Bearer \w+", r.prompt):
            assert secret not in burst.log
    assert "4111 1111 1111 1111" not in burst.log
    assert sum(burst.redacted.values()) >= len(leaky)


# ── reading back: one request's story ───────────────────────────────────────────────────────────

def test_a_waterfall_is_drawn_from_any_log_of_this_shape():
    # a foreign service: the root lasts 100 ms; its child ends at 0.090 s after 40 ms, so it
    # started at 50 ms; a record whose parent is missing from the log is drawn as a root
    def rec(at, span, parent, body, **attributes):
        return {"timestamp": f"2026-01-01T00:00:{at:06.3f}Z", "severity_number": 9, "body": body,
                "trace_id": "ab" * 16, "span_id": span, "parent_span_id": parent,
                "attributes": attributes, "_at": 1767225600 + at}
    records = [rec(0.0, "1" * 16, None, "web.start"), rec(0.090, "2" * 16, "1" * 16, "db.query",
               duration_ms=40.0), rec(0.100, "1" * 16, None, "web.end", latency_ms=100.0),
               rec(0.100, "3" * 16, "9" * 16, "cache.miss")]
    rows = lab.waterfall(records)
    assert [(r.name, r.depth, r.start_ms, r.duration_ms) for r in rows] == \
        [("web", 0, 0.0, 100.0), ("db", 1, 50.0, 40.0), ("cache", 0, 100.0, 0.0)]


# ── reading back: queries ───────────────────────────────────────────────────────────────────────

def test_the_default_run_finds_the_burst_by_query(burst, story):
    start, end = burst.window
    truth = [r for r in story if start <= r.ts < end and not r.ok]
    assert burst.failed == len(truth)
    assert dict(((s, e), n) for s, e, n in burst.failures) == {
        (r.status, r.error): sum((q.status, q.error) == (r.status, r.error) for q in truth)
        for r in truth}
    assert burst.by_stage[0][:2] == ("retrieval", "vector_store_unavailable")
    assert sum(n for _, _, n in burst.by_stage) == len(truth)


# ── tail sampling ───────────────────────────────────────────────────────────────────────────────

def test_tail_sampling_keeps_failed_and_slow_traces_and_a_hashed_share_of_the_rest():
    # trace_fraction reads the low 8 bytes: 0x08 00.. / 2^64 = 1/32 = 0.03125 (< 0.1, kept);
    # 0xf0 00.. / 2^64 = 0.9375 (dropped unless it failed or was slow)
    lucky, unlucky = "aa" * 8 + "08" + "00" * 7, "bb" * 8 + "f0" + "00" * 7
    assert (trace_fraction(lucky), trace_fraction(unlucky)) == (0.03125, 0.9375)
    requests = [make_request(lucky, 1.0), make_request(unlucky, 2.0),
                failed_at_retrieval(unlucky.replace("b", "c"), 3.0),
                make_request(unlucky.replace("b", "d"), 4.0, stage_ms=(4.0, 60.0, 11_936.0, 25.0))]
    stream = io.StringIO()
    written = lab.write_log(requests, stream, rate=0.1, slow_ms=10_000)
    kept = {json.loads(line)["trace_id"] for line in stream.getvalue().splitlines()}
    assert kept == {lucky, unlucky.replace("b", "c"), unlucky.replace("b", "d")}
    # 5 + 5 + 3 + 5 = 18 lines written; the unlucky healthy trace's 5 are dropped: 13 kept
    assert (written.lines, written.lines_kept, written.failed, written.failed_kept) == (18, 13, 1, 1)


def test_sampling_the_burst_keeps_every_failing_trace_and_agrees_with_the_sql(burst, story):
    start, end = burst.window
    window = [r for r in story if start <= r.ts < end]
    stream = io.StringIO()
    written = lab.write_log(window, stream, rate=burst.sample_rate, slow_ms=burst.slow_ms)
    kept = {json.loads(line)["trace_id"] for line in stream.getvalue().splitlines()}
    assert {r.trace_id for r in window if not r.ok} <= kept
    assert written.lines_kept == burst.sampled_lines
    assert burst.tail_failed_kept == burst.failed_traces == burst.failed
    # a head sampler keeps failures only at its rate: about 10 % of ~600, 60 +- 3 sd (7.4)
    assert 38 <= burst.head_failed_kept <= 83


# ── the lab as a whole ──────────────────────────────────────────────────────────────────────────

def test_the_screen_fits_80_columns_in_40_lines(burst, story):
    screen = lab.report(burst)
    window = [r for r in story if burst.window[0] <= r.ts < burst.window[1]]
    assert max(len(line) for line in screen.splitlines()) <= 80
    assert len(screen.splitlines()) <= 40
    failed = sum(1 for r in window if r.status >= 500)       # counted from the story itself
    assert f"{failed:,} of {len(window):,} requests failed" in screen


def test_the_script_runs_from_any_directory_as_a_file_and_as_a_module(tmp_path):
    # (its screen, the same bytes in a fresh interpreter with another hash seed: test_demo.py,
    # whose demo prints this lab's report)
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--sample" in out.stdout, out.stderr
    module = subprocess.run([sys.executable, "-m", "solution.lab1_logs", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert module.returncode == 0 and "tools/logs.py" in module.stdout


def test_every_secret_the_story_planted_is_redacted_and_nothing_else(story):
    # counted from the prompts the story wrote (its LEAKS), not by the redactor: each kind of
    # placeholder in the log equals the secrets planted, so no secret slipped through and no
    # order number, trace id or timestamp was taken for one
    # up to the end of the error burst: every request that planted one, and every fourth other
    # one (with their trace ids, timestamps and order numbers, which must survive)
    planted = {"card": "4111 1111 1111 1111", "api_key": "sk-test", "bearer_token": "Bearer ",
               "phone": "+1 415 555", "aws_access_key_id": " AKIA", "email": "@example.com"}
    part = [r for i, r in enumerate(story) if r.ts < 8400
            and (i % 4 == 0 or any(mark in r.prompt for mark in planted.values()))]
    stream = io.StringIO()
    lab.write_log(part, stream)
    found = dict.fromkeys(lab.KINDS, 0)
    for kind in re.findall(r"\[REDACTED:(\w+)\]", stream.getvalue()):
        found[kind] += 1
    expected = dict.fromkeys(lab.KINDS, 0)
    expected.update({kind: sum(mark in r.prompt for r in part) for kind, mark in planted.items()})
    assert found == expected and sum(expected.values()) > 100


def test_the_luhn_valid_traceparents_the_handout_and_notes_count_are_the_storys(story):
    """Question 7 and notes.md count the burst's traceparents that hold a 13-19 digit run passing
    Luhn (computed here with the checksum written out), and how many the redaction changes."""
    def luhn(digits: str) -> bool:
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        return total % 10 == 0

    burst = next(i for i in traffic.STORY.incidents if i.kind == "errors" and i.page)
    parents = [lab.traceparent(r.trace_id, r.span_ids[:16]) for r in story if burst.covers(r.ts)]
    luhn_valid = sum(any(13 <= len(run) <= 19 and luhn(run) for run in re.findall(r"\d+", tp))
                     for tp in parents)
    changed = sum(redact(tp) != tp for tp in parents)
    handout = " ".join((ROOT / "labs" / "lab1_logs.md").read_text(encoding="utf-8").split())
    notes = " ".join((ROOT / "notes.md").read_text(encoding="utf-8").split())
    assert f"yet {luhn_valid} of the burst's traceparents holds" in handout
    assert f"{changed} are redacted by the card pattern" in handout
    assert f"{luhn_valid} of the burst's W3C `traceparent` values holds" in notes
    assert f"card pattern redacts {changed})" in notes
