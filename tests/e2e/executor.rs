//! The executor configurator: access by role, fallbacks, provider settings, system prompts.

use serde_json::json;
use shared::auth::Caller;
use shared::executor::{self, Request, StudioModels};
use shared::models::{self, AiModel};
use shared::{AppError, ErrorCode};
use studio_tests::TestDb;
use uuid::Uuid;

async fn model(t: &TestDb, admin: &Caller, fields: serde_json::Value) -> AiModel {
    let mut body = json!({"provider": "openai", "name": "A model"});
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    models::create(&t.db, admin, &serde_json::from_value(body).unwrap())
        .await
        .unwrap()
}

async fn resolve(
    t: &TestDb,
    settings: &shared::settings::Settings,
    caller: &Caller,
    model: &str,
) -> Result<executor::Execution, AppError> {
    // A fresh configurator each time: these tests change models between resolutions.
    StudioModels::new(t.db.clone(), settings.clone())
        .resolve(
            caller,
            Request {
                model,
                persona: None,
            },
        )
        .await
}

#[tokio::test]
async fn a_student_cannot_resolve_a_staff_only_model_staff_can_and_administrators_can_use_any() {
    let t = TestDb::migrated().await;
    let settings = studio_tests::settings(&t.db).await;
    let team = t.team().await;
    let id = Uuid::new_v4();
    let admin = t
        .member(&format!("admin-{id}"), "administrator", team)
        .await;
    let staff = t.member(&format!("staff-{id}"), "staff", team).await;
    let student = t.member(&format!("student-{id}"), "student", team).await;
    let staff_only = model(
        &t,
        &admin,
        json!({"modelId": format!("staff-{id}"), "name": "Staff GPT", "allowedRoles": ["staff"]}),
    )
    .await;
    let students_only = model(
        &t,
        &admin,
        json!({"modelId": format!("pupil-{id}"), "allowedRoles": ["student"]}),
    )
    .await;
    let everyone = model(&t, &admin, json!({"modelId": format!("open-{id}")})).await;
    let inactive = model(
        &t,
        &admin,
        json!({"modelId": format!("off-{id}"), "active": false}),
    )
    .await;
    let embedding = model(
        &t,
        &admin,
        json!({"modelId": format!("embed-{id}"), "chatEnabled": false}),
    )
    .await;

    let refused = resolve(&t, &settings, &student, &staff_only.model_id)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    assert_eq!(refused.http_status(), 403);
    assert_eq!(refused.message, "Staff GPT is available to staff only");

    let granted = resolve(&t, &settings, &staff, &staff_only.id.to_string())
        .await
        .unwrap();
    assert_eq!(granted.primary.model.id, staff_only.id);
    for requested in [&staff_only, &students_only, &everyone] {
        let resolved = resolve(&t, &settings, &admin, &requested.model_id)
            .await
            .unwrap();
        assert_eq!(resolved.primary.model.id, requested.id);
    }
    assert_eq!(
        resolve(&t, &settings, &student, &everyone.model_id)
            .await
            .unwrap()
            .primary
            .model
            .id,
        everyone.id
    );
    for closed in [&inactive, &embedding] {
        let error = resolve(&t, &settings, &admin, &closed.model_id)
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::Forbidden, "{}", error.message);
    }
    let missing = resolve(&t, &settings, &admin, "no-such-model")
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);

    // GET /models lists what the caller may use.
    let usable: Vec<Uuid> = models::list_usable(&t.db, &student)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert!(usable.contains(&everyone.id) && usable.contains(&students_only.id));
    assert!(!usable.contains(&staff_only.id) && !usable.contains(&inactive.id));
}

