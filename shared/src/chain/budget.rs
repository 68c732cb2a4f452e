//! The time an invocation gives its prompts.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long one invocation may run prompts: until its deadline, less a margin to store
/// the results and hand the rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub deadline: DateTime<Utc>,
    pub margin: Duration,
}

impl Budget {
    /// The time left for prompts now.
    pub fn left(&self) -> Duration {
        (self.deadline - Utc::now())
            .to_std()
            .unwrap_or_default()
            .saturating_sub(self.margin)
    }
}
