//! A person at the HTTP API: a bearer token minted with the stack's dev key, JSON in and
//! out, presigned uploads, and waiting for an item to settle.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studio_local::front_door::DevKey;

/// A stack variable from `stack.env` (the test command sources it).
pub fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test.sh"))
}

/// One signed-in user of the API.
pub struct ApiClient {
    pub http: reqwest::Client,
    pub base: String,
    token: String,
}

impl ApiClient {
    /// A user of the test command's stack (`STUDIO_API_URL`, `STUDIO_DEV_KEY_FILE`).
    pub fn for_user(sub: &str, email: &str) -> Self {
        Self::new(
            &env("STUDIO_API_URL"),
            env("STUDIO_DEV_KEY_FILE").as_ref(),
            sub,
            email,
        )
    }

    /// A user of the front door at `base`, whose tokens `key_file` signs.
    pub fn new(base: &str, key_file: &Path, sub: &str, email: &str) -> Self {
        let key = DevKey::load_or_create(key_file).unwrap();
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            base: base.to_owned(),
            token: key.mint(sub, email, None, 1).unwrap(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// The bearer token this client sends.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Creates a repository named `name` and returns its id.
    pub async fn repository(&self, name: &str) -> String {
        let (status, created) = self.post("/repositories", json!({ "name": name })).await;
        assert_eq!(status, 200, "{created}");
        created["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a file item and returns it with its presigned upload.
    pub async fn create_file(&self, repository: &str, name: &str, size: usize) -> Value {
        let request = json!({"type": "file", "fileName": name, "sizeBytes": size.max(1)});
        let (status, created) = self
            .post(&format!("/repositories/{repository}/items"), request)
            .await;
        assert_eq!(status, 200, "{name}: {created}");
        created["data"].clone()
    }

    /// Creates file items for `(name, size)`, 100 per request as `studio ingest` does; one
    /// entry (item and upload) per file, in order.
    pub async fn create_files(&self, repository: &str, files: &[(String, usize)]) -> Vec<Value> {
        let mut entries = Vec::with_capacity(files.len());
        for batch in files.chunks(100) {
            let items: Vec<Value> = batch
                .iter()
                .map(|(name, size)| json!({"type": "file", "fileName": name, "sizeBytes": (*size).max(1)}))
                .collect();
            let (status, created) = self
                .post(
                    &format!("/repositories/{repository}/items"),
                    json!({ "items": items }),
                )
                .await;
            assert_eq!(status, 200, "{created}");
            for entry in created["data"]["items"].as_array().unwrap() {
                assert!(entry.get("error").is_none(), "{entry}");
                entries.push(entry.clone());
            }
        }
        entries
    }

    /// Creates a file item, uploads `bytes` to its presigned URL, returns the item id.
    pub async fn upload(&self, repository: &str, name: &str, bytes: &[u8]) -> String {
        let created = self.create_file(repository, name, bytes.len()).await;
        let url = created["upload"]["url"].as_str().unwrap();
        let put = self
            .http
            .put(url)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "{name}: {}", put.status());
        created["item"]["id"].as_str().unwrap().to_owned()
    }

    /// The item as its owner sees it (`data` of `GET /items/{id}`).
    pub async fn item(&self, item: &str) -> Value {
        let (status, body) = self.get(&format!("/items/{item}")).await;
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }

    /// Polls the item until it is completed or failed (90 s at most).
    pub async fn settle(&self, item: &str) -> Value {
        self.settle_within(item, Duration::from_secs(90)).await
    }

    pub async fn settle_within(&self, item: &str, limit: Duration) -> Value {
        let started = Instant::now();
        loop {
            let (_, body) = self.get(&format!("/items/{item}")).await;
            let status = body["data"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if status == "completed" || status == "failed" {
                return body["data"].clone();
            }
            assert!(
                started.elapsed() < limit,
                "item {item} stuck in {status}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `GET /repositories/{id}/search?q=...`: status and the hits.
    pub async fn search(&self, repository: &str, query: &str) -> (u16, Value) {
        self.search_in_mode(repository, query, "hybrid").await
    }

    /// A search in `mode` (`hybrid`, `vector` or `keyword`).
    pub async fn search_in_mode(&self, repository: &str, query: &str, mode: &str) -> (u16, Value) {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/repositories/{repository}/search", self.base),
            &[("q", query), ("mode", mode)],
        )
        .unwrap();
        let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let (status, body) = self.get(&path).await;
        (status, body["data"].clone())
    }
}

/// The running stack's own database, through its Data API server (for setting up what
/// the API has no route for, such as teams).
pub fn stack_db() -> shared::data_api::DataApi {
    studio_local::stack::data_api_client(
        &env("AWS_ENDPOINT_URL_RDS_DATA"),
        &env("DATABASE_NAME"),
        &env("DATABASE_SECRET_ARN"),
    )
}

/// A new team in the running stack; returns its id.
pub async fn new_team() -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    stack_db()
        .execute(
            "INSERT INTO teams (id, name) VALUES (:id, :name)",
            shared::data_api::Params::new()
                .bind("id", id)
                .bind("name", format!("Team {id}")),
        )
        .await
        .unwrap();
    id
}

/// A user who has never signed in before, with the studio role `role`, in `team`: their
/// own prompt count and nobody else's conversations, so tests sharing the stack do not
/// disturb one another.
pub async fn new_member(role: &str, team: uuid::Uuid) -> ApiClient {
    let who = uuid::Uuid::new_v4().simple().to_string();
    let sub = format!("{role}-{who}");
    let user = ApiClient::for_user(&sub, &format!("{sub}@example.org"));
    // The first request signs the user in, creating them.
    let (status, body) = user.get("/conversations").await;
    assert_eq!(status, 200, "{body}");
    let db = stack_db();
    let params = || {
        shared::data_api::Params::new()
            .bind("sub", sub.as_str())
            .bind("role", role)
            .bind("team", team)
    };
    db.execute(
        "INSERT INTO user_roles (user_id, role_id)
         SELECT u.id, r.id FROM users u, roles r WHERE u.cognito_sub = :sub AND r.name = :role",
        params(),
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO team_members (team_id, user_id) SELECT :team, id FROM users WHERE cognito_sub = :sub",
        params(),
    )
    .await
    .unwrap();
    user
}

/// The parts of a UI message stream (`data: {...}` frames), in order, without `[DONE]`.
pub fn ui_chunks(stream: &str) -> Vec<Value> {
    stream
        .split("\n\n")
        .filter_map(|frame| frame.trim().strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .collect()
}

/// A streaming `POST` (`/chat`, `/compare`): the status, the `x-conversation-id` header,
/// and the whole body as text.
pub async fn post_stream(
    user: &ApiClient,
    path: &str,
    body: &Value,
) -> (u16, Option<String>, String) {
    let response = user
        .http
        .post(format!("{}{path}", user.base))
        .bearer_auth(user.token())
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let conversation = response
        .headers()
        .get("x-conversation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, conversation, response.text().await.unwrap())
}
