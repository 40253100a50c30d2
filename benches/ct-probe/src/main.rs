//! Deterministic constant-time check: instruction and branch counts of
//! `Verifier::verify_at` under valgrind (callgrind), instead of wall-clock timing.
//!
//! `ct_probe run PRESET ENCODING CASE [--control]` builds a verifier and a signed 64-byte
//! delivery, replaces the signature's tag with a candidate that differs from the
//! expected tag in the first byte (`first`), the last byte (`last`), every byte (`all`)
//! or no byte (`valid`), and verifies it once inside [`measured`]. Run alone it only
//! checks the verdict; under
//!
//! ```text
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='ct_probe::measured' \
//!     --branch-sim=yes ct_probe run tale hex last
//! ```
//!
//! callgrind counts exactly what runs inside [`measured`]: the whole of `verify_at`
//! (header parsing, candidate decoding, the HMAC, the comparison with every candidate,
//! and building and dropping the result), nothing of the set-up around it.
//!
//! `ct_probe check` runs every (preset, encoding, case) that way, plus the control, and
//! fails unless, for each preset and encoding:
//!
//! - the three mismatching candidates execute the same instructions the same number of
//!   times and take the same branches (every instruction's `Ir`, `Bc` and `Bi` equal;
//!   the simulated mispredictions `Bcm`, `Bim` are printed but do not gate: they depend
//!   on predictor state that addresses outside the probe's control can shift, and a
//!   one-off difference of that kind was seen without any change in the path);
//! - the valid candidate costs the same as they do in everything that runs before the
//!   verdict is known (parsing, decoding, HMAC, comparison), differing only in building
//!   and dropping the `Verified` result;
//!
//! and unless the control, an early-exit comparison, tells the mismatches apart (which
//! shows the check can fail). `benches/constant_time_valgrind.sh` builds the probe and
//! runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use hooksig::{Encoding, Scheme, Signer, Verifier};
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;

/// The symbol callgrind toggles collection on (demangled, without the hash).
const MEASURED: &str = "ct_probe::measured";
/// The comparison of the candidates with the MAC (`src/tag.rs`), when not inlined.
const MATCHES: &str = "hooksig::tag::Candidates::matches";
/// Functions (by part of their name) that run before the verdict is known: header
/// look-up and parsing, candidate decoding, the HMAC (hooksig's own on `sha2`'s
/// compression function, with the clearing of its state) and the comparison. Their
/// path counts (`Ir`, `Bc`, `Bi`) must be the same for the valid candidate as for the
/// wrong ones. What runs after the verdict (building and
/// dropping the result, zeroizing the candidates when `Parsed` is dropped) may differ.
const BEFORE_THE_VERDICT: [&str; 13] = [
    "http::header::",
    "hooksig::headers::",
    "hooksig::tag::Encoding::decode",
    "hooksig::tag::decode_",
    "hooksig::tag::words",
    MATCHES,
    "hooksig::keys::",
    "hooksig::mac::",
    "sha2::",
    "hmac::",
    "digest::",
    "block_buffer::",
    "subtle::",
];
/// The signing time, also the verifier's clock.
const TS: u64 = 1_700_000_000;
/// The delivery id (signed by Oktave, Standard Webhooks and Svix; read by GitHub and Shopify).
const ID: &str = "msg_ct_probe_0001";
/// A 64-byte body.
const BODY: &[u8; 64] = br#"{"id":"evt_1","type":"invoice.paid","data":{"amount":42000}}    "#;
const RAW_SECRET: &str = "It's a Secret to Everybody";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STRIPE_SECRET: &str = "whsec_test_secret_for_ct_probe";

/// The presets, in the order of `Scheme::presets`.
const PRESETS: [&str; 9] =
    ["tale", "vocalis", "github", "oktave", "standard_webhooks", "svix", "stripe", "slack", "shopify"];

/// How the candidate tag is written in the header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Text {
    /// Lower-case hex, as the signer writes it.
    Hex,
    /// Upper-case hex (accepted by the decoder).
    HexUpper,
    /// Padded standard base64.
    Base64,
}

impl Text {
    const ALL: [Text; 3] = [Text::Hex, Text::HexUpper, Text::Base64];

