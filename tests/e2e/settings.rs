//! Settings and secrets through the api routes and the store: ciphertext at rest under a
//! data key in moto's Secrets Manager, never a secret in a response, rotation, environment
//! fallback and the cache's lifetime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::adapters::aws::SecretsManagerDataKeys;
use shared::executor::{Request, StudioModels};
use shared::settings::{DEFAULT_TTL, Settings};
use studio_tests::{TestDb, data_keys};
use uuid::Uuid;

use crate::api::{call, deps, event};

/// A store that reads the secret `arn` as another process would (own cache, own key cache).
async fn another_process(t: &TestDb, arn: &str) -> Settings {
    let sdk = shared::adapters::aws::sdk_config().await;
    Settings::with_options(
        t.db.clone(),
        Arc::new(SecretsManagerDataKeys::new(&sdk, arn)),
        Box::new(|_| None),
        Box::new(Instant::now),
        DEFAULT_TTL,
    )
}

#[derive(Default)]
struct Responses(Vec<String>);

impl Responses {
    async fn call(
        &mut self,
        deps: &api::deps::Deps,
        method: &str,
        path: &str,
        body: Option<Value>,
        sub: &str,
    ) -> (u16, Value) {
        let (status, body) = call(deps, event(method, path, body, None, Some(sub))).await;
        self.0.push(body.to_string());
        (status, body)
    }
}

