//! Secrets at rest (trigger tokens, per-hook schedule secrets), sealed with AES-256-GCM.
//!
//! `HOOKS_CRYPTO_KEY` holds one or more base64-encoded 32-byte keys separated by commas. The first key encrypts;
//! every key decrypts, so a key is rotated by putting the new one first and keeping the old one until every
//! sealed value has been rewritten. Each sealed value names its key by a short fingerprint, so decryption
//! picks the right key at once.
//!
//! Sealed layout: `version (1) | key fingerprint (4) | nonce (12) | ciphertext | tag (16)`. The caller's
//! `context` (for example `trigger-token:<group>/<id>`) is bound in as associated data, so a sealed value
//! copied onto another hook or into another column fails to open instead of being silently accepted.

use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::SecretString;

const VERSION: u8 = 1;
const FINGERPRINT_LEN: usize = 4;
const HEADER_LEN: usize = 1 + FINGERPRINT_LEN + NONCE_LEN;

/// Why a key list or a sealed value was refused. Never includes key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The key list is empty.
    #[error("HOOKS_CRYPTO_KEY is empty: give at least one base64-encoded 32-byte key (e.g. `openssl rand -base64 32`)")]
    NoKeys,
    /// One key of the list is not base64 of 32 bytes.
    #[error("HOOKS_CRYPTO_KEY entry {index} is not base64 of exactly 32 bytes ({problem})")]
    BadKey {
        /// Position of the key in the list, from 0.
        index: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A sealed value names a key that is not in the list.
    #[error("the value was sealed with key {fingerprint}, which is not in HOOKS_CRYPTO_KEY; add the old key back")]
    UnknownKey {
        /// The key fingerprint stored with the value, in hex.
        fingerprint: String,
    },
    /// A sealed value is truncated, tampered with, or belongs to another context.
    #[error("a sealed value failed to open: it is corrupt, or was sealed for another hook or purpose")]
    Corrupt,
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

struct Key {
    fingerprint: [u8; FINGERPRINT_LEN],
    key: LessSafeKey,
}

/// The list of keys: the first encrypts, all decrypt.
pub struct Keyring {
    keys: Vec<Key>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prints: Vec<String> = self.keys.iter().map(|k| hex(&k.fingerprint)).collect();
        f.debug_struct("Keyring").field("fingerprints", &prints).finish()
    }
}

