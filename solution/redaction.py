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


def issuer_ok(digits: str) -> bool:
    """Does a card number start as a real issuer's does, at a length that issuer uses (ISO/IEC
    7812 IINs: Visa, Mastercard, American Express, Discover, JCB, Diners, UnionPay, Maestro)? An
    epoch-millisecond timestamp (17...) or a long numeric id passes Luhn one time in ten, and no
    issuer starts with 1, 7, 8 or 9.

    >>> issuer_ok("4111111111111111"), issuer_ok("378282246310005"), issuer_ok("1793610003123")
    (True, True, False)
    """
    n, two, four = len(digits), int(digits[:2]), int(digits[:4])
    return ((digits[0] == "4" and n in (13, 16, 19))                            # Visa
            or ((51 <= two <= 55 or 2221 <= four <= 2720) and n == 16)          # Mastercard
            or (two in (34, 37) and n == 15)                                    # Amex
            or ((two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305) and 14 <= n <= 19)
            or (3528 <= four <= 3589 and 16 <= n <= 19)                          # JCB
            or ((four == 6011 or 644 <= int(digits[:3]) <= 649 or two in (62, 65))
                and 16 <= n <= 19)                                              # Discover, UnionPay
            or ((two == 50 or 56 <= two <= 69) and 12 <= n <= 19))              # Maestro


def iban_ok(text: str) -> bool:
    """The IBAN check (ISO 13616): move the first four characters to the end, read letters as
    numbers (A = 10 ... Z = 35), and the number leaves 1 when divided by 97.

    >>> iban_ok("GB82 WEST 1234 5698 7654 32"), iban_ok("GB82 WEST 1234 5698 7654 33")
    (True, False)
    """
    compact = re.sub(r"\s", "", text).upper()
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


