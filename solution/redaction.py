"""What must never reach a log: secrets and personal data, and the characters that forge lines.

    redact(text)        secrets and personal data become typed placeholders, then control,
                        bidi and zero-width characters become visible escapes: safe to log
    redact_value(v, k)  the same for a structured value, and the whole value of a key that
                        names a secret (`password`, `api_key`, `Authorization`...), at any depth
    neutralize(text)    only the last step: invisible and controlling characters as escapes

A secret is found two ways. By NAME: the value of a key that names one (`password=hunter2`,
`{"client_secret": "..."}`, `Authorization: Token ...`), whatever it looks like. By SHAPE: what
a secret looks like wherever it stands (a provider's documented prefix, a private key block, a
password in a URL, a card that passes Luhn, an IBAN that passes mod 97, a phone number).

Every pattern runs in time linear in the text: each one starts only at the first character of a
run of the characters it reads (a lookbehind says "not after one of mine"), so a run of a
million such characters is one attempt, not a million; every repeat that could run on is bounded.

Sources: OWASP Logging Cheat Sheet ("data to exclude": access tokens, passwords, keys, connection
strings, payment data, personal data; sanitize CR/LF against log injection); OWASP Top 10 for
LLM applications 2025, LLM02 (sensitive information disclosure: redact prompts before logging);
the token formats each provider documents (GitHub, GitLab, npm, Hugging Face, Slack, Stripe,
SendGrid, Anthropic, OpenAI, Google, AWS); ISO/IEC 7812 (cards), ISO 13616 (IBAN), ITU-T E.164
(phone numbers); Unicode UAX #9 (bidi controls) for what a terminal must not obey unseen.

    >>> redact("Write to jane.doe@example.com about order 1234567890.")
    'Write to [REDACTED:email] about order 1234567890.'
    >>> redact("Card 4111 1111 1111 1111, key sk-test0123456789abcdef01, order 4111111111.")
    'Card [REDACTED:card], key [REDACTED:api_key], order 4111111111.'
    >>> redact("GET /login?user=ana&password=hunter2")
    'GET /login?user=ana&password=[REDACTED:password]'

Remember: a secret written to a log is leaked forever; redact before the line is written.
"""

from __future__ import annotations

import functools
import re

# ── the checks a number must pass to be a card, an IBAN ─────────────────────────────────────────


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


def is_card(digits: str) -> bool:
    """13 to 19 digits (any script's: int() reads full-width ４ too) that pass Luhn and start
    as a real issuer's card does."""
    if not digits.isascii():
        digits = "".join(str(int(ch)) for ch in digits)
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and issuer_ok(digits) \
        and luhn_ok(digits)


# The length of each country's IBAN (SWIFT's IBAN registry, under ISO 13616): a run of letters
# and digits that starts with a country code and passes mod 97 is an IBAN only at its length.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20}


def iban_ok(text: str) -> bool:
    """The IBAN check (ISO 13616): move the first four characters to the end, read letters as
    numbers (A = 10 ... Z = 35), and the number leaves 1 when divided by 97. Spaces, dashes and
    the case of the letters do not matter; the length must be the country's.

    >>> iban_ok("GB82 WEST 1234 5698 7654 32"), iban_ok("gb82-west-1234-5698-7654-33")
    (True, False)
    """
    compact = re.sub(r"[\s-]", "", text).upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isascii():
        return False
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


# ── by name: a key that names a secret, its value redacted whatever it looks like ───────────────

# A key names a secret when, lowercased and without its separators (`-`, `_`, `.`, spaces), it
# ends with one of these: DJANGO_SECRET_KEY, x-api-key, access_token, Set-Cookie, db_passwd. Ends,
# not contains: `input_tokens` counts tokens and `token_count` is a number, neither is one.
SECRET_NAMES = (
    ("password", "password"), ("passwd", "password"), ("passphrase", "password"),
    ("pwd", "password"), ("dbpass", "password"),
    ("authorization", "authorization"), ("auth", "authorization"),
    ("apikey", "api_key"), ("xapikey", "api_key"),
    ("awssecretaccesskey", "aws_secret_access_key"),
    ("cookie", "session"), ("session", "session"), ("sessionid", "session"),
    ("sessionkey", "session"), ("sid", "session"),
    ("secret", "secret"), ("secretkey", "secret"), ("accesskey", "secret"),
    ("privatekey", "secret"), ("accountkey", "secret"), ("signingkey", "secret"),
    ("encryptionkey", "secret"), ("masterkey", "secret"), ("token", "secret"),
    ("credential", "secret"), ("credentials", "secret"), ("connectionstring", "secret"),
    ("dsn", "secret"), ("ssn", "ssn"), ("socialsecuritynumber", "ssn"),
)
_ENDINGS = tuple(ending for ending, _ in SECRET_NAMES)
_SEPARATORS = re.compile(r"[-_. \u200b-\u200d\u2060\ufeff]")


