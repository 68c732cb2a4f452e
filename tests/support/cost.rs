//! What a benchmark's work would cost on AWS at list prices: Lambda GB-seconds from the
//! `REPORT` lines the local Lambda writes (billed duration x the template's `MemorySize`),
//! plus the requests made to the Data API, SQS, S3 and Bedrock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// us-east-1 list prices in US dollars (Lambda on arm64, SQS standard queues, S3 Standard,
/// the Data API's first billion requests, Titan Text Embeddings v2 on demand), as AWS
/// published them in 2025; free tiers left out. Not re-checked on the day of a run: this
/// machine reaches no pricing page.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prices {
    pub as_of: &'static str,
    pub lambda_gb_second: f64,
    pub lambda_per_million_requests: f64,
    pub sqs_per_million_requests: f64,
    pub s3_put_per_thousand: f64,
    pub s3_get_per_thousand: f64,
    /// Per million requests, each 32 KB of request plus response counting as one.
    pub data_api_per_million_requests: f64,
    pub titan_v2_per_thousand_tokens: f64,
}

pub const PRICES: Prices = Prices {
    as_of: "2025 (us-east-1 list prices; Lambda arm64)",
    lambda_gb_second: 0.000_013_333_4,
    lambda_per_million_requests: 0.20,
    sqs_per_million_requests: 0.40,
    s3_put_per_thousand: 0.005,
    s3_get_per_thousand: 0.000_4,
    data_api_per_million_requests: 0.35,
    titan_v2_per_thousand_tokens: 0.000_02,
};

/// One function's invocations between two reads of its log.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaUsage {
    pub invocations: u64,
    pub billed_ms: u64,
    pub memory_mb: u64,
    pub gb_seconds: f64,
}

/// The requests a piece of work made, besides Lambda's.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requests {
    pub data_api: u64,
    pub sqs: u64,
    pub s3_put: u64,
    pub s3_get: u64,
    pub embedding_tokens: u64,
}

/// Everything counted, and what it costs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub lambda: BTreeMap<String, LambdaUsage>,
    pub requests: Requests,
    pub lambda_usd: f64,
    pub data_api_usd: f64,
    pub sqs_usd: f64,
    pub s3_usd: f64,
    pub bedrock_usd: f64,
    pub total_usd: f64,
    pub prices: Prices,
}

impl Cost {
    pub fn new(lambda: BTreeMap<String, LambdaUsage>, requests: Requests) -> Self {
        let p = PRICES;
        let invocations: u64 = lambda.values().map(|u| u.invocations).sum();
        let gb_seconds: f64 = lambda.values().map(|u| u.gb_seconds).sum();
        let lambda_usd = gb_seconds * p.lambda_gb_second
            + invocations as f64 / 1e6 * p.lambda_per_million_requests;
        let data_api_usd = requests.data_api as f64 / 1e6 * p.data_api_per_million_requests;
        let sqs_usd = requests.sqs as f64 / 1e6 * p.sqs_per_million_requests;
        let s3_usd = requests.s3_put as f64 / 1e3 * p.s3_put_per_thousand
            + requests.s3_get as f64 / 1e3 * p.s3_get_per_thousand;
        let bedrock_usd = requests.embedding_tokens as f64 / 1e3 * p.titan_v2_per_thousand_tokens;
        Self {
            total_usd: lambda_usd + data_api_usd + sqs_usd + s3_usd + bedrock_usd,
            lambda,
            requests,
            lambda_usd,
            data_api_usd,
            sqs_usd,
            s3_usd,
            bedrock_usd,
            prices: p,
        }
    }

    /// The same work scaled to `units` of it (1,000 pages, 1,000 turns) from `measured`.
    pub fn per(&self, measured: f64, units: f64) -> f64 {
        if measured <= 0.0 {
            return 0.0;
        }
        self.total_usd / measured * units
    }
}

/// Where each function's log ended when the work began, so only its REPORT lines count.
#[derive(Debug, Clone)]
pub struct LogMarks {
    dir: PathBuf,
    offsets: BTreeMap<String, u64>,
}

impl LogMarks {
    /// Marks the end of every function log in `dir` (`<function>.log`).
    pub fn now(dir: &Path, functions: &[&str]) -> Self {
        let offsets = functions
            .iter()
            .map(|name| {
                let len = std::fs::metadata(dir.join(format!("{name}.log"))).map_or(0, |m| m.len());
                ((*name).to_owned(), len)
            })
            .collect();
        Self {
            dir: dir.to_owned(),
            offsets,
        }
    }

    /// Each function's invocations since the mark, from its REPORT lines.
    pub fn usage(&self) -> BTreeMap<String, LambdaUsage> {
        self.offsets
            .iter()
            .map(|(name, offset)| {
                let text = std::fs::read(self.dir.join(format!("{name}.log"))).unwrap_or_default();
                let start = usize::try_from(*offset).unwrap_or(0).min(text.len());
                let usage = String::from_utf8_lossy(&text[start..])
                    .lines()
                    .filter_map(parse_report)
                    .fold(
                        LambdaUsage::default(),
                        |mut total, (billed_ms, memory_mb)| {
                            total.invocations += 1;
                            total.billed_ms += billed_ms;
                            total.memory_mb = memory_mb;
                            total.gb_seconds +=
                                billed_ms as f64 / 1000.0 * memory_mb as f64 / 1024.0;
                            total
                        },
                    );
                (name.clone(), usage)
            })
            .collect()
    }
}

/// `(billed ms, memory MB)` of a `REPORT RequestId: …` line.
fn parse_report(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("REPORT RequestId: ")?;
    let field = |name: &str| -> Option<u64> {
        rest.split('\t')
            .find_map(|f| f.trim().strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((field("Billed Duration: ")?, field("Memory Size: ")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_give_billed_milliseconds_and_memory() {
        let line = "REPORT RequestId: r\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 33 MB";
        assert_eq!(parse_report(line), Some((13, 512)));
        assert_eq!(parse_report("START RequestId: r"), None);
    }

    #[test]
    fn a_thousand_512_mb_seconds_cost_what_lambda_charges() {
        let mut lambda = BTreeMap::new();
        lambda.insert(
            "f".to_owned(),
            LambdaUsage {
                invocations: 1_000,
                billed_ms: 1_000_000,
                memory_mb: 512,
                gb_seconds: 500.0,
            },
        );
        let cost = Cost::new(lambda, Requests::default());
        let expected = 500.0 * 0.000_013_333_4 + 0.001 * 0.20;
        assert!(
            (cost.total_usd - expected).abs() < 1e-12,
            "{}",
            cost.total_usd
        );
    }
}
