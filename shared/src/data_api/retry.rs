//! Capped exponential backoff with jitter for transient Data API failures.

use std::future::Future;
use std::time::{Duration, Instant};

use super::DbError;

/// How long and how often transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Delay before the first retry (before jitter).
    pub initial_delay: Duration,
    /// No single wait is longer than this.
    pub max_delay: Duration,
    /// Total time after which no new attempt starts. Aurora Serverless v2 can take tens of
    /// seconds to resume from auto-pause, so the default covers a minute.
    pub budget: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            budget: Duration::from_secs(60),
            max_attempts: 40,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): half fixed, half random, so that
    /// callers woken by the same outage do not all come back at once.
    pub fn delay(&self, retry: u32) -> Duration {
        let exponential = self
            .initial_delay
            .saturating_mul(2u32.saturating_pow(retry.min(20)))
            .min(self.max_delay);
        let half = exponential / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Runs `attempt` until it succeeds, fails with a non-retryable error, or the budget runs out.
    pub async fn run<T, F, Fut>(&self, operation: &str, mut attempt: F) -> Result<T, DbError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DbError>>,
    {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            match attempt().await {
                Err(error) if error.is_retryable() && retry + 1 < self.max_attempts => {
                    let delay = self.delay(retry);
                    if started.elapsed() + delay > self.budget {
                        return Err(error);
                    }
                    tracing::warn!(operation, retry, delay_ms = delay.as_millis() as u64, error = %error, "Retrying Data API call");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                result => return result,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            budget: Duration::from_secs(5),
            max_attempts: 10,
        }
    }

    fn transient() -> DbError {
        DbError::Transient {
            kind: crate::data_api::Transient::Resuming,
            message: "resuming".into(),
        }
    }

    #[test]
    fn delays_grow_then_stay_under_the_cap() {
        let policy = RetryPolicy::default();
        for retry in 0..50 {
            let delay = policy.delay(retry);
            assert!(delay <= policy.max_delay, "retry {retry}: {delay:?}");
        }
        assert!(policy.delay(0) <= Duration::from_millis(100));
        assert!(policy.delay(10) >= policy.max_delay / 2);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let result = quick()
            .run("test", || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                    Err(transient())
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn sql_errors_are_returned_at_once() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = quick()
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(DbError::Database {
                    message: "syntax error".into(),
                    sql_state: Some("42601".into()),
                })
            })
            .await;
        assert!(matches!(result, Err(DbError::Database { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn attempts_stop_at_the_limit() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = quick()
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(transient())
            })
            .await;
        assert!(result.unwrap_err().is_retryable());
        assert_eq!(calls.load(Ordering::SeqCst), 10);
    }
}