@functools.lru_cache(maxsize=1024)     # a log repeats a few dozen keys: fold each once
def secret_name(key: str) -> str | None:
    """The kind of secret a key names, or None: any case, any separator.

    >>> secret_name("DJANGO_SECRET_KEY"), secret_name("X-Api-Key"), secret_name("input_tokens")
    ('secret', 'api_key', None)
    """
    folded = _SEPARATORS.sub("", key.lower())
    if not folded.endswith(_ENDINGS):                 # most keys: one test
        return None
    for ending, kind in SECRET_NAMES:
        if folded.endswith(ending):
            return kind
    return None


# `key = value`, `key: value`, `"key": "value"`, `?key=value&`, a header line `Key: value`: a
# key of up to two words (`api key`), then `=` or `:`. A key starts a run of word characters, so
# each run is tried once. Only when the key names a secret is the value after it read: a quoted
# string, or a bare run up to a space or a delimiter (with an Authorization scheme kept).
_KEY = re.compile(r"""(?P<key>(?<![\w.-])[A-Za-z][\w.-]{0,63}(?:\ [A-Za-z][\w.-]{0,31})?
                         |"[^"\n]{1,64}"|'[^'\n]{1,64}')
                      \s{0,8}[:=]\s{0,8}""", re.VERBOSE)
_VALUE = re.compile(r"""(?P<scheme>(?i:basic|bearer|token|digest|negotiate)\ +)?
                        (?:"(?P<dq>(?:[^"\\\n]|\\.)+)"|'(?P<sq>(?:[^'\\\n]|\\.)+)'
                           |(?P<bare>[^\s"'&,;<>(){}\[\]]+))""", re.VERBOSE)


def _by_name(text: str) -> str:
    """Every value whose key names a secret, replaced (kept: the quotes, an Authorization
    header's scheme; a value its shape already redacted is left as it is)."""
    out, at = [], 0
    for key in _KEY.finditer(text):
        kind = secret_name(key.group("key").strip("\"'"))
        if key.start() < at or kind is None or _DONE.match(text, key.end()):
            continue
        value = _VALUE.match(text, key.end())
        if value is None:
            continue
        inner, kept, after = value.group("dq") or value.group("sq"), value.group("scheme") or "", ""
        if inner is not None:                       # "Token abc": the scheme inside the quotes
            scheme = _SCHEME.match(inner)
            kept += value.group()[len(kept)] + (scheme.group() if scheme else "")
            after = value.group()[-1]
        out += [text[at:value.start()], kept, f"[REDACTED:{kind}]", after]
        at = value.end()
    return "".join(out) + text[at:] if out else text


_SCHEME = re.compile(r"(?i:basic|bearer|token|digest|negotiate) +(?=\S)")
_DONE = re.compile(r"[\"']?(?:(?i:basic|bearer|token|digest|negotiate) +)?\[REDACTED:")


# ── by shape: what a secret looks like wherever it stands ───────────────────────────────────────