    fn name(self) -> &'static str {
        match self {
            Text::Hex => "hex",
            Text::HexUpper => "HEX",
            Text::Base64 => "base64",
        }
    }

    fn parse(name: &str) -> Option<Text> {
        Text::ALL.into_iter().find(|t| t.name() == name)
    }

    fn encode(self, tag: &[u8; 32]) -> String {
        match self {
            Text::Hex => hex::encode(tag),
            Text::HexUpper => hex::encode_upper(tag),
            Text::Base64 => Base64::encode_string(tag),
        }
    }

    fn decode(self, text: &str) -> [u8; 32] {
        let mut tag = [0u8; 32];
        match self {
            Text::Hex | Text::HexUpper => hex::decode_to_slice(text, &mut tag).expect("candidate hex"),
            Text::Base64 => {
                let decoded = Base64::decode_vec(text).expect("candidate base64");
                tag.copy_from_slice(&decoded);
            }
        }
        tag
    }

    /// The texts a preset's encoding is checked with.
    fn for_encoding(encoding: Encoding) -> &'static [Text] {
        match encoding {
            Encoding::Hex => &[Text::Hex, Text::HexUpper],
            _ => &[Text::Base64],
        }
    }
}

/// How the candidate relates to the expected tag.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Case {
    /// Every bit of the first byte inverted.
    First,
    /// Every bit of the last byte inverted.
    Last,
    /// Every bit of every byte inverted.
    All,
    /// The expected tag itself.
    Valid,
}

impl Case {
    const ALL: [Case; 4] = [Case::First, Case::Last, Case::All, Case::Valid];

    fn name(self) -> &'static str {
        match self {
            Case::First => "first",
            Case::Last => "last",
            Case::All => "all",
            Case::Valid => "valid",
        }
    }

    fn parse(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == name)
    }

    fn apply(self, expected: &[u8; 32]) -> [u8; 32] {
        let mut candidate = *expected;
        match self {
            Case::First => candidate[0] = !candidate[0],
            Case::Last => candidate[31] = !candidate[31],
            Case::All => candidate.iter_mut().for_each(|b| *b = !*b),
            Case::Valid => {}
        }
        candidate
    }
}

/// What [`measured`] runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// `Verifier::verify_at`.
    Hooksig,
    /// The control: the expected tag computed with the `hmac` crate, then compared with
    /// the candidate byte by byte, returning at the first difference.
    Control,
}

/// The secret a preset is signed with.
fn secret(preset: &str) -> &'static str {
    match preset {
        "standard_webhooks" | "svix" => WHSEC,
        "stripe" => STRIPE_SECRET,
        _ => RAW_SECRET,
    }
}

