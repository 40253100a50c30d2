#!/usr/bin/env node
// Reference implementation (test oracle) of webhook HMAC-SHA256 and Ed25519 signing and
// verification for the hooksig interop tests.  Node 20, stdlib only (crypto, fs).
//
// Independent twin of reference.py: both must produce identical output.
// Protocol (see README.md):  node reference.js sign|verify < cases.json
//                            node reference.js selftest
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const B64_RE = /^[A-Za-z0-9+/]*$/;
const HEX64_RE = /^[0-9a-fA-F]{64}$/;
const TAG_B64_RE = /^[A-Za-z0-9+/]{43}=$/;
const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
const I64_MAX = 2n ** 63n - 1n;
const MAX_ENTRIES = 16;

// name: [format, signature header, hex prefix, [id header, covered by MAC], timestamp header,
//        secret kind, [past, future] tolerance in seconds]
const SCHEMES = {
  tale: ['hex', 'X-Tale-Signature', 'sha256=', null, null, 'raw', null],
  vocalis: ['hex', 'X-Vocalis-Signature', 'sha256=', null, null, 'raw', null],
  github: ['hex', 'X-Hub-Signature-256', 'sha256=', ['X-GitHub-Delivery', false], null, 'raw', null],
  oktave: ['hex', 'Oktave-Signature', '', ['Oktave-Event-Id', true], 'Oktave-Timestamp', 'raw', [3600n, 300n]],
  standard_webhooks: ['list', 'webhook-signature', null, ['webhook-id', true], 'webhook-timestamp', 'whsec', [300n, 300n]],
  svix: ['list', 'svix-signature', null, ['svix-id', true], 'svix-timestamp', 'whsec', [300n, 300n]],
  stripe: ['stripe', 'Stripe-Signature', null, null, null, 'raw', [300n, 300n]],
  slack: ['hex', 'X-Slack-Signature', 'v0=', null, 'X-Slack-Request-Timestamp', 'raw', [300n, 300n]],
  shopify: ['b64', 'X-Shopify-Hmac-Sha256', null, ['X-Shopify-Webhook-Id', false], null, 'raw', null],
  // Ed25519 only: hex signature over timestamp ‖ body, hex keys.
  discord: ['ed_hex', 'X-Signature-Ed25519', '', null, 'X-Signature-Timestamp', 'none', [300n, 300n]],
};
const MAX_ED25519 = 4; // Ed25519 candidates per delivery
const LIST_SCHEMES = ['standard_webhooks', 'svix']; // `v1` HMAC and `v1a` Ed25519 entries
const HEX_RE = /^(?:[0-9a-fA-F]{2})+$/;
const SIG_HEX_RE = /^[0-9a-fA-F]{128}$/;
const SIG_B64_RE = /^[A-Za-z0-9+/]{86}==$/;
// DER wrappers for raw Ed25519 keys (RFC 8410): PKCS#8 private key, SPKI public key.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A signing/verification failure; .message is the short error code. */
class Fail extends Error {}

/** Standard alphabet, padding optional (but correct if present); null if undecodable/empty. */
function b64decodeLoose(s) {
  const core = s.replace(/=+$/, '');
  if (core === '' || !B64_RE.test(core) || core.length % 4 === 1) return null;
  if (s.length - core.length > 2 || (s.length !== core.length && s.length % 4 !== 0)) return null;
  return Buffer.from(core, 'base64');
}

/** Key bytes from `whpk_`/`whsk_` + base64 (prefix and padding optional) or hex (discord). */
function decodeEdKey(scheme, text, prefix) {
  if (scheme === 'discord') return HEX_RE.test(text) ? Buffer.from(text, 'hex') : null;
  return b64decodeLoose(text.startsWith(prefix) ? text.slice(prefix.length) : text);
}

const hasEd25519 = (scheme) => LIST_SCHEMES.includes(scheme) || scheme === 'discord';

function publicKeys(scheme, keys) {
  return keys.map((k) => {
    if (!hasEd25519(scheme)) throw new Fail('invalid_secret');
    if (LIST_SCHEMES.includes(scheme) && k.startsWith('whsk_')) throw new Fail('invalid_secret');
    const raw = decodeEdKey(scheme, k, 'whpk_');
    if (raw === null || raw.length !== 32) throw new Fail('invalid_secret');
    try {
      return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    } catch {
      throw new Fail('invalid_secret');
    }
  });
}