# Each kind and its pattern. Order matters: a key is gone before the card pattern reads its digits.
# A group named `keep` stays (the label before a secret), so a reader sees what was there.
SECRETS = (
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?"
                               r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)")),
    ("url_credentials", re.compile(r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@:]+:[^\s/?#@]+(?=@)")),
    ("webhook", re.compile(r"\bhttps://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]+")),
    ("email", re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")),
    # RFC 6750: "Bearer" then a b64token (with a digit, as real tokens have, so "bearer of bad
    # news" stays; not ending in the sentence's full stop)
    ("bearer_token", re.compile(r"(?P<keep>\b(?i:bearer)\s+)"
                                r"(?=[A-Za-z._~+/-]*\d)[A-Za-z0-9._~+/-]{7,}[A-Za-z0-9_~+/-]=*")),
    # a JSON Web Token: two base64url JSON objects ({"... is eyJ) and a signature (RFC 7519)
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")),
    # an Authorization header's other schemes (Basic, Token, Digest...), and API-key headers
    ("authorization", re.compile(r"(?P<keep>\b(?i:authorization|proxy-authorization)\s*[:=]\s*"
                                 r"(?!(?:[A-Za-z]+\s+)?\[REDACTED)(?:[A-Za-z]+\s+)?)[^\s,;\"']{6,}")),
    ("api_key", re.compile(r"(?P<keep>\b(?i:x-api-key|api[-_]?key|x-auth-token|apikey)[\"']?\s*[:=]\s*[\"']?)"
                           r"(?!\[REDACTED)[A-Za-z0-9._~+/-]{8,}"
                           # provider keys: sk-/sk_/rk_ (OpenAI, Anthropic sk-ant-, Stripe),
                           # GitHub (ghp_..., github_pat_), Google, Slack
                           r"|\b(?:[sr]k[-_][A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{36,}"
                           r"|github_pat_[A-Za-z0-9_]{22,}|AIza[0-9A-Za-z_-]{35}"
                           r"|xox[abprs]-[A-Za-z0-9-]{10,})")),
    ("aws_access_key_id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("aws_secret_access_key", re.compile(r"(?P<keep>\b(?i:aws_?secret(?:_?access)?_?key)[\"']?\s*[:=]\s*[\"']?)"
                                         r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])")),
    # ISO 13616: a country, two check digits, up to 30 letters and digits (grouped by fours)
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")),
    # 13 to 19 digits, in groups or not; kept unless Luhn and an issuer say card
    ("card", re.compile(r"(?<![\w.])\d(?:[ \-.\u00a0]?\d){12,18}(?!\w)")),    # not inside a hash
    # a US social security number: never area 000, 666 or 9xx, group 00, serial 0000 (SSA)
    ("ssn", re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")),
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


def is_card(digits: str) -> bool:
    """13 to 19 digits that pass Luhn and start as a real issuer's card does."""
    return 13 <= len(digits) <= 19 and luhn_ok(digits) and issuer_ok(digits)


def _cards(run: str) -> str:
    """A run of digit groups with every stretch of whole groups that is a card replaced, longest
    first: "4111 1111 1111 1111-01" still loses its card."""
    parts = re.split(r"([ \-.\u00a0])", run)         # digits, separator, digits, ...
    i = 0
    while i < len(parts):
        for j in range(len(parts) - 1, i - 1, -2):
            digits = "".join(parts[i:j + 1:2])
            if is_card(digits):
                parts[i:j + 1] = ["[REDACTED:card]"]
                break
        i += 2
    return "".join(parts)


def _placeholder(kind: str):
    def replace(match: re.Match) -> str:
        if kind == "card":
            return _cards(match.group())
        if kind == "iban" and not iban_ok(match.group()):
            return match.group()
        if kind == "phone" and not 8 <= len(re.sub(r"\D", "", match.group())) <= 15:
            return match.group()
        return (match.groupdict().get("keep") or "") + f"[REDACTED:{kind}]"
    return replace


# A terminal escape sequence (ECMA-48: CSI "ESC [ ... final", OSC "ESC ] ... BEL", or ESC and one
# byte) ends in a letter, which would glue it to the word after it: "\x1b[31msk-..." hides the key.
_ESCAPE_SEQUENCE = re.compile(r"(\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]))")


_REPLACE = {kind: _placeholder(kind) for kind, _ in SECRETS}


# A pattern runs only when its clue is in the lowercased text (or, for the numbers, three digits
# in a row, or a + for a phone): most strings of a log are none of these, and fourteen searches
# each would cost more than the rest of the line together.
CLUES = {"private_key": ("private key",), "url_credentials": ("://",), "webhook": ("hooks.slack",),
         "email": ("@",), "bearer_token": ("bearer",), "jwt": ("eyj",), "authorization": ("authorization",),
         "api_key": ("key", "token", "sk-", "sk_", "rk-", "rk_", "gh", "aiza", "xox"),
         "aws_access_key_id": ("akia", "asia"), "aws_secret_access_key": ("secret",)}
_THREE_DIGITS = re.compile(r"\d\d\d")
_ANY_CLUE = re.compile("|".join(re.escape(clue) for clues in CLUES.values() for clue in clues)
                       + r"|\d\d\d|\+")


def _search_and_replace(text: str) -> str:
    lower = text.lower()
    if not _ANY_CLUE.search(lower):                   # the common case: nothing to look for
        return text
    digits = _THREE_DIGITS.search(text) is not None
    for kind, pattern in SECRETS:
        if kind in CLUES:
            wanted = any(clue in lower for clue in CLUES[kind])
        else:                                          # the numbers: iban, card, ssn, phone
            wanted = digits or kind == "phone" and "+" in text
        if wanted:
            text = pattern.sub(_REPLACE[kind], text)
    return text


def redact(text: str) -> str:
    """The text with secrets and personal data replaced by typed placeholders, and control
    characters made visible: safe to write to a log. The search reads the raw text, between
    terminal escape sequences; escaping first would glue a newline's `\\n` onto the next word
    ("\\nsk-...") and hide the key from the patterns' word boundaries."""
    if "\x1b" not in text:
        return neutralize(_search_and_replace(text))
    pieces = _ESCAPE_SEQUENCE.split(text)          # text, sequence, text, ...
    for i in range(0, len(pieces), 2):
        pieces[i] = _search_and_replace(pieces[i])
    return neutralize("".join(pieces))


def redact_value(value):
    """redact() for a structured attribute: every string inside lists and dicts (a GenAI
    `messages` list), and an integer that is a card number; other values as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (list, tuple)):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, int) and not isinstance(value, bool) and is_card(str(abs(value))):
        return "[REDACTED:card]"
    return value
