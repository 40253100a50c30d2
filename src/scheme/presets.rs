//! The provider presets, each a value built with the public [`SchemeBuilder`].
//!
//! The facts behind them (headers, signed message, encoding, tolerance) are the
//! providers' published documentation, summarised in the README's preset table.

use std::borrow::Cow;
use std::time::Duration;

use http::HeaderName;

use super::{Algorithm, Encoding, Part, Scheme, SchemeBuilder, SecretFormat, SignatureFormat};

const FIVE_MINUTES: Duration = Duration::from_secs(300);

fn header(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

fn prefixed(prefix: &'static str) -> SignatureFormat {
    SignatureFormat::Prefixed(Cow::Borrowed(prefix))
}

/// `sha256=<hex>` of HMAC-SHA256 over the raw body in `header_name`.
fn body_sha256_hex(name: &'static str, header_name: &'static str) -> SchemeBuilder {
    Scheme::builder(name)
        .signature_header(header(header_name))
        .format(prefixed("sha256="))
        .encoding(Encoding::Hex)
        .message([Part::Body])
}

/// The Standard Webhooks layout with the given header-name prefix.
fn standard(name: &'static str, id: &'static str, ts: &'static str, sig: &'static str) -> Scheme {
    Scheme::builder(name)
        .signature_header(header(sig))
        .format(SignatureFormat::VersionedList { version: Cow::Borrowed("v1") })
        .encoding(Encoding::Base64)
        .id_header(header(id))
        .timestamp_header(header(ts))
        .message([Part::Id, Part::literal("."), Part::Timestamp, Part::literal("."), Part::Body])
        .tolerance(FIVE_MINUTES)
        .secret_format(SecretFormat::Base64 { prefix: Cow::Borrowed("whsec_") })
        .version("v1a", Algorithm::Ed25519)
        .public_key_format(SecretFormat::Base64 { prefix: Cow::Borrowed("whpk_") })
        .signing_key_format(SecretFormat::Base64 { prefix: Cow::Borrowed("whsk_") })
        .generated_id_prefix("msg_")
        .build_unchecked()
}

impl Scheme {
    /// Tale: `X-Tale-Signature: sha256=<hex>` over the raw body; no timestamp, so pair
    /// it with replay protection.
    ///
    /// ```
    /// let headers = hooksig::Signer::new(hooksig::Scheme::tale(), "secret")?.sign(b"{}")?;
    /// assert!(headers["x-tale-signature"].to_str().unwrap().starts_with("sha256="));
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn tale() -> Scheme {
        body_sha256_hex("tale", "x-tale-signature").build_unchecked()
    }

    /// Vocalis: `X-Vocalis-Signature: sha256=<hex>` over the raw body.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::vocalis().signature_header(), "x-vocalis-signature");
    /// ```
    pub fn vocalis() -> Scheme {
        body_sha256_hex("vocalis", "x-vocalis-signature").build_unchecked()
    }

    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body;
    /// `X-GitHub-Delivery` is read as the id when present but is not signed. Body
    /// limit 25 MiB (GitHub caps payloads at 25 MB).
    ///
    /// ```
    /// let body = b"Hello, World!";
    /// let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-hub-signature-256", sig.parse().unwrap());
    /// let verifier = hooksig::Verifier::new(hooksig::Scheme::github(), "It's a Secret to Everybody")?;
    /// verifier.verify(&headers, body)?;
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    pub fn github() -> Scheme {
        body_sha256_hex("github", "x-hub-signature-256")
            .id_header(header("x-github-delivery"))
            .max_body(25 * 1024 * 1024)
            .build_unchecked()
    }

    /// Oktave: `Oktave-Signature: <hex>` over the event id followed directly by the
    /// timestamp text. The body is **not** covered: deduplicate on the (signed) event
    /// id and treat the body as untrusted, or fetch the event from Oktave's API.
    ///
    /// Tolerance: 1 hour into the past (Oktave retries up to 3 times, minutes apart
    /// and growing, and a retry carries the original timestamp), 5 minutes into the
    /// future.
    ///
    /// ```
    /// let scheme = hooksig::Scheme::oktave();
    /// assert!(!scheme.covers_body());
    /// assert_eq!(scheme.tolerance().unwrap().0.as_secs(), 3600);
    /// ```
    pub fn oktave() -> Scheme {
        Scheme::builder("oktave")
            .signature_header(header("oktave-signature"))
            .format(prefixed(""))
            .encoding(Encoding::Hex)
            .id_header(header("oktave-event-id"))
            .timestamp_header(header("oktave-timestamp"))
            .message([Part::Id, Part::Timestamp])
            .tolerance_past(Duration::from_secs(3600))
            .tolerance_future(FIVE_MINUTES)
            .generated_id_prefix("evt_")
            .build_unchecked()
    }

    /// Standard Webhooks: `webhook-signature: v1,<base64> …` over
    /// `{webhook-id}.{webhook-timestamp}.{body}`, 5 minutes each way; the secret is
    /// `whsec_` + base64 (prefix optional).
    ///
    /// The asymmetric version `v1a` (Ed25519 over the same message, 64-byte signatures
    /// in base64) is declared too: with the `ed25519` feature, give the verifier a
    /// `whpk_` public key and the signer a `whsk_` signing key; `v1` and `v1a` entries
    /// can share one header. Without public keys, `v1a` entries are skipped.
    ///
    /// ```
    /// let v = hooksig::Verifier::new(hooksig::Scheme::standard_webhooks(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
    /// assert!(v.is_ok());
    /// assert!(hooksig::Verifier::new(hooksig::Scheme::standard_webhooks(), "whsec_!!!").is_err());
    /// ```
    pub fn standard_webhooks() -> Scheme {
        standard("standard_webhooks", "webhook-id", "webhook-timestamp", "webhook-signature")
    }

    /// Svix: Standard Webhooks with `svix-id`, `svix-timestamp`, `svix-signature`.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::svix().id_header().unwrap(), "svix-id");
    /// ```
    pub fn svix() -> Scheme {
        standard("svix", "svix-id", "svix-timestamp", "svix-signature")
    }

    /// Discord interactions: `X-Signature-Ed25519: <hex>` (a 64-byte Ed25519
    /// signature) over `X-Signature-Timestamp` followed directly by the body; the
    /// application's public key is 64 hex digits. Discord publishes no tolerance; 5
    /// minutes each way here. No delivery id: replay protection keys a delivery by
    /// the digest of what was signed.
    ///
    /// ```
    /// use hooksig::{Scheme, Signer, Verifier};
    /// let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"; // RFC 8032, test 1
    /// let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    /// let headers = Signer::builder(Scheme::discord()).signing_key(seed).build()?.sign(br#"{"type":1}"#)?;
    /// let verified = Verifier::builder(Scheme::discord()).public_key(public).build()?.verify(&headers, br#"{"type":1}"#)?;
    /// assert_eq!(verified.algorithm(), hooksig::Algorithm::Ed25519);
    /// # Ok::<(), hooksig::Error>(())
    /// ```
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn discord() -> Scheme {
        Scheme::builder("discord")
            .signature_header(header("x-signature-ed25519"))
            .format(prefixed(""))
            .algorithm(Algorithm::Ed25519)
            .encoding(Encoding::Hex)
            .timestamp_header(header("x-signature-timestamp"))
            .message([Part::Timestamp, Part::Body])
            .tolerance(FIVE_MINUTES)
            .public_key_format(SecretFormat::Hex)
            .signing_key_format(SecretFormat::Hex)
            .build_unchecked()
    }

    /// Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over `{t}.{body}`; the
    /// whole `whsec_…` string is the key. Tolerance 5 minutes into the past (Stripe's
    /// default) and, our choice, 5 minutes into the future.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::stripe().message_template(), "{timestamp}.{body}");
    /// ```
    pub fn stripe() -> Scheme {
        Scheme::builder("stripe")
            .signature_header(header("stripe-signature"))
            .format(SignatureFormat::KeyValue {
                timestamp_key: Cow::Borrowed("t"),
                signature_key: Cow::Borrowed("v1"),
            })
            .encoding(Encoding::Hex)
            .message([Part::Timestamp, Part::literal("."), Part::Body])
            .tolerance(FIVE_MINUTES)
            .build_unchecked()
    }

    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:{timestamp}:{body}` with
    /// `X-Slack-Request-Timestamp`, 5 minutes each way.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::slack().message_template(), "v0:{timestamp}:{body}");
    /// ```
    pub fn slack() -> Scheme {
        Scheme::builder("slack")
            .signature_header(header("x-slack-signature"))
            .format(prefixed("v0="))
            .encoding(Encoding::Hex)
            .timestamp_header(header("x-slack-request-timestamp"))
            .message([Part::literal("v0:"), Part::Timestamp, Part::literal(":"), Part::Body])
            .tolerance(FIVE_MINUTES)
            .build_unchecked()
    }

    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the raw body;
    /// `X-Shopify-Webhook-Id` is read as the id when present but is not signed.
    ///
    /// ```
    /// assert_eq!(hooksig::Scheme::shopify().encoding(), hooksig::Encoding::Base64);
    /// ```
    pub fn shopify() -> Scheme {
        Scheme::builder("shopify")
            .signature_header(header("x-shopify-hmac-sha256"))
            .format(prefixed(""))
            .encoding(Encoding::Base64)
            .id_header(header("x-shopify-webhook-id"))
            .message([Part::Body])
            .build_unchecked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Presets skip validation at run time; this pins that they would pass it.
    #[test]
    fn every_preset_passes_builder_validation() {
        for scheme in Scheme::presets() {
            let rebuilt = scheme.to_builder().build().unwrap_or_else(|e| panic!("{}: {e}", scheme.name()));
            assert_eq!(format!("{rebuilt:?}"), format!("{scheme:?}"));
            assert_eq!(rebuilt.inner.id_prefix, scheme.inner.id_prefix);
            // Every timestamp a preset reads is signed.
            assert_eq!(scheme.timestamp_covered(), scheme.has_timestamp(), "{}", scheme.name());
        }
        let covered = |s: &Scheme| (s.name().to_owned(), s.timestamp_covered(), s.id_covered());
        let table: Vec<_> = Scheme::presets().iter().map(covered).collect();
        let want = [
            ("tale", false, false),
            ("vocalis", false, false),
            ("github", false, false),
            ("oktave", true, true),
            ("standard_webhooks", true, true),
            ("svix", true, true),
            ("stripe", true, false),
            ("slack", true, false),
            ("shopify", false, false),
        ];
        assert_eq!(table, want.map(|(n, t, i)| (n.to_owned(), t, i)));
    }

    /// The Ed25519 presets pass validation too, and each takes the keys it declares.
    #[cfg(feature = "ed25519")]
    #[test]
    fn ed25519_presets_pass_builder_validation() {
        for scheme in Scheme::ed25519_presets() {
            let rebuilt = scheme.to_builder().build().unwrap_or_else(|e| panic!("{}: {e}", scheme.name()));
            assert_eq!(format!("{rebuilt:?}"), format!("{scheme:?}"));
            assert!(scheme.supports(Algorithm::Ed25519));
            assert_eq!(scheme.timestamp_covered(), scheme.has_timestamp(), "{}", scheme.name());
        }
        let discord = Scheme::discord();
        assert!(discord.timestamp_covered() && !discord.id_covered() && discord.covers_body());
        assert!(!discord.supports(Algorithm::HmacSha256));
        assert_eq!(discord.message_template(), "{timestamp}{body}");
    }

    #[test]
    fn preset_names_are_unique_and_found() {
        let presets = Scheme::presets();
        for s in &presets {
            assert_eq!(Scheme::preset(s.name()).map(|p| p.name().to_owned()), Some(s.name().to_owned()));
        }
        assert!(Scheme::preset("standard-webhooks").is_some());
    }
}