const rawPublic = (key) => crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12);

function signingKeys(scheme, keys) {
  return keys.map((k) => {
    if (!hasEd25519(scheme)) throw new Fail('invalid_secret');
    const raw = decodeEdKey(scheme, k, 'whsk_');
    if (raw === null || (raw.length !== 32 && raw.length !== 64)) throw new Fail('invalid_secret');
    const key = crypto.createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8',
    });
    if (raw.length === 64 && !rawPublic(key).equals(raw.subarray(32))) throw new Fail('invalid_secret');
    return key;
  });
}

/** HMAC keys; `others` is how many Ed25519 keys come with them (a key list may not be empty). */
function secretKeys(scheme, secrets, others = 0) {
  if (secrets.length > 0 && SCHEMES[scheme][5] === 'none') throw new Fail('invalid_secret');
  const keys = secrets.map((s) => {
    const key = SCHEMES[scheme][5] === 'whsec'
      ? b64decodeLoose(s.startsWith('whsec_') ? s.slice(6) : s)
      : (s === '' ? null : Buffer.from(s, 'utf8'));
    if (key === null) throw new Fail('invalid_secret');
    return key;
  });
  if (keys.length === 0 && others === 0) throw new Fail('invalid_secret');
  return keys;
}

function message(scheme, body, id, ts) {
  const b = (s) => Buffer.from(s, 'utf8');
  if (scheme === 'standard_webhooks' || scheme === 'svix') return Buffer.concat([b(`${id}.${ts}.`), body]);
  if (scheme === 'oktave') return b(`${id}${ts}`);
  if (scheme === 'stripe') return Buffer.concat([b(`${ts}.`), body]);
  if (scheme === 'slack') return Buffer.concat([b(`v0:${ts}:`), body]);
  if (scheme === 'discord') return Buffer.concat([b(`${ts}`), body]);
  return body;
}

const mac = (key, msg) => crypto.createHmac('sha256', key).update(msg).digest();

const edSign = (key, msg) => crypto.sign(null, msg, key);

function sign(scheme, secrets, id, ts, body, signing = []) {
  const [fmt, sigH, prefix, idH, tsH, , tolerance] = SCHEMES[scheme];
  const keys = secretKeys(scheme, secrets, signing.length);
  const eds = signingKeys(scheme, signing);
  if (tolerance && ts === null) throw new Fail('missing_timestamp');
  if (idH && idH[1] && !id) throw new Fail('missing_id');
  const msg = message(scheme, body, id, ts);
  const headers = [];
  if (idH && id !== null) headers.push([idH[0], id]);
  if (tsH) headers.push([tsH, String(ts)]);
  let value;
  if (fmt === 'list') { // secrets first, then signing keys
    value = [...keys.map((k) => 'v1,' + mac(k, msg).toString('base64')),
      ...eds.map((k) => 'v1a,' + edSign(k, msg).toString('base64'))].join(' ');
  } else if (fmt === 'ed_hex') value = edSign(eds[0], msg).toString('hex');
  else if (fmt === 'stripe') value = [`t=${ts}`, ...keys.map((k) => 'v1=' + mac(k, msg).toString('hex'))].join(',');
  else if (fmt === 'b64') value = mac(keys[0], msg).toString('base64');
  else value = prefix + mac(keys[0], msg).toString('hex');
  headers.push([sigH, value]);
  return headers;
}

function parseHex(v) {
  if (!HEX64_RE.test(v)) throw new Fail('malformed');
  return Buffer.from(v, 'hex');
}

function parseB64(v) {
  if (!TAG_B64_RE.test(v)) throw new Fail('malformed');
  return Buffer.from(v, 'base64');
}

function parseTs(v) {
  if (!DECIMAL_RE.test(v) || BigInt(v) > I64_MAX) throw new Fail('malformed');
  return BigInt(v);
}

const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function headerValues(headers, name) {
  const want = asciiLower(name);
  return headers.filter(([n]) => asciiLower(n) === want).map(([, v]) => v);
}

