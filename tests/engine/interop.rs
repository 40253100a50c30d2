//! Interop with independent implementations: the Python (stdlib `hmac`) and Node
//! (`crypto`) reference signers/verifiers in `tests/interop/`.
//!
//! Both directions, for every preset: deliveries signed by each reference are
//! verified by hooksig (one-shot and streamed in uneven chunks, with rotation,
//! upper-case hex, non-UTF-8 and empty bodies), tampered, truncated, stale and future
//! deliveries are refused by both sides with the same verdict, and the `Signer`'s
//! output is verified by each reference.

use crate::support;

use std::io::Write;
use std::process::{Command, Stdio};

use base64ct::{Base64, Encoding as _};
use hooksig::{Encoding, Scheme, Signer, Verifier};
use serde_json::{Value, json};
use support::{Rng, at, code, header_map, verify_streamed};

const NOW: u64 = 1_763_900_000;
const CASES_PER_PRESET: usize = 24;

#[derive(Clone, Copy, Debug)]
enum Lang {
    Python,
    Node,
}

impl Lang {
    fn run(self, command: &str, cases: &[Value]) -> Vec<Value> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop");
        let (program, script) = match self {
            Lang::Python => ("python3", format!("{dir}/reference.py")),
            Lang::Node => ("node", format!("{dir}/reference.js")),
        };
        let mut child = Command::new(program)
            .arg(&script)
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("`{program}` is required for the interop tests but could not run: {e}")
            });
        let input = serde_json::to_vec(cases).unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{program} {command} failed: {}", String::from_utf8_lossy(&out.stderr));
        let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(results.len(), cases.len());
        results
    }
}

/// A secret as the preset's dashboard would show it.
fn dashboard_secret(scheme: &Scheme, rng: &mut Rng) -> String {
    match scheme.name() {
        "standard_webhooks" | "svix" => {
            let len = 16 + rng.below(33);
            let raw = rng.bytes(len);
            let b64 = Base64::encode_string(&raw);
            match rng.below(3) {
                0 => format!("whsec_{b64}"),
                1 => b64,                                            // prefix is optional
                _ => format!("whsec_{}", b64.trim_end_matches('=')), // so is padding
            }
        }
        "stripe" => format!("whsec_{}", rng.token(32)),
        _ => {
            let len = 1 + rng.below(40);
            rng.token(len)
        }
    }
}

fn random_body(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => Vec::new(),
        1 => {
            let len = rng.below(600);
            rng.bytes(len)
        } // arbitrary, mostly non-UTF-8
        2 => vec![0xff, 0xfe, 0x00, b'{', 0x80], // explicitly non-UTF-8
        _ => format!(r#"{{"event":"{}","n":{}}}"#, rng.token(12), rng.next_u64()).into_bytes(),
    }
}

struct Case {
    scheme: Scheme,
    /// Secrets the delivery is signed with (multi-signature schemes sign with all).
    signing: Vec<String>,
    /// The verifier's keyring: decoys with the first signing secret at `expected_index`.
    keyring: Vec<String>,
    expected_index: usize,
    id: Option<String>,
    timestamp: u64,
    body: Vec<u8>,
}

fn cases(seed: u64) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for scheme in Scheme::presets() {
        for _ in 0..CASES_PER_PRESET {
            let signing: Vec<String> =
                (0..1 + rng.below(3)).map(|_| dashboard_secret(&scheme, &mut rng)).collect();
            let decoys = rng.below(3);
            let mut keyring: Vec<String> = (0..decoys).map(|_| dashboard_secret(&scheme, &mut rng)).collect();
            let expected_index = rng.below(decoys + 1);
            keyring.insert(expected_index, signing[0].clone());
            let id_len = 1 + rng.below(40);
            let id = scheme.id_header().map(|_| format!("msg_{}", rng.token(id_len)));
            let timestamp = NOW - 200 + rng.below(400) as u64;
            out.push(Case {
                scheme: scheme.clone(),
                signing,
                keyring,
                expected_index,
                id,
                timestamp,
                body: random_body(&mut rng),
            });
        }
    }
    out
}

fn verifier_for(case: &Case) -> Verifier {
    case.keyring.iter().fold(Verifier::builder(case.scheme.clone()), |b, s| b.secret(s)).build().unwrap()
}

