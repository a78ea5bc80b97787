"""A corpus for solution/redaction.py, written as an attacker would: secrets given by name and by
shape, in the forms they take in real text, and look-alikes that must be kept. Every value is
fake (test cards, the ISO 13616 example IBANs, 555 numbers, made-up keys).

    SECRETS      (text, secret): redact(text) must not hold `secret`
    LOOK_ALIKES  text: redact(text) must be the text unchanged
    WORST        kind: [64 KB texts]: what makes each pattern work hardest

tests/test_redaction.py asserts on both; tests/bench.py prints recall and false positives.
"""

from __future__ import annotations

_KEY = "q7Xk2Lm9Pz4Rt8Vw1Ny6Bc3Hd5Jf0Gs"          # 32 made-up characters, letters and digits

# ── by name ─────────────────────────────────────────────────────────────────────────────────────

_NAMED = ("password", "Password", "PASSWORD", "passwd", "pwd", "db_pass", "passphrase",
          "secret", "client_secret", "clientSecret", "client-secret", "DJANGO_SECRET_KEY",
          "access_token", "accessToken", "refresh_token", "id_token", "X-Auth-Token",
          "api_key", "apiKey", "API-KEY", "x-api-key", "api.key", "access_key", "private_key",
          "secret_access_key", "aws_session_token", "session", "sessionid", "session_id",
          "cookie", "auth", "credentials", "connection_string", "ssn")

BY_NAME = [(f"{name}=hunter2{i}x", f"hunter2{i}x") for i, name in enumerate(_NAMED)] + [
    ("GET /login?user=ana&password=hunter2&next=/", "hunter2"),
    ("POST /token?grant_type=client&client_secret=s3cr3tValue", "s3cr3tValue"),
    ('{"password": "correct horse battery staple"}', "correct horse battery staple"),
    ('{"user": {"profile": {"credentials": {"passwd": "Tr0ub4dor&3"}}}}', "Tr0ub4dor&3"),
    ('{"api_key": 123456789, "n": 2}', "123456789"),
    ('{"headers": {"Authorization": "Token 8c1f0e22aa"}}', "8c1f0e22aa"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("Proxy-Authorization: Digest abc123def", "abc123def"),
    ("Cookie: theme=dark; session=77aa88bb99", "77aa88bb99"),
    ("Set-Cookie: sid=Zx81kQ; Path=/; HttpOnly", "Zx81kQ"),
    ("X-Api-Key: 3f9a1c77e0b24d5c", "3f9a1c77e0b24d5c"),
    ("client_secret: 'kJ8s-PLq2'", "kJ8s-PLq2"),
    ("DB_PASSWORD = pa55word!", "pa55word!"),
    ("export AWS_SECRET_ACCESS_KEY=abc/def+ghi", "abc/def+ghi"),
    ("my api key: zz99yy88", "zz99yy88"),
    ("Password : hunter2 and more", "hunter2"),
    ("note: password=letmein", "letmein"),
    ("ssn=078051120", "078051120"),
    ("pass\u200bword=invisible1", "invisible1"),           # a zero-width space inside the key
    ("api\u200d_key: joined99", "joined99"),                # a zero-width joiner
]

# ── by shape ────────────────────────────────────────────────────────────────────────────────────

PROVIDER_KEYS = [
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",        # GitHub classic (36 after the prefix)
    "gho_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2",
    "ghs_" + "0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX",
    "ghu_" + "1zY2xW3vU4tS5rQ6pO7nM8lK9jI0hG1fE2dC",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345",
    "glpat-" + "x1Y2z3A4b5C6d7E8f9G0",                       # GitLab
    "npm_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",           # npm
    "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ12345678",              # Hugging Face
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "xoxp-123456789012-123456789012-123456789012-abcdef0123456789",
    "xapp-1-A0123456789-1234567890123-abcdef0123456789",
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",                  # Stripe
    "rk_live_" + "51H8abcdEFGHijkl0123MNOP",
    "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLSYq",
    "SG." + "ngeVfQFYQlKU0ufo8x5d1A" + "." + "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr",
    "sk-ant-api03-" + "AbCdEf0123456789GhIjKlMnOpQrStUvWxYz-_aBcDeF",
    "sk-proj-" + "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90",
    "sk-" + "T3BlbkFJ0123456789abcdefghijklmnopqrstuvwxyzAB",
    "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",             # Google (35 after AIza)
    "AKIA" + "IOSFODNN7EXAMPLE",                               # AWS access key id
    "ASIA" + "Y34FZKBOKMUTVV7A",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",                # AWS secret access key (40)
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIBq0ExampleSessionToken0123456789",
    "SK" + "0123456789abcdef0123456789abcdef",                 # Twilio API key SID
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
]
BY_SHAPE_KEYS = [(f"the key is {key} ok", key) for key in PROVIDER_KEYS] + [
    (f"({PROVIDER_KEYS[0]})", PROVIDER_KEYS[0]),
    (f'"{PROVIDER_KEYS[5]}",', PROVIDER_KEYS[5]),
    ("Authorization: Bearer 1x9lz59ftt3a3bzibkw4scy2", "1x9lz59ftt3a3bzibkw4scy2"),
    ("sk-proj-\u200bAb12Cd34Ef56Gh78Ij90Kl12", "Ab12Cd34Ef56Gh78Ij90Kl12"),   # zero-width inside
]

PRIVATE_KEYS = [
    ("k: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY----- ok",
     "MIIEowIBAAKCAQEA7"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE", "b3BlbnNzaC1rZXktdjE"),
    ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----",
     "MC4CAQAwBQYDK2VwBCIEIA"),
    ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIOk\n-----END EC PRIVATE KEY-----", "MHcCAQEEIOk"),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGX1abcBCAC\n=AbCd\n"
     "-----END PGP PRIVATE KEY BLOCK-----", "lQOYBGX1abcBCAC"),
]