function singleHeader(headers, name) {
  const values = headerValues(headers, name);
  if (values.length === 0) throw new Fail('missing');
  if (values.length > 1) throw new Fail('malformed');
  return values[0];
}

/** A 64-byte Ed25519 signature: 128 hex digits (any case) or 88 characters of padded base64. */
function parseEd(v, fmt) {
  if (!(fmt === 'ed_hex' ? SIG_HEX_RE : SIG_B64_RE).test(v)) throw new Fail('malformed');
  return Buffer.from(v, fmt === 'ed_hex' ? 'hex' : 'base64');
}

/** Parse all signature header lines; return [HMAC tags, Ed25519 signatures, stripe t or null].
 *  Entries of a kind the verifier has no key for are skipped, like unknown versions. */
function candidates(scheme, values, wantHmac = true, wantEd = false) {
  const [fmt, , prefix] = SCHEMES[scheme];
  const tags = [];
  const sigs = [];
  const stripeTs = [];
  let entries = 0;
  for (const v of values) {
    if (/^[ \t\r\n]*$/.test(v)) throw new Fail('malformed');
    if (fmt === 'list') {
      for (const tok of v.split(' ')) {
        if (tok === '') continue;
        entries += 1;
        const comma = tok.indexOf(',');
        if (comma <= 0) throw new Fail('malformed'); // no comma, or empty version
        const version = tok.slice(0, comma);
        if (version === 'v1' && wantHmac) tags.push(parseB64(tok.slice(comma + 1)));
        else if (version === 'v1a' && wantEd) sigs.push(parseEd(tok.slice(comma + 1), fmt));
      }
    } else if (fmt === 'stripe') {
      for (const item of v.split(',')) {
        const eq = item.indexOf('=');
        if (eq <= 0) throw new Fail('malformed'); // no '=', or empty key
        const [k, val] = [item.slice(0, eq), item.slice(eq + 1)];
        if (k === 't') { stripeTs.push(val); continue; }
        entries += 1;
        if (k === 'v1') tags.push(parseHex(val));
      }
    } else if (fmt === 'ed_hex') {
      entries += 1;
      if (wantEd) sigs.push(parseEd(v, fmt));
    } else {
      entries += 1;
      if (fmt === 'b64') tags.push(parseB64(v));
      else if (v.startsWith(prefix)) tags.push(parseHex(v.slice(prefix.length)));
      else throw new Fail('malformed');
    }
    if (entries > MAX_ENTRIES || sigs.length > MAX_ED25519) throw new Fail('malformed');
  }
  if (fmt === 'stripe' && stripeTs.length !== 1) throw new Fail('malformed');
  if (tags.length === 0 && sigs.length === 0) throw new Fail('malformed');
  return [tags, sigs, fmt === 'stripe' ? parseTs(stripeTs[0]) : null];
}

/** Return the index of the first matching key (secrets, then public keys), or throw Fail(code).
 *  `now` is a Number. */
function verify(scheme, secrets, headers, body, now, publics = []) {
  const [, sigH, , idH, tsH, , tolerance] = SCHEMES[scheme];
  const keys = secretKeys(scheme, secrets, publics.length);
  const eds = publicKeys(scheme, publics);
  const values = headerValues(headers, sigH);
  if (values.length === 0) throw new Fail('missing');
  let [tags, sigs, ts] = candidates(scheme, values, keys.length > 0, eds.length > 0);
  let id = null;
  if (idH && idH[1]) { // uncovered ids (github, shopify) are ignored
    id = singleHeader(headers, idH[0]);
    if (id === '') throw new Fail('malformed');
  }
  if (tsH) ts = parseTs(singleHeader(headers, tsH));
  if (tolerance && ts < BigInt(now) - tolerance[0]) throw new Fail('too_old');
  if (tolerance && ts > BigInt(now) + tolerance[1]) throw new Fail('in_future');
  const msg = message(scheme, body, id, ts);
  for (let i = 0; i < keys.length; i++) {
    const expected = mac(keys[i], msg);
    // no short-circuit over candidates
    if (tags.reduce((hit, t) => crypto.timingSafeEqual(expected, t) | hit, 0)) return i;
  }
  for (let i = 0; i < eds.length; i++) {
    if (sigs.some((s) => crypto.verify(null, msg, eds[i], s))) return keys.length + i;
  }
  throw new Fail('mismatch');
}

