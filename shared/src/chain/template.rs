//! `{{variables}}` in prompt text: finding the names a prompt uses and filling them in.
//! A name is an input field (`{{topic}}`), an earlier prompt by position
//! (`{{prompt_2.output}}`, 1-based) or by name (`{{Summary}}`, `{{Summary.output}}`).

use std::collections::HashMap;

/// The names between `{{` and `}}`, trimmed, in order of appearance.
pub fn references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() {
            names.push(name.to_owned());
        }
        rest = &after[end + 2..];
    }
    names
}

/// The key a reference resolves under: `prompt_2.output` and `Summary.output` drop their
/// `.output`.
pub fn key(reference: &str) -> &str {
    reference
        .strip_suffix(".output")
        .unwrap_or(reference)
        .trim()
}

/// `text` with every `{{name}}` replaced from `values`; unknown names are listed as errors.
pub fn render(text: &str, values: &HashMap<String, String>) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let reference = after[..end].trim();
        match values.get(key(reference)) {
            Some(value) => out.push_str(value),
            None => missing.push(reference.to_owned()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_and_keyed() {
        assert_eq!(
            references("Use {{ topic }} and {{prompt_1.output}} and {{Summary}}; {{ unclosed"),
            ["topic", "prompt_1.output", "Summary"]
        );
        assert_eq!(key("prompt_1.output"), "prompt_1");
        assert_eq!(key("Summary"), "Summary");
    }

    #[test]
    fn rendering_fills_known_names_and_reports_unknown_ones() {
        let values = HashMap::from([
            ("topic".to_owned(), "tides".to_owned()),
            ("prompt_1".to_owned(), "Tides are waves.".to_owned()),
        ]);
        assert_eq!(
            render("About {{topic}}: {{prompt_1.output}}", &values).unwrap(),
            "About tides: Tides are waves."
        );
        assert_eq!(
            render("{{nope}} and {{topic}}", &values).unwrap_err(),
            ["nope"]
        );
        assert_eq!(render("no variables", &values).unwrap(), "no variables");
    }
}
