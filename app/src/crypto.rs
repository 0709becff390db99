//! Every cryptographic primitive of the product in one place: random tokens,
//! hashes for look-ups, password hashing, constant-time comparison and
//! AES-256-GCM for secrets at rest.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::Rng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random base62 characters from the OS generator.
pub fn random_base62(n: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..n)
        .map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char)
        .collect()
}

/// `bytes` random bytes as lowercase hex (2×bytes characters).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Lowercase hex SHA-256, used to store tokens and keys without storing them.
pub fn sha256_hex(input: &str) -> String {
    hex::encode(Sha256::digest(input.as_bytes()))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a throw-away password, used so that log-ins for unknown emails
/// take as long as log-ins with a wrong password.
pub fn dummy_password_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("switchboard-timing-equaliser").expect("argon2 works"))
}

/// Parses `SWITCHBOARD_SECRET_KEY`: 32 bytes in standard base64.
pub fn decode_key(b64: &str) -> Result<Vec<u8>, String> {
    let bytes = B64
        .decode(b64.trim())
        .map_err(|_| "must be base64 (e.g. `openssl rand -base64 32`)".to_string())?;
    if bytes.len() != 32 {
        return Err(format!("must decode to 32 bytes, got {}", bytes.len()));
    }
    Ok(bytes)
}

pub fn encode_key(key: &[u8]) -> String {
    B64.encode(key)
}

pub fn generate_key() -> Vec<u8> {
    let mut k = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    k
}

/// AES-256-GCM with a random 96-bit nonce per value. The output carries a key id
/// prefix (`k1:`) so keys can rotate later without rewriting every row at once.
#[derive(Clone)]
pub struct Cipher {
    key: [u8; 32],
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(******)")
    }
}

const KEY_ID: &str = "k1";

impl Cipher {
    pub fn new(key: &[u8]) -> Cipher {
        let mut k = [0u8; 32];
        k.copy_from_slice(&key[..32]);
        Cipher { key: k }
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let cipher = Aes256Gcm::new((&self.key).into());
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{KEY_ID}:{}", B64.encode(out))
    }

    pub fn decrypt(&self, stored: &str) -> Result<Vec<u8>, String> {
        let body = stored
            .strip_prefix("k1:")
            .ok_or_else(|| "unknown encryption key id".to_string())?;
        let raw = B64
            .decode(body)
            .map_err(|_| "ciphertext is not base64".to_string())?;
        if raw.len() < 12 + 16 {
            return Err("ciphertext too short".into());
        }
        let (nonce, ct) = raw.split_at(12);
        Aes256Gcm::new((&self.key).into())
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| "ciphertext does not authenticate with this key".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_requested_shape() {
        let t = random_base62(32);
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(random_base62(32), t);
        let h = random_hex(32);
        assert_eq!(h.len(), 64);
        assert!(
            h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn cipher_round_trips_and_detects_tampering() {
        let c = Cipher::new(&generate_key());
        let sealed = c.encrypt(b"app secret");
        assert!(sealed.starts_with("k1:"));
        assert_eq!(c.decrypt(&sealed).unwrap(), b"app secret");
        assert_ne!(c.encrypt(b"app secret"), sealed, "nonce must be random");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(c.decrypt(std::str::from_utf8(&tampered).unwrap()).is_err());
        assert!(Cipher::new(&generate_key()).decrypt(&sealed).is_err());
    }

    #[test]
    fn key_decoding_checks_length() {
        let k = generate_key();
        assert_eq!(decode_key(&encode_key(&k)).unwrap(), k);
        assert!(decode_key("c2hvcnQ=").is_err());
        assert!(decode_key("%%%").is_err());
    }
}
