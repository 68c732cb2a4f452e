//! Textract's model constraints on request members (lengths, character sets, ARN shapes),
//! failing with the `ValidationException` wording the service uses.

use super::errors::TextractError;

/// Job ids and client request tokens: `^[a-zA-Z0-9-_]+$`.
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Checks a member's length and characters, naming it as Textract does.
pub fn check(
    field: &str,
    value: &str,
    (min, max): (usize, usize),
    allowed: impl Fn(char) -> bool,
    pattern: &str,
) -> Result<(), TextractError> {
    let length = value.chars().count();
    if length < min || length > max {
        return Err(TextractError::validation(
            field,
            &format!("Member must have length between {min} and {max}"),
        ));
    }
    if !value.chars().all(allowed) {
        return Err(TextractError::validation(
            field,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

/// `arn:<partition>:<service>:<region>:<12 digits>:<rest>`, the shape both ARNs must have.
pub fn arn_of(value: &str, service: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, s, _, account, rest]
        if !partition.is_empty() && *s == service && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit()) && !rest.is_empty())
}
