//! The local stack's AWS account, in one place: its id, region and Data API cluster, and
//! SDK configuration for the stack's endpoints.

/// The account every local ARN names.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region every local ARN and client uses.
pub const REGION: &str = "us-east-1";
/// The cluster ARN functions are configured with locally; the Data API server accepts any.
pub const LOCAL_CLUSTER_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:studio-local";

/// SDK configuration for a local endpoint: fixed region and credentials, no SDK retries
/// (our layers decide what to retry).
pub fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    sdk_config_as(endpoint, "local", "local")
}

/// [`local_sdk_config`] signing with another key pair (a role's, from IAM).
pub fn sdk_config_as(endpoint: &str, access_key_id: &str, secret: &str) -> aws_config::SdkConfig {
    use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
    use aws_sdk_rdsdata::config::{Credentials, SharedCredentialsProvider};
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            access_key_id,
            secret,
            None,
            None,
            "studio-local",
        )))
        .retry_config(RetryConfig::disabled())
        .build()
}

/// The real `aws-sdk-rdsdata` client pointed at a local Data API server.
pub fn sdk_client(endpoint: &str) -> aws_sdk_rdsdata::Client {
    aws_sdk_rdsdata::Client::new(&local_sdk_config(endpoint))
}
