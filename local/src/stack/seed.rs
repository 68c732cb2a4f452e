//! Demo data for the local stack: a team, one user per seeded role, and a model catalogue
//! that works offline. Idempotent, so every start can run it.

use serde::Deserialize;
use shared::data_api::{DataApi, DbError, Decimal, Params, TextArray};
use uuid::Uuid;

/// The demo team's fixed id, so tools and docs can name it.
pub const DEMO_TEAM_ID: Uuid = Uuid::from_u128(0x5754_d10d_e30a_4000_8000_0000_0000_0001);

/// `(cognito sub, e-mail, name, studio role, team role)`
pub const DEMO_USERS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "local-admin",
        "admin@example.com",
        "Ada Admin",
        "administrator",
        "owner",
    ),
    (
        "local-staff",
        "staff@example.com",
        "Sam Staff",
        "staff",
        "member",
    ),
    (
        "local-student",
        "student@example.com",
        "Stu Student",
        "student",
        "member",
    ),
];

struct Model {
    provider: &'static str,
    model_id: &'static str,
    name: &'static str,
    capabilities: &'static [&'static str],
    input: &'static str,
    output: &'static str,
    cached: Option<&'static str>,
    context_window: i64,
    active: bool,
    chat: bool,
    config: serde_json::Value,
}

fn models() -> Vec<Model> {
    use serde_json::json;
    vec![
        Model {
            provider: "offline",
            model_id: "offline-answerer",
            name: "Offline answerer",
            capabilities: &["chat"],
            input: "0",
            output: "0",
            cached: None,
            context_window: 32_000,
            active: true,
            chat: true,
            config: json!({}),
        },
        Model {
            provider: "offline",
            model_id: "offline-hash-embedder",
            name: "Offline embedder (feature hashing)",
            capabilities: &["embedding"],
            input: "0",
            output: "0",
            cached: None,
            context_window: 8_192,
            active: true,
            chat: false,
            config: json!({"dimensions": 1024}),
        },
        Model {
            provider: "openai",
            model_id: "gpt-4o-mini",
            name: "GPT-4o mini",
            capabilities: &["chat", "vision", "tools"],
            input: "0.000150",
            output: "0.000600",
            cached: Some("0.000075"),
            context_window: 128_000,
            active: false,
            chat: true,
            config: json!({}),
        },
        Model {
            provider: "bedrock",
            model_id: "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            name: "Claude 3.5 Haiku (Bedrock)",
            capabilities: &["chat", "tools"],
            input: "0.000800",
            output: "0.004000",
            cached: Some("0.000080"),
            context_window: 200_000,
            active: false,
            chat: true,
            config: json!({"region": "us-east-1"}),
        },
        Model {
            provider: "gemini",
            model_id: "gemini-2.0-flash",
            name: "Gemini 2.0 Flash",
            capabilities: &["chat", "vision"],
            input: "0.000100",
            output: "0.000400",
            cached: Some("0.000025"),
            context_window: 1_000_000,
            active: false,
            chat: true,
            config: json!({}),
        },
        Model {
            provider: "bedrock",
            model_id: "amazon.titan-embed-text-v2:0",
            name: "Titan Text Embeddings v2",
            capabilities: &["embedding"],
            input: "0.000020",
            output: "0",
            cached: None,
            context_window: 8_192,
            active: false,
            chat: false,
            config: json!({"dimensions": 1024}),
        },
    ]
}

#[derive(Deserialize)]
struct Id {
    id: Uuid,
}

/// Seeds the demo team, users, roles and models in one transaction.
pub async fn seed(db: &DataApi) -> Result<(), DbError> {
    db.transaction(async |tx| {
        tx.execute(
            "INSERT INTO teams (id, name, description) VALUES (:id, 'Demo Team', 'Seeded by the local stack')
             ON CONFLICT (id) DO NOTHING",
            Params::new().bind("id", DEMO_TEAM_ID),
        )
        .await?;
        for (sub, email, name, role, team_role) in DEMO_USERS {
            let user: Option<Id> = tx
                .query_opt(
                    "INSERT INTO users (cognito_sub, email, name) VALUES (:sub, :email, :name)
                     ON CONFLICT (cognito_sub) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name
                     RETURNING id",
                    Params::new().bind("sub", *sub).bind("email", *email).bind("name", *name),
                )
                .await?;
            let Some(user) = user else { continue };
            tx.execute(
                "INSERT INTO user_roles (user_id, role_id) SELECT :user, id FROM roles WHERE name = :role
                 ON CONFLICT DO NOTHING",
                Params::new().bind("user", user.id).bind("role", *role),
            )
            .await?;
            tx.execute(
                "INSERT INTO team_members (team_id, user_id, role) VALUES (:team, :user, :role)
                 ON CONFLICT (team_id, user_id) DO NOTHING",
                Params::new().bind("team", DEMO_TEAM_ID).bind("user", user.id).bind("role", *team_role),
            )
            .await?;
        }
        let sets: Vec<Params> = models()
            .into_iter()
            .map(|m| {
                Params::new()
                    .bind("provider", m.provider)
                    .bind("model_id", m.model_id)
                    .bind("name", m.name)
                    .bind("capabilities", TextArray(m.capabilities.iter().map(|c| (*c).to_owned()).collect()))
                    .bind("input", Decimal(m.input.to_owned()))
                    .bind("output", Decimal(m.output.to_owned()))
                    .bind("cached", m.cached.map(|c| Decimal(c.to_owned())))
                    .bind("context_window", m.context_window)
                    .bind("active", m.active)
                    .bind("chat", m.chat)
                    .bind("config", m.config)
            })
            .collect();
        tx.batch_execute(
            "INSERT INTO ai_models (provider, model_id, name, capabilities, input_price_per_1k, output_price_per_1k,
                                    cached_input_price_per_1k, context_window, active, chat_enabled, config)
             VALUES (:provider, :model_id, :name, :capabilities::text[], :input, :output, :cached, :context_window,
                     :active, :chat, :config::jsonb)
             ON CONFLICT (provider, model_id) DO NOTHING",
            &sets,
        )
        .await?;
        Ok(())
    })
    .await
}