# Each kind and its pattern. Order matters: a key is gone before the card pattern reads its digits.
# A group named `keep` stays (the scheme before a password), so a reader sees what was there.
SECRETS = (
    # a URL's password, in any scheme: postgres://admin:pw@db, redis://:pw@cache (RFC 3986 userinfo)
    ("url_credentials", re.compile(r"(?P<keep>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://)"
                                   r"[^\s/?#@:]*:[^\s/?#@]+(?=@)")),
    ("webhook", re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/"
                           r"[A-Za-z0-9/_-]{1,256}")),
    # RFC 5321: a local part of up to 64 characters, then labels of up to 63; `cafe@2x.png` is a
    # retina image's name, not an address (see _email)
    ("email", re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}"
                         r"\.[^\W\d_]{2,24}(?![\w-])")),
    # RFC 6750: "Bearer" then a b64token (with a digit, as real tokens have, so "bearer of bad
    # news" stays; not ending in the sentence's full stop)
    ("bearer_token", re.compile(r"(?P<keep>(?<![\w-])(?i:bearer)\s{1,8})"
                                r"(?=[A-Za-z._~+/-]{0,4096}\d)"
                                r"[A-Za-z0-9._~+/-]{6,}[A-Za-z0-9_~+/-]=*")),
    # a JSON Web Token: two base64url JSON objects ({"... is eyJ) and a signature (RFC 7519)
    ("jwt", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}"
                       r"\.[A-Za-z0-9_-]*")),
    # provider keys by their documented prefixes, with a digit among the rest (see _token):
    # OpenAI sk-, sk-proj-; Anthropic sk-ant-; Stripe sk_live_, rk_live_, whsec_; GitHub ghp_
    # gho_ ghs_ ghu_ ghr_ github_pat_; GitLab glpat-; npm npm_; Hugging Face hf_; Slack xoxb-
    # xoxp- xapp-; Google AIza; SendGrid SG.<id>.<secret>; Twilio SK + 32 hex
    ("api_key", re.compile(r"(?<![A-Za-z0-9_.-])(?:sk-|sk_(?:live|test)_|rk_(?:live|test)_|whsec_"
                           r"|gh[pousr]_|github_pat_|glpat-|npm_|hf_|xox[abeoprs]-|xapp-)"
                           r"[A-Za-z0-9_-]{16,}"
                           r"|(?<![A-Za-z0-9_-])(?:AIza[0-9A-Za-z_-]{35}|SK[0-9a-f]{32}"
                           r"|SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64})(?![A-Za-z0-9_-])")),
    ("aws_access_key_id", re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    # AWS: a secret access key is 40 characters of base64 (mixed case and digits: a git SHA,
    # all lowercase hex, is not one); a session token starts with the base64 of its header
    ("aws_secret_access_key", re.compile(r"(?<![A-Za-z0-9/+=])(?:(?:IQoJb3JpZ2lu|FwoGZXIvYXdz)"
                                         r"[A-Za-z0-9/+=]{40,}"
                                         r"|[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=]))")),
    # ISO 13616: a country and two check digits start an IBAN, its country's number of letters
    # and digits follow, grouped or not, in any case; mod 97 checks it (see _ibans)
    ("iban", re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")),
    # 13 to 19 digits, in groups or not; kept unless Luhn and an issuer say card (see _cards)
    ("card", re.compile(r"(?<![\w.])\d(?:[ \-.\u00a0\u202f\u2009/_]?\d){12,18}(?!\w)")),
    # a US social security number: never area 000, 666 or 9xx, group 00, serial 0000 (SSA)
    ("ssn", re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}(?P<s>[- ])(?!00)\d{2}(?P=s)(?!0000)\d{4}"
                       r"(?![\d-])")),
    # E.164: + and 8 to 15 digits; North American (NANP: area and exchange never start with 0
    # or 1, so `build 123.456.7890` is no phone); a national number: 0, then 9 or 10 digits in
    # groups (020 7946 0958, 01 23 45 67 89). Ten digits in a row are an order number.
    ("phone", re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\d-])"
                         r"|(?<![\w(+.-])(?:1[-. ])?(?:\([2-9]\d\d\) ?|[2-9]\d\d[-. ])"
                         r"[2-9]\d\d[-. ]\d{4}"
                         r"(?![\w-])"
                         r"|(?<![\w(+.-])(?:\(0\d{1,4}\)|0\d{1,4})(?:[ .-]\d{2,6}){1,4}"
                         r"(?![\w.-])")),
)
KINDS = ("private_key", *(kind for kind, _ in SECRETS), "password", "authorization", "session",
         "secret")


def _cards(run: str) -> str:
    """A run of digit groups with every stretch of whole groups that is a card replaced, longest
    first: "4111 1111 1111 1111-01" still loses its card."""
    parts = re.split(r"([ \-.\u00a0\u202f\u2009/_])", run)         # digits, separator, digits, ...
    i = 0
    while i < len(parts):
        if int(parts[i][0]) in (2, 3, 4, 5, 6):            # no issuer starts with 0, 1, 7, 8, 9
            length = sum(len(part) for part in parts[i::2])
            for j in range(len(parts) - 1, i - 1, -2):
                if 13 <= length <= 19 and is_card("".join(parts[i:j + 1:2])):
                    parts[i:j + 1] = ["[REDACTED:card]"]
                    break
                length -= len(parts[j])
        i += 2
    return "".join(parts)