/// The HMAC key and signed message of a preset, written out here from the providers'
/// documentation rather than taken from hooksig, so that the expected tag is
/// computed independently of the code under test.
fn key_and_message(preset: &str, id: &str, ts: u64, body: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let ts = ts.to_string();
    let raw = secret(preset).as_bytes().to_vec();
    match preset {
        "tale" | "vocalis" | "github" | "shopify" => (raw, body.to_vec()),
        "oktave" => (raw, [id.as_bytes(), ts.as_bytes()].concat()),
        "standard_webhooks" | "svix" => {
            let key = Base64::decode_vec(WHSEC.trim_start_matches("whsec_")).expect("whsec base64");
            (key, [id.as_bytes(), b".", ts.as_bytes(), b".", body].concat())
        }
        "stripe" => (raw, [ts.as_bytes(), b".", body].concat()),
        "slack" => (raw, [b"v0:", ts.as_bytes(), b":", body].concat()),
        other => panic!("unknown preset {other}"),
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Everything [`measured`] reads, built before collection starts.
struct Input {
    mode: Mode,
    verifier: Verifier,
    headers: HeaderMap,
    body: &'static [u8],
    now: SystemTime,
    key: Vec<u8>,
    message: Vec<u8>,
    candidate: [u8; 32],
}

/// The only code callgrind counts (`--toggle-collect=ct_probe::measured`): one
/// verification, from the header map to the dropped result.
#[inline(never)]
fn measured(input: &Input) -> bool {
    verify_once(input)
}

/// The body of [`measured`], also run (inlined, so not counted) in the warm-up.
#[inline(always)]
fn verify_once(input: &Input) -> bool {
    match input.mode {
        Mode::Hooksig => {
            black_box(input.verifier.verify_at(black_box(&input.headers), black_box(input.body), input.now))
                .is_ok()
        }
        Mode::Control => {
            let expected = hmac_sha256(black_box(&input.key), black_box(&input.message));
            early_exit_eq(&expected, black_box(&input.candidate))
        }
    }
}

/// The comparison most code would use by accident: stop at the first difference.
/// `black_box` keeps the compiler from turning it into a branch-free vector compare.
fn early_exit_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for i in 0..32 {
        if black_box(a[i]) != black_box(b[i]) {
            return false;
        }
    }
    true
}

/// Builds the delivery of `case` for (preset, text), runs [`measured`] once on it and
/// checks its verdict.
///
/// What runs before [`measured`] does not depend on `case` beyond the candidate's
/// bytes: every case's delivery is built, checked and verified once (outside the
/// collected region, in the same order whatever `case` is), then the delivery of
/// `case` is built again by the same branch-free steps. So every run of a row reaches
/// [`measured`] with the same allocations at the same addresses and the same branch
/// history, and the simulated branch predictor, which keeps running while collection
/// is off, starts from the same state: mispredict counts can be compared too.
fn run(preset: &str, text: Text, case: Case, mode: Mode) -> Result<(), String> {
    let pick = Case::ALL.iter().position(|c| *c == case).ok_or("case")?;
    let scheme = Scheme::preset(preset).ok_or_else(|| format!("unknown preset {preset}"))?;
    if !Text::for_encoding(scheme.encoding()).contains(&text) {
        return Err(format!("{preset} does not use {}", text.name()));
    }
    let now = UNIX_EPOCH + Duration::from_secs(TS);
    let signed = Signer::new(scheme.clone(), secret(preset))
        .and_then(|s| s.sign_at(BODY, Some(ID), now))
        .map_err(|e| format!("signing: {e}"))?;
    let verifier = Verifier::new(scheme.clone(), secret(preset)).map_err(|e| format!("verifier: {e}"))?;

    let (key, message) = key_and_message(preset, ID, TS, BODY);
    let expected = hmac_sha256(&key, &message);
    // The independent tag must be the one the signer wrote, exactly once.
    let signed_text = match scheme.encoding() {
        Encoding::Hex => Text::Hex.encode(&expected),
        _ => Text::Base64.encode(&expected),
    };
    let name = scheme.signature_header().clone();
    let value = signed.get(&name).and_then(|v| v.to_str().ok()).ok_or("no signature header")?;
    if value.matches(&signed_text).count() != 1 {
        return Err(format!("{preset}: expected tag {signed_text} not found once in {value:?}"));
    }

    // The delivery of case number `index`: the signed headers with the tag replaced.
    let make = |index: usize| -> Result<(Input, String), String> {
        let mut candidate = expected;
        for (byte, mask) in candidate.iter_mut().zip(&MASKS[index]) {
            *byte ^= mask;
        }
        let candidate_text = text.encode(&candidate);
        let forged = value.replace(&signed_text, &candidate_text);
        let mut headers = signed.clone();
        headers.insert(name.clone(), HeaderValue::from_str(&forged).map_err(|e| e.to_string())?);
        let input = Input {
            mode,
            verifier: verifier.clone(),
            headers,
            body: BODY,
            now,
            key: key.clone(),
            message: message.clone(),
            candidate,
        };
        Ok((input, candidate_text))
    };
    // Warm-up, every case in turn: one-time work (CPU feature detection in sha2) is
    // done and each verdict is checked before anything is measured.
    for (index, each) in Case::ALL.into_iter().enumerate() {
        let (input, candidate_text) = make(index)?;
        if text.decode(&candidate_text) != input.candidate || each.apply(&expected) != input.candidate {
            return Err(format!("{preset} {}: {} candidate built wrong", text.name(), each.name()));
        }
        if verify_once(&input) != (each == Case::Valid) {
            return Err(format!("{preset} {} {}: wrong verdict in the warm-up", text.name(), each.name()));
        }
    }

    let (input, _) = make(pick)?;
    let accepted = measured(&input);
    if accepted != (case == Case::Valid) {
        return Err(format!("{preset} {} {}: accepted = {accepted}", text.name(), case.name()));
    }
    println!("{preset} {} {} {mode:?}: accepted = {accepted}", text.name(), case.name());
    Ok(())
}

/// The XOR masks of [`Case::ALL`], applied without a branch on the case.
const MASKS: [[u8; 32]; 4] = {
    let mut first = [0u8; 32];
    first[0] = 0xFF;
    let mut last = [0u8; 32];
    last[31] = 0xFF;
    [first, last, [0xFF; 32], [0; 32]]
};

/// The costs of one collected run, from a callgrind output file.
#[derive(Default, Clone)]
struct Profile {
    events: Vec<String>,
    totals: Vec<u64>,
    /// Self cost of every executed instruction, by (function, address).
    instructions: BTreeMap<(String, u64), Vec<u64>>,
}

impl Profile {
    /// Parses a file written with `--dump-instr=yes --compress-strings=no
    /// --compress-pos=no` (absolute positions `instr line`, names spelled out).
    fn parse(text: &str) -> Result<Profile, String> {
        let mut profile = Profile::default();
        let mut positions = 1;
        let mut function = String::new();
        let mut skip_next_cost = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("events:") {
                profile.events = rest.split_whitespace().map(str::to_owned).collect();
            } else if let Some(rest) = line.strip_prefix("positions:") {
                positions = rest.split_whitespace().count();
            } else if let Some(rest) = line.strip_prefix("totals:").or_else(|| line.strip_prefix("summary:"))
            {
                profile.totals = numbers(rest.split_whitespace())?;
            } else if let Some(name) = line.strip_prefix("fn=") {
                function = name.to_owned();
            } else if line.starts_with("calls=") {
                // The next cost line is the inclusive cost of a call, counted again
                // in the callee's own lines.
                skip_next_cost = true;
            } else if line.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '*') {
                if std::mem::take(&mut skip_next_cost) {
                    continue;
                }
                let mut fields = line.split_whitespace();
                let address = fields.next().ok_or("empty cost line")?;
                let address = u64::from_str_radix(address.trim_start_matches("0x"), 16)
                    .map_err(|_| format!("cost line without an absolute address: {line:?}"))?;
                let costs = numbers(fields.skip(positions.saturating_sub(1)))?;
                let slot = profile.instructions.entry((function.clone(), address)).or_default();
                if slot.len() < costs.len() {
                    slot.resize(costs.len(), 0);
                }
                for (s, c) in slot.iter_mut().zip(costs) {
                    *s += c;
                }
            }
        }
        if profile.events.is_empty() || profile.totals.is_empty() {
            return Err("no events or totals in the callgrind output".into());
        }
        profile.totals.resize(profile.events.len(), 0);
        for costs in profile.instructions.values_mut() {
            costs.resize(profile.events.len(), 0);
        }
        Ok(profile)
    }

    fn total(&self, event: &str) -> u64 {
        self.events.iter().position(|e| e == event).map_or(0, |i| self.totals[i])
    }

    /// Self cost per function.
    fn functions(&self) -> BTreeMap<&str, Vec<u64>> {
        let mut out: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for ((function, _), costs) in &self.instructions {
            let slot = out.entry(function.as_str()).or_insert_with(|| vec![0; costs.len()]);
            for (s, c) in slot.iter_mut().zip(costs) {
                *s += c;
            }
        }
        out
    }

    /// The counts of the executed path (instructions and branches), without the
    /// simulated mispredictions (`Bcm`, `Bim`): those depend on the simulator's
    /// predictor state, which addresses outside the probe's control can shift, so
    /// they are reported but do not gate.
    fn path(&self, costs: &[u64]) -> Vec<u64> {
        self.events
            .iter()
            .zip(costs)
            .filter(|(event, _)| !matches!(event.as_str(), "Bcm" | "Bim"))
            .map(|(_, cost)| *cost)
            .collect()
    }

    /// `Ir/Bc/Bcm/Bi/Bim`.
    fn summary(&self) -> String {
        ["Ir", "Bc", "Bcm", "Bi", "Bim"].map(|e| self.total(e).to_string()).join("/")
    }
}

