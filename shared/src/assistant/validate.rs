//! The rules an assistant definition and a run's inputs follow, checked before anything is
//! stored or run, with messages that name the field or prompt at fault.

use std::collections::HashSet;

use serde_json::Value;

/// The longest a prompt may take: ten minutes, which with the chain runner's margin fits
/// in one invocation of the scheduled-executor (its `Timeout` is 900 s, Lambda's most), so
/// every prompt can finish however long its chain, which carries on across invocations.
pub const MAX_PROMPT_TIMEOUT_SECS: i32 = 600;

use super::{Definition, FieldType, InputField, MAX_PROMPTS, Prompt};
use crate::error::{AppError, ErrorCode};

/// Largest inputs of one run, as JSON.
pub const MAX_INPUT_BYTES: usize = 100 * 1024;
const MAX_CONTENT_CHARS: usize = 30_000;
const MAX_FIELDS: usize = 50;

/// The `{{...}}` references in a prompt, trimmed, in order.
pub fn variables(content: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = content;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        found.push(after[..close].trim());
        rest = &after[close + 2..];
    }
    found
}

fn bad(message: String) -> AppError {
    AppError::validation(message)
}

fn check_text(what: &str, text: &str, max: usize) -> Result<(), AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(bad(format!(
            "{what} is 1 to {max} characters, without control characters"
        )));
    }
    Ok(())
}

/// Checks names, field types and options, prompt count and names, and that every
/// `{{variable}}` names an input field or an earlier prompt outside the prompt's
/// parallel group.
pub fn validate_definition(definition: &Definition) -> Result<(), AppError> {
    check_text("An assistant name", &definition.name, 200)?;
    if definition
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2000)
    {
        return Err(bad("A description is at most 2000 characters".into()));
    }
    validate_fields(&definition.input_fields)?;
    validate_prompts(&definition.input_fields, &definition.prompts)
}

fn validate_fields(fields: &[InputField]) -> Result<(), AppError> {
    if fields.len() > MAX_FIELDS {
        return Err(bad(format!(
            "An assistant has at most {MAX_FIELDS} input fields"
        )));
    }
    let mut names = HashSet::new();
    for field in fields {
        let name = field.name.as_str();
        let well_formed = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= 64;
        if !well_formed {
            return Err(bad(format!(
                "Input field name {name:?} must start with a letter or _ and hold only letters, digits and _ (at most 64)"
            )));
        }
        if !names.insert(name) {
            return Err(bad(format!("Two input fields are named {name:?}")));
        }
        let selects = matches!(field.field_type, FieldType::Select | FieldType::MultiSelect);
        let options = field.options.as_deref().unwrap_or_default();
        if selects && options.is_empty() {
            return Err(bad(format!(
                "Input field {name:?} is a select and needs options [{{\"label\", \"value\"}}]"
            )));
        }
        if options.iter().any(|o| o.value.trim().is_empty()) {
            return Err(bad(format!(
                "Input field {name:?} has an option with no value"
            )));
        }
    }
    Ok(())
}

fn validate_prompts(fields: &[InputField], prompts: &[Prompt]) -> Result<(), AppError> {
    if prompts.is_empty() {
        return Err(bad("An assistant needs at least one prompt".into()));
    }
    if prompts.len() > MAX_PROMPTS {
        return Err(bad(format!(
            "An assistant has at most {MAX_PROMPTS} prompts; this one has {}",
            prompts.len()
        )));
    }
    let mut names = HashSet::new();
    for (index, prompt) in prompts.iter().enumerate() {
        let number = index + 1;
        check_text(&format!("Prompt {number}'s name"), &prompt.name, 200)?;
        if !names.insert(prompt.name.trim().to_lowercase()) {
            return Err(bad(format!(
                "Two prompts are named {:?}",
                prompt.name.trim()
            )));
        }
        if prompt.content.trim().is_empty() || prompt.content.chars().count() > MAX_CONTENT_CHARS {
            return Err(bad(format!(
                "Prompt {number} ({:?}) needs content of at most {MAX_CONTENT_CHARS} characters",
                prompt.name
            )));
        }
        if !(1..=MAX_PROMPT_TIMEOUT_SECS).contains(&prompt.timeout_seconds) {
            return Err(bad(format!(
                "Prompt {number}'s timeout is 1 to {MAX_PROMPT_TIMEOUT_SECS} seconds, not {}",
                prompt.timeout_seconds
            )));
        }
        if prompt.parallel_group.is_some_and(|g| g < 0) {
            return Err(bad(format!("Prompt {number}'s parallel group is negative")));
        }
        if prompt.model_id.is_none() {
            return Err(bad(format!(
                "Prompt {number} ({:?}) needs a model",
                prompt.name
            )));
        }
        for variable in variables(&prompt.content) {
            check_reference(fields, prompts, index, variable)?;
        }
    }
    Ok(())
}