_IBAN_BODY = {n: re.compile(r"(?:[ -]?[A-Za-z0-9]){%d}(?![A-Za-z0-9])" % (n - 4))
              for n in set(IBAN_LENGTHS.values())}


def _ibans(text: str) -> str:
    """Every IBAN replaced: a country code and two digits start one, then exactly as many letters
    and digits as that country's IBANs hold (spaces or dashes between them), passing mod 97."""
    out, at = [], 0
    for start in SECRETS_BY_KIND["iban"].finditer(text):
        length = IBAN_LENGTHS.get(start.group()[:2].upper())
        if not length or start.start() < at:
            continue
        body = _IBAN_BODY[length].match(text, start.end())
        if body and iban_ok(text[start.start():body.end()]):
            out += [text[at:start.start()], "[REDACTED:iban]"]
            at = body.end()
    return "".join(out) + text[at:] if out else text


FILE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "pdf", "txt", "json"}


def _valid(kind: str, found: str) -> bool:
    """The check a match must pass beyond its pattern."""
    if kind == "email":                     # cafe@2x.png: a file, not an address
        domain = found.rsplit("@", 1)[1]
        return found.rsplit(".", 1)[1].lower() not in FILE_EXTENSIONS \
            and not re.fullmatch(r"\d+x\.[a-z]+", domain)
    if kind == "api_key":                   # sk-learn-pipeline-utilities: a library, not a key
        return any(ch.isdigit() for ch in found)
    if kind == "aws_secret_access_key" and len(found) == 40:
        return not (found.isalnum() and (found.isdigit() or found.isalpha())) and \
            any(c.islower() for c in found) and any(c.isupper() for c in found) \
            and any(c.isdigit() for c in found)
    if kind == "phone":
        digits = sum(ch.isdigit() for ch in found)
        if found.startswith("+"):
            return 8 <= digits <= 15
        return digits in (10, 11)
    return True


def _placeholder(kind: str):
    def replace(match: re.Match) -> str:
        if kind == "card":
            return _cards(match.group())
        keep = match.groupdict().get("keep") or ""
        if not _valid(kind, match.group()[len(keep):]):
            return match.group()
        return keep + f"[REDACTED:{kind}]"
    return replace


SECRETS_BY_KIND = dict(SECRETS)
_REPLACE = {kind: _placeholder(kind) for kind, _ in SECRETS}

# A PEM or PGP private key block (RFC 7468, RFC 4880): from its BEGIN line to its END line, or
# to the end of the text when it was cut off. Found by str.find, line by line: no pattern
# has to span the block.
_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")


def _private_keys(text: str) -> str:
    out, at = [], 0
    while (found := _KEY_BEGIN.search(text, at)) is not None:
        end = text.find("-----END", found.end())
        close = text.find("-----", end + 8) if end != -1 else -1
        out += [text[at:found.start()], "[REDACTED:private_key]"]
        at = len(text) if close == -1 else close + 5
    return "".join(out) + text[at:] if out else text


# ── the search, and what the terminal sees ──────────────────────────────────────────────────────

# A pattern runs only when its clue is in the lowercased text (or, for the numbers, two digits
# in a row): most strings of a log are none of these, and a dozen searches each would cost more
# than the rest of the line together.
CLUES = {"url_credentials": ("://",), "webhook": ("hooks.slack",), "email": ("@",),
         "bearer_token": ("bearer",), "jwt": ("eyj",),
         "api_key": ("sk", "rk_", "whsec_", "gh", "glpat-", "npm_", "hf_", "xox", "xapp-", "aiza",
                     "sg."),
         "aws_access_key_id": ("akia", "asia")}
_TWO_DIGITS = re.compile(r"\d\d")
_ANY_CLUE = re.compile("|".join(re.escape(clue) for clues in CLUES.values() for clue in clues)
                       + r"|\d\d|[:=]|-----begin|[^\s]{40}")

# Characters that show nothing: zero-width space, joiners, word joiner, byte-order mark, soft
# hyphen, Mongolian vowel separator. Inside a key (`sk-\u200bproj-...`) they would hide it from
# every pattern; they are dropped before the search.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200d\u2060\ufeff]")