fn numbers<'a>(fields: impl Iterator<Item = &'a str>) -> Result<Vec<u64>, String> {
    fields.map(|f| f.parse::<u64>().map_err(|_| format!("not a count: {f:?}"))).collect()
}

/// Functions whose self cost differs between two profiles, with both costs.
fn differing_functions(a: &Profile, b: &Profile) -> Vec<(String, Vec<u64>, Vec<u64>)> {
    let (fa, fb) = (a.functions(), b.functions());
    let names: BTreeSet<&str> = fa.keys().chain(fb.keys()).copied().collect();
    let zero = vec![0; a.events.len()];
    names
        .into_iter()
        .filter_map(|name| {
            let ca = fa.get(name).unwrap_or(&zero);
            let cb = fb.get(name).unwrap_or(&zero);
            (a.path(ca) != b.path(cb)).then(|| (name.to_owned(), ca.clone(), cb.clone()))
        })
        .collect()
}

/// One (preset, text, mode) row: a profile per case.
struct Row {
    preset: &'static str,
    text: Text,
    mode: Mode,
    profiles: Vec<(Case, Profile)>,
}

impl Row {
    fn profile(&self, case: Case) -> &Profile {
        &self.profiles.iter().find(|(c, _)| *c == case).expect("case measured").1
    }

