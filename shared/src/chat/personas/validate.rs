//! What a persona's fields must hold, with the field each refusal names.

use serde_json::json;

use crate::error::AppError;

/// The longest persona name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest system prompt, in characters.
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 20_000;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

pub(super) fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(message).with_details(json!({ "field": field }))
}

pub(super) fn check_name(name: &str) -> Result<(), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("A persona name is 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "A persona name cannot contain control characters",
        ));
    }
    Ok(())
}

pub(super) fn check_system_prompt(prompt: &str) -> Result<(), AppError> {
    if prompt.trim().is_empty() {
        return Err(invalid(
            "systemPrompt",
            "A persona needs a system prompt (systemPrompt)",
        ));
    }
    let length = prompt.trim().chars().count();
    if length > MAX_SYSTEM_PROMPT_CHARS {
        return Err(invalid(
            "systemPrompt",
            format!(
                "A system prompt is at most {MAX_SYSTEM_PROMPT_CHARS} characters; this one has {length}"
            ),
        ));
    }
    Ok(())
}

pub(super) fn check_description(description: Option<&str>) -> Result<(), AppError> {
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(invalid(
            "description",
            format!("A description is at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn a_name_is_one_to_a_hundred_characters_without_control_characters() {
        assert!(check_name("Socratic tutor").is_ok());
        assert!(check_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        let long = check_name(&"é".repeat(MAX_NAME_CHARS + 1)).unwrap_err();
        assert_eq!(long.code, ErrorCode::Validation);
        assert!(long.message.contains("1 to 100"), "{}", long.message);
        assert_eq!(long.details, Some(json!({"field": "name"})));
        assert_eq!(check_name("   ").unwrap_err().code, ErrorCode::Validation);
        assert_eq!(
            check_name("Tab\tname").unwrap_err().code,
            ErrorCode::Validation
        );
    }

    #[test]
    fn a_system_prompt_is_required_and_at_most_twenty_thousand_characters() {
        assert!(check_system_prompt("You are a patient tutor.").is_ok());
        assert!(check_system_prompt(&"a".repeat(MAX_SYSTEM_PROMPT_CHARS)).is_ok());
        let empty = check_system_prompt(" \n ").unwrap_err();
        assert!(empty.message.contains("systemPrompt"), "{}", empty.message);
        let long = check_system_prompt(&"a".repeat(MAX_SYSTEM_PROMPT_CHARS + 1)).unwrap_err();
        assert!(
            long.message.contains("at most 20000") && long.message.contains("20001"),
            "{}",
            long.message
        );
    }
}
