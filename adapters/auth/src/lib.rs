//! Credentials for the camera service.
//!
//! - [`JwtAuthority`]: issues and verifies HS256 JWTs (claims `user_id`, `role`, `iat`,
//!   `exp`), judging expiry by the caller's clock; implements [`ports::auth::TokenVerifier`].
//! - [`load_or_create_secret`]: the JWT secret, kept in a private file created on first use.
//! - [`FileKeyStore`]: API keys `csk_<id>_<secret>` kept as argon2 hashes in one JSON file
//!   shared by the server and the CLI; implements [`ports::auth::KeyStore`], and sees a
//!   revocation made by another process on its next `check`.
//!
//! Nothing here logs, and no error or `Debug` output contains a secret or a key.
//! `JwtAuthority::verify` is cheap; `FileKeyStore::verify` refuses malformed, unknown,
//! revoked and expired keys before hashing, recognises a secret that verified before by a
//! keyed MAC, and otherwise runs argon2 (milliseconds of CPU, 4 MiB); it may write the
//! file, and `add`/`revoke` write it: call those from a blocking context.
//! `FileKeyStore::check` and `precheck` are one `stat` unless the file changed.

mod api_key;
mod files;
mod jwt;
mod key_file;
mod key_store;
mod secret;
mod verified;

pub use jwt::{JwtAuthority, MAX_TOKEN_LEN};
pub use key_store::{FileKeyStore, MAX_LABEL_CHARS};
pub use secret::{load_or_create_secret, MIN_SECRET_LEN};
