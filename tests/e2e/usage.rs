//! The usage ledger's exact costs and the administrators' `GET /usage` report.

use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;
use shared::models;
use shared::ports::chat::Usage;
use shared::usage::{self, Feature, UsageRecord};
use studio_tests::TestDb;
use uuid::Uuid;

use crate::api::{call, deps, event};

#[tokio::test]
async fn costs_are_exact_and_the_report_totals_by_user_model_and_team_for_administrators_only() {
    let t = TestDb::migrated().await;
    let deps = deps(&t).await;
    let (team_a, team_b) = (t.team().await, t.team().await);
    let id = Uuid::new_v4();
    let (admin_sub, student_sub) = (format!("admin-{id}"), format!("student-{id}"));
    let admin = t.member(&admin_sub, "administrator", team_a).await;
    let student = t.member(&student_sub, "student", team_b).await;
    let create = |body: serde_json::Value| {
        let (db, admin) = (t.db.clone(), admin.clone());
        async move {
            models::create(&db, &admin, &serde_json::from_value(body).unwrap())
                .await
                .unwrap()
        }
    };
    let mini = create(json!({"provider": "openai", "modelId": format!("mini-{id}"), "name": "Mini",
        "inputPricePer1k": "0.000150", "outputPricePer1k": "0.000600", "cachedInputPricePer1k": "0.000075"}))
    .await;
    let haiku = create(
        json!({"provider": "bedrock", "modelId": format!("haiku-{id}"), "name": "Haiku",
        "inputPricePer1k": "0.000800", "outputPricePer1k": "0.004000"}),
    )
    .await;

    let usage = |input, output, cached| Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        reasoning_tokens: 3,
    };
    let calls = [
        (&admin, team_a, &mini, usage(1_234, 567, 1_000)),
        (&admin, team_a, &haiku, usage(7, 1, 2)),
        (&student, team_b, &mini, usage(100, 10, 0)),
    ];
    let mut costs = Vec::new();
    for (caller, team, model, usage) in &calls {
        costs.push(
            usage::record(
                &t.db,
                &UsageRecord {
                    user: Some(caller.user_id),
                    team: Some(*team),
                    model,
                    feature: Feature::Chat,
                    usage: *usage,
                    latency: Some(Duration::from_millis(42)),
                    request_id: Some("req-1"),
                },
            )
            .await
            .unwrap(),
        );
    }
    let d = |text: &str| Decimal::from_str(text).unwrap();
    // 234*0.00015 + 1000*0.000075 + 567*0.0006, per 1,000 tokens.
    assert_eq!(costs[0], d("0.0004503"));
    // Without a cached price, cached input costs the input price: 7*0.0008 + 1*0.004.
    assert_eq!(costs[1], d("0.0000096"));
    assert_eq!(costs[2], d("0.000021"));
    let stored: Vec<String> = t
        .postgres()
        .await
        .query(
            "SELECT cost::text FROM usage_events ORDER BY cost DESC",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, ["0.000450300", "0.000021000", "0.000009600"]);

    let report = |group_by: &str, sub: &str| {
        call(
            &deps,
            event(
                "GET",
                "/usage",
                None,
                Some(json!({"groupBy": group_by, "from": "2000-01-01"})),
                Some(sub),
            ),
        )
    };
    let (status, by_user) = report("user", &admin_sub).await;
    assert_eq!(status, 200, "{by_user}");
    let groups = by_user["data"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["label"], format!("{admin_sub}@example.org"));
    assert_eq!(groups[0]["calls"], 2);
    assert_eq!(groups[0]["inputTokens"], 1_241);
    assert_eq!(d(groups[0]["cost"].as_str().unwrap()), d("0.0004599"));
    assert_eq!(groups[1]["key"], student.user_id.to_string());

    let (_, by_model) = report("model", &admin_sub).await;
    let groups = by_model["data"]["groups"].as_array().unwrap();
    assert_eq!(groups[0]["label"], format!("openai/mini-{id}"));
    assert_eq!(groups[0]["calls"], 2);
    assert_eq!(d(groups[0]["cost"].as_str().unwrap()), d("0.0004713"));
    assert_eq!(groups[1]["key"], haiku.id.to_string());

    let (_, by_team) = report("team", &admin_sub).await;
    let groups = by_team["data"]["groups"].as_array().unwrap();
    let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, [team_a.to_string(), team_b.to_string()]);

    let (status, refused) = report("user", &student_sub).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, bad) = report("day", &admin_sub).await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("validation"))
    );
    let (status, bad) = call(
        &deps,
        event(
            "GET",
            "/usage",
            None,
            Some(json!({"from": "last week"})),
            Some(&admin_sub),
        ),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last week")
    );
    // A period with no calls reports no groups.
    let (status, empty) = call(
        &deps,
        event(
            "GET",
            "/usage",
            None,
            Some(json!({"from": "2001-01-01", "to": "2001-01-31"})),
            Some(&admin_sub),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(empty["data"]["groups"], json!([]));
}
