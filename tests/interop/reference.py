#!/usr/bin/env python3
"""Reference implementation (test oracle) of webhook HMAC-SHA256 and Ed25519 signing and
verification for the hooksig interop tests.  Python 3.11: stdlib for HMAC; Ed25519 with
the `cryptography` package (OpenSSL), imported only when a case needs it.

Independent twin of reference.js: both must produce identical output.
Protocol (see README.md):  python3 reference.py sign|verify < cases.json
                           python3 reference.py selftest
"""
import base64
import hashlib
import hmac
import json
import sys

B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
HEX_CHARS = frozenset("0123456789abcdefABCDEF")
DIGITS = frozenset("0123456789")
WS = frozenset(" \t\r\n")
I64_MAX = 2**63 - 1
SAFE_MAX = 2**53 - 1  # largest JSON integer both implementations read exactly
MAX_ENTRIES = 16
LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# name: (format, signature header, hex prefix, (id header, covered by MAC), timestamp header,
#        secret kind, (past, future) tolerance in seconds)
SCHEMES = {
    "tale": ("hex", "X-Tale-Signature", "sha256=", None, None, "raw", None),
    "vocalis": ("hex", "X-Vocalis-Signature", "sha256=", None, None, "raw", None),
    "github": ("hex", "X-Hub-Signature-256", "sha256=", ("X-GitHub-Delivery", False), None, "raw", None),
    "oktave": ("hex", "Oktave-Signature", "", ("Oktave-Event-Id", True), "Oktave-Timestamp", "raw", (3600, 300)),
    "standard_webhooks": ("list", "webhook-signature", None, ("webhook-id", True), "webhook-timestamp",
                          "whsec", (300, 300)),
    "svix": ("list", "svix-signature", None, ("svix-id", True), "svix-timestamp", "whsec", (300, 300)),
    "stripe": ("stripe", "Stripe-Signature", None, None, None, "raw", (300, 300)),
    "slack": ("hex", "X-Slack-Signature", "v0=", None, "X-Slack-Request-Timestamp", "raw", (300, 300)),
    "shopify": ("b64", "X-Shopify-Hmac-Sha256", None, ("X-Shopify-Webhook-Id", False), None, "raw", None),
    # Ed25519 only: hex signature over timestamp ‖ body, hex keys.
    "discord": ("ed_hex", "X-Signature-Ed25519", "", None, "X-Signature-Timestamp", "none", (300, 300)),
}
MAX_ED25519 = 4  # Ed25519 candidates per delivery
LIST_SCHEMES = ("standard_webhooks", "svix")  # `v1` HMAC and `v1a` Ed25519 entries

class Fail(Exception):
    """A signing/verification failure; str(e) is the short error code."""

def b64decode_loose(s):
    """Standard alphabet, padding optional (but correct if present); None if undecodable/empty."""
    core = s.rstrip("=")
    if not core or any(c not in B64_CHARS for c in core) or len(core) % 4 == 1:
        return None
    if len(s) - len(core) > 2 or (len(s) != len(core) and len(s) % 4):
        return None
    return base64.b64decode(core + "=" * (-len(core) % 4))

def ed25519():
    from cryptography.hazmat.primitives.asymmetric import ed25519 as ed  # pip install cryptography
    return ed

def decode_ed_key(scheme, text, prefix):
    """Key bytes from `whpk_`/`whsk_` + base64 (prefix and padding optional) or hex (discord)."""
    if scheme == "discord":
        if not text or len(text) % 2 or any(c not in HEX_CHARS for c in text):
            return None
        return bytes.fromhex(text)
    return b64decode_loose(text[len(prefix):] if text.startswith(prefix) else text)

def public_keys(scheme, keys):
    out = []
    for k in keys:
        if scheme not in LIST_SCHEMES and scheme != "discord":
            raise Fail("invalid_secret")
        if scheme in LIST_SCHEMES and k.startswith("whsk_"):
            raise Fail("invalid_secret")  # a signing key where a public key belongs
        raw = decode_ed_key(scheme, k, "whpk_")
        if raw is None or len(raw) != 32:
            raise Fail("invalid_secret")
        try:
            out.append(ed25519().Ed25519PublicKey.from_public_bytes(raw))
        except ValueError:
            raise Fail("invalid_secret")
    return out

