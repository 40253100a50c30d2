//! Prints the README's performance tables: one run, one set of tables.
//!
//! `cargo bench -p hooksig-benches --bench report`
//!
//! - the per-preset table: every preset's `verify_at` against raw pre-keyed
//!   HMAC and SHA-256 over the same signed message, at 64 B, 1 KiB and 1 MiB, with
//!   the goals;
//! - `verify`: the contenders of the criterion bench `verify` (peers, naive handler);
//! - `middleware`: the tower layer and the actix middleware.
//!
//! `HOOKSIG_BENCH_ONLY=presets`, `=verify` or `=middleware` runs one of them.
//!
//! Times the same closures as the criterion bench `verify` (see `contenders.rs`) with
//! its own loop, so that every number in the table comes from the same run:
//!
//! - per body size, each contender is warmed up and its batch length chosen so one
//!   batch lasts about `HOOKSIG_BENCH_BATCH_MS` (default 2 ms, shorter than a
//!   scheduler slice);
//! - then `HOOKSIG_BENCH_ROUNDS` rounds (default 61) run one batch of every
//!   contender, in an order rotated each round, so that load from other processes
//!   hits all contenders alike;
//! - a contender's figure (`ns/op`) is the 10th percentile of its batches: on a quiet
//!   machine it is within a few percent of the median, and on a shared one it is the
//!   cost of the code rather than of the neighbours. The median is printed beside it;
//!   where the two differ much, that row was disturbed.
//!
//! Ratios are of the `ns/op` figures: `× floor` and `× raw HMAC` divide a row by the
//! SHA-256 floor and by raw pre-keyed HMAC of the same size; `peer ÷ hooksig` divides
//! a peer's time by the hooksig row it is compared with (above 1: hooksig is faster).

use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "contenders.rs"]
mod contenders;

#[path = "apps.rs"]
#[allow(dead_code)] // the ids are criterion's
mod apps;

use contenders::{Contender, Kind, Role};

struct Config {
    rounds: usize,
    batch: Duration,
    warmup: Duration,
    presets: bool,
    verify: bool,
    middleware: bool,
}

impl Config {
    fn from_env() -> Config {
        let num = |name: &str, default: u64| {
            std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0).unwrap_or(default)
        };
        // `HOOKSIG_BENCH_ONLY=presets`, `=verify` or `=middleware` runs one of the tables.
        let only = std::env::var("HOOKSIG_BENCH_ONLY").unwrap_or_default();
        Config {
            rounds: num("HOOKSIG_BENCH_ROUNDS", 61) as usize,
            batch: Duration::from_millis(num("HOOKSIG_BENCH_BATCH_MS", 2)),
            warmup: Duration::from_millis(num("HOOKSIG_BENCH_WARMUP_MS", 60)),
            presets: only.is_empty() || only == "presets",
            verify: only.is_empty() || only == "verify",
            middleware: only.is_empty() || only == "middleware",
        }
    }
}

/// One contender's result at one size.
struct Row {
    id: &'static str,
    label: &'static str,
    kind: Kind,
    /// The [`FIGURE`] percentile of the batches, ns per call.
    figure: f64,
    /// The median of the batches, ns per call.
    median: f64,
}

/// The percentile reported as `ns/op`.
const FIGURE: f64 = 0.10;

/// Runs `run` `iters` times; ns per call.
fn batch(run: &dyn Fn() -> bool, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(run());
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

/// Warms `run` up for `warmup` and returns how many calls fill one batch.
fn calibrate(run: &dyn Fn() -> bool, cfg: &Config) -> u64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < cfg.warmup {
        black_box(run());
        calls += 1;
    }
    let per_call = start.elapsed().as_nanos() as f64 / calls.max(1) as f64;
    ((cfg.batch.as_nanos() as f64 / per_call) as u64).max(1)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len().saturating_sub(1)) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let frac = pos - lo as f64;
    sorted[lo] * (1.0 - frac) + sorted[hi] * frac
}

