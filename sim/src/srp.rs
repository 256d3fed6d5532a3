//! Server side of two-step verification (SRP-2048, <https://core.telegram.org/api/srp>), so an
//! owner account with a password can log in through grammers' `check_password`.
//!
//! The server keeps v = g^x mod p with x = PH2(password, salt1, salt2). `account.getPassword`
//! hands out B = k·v + g^b mod p; `auth.checkPassword` recomputes
//! S = (A·v^u)^b mod p and compares the client's M1.

use hmac::Hmac;
use num_bigint::BigUint;
use sha2::{Digest, Sha256, Sha512};

/// Telegram's 2048-bit safe prime for SRP (with g = 3), as published in the API docs; grammers
/// checks that p is a safe prime and that g generates the right subgroup.
const P_HEX: &str = "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b";
pub const G: i32 = 3;

pub fn p_bytes() -> Vec<u8> {
    (0..P_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&P_HEX[i..i + 2], 16).unwrap())
        .collect()
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

fn pad256(b: &[u8]) -> [u8; 256] {
    let mut out = [0u8; 256];
    out[256 - b.len()..].copy_from_slice(b);
    out
}

/// PH2(password, salt1, salt2) = SH(pbkdf2(sha512, PH1, salt1, 100000), salt2), where
/// SH(data, salt) = H(salt | data | salt) and PH1 = SH(SH(password, salt1), salt2).
fn ph2(password: &[u8], salt1: &[u8], salt2: &[u8]) -> [u8; 32] {
    let sh = |data: &[u8], salt: &[u8]| h(&[salt, data, salt]);
    let ph1 = sh(&sh(password, salt1), salt2);
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2::<Hmac<Sha512>>(&ph1, salt1, 100_000, &mut dk).expect("64-byte key");
    sh(&dk, salt2)
}

/// Password verifier of one account.
#[derive(Clone, Debug)]
pub struct Verifier {
    pub salt1: Vec<u8>,
    pub salt2: Vec<u8>,
    v: BigUint,
}

impl Verifier {
    pub fn new(password: &str) -> Self {
        let mut salt1 = vec![0u8; 32];
        let mut salt2 = vec![0u8; 16];
        rand::fill(&mut salt1[..]);
        rand::fill(&mut salt2[..]);
        let x = BigUint::from_bytes_be(&ph2(password.as_bytes(), &salt1, &salt2));
        let p = BigUint::from_bytes_be(&p_bytes());
        let v = BigUint::from(G as u32).modpow(&x, &p);
        Self { salt1, salt2, v }
    }
}

/// One `account.getPassword` challenge.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub srp_id: i64,
    b: BigUint,
    pub g_b: [u8; 256],
}

/// B = (k·v + g^b) mod p with k = H(p | pad(g)).
pub fn challenge(ver: &Verifier, srp_id: i64) -> Challenge {
    let p_raw = p_bytes();
    let p = BigUint::from_bytes_be(&p_raw);
    let mut b_raw = [0u8; 256];
    rand::fill(&mut b_raw[..]);
    let b = BigUint::from_bytes_be(&b_raw);
    let g = BigUint::from(G as u32);
    let k = BigUint::from_bytes_be(&h(&[&p_raw, &pad256(&[G as u8])]));
    let g_b = (k * &ver.v + g.modpow(&b, &p)) % &p;
    Challenge {
        srp_id,
        b,
        g_b: pad256(&g_b.to_bytes_be()),
    }
}

/// Checks the client's proof M1 for `g_a` (<https://core.telegram.org/api/srp#checking-the-password-with-srp>).
pub fn verify(ver: &Verifier, ch: &Challenge, g_a: &[u8], m1: &[u8]) -> bool {
    let p_raw = p_bytes();
    let p = BigUint::from_bytes_be(&p_raw);
    let a = BigUint::from_bytes_be(g_a);
    if g_a.len() > 256 || a.bits() == 0 || a >= p {
        return false;
    }
    let g_a = pad256(g_a);
    let u = BigUint::from_bytes_be(&h(&[&g_a, &ch.g_b]));
    let s = (a * ver.v.modpow(&u, &p) % &p).modpow(&ch.b, &p);
    let k_a = h(&[&pad256(&s.to_bytes_be())]);
    let h_p = h(&[&p_raw]);
    let h_g = h(&[&pad256(&[G as u8])]);
    let xor: Vec<u8> = h_p.iter().zip(h_g.iter()).map(|(x, y)| x ^ y).collect();
    let expect = h(&[
        &xor,
        &h(&[&ver.salt1]),
        &h(&[&ver.salt2]),
        &g_a,
        &ch.g_b,
        &k_a,
    ]);
    expect[..] == *m1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammers_proof_verifies() {
        let ver = Verifier::new("hunter2");
        let ch = challenge(&ver, 1);
        let mut a = vec![0u8; 256];
        rand::fill(&mut a[..]);
        let (m1, g_a) = grammers_crypto::two_factor_auth::calculate_2fa(
            &ver.salt1,
            &ver.salt2,
            &p_bytes(),
            &G,
            ch.g_b.to_vec(),
            a,
            "hunter2",
        );
        assert!(verify(&ver, &ch, &g_a, &m1));
        let mut forged = m1;
        forged[0] ^= 1;
        assert!(!verify(&ver, &ch, &g_a, &forged));
        assert!(grammers_crypto::two_factor_auth::check_p_and_g(
            &p_bytes(),
            &G
        ));
    }
}