def signing_keys(scheme, keys):
    out = []
    for k in keys:
        if scheme not in LIST_SCHEMES and scheme != "discord":
            raise Fail("invalid_secret")
        raw = decode_ed_key(scheme, k, "whsk_")
        if raw is None or len(raw) not in (32, 64):
            raise Fail("invalid_secret")
        key = ed25519().Ed25519PrivateKey.from_private_bytes(raw[:32])
        if len(raw) == 64 and key.public_key().public_bytes_raw() != raw[32:]:
            raise Fail("invalid_secret")  # the halves disagree
        out.append(key)
    return out

def secret_keys(scheme, secrets, others=0):
    """HMAC keys; `others` is how many Ed25519 keys come with them (a key list may not be empty)."""
    if secrets and SCHEMES[scheme][5] == "none":
        raise Fail("invalid_secret")
    keys = []
    for s in secrets:
        if SCHEMES[scheme][5] == "whsec":
            key = b64decode_loose(s[6:] if s.startswith("whsec_") else s)
        else:
            key = s.encode("utf-8") or None
        if key is None:
            raise Fail("invalid_secret")
        keys.append(key)
    if not keys and not others:
        raise Fail("invalid_secret")
    return keys

def message(scheme, body, msg_id, ts):
    if scheme in ("standard_webhooks", "svix"):
        return f"{msg_id}.{ts}.".encode() + body
    if scheme == "oktave":
        return f"{msg_id}{ts}".encode()
    if scheme == "stripe":
        return f"{ts}.".encode() + body
    if scheme == "slack":
        return f"v0:{ts}:".encode() + body
    if scheme == "discord":
        return f"{ts}".encode() + body
    return body

def mac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()

def sign(scheme, secrets, msg_id, ts, body, signing=()):
    fmt, sig_h, prefix, id_h, ts_h, _, tolerance = SCHEMES[scheme]
    keys = secret_keys(scheme, secrets, len(signing))
    eds = signing_keys(scheme, signing)
    if tolerance and ts is None:
        raise Fail("missing_timestamp")
    if id_h and id_h[1] and not msg_id:
        raise Fail("missing_id")
    msg = message(scheme, body, msg_id, ts)
    headers = []
    if id_h and msg_id is not None:
        headers.append([id_h[0], msg_id])
    if ts_h:
        headers.append([ts_h, str(ts)])
    if fmt == "list":  # secrets first, then signing keys
        value = " ".join(["v1," + base64.b64encode(mac(k, msg)).decode() for k in keys]
                         + ["v1a," + base64.b64encode(k.sign(msg)).decode() for k in eds])
    elif fmt == "ed_hex":
        value = eds[0].sign(msg).hex()
    elif fmt == "stripe":
        value = ",".join([f"t={ts}"] + ["v1=" + mac(k, msg).hex() for k in keys])
    elif fmt == "b64":
        value = base64.b64encode(mac(keys[0], msg)).decode()
    else:
        value = prefix + mac(keys[0], msg).hex()
    return headers + [[sig_h, value]]

def parse_hex(v):
    if len(v) != 64 or any(c not in HEX_CHARS for c in v):
        raise Fail("malformed")
    return bytes.fromhex(v)

def parse_b64(v):
    if len(v) != 44 or v[43] != "=" or any(c not in B64_CHARS for c in v[:43]):
        raise Fail("malformed")
    return base64.b64decode(v)

def parse_ts(v):
    if not v or any(c not in DIGITS for c in v) or (len(v) > 1 and v[0] == "0") or int(v) > I64_MAX:
        raise Fail("malformed")
    return int(v)

def header_values(headers, name):
    name = name.translate(LOWER)
    return [v for n, v in headers if n.translate(LOWER) == name]

def single_header(headers, name):
    values = header_values(headers, name)
    if not values:
        raise Fail("missing")
    if len(values) > 1:
        raise Fail("malformed")
    return values[0]