URLS = [
    ("postgres://admin:hunter2@db.internal:5432/app", "hunter2"),
    ("redis://:s3cretpw@cache.local:6379/0", "s3cretpw"),
    ("mongodb+srv://app:Pa55w0rd@cluster0.example.net/db", "Pa55w0rd"),
    ("amqp://guest:guestpw1@rabbit:5672/", "guestpw1"),
    ("https://user:tok3n@example.com/private", "tok3n"),
    ("ftp://anon:ftp-pw-9@files.example.org", "ftp-pw-9"),
    ("mysql://root:r00t@127.0.0.1/db", "r00t"),
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX", "XXXXXXXXXXXXXXXX"),
]

EMAILS = [
    ("My email is jane.doe@example.com.", "jane.doe@example.com"),
    ("mail OMAR.Haddad+support@mail.example.co.uk now", "OMAR.Haddad+support@mail.example.co.uk"),
    ("mail renée@exämple.de", "renée@exämple.de"),
]

_IBANS = ("GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606",
          "NL91ABNA0417164300")


def _grouped(compact: str, sep: str) -> str:
    return sep.join(compact[i:i + 4] for i in range(0, len(compact), 4))


IBANS = [(f"pay to {iban} today", iban) for iban in _IBANS] + [
    (f"iban {_grouped(_IBANS[0], ' ')}.", _grouped(_IBANS[0], " ")),
    (f"iban {_grouped(_IBANS[1], '-')}", _grouped(_IBANS[1], "-")),
    (f"iban {_IBANS[2].lower()}", _IBANS[2].lower()),
    (f"iban {_grouped(_IBANS[3].lower(), ' ')} and more", _grouped(_IBANS[3].lower(), " ")),
    (f"IBAN {_grouped(_IBANS[0], ' ')} and {_IBANS[1]}", _IBANS[1]),
]

