"""solution/redaction.py against a corpus written as an attacker would (tests/redaction_corpus.py):
every secret gone, by its name or by its shape; every look-alike kept; each pattern's worst case
at 64 KB in linear time; and the neutralizer that shows what a terminal would hide."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from solution import lab1_logs as lab
from solution.redaction import (KINDS, SECRETS, SHORT, iban_ok, is_card, neutralize, redact,
                                redact_value, secret_name)
from redaction_corpus import LOOK_ALIKES, SECRETS as CORPUS, WORST


def test_the_corpus_is_as_large_as_promised():
    assert len(CORPUS) >= 100 and len(LOOK_ALIKES) >= 60
    assert len({text for text, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("text,secret", CORPUS, ids=[repr(t)[:40] for t, _ in CORPUS])
def test_every_secret_of_the_corpus_is_redacted(text, secret):
    out = redact(text)
    assert secret not in out, out
    assert "[REDACTED:" in out and out.isprintable()


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_every_look_alike_of_the_corpus_is_kept(text):
    assert redact(text) == text


@pytest.mark.parametrize("key,kind", [
    ("password", "password"), ("DB_PASSWD", "password"), ("client-secret", "secret"),
    ("DJANGO_SECRET_KEY", "secret"), ("x-api-key", "api_key"), ("apiKey", "api_key"),
    ("Authorization", "authorization"), ("Set-Cookie", "session"), ("access_token", "secret"),
    ("aws_secret_access_key", "aws_secret_access_key"), ("pass\u200bword", "password"),
    ("input_tokens", None), ("token_count", None), ("author", None), ("key", None),
    ("primary key", None), ("session_count", None)])
def test_a_key_names_a_secret_in_any_case_with_any_separator(key, kind):
    assert secret_name(key) == kind


def test_by_name_keeps_the_quotes_and_the_authorization_scheme():
    assert redact('{"password": "a\\"b c", "user": "ana"}') == \
        '{"password": "[REDACTED:password]", "user": "ana"}'
    assert redact('{"Authorization": "Token 8c1f0e22aa"}') == \
        '{"Authorization": "Token [REDACTED:authorization]"}'
    assert redact("Cookie: theme=dark; session=77aa") == \
        "Cookie: [REDACTED:session]; session=[REDACTED:session]"


def test_the_checks_behind_cards_and_ibans():
    # ISO 13616's own example passes; one digit off fails; the length must be the country's
    assert iban_ok("gb82-west-1234-5698-7654-32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert not iban_ok("GB82WEST1234569876543")
    # full-width digits are digits: the Visa test number passes as written in them
    assert is_card("４１１１１１１１１１１１１１１１") and not is_card("1793610003123")


def test_a_structured_value_is_redacted_by_key_at_any_depth_strings_or_not():
    record = {"user": "ana", "password": 1234, "headers": {"Authorization": "Token abc"},
              "deep": [{"aws_secret_access_key": None}, {"api_key": ["x", 2]}],
              "card": 4111111111111111.0, "tokens": 12, "ratio": 0.5}
    assert redact_value(record) == {
        "user": "ana", "password": "[REDACTED:password]",
        "headers": {"Authorization": "[REDACTED:authorization]"},
        "deep": [{"aws_secret_access_key": None}, {"api_key": ["[REDACTED:api_key]"] * 2}],
        "card": "[REDACTED:card]", "tokens": 12, "ratio": 0.5}


def test_a_remembered_answer_is_the_searchs_answer():
    # redact() remembers the answers for short texts: asked again, or asked inside a text too
    # long to remember (behind a line of its own), every text of the corpus reads the same
    pad = "." * SHORT + "\n"
    texts = [text for text, _ in CORPUS] + list(LOOK_ALIKES)
    assert sum(len(text) <= SHORT for text in texts) > 100
    for text in texts:
        first = redact(text)
        assert redact(text) == first and redact(pad + text) == redact(pad) + first
    # a number of 12 digits is never a card; one of 13 can be (a 13-digit Visa test number)
    assert redact_value(999_999_999_999) == 999_999_999_999
    assert redact_value(4222222222222) == redact_value(-4222222222222.0) == "[REDACTED:card]"


def test_lab1s_json_logger_never_writes_a_secret_given_by_its_key():
    stream = io.StringIO()
    with lab.json_logger(stream) as (logger, _):
        logger.info("login", extra={"attributes": {
            "password": "hunter2", "api_key": "abc123def456", "aws_secret_access_key": 42,
            "headers": {"Authorization": "Token 9f8e7d6c"}, "amount": 4111111111111111.0,
            "gen_ai.usage.input_tokens": 669}})
    line = stream.getvalue()
    for secret in ("hunter2", "abc123def456", ": 42", "9f8e7d6c", "4111111111111111"):
        assert secret not in line
    assert json.loads(line)["attributes"]["gen_ai.usage.input_tokens"] == 669


def test_every_kind_has_its_worst_case():
    assert set(KINDS) - {"password", "authorization", "session", "secret"} <= set(WORST)
    assert {kind for kind, _ in SECRETS} <= set(WORST)


@pytest.mark.parametrize("kind", sorted(WORST))
def test_each_patterns_worst_case_at_64_kb_takes_linear_time(kind):
    # a generous bound, for a busy machine: a quadratic pattern takes seconds to minutes here
    for text in WORST[kind]:
        started = time.process_time()
        redact(text)
        assert time.process_time() - started < 2.0, (kind, text[:20])


@pytest.mark.parametrize("text,shown", [
    ("\u202eexe.txt", "\\u202eexe.txt"),                  # right-to-left override
    ("a\u200bb\u200dc\ufeff", "a\\u200bb\\u200dc\\ufeff"),  # zero-width space, joiner, BOM
    ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
    ("tag\U000e0041", "tag\\U000e0041"),                    # a Unicode tag character
    ("lone \ud800", "lone \\ud800"),                        # a lone surrogate
    ("\x1b[31mred\r\n", "\\x1b[31mred\\r\\n"),
    ("café ✓ 日本", "café ✓ 日本"),                          # printable text as it is
])
def test_neutralize_shows_bidi_zero_width_and_control_characters(text, shown):
    assert neutralize(text) == shown
    assert neutralize(text).encode("utf-8")


def test_logging_is_left_as_it_was():
    assert logging.getLogger(lab.LOGGER_NAME).handlers == []