def parse_ed(v, fmt):
    """A 64-byte Ed25519 signature: 128 hex digits (any case) or 88 characters of padded base64."""
    if fmt == "ed_hex":
        if len(v) != 128 or any(c not in HEX_CHARS for c in v):
            raise Fail("malformed")
        return bytes.fromhex(v)
    if len(v) != 88 or v[86:] != "==" or any(c not in B64_CHARS for c in v[:86]):
        raise Fail("malformed")
    return base64.b64decode(v)

def candidates(scheme, values, want_hmac=True, want_ed=False):
    """Parse all signature header lines; return (HMAC tags, Ed25519 signatures, stripe t or None).
    Entries of a kind the verifier has no key for are skipped, like unknown versions."""
    fmt, _, prefix, _, _, _, _ = SCHEMES[scheme]
    tags, sigs, entries, stripe_ts = [], [], 0, []
    for v in values:
        if all(c in WS for c in v):
            raise Fail("malformed")
        if fmt == "list":
            for tok in v.split(" "):
                if tok:
                    entries += 1
                    version, comma, sig = tok.partition(",")
                    if not comma or not version:
                        raise Fail("malformed")
                    if version == "v1" and want_hmac:
                        tags.append(parse_b64(sig))
                    elif version == "v1a" and want_ed:
                        sigs.append(parse_ed(sig, fmt))
        elif fmt == "stripe":
            for item in v.split(","):
                k, eq, val = item.partition("=")
                if not eq or not k:
                    raise Fail("malformed")
                if k == "t":
                    stripe_ts.append(val)
                    continue
                entries += 1
                if k == "v1":
                    tags.append(parse_hex(val))
        elif fmt == "ed_hex":
            entries += 1
            if want_ed:
                sigs.append(parse_ed(v, fmt))
        else:
            entries += 1
            if fmt == "b64":
                tags.append(parse_b64(v))
            elif v.startswith(prefix):
                tags.append(parse_hex(v[len(prefix):]))
            else:
                raise Fail("malformed")
        if entries > MAX_ENTRIES or len(sigs) > MAX_ED25519:
            raise Fail("malformed")
    if fmt == "stripe" and len(stripe_ts) != 1:
        raise Fail("malformed")
    if not tags and not sigs:
        raise Fail("malformed")
    return tags, sigs, (parse_ts(stripe_ts[0]) if fmt == "stripe" else None)

def ed_verifies(public, sig, msg):
    try:
        public.verify(sig, msg)
        return True
    except Exception:  # cryptography.exceptions.InvalidSignature
        return False

def verify(scheme, secrets, headers, body, now, publics=()):
    """Return the index of the first matching key (secrets, then public keys), or raise Fail(code)."""
    _, sig_h, _, id_h, ts_h, _, tolerance = SCHEMES[scheme]
    keys = secret_keys(scheme, secrets, len(publics))
    eds = public_keys(scheme, publics)
    values = header_values(headers, sig_h)
    if not values:
        raise Fail("missing")
    tags, sigs, ts = candidates(scheme, values, bool(keys), bool(eds))
    msg_id = None
    if id_h and id_h[1]:  # uncovered ids (github, shopify) are ignored
        msg_id = single_header(headers, id_h[0])
        if msg_id == "":
            raise Fail("malformed")
    if ts_h:
        ts = parse_ts(single_header(headers, ts_h))
    if tolerance and ts < now - tolerance[0]:
        raise Fail("too_old")
    if tolerance and ts > now + tolerance[1]:
        raise Fail("in_future")
    msg = message(scheme, body, msg_id, ts)
    for i, key in enumerate(keys):
        expected = mac(key, msg)
        if sum(hmac.compare_digest(expected, t) for t in tags):  # no short-circuit over candidates
            return i
    for i, public in enumerate(eds):
        if any(ed_verifies(public, s, msg) for s in sigs):
            return len(keys) + i
    raise Fail("mismatch")

# ------------------------------------------------------------------ CLI glue
def usage(msg):
    sys.stderr.write(f"reference.py: {msg}\n")
    sys.exit(2)

