//! The whole ingestion path on the running local stack, as a user meets it: HTTP with a
//! bearer token through the front door to the api binary, a presigned upload to S3, the
//! bucket's notification to SQS, the file-processor and embedding-generator binaries fed
//! by their event source mappings, then search.

use serde_json::json;
use studio_tests::http::{ApiClient, env};
use uuid::Uuid;

fn client(sub: &str, email: &str) -> ApiClient {
    ApiClient::for_user(sub, email)
}

#[tokio::test]
async fn uploads_become_searchable_through_the_running_functions() {
    let staff = client("local-staff", "staff@example.com");
    let name = format!("Field notes {}", Uuid::new_v4());
    let (status, repository) = staff
        .call(
            reqwest::Method::POST,
            "/repositories",
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(status, 200, "{repository}");
    let repository = repository["data"]["id"].as_str().unwrap().to_owned();

    let files: [(&str, &[u8], &str); 3] = [
        ("birds.md", b"# Birds\n\n## Owls\n\nThe barn owl hunts voles at dusk over wet meadows.\n", "barn owl hunts voles"),
        ("budget.csv", b"item,amount\nkayak repairs,1200\nlantern batteries,85\n", "kayak repairs"),
        ("trail.html", b"<html><body><nav>Home | About</nav><main><h1>Trail</h1><p>The ridge trail closes when lightning is forecast.</p></main></body></html>", "ridge trail lightning"),
    ];
    let mut items = Vec::new();
    for (file, bytes, _) in &files {
        items.push(staff.upload(&repository, file, bytes).await);
    }
    let broken = staff
        .upload(
            &repository,
            "scan.pdf",
            &[0x00, 0x13, 0x37, 0x42, 0x99, 0xfe],
        )
        .await;

    for (item, (file, _, _)) in items.iter().zip(&files) {
        let done = staff.settle(item).await;
        assert_eq!(done["status"], "completed", "{file}: {done}");
        assert!(done["chunkCount"].as_i64().unwrap() > 0);
        assert_eq!(done["chunkCount"], done["embeddedCount"]);
    }
    let failed = staff.settle(&broken).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("not a PDF"),
        "{failed}"
    );

    for (item, (file, _, query)) in items.iter().zip(&files) {
        let (status, hits) = staff
            .call(
                reqwest::Method::GET,
                &format!(
                    "/repositories/{repository}/search?q={}",
                    query.replace(' ', "+")
                ),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            hits["data"][0]["itemId"].as_str(),
            Some(item.as_str()),
            "{file}: {hits}"
        );
        assert_eq!(hits["data"][0]["pageStart"], 1);
    }

    // Someone outside the demo team sees nothing; no token, no entry.
    let outsider = client(
        &format!("outsider-{}", Uuid::new_v4()),
        &format!("{}@elsewhere.org", Uuid::new_v4()),
    );
    for path in [
        format!("/repositories/{repository}/items"),
        format!("/repositories/{repository}/search?q=owl"),
        format!("/items/{}", items[0]),
    ] {
        let (status, body) = outsider.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{path}"
        );
    }
    let anonymous = reqwest::get(format!("{}/repositories", env("STUDIO_API_URL")))
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}
