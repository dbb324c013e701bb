//! API-key secrets that verified, remembered by a keyed hash.
//!
//! argon2 is what makes a wrong guess expensive, and it makes a right key just as
//! expensive: every reconnect of a client would pay it again. Once a secret has verified
//! for a key id, a keyed BLAKE2b MAC of it (the key is random, drawn when the store is
//! opened, and never leaves the process) is kept for that id; the same secret presented
//! again is recognised by one MAC (a microsecond) instead of argon2. The plaintext is never
//! kept. Entries go when the key is revoked and whenever the key file is reloaded.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use blake2::digest::{KeyInit as _, Mac as _};
use blake2::Blake2bMac512;
use rand::Rng as _;

type Tag = [u8; 64];

pub(crate) struct VerifiedSecrets {
    mac_key: [u8; 32],
    by_id: Mutex<HashMap<String, Tag>>,
}

impl VerifiedSecrets {
    pub fn new() -> Self {
        let mut mac_key = [0u8; 32];
        rand::rng().fill(&mut mac_key);
        VerifiedSecrets {
            mac_key,
            by_id: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self) -> Blake2bMac512 {
        // BLAKE2b takes keys of 1..=64 bytes: 32 always fits.
        Blake2bMac512::new_from_slice(&self.mac_key).expect("a 32-byte key fits BLAKE2b")
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Tag>> {
        // Every update is a single insert or remove: a poisoned map is still whole.
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers that `secret` verified for `id` (replacing what was kept for it).
    pub fn remember(&self, id: &str, secret: &str) {
        let mut mac = self.mac();
        mac.update(secret.as_bytes());
        let tag: Tag = mac.finalize().into_bytes().into();
        self.lock().insert(id.to_owned(), tag);
    }

    /// Whether `secret` is the one that verified for `id` (compared in constant time).
    pub fn matches(&self, id: &str, secret: &str) -> bool {
        let Some(tag) = self.lock().get(id).copied() else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(secret.as_bytes());
        mac.verify_slice(&tag).is_ok()
    }

    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    pub fn forget_all(&self) {
        self.lock().clear();
    }

    #[cfg(test)]
    pub fn lock_is_empty_for(&self, id: &str) -> bool {
        !self.lock().contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "abcdefghijkl";

    #[test]
    fn only_the_remembered_secret_matches() {
        let v = VerifiedSecrets::new();
        assert!(!v.matches(ID, "right"));

        v.remember(ID, "right");

        assert!(v.matches(ID, "right"));
        assert!(!v.matches(ID, "wrong"));
        assert!(!v.matches("bbbbbbbbbbbb", "right"));
    }

    #[test]
    fn forgotten_secrets_no_longer_match() {
        let v = VerifiedSecrets::new();
        v.remember(ID, "right");
        v.remember("bbbbbbbbbbbb", "other");

        v.forget(ID);
        assert!(!v.matches(ID, "right"));
        assert!(v.matches("bbbbbbbbbbbb", "other"));

        v.forget_all();
        assert!(!v.matches("bbbbbbbbbbbb", "other"));
    }

    #[test]
    fn two_stores_use_different_mac_keys() {
        let a = VerifiedSecrets::new();
        let b = VerifiedSecrets::new();
        assert_ne!(a.mac_key, b.mac_key);
    }
}