/// Times every run interleaved: a warm-up and batch length each, then `cfg.rounds`
/// rounds of one batch of every run, in an order rotated each round. Per run, the
/// [`FIGURE`] percentile and the median of its batches, ns per call.
fn time_interleaved(runs: &[&dyn Fn() -> bool], cfg: &Config) -> Vec<(f64, f64)> {
    let iters: Vec<u64> = runs.iter().map(|run| calibrate(*run, cfg)).collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(cfg.rounds); runs.len()];
    for round in 0..cfg.rounds {
        for k in 0..runs.len() {
            let i = (k + round) % runs.len();
            samples[i].push(batch(runs[i], iters[i]));
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            (quantile(&s, FIGURE), quantile(&s, 0.5))
        })
        .collect()
}

fn measure(len: usize, cfg: &Config) -> Vec<Row> {
    let list: Vec<Contender> = contenders::contenders(len);
    let runs: Vec<&dyn Fn() -> bool> = list.iter().map(|c| &*c.run).collect();
    let times = time_interleaved(&runs, cfg);
    list.iter()
        .zip(times)
        .map(|(c, (figure, median))| Row { id: c.id, label: c.label, kind: c.kind, figure, median })
        .collect()
}

/// One preset's three figures at one size.
struct PresetRow {
    preset: &'static str,
    /// (figure, median) per role.
    floor: (f64, f64),
    raw: (f64, f64),
    verify: (f64, f64),
    /// NaN for a preset without a hand-written verifier.
    hand: (f64, f64),
    /// The same with its own HMAC.
    hand_own: (f64, f64),
}

/// Every preset's floor, raw HMAC and `verify_at` at `len`, all interleaved.
fn measure_presets(len: usize, cfg: &Config) -> Vec<PresetRow> {
    let list = contenders::presets(len);
    let runs: Vec<&dyn Fn() -> bool> = list.iter().map(|c| &*c.run).collect();
    let times = time_interleaved(&runs, cfg);
    let mut rows: Vec<PresetRow> = Vec::new();
    for (c, time) in list.iter().zip(times) {
        let at = match rows.iter().position(|r| r.preset == c.preset) {
            Some(at) => at,
            None => {
                let nan = (f64::NAN, f64::NAN);
                rows.push(PresetRow {
                    preset: c.preset,
                    floor: nan,
                    raw: nan,
                    verify: nan,
                    hand: nan,
                    hand_own: nan,
                });
                rows.len() - 1
            }
        };
        let row = &mut rows[at];
        match c.role {
            Role::Floor => row.floor = time,
            Role::Raw => row.raw = time,
            Role::Verify => row.verify = time,
            Role::HandWritten => row.hand = time,
            Role::HandWrittenOwnHmac => row.hand_own = time,
        }
    }
    rows
}

