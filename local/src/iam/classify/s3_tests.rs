//! S3 requests as the SDK sends them -> what IAM checks.

use axum::http::Method;

use super::classify;
use super::tests::{LOCAL, headers, one};

#[test]
fn s3_object_calls_name_the_decoded_object_path_style_and_virtual_host() {
    let (action, resources) = one(
        "s3",
        Method::GET,
        "/docs/repositories/a/my%20file%2B1.pdf",
        "",
        &[LOCAL],
        b"",
    );
    assert_eq!(action, "s3:GetObject");
    assert_eq!(
        resources,
        ["arn:aws:s3:::docs/repositories/a/my file+1.pdf"]
    );
    let (action, resources) = one(
        "s3",
        Method::HEAD,
        "/k.txt",
        "",
        &[("host", "docs.s3.amazonaws.com")],
        b"",
    );
    assert_eq!(
        (action.as_str(), resources[0].as_str()),
        ("s3:GetObject", "arn:aws:s3:::docs/k.txt")
    );
    let (action, _) = one(
        "s3",
        Method::PUT,
        "/docs/k",
        "partNumber=1&uploadId=x",
        &[LOCAL],
        b"",
    );
    assert_eq!(action, "s3:PutObject");
    let (action, _) = one("s3", Method::POST, "/docs/k", "uploads", &[LOCAL], b"");
    assert_eq!(action, "s3:PutObject");
    let (action, _) = one("s3", Method::DELETE, "/docs/k", "", &[LOCAL], b"");
    assert_eq!(action, "s3:DeleteObject");
}

#[test]
fn s3_bucket_calls_name_the_bucket() {
    let (action, resources) = one(
        "s3",
        Method::GET,
        "/docs",
        "list-type=2&prefix=a",
        &[LOCAL],
        b"",
    );
    assert_eq!(
        (action.as_str(), resources[0].as_str()),
        ("s3:ListBucket", "arn:aws:s3:::docs")
    );
    assert_eq!(
        one("s3", Method::HEAD, "/docs", "", &[LOCAL], b"").0,
        "s3:ListBucket"
    );
    assert_eq!(
        one("s3", Method::PUT, "/docs", "notification", &[LOCAL], b"").0,
        "s3:PutBucketNotification"
    );
    assert_eq!(
        one("s3", Method::GET, "/", "", &[LOCAL], b"").0,
        "s3:ListAllMyBuckets"
    );
}

#[test]
fn s3_delete_objects_checks_every_key() {
    let body = b"<Delete><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key></Object></Delete>";
    let (action, resources) = one("s3", Method::POST, "/docs", "delete", &[LOCAL], body);
    assert_eq!(action, "s3:DeleteObject");
    assert_eq!(resources, ["arn:aws:s3:::docs/a&b", "arn:aws:s3:::docs/c"]);
}

#[test]
fn s3_copy_object_checks_the_destination_and_the_source() {
    let requests = classify(
        "s3",
        &Method::PUT,
        "/docs/new",
        "",
        &headers(&[LOCAL, ("x-amz-copy-source", "old%20b/key?versionId=1")]),
        b"",
    )
    .unwrap();
    assert_eq!(requests[0].action, "s3:PutObject");
    assert_eq!(requests[1].action, "s3:GetObject");
    assert_eq!(requests[1].resources, ["arn:aws:s3:::old b/key"]);
}
