//! Schedules on the real schema: who may schedule what, the claim two executors share,
//! downtime, failures that turn a schedule off, and the HTTP routes.

use std::collections::HashSet;

use chrono::{Datelike, Duration, Timelike, Utc};
use serde_json::json;
use shared::ErrorCode;
use shared::assistant::{self, Status};
use shared::auth::Caller;
use shared::data_api::Params;
use shared::schedule::{self, NewSchedule, SchedulePatch};
use studio_tests::TestDb;
use uuid::Uuid;

use crate::api::{call, deps, event};
use crate::assistants::{chain, definition, model};

/// An assistant built by `owner`, approved by `admin` unless `draft`.
async fn assistant_of(t: &TestDb, owner: &Caller, admin: &Caller, draft: bool) -> Uuid {
    let created = assistant::create(&t.db, owner, &definition(chain(model(t).await)))
        .await
        .unwrap();
    if !draft {
        assistant::change_status(&t.db, owner, created.id, Status::PendingApproval, None)
            .await
            .unwrap();
        assistant::change_status(&t.db, admin, created.id, Status::Approved, None)
            .await
            .unwrap();
    }
    created.id
}

fn weekly_monday(assistant: Uuid) -> NewSchedule {
    serde_json::from_value(json!({
        "assistantId": assistant, "name": "Monday digest", "inputs": {"topic": "Solar"},
        "frequency": "weekly", "time": "09:00", "daysOfWeek": ["MON"], "timezone": "Europe/Berlin"
    }))
    .unwrap()
}

#[tokio::test]
async fn only_runnable_assistants_are_scheduled_and_only_their_owner_sees_the_schedule() {
    let t = TestDb::migrated().await;
    let (ours, theirs, admins) = (t.team().await, t.team().await, t.team().await);
    let owner = t.member("s-owner", "staff", ours).await;
    let student = t.member("s-student", "student", ours).await;
    let other = t.member("s-other", "student", ours).await;
    let outsider = t.member("s-outsider", "staff", theirs).await;
    let admin = t.member("s-admin", "administrator", admins).await;
    let approved = assistant_of(&t, &owner, &admin, false).await;
    let draft = assistant_of(&t, &owner, &admin, true).await;

    let created = schedule::create(&t.db, &student, &weekly_monday(approved))
        .await
        .unwrap();
    let next = created.next_run_at.unwrap();
    let local = next.with_timezone(&chrono_tz::Europe::Berlin);
    assert!(next > Utc::now());
    assert_eq!(
        (local.weekday(), local.hour(), local.minute()),
        (chrono::Weekday::Mon, 9, 0)
    );
    assert_eq!(created.days_of_week, vec![1]);
    assert_eq!(created.time.as_deref(), Some("09:00"));
    assert_eq!(created.team_id, ours);

    // A draft is not scheduled by others; another team's assistant not at all.
    let refused = schedule::create(&t.db, &student, &weekly_monday(draft))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    let refused = schedule::create(&t.db, &outsider, &weekly_monday(approved))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    let mut no_topic = weekly_monday(approved);
    no_topic.inputs = json!({});
    let refused = schedule::create(&t.db, &student, &no_topic)
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("\"topic\" is required"),
        "{}",
        refused.message
    );
    let mut bad_zone = weekly_monday(approved);
    bad_zone.timing.timezone = Some("Berlin".into());
    let refused = schedule::create(&t.db, &student, &bad_zone)
        .await
        .unwrap_err();
    assert!(refused.message.contains("IANA"), "{}", refused.message);

    // Only the owner (or an administrator) reads, changes, deletes it.
    for caller in [&other, &outsider, &owner] {
        let refused = schedule::get(&t.db, caller, created.id).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden);
        let refused = schedule::delete(&t.db, caller, created.id)
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden);
    }
    assert_eq!(
        schedule::get(&t.db, &admin, created.id).await.unwrap().id,
        created.id
    );
    assert_eq!(schedule::list(&t.db, &student).await.unwrap().len(), 1);
    assert!(schedule::list(&t.db, &other).await.unwrap().is_empty());

    let patch = SchedulePatch {
        frequency: Some(schedule::Frequency::Custom),
        cron: Some("cron(30 7 ? * 6L *)".into()),
        timezone: Some("America/Los_Angeles".into()),
        ..SchedulePatch::default()
    };
    let changed = schedule::update(&t.db, &student, created.id, &patch)
        .await
        .unwrap();
    let local = changed
        .next_run_at
        .unwrap()
        .with_timezone(&chrono_tz::America::Los_Angeles);
    assert_eq!(
        (local.weekday(), local.hour(), local.minute()),
        (chrono::Weekday::Fri, 7, 30)
    );
    assert!(changed.time.is_none() && changed.days_of_week.is_empty());
    let never = SchedulePatch {
        cron: Some("0 9 31 2 *".into()),
        ..SchedulePatch::default()
    };
    let refused = schedule::update(&t.db, &student, created.id, &never)
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("never fires"),
        "{}",
        refused.message
    );

    schedule::delete(&t.db, &student, created.id).await.unwrap();
    assert_eq!(
        schedule::get(&t.db, &student, created.id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
}

/// `count` daily 09:00 UTC schedules of one assistant, all due since `since`.
async fn due_schedules(
    t: &TestDb,
    count: usize,
    since: chrono::DateTime<Utc>,
    cron: Option<&str>,
) -> Vec<Uuid> {
    let team = t.team().await;
    let owner = t.member(&format!("c-{team}"), "staff", team).await;
    let admin = t
        .member(&format!("c-admin-{team}"), "administrator", team)
        .await;
    let assistant = assistant_of(t, &owner, &admin, false).await;
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::new_v4()).collect();
    let sets: Vec<Params> = ids
        .iter()
        .map(|id| {
            Params::new()
                .bind("id", *id)
                .bind("team", team)
                .bind("user", owner.user_id)
                .bind("assistant", assistant)
                .bind("next", since)
                .bind("frequency", if cron.is_some() { "custom" } else { "daily" })
                .bind("cron", cron)
        })
        .collect();
    t.db.batch_execute(
        "INSERT INTO scheduled_executions (id, team_id, user_id, assistant_id, name, inputs, frequency, time_of_day, cron, timezone, next_run_at)
         VALUES (:id, :team, :user, :assistant, 'S', '{\"topic\": \"x\"}', :frequency,
                 CASE WHEN :cron::text IS NULL THEN time '09:00' END, :cron, 'UTC', :next)",
        &sets,
    )
    .await
    .unwrap();
    ids
}