/// Prints the per-preset table and the goals it meets or misses.
fn print_presets(results: &[(&str, usize, Vec<PresetRow>)], cfg: &Config, load: (&str, &str), secs: f64) {
    println!("### verify_at per preset: ns per call, one run\n");
    println!(
        "`HOOKSIG_BENCH_ONLY=presets cargo bench -p hooksig-benches --bench report` — {} ({} CPUs, SHA extensions: {}), {}, {}, release profile.",
        hooksig_benches::cpu_model(),
        hooksig_benches::cpus(),
        if hooksig_benches::has_sha_extensions() { "yes" } else { "no" },
        rustc_version(),
        hooksig_benches::today(),
    );
    println!(
        "Per body size the floor, the raw HMAC, `verify_at` of all nine presets and the verifiers \
         written by hand are interleaved: \
         {} rounds × ~{} ms batches each; ns/op is the 10th percentile of the batches (the \
         median of `verify_at` is beside it); load average {} → {}; {:.0} s. Raw HMAC and \
         floor take each preset's signed message written out in one buffer (e.g. \
         `{{id}}.{{timestamp}}.{{body}}`); `verify_at` and the verifiers by hand read a `HeaderMap` \
         of three ordinary headers followed by the signed ones, and the body.\n",
        cfg.rounds,
        cfg.batch.as_millis(),
        load.0,
        load.1,
        secs,
    );
    println!(
        "| preset | body | SHA-256 floor | raw HMAC | hooksig `verify_at` | median | × raw HMAC | × floor | goal | met | by hand | × raw HMAC | by hand, own HMAC | × raw HMAC |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|");
    let mut missed = Vec::new();
    for (size, len, rows) in results {
        let goal = hooksig_benches::preset_goal(*len);
        for r in rows {
            let ratio = r.verify.0 / r.raw.0;
            let met = ratio <= goal;
            if !met {
                missed.push(format!("{} {size} {ratio:.2}×", hooksig_benches::preset_label(r.preset)));
            }
            let beside = |t: f64| match t {
                t if t.is_nan() => "— | —".to_owned(),
                t => format!("{} | {:.2}", ns(t), t / r.raw.0),
            };
            let (hand, hand_own) = (beside(r.hand.0), beside(r.hand_own.0));
            println!(
                "| {} | {size} | {} | {} | {} | {} | {ratio:.2} | {:.2} | ≤ {goal:.2} | {} | {hand} | {hand_own} |",
                hooksig_benches::preset_label(r.preset),
                ns(r.floor.0),
                ns(r.raw.0),
                ns(r.verify.0),
                ns(r.verify.1),
                r.verify.0 / r.floor.0,
                if met { "yes" } else { "**no**" },
            );
        }
    }
    let total: usize = results.iter().map(|(_, _, rows)| rows.len()).sum();
    println!(
        "\nGoals met: {} of {total}.{}",
        total - missed.len(),
        if missed.is_empty() { String::new() } else { format!(" Missed: {}.", missed.join(", ")) }
    );
    println!(
        "Oktave signs `{{id}}{{timestamp}}` and not the body: its message is the same few dozen \
         bytes at every body size, so its ratio is a small-message ratio throughout."
    );
    println!(
        "\"By hand\": the preset's verifier written for it alone (`benches/handwritten.rs`): one pass \
         over the headers, the id's and the timestamp's checks, the MAC, the signature decoded and \
         compared in constant time; with RustCrypto's HMAC fed part by part, and with an HMAC of \
         its own on `sha2`'s compression function that gathers the header text and the body's \
         first bytes into one block. Only for the presets whose message holds header text."
    );
    // Raw HMAC's libc copies depend on the CPU and on glibc's tunables; say which.
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    let copies = match (hooksig_benches::has_avx512(), tunables.is_empty()) {
        (true, true) => "this CPU has AVX-512 and `GLIBC_TUNABLES` is unset, so glibc may have taken its \
                         512-bit copies (it prefers its 256-bit ones on some CPUs); \
                         `GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW` selects the AVX2 \
                         copies of a CPU without AVX-512"
            .to_owned(),
        (true, false) => format!("this CPU has AVX-512; `GLIBC_TUNABLES={tunables}`"),
        (false, _) => "this CPU has no AVX-512".to_owned(),
    };
    println!(
        "Raw HMAC (RustCrypto) calls libc's `memcpy` and `memset` for every message, and `verify_at` \
         calls neither before its verdict: which copies glibc picks moves the raw HMAC column and \
         not the `verify_at` one ({copies}).\n"
    );
}

/// One middleware setup's result at one size.
struct AppRow {
    label: &'static str,
    framework: &'static str,
    kind: apps::Kind,
    figure: f64,
    median: f64,
}

