//! The registry is the one place a provider is named: the test provider in `echo/` (one
//! folder, one registry line) is known to model validation, the settings catalogue, the
//! chat adapter factory and the embedder factory without any of them mentioning it.

use super::*;
use crate::ports::chat::{ChatMessage, ChatRequest, complete};

#[test]
fn model_validation_accepts_registered_chat_providers_and_lists_them_when_refusing() {
    let (provider, _) = chat_provider("echo").unwrap();
    assert_eq!(provider.name, "echo");
    let refused = chat_provider("anthropic").unwrap_err();
    assert_eq!(
        refused.message,
        "provider \"anthropic\" is not one of openai, azure, openai_compatible, gemini, bedrock, offline, echo"
    );
}

#[test]
fn the_settings_catalogue_lists_each_providers_settings_with_their_secrecy() {
    use crate::settings::catalogue;
    let echo_key = catalogue::known()
        .find(|known| known.key == "echo.api_key")
        .expect("echo.api_key is in the catalogue");
    assert!(echo_key.secret);
    assert_eq!(echo_key.description, "Echo API key");
    assert!(catalogue::must_be_secret("echo.api_key"));
    assert_eq!(
        catalogue::description("azure.api_version"),
        Some("Azure OpenAI api-version")
    );
    // Every provider setting is one of the fields the settings resolve into.
    for provider in REGISTRY {
        for setting in provider.settings {
            assert!(
                FIELDS.contains(&setting.field),
                "{}.{}",
                provider.name,
                setting.field
            );
        }
    }
}

#[tokio::test]
async fn the_chat_factory_builds_a_registered_provider_from_its_settings() {
    let missing = crate::chat::build("echo", &ProviderSettings::default())
        .await
        .err()
        .expect("no key, no adapter");
    assert_eq!(missing.message, "the echo provider needs an API key");

    let settings = ProviderSettings {
        api_key: Some("k".into()),
        ..ProviderSettings::default()
    };
    let model = crate::chat::build("echo", &settings).await.unwrap();
    let request = ChatRequest {
        model: "echo-1".into(),
        messages: vec![ChatMessage::user("ping")],
        ..ChatRequest::default()
    };
    let answer = complete(model.as_ref(), request).await.unwrap();
    assert_eq!(answer.text, "ping");

    let unknown = crate::chat::build("nobody", &settings).await.err().unwrap();
    assert!(unknown.message.contains("echo"), "{}", unknown.message);
}

#[tokio::test]
async fn the_embedder_factory_builds_a_registered_provider_from_the_environment() {
    let env = |name: &str| match name {
        "EMBEDDING_PROVIDER" => Some("echo".to_owned()),
        "EMBEDDING_DIMENSIONS" => Some("8".to_owned()),
        _ => None,
    };
    let embedder = crate::embed::from_vars(env).await.unwrap();
    assert_eq!(
        (embedder.model(), embedder.dimensions()),
        ("echo-length", 8)
    );
    let vectors = embedder.embed(&["abc".to_owned()]).await.unwrap();
    assert_eq!(vectors, vec![vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]]);

    let only_chat = |name: &str| (name == "EMBEDDING_PROVIDER").then(|| "gemini".to_owned());
    let refused = crate::embed::from_vars(only_chat).await.err().unwrap();
    assert_eq!(
        refused.message,
        "EMBEDDING_PROVIDER \"gemini\" is not supported; use openai, bedrock, offline, echo"
    );
}