#[tokio::test]
async fn fallbacks_skip_models_the_caller_may_not_use_and_settings_reach_the_provider() {
    let t = TestDb::migrated().await;
    let settings = studio_tests::settings(&t.db).await;
    let team = t.team().await;
    let id = Uuid::new_v4();
    let admin = t
        .member(&format!("admin-{id}"), "administrator", team)
        .await;
    let student = t.member(&format!("student-{id}"), "student", team).await;
    let last = model(
        &t,
        &admin,
        json!({"provider": "gemini", "modelId": format!("last-{id}")}),
    )
    .await;
    let staff_only = model(&t, &admin, json!({"modelId": format!("mid-{id}"), "allowedRoles": ["staff"], "fallbackModelId": last.id})).await;
    let first = model(
        &t,
        &admin,
        json!({"modelId": format!("first-{id}"), "fallbackModelId": staff_only.id,
        "config": {"base_url": "http://model.example/v1"}}),
    )
    .await;
    // A cycle back to the first model ends the chain.
    models::update(
        &t.db,
        &admin,
        last.id,
        &serde_json::from_value(json!({"fallbackModelId": first.id})).unwrap(),
    )
    .await
    .unwrap();

    for (key, value) in [
        ("openai.base_url", "http://settings.example/v1"),
        ("openai.timeout_secs", "12.5"),
        ("gemini.base_url", "http://gemini.example"),
        ("gemini.api_key", "g-secret"),
        ("chat.system_prompt", "Be kind."),
    ] {
        settings
            .set(
                &admin,
                key,
                &serde_json::from_value(json!({"value": value})).unwrap(),
            )
            .await
            .unwrap();
    }

    let student_run = resolve(&t, &settings, &student, &first.model_id)
        .await
        .unwrap();
    let chain: Vec<Uuid> = student_run.fallbacks.iter().map(|m| m.model.id).collect();
    assert_eq!(chain, vec![last.id]);
    let admin_run = resolve(&t, &settings, &admin, &first.model_id)
        .await
        .unwrap();
    let chain: Vec<Uuid> = admin_run.fallbacks.iter().map(|m| m.model.id).collect();
    assert_eq!(chain, vec![staff_only.id, last.id]);

    // The model's own base URL wins over the provider's setting.
    let provider = &student_run.primary.provider;
    assert_eq!(
        provider.base_url.as_deref(),
        Some("http://model.example/v1")
    );
    assert_eq!(
        provider.timeout,
        Some(std::time::Duration::from_millis(12_500))
    );
    let gemini = &student_run.fallbacks[0].provider;
    assert_eq!(gemini.base_url.as_deref(), Some("http://gemini.example"));
    assert_eq!(gemini.api_key.as_deref(), Some("g-secret"));
    assert_eq!(student_run.system_prompt.as_deref(), Some("Be kind."));

    // A persona's prompt replaces the global one; another team's persona does not exist.
    let persona: Uuid = Uuid::new_v4();
    t.db.execute(
        "INSERT INTO personas (id, team_id, name, system_prompt) VALUES (:id, :team, 'Tutor', 'You are a tutor.')",
        shared::data_api::Params::new().bind("id", persona).bind("team", team),
    )
    .await
    .unwrap();
    let with_persona = StudioModels::new(t.db.clone(), settings.clone())
        .resolve(
            &student,
            Request {
                model: &first.model_id,
                persona: Some(persona),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        with_persona.system_prompt.as_deref(),
        Some("You are a tutor.")
    );
    let stranger = t
        .member(&format!("stranger-{id}"), "student", t.team().await)
        .await;
    let error = StudioModels::new(t.db.clone(), settings.clone())
        .resolve(
            &stranger,
            Request {
                model: &first.model_id,
                persona: Some(persona),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn administrators_manage_models_and_roles_through_the_api_and_others_cannot() {
    use crate::api::{call, deps, event};
    let t = TestDb::migrated().await;
    let deps = deps(&t).await;
    let team = t.team().await;
    let id = Uuid::new_v4();
    let (admin, student, outsider) = (
        format!("admin-{id}"),
        format!("student-{id}"),
        format!("outsider-{id}"),
    );
    let admin_user = t.member(&admin, "administrator", team).await;
    let student_user = t.member(&student, "student", team).await;
    let outsider_user = t.member(&outsider, "student", t.team().await).await;
    let get = |path: String, sub: &str| call(&deps, event("GET", &path, None, None, Some(sub)));

    let (status, created) = call(
        &deps,
        event(
            "POST",
            "/models",
            Some(json!({
        "provider": "openai", "modelId": format!("gpt-staff-{id}"), "name": "Staff model",
        "allowedRoles": ["staff"], "inputPricePer1k": "0.0025", "outputPricePer1k": "0.01"})),
            None,
            Some(&admin),
        ),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["data"]["inputPricePer1k"], "0.002500");
    let model = created["data"]["id"].as_str().unwrap().to_owned();
    let listed = |body: &serde_json::Value| {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == model.as_str())
    };
    let (_, models) = get("/models".into(), &student).await;
    assert!(
        !listed(&models),
        "a staff-only model is hidden from students"
    );

    let (status, _) = call(
        &deps,
        event(
            "POST",
            "/models",
            Some(json!({"provider": "openai", "modelId": "x", "name": "x"})),
            None,
            Some(&student),
        ),
    )
    .await;
    assert_eq!(status, 403);
    let (status, bad) = call(
        &deps,
        event(
            "PATCH",
            &format!("/models/{model}"),
            Some(json!({"inputPricePer1k": "-1"})),
            None,
            Some(&admin),
        ),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    let (status, patched) = call(
        &deps,
        event(
            "PATCH",
            &format!("/models/{model}"),
            Some(json!({"allowedRoles": [], "name": "Everyone's model"})),
            None,
            Some(&admin),
        ),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["name"], "Everyone's model");
    assert_eq!(patched["data"]["outputPricePer1k"], "0.010000");
    let (_, models) = get("/models".into(), &student).await;
    assert!(listed(&models));

    // Roles: within the administrator's teams, known roles only, never removing one's own.
    let (status, roles) = call(
        &deps,
        event(
            "PUT",
            &format!("/users/{}/roles", student_user.user_id),
            Some(json!({"roles": ["staff", "student"]})),
            None,
            Some(&admin),
        ),
    )
    .await;
    assert_eq!(status, 200, "{roles}");
    assert_eq!(roles["data"]["roles"], json!(["staff", "student"]));
    let (_, read) = get(format!("/users/{}/roles", student_user.user_id), &admin).await;
    assert_eq!(read["data"]["roles"], json!(["staff", "student"]));
    let (status, _) = get(format!("/users/{}/roles", outsider_user.user_id), &admin).await;
    assert_eq!(status, 404);
    let (status, unknown) = call(
        &deps,
        event(
            "PUT",
            &format!("/users/{}/roles", student_user.user_id),
            Some(json!({"roles": ["wizard"]})),
            None,
            Some(&admin),
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wizard")
    );
    let (status, own) = call(
        &deps,
        event(
            "PUT",
            &format!("/users/{}/roles", admin_user.user_id),
            Some(json!({"roles": ["staff"]})),
            None,
            Some(&admin),
        ),
    )
    .await;
    assert_eq!(status, 400, "{own}");
    let (status, _) = get(format!("/users/{}/roles", student_user.user_id), &student).await;
    assert_eq!(status, 403);
}