    /// Whether the three mismatching candidates ran identically, instruction by
    /// instruction.
    fn mismatches_identical(&self) -> bool {
        let first = self.profile(Case::First);
        [Case::Last, Case::All].iter().all(|&c| {
            let p = self.profile(c);
            let same_instructions = p.instructions.len() == first.instructions.len()
                && p.instructions.iter().all(|(key, costs)| {
                    first.instructions.get(key).is_some_and(|f| first.path(f) == p.path(costs))
                });
            first.path(&first.totals) == p.path(&p.totals) && same_instructions
        })
    }
}

/// A job: (preset, text, case, mode).
type Job = (&'static str, Text, Case, Mode);

struct Options {
    valgrind: String,
    jobs: usize,
    keep: Option<PathBuf>,
    control_all: bool,
}

fn valgrind_version(valgrind: &str) -> Option<String> {
    let out = Command::new(valgrind).arg("--version").stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs one job under callgrind and parses its output file.
fn measure(exe: &Path, dir: &Path, options: &Options, job: Job) -> Result<Profile, String> {
    let (preset, text, case, mode) = job;
    let tag = if mode == Mode::Control { "-control" } else { "" };
    let out = dir.join(format!("callgrind.{preset}.{}.{}{tag}.out", text.name(), case.name()));
    let mut command = Command::new(&options.valgrind);
    command
        .args([
            "--tool=callgrind",
            "--collect-atstart=no",
            &format!("--toggle-collect={MEASURED}"),
            "--branch-sim=yes",
            "--dump-instr=yes",
            "--compress-strings=no",
            "--compress-pos=no",
        ])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args(["run", preset, text.name(), case.name()])
        // Pads the case name, so that argv and environment take the same bytes on the
        // stack in every run of a row: the stack then has the same addresses too.
        .env("CT_PROBE_PAD", "_".repeat(8usize.saturating_sub(case.name().len())));
    if mode == Mode::Control {
        command.arg("--control");
    }
    let output = command.output().map_err(|e| format!("starting {}: {e}", options.valgrind))?;
    if !output.status.success() {
        return Err(format!(
            "{preset} {} {} {mode:?}: {}\n{}{}",
            text.name(),
            case.name(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let file = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let profile = Profile::parse(&file).map_err(|e| format!("{}: {e}", out.display()))?;
    if profile.total("Ir") == 0 {
        return Err(format!("{}: nothing collected: is `{MEASURED}` still a symbol?", out.display()));
    }
    Ok(profile)
}

fn check(options: &Options) -> Result<bool, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = match &options.keep {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("hooksig-ct-probe-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let names: Vec<String> = Scheme::presets().iter().map(|s| s.name().to_owned()).collect();
    if names != PRESETS {
        return Err(format!("hooksig's presets are {names:?}; teach the probe their keys and messages"));
    }
    let mut rows: Vec<(&'static str, Text, Mode)> = Vec::new();
    for preset in PRESETS {
        let scheme = Scheme::preset(preset).ok_or("preset")?;
        for &text in Text::for_encoding(scheme.encoding()) {
            rows.push((preset, text, Mode::Hooksig));
        }
    }
    // The control: every preset and text with `--control-all`, otherwise one hex and
    // one base64 preset (the control does not parse headers, so the rest repeat them).
    for &(preset, text, _) in rows.clone().iter() {
        if options.control_all || (preset, text) == ("tale", Text::Hex) || preset == "standard_webhooks" {
            rows.push((preset, text, Mode::Control));
        }
    }
    let jobs: Vec<Job> = rows
        .iter()
        .flat_map(|&(preset, text, mode)| Case::ALL.map(|case| (preset, text, case, mode)))
        .collect();

    let started = Instant::now();
    let results: Mutex<Vec<(Job, Result<Profile, String>)>> = Mutex::new(Vec::new());
    let next = Mutex::new(jobs.iter());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let job = { next.lock().expect("queue").next().copied() };
                    let Some(job) = job else { break };
                    let result = measure(&exe, &dir, options, job);
                    results.lock().expect("results").push((job, result));
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let mut results = results.into_inner().expect("results");

    let mut errors = Vec::new();
    let mut table = Vec::new();
    for &(preset, text, mode) in &rows {
        let mut profiles = Vec::new();
        for case in Case::ALL {
            let at =
                results.iter().position(|((p, t, c, m), _)| (*p, *t, *c, *m) == (preset, text, case, mode));
            match at.map(|i| results.swap_remove(i).1) {
                Some(Ok(profile)) => profiles.push((case, profile)),
                Some(Err(e)) => errors.push(e),
                None => errors.push(format!("{preset} {} {} {mode:?}: not run", text.name(), case.name())),
            }
        }
        if profiles.len() == Case::ALL.len() {
            table.push(Row { preset, text, mode, profiles });
        }
    }

    let mut report = String::new();
    let _ = writeln!(
        report,
        "callgrind counts inside `{MEASURED}` (one verification, 64-byte body), as Ir/Bc/Bcm/Bi/Bim"
    );
    let _ = writeln!(
        report,
        "| preset | tag text | mode | first byte wrong | last byte wrong | every byte wrong | valid | mismatches |"
    );
    let _ = writeln!(report, "|---|---|---|--:|--:|--:|--:|---|");
    let mut ok = errors.is_empty();
    for row in &table {
        let identical = row.mismatches_identical();
        let verdict = match (row.mode, identical) {
            (Mode::Hooksig, true) => "identical",
            (Mode::Hooksig, false) => {
                ok = false;
                "DIFFER: leak"
            }
            (Mode::Control, false) => "differ (expected)",
            (Mode::Control, true) => {
                ok = false;
                "IDENTICAL: the check cannot see an early exit"
            }
        };
        let mode = match row.mode {
            Mode::Hooksig => "verify_at",
            Mode::Control => "control",
        };
        let _ = writeln!(
            report,
            "| {} | {} | {mode} | {} | {} | {} | {} | {verdict} |",
            row.preset,
            row.text.name(),
            row.profile(Case::First).summary(),
            row.profile(Case::Last).summary(),
            row.profile(Case::All).summary(),
            row.profile(Case::Valid).summary(),
        );
    }
    print!("{report}");

    // Where they differ, by function: what `callgrind_annotate` would show.
    for row in table.iter().filter(|r| r.mode == Mode::Hooksig && !r.mismatches_identical()) {
        let first = row.profile(Case::First);
        for case in [Case::Last, Case::All] {
            let other = row.profile(case);
            let functions = differing_functions(first, other);
            for (name, a, b) in &functions {
                println!(
                    "  {} {}: first vs {}: {name}: {a:?} vs {b:?}",
                    row.preset,
                    row.text.name(),
                    case.name()
                );
            }
            if functions.is_empty() {
                // Same totals per function, spread differently over its instructions.
                let addresses: BTreeSet<_> =
                    first.instructions.keys().chain(other.instructions.keys()).collect();
                for key in addresses
                    .into_iter()
                    .filter(|k| {
                        first.instructions.get(*k).map(|c| first.path(c))
                            != other.instructions.get(*k).map(|c| other.path(c))
                    })
                    .take(5)
                {
                    println!(
                        "  {} {}: first vs {}: {} at {:#x}: {:?} vs {:?}",
                        row.preset,
                        row.text.name(),
                        case.name(),
                        key.0,
                        key.1,
                        first.instructions.get(key),
                        other.instructions.get(key)
                    );
                }
            }
        }
    }
    // The success path: where the valid case differs from a mismatch. Parsing,
    // decoding, the HMAC and the comparison itself must not be part of it.
    let mut success_path: BTreeSet<String> = BTreeSet::new();
    for row in table.iter().filter(|r| r.mode == Mode::Hooksig) {
        for (name, a, b) in differing_functions(row.profile(Case::First), row.profile(Case::Valid)) {
            if BEFORE_THE_VERDICT.iter().any(|p| name.contains(p)) {
                ok = false;
                println!(
                    "  {} {}: valid vs first byte wrong differ before the verdict, in {name}: {b:?} vs {a:?}",
                    row.preset,
                    row.text.name()
                );
            }
            success_path.insert(name);
        }
    }
    let compared = table.iter().any(|r| r.profile(Case::First).functions().contains_key(MATCHES));
    println!(
        "the valid case differs from the mismatches only in: {}",
        success_path.into_iter().collect::<Vec<_>>().join(", ")
    );
    if !compared {
        println!("note: `{MATCHES}` was inlined: its instructions are counted within verify_at");
    }

    for e in &errors {
        eprintln!("error: {e}");
    }
    println!(
        "{} valgrind runs, {} at a time, in {:.1} s; {}",
        jobs.len(),
        options.jobs,
        elapsed.as_secs_f64(),
        valgrind_version(&options.valgrind).unwrap_or_default()
    );
    if ok && options.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("callgrind files kept in {} (read them with callgrind_annotate)", dir.display());
    }
    Ok(ok)
}

const USAGE: &str = "usage:
  ct_probe check [--jobs N] [--keep DIR] [--control-all]
      run every (preset, encoding, case) under valgrind and compare the counts
      (valgrind from $HOOKSIG_VALGRIND or PATH; without it: skip, or fail if CI=true)
  ct_probe run PRESET hex|HEX|base64 first|last|all|valid [--control]
      one verification, the program callgrind measures";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["run", preset, text, case, rest @ ..] => {
            let mode = match rest {
                [] => Mode::Hooksig,
                ["--control"] => Mode::Control,
                _ => return usage(),
            };
            let (Some(text), Some(case)) = (Text::parse(text), Case::parse(case)) else {
                return usage();
            };
            match run(preset, text, case, mode) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        ["check", rest @ ..] => {
            let mut options = Options {
                valgrind: std::env::var("HOOKSIG_VALGRIND").unwrap_or_else(|_| "valgrind".to_owned()),
                jobs: std::thread::available_parallelism().map_or(1, usize::from).min(2),
                keep: None,
                control_all: false,
            };
            let mut rest = rest.iter();
            while let Some(arg) = rest.next() {
                match *arg {
                    "--jobs" => match rest.next().and_then(|n| n.parse().ok()) {
                        Some(n) => options.jobs = n,
                        None => return usage(),
                    },
                    "--keep" => match rest.next() {
                        Some(dir) => options.keep = Some(PathBuf::from(dir)),
                        None => return usage(),
                    },
                    "--control-all" => options.control_all = true,
                    _ => return usage(),
                }
            }
            if valgrind_version(&options.valgrind).is_none() {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    eprintln!(
                        "error: valgrind not found ({}); the constant-time check needs it in CI: \
                         apt-get install -y valgrind",
                        options.valgrind
                    );
                    return ExitCode::FAILURE;
                }
                println!("skipped: valgrind not found; install it with `apt-get install -y valgrind`");
                return ExitCode::SUCCESS;
            }
            match check(&options) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => {
                    eprintln!("constant-time check FAILED");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
