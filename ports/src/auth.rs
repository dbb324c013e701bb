//! Checking credentials: JWTs and API keys.

use domain::{Role, Timestamp};

/// Who a verified credential speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// JWT `user_id`, or `key:<id>` for an API key.
    pub subject: String,
    pub role: Role,
    /// `None` for API keys without expiry.
    pub expires_at: Option<Timestamp>,
    /// Set for API keys, so revocation can be checked on every call.
    pub key_id: Option<String>,
}

/// Why a credential was refused. Each maps to -32001 with the reason as `data.reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Bad signature, wrong algorithm, malformed, missing or mistyped claim, unknown key.
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token expired")]
    Expired,
    #[error("API key revoked")]
    Revoked,
}

impl CredentialError {
    pub fn reason(&self) -> &'static str {
        match self {
            CredentialError::Invalid(_) => "invalid_token",
            CredentialError::Expired => "token_expired",
            CredentialError::Revoked => "key_revoked",
        }
    }
}

/// Verifies and issues HS256 JWTs.
pub trait TokenVerifier: Send + Sync + 'static {
    fn verify(&self, token: &str, now: Timestamp) -> Result<Identity, CredentialError>;
}

/// A stored API key as listed (never the key itself): the contract's `ApiKeyInfo`, so the
/// store's record is what `list_api_keys` sends, with no copy field by field between them.
pub use domain::contract::results::ApiKeyInfo as ApiKeyRecord;

/// What the cheap checks of a presented API key found, before any hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPrecheck {
    /// This secret already verified for this live key: `verify` will not hash it again.
    Remembered,
    /// A live key whose secret must be hashed (argon2) to be judged.
    NeedsHash { key_id: String },
}

/// Why the key store could not list, add or revoke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyStoreError {
    /// The request itself is wrong (a label or an expiry the store refuses).
    #[error("{0}")]
    Invalid(String),
    /// The store cannot be read or written.
    #[error("API key store: {0}")]
    Unavailable(String),
}

/// API keys (`csk_...`), stored only as argon2 hashes.
pub trait KeyStore: Send + Sync + 'static {
    /// Checks a presented key and records its use. Malformed, unknown, revoked and expired
    /// keys are refused before any hashing; a secret that verified before is recognised
    /// without argon2; anything else costs one argon2 verification (slow).
    fn verify(&self, key: &str, now: Timestamp) -> Result<Identity, CredentialError>;
    /// The checks `verify` makes before hashing, and nothing else (cheap: no argon2, no
    /// write): refuses what `verify` would refuse without hashing, and says whether
    /// `verify` would hash.
    fn precheck(&self, key: &str, now: Timestamp) -> Result<KeyPrecheck, CredentialError>;
    /// Cheap check on every call of a key-authenticated connection: still valid?
    fn check(&self, key_id: &str, now: Timestamp) -> Result<(), CredentialError>;
    /// Every key, revoked and expired ones included, in creation order (never the secrets).
    fn list(&self) -> Result<Vec<ApiKeyRecord>, KeyStoreError>;
    /// Creates a key; returns the key text (which exists nowhere else afterwards: it is
    /// shown once) and its record. Slow: hashes the secret (argon2).
    fn add(
        &self,
        role: Role,
        label: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(String, ApiKeyRecord), KeyStoreError>;
    /// Revokes a key (every user of it is refused from its next call); `false` when there
    /// is no such key.
    fn revoke(&self, id: &str) -> Result<bool, KeyStoreError>;
}