fn measure_apps(len: usize, cfg: &Config) -> Vec<AppRow> {
    let mut list = apps::apps(len);
    // Calibrate: requests per batch so that one batch lasts about `cfg.batch`.
    let iters: Vec<u64> = list
        .iter_mut()
        .map(|app| {
            let mut n = 1u64;
            let mut per_call = f64::MAX;
            let start = Instant::now();
            while start.elapsed() < cfg.warmup {
                per_call = per_call.min((app.run)(n).as_nanos() as f64 / n as f64);
                n = (n * 2).min(1 << 12);
            }
            ((cfg.batch.as_nanos() as f64 / per_call) as u64).max(1)
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(cfg.rounds); list.len()];
    for round in 0..cfg.rounds {
        for k in 0..list.len() {
            let i = (k + round) % list.len();
            let took = (list[i].run)(iters[i]);
            samples[i].push(took.as_nanos() as f64 / iters[i] as f64);
        }
    }
    list.iter()
        .zip(samples)
        .map(|(app, mut s)| {
            s.sort_by(f64::total_cmp);
            AppRow {
                label: app.label,
                framework: app.framework,
                kind: app.kind,
                figure: quantile(&s, FIGURE),
                median: quantile(&s, 0.5),
            }
        })
        .collect()
}

/// The figure of the setup of `kind` in `framework`.
fn app_figure(rows: &[AppRow], framework: &str, kind: apps::Kind) -> f64 {
    rows.iter().find(|r| r.framework == framework && r.kind == kind).map(|r| r.figure).unwrap_or(f64::NAN)
}

fn ns(v: f64) -> String {
    if v < 100.0 {
        return format!("{v:.1}");
    }
    let digits = format!("{v:.0}");
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "rustc ?".to_owned())
}