def check(cond, what):
    if not cond:
        usage(f"bad case field: {what}")

def is_str(v):  # well-formed Unicode only (no lone surrogates), like String.isWellFormed
    return isinstance(v, str) and not any(0xD800 <= ord(c) <= 0xDFFF for c in v)

def is_int(v):
    return type(v) is int and 0 <= v <= SAFE_MAX  # same range as Number.isSafeInteger, non-negative

def run_case(cmd, case):
    check(isinstance(case, dict), "case is not an object")
    scheme, secrets, body_b64 = case.get("scheme"), case.get("secrets"), case.get("body_b64")
    check(is_str(scheme) and scheme in SCHEMES, "scheme")
    check(isinstance(secrets, list) and all(is_str(s) for s in secrets), "secrets")
    check(is_str(body_b64), "body_b64")
    eds = case.get("signing_keys" if cmd == "sign" else "public_keys", [])
    check(isinstance(eds, list) and all(is_str(k) for k in eds), "signing_keys/public_keys")
    body = b"" if body_b64 == "" else b64decode_loose(body_b64)
    check(body is not None, "body_b64")
    try:
        if cmd == "sign":
            msg_id, ts = case.get("id"), case.get("timestamp")
            check(msg_id is None or is_str(msg_id), "id")
            check(ts is None or is_int(ts), "timestamp")
            return {"headers": sign(scheme, secrets, msg_id, ts, body, eds)}
        headers, now = case.get("headers"), case.get("now")
        check(isinstance(headers, list) and all(
            isinstance(h, list) and len(h) == 2 and all(is_str(x) for x in h) for h in headers), "headers")
        check(is_int(now), "now")
        return {"ok": True, "key_index": verify(scheme, secrets, headers, body, now, eds), "error": None}
    except Fail as e:
        return {"error": str(e)} if cmd == "sign" else {"ok": False, "key_index": None, "error": str(e)}

def need(cond, msg):  # not `assert`: must also work under python -O
    if not cond:
        raise AssertionError(msg)

def expect_fail(code, fn, *args):
    try:
        fn(*args)
    except Fail as e:
        return need(str(e) == code, f"{args[0]}: expected {code}, got {e}")
    need(False, f"{args[0]}: expected {code}, got success")

def selftest():
    # Slack's published example body has "command=%2Fwebhook-collect".
    slack_body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
                  b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
                  b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F"
                  b"96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    vectors = [  # scheme, secret, id, ts, body, expected signature header value
        ("github", "It's a Secret to Everybody", None, None, b"Hello, World!",
         "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
        ("github", "mysecret", None, None, b'{"foo":"bar"}',
         "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"),
        ("standard_webhooks", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
         1649367553, b'{"email":"test@example.com","username":"test_user"}',
         "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="),
        ("svix", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
         b'{"test": 2432232314}', "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        ("slack", "8f742231b10e8888abcd99yyyzzz85a5", None, 1531420618, slack_body,
         "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
    ]
    for scheme, secret, msg_id, ts, body, want in vectors:
        hs = sign(scheme, [secret], msg_id, ts, body)
        got = header_values(hs, SCHEMES[scheme][1])[0]
        need(got == want, f"{scheme} vector: got {got}, want {want}")
        need(verify(scheme, [secret], hs, body, ts or 0) == 0, f"{scheme} vector does not verify")
    a, b, c, now = "whsec_QUFBQUFBQUE=", "whsec_QkJCQkJC", "whsec_Q0NDQw", 1700000000
    body = bytes(range(256))  # non-UTF-8 on purpose
    for scheme in SCHEMES:
        if scheme == "discord":
            continue
        hs = sign(scheme, [b, a], "evt_1", now, body)
        need(verify(scheme, [b], hs, body, now) == 0, f"{scheme}: own signature rejected")
        if scheme == "oktave":  # body is not covered; tamper with the event id instead
            expect_fail("mismatch", verify, scheme, [b], [[n, "evt_2" if v == "evt_1" else v] for n, v in hs],
                        body, now)
        else:
            expect_fail("mismatch", verify, scheme, [b], hs, body + b"x", now)
        need(verify(scheme, [c, b], hs, body, now) == 1, f"{scheme}: rotation key_index")
        if SCHEMES[scheme][0] in ("list", "stripe"):  # one signature per secret
            need(verify(scheme, [c, a, b], hs, body, now) == 1, f"{scheme}: second signature")
        if SCHEMES[scheme][6]:
            expect_fail("too_old", verify, scheme, [b], hs, body, now + SCHEMES[scheme][6][0] + 1)
            expect_fail("in_future", verify, scheme, [b], hs, body, now - 301)
        expect_fail("missing", verify, scheme, [b], [], body, now)
    ed_selftest()
    print("ok")

# RFC 8032, section 7.1, tests 1-3: (seed, public key, message, signature), hex.
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]

