"""What must never reach a log: secrets and personal data, and the characters that forge lines.

    redact(text)       secrets and personal data become typed placeholders, then control
                       characters become visible escapes: safe to write to a log
    neutralize(text)   only the second half: control characters as visible escapes

Sources: OWASP Logging Cheat Sheet ("data to exclude": access tokens, passwords, keys, payment
data, personal data; sanitize CR/LF against log injection); OWASP Top 10 for LLM applications
2025, LLM02 (sensitive information disclosure: redact prompts before logging).

    >>> redact("Write to jane.doe@example.com about order 1234567890.")
    'Write to [REDACTED:email] about order 1234567890.'
    >>> redact("Card 4111 1111 1111 1111, key sk-test0123456789abcdef01, order 4111111111.")
    'Card [REDACTED:card], key [REDACTED:api_key], order 4111111111.'

Remember: a secret written to a log is leaked forever; redact before the line is written.
"""

from __future__ import annotations

import re


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number passes (ISO/IEC 7812-1): double every second
    digit from the right, subtract 9 from results over 9, and the sum is a multiple of 10.

    >>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
    (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# Each kind and its pattern. Order matters: a key is gone before the card pattern reads its digits.
SECRETS = (
    ("email", re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    # RFC 6750: "Bearer" then a b64token (with a digit, as real tokens have, so "bearer of bad
    # news" stays; not ending in the sentence's full stop); the group `keep` stays, so a reader
    # sees what was there
    ("bearer_token", re.compile(r"(?P<keep>\b(?i:bearer)\s+)"
                                r"(?=[A-Za-z._~+/-]*\d)[A-Za-z0-9._~+/-]{7,}[A-Za-z0-9_~+/-]=*")),
    # provider keys: sk-/sk_/rk_ (OpenAI, Anthropic sk-ant-, Stripe), GitHub, Google, Slack
    ("api_key", re.compile(r"\b(?:[sr]k[-_][A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{36,}"
                           r"|AIza[0-9A-Za-z_-]{35}|xox[abprs]-[A-Za-z0-9-]{10,})")),
    ("aws_access_key_id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    # 13 to 19 digits, in groups or not; kept unless the Luhn check passes
    ("card", re.compile(r"(?<![\d.])\d(?:[ -]?\d){12,18}(?!\d)")),
    # international (+ and 8-15 digits, E.164) or North American with separators; ten digits
    # in a row are an order number, not a phone
    ("phone", re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?!\d)"
                         r"|(?<![\w(])(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?!\d)")),
)
KINDS = tuple(kind for kind, _ in SECRETS)

# Control characters (C0, DEL, C1 such as U+0085 NEL) and the Unicode line and paragraph
# separators: str.splitlines() breaks lines on several of them, terminals obey ESC.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def neutralize(text: str) -> str:
    """Control characters as visible escapes: the text stays one line and cannot drive a terminal
    (OWASP: sanitize CR/LF against log injection).

    >>> neutralize("ok\\r\\nforged\\u2028\\x1b[31m")
    'ok\\\\r\\\\nforged\\\\u2028\\\\x1b[31m'
    """
    return text if text.isprintable() else _CONTROL.sub(_visible, text)


def _cards(run: str) -> str:
    """A run of digit groups with every stretch of whole groups that is a card (13 to 19 digits
    passing Luhn) replaced, longest first: "4111 1111 1111 1111-01" still loses its card."""
    parts = re.split(r"([ -])", run)                # digits, separator, digits, ...
    i = 0
    while i < len(parts):
        for j in range(len(parts) - 1, i - 1, -2):
            digits = "".join(parts[i:j + 1:2])
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                parts[i:j + 1] = ["[REDACTED:card]"]
                break
        i += 2
    return "".join(parts)


def _placeholder(kind: str):
    def replace(match: re.Match) -> str:
        if kind == "card":
            return _cards(match.group())
        if kind == "phone" and not 8 <= len(re.sub(r"\D", "", match.group())) <= 15:
            return match.group()
        return (match.groupdict().get("keep") or "") + f"[REDACTED:{kind}]"
    return replace


# A terminal escape sequence (ECMA-48: CSI "ESC [ ... final", OSC "ESC ] ... BEL", or ESC and one
# byte) ends in a letter, which would glue it to the word after it: "\x1b[31msk-..." hides the key.
_ESCAPE_SEQUENCE = re.compile(r"(\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]))")


def redact(text: str) -> str:
    """The text with secrets and personal data replaced by typed placeholders, and control
    characters made visible: safe to write to a log. The search reads the raw text, between
    terminal escape sequences; escaping first would glue a newline's `\\n` onto the next word
    ("\\nsk-...") and hide the key from the patterns' word boundaries."""
    pieces = _ESCAPE_SEQUENCE.split(text)          # text, sequence, text, ...
    for i in range(0, len(pieces), 2):
        for kind, pattern in SECRETS:
            pieces[i] = pattern.sub(_placeholder(kind), pieces[i])
    return neutralize("".join(pieces))
