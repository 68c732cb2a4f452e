//! What a deployed template amounts to locally: functions with their limits, environment,
//! policies and triggers, queues, buckets, outputs.

use std::collections::BTreeMap;
use std::time::Duration;

/// The template as the local stack runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub stack_name: String,
    /// Every parameter's value (lists joined with commas, as `--parameter-overrides` takes them).
    pub parameters: BTreeMap<String, String>,
    pub functions: Vec<FunctionSpec>,
    pub queues: Vec<QueueSpec>,
    pub buckets: Vec<String>,
    pub outputs: BTreeMap<String, String>,
    /// Routes answered by API Gateway itself (`type: mock` integrations, e.g. GET /health).
    pub mock_routes: Vec<MockRoute>,
    /// SNS topic ARN -> the URLs of the SQS queues subscribed to it.
    pub subscriptions: BTreeMap<String, Vec<String>>,
    /// The SES identities (addresses or domains) the template verifies.
    pub email_identities: Vec<String>,
    /// For clients and tests (stack.env): DOCUMENTS_BUCKET, SETTINGS_KEY_SECRET_ARN,
    /// DATABASE_SECRET_ARN, and for every queue `XxxQueue` -> XXX_QUEUE_URL, `XxxDLQ` -> XXX_DLQ_URL.
    pub client_env: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The binary's name (`api`, `file-processor`); log files are named after it.
    pub name: String,
    pub binary: String,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Environment.Variables, with the Globals merged in.
    pub environment: Vec<(String, String)>,
    pub reserved_concurrency: Option<u32>,
    pub role_arn: String,
    /// The policy documents of its role: inline policies, then the managed ones known here.
    pub policies: Vec<serde_json::Value>,
    pub sqs: Vec<SqsSource>,
    pub schedules: Vec<ScheduleSource>,
    pub api: Vec<ApiRoute>,
}

/// An SQS event source mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct SqsSource {
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: u32,
    pub max_batching_window: Duration,
    pub report_batch_item_failures: bool,
    pub maximum_concurrency: Option<u32>,
    pub enabled: bool,
}

/// An EventBridge rule that invokes the function on a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSource {
    pub rule_name: String,
    /// As written, e.g. `rate(1 minute)`; see [`parse_schedule`].
    pub expression: String,
    pub enabled: bool,
}

/// A REST API route integrated with a function.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRoute {
    /// `ANY`, `GET`, `POST`...
    pub method: String,
    /// `/{proxy+}`, `/chat`, `/executions/{id}/events`.
    pub path: String,
    /// Lambda response streaming (`responseTransferMode: STREAM`).
    pub streaming: bool,
}

/// A route API Gateway answers itself.
#[derive(Debug, Clone, PartialEq)]
pub struct MockRoute {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The `application/json` response template.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub name: String,
    pub url: String,
    pub arn: String,
    pub visibility_timeout: Duration,
    pub message_retention: Option<Duration>,
    pub redrive: Option<Redrive>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Redrive {
    pub dead_letter_arn: String,
    pub max_receive_count: u32,
}

impl Deployment {
    pub fn function(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.name == name)
    }

    pub fn queue(&self, logical_id: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }

    /// A `client_env` value.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.client_env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The period of a `rate(N minute|minutes|hour|hours|day|days)` expression; `None` (logged)
/// for `cron(...)` and anything else, which the local stack does not run.
pub fn parse_schedule(expression: &str) -> Option<Duration> {
    let rate = expression
        .trim()
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'));
    let parsed = rate.and_then(|rate| {
        let (count, unit) = rate.trim().split_once(char::is_whitespace)?;
        let count: u64 = count.parse().ok().filter(|n| *n > 0)?;
        let seconds = match unit.trim() {
            "minute" | "minutes" => 60,
            "hour" | "hours" => 3600,
            "day" | "days" => 86_400,
            _ => return None,
        };
        Some(Duration::from_secs(count * seconds))
    });
    if parsed.is_none() {
        tracing::warn!(
            expression,
            "Only rate(N minutes|hours|days) schedules run locally; this one never fires"
        );
    }
    parsed
}

/// `FileProcessing` -> `file-processing`.
pub fn kebab(logical_id: &str) -> String {
    screaming_snake(logical_id).to_lowercase().replace('_', "-")
}

/// `FileProcessingDLQ` -> `FILE_PROCESSING_DLQ`.
pub(crate) fn screaming_snake(logical_id: &str) -> String {
    let chars: Vec<char> = logical_id.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && c.is_uppercase() {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_in_minutes_hours_and_days_are_periods() {
        assert_eq!(
            parse_schedule("rate(1 minute)"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_schedule("rate(5 minutes)"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_schedule("rate(2 hours)"),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(
            parse_schedule("rate(1 day)"),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn cron_and_malformed_rates_are_not_run() {
        assert_eq!(parse_schedule("cron(0 12 * * ? *)"), None);
        assert_eq!(parse_schedule("rate(0 minutes)"), None);
        assert_eq!(parse_schedule("rate(1 fortnight)"), None);
    }

    #[test]
    fn logical_ids_become_variable_names() {
        assert_eq!(
            screaming_snake("FileProcessingQueue"),
            "FILE_PROCESSING_QUEUE"
        );
        assert_eq!(screaming_snake("OcrCompletionDLQ"), "OCR_COMPLETION_DLQ");
        assert_eq!(screaming_snake("DLQForS3"), "DLQ_FOR_S3");
    }
}
