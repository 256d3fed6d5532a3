//! Server half of MTProto 2.0 message encryption.
//!
//! grammers only exports the client half (`encrypt_data_v2` with x=0, `decrypt_data_v2` with
//! x=8); the server mirrors it: it decrypts with x=0 and encrypts with x=8
//! (<https://core.telegram.org/mtproto/description#defining-aes-key-and-initialization-vector>).
//! AES-IGE itself is reused from `grammers_crypto::aes`.

use grammers_crypto::aes;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// A 256-byte permanent authorization key and its 8-byte id.
#[derive(Clone)]
pub struct AuthKey {
    pub data: [u8; 256],
    pub id: [u8; 8],
}

impl AuthKey {
    pub fn new(data: [u8; 256]) -> Self {
        // auth_key_id = the 64 lower-order bits of SHA1(auth_key)
        // (https://core.telegram.org/mtproto/description#key-identifier-auth-key-id).
        let hash = Sha1::digest(data);
        let mut id = [0; 8];
        id.copy_from_slice(&hash[12..20]);
        Self { data, id }
    }

    pub fn random() -> Self {
        let mut data = [0u8; 256];
        rand::fill(&mut data[..]);
        Self::new(data)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum CryptoError {
    BadLength,
    UnknownKey,
    BadMsgKey,
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `(aes_key, aes_iv)` for `msg_key`, with x = 0 (client to server) or 8 (server to client).
fn calc_key(key: &AuthKey, msg_key: &[u8; 16], x: usize) -> ([u8; 32], [u8; 32]) {
    let a = sha256(&[msg_key, &key.data[x..x + 36]]);
    let b = sha256(&[&key.data[40 + x..76 + x], msg_key]);
    let mut aes_key = [0; 32];
    aes_key[..8].copy_from_slice(&a[..8]);
    aes_key[8..24].copy_from_slice(&b[8..24]);
    aes_key[24..].copy_from_slice(&a[24..]);
    let mut aes_iv = [0; 32];
    aes_iv[..8].copy_from_slice(&b[..8]);
    aes_iv[8..24].copy_from_slice(&a[8..24]);
    aes_iv[24..].copy_from_slice(&b[24..]);
    (aes_key, aes_iv)
}

/// The auth_key_id of an encrypted packet (its first 8 bytes).
pub fn packet_key_id(packet: &[u8]) -> Option<[u8; 8]> {
    packet.get(..8).map(|s| s.try_into().unwrap())
}

/// Decrypts a client packet `auth_key_id | msg_key | ciphertext` and checks its msg_key
/// (<https://core.telegram.org/mtproto/security_guidelines#mtproto-encrypted-messages>).
pub fn decrypt_client(packet: &mut [u8], key: &AuthKey) -> Result<Vec<u8>, CryptoError> {
    if packet.len() < 24 + 16 || (packet.len() - 24) % 16 != 0 {
        return Err(CryptoError::BadLength);
    }
    if packet[..8] != key.id {
        return Err(CryptoError::UnknownKey);
    }
    let msg_key: [u8; 16] = packet[8..24].try_into().unwrap();
    let (k, iv) = calc_key(key, &msg_key, 0);
    let body = &mut packet[24..];
    aes::ige_decrypt(body, &k, &iv);
    let check = sha256(&[&key.data[88..120], body]);
    if check[8..24] != msg_key {
        return Err(CryptoError::BadMsgKey);
    }
    Ok(body.to_vec())
}

/// Encrypts a server plaintext (salt, session_id, message) into a packet for the client.
pub fn encrypt_server(mut plaintext: Vec<u8>, key: &AuthKey) -> Vec<u8> {
    // "MTProto 2.0 requires from 12 to 1024 bytes of padding" and a multiple of 16 in total.
    let pad = 12 + (16 - (plaintext.len() + 12) % 16) % 16;
    let mut padding = vec![0u8; pad];
    rand::fill(&mut padding[..]);
    plaintext.extend_from_slice(&padding);
    let large = sha256(&[&key.data[96..128], &plaintext]);
    let msg_key: [u8; 16] = large[8..24].try_into().unwrap();
    let (k, iv) = calc_key(key, &msg_key, 8);
    aes::ige_encrypt(&mut plaintext, &k, &iv);
    let mut out = Vec::with_capacity(24 + plaintext.len());
    out.extend_from_slice(&key.id);
    out.extend_from_slice(&msg_key);
    out.extend_from_slice(&plaintext);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::DequeBuffer;

    #[test]
    fn server_packet_decrypts_with_grammers_client_half() {
        let key = AuthKey::random();
        let plain: Vec<u8> = (0..40u8).collect();
        let mut packet = encrypt_server(plain.clone(), &key);
        let gk = grammers_crypto::AuthKey::from_bytes(key.data);
        let out = grammers_crypto::decrypt_data_v2(&mut packet, &gk).unwrap();
        assert_eq!(&out[..40], &plain[..]);
    }

    #[test]
    fn grammers_client_packet_decrypts_on_server() {
        let key = AuthKey::random();
        let gk = grammers_crypto::AuthKey::from_bytes(key.data);
        let plain: Vec<u8> = (0..64u8).collect();
        let mut buf = DequeBuffer::with_capacity(128, 64);
        buf.extend(plain.iter().copied());
        grammers_crypto::encrypt_data_v2(&mut buf, &gk);
        let mut packet = buf.as_ref().to_vec();
        let out = decrypt_client(&mut packet, &key).unwrap();
        assert_eq!(&out[..64], &plain[..]);
    }
}