def _search_and_replace(text: str) -> str:
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
    lower = text.lower()
    if not _ANY_CLUE.search(lower):                   # the common case: nothing to look for
        return text
    if "-----begin" in lower:
        text = _private_keys(text)
    digits = _TWO_DIGITS.search(text) is not None
    for kind, pattern in SECRETS:
        if kind in CLUES:
            wanted = any(clue in lower for clue in CLUES[kind])
        elif kind == "aws_secret_access_key":
            wanted = len(text) >= 40
        else:                                          # the numbers
            wanted = digits
        if wanted:
            text = _ibans(text) if kind == "iban" else pattern.sub(_REPLACE[kind], text)
    if ":" in text or "=" in text:
        text = _by_name(text)
    return text


# Control characters (C0, DEL, C1 such as U+0085 NEL), the Unicode line and paragraph
# separators (str.splitlines() breaks lines on them, terminals obey ESC), the bidi controls
# (UAX #9: U+202E turns "exe.txt" into "txt.exe" on the screen), the zero-width and other
# invisible format characters, the Unicode tag characters (text an LLM reads and a person does
# not), and lone surrogates (no encoder writes them).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
                      "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match) -> str:
    ch = match.group()
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def neutralize(text: str) -> str:
    """Control, bidi and invisible characters as visible escapes: the text stays one line, shows
    what it holds, and cannot drive a terminal (OWASP: sanitize CR/LF against log injection).
    The one neutralizer for every string a tool prints that came from its input.

    >>> neutralize("ok\\r\\nforged\\u2028\\x1b[31m \\u202eevil\\u200b")
    'ok\\\\r\\\\nforged\\\\u2028\\\\x1b[31m \\\\u202eevil\\\\u200b'
    """
    return text if text.isascii() and text.isprintable() else _CONTROL.sub(_visible, text)


# A terminal escape sequence (ECMA-48: CSI "ESC [ ... final", OSC "ESC ] ... BEL", or ESC and one
# byte) ends in a letter, which would glue it to the word after it: "\x1b[31msk-..." hides the key.
_ESCAPE_SEQUENCE = re.compile(r"(\x1b(?:\[[0-?]{0,64}[ -/]{0,16}[@-~]|\][^\x07\x1b]{0,4096}"
                              r"(?:\x07|\x1b\\)?|[@-Z\\-_]))")


# A log repeats its short strings (a tenant, a model, a stage's name, a templated question)
# thousands of times: the answers for the last 4,096 of at most 256 characters are remembered.
SHORT = 256


def redact(text: str) -> str:
    """The text with secrets and personal data replaced by typed placeholders, and control
    characters made visible: safe to write to a log. The search reads the raw text, between
    terminal escape sequences; escaping first would glue a newline's `\\n` onto the next word
    ("\\nsk-...") and hide the key from the patterns' word boundaries."""
    if len(text) <= SHORT and type(text) is str:
        return _redact_short(text)
    return _redact(text)


@functools.lru_cache(maxsize=4096)
def _redact_short(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    if "\x1b" not in text:
        return neutralize(_search_and_replace(text))
    pieces = _ESCAPE_SEQUENCE.split(text)          # text, sequence, text, ...
    for i in range(0, len(pieces), 2):
        pieces[i] = _search_and_replace(pieces[i])
    return neutralize("".join(pieces))


def redact_value(value, key: str | None = None):
    """redact() for a structured value: the whole value of a key that names a secret (strings
    or not: a password given as a number too), every string inside lists and dicts at any depth
    (a GenAI `messages` list, `{"headers": {"Authorization": ...}}`), and a number that is a card
    number (an integer, or a float with no fraction); other values as they are.

    >>> redact_value({"user": "ana", "login": {"password": 1234}, "n": 4111111111111111.0})
    {'user': 'ana', 'login': {'password': '[REDACTED:password]'}, 'n': '[REDACTED:card]'}
    """
    kind = secret_name(key) if isinstance(key, str) else None
    if kind and value is not None and not isinstance(value, (dict, list, tuple)):
        return f"[REDACTED:{kind}]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (int, float)) and abs(value) < 1e12:    # 12 digits at most: no card
        return value
    if isinstance(value, (list, tuple)):
        return [redact_value(item, key if kind else None) for item in value]
    if isinstance(value, dict):
        return {k: redact_value(item, k) if not kind else redact_value(item, key)
                for k, item in value.items()}
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e19:
        value = int(value) if is_card(str(abs(int(value)))) else value
    if isinstance(value, int) and not isinstance(value, bool) and is_card(str(abs(value))):
        return "[REDACTED:card]"
    return value
