//! The signed relay (`POST /postbacks/relay`): how an advertiser's own bot or
//! mini app reports that an attributed user did the action there.
//!
//! Signature: `X-Tgtrack-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`
//! with `X-Tgtrack-Timestamp: <unix seconds>`. A timestamp more than
//! [`MAX_SKEW`] away from our clock is refused, so a captured request cannot
//! be replayed later; inside the window, the per-offer `event_id` is stored
//! and a repeat is refused. docs/RELAY.md is the advertiser-facing contract.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a request's timestamp may be from our clock, in seconds.
pub const MAX_SKEW: i64 = 300;
/// Largest accepted body.
pub const MAX_BODY: usize = 16 * 1024;

/// The JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayEvent {
    pub offer_id: i64,
    pub event_id: String,
    #[serde(default)]
    pub start_token: Option<String>,
    #[serde(default)]
    pub tg_user_id: Option<i64>,
    #[serde(default)]
    pub occurred_at: Option<i64>,
}

/// Why a relay request is refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("malformed body: {0}")]
    Malformed(String),
    #[error("missing or malformed {0} header")]
    Header(&'static str),
    #[error("stale timestamp")]
    Stale,
    #[error("bad signature")]
    BadSignature,
}

/// Parses the body without trusting it yet: the offer id only picks which
/// secret to verify the signature with.
pub fn parse(body: &[u8]) -> Result<RelayEvent, RelayError> {
    let e: RelayEvent =
        serde_json::from_slice(body).map_err(|e| RelayError::Malformed(e.to_string()))?;
    if e.event_id.is_empty() || e.event_id.len() > 128 || e.event_id.chars().any(char::is_control) {
        return Err(RelayError::Malformed(
            "event_id must be 1 to 128 printable characters".into(),
        ));
    }
    match (&e.start_token, e.tg_user_id) {
        (Some(_), Some(_)) | (None, None) => Err(RelayError::Malformed(
            "give exactly one of start_token and tg_user_id".into(),
        )),
        (Some(t), None) if !super::token::is_start_payload(t) => Err(RelayError::Malformed(
            "start_token is not a token we issued".into(),
        )),
        (None, Some(id)) if id <= 0 => {
            Err(RelayError::Malformed("tg_user_id must be positive".into()))
        }
        _ => Ok(e),
    }
}

/// Checks the timestamp window and the HMAC, in constant time.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), RelayError> {
    let ts_text = timestamp
        .ok_or(RelayError::Header("X-Tgtrack-Timestamp"))?
        .trim();
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| RelayError::Header("X-Tgtrack-Timestamp"))?;
    if (now - ts).abs() > MAX_SKEW {
        return Err(RelayError::Stale);
    }
    let hex = signature
        .and_then(|s| s.trim().strip_prefix("sha256="))
        .ok_or(RelayError::Header("X-Tgtrack-Signature"))?;
    let given = decode_hex(hex).ok_or(RelayError::Header("X-Tgtrack-Signature"))?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(ts_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| RelayError::BadSignature)
}

/// Signs a request the way advertisers must (used by tests and the demo).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"offer_id":12,"event_id":"e1","start_token":"abc"}"#;

    #[test]
    fn good_signature_passes() {
        let sig = sign("k3y", 1000, BODY);
        assert_eq!(verify("k3y", Some("1000"), Some(&sig), BODY, 1100), Ok(()));
    }

    #[test]
    fn matches_the_documented_example() {
        // docs/RELAY.md, "Worked example": secret k3y_-AbC, timestamp 1764170000.
        let body =
            br#"{"offer_id":12,"event_id":"order-1001","start_token":"AZ3kx9_aB-cD3eF4gH5iJ6kL"}"#;
        let sig = sign("k3y_-AbC", 1764170000, body);
        assert_eq!(
            sig,
            "sha256=5aee2c805e73692e7be2f7c45dcc3bcd7004a46dbe4a33b4f4dd0ff047c2eafd"
        );
        assert_eq!(
            verify("k3y_-AbC", Some("1764170000"), Some(&sig), body, 1764170000),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let sig = sign("k3y", 1000, BODY);
        assert_eq!(
            verify("other", Some("1000"), Some(&sig), BODY, 1000),
            Err(RelayError::BadSignature)
        );
        assert_eq!(
            verify("k3y", Some("1000"), Some(&sig), b"{}", 1000),
            Err(RelayError::BadSignature)
        );
        assert_eq!(
            verify("k3y", Some("1000"), Some(&sig), BODY, 1000 + MAX_SKEW + 1),
            Err(RelayError::Stale)
        );
        assert_eq!(
            verify("k3y", Some("1000"), Some(&sig), BODY, 1000 - MAX_SKEW - 1),
            Err(RelayError::Stale)
        );
        assert!(matches!(
            verify("k3y", None, Some(&sig), BODY, 1000),
            Err(RelayError::Header(_))
        ));
        assert!(matches!(
            verify("k3y", Some("1000"), Some("md5=00"), BODY, 1000),
            Err(RelayError::Header(_))
        ));
        assert!(matches!(
            verify("k3y", Some("1000"), Some("sha256=zz"), BODY, 1000),
            Err(RelayError::Header(_))
        ));
    }

    #[test]
    fn bodies() {
        assert!(parse(BODY).is_ok());
        assert!(parse(br#"{"offer_id":1,"event_id":"e","tg_user_id":5}"#).is_ok());
        for bad in [
            &br#"{"offer_id":1,"event_id":"e"}"#[..],
            br#"{"offer_id":1,"event_id":"e","tg_user_id":5,"start_token":"a"}"#,
            br#"{"offer_id":1,"event_id":"","tg_user_id":5}"#,
            br#"{"offer_id":1,"event_id":"e","start_token":"a b"}"#,
            br#"{"offer_id":1,"event_id":"e","tg_user_id":5,"extra":1}"#,
            b"not json",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