/// Upper-cases the hex digits of every tag in a signature header value.
fn upper_hex(scheme: &Scheme, value: &str) -> String {
    match scheme.name() {
        "stripe" => value
            .split(',')
            .map(|item| match item.split_once('=') {
                Some(("v1", hex)) => format!("v1={}", hex.to_uppercase()),
                _ => item.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(","),
        _ => match value.split_once('=') {
            Some((prefix, hex)) => format!("{prefix}={}", hex.to_uppercase()),
            None => value.to_uppercase(),
        },
    }
}

#[test]
fn references_sign_and_hooksig_verifies_every_preset() {
    for lang in [Lang::Python, Lang::Node] {
        let cases = cases(0x5eed_0001 ^ lang as u64);
        let requests: Vec<Value> = cases
            .iter()
            .map(|c| {
                json!({
                    "scheme": c.scheme.name(),
                    "secrets": c.signing,
                    "id": c.id,
                    "timestamp": c.timestamp,
                    "body_b64": Base64::encode_string(&c.body),
                })
            })
            .collect();
        let signed = lang.run("sign", &requests);
        let mut rng = Rng::new(7);
        for (case, result) in cases.iter().zip(&signed) {
            let pairs: Vec<(String, String)> = result["headers"]
                .as_array()
                .unwrap_or_else(|| panic!("{lang:?} could not sign: {result}"))
                .iter()
                .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
                .collect();
            let headers = header_map(&pairs);
            let verifier = verifier_for(case);
            let now = at(case.timestamp);
            let ctx = format!("{lang:?} {} {:?}", case.scheme.name(), pairs);

            let verified =
                verifier.verify_at(&headers, &case.body, now).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(verified.key_index(), case.expected_index, "{ctx}");
            assert_eq!(verified.id(), case.id.as_deref(), "{ctx}");
            let streamed = verify_streamed(&verifier, &headers, &case.body, now, &mut rng).unwrap();
            assert_eq!(streamed.key_index(), case.expected_index, "{ctx}");

            // Hex is accepted in any case.
            if case.scheme.encoding() == Encoding::Hex {
                let name = case.scheme.signature_header();
                let upper = upper_hex(&case.scheme, headers[name].to_str().unwrap());
                let mut h = headers.clone();
                h.insert(name.clone(), upper.parse().unwrap());
                assert_eq!(
                    verifier.verify_at(&h, &case.body, now).unwrap().key_index(),
                    case.expected_index,
                    "{ctx}"
                );
            }
        }
    }
}

/// One fault at a time; both references and hooksig must give the same verdict.
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    TamperBody,
    TamperId,
    TruncateTag,
    Stale,
    Future,
    EdgeOfPast,
    EdgeOfFuture,
    DropSignature,
    WrongSecret,
}

/// The tolerances the presets document (past, future) in seconds, pinned here rather
/// than read back from the crate.
fn documented_tolerance(scheme: &Scheme) -> (u64, u64) {
    match scheme.name() {
        "oktave" => (3600, 300),
        "standard_webhooks" | "svix" | "stripe" | "slack" => (300, 300),
        _ => (0, 0),
    }
}

#[test]
fn verdicts_agree_with_both_references_on_faulty_deliveries() {
    let cases = cases(0x5eed_0002);
    let faults = [
        Fault::None,
        Fault::TamperBody,
        Fault::TamperId,
        Fault::TruncateTag,
        Fault::Stale,
        Fault::Future,
        Fault::EdgeOfPast,
        Fault::EdgeOfFuture,
        Fault::DropSignature,
        Fault::WrongSecret,
    ];
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    let mut rng = Rng::new(99);
    for (i, case) in cases.iter().enumerate() {
        let fault = faults[i % faults.len()];
        let signer = case
            .signing
            .iter()
            .fold(Signer::builder(case.scheme.clone()), |b, s| b.secret(s))
            .build()
            .unwrap();
        let mut headers = signer.sign_at(&case.body, case.id.as_deref(), at(case.timestamp)).unwrap();
        let mut body = case.body.clone();
        let mut now = case.timestamp;
        let mut keyring = case.keyring.clone();
        let sig_name = case.scheme.signature_header().clone();
        let (past, future) = documented_tolerance(&case.scheme);
        match fault {
            Fault::None => {}
            Fault::TamperBody => {
                if body.is_empty() {
                    body.push(b'x');
                } else {
                    let at = rng.below(body.len());
                    body[at] ^= 1 << rng.below(8);
                }
            }
            Fault::TamperId => {
                if let Some(name) = case.scheme.id_header() {
                    let id = format!("{}x", headers[name].to_str().unwrap());
                    headers.insert(name.clone(), id.parse().unwrap());
                }
            }
            Fault::TruncateTag => {
                let v = headers[&sig_name].to_str().unwrap().to_owned();
                headers.insert(sig_name.clone(), v[..v.len() - 1].parse().unwrap());
            }
            Fault::Stale => now = case.timestamp + past + 1,
            Fault::Future => now = case.timestamp.saturating_sub(future + 1),
            // Exactly at the tolerance: still accepted.
            Fault::EdgeOfPast => now = case.timestamp + past,
            Fault::EdgeOfFuture => now = case.timestamp - future,
            Fault::DropSignature => {
                headers.remove(&sig_name);
            }
            Fault::WrongSecret => keyring = vec![dashboard_secret(&case.scheme, &mut rng)],
        }
        let verifier =
            keyring.iter().fold(Verifier::builder(case.scheme.clone()), |b, s| b.secret(s)).build().unwrap();
        let ours = verifier.verify_at(&headers, &body, at(now));
        let ours_streamed = verify_streamed(&verifier, &headers, &body, at(now), &mut rng);
        assert_eq!(ours.as_ref().map(|v| v.key_index()), ours_streamed.as_ref().map(|v| v.key_index()));
        let pairs: Vec<Value> =
            headers.iter().map(|(n, v)| json!([n.as_str(), v.to_str().unwrap()])).collect();
        requests.push(json!({
            "scheme": case.scheme.name(),
            "secrets": keyring,
            "headers": pairs,
            "body_b64": Base64::encode_string(&body),
            "now": now,
        }));
        expected.push((
            format!("{} {fault:?}", case.scheme.name()),
            ours.map(|v| v.key_index()).map_err(|e| code(&e)),
        ));
    }
    let mut rejected = 0;
    for lang in [Lang::Python, Lang::Node] {
        let results = lang.run("verify", &requests);
        for ((ctx, ours), theirs) in expected.iter().zip(&results) {
            let theirs = if theirs["ok"].as_bool().unwrap() {
                Ok(theirs["key_index"].as_u64().unwrap() as usize)
            } else {
                Err(theirs["error"].as_str().unwrap())
            };
            assert_eq!(&theirs, ours, "{lang:?} disagrees on {ctx}");
            rejected += usize::from(ours.is_err());
        }
    }
    // The faults really bite: most cases are refused (None, and faults a scheme
    // ignores — e.g. a tampered Tale id — are the accepted ones).
    assert!(rejected > requests.len(), "only {rejected} rejections over two references");
}

#[test]
fn references_verify_what_the_signer_produces() {
    let cases = cases(0x5eed_0003);
    let mut requests = Vec::new();
    for case in &cases {
        let signer = case
            .signing
            .iter()
            .fold(Signer::builder(case.scheme.clone()), |b, s| b.secret(s))
            .build()
            .unwrap();
        // `None` ids exercise the Signer's own id generation.
        let id = if case.timestamp % 2 == 0 { case.id.as_deref() } else { None };
        let headers = signer.sign_at(&case.body, id, at(case.timestamp)).unwrap();
        let pairs: Vec<Value> =
            headers.iter().map(|(n, v)| json!([n.as_str(), v.to_str().unwrap()])).collect();
        requests.push(json!({
            "scheme": case.scheme.name(),
            "secrets": case.keyring,
            "headers": pairs,
            "body_b64": Base64::encode_string(&case.body),
            "now": case.timestamp + 5,
        }));
    }
    for lang in [Lang::Python, Lang::Node] {
        let results = lang.run("verify", &requests);
        for ((case, request), result) in cases.iter().zip(&requests).zip(&results) {
            assert_eq!(result["ok"], json!(true), "{lang:?} refused {request}: {result}");
            assert_eq!(result["key_index"], json!(case.expected_index), "{lang:?} {request}");
        }
    }
}

#[test]
fn reference_selftests_pass() {
    for (program, script) in [("python3", "reference.py"), ("node", "reference.js")] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/").to_owned() + script;
        let out = Command::new(program).args([path.as_str(), "selftest"]).output().unwrap_or_else(|e| {
            panic!("`{program}` is required for the interop tests but could not run: {e}")
        });
        assert!(out.status.success(), "{script} selftest: {}", String::from_utf8_lossy(&out.stdout));
    }
}

