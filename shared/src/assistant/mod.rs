//! Assistant architects: prompt chains with input fields, owned by a team, reviewed by
//! administrators (draft -> pending_approval -> approved | rejected, approved -> disabled).
//!
//! Who sees what: the owner sees and runs their assistant in any status but disabled;
//! other members of its team see and run it only when approved; administrators see every
//! assistant (they review them) and run those of their own teams; other teams never see it.
//! Prompts reference `{{input_field}}`, `{{prompt_N.output}}` (N counts prompts from 1) or
//! `{{<earlier prompt name>}}`.

mod parts;
pub mod repository;
pub mod review;
pub mod validate;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use repository::{create, delete, get, get_runnable, list, update};
pub use review::change_status;
pub use validate::validate_inputs;

/// Most prompts one chain may have.
pub const MAX_PROMPTS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    PendingApproval,
    Approved,
    Rejected,
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PendingApproval => "pending_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    ShortText,
    LongText,
    Select,
    MultiSelect,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ShortText => "short_text",
            Self::LongText => "long_text",
            Self::Select => "select",
            Self::MultiSelect => "multi_select",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOption {
    pub label: String,
    pub value: String,
}

/// One input the person running the assistant fills in; `name` is its `{{variable}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputField {
    pub name: String,
    /// Shown to people; the name when absent.
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// For select and multi_select.
    #[serde(default)]
    pub options: Option<Vec<SelectOption>>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub placeholder: Option<String>,
}

/// One step of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    /// Assigned when stored; ignored in requests.
    #[serde(default, skip_deserializing)]
    pub id: Option<Uuid>,
    pub name: String,
    pub content: String,
    /// An `ai_models` id.
    pub model_id: Option<Uuid>,
    #[serde(default)]
    pub system_context: Option<String>,
    #[serde(default)]
    pub repository_ids: Vec<Uuid>,
    #[serde(default)]
    pub enabled_tools: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: i32,
    /// Prompts sharing a group run together.
    #[serde(default)]
    pub parallel_group: Option<i32>,
}

fn default_timeout() -> i32 {
    120
}

/// What a caller writes: the whole definition of an assistant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The team it belongs to; the caller's only team when absent.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub input_fields: Vec<InputField>,
    #[serde(default)]
    pub prompts: Vec<Prompt>,
}

/// A partial update: absent parts stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub input_fields: Option<Vec<InputField>>,
    pub prompts: Option<Vec<Prompt>>,
}

/// An assistant as a caller sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assistant {
    pub id: Uuid,
    pub team_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub status: Status,
    pub review_note: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub input_fields: Vec<InputField>,
    #[serde(default)]
    pub prompts: Vec<Prompt>,
}
