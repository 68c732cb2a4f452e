//! The settings the studio reads, and how a key maps to its environment fallback.
//!
//! A key is looked up in the `settings` table first, then in the environment under its
//! name upper-cased with `.` and `-` turned into `_`: `openai.api_key` <-> `OPENAI_API_KEY`,
//! `chat.prompts_per_hour` <-> `CHAT_PROMPTS_PER_HOUR`, `bedrock.region` <-> `BEDROCK_REGION`.
//!
//! Provider settings follow one pattern, `<provider>.<field>`, with `provider` as
//! `ai_models.provider` spells it and `field` one of `api_key` (secret), `base_url`,
//! `api_version`, `region`, `timeout_secs`.

/// `(key, is secret, description)` of the settings the studio knows.
pub const KNOWN: &[(&str, bool, &str)] = &[
    ("openai.api_key", true, "OpenAI API key"),
    (
        "openai.base_url",
        false,
        "OpenAI API base URL (default https://api.openai.com/v1)",
    ),
    ("azure.api_key", true, "Azure OpenAI API key"),
    (
        "azure.base_url",
        false,
        "Azure OpenAI endpoint, https://<resource>.openai.azure.com",
    ),
    ("azure.api_version", false, "Azure OpenAI api-version"),
    (
        "bedrock.region",
        false,
        "AWS region for Bedrock (default: the function's region)",
    ),
    ("gemini.api_key", true, "Google Gemini API key"),
    ("gemini.base_url", false, "Gemini API base URL"),
    (
        "openai_compatible.base_url",
        false,
        "Base URL of an OpenAI-compatible server (Ollama, vLLM)",
    ),
    (
        "openai_compatible.api_key",
        true,
        "API key of the OpenAI-compatible server, if it needs one",
    ),
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

/// The fields of a provider's settings (`<provider>.<field>`).
pub const PROVIDER_FIELDS: &[&str] = &[
    "api_key",
    "base_url",
    "api_version",
    "region",
    "timeout_secs",
];

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
    if let Some((_, secret, _)) = KNOWN.iter().find(|(k, _, _)| *k == key) {
        return *secret;
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
    KNOWN.iter().find(|(k, _, _)| *k == key).map(|(_, _, d)| *d)
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
