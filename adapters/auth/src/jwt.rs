//! HS256 JSON Web Tokens: issuing them and checking them against an injected clock.
//!
//! The header is read by this module before `jsonwebtoken` sees the token, so a token with
//! another algorithm (notably the unsigned `alg: none`) is refused with a precise reason.
//! `jsonwebtoken` then checks the HS256 signature; its own time checks are switched off
//! because they read the system clock, and expiry here is judged against the `now` the
//! caller passes in.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use domain::{Role, Timestamp};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ports::auth::{CredentialError, Identity, TokenVerifier};
use serde::Serialize;
use serde_json::{Map, Value};

/// Tokens longer than this are refused before any parsing (a JWT from `issue` is ~200 bytes).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The one algorithm this service signs with and accepts.
const ACCEPTED_ALG: &str = "HS256";

/// Issues and verifies the service's HS256 JWTs with one shared secret.
pub struct JwtAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// The claims this service writes; verification reads them from a loose JSON map instead,
/// so that each missing or mistyped claim gets its own reason.
#[derive(Serialize)]
struct Claims<'a> {
    user_id: &'a str,
    role: &'a str,
    iat: i64,
    exp: i64,
}

/// Why a JWT was refused (other than expiry). Its text becomes the `Invalid` reason and is
/// shown to the client, so it never quotes the token or the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Rejection {
    #[error("token is longer than {MAX_TOKEN_LEN} bytes")]
    TooLong,
    #[error("malformed token: expected three dot-separated base64url parts")]
    NotThreeParts,
    #[error("malformed token: the header is not base64url-encoded JSON")]
    BadHeader,
    #[error("malformed token: the header has no \"alg\"")]
    MissingAlg,
    #[error("unsigned tokens (alg \"none\") are not accepted; only HS256")]
    AlgNone,
    #[error("algorithm {0:?} is not accepted; only HS256")]
    WrongAlg(String),
    #[error("signature does not match")]
    BadSignature,
    #[error(
        "malformed token: header or claims are not base64url-encoded JSON of the expected shape"
    )]
    BadEncoding,
    #[error("malformed token: the claims are not a JSON object")]
    ClaimsNotObject,
    #[error("missing claim \"{0}\"")]
    MissingClaim(&'static str),
    #[error("claim \"user_id\" must be a non-empty string")]
    BadUserId,
    #[error("claim \"role\" must be one of \"viewer\", \"operator\", \"admin\"")]
    BadRole,
    #[error("claim \"{0}\" must be an integer number of seconds since 1970")]
    NotSeconds(&'static str),
    #[error("claim \"iat\" is later than \"exp\"")]
    IssuedAfterExpiry,
    #[error("token rejected by the JWT library: {0}")]
    Library(String),
}

impl From<Rejection> for CredentialError {
    fn from(r: Rejection) -> Self {
        CredentialError::Invalid(r.to_string())
    }
}

impl JwtAuthority {
    /// Uses `secret` as the HMAC-SHA256 key (see [`crate::load_or_create_secret`] for one
    /// that is at least 32 bytes long).
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Time is judged in `verify` against the injected clock, and the claims this service
        // requires are checked there too, each with its own reason.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.required_spec_claims.clear();
        JwtAuthority {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A token for `subject` with `role`, issued at `now` and valid for `lifetime_secs`
    /// (the expiry saturates far in the future rather than overflowing). `verify` refuses
    /// an empty `user_id`, so `subject` should not be empty.
    pub fn issue(&self, subject: &str, role: Role, lifetime_secs: u64, now: Timestamp) -> String {
        let iat = now.unix_secs();
        let lifetime = i64::try_from(lifetime_secs).unwrap_or(i64::MAX);
        let claims = Claims {
            user_id: subject,
            role: role.as_str(),
            iat,
            exp: iat.saturating_add(lifetime),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect(
            "HS256 signing cannot fail: the key is an HMAC key of any length and the \
             claims are plain strings and integers",
        )
    }

    fn check(&self, token: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Rejection::TooLong.into());
        }
        check_header(token)?;
        let claims = jsonwebtoken::decode::<Value>(token, &self.decoding, &self.validation)
            .map_err(library_rejection)?
            .claims;
        let claims = claims.as_object().ok_or(Rejection::ClaimsNotObject)?;

        let user_id = match claims.get("user_id") {
            None => return Err(Rejection::MissingClaim("user_id").into()),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => return Err(Rejection::BadUserId.into()),
        };
        let role = match claims.get("role") {
            None => return Err(Rejection::MissingClaim("role").into()),
            Some(Value::String(s)) => Role::parse(s).ok_or(Rejection::BadRole)?,
            Some(_) => return Err(Rejection::BadRole.into()),
        };
        let iat = seconds_claim(claims, "iat")?;
        let exp = seconds_claim(claims, "exp")?;
        if iat > exp {
            return Err(Rejection::IssuedAfterExpiry.into());
        }

        let expires_at = exp.saturating_mul(1000);
        if expires_at <= now.unix_millis() {
            return Err(CredentialError::Expired);
        }
        Ok(Identity {
            subject: user_id,
            role,
            expires_at: Some(Timestamp::from_unix_millis(expires_at)),
            key_id: None,
        })
    }
}

impl TokenVerifier for JwtAuthority {
    fn verify(&self, token: &str, now: Timestamp) -> Result<Identity, CredentialError> {
        self.check(token, now)
    }
}

impl fmt::Debug for JwtAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthority")
            .field("algorithm", &ACCEPTED_ALG)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Reads the header ourselves and accepts only `"alg": "HS256"`.
fn check_header(token: &str) -> Result<(), Rejection> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::NotThreeParts);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| Rejection::BadHeader)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| Rejection::BadHeader)?;
    match header.get("alg") {
        None => Err(Rejection::MissingAlg),
        Some(Value::String(alg)) if alg == ACCEPTED_ALG => Ok(()),
        Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => Err(Rejection::AlgNone),
        Some(Value::String(alg)) => Err(Rejection::WrongAlg(alg.chars().take(16).collect())),
        Some(other) => Err(Rejection::WrongAlg(
            other.to_string().chars().take(16).collect(),
        )),
    }
}

