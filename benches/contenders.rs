//! The contenders of the verify benchmark, shared by the criterion bench (`verify.rs`)
//! and the table runner (`report.rs`) so that both time exactly the same closures.
//!
//! Each contender is built for one body size from one [`Inputs`]: everything that is
//! set-up (signing, keying, header maps, peers' verifier objects) happens here, outside
//! the timed call. Each closure checks a real delivery and returns whether it passed;
//! [`contenders`] runs every closure once and panics if any rejects its input, so a
//! peer that silently fails fast can never look quick.

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use hooksig_benches::{
    Inputs, PresetDelivery, STANDARD_SECRET, STRIPE_SECRET, TALE_SECRET, floor, naive_tale,
};

/// What a contender is, for the table's ratio columns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// The SHA-256 floor.
    Floor,
    /// Raw pre-keyed HMAC.
    Raw,
    /// A hooksig verifier.
    Ours,
    /// The naive handler.
    Naive,
    /// A peer crate, compared with the hooksig contender of this id.
    Peer { vs: &'static str },
}

/// One timed operation.
pub struct Contender {
    /// Stable id (criterion's function name; the key the peers' `vs` refers to).
    pub id: &'static str,
    /// What the table shows.
    pub label: &'static str,
    /// Its role.
    pub kind: Kind,
    /// The operation: verify one delivery, `true` if it was accepted.
    pub run: Box<dyn Fn() -> bool>,
}

/// Ids of the rows the targets are about.
pub const FLOOR: &str = "floor_sha256";
/// Raw pre-keyed HMAC.
pub const RAW: &str = "raw_hmac";
/// hooksig, Tale preset.
pub const TALE: &str = "hooksig_tale";
/// hooksig, Standard Webhooks, `verify_at`.
pub const STANDARD: &str = "hooksig_standard_webhooks";
/// hooksig, Standard Webhooks, `verify` (reads the system clock like the peers do).
pub const STANDARD_CLOCK: &str = "hooksig_standard_webhooks_clock";
/// hooksig, Stripe, `verify_at`.
pub const STRIPE: &str = "hooksig_stripe";

/// A fixed clock for `webhook-verify`, which lets callers inject one.
struct Fixed(u64);

impl webhook_verify::Clock for Fixed {
    fn now(&self) -> u64 {
        self.0
    }
}

/// Every contender for a body of `len` bytes, signed "now".
pub fn contenders(len: usize) -> Vec<Contender> {
    let inputs = Arc::new(Inputs::new(len, SystemTime::now()));
    let at_secs = inputs.at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut list = Vec::new();
    let mut add = |id, label, kind, run: Box<dyn Fn() -> bool>| list.push(Contender { id, label, kind, run });

    let i = inputs.clone();
    add(
        FLOOR,
        "floor: `sha2::Sha256::digest`",
        Kind::Floor,
        Box::new(move || {
            black_box(floor(black_box(&i.body)));
            true
        }),
    );
    let i = inputs.clone();
    add(
        RAW,
        "raw pre-keyed HMAC (clone, update, finalize)",
        Kind::Raw,
        Box::new(move || {
            black_box(i.raw.tag(black_box(&i.body)));
            true
        }),
    );
    let i = inputs.clone();
    add(
        TALE,
        "**hooksig** Tale `verify_at`",
        Kind::Ours,
        Box::new(move || i.tale_verifier.verify_at(black_box(&i.tale), black_box(&i.body), i.at).is_ok()),
    );
    let i = inputs.clone();
    add(
        "hooksig_tale_2_secrets",
        "**hooksig** Tale, 2 secrets (2nd matches)",
        Kind::Ours,
        Box::new(move || {
            i.tale_rotation
                .verify_at(black_box(&i.tale), black_box(&i.body), i.at)
                .is_ok_and(|v| v.key_index() == 1)
        }),
    );
    let i = inputs.clone();
    add(
        STANDARD,
        "**hooksig** Standard Webhooks `verify_at`",
        Kind::Ours,
        Box::new(move || {
            i.standard_verifier.verify_at(black_box(&i.standard), black_box(&i.body), i.at).is_ok()
        }),
    );
    let i = inputs.clone();
    add(
        STANDARD_CLOCK,
        "**hooksig** Standard Webhooks `verify` (system clock)",
        Kind::Ours,
        Box::new(move || i.standard_verifier.verify(black_box(&i.standard), black_box(&i.body)).is_ok()),
    );
    let i = inputs.clone();
    add(
        STRIPE,
        "**hooksig** Stripe `verify_at`",
        Kind::Ours,
        Box::new(move || i.stripe_verifier.verify_at(black_box(&i.stripe), black_box(&i.body), i.at).is_ok()),
    );
    let i = inputs.clone();
    add(
        "naive_tale",
        "naive handler (key per call, `hex::encode`, `==`)",
        Kind::Naive,
        Box::new(move || naive_tale(black_box(&i.tale), black_box(&i.body), TALE_SECRET.as_bytes())),
    );

    // webhook-verify: GitHub is Tale's grammar (`sha256=<hex>` over the body) under
    // GitHub's header name, which the shared map carries with the same value.
    let i = inputs.clone();
    let secret = webhook_verify::Secret::new(TALE_SECRET);
    add(
        "webhook_verify_github",
        "webhook-verify 0.1 `GitHub`",
        Kind::Peer { vs: TALE },
        Box::new(move || {
            webhook_verify::verify(
                webhook_verify::Provider::GitHub,
                black_box(&i.tale),
                black_box(&i.body),
                &secret,
                Default::default(),
            )
            .is_ok()
        }),
    );
    let clock: Arc<dyn webhook_verify::Clock> = Arc::new(Fixed(at_secs));
    let options = webhook_verify::VerifyOptions::default().with_clock(Some(clock));
    let i = inputs.clone();
    let secret = webhook_verify::Secret::new(STANDARD_SECRET);
    let opts = options.clone();
    add(
        "webhook_verify_standard",
        "webhook-verify 0.1 `StandardWebhooks`",
        Kind::Peer { vs: STANDARD },
        Box::new(move || {
            webhook_verify::verify(
                webhook_verify::Provider::StandardWebhooks,
                black_box(&i.standard),
                black_box(&i.body),
                &secret,
                opts.clone(),
            )
            .is_ok()
        }),
    );
    let i = inputs.clone();
    let secret = webhook_verify::Secret::new(STRIPE_SECRET);
    add(
        "webhook_verify_stripe",
        "webhook-verify 0.1 `Stripe`",
        Kind::Peer { vs: STRIPE },
        Box::new(move || {
            webhook_verify::verify(
                webhook_verify::Provider::Stripe,
                black_box(&i.stripe),
                black_box(&i.body),
                &secret,
                options.clone(),
            )
            .is_ok()
        }),
    );

    // standardwebhooks reads the system clock itself: compared with hooksig's
    // `verify`, which does too. (svix is not built: see benches/Cargo.toml.)
    let i = inputs.clone();
    let wh = standardwebhooks::Webhook::new(STANDARD_SECRET).expect("standardwebhooks secret");
    add(
        "standardwebhooks",
        "standardwebhooks 1.0 `Webhook::verify`",
        Kind::Peer { vs: STANDARD_CLOCK },
        Box::new(move || wh.verify(black_box(&i.body), black_box(&i.standard)).is_ok()),
    );
    for c in &list {
        assert!((c.run)(), "{} rejected its input at {len} bytes", c.id);
    }
    list
}