/// Ed25519 (feature `ed25519`): Standard Webhooks `v1a` beside `v1`, and Discord, against
/// the references' Ed25519 (Python `cryptography`, Node `crypto`), in both directions.
#[cfg(feature = "ed25519")]
mod ed25519 {
    use super::*;

    /// One asymmetric delivery: who signs it, and the verifier's keyring (secrets then
    /// public keys, the order the references use for `key_index`).
    struct EdCase {
        scheme: Scheme,
        secrets: Vec<String>,
        signing_keys: Vec<String>,
        ring_secrets: Vec<String>,
        ring_publics: Vec<String>,
        expected_index: usize,
        id: Option<String>,
        timestamp: u64,
        body: Vec<u8>,
    }

    /// A fresh key pair from `rng` in the scheme's formats; the signing key as the
    /// 32-byte seed or the 64-byte seed ‖ public key.
    fn key_pair(scheme: &Scheme, rng: &mut Rng) -> (String, String) {
        let seed: [u8; 32] = rng.bytes(32).try_into().unwrap();
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let secret = if rng.below(3) == 0 { [&seed[..], &public[..]].concat() } else { seed.to_vec() };
        if scheme.name() == "discord" {
            (hex::encode(&secret), hex::encode(public))
        } else {
            let b64 = Base64::encode_string(&secret);
            let b64 = if rng.below(4) == 0 { b64.trim_end_matches('=').to_owned() } else { b64 };
            (format!("whsk_{b64}"), format!("whpk_{}", Base64::encode_string(&public)))
        }
    }