def ed_selftest():
    ed = ed25519()
    for seed, pub, msg, sig in RFC8032:
        key = ed.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
        need(key.public_key().public_bytes_raw().hex() == pub, "RFC 8032 public key")
        need(key.sign(bytes.fromhex(msg)).hex() == sig, "RFC 8032 signature")
    seed1, pub1, _, _ = RFC8032[0]
    seed2, pub2, _, _ = RFC8032[1]
    b64 = lambda h: base64.b64encode(bytes.fromhex(h)).decode()
    sk1, pk1, pk2 = "whsk_" + b64(seed1), "whpk_" + b64(pub1), "whpk_" + b64(pub2)
    now, body, secret = 1700000000, b'{"type":1}', "whsec_QUFBQUFBQUE="
    hs = sign("standard_webhooks", [secret], "msg_1", now, body, [sk1])
    value = header_values(hs, "webhook-signature")[0]
    need(value.startswith("v1,") and " v1a," in value, f"mixed header: {value}")
    need(verify("standard_webhooks", [], hs, body, now, [pk1]) == 0, "v1a alone")
    need(verify("standard_webhooks", [secret], hs, body, now, [pk2, pk1]) == 0, "v1 first")
    need(verify("standard_webhooks", ["whsec_Q0NDQw"], hs, body, now, [pk2, pk1]) == 2, "rotation")
    expect_fail("mismatch", verify, "standard_webhooks", [], hs, body + b"x", now, [pk1])
    expect_fail("invalid_secret", verify, "standard_webhooks", [], hs, body, now, ["whpk_AAAA"])
    expect_fail("invalid_secret", verify, "standard_webhooks", [], hs, body, now, [sk1])
    hd = sign("discord", [], None, now, body, [seed1 + pub1])
    need(verify("discord", [], hd, body, now, [pub2, pub1]) == 1, "discord rotation")
    expect_fail("mismatch", verify, "discord", [], [[n, str(now + 1) if v == str(now) else v] for n, v in hd],
                body, now, [pub1])
    expect_fail("invalid_secret", sign, "discord", [], None, now, body, [seed1 + pub2])

def no_constant(name):
    raise ValueError(f"{name} is not JSON")

def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("sign", "verify", "selftest"):
        usage("usage: reference.py sign|verify|selftest")
    if sys.argv[1] == "selftest":
        try:
            selftest()
        except (AssertionError, Fail) as e:
            print(f"FAIL: {e!r}")
            sys.exit(1)
        return
    try:
        # Read numbers as JSON.parse does (1.0 / 1e3 are integers; NaN/Infinity are not JSON).
        cases = json.loads(sys.stdin.buffer.read().decode("utf-8"), parse_constant=no_constant,
                           parse_float=lambda s: int(f) if (f := float(s)).is_integer() else f)
    except ValueError as e:
        usage(f"bad JSON on stdin: {e}")
    if not isinstance(cases, list):
        usage("stdin must be a JSON array of cases")
    out = json.dumps([run_case(sys.argv[1], c) for c in cases], separators=(",", ":"), ensure_ascii=False)
    sys.stdout.buffer.write(out.encode("utf-8") + b"\n")  # byte-identical to JSON.stringify

if __name__ == "__main__":
    main()