#[tokio::test]
async fn two_claimers_run_each_of_100_due_schedules_exactly_once() {
    let t = TestDb::migrated().await;
    let now = Utc::now();
    let ids = due_schedules(&t, 100, now - Duration::minutes(1), None).await;
    let claimer = |name: &'static str| {
        let db = t.db.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = schedule::claim_due(&db, now, 7, name).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed);
            }
        })
    };
    let (a, b) = (claimer("a"), claimer("b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let all: Vec<Uuid> = a.iter().chain(&b).map(|c| c.id).collect();
    let unique: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        100,
        "claimed in all: a {} + b {}",
        a.len(),
        b.len()
    );
    assert_eq!(
        unique,
        ids.iter().copied().collect::<HashSet<_>>(),
        "each exactly once"
    );
    assert!(
        a.iter()
            .chain(&b)
            .all(|c| c.next_run_at.is_some_and(|n| n > now))
    );
    assert!(
        schedule::claim_due(&t.db, now, 100, "late")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn after_downtime_a_schedule_is_claimed_once_and_its_next_run_is_in_the_future() {
    let t = TestDb::migrated().await;
    let now = Utc::now();
    let missed = now - Duration::hours(5);
    let hourly = due_schedules(&t, 1, missed, Some("0 * * * *")).await;
    let daily = due_schedules(&t, 1, missed, None).await;
    let claimed = schedule::claim_due(&t.db, now, 10, "tick").await.unwrap();
    assert_eq!(claimed.len(), 2, "once each, not once per missed hour");
    for run in &claimed {
        assert_eq!(run.scheduled_for.timestamp(), missed.timestamp());
        let next = run.next_run_at.unwrap();
        assert!(next > now, "{next} is after {now}");
        if run.id == hourly[0] {
            assert!(next <= now + Duration::hours(1), "{next}");
        } else {
            assert_eq!(run.id, daily[0]);
            assert_eq!((next.hour(), next.minute()), (9, 0));
        }
    }
    assert!(
        schedule::claim_due(&t.db, now, 10, "tick")
            .await
            .unwrap()
            .is_empty()
    );
    // A minute later nothing is due, unless the hour turned in that minute (the hourly one
    // is due again then, rightly): look just before its next run at the latest.
    let next_hourly = claimed
        .iter()
        .find(|run| run.id == hourly[0])
        .and_then(|run| run.next_run_at)
        .unwrap();
    let later = (now + Duration::minutes(1)).min(next_hourly - Duration::seconds(1));
    assert!(
        schedule::claim_due(&t.db, later, 10, "tick")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn consecutive_failures_turn_a_schedule_off_with_the_reason_until_turned_on_again() {
    let t = TestDb::migrated().await;
    let id = due_schedules(&t, 1, Utc::now(), None).await[0];
    let fail = |error: &'static str| schedule::record_outcome(&t.db, id, false, Some(error));
    assert_eq!(fail("timeout").await.unwrap().consecutive_failures, 1);
    let second = fail("timeout").await.unwrap();
    assert!(second.active && second.consecutive_failures == 2);
    let ok = schedule::record_outcome(&t.db, id, true, None)
        .await
        .unwrap();
    assert_eq!((ok.active, ok.consecutive_failures), (true, 0));
    fail("a").await.unwrap();
    fail("b").await.unwrap();
    let third = fail("the model is gone").await.unwrap();
    assert!(!third.active);
    assert_eq!(
        third.disabled_reason.as_deref(),
        Some("Turned off after 3 consecutive failures; the last: the model is gone")
    );

    // The setting changes the limit; turning it on again forgets the failures.
    t.db.execute(
        "INSERT INTO settings (key, value) VALUES ('schedule.max_consecutive_failures', '1')",
        Params::new(),
    )
    .await
    .unwrap();
    #[derive(serde::Deserialize)]
    struct Owner {
        sub: String,
    }
    let owner: Owner = t
        .db
        .query_one(
            "SELECT u.cognito_sub AS sub FROM users u JOIN scheduled_executions s ON s.user_id = u.id WHERE s.id = :id",
            Params::new().bind("id", id),
        )
        .await
        .unwrap();
    let caller = shared::auth::resolve(
        &t.db,
        &shared::auth::Claims {
            sub: owner.sub,
            email: None,
            name: None,
        },
    )
    .await
    .unwrap();
    let on = SchedulePatch {
        active: Some(true),
        ..SchedulePatch::default()
    };
    let back = schedule::update(&t.db, &caller, id, &on).await.unwrap();
    assert!(back.active && back.consecutive_failures == 0 && back.disabled_reason.is_none());
    assert!(back.next_run_at.unwrap() > Utc::now());
    let once = fail("again").await.unwrap();
    assert!(
        !once.active,
        "a limit of 1 turns it off at the first failure"
    );
}

#[tokio::test]
async fn schedules_and_assistants_over_http_with_access_enforced() {
    let t = TestDb::migrated().await;
    let deps = deps(&t).await;
    let (ours, theirs) = (t.team().await, t.team().await);
    let (owner, student, outsider) = (
        format!("h-owner-{ours}"),
        format!("h-student-{ours}"),
        format!("h-out-{theirs}"),
    );
    t.member(&owner, "staff", ours).await;
    t.member(&student, "student", ours).await;
    t.member(&outsider, "staff", theirs).await;
    let admin = format!("h-admin-{ours}");
    t.member(&admin, "administrator", ours).await;
    let model = model(&t).await;

    let (status, created) = call(
        &deps,
        event(
            "POST",
            "/assistants",
            Some(chain(model)),
            None,
            Some(&owner),
        ),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["prompts"][0]["modelId"], json!(model));
    let submit = json!({"status": "pending_approval"});
    let (status, _) = call(
        &deps,
        event(
            "POST",
            &format!("/assistants/{id}/status"),
            Some(submit),
            None,
            Some(&owner),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let approve = json!({"status": "approved"});
    let (status, refused) = call(
        &deps,
        event(
            "POST",
            &format!("/assistants/{id}/status"),
            Some(approve.clone()),
            None,
            Some(&student),
        ),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "a student cannot approve"
    );
    let (status, _) = call(
        &deps,
        event(
            "POST",
            &format!("/assistants/{id}/status"),
            Some(approve),
            None,
            Some(&admin),
        ),
    )
    .await;
    assert_eq!(status, 200);

    let body = json!({"assistantId": id, "name": "Nightly", "inputs": {"topic": "Solar"},
                      "frequency": "daily", "time": "02:30", "timezone": "America/Los_Angeles"});
    let (status, refused) = call(
        &deps,
        event(
            "POST",
            "/schedules",
            Some(body.clone()),
            None,
            Some(&outsider),
        ),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, refused) = call(
        &deps,
        event(
            "GET",
            &format!("/assistants/{id}"),
            None,
            None,
            Some(&outsider),
        ),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    let (status, made) = call(
        &deps,
        event("POST", "/schedules", Some(body), None, Some(&student)),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["data"]["time"], "02:30");
    assert_eq!(made["data"]["active"], true);
    let schedule = made["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/schedules/{schedule}");

    let (status, _) = call(&deps, event("GET", &path, None, None, Some(&outsider))).await;
    assert_eq!(status, 403);
    let (status, got) = call(&deps, event("GET", &path, None, None, Some(&student))).await;
    assert_eq!(
        (status, got["data"]["name"].as_str()),
        (200, Some("Nightly"))
    );
    let (status, bad) = call(
        &deps,
        event(
            "PATCH",
            &path,
            Some(json!({"time": "24:61"})),
            None,
            Some(&student),
        ),
    )
    .await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("validation"))
    );
    let (status, paused) = call(
        &deps,
        event(
            "PATCH",
            &path,
            Some(json!({"active": false})),
            None,
            Some(&student),
        ),
    )
    .await;
    assert_eq!((status, &paused["data"]["active"]), (200, &json!(false)));
    let (status, listed) = call(
        &deps,
        event("GET", "/schedules", None, None, Some(&student)),
    )
    .await;
    assert_eq!(
        (status, listed["data"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (status, _) = call(&deps, event("DELETE", &path, None, None, Some(&student))).await;
    assert_eq!(status, 200);
    let (status, _) = call(&deps, event("GET", &path, None, None, Some(&student))).await;
    assert_eq!(status, 404);
}
