//! Local bearer tokens: signed with the stack's development key (HS256) and verified the
//! way API Gateway's Cognito authorizer verifies an ID token.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The issuer of locally minted tokens.
pub const ISSUER: &str = "studio-local";

/// The claims a local token carries (a Cognito ID token's essentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub sub: String,
    pub email: String,
    pub name: Option<String>,
    pub iss: String,
    pub exp: u64,
    pub token_use: String,
}

/// Signs and verifies local tokens with the stack's development key (HS256).
#[derive(Clone)]
pub struct DevKey(Vec<u8>);

impl std::fmt::Debug for DevKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevKey(<redacted>)")
    }
}

impl DevKey {
    /// The key kept in `path`, created (32 random bytes) on first use.
    pub fn load_or_create(path: &std::path::Path) -> std::io::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(bytes) = hex::decode(text.trim())
            && bytes.len() >= 32
        {
            return Ok(Self(bytes));
        }
        let bytes: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
        std::fs::write(path, hex::encode(&bytes))?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// A token for `sub`/`email`, valid for `hours`.
    pub fn mint(
        &self,
        sub: &str,
        email: &str,
        name: Option<&str>,
        hours: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = TokenClaims {
            sub: sub.to_owned(),
            email: email.to_owned(),
            name: name.map(str::to_owned),
            iss: ISSUER.to_owned(),
            exp: now + hours * 3600,
            token_use: "id".to_owned(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.0),
        )
    }

    /// The claims of a valid, unexpired token from this key.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<TokenClaims>(token, &DecodingKey::from_secret(&self.0), &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_key_and_issuer() {
        let key = DevKey::from_bytes(vec![7; 32]);
        let token = key
            .mint("local-staff", "staff@example.com", Some("Sam"), 1)
            .unwrap();
        let claims = key.verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.email.as_str()),
            ("local-staff", "staff@example.com")
        );
        assert!(
            DevKey::from_bytes(vec![8; 32]).verify(&token).is_none(),
            "another key"
        );
        assert!(key.verify("not.a.token").is_none());
        let old = TokenClaims {
            sub: "a".into(),
            email: "a@b.c".into(),
            name: None,
            iss: ISSUER.into(),
            exp: 1_000,
            token_use: "id".into(),
        };
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &old,
            &EncodingKey::from_secret(&[7; 32]),
        )
        .unwrap();
        assert!(key.verify(&expired).is_none(), "expired");
        let foreign = TokenClaims {
            iss: "someone-else".into(),
            exp: u64::MAX / 2,
            ..old
        };
        let foreign = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &foreign,
            &EncodingKey::from_secret(&[7; 32]),
        )
        .unwrap();
        assert!(key.verify(&foreign).is_none(), "another issuer");
    }
}