/// A reference resolves to an input field, `prompt_N.output` or an earlier prompt's name;
/// a prompt of the same parallel group runs at the same time, so it is not "earlier".
fn check_reference(
    fields: &[InputField],
    prompts: &[Prompt],
    index: usize,
    variable: &str,
) -> Result<(), AppError> {
    if fields.iter().any(|f| f.name == variable) {
        return Ok(());
    }
    let this = &prompts[index];
    let by_number = variable
        .strip_prefix("prompt_")
        .and_then(|rest| rest.strip_suffix(".output"))
        .and_then(|n| n.parse::<usize>().ok());
    let target = match by_number {
        Some(n) => n.checked_sub(1),
        None => prompts
            .iter()
            .position(|p| p.name.trim().eq_ignore_ascii_case(variable)),
    };
    let reason = match target {
        None => "it is neither an input field nor a prompt",
        Some(t) if t >= index => "it refers to this prompt or a later one",
        Some(t)
            if this.parallel_group.is_some()
                && prompts[t].parallel_group == this.parallel_group =>
        {
            "that prompt runs in the same parallel group"
        }
        Some(_) => return Ok(()),
    };
    Err(bad(format!(
        "Prompt {} ({:?}) uses {{{{{variable}}}}}, but {reason}",
        index + 1,
        this.name
    )))
}

/// Checks a run's inputs against the fields: required ones present, selects among their
/// options, no unknown names, at most [`MAX_INPUT_BYTES`].
pub fn validate_inputs(fields: &[InputField], inputs: &Value) -> Result<(), AppError> {
    let Some(object) = inputs.as_object() else {
        return Err(bad(
            "inputs must be a JSON object of field name to value".into()
        ));
    };
    if inputs.to_string().len() > MAX_INPUT_BYTES {
        return Err(AppError::new(
            ErrorCode::TooLarge,
            format!("Inputs are limited to {MAX_INPUT_BYTES} bytes"),
        ));
    }
    if let Some(unknown) = object
        .keys()
        .find(|k| !fields.iter().any(|f| &f.name == *k))
    {
        return Err(bad(format!(
            "{unknown:?} is not an input of this assistant"
        )));
    }
    for field in fields {
        let name = &field.name;
        let value = object.get(name).filter(|v| !v.is_null());
        let empty = match value {
            None => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if empty {
            if field.required {
                return Err(bad(format!("Input {name:?} is required")));
            }
            continue;
        }
        let allowed = |v: &str| {
            field
                .options
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|o| o.value == v)
        };
        match (field.field_type, value) {
            (FieldType::ShortText | FieldType::LongText, Some(Value::String(_))) => {}
            (FieldType::Select, Some(Value::String(s))) if allowed(s) => {}
            (FieldType::MultiSelect, Some(Value::Array(items)))
                if items.iter().all(|i| i.as_str().is_some_and(allowed)) => {}
            (FieldType::Select | FieldType::MultiSelect, _) => {
                return Err(bad(format!(
                    "Input {name:?} must be one of its options{}",
                    if field.field_type == FieldType::MultiSelect {
                        " (a list)"
                    } else {
                        ""
                    }
                )));
            }
            _ => return Err(bad(format!("Input {name:?} must be text"))),
        }
    }
    Ok(())
}