async fn stored_row(t: &TestDb, key: &str) -> (Option<String>, Vec<u8>, Vec<u8>, String) {
    let row = t
        .postgres()
        .await
        .query_one(
            "SELECT value, ciphertext, nonce, encryption_key_id FROM settings WHERE key = $1",
            &[&key],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

#[tokio::test]
async fn a_secret_set_through_the_api_is_ciphertext_at_rest_readable_by_the_configurator_and_never_returned()
 {
    let t = TestDb::migrated().await;
    let (keys, arn) = data_keys().await;
    let mut deps = deps(&t).await;
    deps.settings = Settings::new(t.db.clone(), Arc::new(keys));
    let team = t.team().await;
    let admin = format!("admin-{}", Uuid::new_v4());
    let student = format!("student-{}", Uuid::new_v4());
    let admin_caller = t.member(&admin, "administrator", team).await;
    t.member(&student, "student", team).await;
    let secret = format!("sk-test-{}", Uuid::new_v4().simple());
    let mut responses = Responses::default();

    let (status, body) = responses
        .call(
            &deps,
            "PUT",
            "/settings/openai.api_key",
            Some(json!({"value": secret, "isSecret": true})),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["isSecret"], true);
    assert_eq!(body["data"]["hasValue"], true);

    let (value, ciphertext, nonce, key_id) = stored_row(&t, "openai.api_key").await;
    assert_eq!(value, None);
    assert_eq!(nonce.len(), 12);
    assert_eq!(ciphertext.len(), secret.len() + 16);
    assert!(
        !ciphertext
            .windows(8)
            .any(|w| secret.as_bytes().windows(8).any(|s| s == w))
    );

    // A model call resolved in another process gets the key.
    let model = shared::models::create(
        &t.db,
        &admin_caller,
        &serde_json::from_value(
            json!({"provider": "openai", "modelId": "gpt-4o-mini", "name": "GPT-4o mini"}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    // The provider registry decides which providers a model may name, not the schema.
    let unregistered = shared::models::create(
        &t.db,
        &admin_caller,
        &serde_json::from_value(
            json!({"provider": "anthropic", "modelId": "claude", "name": "Claude"}),
        )
        .unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        unregistered.message,
        "provider \"anthropic\" is not one of openai, azure, openai_compatible, gemini, bedrock, offline"
    );
    let other = another_process(&t, &arn).await;
    let resolved = StudioModels::new(t.db.clone(), other.clone())
        .resolve(
            &admin_caller,
            Request {
                model: "gpt-4o-mini",
                persona: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(resolved.primary.model.id, model.id);
    assert_eq!(
        resolved.primary.provider.api_key.as_deref(),
        Some(secret.as_str())
    );
    assert!(
        !format!("{resolved:?}").contains(&secret),
        "Debug redacts the key"
    );

    // Non-secret settings show their value; secrets only that they have one.
    let (status, _) = responses
        .call(
            &deps,
            "PUT",
            "/settings/chat.system_prompt",
            Some(json!({"value": "Answer briefly."})),
            &admin,
        )
        .await;
    assert_eq!(status, 200);
    let (status, listed) = responses
        .call(&deps, "GET", "/settings", None, &admin)
        .await;
    assert_eq!(status, 200, "{listed}");
    let find = |key: &str| {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(find("openai.api_key")["hasValue"], true);
    assert_eq!(find("openai.api_key")["isSecret"], true);
    assert!(find("openai.api_key").get("value").is_none());
    assert_eq!(find("chat.system_prompt")["value"], "Answer briefly.");
    assert_eq!(find("gemini.api_key")["hasValue"], false);
    // Each registered provider's settings are listed, described, before any is set.
    assert_eq!(
        find("azure.api_version")["description"],
        "Azure OpenAI api-version"
    );
    assert_eq!(find("bedrock.region")["isSecret"], false);

    // A credential cannot be stored in the clear; students manage nothing.
    let (status, body) = responses
        .call(
            &deps,
            "PUT",
            "/settings/gemini.api_key",
            Some(json!({"value": "g-key", "isSecret": false})),
            &admin,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation"))
    );
    let (status, _) = responses
        .call(&deps, "GET", "/settings", None, &student)
        .await;
    assert_eq!(status, 403);
    let (status, _) = responses
        .call(
            &deps,
            "PUT",
            "/settings/openai.api_key",
            Some(json!({"value": "stolen"})),
            &student,
        )
        .await;
    assert_eq!(status, 403);

    // Rotation: a new key version, every secret re-encrypted, still readable everywhere.
    let (status, rotated) = responses
        .call(&deps, "POST", "/settings/rotate-key", None, &admin)
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["data"]["reencrypted"], 1);
    let (_, new_ciphertext, _, new_key_id) = stored_row(&t, "openai.api_key").await;
    assert_ne!(new_key_id, key_id);
    assert_eq!(rotated["data"]["keyId"], new_key_id);
    assert_ne!(new_ciphertext, ciphertext);
    let fresh = another_process(&t, &arn).await;
    assert_eq!(
        fresh
            .get("openai.api_key")
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        secret
    );
    // The old version stays readable, so values a slower process wrote under it still open.
    let sdk = shared::adapters::aws::sdk_config().await;
    let old =
        shared::settings::DataKeys::version(&SecretsManagerDataKeys::new(&sdk, &arn), &key_id)
            .await
            .unwrap();
    assert_eq!(old.id, key_id);
    assert_eq!(
        other
            .get("openai.api_key")
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        secret
    );

    let (status, _) = responses
        .call(&deps, "DELETE", "/settings/openai.api_key", None, &admin)
        .await;
    assert_eq!(status, 200);
    let (status, _) = responses
        .call(&deps, "DELETE", "/settings/openai.api_key", None, &admin)
        .await;
    assert_eq!(status, 404);

    for body in &responses.0 {
        assert!(
            !body.contains(&secret),
            "a response carried the secret: {body}"
        );
    }
}

#[tokio::test]
async fn the_environment_applies_when_the_database_has_no_value() {
    let t = TestDb::migrated().await;
    let (keys, _) = data_keys().await;
    let settings = Settings::with_options(
        t.db.clone(),
        Arc::new(keys),
        Box::new(|name| (name == "OPENAI_BASE_URL").then(|| "http://env.example/v1".to_owned())),
        Box::new(Instant::now),
        DEFAULT_TTL,
    );
    let team = t.team().await;
    let admin = t
        .member(&format!("admin-{}", Uuid::new_v4()), "administrator", team)
        .await;
    assert_eq!(
        settings.text("openai.base_url").await.unwrap().as_deref(),
        Some("http://env.example/v1")
    );
    assert_eq!(settings.text("gemini.base_url").await.unwrap(), None);

    let new = serde_json::from_value(json!({"value": "http://db.example/v1"})).unwrap();
    settings.set(&admin, "openai.base_url", &new).await.unwrap();
    assert_eq!(
        settings.text("openai.base_url").await.unwrap().as_deref(),
        Some("http://db.example/v1"),
        "the database wins, and a write is seen at once in its process"
    );
    let listed = settings.list(&admin).await.unwrap();
    let view = listed.iter().find(|s| s.key == "openai.base_url").unwrap();
    assert_eq!(view.source, Some("database"));

    settings.delete(&admin, "openai.base_url").await.unwrap();
    assert_eq!(
        settings.text("openai.base_url").await.unwrap().as_deref(),
        Some("http://env.example/v1")
    );
    let listed = settings.list(&admin).await.unwrap();
    let view = listed.iter().find(|s| s.key == "openai.base_url").unwrap();
    assert_eq!((view.source, view.has_value), (Some("environment"), true));
}

#[tokio::test]
async fn a_value_changed_elsewhere_is_seen_once_the_cache_expires() {
    let t = TestDb::migrated().await;
    let (keys, _) = data_keys().await;
    let start = Instant::now();
    let elapsed = Arc::new(AtomicU64::new(0));
    let clock = elapsed.clone();
    let settings = Settings::with_options(
        t.db.clone(),
        Arc::new(keys),
        Box::new(|_| None),
        Box::new(move || start + Duration::from_secs(clock.load(Ordering::SeqCst))),
        Duration::from_secs(300),
    );
    let write = |value: &'static str| {
        let db = t.db.clone();
        async move {
            db.execute(
                "INSERT INTO settings (key, value) VALUES ('chat.prompts_per_hour', :value)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                shared::data_api::Params::new().bind("value", value),
            )
            .await
            .unwrap();
        }
    };
    write("10").await;
    assert_eq!(
        settings.parsed("chat.prompts_per_hour", 60).await.unwrap(),
        10
    );

    // Another process changes it: this one keeps its reading...
    write("20").await;
    elapsed.store(239, Ordering::SeqCst);
    assert_eq!(
        settings.parsed("chat.prompts_per_hour", 60).await.unwrap(),
        10
    );
    // ...and in the last fifth of the TTL still answers at once with it, while it reads the
    // table again behind that answer; the reads after that see the change.
    elapsed.store(240, Ordering::SeqCst);
    assert_eq!(
        settings.parsed("chat.prompts_per_hour", 60).await.unwrap(),
        10
    );
    let mut seen = 10;
    for _ in 0..100 {
        seen = settings.parsed("chat.prompts_per_hour", 60).await.unwrap();
        if seen == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, 20, "the background read was kept");

    // Unread for a whole TTL, a reading is not served: the read waits for the table.
    write("30").await;
    elapsed.store(240 + 300, Ordering::SeqCst);
    assert_eq!(
        settings.parsed("chat.prompts_per_hour", 60).await.unwrap(),
        30
    );

    // A value that does not parse falls back to the default instead of failing.
    write("lots").await;
    settings.invalidate();
    assert_eq!(
        settings.parsed("chat.prompts_per_hour", 60).await.unwrap(),
        60
    );
}
