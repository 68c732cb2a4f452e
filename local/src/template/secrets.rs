//! `GenerateSecretString` as Secrets Manager does it: a random password from the character
//! classes the spec leaves in, each present, optionally inside a JSON template.

use std::io::Read;

use anyhow::{Context, bail};
use serde_json::Value;

use super::intrinsics::scalar;

const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

fn flag(spec: &Value, name: &str, default: bool) -> bool {
    spec.get(name)
        .and_then(scalar)
        .map_or(default, |v| v == "true")
}

/// The secret string `spec` (a resolved `GenerateSecretString`) asks for.
pub fn generate(spec: &Value) -> anyhow::Result<String> {
    let length: usize = spec
        .get("PasswordLength")
        .and_then(scalar)
        .map_or(Ok(32), |n| n.parse())
        .context("PasswordLength is not a number")?;
    let excluded: Vec<char> = spec
        .get("ExcludeCharacters")
        .and_then(scalar)
        .unwrap_or_default()
        .chars()
        .collect();
    let mut classes: Vec<Vec<char>> = Vec::new();
    let mut add = |include: bool, chars: &str| {
        let class: Vec<char> = chars.chars().filter(|c| !excluded.contains(c)).collect();
        if include && !class.is_empty() {
            classes.push(class);
        }
    };
    add(
        !flag(spec, "ExcludeLowercase", false),
        "abcdefghijklmnopqrstuvwxyz",
    );
    add(
        !flag(spec, "ExcludeUppercase", false),
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    );
    add(!flag(spec, "ExcludeNumbers", false), "0123456789");
    add(!flag(spec, "ExcludePunctuation", false), PUNCTUATION);
    add(flag(spec, "IncludeSpace", false), " ");
    let alphabet: Vec<char> = classes.iter().flatten().copied().collect();
    if alphabet.is_empty() || length == 0 {
        bail!("GenerateSecretString leaves no characters to choose from");
    }
    let require_each = flag(spec, "RequireEachIncludedType", true) && length >= classes.len();
    let password = loop {
        let candidate: String = random_indexes(alphabet.len(), length)?
            .into_iter()
            .map(|i| alphabet[i])
            .collect();
        if !require_each
            || classes
                .iter()
                .all(|class| candidate.chars().any(|c| class.contains(&c)))
        {
            break candidate;
        }
    };
    let Some(template) = spec.get("SecretStringTemplate").and_then(Value::as_str) else {
        return Ok(password);
    };
    let key = spec
        .get("GenerateStringKey")
        .and_then(Value::as_str)
        .context("SecretStringTemplate needs GenerateStringKey")?;
    let mut document: serde_json::Map<String, Value> =
        serde_json::from_str(template).context("SecretStringTemplate is not a JSON object")?;
    document.insert(key.to_owned(), Value::String(password));
    Ok(Value::Object(document).to_string())
}

/// `count` uniform indexes below `bound` (<= 256) from the OS's random source.
fn random_indexes(bound: usize, count: usize) -> anyhow::Result<Vec<usize>> {
    let mut source = std::fs::File::open("/dev/urandom").context("cannot open /dev/urandom")?;
    // Rejection sampling: bytes at or above the largest multiple of `bound` are redrawn.
    let limit = 256 - 256 % bound;
    let mut out = Vec::with_capacity(count);
    let mut buffer = [0_u8; 64];
    while out.len() < count {
        source.read_exact(&mut buffer)?;
        out.extend(
            buffer
                .iter()
                .map(|b| usize::from(*b))
                .filter(|b| *b < limit)
                .map(|b| b % bound)
                .take(count - out.len()),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_settings_key_spec_yields_64_hex_characters() {
        let key = generate(&json!({
            "PasswordLength": 64, "ExcludeUppercase": true, "ExcludePunctuation": true,
            "IncludeSpace": false, "ExcludeCharacters": "ghijklmnopqrstuvwxyz"
        }))
        .unwrap();
        assert_eq!(key.len(), 64);
        assert!(
            key.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{key}"
        );
    }

    #[test]
    fn a_template_gets_the_password_under_its_key() {
        let secret = generate(&json!({
            "SecretStringTemplate": "{\"username\":\"admin\"}", "GenerateStringKey": "password",
            "PasswordLength": 20
        }))
        .unwrap();
        let secret: Value = serde_json::from_str(&secret).unwrap();
        assert_eq!(secret["username"], "admin");
        assert_eq!(secret["password"].as_str().unwrap().len(), 20);
    }
}