    fn ed_cases(seed: u64, per_scheme: usize) -> Vec<EdCase> {
        let mut rng = Rng::new(seed);
        let mut out = Vec::new();
        for scheme in Scheme::ed25519_presets() {
            let hmac = scheme.supports(hooksig::Algorithm::HmacSha256);
            for _ in 0..per_scheme {
                let secrets: Vec<String> = if hmac {
                    (0..rng.below(2)).map(|_| dashboard_secret(&scheme, &mut rng)).collect()
                } else {
                    Vec::new()
                };
                let pairs: Vec<(String, String)> =
                    (0..1 + rng.below(2)).map(|_| key_pair(&scheme, &mut rng)).collect();
                let signing_keys: Vec<String> = if scheme.name() == "discord" {
                    vec![pairs[0].0.clone()]
                } else {
                    pairs.iter().map(|p| p.0.clone()).collect()
                };
                // The keyring: decoy secrets, perhaps a signing secret; decoy public keys
                // and the public key of the first signing key, at a random place.
                let mut ring_secrets: Vec<String> = if hmac {
                    (0..rng.below(2)).map(|_| dashboard_secret(&scheme, &mut rng)).collect()
                } else {
                    vec![]
                };
                let with_secret = !secrets.is_empty() && rng.below(2) == 0;
                if with_secret {
                    let at = rng.below(ring_secrets.len() + 1);
                    ring_secrets.insert(at, secrets[0].clone());
                }
                let mut ring_publics: Vec<String> =
                    (0..rng.below(2)).map(|_| key_pair(&scheme, &mut rng).1).collect();
                let public_at = rng.below(ring_publics.len() + 1);
                ring_publics.insert(public_at, pairs[0].1.clone());
                let expected_index = match ring_secrets.iter().position(|s| secrets.contains(s)) {
                    Some(i) => i,
                    None => ring_secrets.len() + public_at,
                };
                let id_len = 1 + rng.below(30);
                let id = scheme.id_header().map(|_| format!("msg_{}", rng.token(id_len)));
                out.push(EdCase {
                    scheme: scheme.clone(),
                    secrets,
                    signing_keys,
                    ring_secrets,
                    ring_publics,
                    expected_index,
                    id,
                    timestamp: NOW - 200 + rng.below(400) as u64,
                    body: random_body(&mut rng),
                });
            }
        }
        out
    }

