//! S3 requests (path-style `/bucket/key` and virtual-host `bucket.host/key`) -> actions on
//! `arn:aws:s3:::bucket[/key]`.

use axum::http::{HeaderMap, Method};

use super::{Unclassified, form_pairs, percent_decode};
use crate::iam::evaluate::Request;

pub fn classify(
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<Request>, Unclassified> {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let (bucket, key) = bucket_and_key(host, path);
    let params: Vec<String> = form_pairs(query).map(|(name, _)| name).collect();
    let has = |name: &str| params.iter().any(|p| p == name);
    let unknown = || Unclassified::new("s3", format!("{method} {path}?{query}"));
    let Some(bucket) = bucket else {
        return match *method {
            Method::GET => Ok(vec![Request::new("s3:ListAllMyBuckets", vec!["*".into()])]),
            _ => Err(unknown()),
        };
    };
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let Some(key) = key else {
        if *method == Method::POST && has("delete") {
            let objects = keys_to_delete(body)
                .into_iter()
                .map(|k| format!("{bucket_arn}/{k}"))
                .collect();
            return Ok(vec![Request::new("s3:DeleteObject", objects)]);
        }
        let action = bucket_action(method, &has).ok_or_else(unknown)?;
        return Ok(vec![Request::new(action, vec![bucket_arn])]);
    };
    let object_arn = format!("{bucket_arn}/{key}");
    let action = object_action(method, &has).ok_or_else(unknown)?;
    let mut requests = vec![Request::new(action, vec![object_arn])];
    // CopyObject / UploadPartCopy also read the source.
    if let Some(source) = headers
        .get("x-amz-copy-source")
        .and_then(|v| v.to_str().ok())
        && *method == Method::PUT
    {
        let source = percent_decode(source.split('?').next().unwrap_or(source));
        requests.push(Request::new(
            "s3:GetObject",
            vec![format!("arn:aws:s3:::{}", source.trim_start_matches('/'))],
        ));
    }
    Ok(requests)
}

/// The bucket from the host (`bucket.s3.amazonaws.com`, `bucket.localhost:4566`) or the
/// first path segment; the URL-decoded key after it.
fn bucket_and_key(host: &str, path: &str) -> (Option<String>, Option<String>) {
    let path = path.trim_start_matches('/');
    let hostname = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    let virtual_bucket = [".s3.", ".s3-", ".localhost"]
        .iter()
        .find_map(|marker| hostname.find(marker).map(|at| &hostname[..at]))
        .filter(|b| !b.is_empty() && *b != "s3");
    let (bucket, key) = match virtual_bucket {
        Some(bucket) => (Some(bucket.to_owned()), Some(path)),
        None => match path.split_once('/') {
            Some((bucket, key)) => (Some(bucket.to_owned()), Some(key)),
            None => ((!path.is_empty()).then(|| path.to_owned()), None),
        },
    };
    let key = key.filter(|k| !k.is_empty()).map(percent_decode);
    (bucket.map(|b| percent_decode(&b)), key)
}

fn bucket_action(method: &Method, has: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    const CONFIGS: [(&str, &str, &str); 12] = [
        (
            "notification",
            "s3:GetBucketNotification",
            "s3:PutBucketNotification",
        ),
        ("cors", "s3:GetBucketCORS", "s3:PutBucketCORS"),
        ("policy", "s3:GetBucketPolicy", "s3:PutBucketPolicy"),
        (
            "versioning",
            "s3:GetBucketVersioning",
            "s3:PutBucketVersioning",
        ),
        (
            "lifecycle",
            "s3:GetLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
        ),
        ("tagging", "s3:GetBucketTagging", "s3:PutBucketTagging"),
        ("acl", "s3:GetBucketAcl", "s3:PutBucketAcl"),
        (
            "encryption",
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
        ),
        (
            "publicAccessBlock",
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
        ),
        (
            "ownershipControls",
            "s3:GetBucketOwnershipControls",
            "s3:PutBucketOwnershipControls",
        ),
        ("website", "s3:GetBucketWebsite", "s3:PutBucketWebsite"),
        ("logging", "s3:GetBucketLogging", "s3:PutBucketLogging"),
    ];
    let config = CONFIGS.iter().find(|(param, _, _)| has(param));
    Some(match (method.as_str(), config) {
        ("GET", Some((_, get, _))) => get,
        ("PUT", Some((_, _, put))) => put,
        // Deleting a configuration is putting none, except the policy.
        ("DELETE", Some(("policy", _, _))) => "s3:DeleteBucketPolicy",
        ("DELETE", Some((_, _, put))) => put,
        ("GET", None) if has("location") => "s3:GetBucketLocation",
        ("GET", None) if has("uploads") => "s3:ListBucketMultipartUploads",
        ("GET", None) if has("versions") => "s3:ListBucketVersions",
        ("GET" | "HEAD", None) => "s3:ListBucket",
        ("PUT", None) => "s3:CreateBucket",
        ("DELETE", None) => "s3:DeleteBucket",
        _ => return None,
    })
}

fn object_action(method: &Method, has: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    Some(match method.as_str() {
        "GET" | "HEAD" if has("uploadId") => "s3:ListMultipartUploadParts",
        "GET" | "HEAD" if has("tagging") => "s3:GetObjectTagging",
        "GET" | "HEAD" if has("acl") => "s3:GetObjectAcl",
        "GET" | "HEAD" if has("versionId") => "s3:GetObjectVersion",
        "GET" | "HEAD" => "s3:GetObject",
        "PUT" if has("tagging") => "s3:PutObjectTagging",
        "PUT" if has("acl") => "s3:PutObjectAcl",
        // PutObject, UploadPart, CopyObject.
        "PUT" => "s3:PutObject",
        // CreateMultipartUpload, CompleteMultipartUpload.
        "POST" if has("uploads") || has("uploadId") => "s3:PutObject",
        "POST" if has("restore") => "s3:RestoreObject",
        "POST" if has("select") => "s3:GetObject",
        "DELETE" if has("uploadId") => "s3:AbortMultipartUpload",
        "DELETE" if has("tagging") => "s3:DeleteObjectTagging",
        "DELETE" if has("versionId") => "s3:DeleteObjectVersion",
        "DELETE" => "s3:DeleteObject",
        _ => return None,
    })
}

/// The `<Key>`s of a DeleteObjects body, XML entities decoded.
fn keys_to_delete(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    text.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| unescape_xml(key)))
        .collect()
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}