/// What a row of the per-preset table times, for one preset and body size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// SHA-256 of the preset's signed message: the hardware limit.
    Floor,
    /// Pre-keyed HMAC of the signed message (clone, update, finalize): the lower bound
    /// for any verifier of that message.
    Raw,
    /// `Verifier::verify_at` on the signed `HeaderMap` and the body.
    Verify,
    /// The preset's verifier written by hand with RustCrypto's HMAC (`handwritten`),
    /// on the same `HeaderMap` and body: for the presets whose message holds header
    /// text.
    HandWritten,
    /// The same with an HMAC of its own on `sha2`'s compression function.
    HandWrittenOwnHmac,
}

impl Role {
    /// Criterion's name for the role.
    #[allow(dead_code)] // the report runner does not name roles
    pub fn id(self) -> &'static str {
        match self {
            Role::Floor => "floor_sha256",
            Role::Raw => "raw_hmac",
            Role::Verify => "verify_at",
            Role::HandWritten => "hand_written",
            Role::HandWrittenOwnHmac => "hand_written_own_hmac",
        }
    }
}

/// One timed operation of the per-preset table.
pub struct PresetContender {
    /// The preset's name (`Scheme::name`).
    pub preset: &'static str,
    /// What is timed.
    pub role: Role,
    /// The operation; `true` when it did what it should (for `Verify`: accepted).
    pub run: Box<dyn Fn() -> bool>,
}

/// For every preset, its floor, its raw HMAC, hooksig's `verify_at` and, where the
/// message holds header text, the verifier written by hand, over one delivery of
/// `len` body bytes signed "now" (`PresetDelivery`: the raw HMAC and the floor take
/// the signed message written out in one buffer).
pub fn presets(len: usize) -> Vec<PresetContender> {
    let mut list = Vec::new();
    for delivery in PresetDelivery::all(len, SystemTime::now()) {
        let d = Arc::new(delivery);
        let preset = d.name;
        assert_eq!(
            d.hand_written(false).is_some(),
            d.hand_written(true).is_some(),
            "{preset}: both by hand or none"
        );
        for (own, role) in [(false, Role::HandWritten), (true, Role::HandWrittenOwnHmac)] {
            if let Some(hand) = d.hand_written(own) {
                let h = d.clone();
                list.push(PresetContender {
                    preset,
                    role,
                    run: Box::new(move || hand.verify(black_box(&h.headers), black_box(&h.body), h.at)),
                });
            }
        }
        let (f, r, v) = (d.clone(), d.clone(), d);
        list.push(PresetContender {
            preset,
            role: Role::Floor,
            run: Box::new(move || {
                black_box(floor(black_box(&f.message)));
                true
            }),
        });
        list.push(PresetContender {
            preset,
            role: Role::Raw,
            run: Box::new(move || {
                black_box(r.raw.tag(black_box(&r.message)));
                true
            }),
        });
        list.push(PresetContender {
            preset,
            role: Role::Verify,
            run: Box::new(move || {
                v.verifier.verify_at(black_box(&v.headers), black_box(&v.body), v.at).is_ok()
            }),
        });
    }
    for c in &list {
        assert!((c.run)(), "{} {:?} failed at {len} bytes", c.preset, c.role);
    }
    list
}
