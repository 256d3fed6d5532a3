//! Unguessable tokens for click and share links.

use base64::Engine as _;
use rand::Rng as _;

/// 128 random bits from the thread-local CSPRNG (ChaCha, seeded from the OS),
/// base64url without padding: 22 characters of `[A-Za-z0-9_-]`, well inside
/// Telegram's 64-character limit for `start` payloads.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `s` could be a token we issued (also used for share tokens, which
/// the bot may make the same way); anything else is answered 404 without a lookup.
pub fn is_token_shaped(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 22);
        assert!(is_token_shaped(&a) && is_token_shaped(&b));
        assert_ne!(a, b);
        assert!(
            !is_token_shaped("a/b") && !is_token_shaped("") && !is_token_shaped(&"a".repeat(65))
        );
    }
}