fn main() {
    // `cargo bench` passes `--bench`; a `--list` or a test run gets nothing to do.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let cfg = Config::from_env();
    if cfg.presets {
        let load_before = hooksig_benches::load_average();
        let started = Instant::now();
        let results: Vec<(&str, usize, Vec<PresetRow>)> = hooksig_benches::PRESET_SIZES
            .iter()
            .map(|(name, len)| (*name, *len, measure_presets(*len, &cfg)))
            .collect();
        let load_after = hooksig_benches::load_average();
        print_presets(&results, &cfg, (&load_before, &load_after), started.elapsed().as_secs_f64());
    }
    if !cfg.verify && !cfg.middleware {
        return;
    }
    let load_before = hooksig_benches::load_average();
    let started = Instant::now();
    let results: Vec<(&str, Vec<Row>)> = match cfg.verify {
        true => hooksig_benches::SIZES.iter().map(|(name, len)| (*name, measure(*len, &cfg))).collect(),
        false => Vec::new(),
    };
    let middleware: Vec<(&str, Vec<_>)> = match cfg.middleware {
        true => apps::SIZES.iter().map(|(name, len)| (*name, measure_apps(*len, &cfg))).collect(),
        false => Vec::new(),
    };
    let elapsed = started.elapsed();

    println!("### hooksig benchmarks, one run\n");
    println!(
        "`cargo bench -p hooksig-benches --bench report` — {} ({} CPUs, SHA extensions: {}), {}, {}, release profile.",
        hooksig_benches::cpu_model(),
        hooksig_benches::cpus(),
        if hooksig_benches::has_sha_extensions() { "yes" } else { "no" },
        rustc_version(),
        hooksig_benches::today(),
    );
    println!(
        "{} rounds × ~{} ms batches per contender and size; ns/op is the 10th percentile of the \
         batches, the median is beside it; load average {} → {}; {:.0} s.\n",
        cfg.rounds,
        cfg.batch.as_millis(),
        load_before,
        hooksig_benches::load_average(),
        elapsed.as_secs_f64(),
    );
    if !results.is_empty() {
        println!("#### verify: ns per call\n");
        println!("| size | contender | ns/op | median | × floor | × raw HMAC | peer ÷ hooksig |");
        println!("|---|---|--:|--:|--:|--:|--:|");
    }
    for (size, rows) in &results {
        let find = |id: &str| rows.iter().find(|r| r.id == id).map(|r| r.figure).unwrap_or(f64::NAN);
        let floor = find(contenders::FLOOR);
        let raw = find(contenders::RAW);
        for r in rows {
            let versus = match r.kind {
                Kind::Peer { vs } => format!("{:.2}×", r.figure / find(vs)),
                _ => String::new(),
            };
            println!(
                "| {size} | {} | {} | {} | {:.2} | {:.2} | {versus} |",
                r.label,
                ns(r.figure),
                ns(r.median),
                r.figure / floor,
                r.figure / raw,
            );
        }
    }

    if !middleware.is_empty() {
        println!("\n#### middleware: ns per request, same run\n");
        println!(
            "In-process, Tale preset, trivial handler taking the body as `Bytes`; axum via \
             `oneshot` (bodies in 64 KiB frames), actix-web via `test::call_service` (one chunk); \
             {} clock. \
             The ratios divide a row's ns/request by its framework's baseline of the same size, \
             measured in the same rounds: *buffering only* (no hashing) and *buffering + \
             `verify`* (what the middleware does, by hand: the baseline of the targets).\n",
            apps::Stopwatch::clock()
        );
        println!(
            "| size | framework | setup | ns/request | median | ÷ buffering only | ÷ buffering + `verify` |"
        );
        println!("|---|---|---|--:|--:|--:|--:|");
    }
    for (size, rows) in &middleware {
        for r in rows {
            let ratio = |base: f64| format!("{:.3}", r.figure / base);
            let buffer = app_figure(rows, r.framework, apps::Kind::Buffer);
            let verify = app_figure(rows, r.framework, apps::Kind::BufferVerify);
            let (vs_buffer, vs_verify) = match r.kind {
                apps::Kind::Buffer => ("1 (baseline)".to_owned(), ratio(verify)),
                apps::Kind::BufferVerify => (ratio(buffer), "1 (baseline)".to_owned()),
                apps::Kind::Hooksig => (ratio(buffer), format!("**{}**", ratio(verify))),
            };
            println!(
                "| {size} | {} | {} | {} | {} | {vs_buffer} | {vs_verify} |",
                r.framework,
                r.label,
                ns(r.figure),
                ns(r.median)
            );
        }
    }

    println!("\n#### targets, from the tables above\n");
    for (size, rows) in &results {
        let find = |id: &str| rows.iter().find(|r| r.id == id).map(|r| r.figure).unwrap_or(f64::NAN);
        let tale_vs_raw = find(contenders::TALE) / find(contenders::RAW);
        let limit = match *size {
            "64 B" => Some(1.25),
            "1 KiB" => Some(1.10),
            "1 MiB" => Some(1.03),
            _ => None,
        };
        let peer_limit = if matches!(*size, "64 B" | "1 KiB") { 1.5 } else { 1.0 };
        let slowest_peer = rows
            .iter()
            .filter_map(|r| match r.kind {
                Kind::Peer { vs } => Some((r.figure / find(vs), r.id)),
                _ => None,
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let tale = match limit {
            Some(l) => format!(
                "Tale ÷ raw HMAC {tale_vs_raw:.3} (target ≤ {l:.2}: {})",
                if tale_vs_raw <= l { "met" } else { "MISSED" }
            ),
            None => format!("Tale ÷ raw HMAC {tale_vs_raw:.3}"),
        };
        let peers = match slowest_peer {
            Some((ratio, id)) => format!(
                "closest peer {id} {ratio:.2}× our time (target ≥ {peer_limit:.1}: {})",
                if ratio >= peer_limit {
                    "met"
                } else if peer_limit <= 1.0 && ratio >= 0.99 {
                    "a tie, within 1%"
                } else {
                    "MISSED"
                }
            ),
            None => "no peer".to_owned(),
        };
        println!("- {size}: {tale}; {peers}");
    }
    for (size, rows) in &middleware {
        let limit = if *size == "1 KiB" { 1.10 } else { 1.03 };
        for framework in ["axum", "actix-web"] {
            let ours = app_figure(rows, framework, apps::Kind::Hooksig);
            let buffer = ours / app_figure(rows, framework, apps::Kind::Buffer);
            let verify = ours / app_figure(rows, framework, apps::Kind::BufferVerify);
            println!(
                "- {size}: {framework} middleware {verify:.3}× buffering + `verify` (target ≤ {limit:.2}×: {}); \
                 {buffer:.3}× buffering alone, which does not hash",
                if verify <= limit { "met" } else { "MISSED" }
            );
        }
    }
    println!(
        "\nsvix is not measured: svix 2.9 does not compile without a TLS feature \
         (its verifier is the algorithm of `standardwebhooks`)."
    );
}
