//! AES-256-GCM for secret settings: a random 96-bit nonce per value, the setting's key as
//! associated data (a ciphertext copied onto another key does not decrypt).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::SecretString;

use crate::error::AppError;
use crate::ports::keys::DataKey;

/// Ciphertext with its 16-byte tag appended, and the nonce it was sealed with.
pub(crate) struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
}

pub(crate) fn seal(key: &DataKey, name: &str, plaintext: &str) -> Result<Sealed, AppError> {
    let cipher = Aes256Gcm::new(key.bytes().into());
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext.as_bytes(),
                aad: name.as_bytes(),
            },
        )
        .map_err(|_| AppError::internal("Encrypting the setting failed"))?;
    Ok(Sealed {
        ciphertext,
        nonce: nonce.to_vec(),
    })
}

pub(crate) fn open(
    key: &DataKey,
    name: &str,
    ciphertext: &[u8],
    nonce: &[u8],
) -> Result<SecretString, AppError> {
    if nonce.len() != 12 {
        return Err(AppError::internal(format!(
            "The secret setting {name} has a malformed nonce"
        )));
    }
    let cipher = Aes256Gcm::new(key.bytes().into());
    let plaintext = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: name.as_bytes(),
            },
        )
        .map_err(|_| {
            AppError::internal(format!(
                "The secret setting {name} does not decrypt with data key version {}",
                key.id
            ))
        })?;
    let text = String::from_utf8(plaintext)
        .map_err(|_| AppError::internal(format!("The secret setting {name} is not text")))?;
    Ok(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_sealed_value_opens_with_its_key_and_name_only() {
        let key = DataKey::new("v1", [7; 32]);
        let sealed = seal(&key, "openai.api_key", "sk-test-123").unwrap();
        assert_eq!(sealed.nonce.len(), 12);
        assert_eq!(sealed.ciphertext.len(), "sk-test-123".len() + 16);
        assert!(!sealed.ciphertext.windows(5).any(|w| w == b"sk-te"));
        let opened = open(&key, "openai.api_key", &sealed.ciphertext, &sealed.nonce).unwrap();
        assert_eq!(opened.expose_secret(), "sk-test-123");

        let other = DataKey::new("v2", [8; 32]);
        assert!(open(&other, "openai.api_key", &sealed.ciphertext, &sealed.nonce).is_err());
        assert!(open(&key, "gemini.api_key", &sealed.ciphertext, &sealed.nonce).is_err());
    }

    #[test]
    fn every_value_gets_its_own_nonce() {
        let key = DataKey::new("v1", [7; 32]);
        let a = seal(&key, "k", "same").unwrap();
        let b = seal(&key, "k", "same").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }
}