_CARDS = ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
          "3530111333300000", "4012888888881881", "2223003122003222")
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _card(digits: str, sep: str) -> str:
    if len(digits) == 15:                                   # Amex: 4-6-5
        return sep.join((digits[:4], digits[4:10], digits[10:]))
    return _grouped(digits, sep)


CARDS = [(f"card {_card(card, sep)} charged", _card(card, sep))
         for card in _CARDS for sep in ("", " ", "-")] + [
    (f"card {_grouped(_CARDS[0], sep)} ok", _grouped(_CARDS[0], sep))
    for sep in (".", "/", "_", "\u00a0", "\u202f", "\u2009")] + [
    (f"card {_grouped(_CARDS[0], ' ').translate(_FULL_WIDTH)}",
     _grouped(_CARDS[0], " ").translate(_FULL_WIDTH)),
    (f"card {_CARDS[1].translate(_FULL_WIDTH)}", _CARDS[1].translate(_FULL_WIDTH)),
    (f"ref {_CARDS[0]}-01", _CARDS[0]),
    ("4111 1111 1111 1111/12/27", "4111 1111 1111 1111"),
]

SSNS = [("SSN 078-05-1120.", "078-05-1120"), ("ssn 078 05 1120 on file", "078 05 1120"),
        ("my number is 219-09-9999", "219-09-9999")]

PHONES = [
    ("Call me on +1 415 555 3993.", "415 555 3993"),
    ("+14155550199", "4155550199"),
    ("+44 20 7946 0958", "7946 0958"),
    ("+33 1 23 45 67 89", "23 45 67 89"),
    ("+49 30 12345678", "12345678"),
    ("+91 98765 43210", "98765 43210"),
    ("(415) 555-0199", "555-0199"),
    ("415.555.0199", "415.555.0199"),
    ("415-555-0199", "415-555-0199"),
    ("1-800-555-0199", "800-555-0199"),
    ("ring 020 7946 0958 today", "020 7946 0958"),
    ("ring 07700 900123", "07700 900123"),
    ("appelez le 01 23 45 67 89", "01 23 45 67 89"),
    ("tel 0161 496 0000", "0161 496 0000"),
    ("Anruf 030 1234 5678", "030 1234 5678"),
]

SECRETS = BY_NAME + BY_SHAPE_KEYS + PRIVATE_KEYS + URLS + EMAILS + IBANS + CARDS + SSNS + PHONES

# ── look-alikes: ids, versions, dates, file and library names, numbers ──────────────────────────

