//! The settings the studio reads, and how a key maps to its environment fallback.
//!
//! A key is looked up in the `settings` table first, then in the environment under its
//! name upper-cased with `.` and `-` turned into `_`: `openai.api_key` <-> `OPENAI_API_KEY`,
//! `chat.prompts_per_hour` <-> `CHAT_PROMPTS_PER_HOUR`, `bedrock.region` <-> `BEDROCK_REGION`.
//!
//! Provider settings follow one pattern, `<provider>.<field>`: each provider declares its
//! own in the registry ([`crate::providers::REGISTRY`]), drawn from
//! [`crate::providers::FIELDS`].

use std::borrow::Cow;

use crate::providers::REGISTRY;

/// A setting the studio knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub key: Cow<'static, str>,
    /// Stored encrypted and never returned.
    pub secret: bool,
    pub description: &'static str,
}

/// The studio's own settings; the providers' come from the registry.
const STUDIO: &[(&str, bool, &str)] = &[
    (
        "chat.system_prompt",
        false,
        "System prompt every chat starts with (a persona's replaces it)",
    ),
    (
        "chat.prompts_per_hour",
        false,
        "Prompts a user may send per hour (default 60)",
    ),
];

/// Every setting the studio knows: each registered provider's, then the studio's own.
pub fn known() -> impl Iterator<Item = Known> {
    let providers = REGISTRY.iter().flat_map(|provider| {
        provider.settings.iter().map(|setting| Known {
            key: Cow::Owned(format!("{}.{}", provider.name, setting.field)),
            secret: setting.secret,
            description: setting.description,
        })
    });
    let studio = STUDIO.iter().map(|&(key, secret, description)| Known {
        key: Cow::Borrowed(key),
        secret,
        description,
    });
    providers.chain(studio)
}

fn find(key: &str) -> Option<Known> {
    known().find(|known| known.key == key)
}

/// The environment variable a setting falls back to.
pub fn env_name(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Whether a value under `key` must be stored encrypted: the known secrets, and any key
/// whose last part names a credential.
pub fn must_be_secret(key: &str) -> bool {
    if let Some(known) = find(key) {
        return known.secret;
    }
    let last = key
        .rsplit(['.', '-'])
        .next()
        .unwrap_or(key)
        .to_ascii_lowercase();
    ["key", "api_key", "secret", "password", "token"]
        .iter()
        .any(|word| last == *word || last.ends_with(&format!("_{word}")))
}

pub fn description(key: &str) -> Option<&'static str> {
    find(key).map(|known| known.description)
}

/// The same rule the `settings.key` CHECK constraint applies.
pub fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && key.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_conventional_environment_names() {
        assert_eq!(env_name("openai.api_key"), "OPENAI_API_KEY");
        assert_eq!(env_name("chat.prompts_per_hour"), "CHAT_PROMPTS_PER_HOUR");
        assert_eq!(
            env_name("openai_compatible.base-url"),
            "OPENAI_COMPATIBLE_BASE_URL"
        );
    }

    #[test]
    fn credentials_must_be_secret_and_addresses_need_not() {
        assert!(must_be_secret("openai.api_key"));
        assert!(must_be_secret("custom.webhook_secret"));
        assert!(must_be_secret("smtp.password"));
        assert!(!must_be_secret("openai.base_url"));
        assert!(!must_be_secret("chat.prompts_per_hour"));
        assert!(!must_be_secret("chat.monkey"));
    }

    #[test]
    fn keys_follow_the_table_constraint() {
        assert!(is_valid_key("openai.api_key"));
        assert!(!is_valid_key("1openai"));
        assert!(!is_valid_key("open ai"));
        assert!(!is_valid_key(""));
    }
}