    fn ed_verifier(
        scheme: &Scheme,
        secrets: &[String],
        publics: &[String],
    ) -> Result<Verifier, hooksig::Error> {
        let b = secrets.iter().fold(Verifier::builder(scheme.clone()), |b, s| b.secret(s));
        publics.iter().fold(b, |b, k| b.public_key(k)).build()
    }

    fn ed_signer(case: &EdCase) -> Signer {
        let b = case.secrets.iter().fold(Signer::builder(case.scheme.clone()), |b, s| b.secret(s));
        case.signing_keys.iter().fold(b, |b, k| b.signing_key(k)).build().unwrap()
    }

    fn pairs_of(headers: &http::HeaderMap) -> Vec<Value> {
        headers.iter().map(|(n, v)| json!([n.as_str(), v.to_str().unwrap()])).collect()
    }

    #[test]
    fn references_sign_ed25519_and_hooksig_verifies() {
        for lang in [Lang::Python, Lang::Node] {
            let cases = ed_cases(0xed_0001 ^ lang as u64, 12);
            let requests: Vec<Value> = cases
                .iter()
                .map(|c| {
                    json!({
                        "scheme": c.scheme.name(),
                        "secrets": c.secrets,
                        "signing_keys": c.signing_keys,
                        "id": c.id,
                        "timestamp": c.timestamp,
                        "body_b64": Base64::encode_string(&c.body),
                    })
                })
                .collect();
            let signed = lang.run("sign", &requests);
            let mut rng = Rng::new(11);
            let mut mixed = 0;
            for (case, result) in cases.iter().zip(&signed) {
                let pairs: Vec<(String, String)> = result["headers"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{lang:?} could not sign: {result}"))
                    .iter()
                    .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
                    .collect();
                let headers = header_map(&pairs);
                let sig = headers[case.scheme.signature_header()].to_str().unwrap();
                mixed += usize::from(sig.contains("v1,") && sig.contains("v1a,"));
                let verifier = ed_verifier(&case.scheme, &case.ring_secrets, &case.ring_publics).unwrap();
                let now = at(case.timestamp);
                let ctx = format!("{lang:?} {} {pairs:?}", case.scheme.name());
                let verified =
                    verifier.verify_at(&headers, &case.body, now).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                assert_eq!(verified.key_index(), case.expected_index, "{ctx}");
                let streamed = verify_streamed(&verifier, &headers, &case.body, now, &mut rng).unwrap();
                assert_eq!(streamed.key_index(), case.expected_index, "{ctx}");
                // Public keys alone verify the `v1a` entries of a mixed header.
                let publics_only = ed_verifier(&case.scheme, &[], &case.ring_publics).unwrap();
                let verified = publics_only.verify_at(&headers, &case.body, now).unwrap();
                assert_eq!(verified.algorithm(), hooksig::Algorithm::Ed25519, "{ctx}");
            }
            assert!(mixed > 0, "no mixed v1/v1a header was exercised");
        }
    }

    #[test]
    fn references_verify_what_the_ed25519_signer_produces() {
        let cases = ed_cases(0xed_0002, 12);
        let mut requests = Vec::new();
        for case in &cases {
            let headers =
                ed_signer(case).sign_at(&case.body, case.id.as_deref(), at(case.timestamp)).unwrap();
            requests.push(json!({
                "scheme": case.scheme.name(),
                "secrets": case.ring_secrets,
                "public_keys": case.ring_publics,
                "headers": pairs_of(&headers),
                "body_b64": Base64::encode_string(&case.body),
                "now": case.timestamp + 5,
            }));
        }
        for lang in [Lang::Python, Lang::Node] {
            let results = lang.run("verify", &requests);
            for ((case, request), result) in cases.iter().zip(&requests).zip(&results) {
                assert_eq!(result["ok"], json!(true), "{lang:?} refused {request}: {result}");
                assert_eq!(result["key_index"], json!(case.expected_index), "{lang:?} {request}");
            }
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum EdFault {
        None,
        TamperBody,
        TamperId,
        TamperTimestamp,
        TruncateSignature,
        OtherKey,
        ShortPublicKey,
        NotBase64PublicKey,
        SigningKeyAsPublicKey,
        Stale,
        DropV1a,
    }

    /// One fault at a time; hooksig and both references give the same verdict.
    #[test]
    fn ed25519_verdicts_agree_with_both_references_on_faulty_deliveries() {
        let cases = ed_cases(0xed_0003, 22);
        let faults = [
            EdFault::None,
            EdFault::TamperBody,
            EdFault::TamperId,
            EdFault::TamperTimestamp,
            EdFault::TruncateSignature,
            EdFault::OtherKey,
            EdFault::ShortPublicKey,
            EdFault::NotBase64PublicKey,
            EdFault::SigningKeyAsPublicKey,
            EdFault::Stale,
            EdFault::DropV1a,
        ];
        let mut rng = Rng::new(0xfa17);
        let mut requests = Vec::new();
        let mut expected = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let fault = faults[i % faults.len()];
            let mut headers =
                ed_signer(case).sign_at(&case.body, case.id.as_deref(), at(case.timestamp)).unwrap();
            let mut body = case.body.clone();
            let mut now = case.timestamp;
            let secrets: Vec<String> = Vec::new(); // public keys only: every verdict is Ed25519's
            let mut publics = case.ring_publics.clone();
            let sig_name = case.scheme.signature_header().clone();
            let sig_value = headers[&sig_name].to_str().unwrap().to_owned();
            let discord = case.scheme.name() == "discord";
            match fault {
                EdFault::None => {}
                EdFault::TamperBody => body.push(b' '),
                EdFault::TamperId => {
                    if let Some(name) = case.scheme.id_header() {
                        let id = format!("{}x", headers[name].to_str().unwrap());
                        headers.insert(name.clone(), id.parse().unwrap());
                    }
                }
                EdFault::TamperTimestamp => {
                    let name = case.scheme.timestamp_header().unwrap().clone();
                    headers.insert(name, (case.timestamp + 1).to_string().parse().unwrap());
                }
                EdFault::TruncateSignature => {
                    headers.insert(sig_name.clone(), sig_value[..sig_value.len() - 2].parse().unwrap());
                }
                EdFault::OtherKey => publics = vec![key_pair(&case.scheme, &mut rng).1],
                EdFault::ShortPublicKey => {
                    publics = vec![if discord {
                        "ab".repeat(31)
                    } else {
                        format!("whpk_{}", Base64::encode_string(&[7; 31]))
                    }]
                }
                EdFault::NotBase64PublicKey => {
                    publics = vec![if discord { "zz".repeat(32) } else { "whpk_!!!!".to_owned() }]
                }
                EdFault::SigningKeyAsPublicKey => {
                    if !discord {
                        publics = vec![case.signing_keys[0].clone()];
                    }
                }
                EdFault::Stale => now = case.timestamp + 301,
                EdFault::DropV1a => {
                    // Only the `v1` entries stay: nothing a public key can check.
                    let kept: Vec<&str> = sig_value.split(' ').filter(|e| e.starts_with("v1,")).collect();
                    if kept.is_empty() {
                        headers.remove(&sig_name);
                    } else {
                        headers.insert(sig_name.clone(), kept.join(" ").parse().unwrap());
                    }
                }
            }
            let ours = ed_verifier(&case.scheme, &secrets, &publics)
                .and_then(|v| v.verify_at(&headers, &body, at(now)).map(|v| v.key_index()))
                .map_err(|e| code(&e));
            requests.push(json!({
                "scheme": case.scheme.name(),
                "secrets": secrets,
                "public_keys": publics,
                "headers": pairs_of(&headers),
                "body_b64": Base64::encode_string(&body),
                "now": now,
            }));
            expected.push((format!("{} {fault:?}", case.scheme.name()), ours));
        }
        let mut rejected = 0;
        for lang in [Lang::Python, Lang::Node] {
            let results = lang.run("verify", &requests);
            for ((ctx, ours), theirs) in expected.iter().zip(&results) {
                let theirs = if theirs["ok"].as_bool().unwrap() {
                    Ok(theirs["key_index"].as_u64().unwrap() as usize)
                } else {
                    Err(theirs["error"].as_str().unwrap())
                };
                assert_eq!(&theirs, ours, "{lang:?} disagrees on {ctx}");
                rejected += usize::from(ours.is_err());
            }
        }
        assert!(rejected > requests.len(), "only {rejected} rejections over two references");
    }
}
