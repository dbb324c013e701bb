//! API keys over the API (admins): `list_api_keys`, `create_api_key` (the key shown once),
//! `revoke_api_key`. The same store as `camera-service keys`; a revocation ends the key's
//! connections, subscriptions and console sessions at their next use.

use domain::api::NewApiKey;
use domain::contract::results::{ApiKeyInfo, ApiKeyList, CreatedApiKey, RevokedApiKey};
use domain::{ApiError, ErrorKind};
use ports::auth::KeyStoreError;
use slog::info;

use crate::core::Core;

fn store_error(e: KeyStoreError) -> ApiError {
    match e {
        KeyStoreError::Invalid(details) => ApiError::invalid_params(details),
        KeyStoreError::Unavailable(details) => ApiError::internal(details),
    }
}

impl Core {
    pub fn list_api_keys(&self) -> Result<ApiKeyList, ApiError> {
        let keys: Vec<ApiKeyInfo> = self.keys.list().map_err(store_error)?;
        Ok(ApiKeyList {
            total: keys.len(),
            keys,
        })
    }

    /// Who asked is in the admission step's audit record of the call; this one names the key.
    pub async fn create_api_key(&self, p: NewApiKey) -> Result<CreatedApiKey, ApiError> {
        let now = self.clock.now();
        let expires_at = p
            .expires_in_secs
            .map(|l| now.plus_millis(l.secs() as i64 * 1000));
        let keys = std::sync::Arc::clone(&self.keys);
        let label = p.label.as_str().to_owned();
        // Hashing the new secret (argon2) takes a core for a few ms: off the runtime.
        let (key, record) =
            tokio::task::spawn_blocking(move || keys.add(p.role, &label, expires_at, now))
                .await
                .map_err(|e| ApiError::internal(format!("key creation task: {e}")))?
                .map_err(store_error)?;
        info!(self.audit, "API key created"; "event" => "api_key_created", "key_id" => &record.id, "role" => record.role.as_str(), "label" => &record.label);
        Ok(CreatedApiKey { key, info: record })
    }

    pub fn revoke_api_key(&self, id: &str) -> Result<RevokedApiKey, ApiError> {
        if !self.keys.revoke(id).map_err(store_error)? {
            return Err(ApiError::new(
                ErrorKind::InvalidParams,
                "unknown_key",
                format!("no API key with id {id:?}"),
            )
            .with("id", id));
        }
        info!(self.audit, "API key revoked"; "event" => "api_key_revoked", "key_id" => id);
        Ok(RevokedApiKey {
            id: id.to_owned(),
            revoked: true,
        })
    }
}
