//! Unguessable tokens. Randomness is the one input this module takes from the
//! OS; the format rules are pure and tested.

use base64::Engine as _;

/// A click token: 128 random bits as 22 URL-safe base64 characters, well
/// inside Telegram's 64-character `start` payload limit (`[A-Za-z0-9_-]`).
pub fn click_token() -> String {
    random_b64::<16>()
}

/// A click token made at `now` (unix seconds): 5 bytes of the time, 3 of a
/// per-process sequence, then 96 random bits, as 27 characters of an
/// alphabet listed in ASCII order. Tokens made one after another therefore
/// sort one after another, so the unique index on tokens takes every insert
/// on its last page: with a random or per-second prefix, each click of a
/// batch dirtied a page of its own, and those pages were a third of the WAL
/// written per click. The prefix reveals only when and in what order clicks
/// were made; the random part keeps a token unguessable.
pub fn click_token_at(now: i64) -> String {
    let seq = NEXT_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut bytes = [0u8; 20];
    bytes[..5].copy_from_slice(&now.to_be_bytes()[3..]);
    bytes[5..8].copy_from_slice(&seq.to_be_bytes()[1..]);
    rand::fill(&mut bytes[8..]);
    ORDERED.encode(bytes)
}

/// The sequence part of [`click_token_at`]; it wraps after 2^24 tokens, which
/// costs one out-of-order insert, never a duplicate (the random part and the
/// unique index see to that).
static NEXT_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// URL-safe base64 (the same 64 characters Telegram accepts in a `start`
/// payload) with the digits in ASCII order, so that encoding keeps the order
/// of the bytes.
const ORDERED: base64::engine::GeneralPurpose = {
    let Ok(alphabet) = base64::alphabet::Alphabet::new(
        "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
    ) else {
        panic!("the ordered alphabet has 64 distinct URL-safe characters")
    };
    base64::engine::GeneralPurpose::new(&alphabet, base64::engine::general_purpose::NO_PAD)
};

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
    fn timed_tokens_sort_in_the_order_they_were_made_and_stay_unguessable() {
        let now = 1_795_428_000;
        let made: Vec<String> = (0..1000).map(|i| click_token_at(now + i / 300)).collect();
        for t in &made {
            assert_eq!(t.len(), 27);
            assert!(is_start_payload(t), "{t}");
        }
        assert!(
            made.windows(2).all(|w| w[0] < w[1]),
            "tokens sort as they were made"
        );
        // Same second and neighbouring sequence: a shared prefix, then 96
        // random bits (16 characters) that differ.
        assert_eq!(made[0][..6], made[1][..6]);
        assert_ne!(made[0][11..], made[1][11..]);
    }
}
