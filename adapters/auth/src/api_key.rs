//! The text form of an API key: `csk_<id>_<secret>`.
//!
//! The id is public (it is listed, and named in `revoke`); it lets the store find the one
//! record to check without trying every hash. The secret is what the argon2 hash protects.

use std::fmt;

use rand::distr::Alphanumeric;
use rand::Rng as _;

pub(crate) const PREFIX: &str = "csk_";

/// Characters in an id: 12 of lowercase RFC 4648 base32 give 60 random bits, plenty to
/// keep ids of one store apart (collisions are retried anyway).
pub(crate) const ID_LEN: usize = 12;
const ID_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Characters in a new secret: 43 alphanumerics carry 43 x log2(62) ~ 256 random bits.
pub(crate) const SECRET_LEN: usize = 43;
/// What a presented secret may be: url-safe characters, within these lengths.
const MIN_SECRET_LEN: usize = 32;
const MAX_SECRET_LEN: usize = 128;

/// Why a presented text is not an API key at all. Safe to show: it never quotes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyFormatError {
    #[error("not an API key: expected the prefix \"csk_\"")]
    Prefix,
    #[error("malformed API key: expected csk_<12-character id>_<secret>")]
    Shape,
}

/// A key as presented by a client, split into its parts.
pub(crate) struct PresentedKey<'a> {
    pub id: &'a str,
    pub secret: &'a str,
}

impl<'a> PresentedKey<'a> {
    pub fn parse(text: &'a str) -> Result<Self, KeyFormatError> {
        let rest = text.strip_prefix(PREFIX).ok_or(KeyFormatError::Prefix)?;
        let (id, secret) = rest.split_once('_').ok_or(KeyFormatError::Shape)?;
        let secret_ok = (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if is_valid_id(id) && secret_ok {
            Ok(PresentedKey { id, secret })
        } else {
            Err(KeyFormatError::Shape)
        }
    }
}

/// Whether `id` has the shape of a key id (used to validate the key file too).
pub(crate) fn is_valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| ID_ALPHABET.contains(&b))
}

pub(crate) fn new_id() -> String {
    let mut rng = rand::rng();
    (0..ID_LEN)
        .map(|_| char::from(ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())]))
        .collect()
}

/// A freshly generated secret. Its `Debug` does not show it.
pub(crate) struct NewSecret(String);

impl NewSecret {
    pub fn generate() -> Self {
        NewSecret(
            rand::rng()
                .sample_iter(Alphanumeric)
                .take(SECRET_LEN)
                .map(char::from)
                .collect(),
        )
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The full key text for `id`: the only place the plaintext is assembled.
    pub fn into_key(self, id: &str) -> String {
        format!("{PREFIX}{id}_{}", self.0)
    }
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_key_parses_back_into_its_parts() {
        let id = new_id();
        let key = NewSecret::generate().into_key(&id);

        let parsed = PresentedKey::parse(&key).expect("generated keys parse");

        assert_eq!(parsed.id, id);
        assert_eq!(parsed.secret.len(), SECRET_LEN);
        assert!(key.starts_with("csk_"));
    }

    #[test]
    fn ids_use_lowercase_base32() {
        for _ in 0..100 {
            let id = new_id();
            assert!(is_valid_id(&id), "{id}");
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        let secret = "a".repeat(SECRET_LEN);
        let cases = [
            ("", KeyFormatError::Prefix),
            ("eyJhbGciOiJIUzI1NiJ9.e30.sig", KeyFormatError::Prefix),
            ("CSK_abcdefghijkl_x", KeyFormatError::Prefix),
            ("csk_", KeyFormatError::Shape),
            ("csk_abcdefghijkl", KeyFormatError::Shape),
            ("csk_abcdefghijkl_", KeyFormatError::Shape),
            ("csk_abcdefghijkl_tooshort", KeyFormatError::Shape),
            (&*format!("csk_abcdefghijk_{secret}"), KeyFormatError::Shape),
            (
                &*format!("csk_ABCDEFGHIJKL_{secret}"),
                KeyFormatError::Shape,
            ),
            (
                &*format!("csk_abcdefghijk1_{secret}"),
                KeyFormatError::Shape,
            ),
            (
                &*format!("csk_abcdefghijkl_{secret} "),
                KeyFormatError::Shape,
            ),
            (
                &*format!("csk_abcdefghijkl_{}", "a".repeat(129)),
                KeyFormatError::Shape,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(PresentedKey::parse(text).err(), Some(expected), "{text:?}");
        }
    }

    #[test]
    fn debug_of_a_secret_does_not_show_it() {
        let secret = NewSecret::generate();
        let shown = format!("{secret:?}");
        let key = secret.into_key("abcdefghijkl");
        assert!(!shown.contains(&key["csk_abcdefghijkl_".len()..]));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,200}") {
            let _ = PresentedKey::parse(&text);
        }

        #[test]
        fn well_formed_keys_parse(id in "[a-z2-7]{12}", secret in "[A-Za-z0-9_-]{32,128}") {
            let text = format!("csk_{id}_{secret}");
            let parsed = PresentedKey::parse(&text);
            prop_assert!(parsed.is_ok());
            let parsed = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed.id, id.as_str());
            prop_assert_eq!(parsed.secret, secret.as_str());
        }
    }
}
