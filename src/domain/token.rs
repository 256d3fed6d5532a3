//! Unguessable tokens. Randomness is the one input this module takes from the
//! OS; the format rules are pure and tested.

use base64::Engine as _;

/// A click token: 128 random bits as 22 URL-safe base64 characters, well
/// inside Telegram's 64-character `start` payload limit (`[A-Za-z0-9_-]`).
pub fn click_token() -> String {
    random_b64::<16>()
}

/// A click token made at `now` (unix seconds): 5 bytes of the time, then 104
/// random bits, as 24 URL-safe characters. The time prefix makes tokens made
/// together sort together, so the unique index on tokens takes its inserts on
/// a few hot pages instead of a random page per click (the WAL volume was the
/// cost of a click). It reveals only when the click was made, which its maker
/// knows; the random part keeps it unguessable.
pub fn click_token_at(now: i64) -> String {
    let mut bytes = [0u8; 18];
    bytes[..5].copy_from_slice(&now.to_be_bytes()[3..]);
    rand::fill(&mut bytes[5..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A shared secret (relay HMAC keys): 256 random bits, 43 characters.
pub fn secret() -> String {
    random_b64::<32>()
}

fn random_b64<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    // ThreadRng: a CSPRNG seeded from the OS, reseeded periodically.
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `s` could be a `start` payload we issued: 1-64 of `[A-Za-z0-9_-]`.
pub fn is_start_payload(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_distinct() {
        let a = click_token();
        let b = click_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(is_start_payload(&a));
        assert!(is_start_payload(&secret()));
        assert!(!is_start_payload("a b"));
        assert!(!is_start_payload(&"x".repeat(65)));
    }

    #[test]
    fn timed_tokens_cluster_but_stay_unguessable() {
        let (a, b) = (click_token_at(1_795_428_000), click_token_at(1_795_428_000));
        assert_eq!(a.len(), 24);
        assert!(is_start_payload(&a));
        assert_ne!(a, b);
        assert_eq!(a[..6], b[..6], "the same second shares a prefix");
        assert_ne!(a[6..], b[6..]);
    }
}