// ------------------------------------------------------------------ CLI glue
function usage(msg) {
  process.stderr.write(`reference.js: ${msg}\n`);
  process.exit(2);
}

function check(cond, what) {
  if (!cond) usage(`bad case field: ${what}`);
}

const isStr = (v) => typeof v === 'string' && v.isWellFormed();
const isInt = (v) => Number.isSafeInteger(v) && v >= 0;
const opt = (v) => (v === undefined ? null : v);

function runCase(cmd, c) {
  check(typeof c === 'object' && c !== null && !Array.isArray(c), 'case is not an object');
  const { scheme, secrets, body_b64: bodyB64 } = c;
  check(isStr(scheme) && Object.hasOwn(SCHEMES, scheme), 'scheme');
  check(Array.isArray(secrets) && secrets.every(isStr), 'secrets');
  check(isStr(bodyB64), 'body_b64');
  const eds = opt(c[cmd === 'sign' ? 'signing_keys' : 'public_keys']) ?? [];
  check(Array.isArray(eds) && eds.every(isStr), 'signing_keys/public_keys');
  const body = bodyB64 === '' ? Buffer.alloc(0) : b64decodeLoose(bodyB64);
  check(body !== null, 'body_b64');
  try {
    if (cmd === 'sign') {
      const [id, ts] = [opt(c.id), opt(c.timestamp)];
      check(id === null || isStr(id), 'id');
      check(ts === null || isInt(ts), 'timestamp');
      return { headers: sign(scheme, secrets, id, ts, body, eds) };
    }
    const { headers, now } = c;
    check(Array.isArray(headers) && headers.every(
      (h) => Array.isArray(h) && h.length === 2 && h.every(isStr)), 'headers');
    check(isInt(now), 'now');
    return { ok: true, key_index: verify(scheme, secrets, headers, body, now, eds), error: null };
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    return cmd === 'sign' ? { error: e.message } : { ok: false, key_index: null, error: e.message };
  }
}

function need(cond, msg) {
  if (!cond) throw new Error(msg);
}

function expectFail(code, fn, ...args) {
  try {
    fn(...args);
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    return need(e.message === code, `${args[0]}: expected ${code}, got ${e.message}`);
  }
  need(false, `${args[0]}: expected ${code}, got success`);
}