impl Keyring {
    /// Parses a comma-separated list of base64-encoded 32-byte keys, newest first.
    pub fn parse(keys: &SecretString) -> Result<Self, CryptoError> {
        let mut parsed = Vec::new();
        for (index, text) in keys.expose().split(',').map(str::trim).filter(|k| !k.is_empty()).enumerate() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| CryptoError::BadKey { index, problem: e.to_string() })?;
            parsed.push(Self::key_from_bytes(index, &bytes)?);
        }
        if parsed.is_empty() {
            return Err(CryptoError::NoKeys);
        }
        Ok(Self { keys: parsed, rng: SystemRandom::new() })
    }

    /// A new random key, base64-encoded, for development set-ups and tests.
    pub fn generate_key() -> Result<SecretString, CryptoError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| CryptoError::Random)?;
        Ok(SecretString::new(base64::engine::general_purpose::STANDARD.encode(bytes)))
    }

    fn key_from_bytes(index: usize, bytes: &[u8]) -> Result<Key, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CryptoError::BadKey { index, problem: format!("{} bytes", bytes.len()) })?;
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let mut fingerprint = [0u8; FINGERPRINT_LEN];
        fingerprint.copy_from_slice(&digest.as_ref()[..FINGERPRINT_LEN]);
        Ok(Key { fingerprint, key: LessSafeKey::new(unbound) })
    }

    /// Encrypts `plaintext` with the newest key, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        // Random 96-bit nonces: safe for far more than the number of secrets this service will ever seal.
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + AES_256_GCM.tag_len());
        out.push(VERSION);
        out.extend_from_slice(&key.fingerprint);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        key.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| CryptoError::Corrupt)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts a value sealed by [`Keyring::seal`] with any key of the list, for the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER_LEN + AES_256_GCM.tag_len() || sealed[0] != VERSION {
            return Err(CryptoError::Corrupt);
        }
        let fingerprint = &sealed[1..1 + FINGERPRINT_LEN];
        let key = self
            .keys
            .iter()
            .find(|k| k.fingerprint == fingerprint)
            .ok_or_else(|| CryptoError::UnknownKey { fingerprint: hex(fingerprint) })?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1 + FINGERPRINT_LEN..HEADER_LEN]);
        let mut body = sealed[HEADER_LEN..].to_vec();
        let plain = key
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| CryptoError::Corrupt)?;
        Ok(plain.to_vec())
    }

    /// Encrypts a secret string.
    pub fn seal_secret(&self, context: &str, secret: &SecretString) -> Result<Vec<u8>, CryptoError> {
        self.seal(context, secret.expose().as_bytes())
    }

    /// Decrypts a secret string.
    pub fn open_secret(&self, context: &str, sealed: &[u8]) -> Result<SecretString, CryptoError> {
        let bytes = self.open(context, sealed)?;
        String::from_utf8(bytes).map(SecretString::new).map_err(|_| CryptoError::Corrupt)
    }

    /// Whether `sealed` was sealed with the newest key (so key rotation can find what to rewrite).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.get(1..1 + FINGERPRINT_LEN) == Some(&self.keys[0].fingerprint[..])
    }

    /// Fills `buf` with random bytes.
    pub fn random_bytes(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.rng.fill(buf).map_err(|_| CryptoError::Random)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_of(keys: &[&SecretString]) -> Keyring {
        let joined: Vec<&str> = keys.iter().map(|k| k.expose()).collect();
        Keyring::parse(&SecretString::new(joined.join(","))).unwrap()
    }

    #[test]
    fn seal_then_open_round_trips() {
        let k = Keyring::generate_key().unwrap();
        let ring = ring_of(&[&k]);
        let sealed = ring.seal("trigger-token:g/h", b"s3cret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"), "plaintext visible in the sealed value");
        assert_eq!(ring.open("trigger-token:g/h", &sealed).unwrap(), b"s3cret");
    }

    #[test]
    fn the_same_plaintext_seals_differently_each_time() {
        let ring = ring_of(&[&Keyring::generate_key().unwrap()]);
        assert_ne!(ring.seal("c", b"x").unwrap(), ring.seal("c", b"x").unwrap());
    }

    #[test]
    fn a_value_sealed_for_one_context_does_not_open_in_another() {
        let ring = ring_of(&[&Keyring::generate_key().unwrap()]);
        let sealed = ring.seal("trigger-token:g/a", b"tok").unwrap();
        assert_eq!(ring.open("trigger-token:g/b", &sealed), Err(CryptoError::Corrupt));
    }

    #[test]
    fn tampering_is_detected() {
        let ring = ring_of(&[&Keyring::generate_key().unwrap()]);
        let mut sealed = ring.seal("c", b"tok").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(ring.open("c", &sealed), Err(CryptoError::Corrupt));
        assert_eq!(ring.open("c", &sealed[..10]), Err(CryptoError::Corrupt));
    }

    #[test]
    fn rotation_new_key_encrypts_and_old_key_still_decrypts() {
        let old = Keyring::generate_key().unwrap();
        let new = Keyring::generate_key().unwrap();
        let before = ring_of(&[&old]).seal("c", b"old-secret").unwrap();

        let rotated = ring_of(&[&new, &old]);
        assert_eq!(rotated.open("c", &before).unwrap(), b"old-secret");
        assert!(!rotated.is_current(&before));
        let after = rotated.seal("c", b"new-secret").unwrap();
        assert!(rotated.is_current(&after));

        // Once the old key is dropped, only values sealed by the new one open.
        let new_only = ring_of(&[&new]);
        assert_eq!(new_only.open("c", &after).unwrap(), b"new-secret");
        assert!(matches!(new_only.open("c", &before), Err(CryptoError::UnknownKey { .. })));
    }

    #[test]
    fn bad_key_lists_are_refused_without_echoing_them() {
        assert_eq!(Keyring::parse(&SecretString::new("")).unwrap_err(), CryptoError::NoKeys);
        let e = Keyring::parse(&SecretString::new("c2hvcnQ=")).unwrap_err();
        assert!(matches!(e, CryptoError::BadKey { index: 0, .. }));
        let e = Keyring::parse(&SecretString::new("!!not base64!!")).unwrap_err();
        assert!(!e.to_string().contains("!!not base64!!"));
    }
}