LOOK_ALIKES = [
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    "traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "request 550e8400-e29b-41d4-a716-446655440000 done",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "merged a1b2c3d4e5f60718293a4b5c6d7e8f9012345678 into main",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "md5 a4111111111111111b, commit 4111111111111111f00d",
    "version 1.2.3-rc.4, python 3.11.7, node v20.10.0",
    "build 123.456.7890",
    "release 2026.11.02 at 10:30:00",
    "It costs $1,234.56, due 2026-11-02 at 10:30, on version 3.11.7.",
    "date 02-11-2026 and 2026/11/02",
    "at 1793610003123 ms, then 1793610003125",
    "id 9000000000000000008 and 8000000000000000006",
    "Where is my order 8136058643?",
    "Summarize support ticket #1324279381 for the weekly report.",
    "Card 4111 1111 1111 1112 was declined.",
    "GB82 WEST 1234 5698 7654 33",
    "GB82 is a postcode area, 000-12-3456 is no SSN",
    "use cafe@2x.png and icon@3x.jpg in the header",
    "pip install sk-learn-pipeline-utilities",
    "npm i @babel/core react-dom",
    "the token expired; authorization failed; my api key rotated",
    "I skimmed the risk-assessment; the Bearer of bad news was right.",
    "How do I paginate the orders endpoint?",
    "gen_ai.usage.input_tokens=669 gen_ai.usage.output_tokens=60",
    "max_tokens: 512, token_count: 12",
    "tokens=120 total_tokens=300",
    "author: Jane Doe",
    "sort key: 5, primary key = id",
    "skip the dashboard; gh pr list; hf datasets",
    "the file is skeleton_key_v2.py",
    "ipv4 10.0.0.1, 192.168.1.254:8080",
    "port 5432, pid 12345, uid 1000",
    "latency_ms=1311.8 ttft_ms=382.9 status=200",
    "http.response.status_code: 503",
    "price 19.99 EUR, qty 3, total 59.97",
    "the ratio 0.25 0.5 0.75",
    "ISBN 978-3-16-148410-0",
    "a duration of 00:01:30.500",
    "room 0.12.3 on floor 2",
    "model opslab-chat-1 on gpu-a100-80gb",
    "s3://my-bucket/logs/2026/11/02/app.log",
    "https://example.com/docs/getting-started?page=2&sort=asc",
    "mailto is not a mail: user at example dot com",
    "README.md, setup.py, skeleton.tar.gz",
    "ghost_town and ghastly sky",
    "AKIAISOTOOSHORT and ASIA-pacific",
    "the SHA is 40 chars like da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "base 64 word: SGVsbG8gd29ybGQ=",
    "sg.example.com and SG.short",
    "telemetry 1.7e308 and -0.0 and 1e-9",
    "x-request-id: 7f3c2a1b",
    "content-type: application/json; charset=utf-8",
    "user-agent: curl/8.4.0",
    "session_count: 3 of 5 sessions",
    "The auth flow uses OAuth 2.0 (RFC 6749).",
    "The password policy needs 12 characters.",
    "keyboard shortcut ctrl+k, hotkey F5",
    "whsec is Stripe's prefix for webhook secrets",
    "ticket PROJ-1234 and PROJ-5678",
    "ratio 3/4 and 1/2, page 12/30",
    "DE is Germany; FR1420 is not a bank account",
    "2026-11-02T09:00:03.123Z INFO request.completed",
]



# ── the worst case of each pattern, at 64 KB ────────────────────────────────────────────────────

N = 1 << 16


def _fill(unit: str, tail: str = "") -> str:
    return (unit * (N // len(unit) + 1))[:N - len(tail)] + tail


# The input that makes each pattern work hardest: long runs of what it reads, with the one
# character that would complete a match missing (a backtracking pattern is quadratic on them:
# "a+" * 32000 + "://" took 11 s, "eyJ-" * 16000 6 s)
WORST = {
    "url_credentials": [_fill("a+", "://"), _fill("s://u:p"), _fill("redis://:")],
    "webhook": [_fill("https://hooks.slack.com/services/")],
    "email": [_fill("a@"), _fill("a.", "@x"), _fill("a@b.c.d."), _fill("a", "@b.cc")],
    "bearer_token": [_fill("bearer "), "bearer " + _fill("a")],
    "jwt": [_fill("eyJ-"), _fill("eyJabcd.")],
    "api_key": [_fill("sk-"), _fill("ghp_"), _fill("AIza"), _fill("SG.")],
    "aws_access_key_id": [_fill("AKIA")],
    "aws_secret_access_key": [_fill("Ab1/" * 10 + " "), _fill("IQoJb3JpZ2lu")],
    "iban": [_fill("GB82"), _fill("GB82 ")],
    "card": [_fill("4"), _fill("4111 "), _fill("1-"), _fill("４")],
    "ssn": [_fill("078-05-")],
    "phone": [_fill("+1 "), _fill("(415) "), _fill("0 12 "), _fill("415-555-")],
    "by name": [_fill('password: "x '), _fill("password="), _fill('"a": '), _fill('"'),
                _fill("a "), _fill("a_", ":"), _fill("Cookie: a=b; ")],
    "private_key": [_fill("-----BEGIN PRIVATE KEY-----"),
                    _fill("-----BEGIN RSA PRIVATE KEY-----\n-----END")],
    "escapes": [_fill("\x1b["), _fill("\x1b]"), _fill("\u200ba")],
}