fn seconds_claim(claims: &Map<String, Value>, name: &'static str) -> Result<i64, Rejection> {
    match claims.get(name) {
        None => Err(Rejection::MissingClaim(name)),
        Some(value) => value.as_i64().ok_or(Rejection::NotSeconds(name)),
    }
}

fn library_rejection(err: jsonwebtoken::errors::Error) -> Rejection {
    match err.kind() {
        ErrorKind::InvalidSignature => Rejection::BadSignature,
        ErrorKind::InvalidToken => Rejection::NotThreeParts,
        ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => Rejection::BadEncoding,
        other => Rejection::Library(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-secret";
    const NOW_SECS: i64 = 1_736_951_400; // 2025-01-15T14:30:00Z

    fn now() -> Timestamp {
        Timestamp::from_unix_millis(NOW_SECS * 1000)
    }

    fn authority() -> JwtAuthority {
        JwtAuthority::new(SECRET)
    }

    fn b64(json: &Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    /// Signs arbitrary claims with the shared secret and the given algorithm.
    fn sign(alg: Algorithm, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(SECRET))
            .expect("test claims are signable")
    }

    fn good_claims() -> Value {
        json!({"user_id": "alice", "role": "operator", "iat": NOW_SECS, "exp": NOW_SECS + 3600})
    }

    fn invalid_reason(result: Result<Identity, CredentialError>) -> String {
        match result {
            Err(CredentialError::Invalid(reason)) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn issued_token_verifies_to_its_subject_role_and_expiry() {
        let auth = authority();
        let token = auth.issue("alice", Role::Admin, 3600, now());

        let identity = auth.verify(&token, now()).expect("fresh token verifies");

        assert_eq!(
            identity,
            Identity {
                subject: "alice".into(),
                role: Role::Admin,
                expires_at: Some(Timestamp::from_unix_millis((NOW_SECS + 3600) * 1000)),
                key_id: None,
            }
        );
    }

    #[test]
    fn issued_token_carries_the_documented_claims() {
        let token = authority().issue("bob", Role::Viewer, 60, now());
        let payload = token.split('.').nth(1).expect("three parts");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
                .expect("json");
        assert_eq!(
            claims,
            json!({"user_id": "bob", "role": "viewer", "iat": NOW_SECS, "exp": NOW_SECS + 60})
        );
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().expect("header"))
                .expect("base64url"),
        )
        .expect("json");
        assert_eq!(header["alg"], "HS256");
    }

    #[test]
    fn token_signed_with_the_same_claims_by_hand_verifies() {
        let identity = authority()
            .verify(&sign(Algorithm::HS256, &good_claims()), now())
            .expect("valid");
        assert_eq!(identity.subject, "alice");
        assert_eq!(identity.role, Role::Operator);
    }

    #[test]
    fn token_is_expired_at_exp_and_after() {
        let auth = authority();
        let token = auth.issue("alice", Role::Viewer, 10, now());
        let at_exp = now().plus_millis(10_000);

        assert!(auth.verify(&token, now().plus_millis(9_999)).is_ok());
        assert_eq!(auth.verify(&token, at_exp), Err(CredentialError::Expired));
        assert_eq!(
            auth.verify(&token, at_exp.plus_millis(86_400_000)),
            Err(CredentialError::Expired)
        );
    }

    #[test]
    fn expiry_follows_the_injected_clock_not_the_system_clock() {
        // Issued and expired in 2001: the library's own check (system clock) would refuse it.
        let then = Timestamp::from_unix_millis(1_000_000_000_000);
        let auth = authority();
        let token = auth.issue("old", Role::Viewer, 60, then);

        assert!(auth.verify(&token, then.plus_millis(30_000)).is_ok());
        assert_eq!(
            auth.verify(&token, then.plus_millis(60_000)),
            Err(CredentialError::Expired)
        );
    }

    #[test]
    fn token_expiring_in_the_far_future_is_accepted_with_a_clamped_expiry() {
        let auth = authority();
        let token = auth.issue("svc", Role::Admin, u64::MAX, now());
        let identity = auth.verify(&token, now()).expect("valid");
        assert!(identity.expires_at.expect("has expiry") > now());
    }

    #[test]
    fn forged_signature_is_invalid() {
        let token = JwtAuthority::new(b"another-secret-another-secret-xx").issue(
            "mallory",
            Role::Admin,
            3600,
            now(),
        );
        let reason = invalid_reason(authority().verify(&token, now()));
        assert!(reason.contains("signature"), "{reason}");
    }

    #[test]
    fn tampered_claims_break_the_signature() {
        let token = authority().issue("alice", Role::Viewer, 3600, now());
        let parts: Vec<&str> = token.split('.').collect();
        let promoted = b64(
            &json!({"user_id": "alice", "role": "admin", "iat": NOW_SECS, "exp": NOW_SECS + 3600}),
        );
        let forged = format!("{}.{}.{}", parts[0], promoted, parts[2]);

        let reason = invalid_reason(authority().verify(&forged, now()));
        assert!(reason.contains("signature"), "{reason}");
    }

    #[test]
    fn unsigned_alg_none_token_is_invalid() {
        let header = b64(&json!({"alg": "none", "typ": "JWT"}));
        let claims = b64(&good_claims());
        for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
            let reason = invalid_reason(authority().verify(&token, now()));
            assert!(
                reason.contains("none") || reason.contains("three"),
                "{reason}"
            );
        }
        let reason = invalid_reason(authority().verify(&format!("{header}.{claims}."), now()));
        assert!(reason.contains("alg \"none\""), "{reason}");
    }

    #[test]
    fn alg_none_in_other_spellings_is_invalid() {
        let claims = b64(&good_claims());
        for alg in ["None", "NONE", "nOnE"] {
            let header = b64(&json!({"alg": alg, "typ": "JWT"}));
            let reason = invalid_reason(authority().verify(&format!("{header}.{claims}."), now()));
            assert!(reason.contains("none"), "{alg}: {reason}");
        }
    }

    #[test]
    fn hs512_and_hs384_with_the_same_secret_are_invalid() {
        for alg in [Algorithm::HS512, Algorithm::HS384] {
            let token = sign(alg, &good_claims());
            let reason = invalid_reason(authority().verify(&token, now()));
            assert!(reason.contains("only HS256"), "{alg:?}: {reason}");
        }
    }

    #[test]
    fn rs256_header_is_invalid() {
        // An RS256 token cannot verify against an HMAC secret; the header alone refuses it.
        let header = b64(&json!({"alg": "RS256", "typ": "JWT"}));
        let token = format!("{header}.{}.c2lnbmF0dXJl", b64(&good_claims()));
        let reason = invalid_reason(authority().verify(&token, now()));
        assert!(reason.contains("\"RS256\""), "{reason}");
    }

    #[test]
    fn header_without_alg_or_with_a_non_string_alg_is_invalid() {
        let claims = b64(&good_claims());
        let no_alg = format!("{}.{claims}.sig", b64(&json!({"typ": "JWT"})));
        assert!(invalid_reason(authority().verify(&no_alg, now())).contains("no \"alg\""));
        let numeric = format!("{}.{claims}.sig", b64(&json!({"alg": 256})));
        assert!(invalid_reason(authority().verify(&numeric, now())).contains("only HS256"));
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        let auth = authority();
        let good = auth.issue("alice", Role::Viewer, 60, now());
        let (head, rest) = good.split_once('.').expect("dots");
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        let cases = [
            String::new(),
            "not a token".into(),
            "a.b".into(),
            "a.b.c.d".into(),
            format!("{good}.extra"),
            format!("!!!.{rest}"),
            format!("{}.{rest}", URL_SAFE_NO_PAD.encode("not json")),
            format!("{head}.%%%.sig"),
            long,
        ];
        for token in cases {
            let reason = invalid_reason(auth.verify(&token, now()));
            assert!(!reason.is_empty());
        }
    }

    #[test]
    fn claims_that_are_not_an_object_are_invalid() {
        let token = sign(Algorithm::HS256, &json!(["alice", "admin"]));
        let reason = invalid_reason(authority().verify(&token, now()));
        assert!(reason.contains("claims"), "{reason}");
    }

    fn reason_for_claims(claims: Value) -> String {
        invalid_reason(authority().verify(&sign(Algorithm::HS256, &claims), now()))
    }

    fn without(claim: &str) -> Value {
        let mut claims = good_claims();
        claims.as_object_mut().expect("object").remove(claim);
        claims
    }

    fn with(claim: &str, value: Value) -> Value {
        let mut claims = good_claims();
        claims[claim] = value;
        claims
    }

    #[test]
    fn each_missing_claim_is_named() {
        for claim in ["user_id", "role", "iat", "exp"] {
            assert_eq!(
                reason_for_claims(without(claim)),
                format!("missing claim \"{claim}\"")
            );
        }
    }

    #[test]
    fn unknown_role_is_invalid() {
        let reason = reason_for_claims(with("role", json!("root")));
        assert!(reason.contains("\"role\" must be one of"), "{reason}");
        assert!(
            !reason.contains("root"),
            "reason must not echo claim values"
        );
    }

    #[test]
    fn role_of_the_wrong_type_or_case_is_invalid() {
        for role in [json!(2), json!(null), json!(["admin"]), json!("Admin")] {
            let reason = reason_for_claims(with("role", role.clone()));
            assert!(reason.contains("\"role\""), "{role}: {reason}");
        }
    }

    #[test]
    fn numeric_user_id_is_invalid() {
        let reason = reason_for_claims(with("user_id", json!(42)));
        assert!(
            reason.contains("\"user_id\" must be a non-empty string"),
            "{reason}"
        );
    }

    #[test]
    fn empty_user_id_is_invalid() {
        let reason = reason_for_claims(with("user_id", json!("")));
        assert!(reason.contains("\"user_id\""), "{reason}");
    }

    #[test]
    fn exp_as_a_string_is_invalid() {
        let reason = reason_for_claims(with("exp", json!((NOW_SECS + 3600).to_string())));
        assert!(reason.contains("\"exp\" must be an integer"), "{reason}");
    }

    #[test]
    fn non_integer_times_are_invalid() {
        for (claim, value) in [
            ("exp", json!(1.5e9)),
            ("exp", json!(null)),
            ("iat", json!("1736951400")),
            ("iat", json!(true)),
            ("exp", json!(u64::MAX)),
        ] {
            let reason = reason_for_claims(with(claim, value.clone()));
            assert!(
                reason.contains(&format!("\"{claim}\" must be an integer")),
                "{claim}={value}: {reason}"
            );
        }
    }

    #[test]
    fn issued_after_expiry_is_invalid() {
        let reason = reason_for_claims(with("iat", json!(NOW_SECS + 7200)));
        assert!(reason.contains("later than"), "{reason}");
    }

    #[test]
    fn mistyped_claims_are_reported_even_when_the_token_has_expired() {
        let claims = json!({"user_id": "a", "role": "root", "iat": 0, "exp": 1});
        assert!(reason_for_claims(claims).contains("\"role\""));
    }

    #[test]
    fn extra_claims_are_ignored() {
        let token = sign(Algorithm::HS256, &with("aud", json!("someone-else")));
        assert!(authority().verify(&token, now()).is_ok());
    }

    #[test]
    fn debug_output_does_not_show_the_secret() {
        let text = format!("{:?}", authority());
        assert!(!text.contains("test-secret"), "{text}");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_verifies_and_never_panics(token in ".{0,300}") {
            prop_assert!(authority().verify(&token, now()).is_err());
        }

        #[test]
        fn arbitrary_dotted_base64_never_verifies(
            a in "[A-Za-z0-9_-]{0,60}", b in "[A-Za-z0-9_-]{0,60}", c in "[A-Za-z0-9_-]{0,60}"
        ) {
            let token = format!("{a}.{b}.{c}");
            prop_assert!(authority().verify(&token, now()).is_err());
        }

        #[test]
        fn issue_then_verify_round_trips(
            subject in "[a-zA-Z0-9@._-]{1,40}",
            role in prop::sample::select(Role::ALL.to_vec()),
            lifetime in 1u64..10_000_000,
        ) {
            let auth = authority();
            let identity = auth.verify(&auth.issue(&subject, role, lifetime, now()), now());
            prop_assert_eq!(identity.map(|i| (i.subject, i.role)), Ok((subject, role)));
        }
    }
}
