//! Error kinds of the client contract and their JSON-RPC codes.

use serde_json::{Map, Value};

/// Every kind of error a client can see (API.md, Errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    Internal,
    CameraNotFound,
    AuthRequired,
    PermissionDenied,
    DeviceBusy,
    RecordingInProgress,
    FileNotFound,
    InvalidState,
    Unsupported,
    RateLimited,
    DependencyUnavailable,
    InsufficientStorage,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::ParseError,
        ErrorKind::InvalidRequest,
        ErrorKind::MethodNotFound,
        ErrorKind::InvalidParams,
        ErrorKind::Internal,
        ErrorKind::CameraNotFound,
        ErrorKind::AuthRequired,
        ErrorKind::PermissionDenied,
        ErrorKind::DeviceBusy,
        ErrorKind::RecordingInProgress,
        ErrorKind::FileNotFound,
        ErrorKind::InvalidState,
        ErrorKind::Unsupported,
        ErrorKind::RateLimited,
        ErrorKind::DependencyUnavailable,
        ErrorKind::InsufficientStorage,
    ];

    pub fn code(self) -> i32 {
        match self {
            ErrorKind::ParseError => -32700,
            ErrorKind::InvalidRequest => -32600,
            ErrorKind::MethodNotFound => -32601,
            ErrorKind::InvalidParams => -32602,
            ErrorKind::Internal => -32603,
            ErrorKind::CameraNotFound => -32000,
            ErrorKind::AuthRequired => -32001,
            ErrorKind::PermissionDenied => -32002,
            ErrorKind::DeviceBusy => -32003,
            ErrorKind::RecordingInProgress => -32004,
            ErrorKind::FileNotFound => -32005,
            ErrorKind::InvalidState => -32020,
            ErrorKind::Unsupported => -32030,
            ErrorKind::RateLimited => -32040,
            ErrorKind::DependencyUnavailable => -32050,
            ErrorKind::InsufficientStorage => -32060,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ErrorKind::ParseError => "Parse error",
            ErrorKind::InvalidRequest => "Invalid Request",
            ErrorKind::MethodNotFound => "Method not found",
            ErrorKind::InvalidParams => "Invalid params",
            ErrorKind::Internal => "Internal error",
            ErrorKind::CameraNotFound => "Camera not found",
            ErrorKind::AuthRequired => "Authentication required",
            ErrorKind::PermissionDenied => "Insufficient permissions",
            ErrorKind::DeviceBusy => "Device busy",
            ErrorKind::RecordingInProgress => "Recording in progress",
            ErrorKind::FileNotFound => "File not found",
            ErrorKind::InvalidState => "Invalid state",
            ErrorKind::Unsupported => "Unsupported",
            ErrorKind::RateLimited => "Rate limited",
            ErrorKind::DependencyUnavailable => "Dependency unavailable",
            ErrorKind::InsufficientStorage => "Insufficient storage",
        }
    }
}

/// An error as a client sees it: kind (code + message), a snake_case reason, human details
/// and any context fields (`device`, `available`, `retry_after_ms`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub reason: String,
    pub details: String,
    pub context: Map<String, Value>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, reason: impl Into<String>, details: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            reason: reason.into(),
            details: details.into(),
            context: Map::new(),
        }
    }

    /// Adds a context field to `data`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.context.insert(key.to_owned(), value.into());
        self
    }

    pub fn invalid_params(details: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::InvalidParams, "invalid_params", details)
    }

    pub fn internal(details: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Internal, "internal_error", details)
    }

    pub fn unsupported(reason: impl Into<String>, details: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Unsupported, reason, details)
    }

    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    pub fn message(&self) -> &'static str {
        self.kind.message()
    }

    /// The `data` member: `reason`, `details`, then the context fields.
    pub fn data(&self) -> Value {
        let mut data = Map::with_capacity(2 + self.context.len());
        data.insert("reason".into(), Value::String(self.reason.clone()));
        data.insert("details".into(), Value::String(self.details.clone()));
        for (k, v) in &self.context {
            data.insert(k.clone(), v.clone());
        }
        Value::Object(data)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}: {}",
            self.message(),
            self.code(),
            self.reason,
            self.details
        )
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_match_the_contract() {
        let codes: HashSet<i32> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        assert_eq!(ErrorKind::RateLimited.code(), -32040);
        assert_eq!(
            ErrorKind::InsufficientStorage.message(),
            "Insufficient storage"
        );
    }

    #[test]
    fn data_carries_reason_details_and_context() {
        let e = ApiError::new(ErrorKind::RateLimited, "rate_limited", "slow down")
            .with("retry_after_ms", 120);
        assert_eq!(
            e.data(),
            serde_json::json!({"reason": "rate_limited", "details": "slow down", "retry_after_ms": 120})
        );
    }
}
