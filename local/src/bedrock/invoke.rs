//! InvokeModel for the embedding models: Titan Text Embeddings v2 (one `inputText`) and
//! Cohere Embed v3 (up to 96 `texts`), validated like Bedrock validates them, answered with
//! the offline hashing embedder's vectors so local search behaves like the offline one.

use serde_json::{Map, Value, json};
use shared::chunk::estimate_tokens;
use shared::providers::offline::HashingEmbedder;

use super::errors::BedrockError;

const TITAN_KEYS: &[&str] = &["inputText", "dimensions", "normalize", "embeddingTypes"];
const COHERE_KEYS: &[&str] = &[
    "texts",
    "input_type",
    "truncate",
    "embedding_types",
    "images",
];
const COHERE_INPUT_TYPES: &[&str] = &[
    "search_document",
    "search_query",
    "classification",
    "clustering",
];
const COHERE_MAX_TEXTS: usize = 96;
const COHERE_DIMENSIONS: usize = 1024;

/// The InvokeModel response body for `model`, or why Bedrock would refuse the request.
pub fn invoke(model: &str, body: &[u8]) -> Result<Value, BedrockError> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|_| BedrockError::malformed("#: body is not valid JSON"))?;
    let Value::Object(body) = body else {
        return Err(BedrockError::malformed(format!(
            "#: expected type: JSONObject, found: {}",
            json_type(&body)
        )));
    };
    if model.contains("amazon.titan-embed-text-v2") {
        titan(&body)
    } else if model.contains("cohere.embed-english-v3")
        || model.contains("cohere.embed-multilingual-v3")
    {
        cohere(&body)
    } else {
        Err(BedrockError::validation(
            "The provided model identifier is invalid.",
        ))
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn no_extraneous_keys(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), BedrockError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(BedrockError::malformed(format!(
            "#: extraneous key [{key}] is not permitted"
        ))),
        None => Ok(()),
    }
}

fn titan(body: &Map<String, Value>) -> Result<Value, BedrockError> {
    no_extraneous_keys(body, TITAN_KEYS)?;
    let text = match body.get("inputText") {
        Some(Value::String(text)) if text.is_empty() => {
            return Err(BedrockError::malformed(
                "#/inputText: expected minLength: 1, actual: 0",
            ));
        }
        Some(Value::String(text)) => text,
        Some(other) => {
            return Err(BedrockError::malformed(format!(
                "#/inputText: expected type: String, found: {}",
                json_type(other)
            )));
        }
        None => {
            return Err(BedrockError::malformed(
                "#: required key [inputText] not found",
            ));
        }
    };
    let dimensions = match body.get("dimensions") {
        None => 1024,
        Some(value) => match value.as_u64() {
            Some(d @ (256 | 512 | 1024)) => d as usize,
            _ => {
                return Err(BedrockError::malformed(format!(
                    "#/dimensions: {value} is not a valid enum value"
                )));
            }
        },
    };
    let vector = HashingEmbedder::new(dimensions).vector(text);
    Ok(json!({
        "embedding": vector,
        "embeddingsByType": { "float": vector },
        "inputTextTokenCount": estimate_tokens(text),
    }))
}

fn cohere(body: &Map<String, Value>) -> Result<Value, BedrockError> {
    no_extraneous_keys(body, COHERE_KEYS)?;
    let texts = match body.get("texts") {
        Some(Value::Array(texts)) => texts,
        Some(other) => {
            return Err(BedrockError::malformed(format!(
                "#/texts: expected type: JSONArray, found: {}",
                json_type(other)
            )));
        }
        None => return Err(BedrockError::malformed("#: required key [texts] not found")),
    };
    if texts.len() > COHERE_MAX_TEXTS {
        return Err(BedrockError::malformed(format!(
            "#/texts: expected maximum item count: {COHERE_MAX_TEXTS}, found: {}",
            texts.len()
        )));
    }
    let texts: Vec<&str> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_str().ok_or_else(|| {
                BedrockError::malformed(format!(
                    "#/texts/{i}: expected type: String, found: {}",
                    json_type(t)
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    match body.get("input_type").and_then(Value::as_str) {
        Some(kind) if COHERE_INPUT_TYPES.contains(&kind) => {}
        Some(kind) => {
            return Err(BedrockError::malformed(format!(
                "#/input_type: {kind} is not a valid enum value"
            )));
        }
        None => {
            return Err(BedrockError::malformed(
                "#: required key [input_type] not found",
            ));
        }
    }
    let embedder = HashingEmbedder::new(COHERE_DIMENSIONS);
    let vectors: Vec<Vec<f32>> = texts.iter().map(|t| embedder.vector(t)).collect();
    let by_type = body.get("embedding_types").is_some();
    let embeddings = if by_type {
        json!({ "float": vectors })
    } else {
        json!(vectors)
    };
    Ok(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "texts": texts,
        "embeddings": embeddings,
        "response_type": if by_type { "embeddings_by_type" } else { "embeddings_floats" },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(model: &str, body: Value) -> String {
        match invoke(model, body.to_string().as_bytes()) {
            Err(error) => error.message,
            Ok(_) => String::from("accepted"),
        }
    }

    #[test]
    fn titan_takes_exactly_one_input_text() {
        let titan = "amazon.titan-embed-text-v2:0";
        assert!(
            refusal(titan, json!({ "inputText": ["a", "b"] }))
                .contains("#/inputText: expected type: String, found: JSONArray")
        );
        assert!(
            refusal(titan, json!({ "texts": ["a"] }))
                .contains("extraneous key [texts] is not permitted")
        );
        assert!(refusal(titan, json!({ "inputText": "a", "dimensions": 300 })).contains("300"));
        let ok = invoke(
            titan,
            json!({ "inputText": "hello world", "dimensions": 256, "normalize": true })
                .to_string()
                .as_bytes(),
        )
        .map(|body| body["embedding"].as_array().map(Vec::len));
        assert_eq!(ok.ok().flatten(), Some(256));
    }

    #[test]
    fn cohere_takes_at_most_96_texts_and_answers_both_forms() {
        let cohere = "cohere.embed-english-v3";
        let texts: Vec<String> = (0..97).map(|i| format!("text {i}")).collect();
        assert!(
            refusal(
                cohere,
                json!({ "texts": texts, "input_type": "search_document" })
            )
            .contains("expected maximum item count: 96, found: 97")
        );
        assert!(refusal(cohere, json!({ "texts": ["a"] })).contains("[input_type]"));
        let floats = invoke(
            cohere,
            json!({ "texts": ["a", "b"], "input_type": "search_document" })
                .to_string()
                .as_bytes(),
        )
        .map(|body| (body["texts"].clone(), body["response_type"].clone()));
        assert_eq!(
            floats.ok(),
            Some((json!(["a", "b"]), json!("embeddings_floats")))
        );
        let by_type = invoke(
            cohere,
            json!({ "texts": ["a"], "input_type": "search_query", "embedding_types": ["float"] })
                .to_string()
                .as_bytes(),
        )
        .map(|body| body["embeddings"]["float"][0].as_array().map(Vec::len));
        assert_eq!(by_type.ok().flatten(), Some(1024));
    }
}
