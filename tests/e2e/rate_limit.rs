//! The hourly prompt limit: the 61st prompt is refused with a Retry-After, and concurrent
//! requests never pass the limit.

use serde_json::json;
use shared::rate_limit::{self, check_prompt};
use shared::{ActionState, ErrorCode};
use studio_tests::TestDb;
use uuid::Uuid;

#[tokio::test]
async fn the_sixty_first_prompt_in_an_hour_is_refused_with_a_retry_after() {
    let t = TestDb::migrated().await;
    let settings = studio_tests::settings(&t.db).await;
    let team = t.team().await;
    let user = t
        .member(&format!("student-{}", Uuid::new_v4()), "student", team)
        .await;
    for n in 1..=60 {
        let allowed = check_prompt(&t.db, &settings, user.user_id).await.unwrap();
        assert_eq!(allowed.remaining, 60 - n);
    }
    let refused = check_prompt(&t.db, &settings, user.user_id)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::RateLimited);
    let wait = refused.retry_after_secs().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert!(
        refused.message.contains("60 prompts"),
        "{}",
        refused.message
    );

    // The api's HTTP mapping: 429, Retry-After, and the ActionState error.
    let response = shared::http::respond::<()>(Err(refused), "req-7").unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], wait.to_string().as_str());
    let lambda_http::Body::Text(text) = response.body() else {
        panic!("a text body")
    };
    let state: ActionState<()> = serde_json::from_str(text).unwrap();
    assert_eq!(state.error.unwrap().code, ErrorCode::RateLimited);

    // Another user is not affected.
    let other = t
        .member(&format!("student-{}", Uuid::new_v4()), "student", team)
        .await;
    assert!(check_prompt(&t.db, &settings, other.user_id).await.is_ok());
}

#[tokio::test]
async fn concurrent_callers_never_pass_the_limit_from_settings() {
    let t = TestDb::migrated().await;
    let settings = studio_tests::settings(&t.db).await;
    let team = t.team().await;
    let admin = t
        .member(&format!("admin-{}", Uuid::new_v4()), "administrator", team)
        .await;
    settings
        .set(
            &admin,
            rate_limit::PROMPTS_PER_HOUR,
            &serde_json::from_value(json!({"value": "10"})).unwrap(),
        )
        .await
        .unwrap();
    let user = admin.user_id;
    let caller = |n: usize| {
        let (db, settings) = (t.db.clone(), settings.clone());
        tokio::spawn(async move {
            let mut granted = 0;
            for _ in 0..n {
                if check_prompt(&db, &settings, user).await.is_ok() {
                    granted += 1;
                }
            }
            granted
        })
    };
    let (a, b) = (caller(8), caller(8));
    let granted = a.await.unwrap() + b.await.unwrap();
    assert_eq!(granted, 10);
}