function selftest() {
  const B = (s) => Buffer.from(s, 'utf8');
  // Slack's published example body has "command=%2Fwebhook-collect".
  const slackBody = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V'
    + '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text='
    + '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F'
    + '96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const vectors = [ // scheme, secret, id, ts, body, expected signature header value
    ['github', "It's a Secret to Everybody", null, null, B('Hello, World!'),
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'],
    ['github', 'mysecret', null, null, B('{"foo":"bar"}'),
      'sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3'],
    ['standard_webhooks', 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD', 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
      1649367553, B('{"email":"test@example.com","username":"test_user"}'),
      'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw='],
    ['svix', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
      B('{"test": 2432232314}'), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['slack', '8f742231b10e8888abcd99yyyzzz85a5', null, 1531420618, B(slackBody),
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503'],
  ];
  for (const [scheme, secret, id, ts, body, want] of vectors) {
    const hs = sign(scheme, [secret], id, ts, body);
    const got = headerValues(hs, SCHEMES[scheme][1])[0];
    need(got === want, `${scheme} vector: got ${got}, want ${want}`);
    need(verify(scheme, [secret], hs, body, ts || 0) === 0, `${scheme} vector does not verify`);
  }
  const [a, b, c, now] = ['whsec_QUFBQUFBQUE=', 'whsec_QkJCQkJC', 'whsec_Q0NDQw', 1700000000];
  const body = Buffer.from([...Array(256).keys()]); // non-UTF-8 on purpose
  for (const scheme of Object.keys(SCHEMES)) {
    if (scheme === 'discord') continue;
    const hs = sign(scheme, [b, a], 'evt_1', now, body);
    need(verify(scheme, [b], hs, body, now) === 0, `${scheme}: own signature rejected`);
    if (scheme === 'oktave') { // body is not covered; tamper with the event id instead
      expectFail('mismatch', verify, scheme, [b], hs.map(([n, v]) => [n, v === 'evt_1' ? 'evt_2' : v]), body, now);
    } else {
      expectFail('mismatch', verify, scheme, [b], hs, Buffer.concat([body, B('x')]), now);
    }
    need(verify(scheme, [c, b], hs, body, now) === 1, `${scheme}: rotation key_index`);
    if (['list', 'stripe'].includes(SCHEMES[scheme][0])) { // one signature per secret
      need(verify(scheme, [c, a, b], hs, body, now) === 1, `${scheme}: second signature`);
    }
    const tolerance = SCHEMES[scheme][6];
    if (tolerance) {
      expectFail('too_old', verify, scheme, [b], hs, body, now + Number(tolerance[0]) + 1);
      expectFail('in_future', verify, scheme, [b], hs, body, now - 301);
    }
    expectFail('missing', verify, scheme, [b], [], body, now);
  }
  edSelftest();
  console.log('ok');
}

// RFC 8032, section 7.1, tests 1-3: [seed, public key, message, signature], hex.
const RFC8032 = [
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
];

function edSelftest() {
  for (const [seed, pub, msg, sig] of RFC8032) {
    const [key] = signingKeys('discord', [seed]);
    need(rawPublic(key).toString('hex') === pub, 'RFC 8032 public key');
    need(edSign(key, Buffer.from(msg, 'hex')).toString('hex') === sig, 'RFC 8032 signature');
  }
  const [[seed1, pub1], [, pub2]] = RFC8032;
  const b64 = (h) => Buffer.from(h, 'hex').toString('base64');
  const [sk1, pk1, pk2] = ['whsk_' + b64(seed1), 'whpk_' + b64(pub1), 'whpk_' + b64(pub2)];
  const [now, body, secret] = [1700000000, Buffer.from('{"type":1}'), 'whsec_QUFBQUFBQUE='];
  const hs = sign('standard_webhooks', [secret], 'msg_1', now, body, [sk1]);
  const value = headerValues(hs, 'webhook-signature')[0];
  need(value.startsWith('v1,') && value.includes(' v1a,'), `mixed header: ${value}`);
  need(verify('standard_webhooks', [], hs, body, now, [pk1]) === 0, 'v1a alone');
  need(verify('standard_webhooks', [secret], hs, body, now, [pk2, pk1]) === 0, 'v1 first');
  need(verify('standard_webhooks', ['whsec_Q0NDQw'], hs, body, now, [pk2, pk1]) === 2, 'rotation');
  expectFail('mismatch', verify, 'standard_webhooks', [], hs, Buffer.concat([body, Buffer.from('x')]), now, [pk1]);
  expectFail('invalid_secret', verify, 'standard_webhooks', [], hs, body, now, ['whpk_AAAA']);
  expectFail('invalid_secret', verify, 'standard_webhooks', [], hs, body, now, [sk1]);
  const hd = sign('discord', [], null, now, body, [seed1 + pub1]);
  need(verify('discord', [], hd, body, now, [pub2, pub1]) === 1, 'discord rotation');
  expectFail('mismatch', verify, 'discord', [], hd.map(([n, v]) => [n, v === String(now) ? String(now + 1) : v]),
    body, now, [pub1]);
  expectFail('invalid_secret', sign, 'discord', [], null, now, body, [seed1 + pub2]);
}

function main() {
  const cmd = process.argv[2];
  if (process.argv.length !== 3 || !['sign', 'verify', 'selftest'].includes(cmd)) {
    usage('usage: reference.js sign|verify|selftest');
  }
  if (cmd === 'selftest') {
    try {
      selftest();
    } catch (e) {
      console.log(`FAIL: ${e.message}`);
      process.exit(1);
    }
    return;
  }
  let cases;
  try {
    // fatal + ignoreBOM: reject invalid UTF-8 and a BOM, as Python's json.loads does
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(fs.readFileSync(0));
    cases = JSON.parse(text);
  } catch (e) {
    usage(`bad JSON on stdin: ${e.message}`);
  }
  if (!Array.isArray(cases)) usage('stdin must be a JSON array of cases');
  process.stdout.write(JSON.stringify(cases.map((c) => runCase(cmd, c))) + '\n');
}

main();
