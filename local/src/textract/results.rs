//! A finished job's text as Textract returns it: PAGE and LINE blocks (text, page,
//! confidence, bounding box), handed out `MaxResults` at a time behind an opaque `NextToken`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// One line of text OCR found, its box as fractions of the page (Textract's geometry).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    /// 0-100.
    pub confidence: f32,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// Textract's `MaxResults` default and ceiling.
pub const MAX_RESULTS: usize = 1000;

/// The blocks of a document whose pages hold `pages` lines: per page a PAGE block whose
/// children are its LINE blocks, in reading order.
pub fn blocks(pages: &[Vec<Line>]) -> Vec<Value> {
    let mut blocks = Vec::new();
    for (index, lines) in pages.iter().enumerate() {
        let page = index + 1;
        let ids: Vec<String> = (0..lines.len())
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let mut page_block = json!({
            "BlockType": "PAGE",
            "Id": uuid::Uuid::new_v4().to_string(),
            "Page": page,
            "Geometry": geometry(0.0, 0.0, 1.0, 1.0),
        });
        if !ids.is_empty() {
            page_block["Relationships"] = json!([{ "Type": "CHILD", "Ids": ids }]);
        }
        blocks.push(page_block);
        for (line, id) in lines.iter().zip(ids) {
            blocks.push(json!({
                "BlockType": "LINE",
                "Id": id,
                "Page": page,
                "Text": line.text,
                "Confidence": line.confidence,
                "Geometry": geometry(line.left, line.top, line.width, line.height),
            }));
        }
    }
    blocks
}

fn geometry(left: f32, top: f32, width: f32, height: f32) -> Value {
    json!({
        "BoundingBox": { "Width": width, "Height": height, "Left": left, "Top": top },
        "Polygon": [
            { "X": left, "Y": top },
            { "X": left + width, "Y": top },
            { "X": left + width, "Y": top + height },
            { "X": left, "Y": top + height },
        ],
    })
}

/// The token that continues `job_id`'s blocks at `offset`.
pub fn next_token(job_id: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{offset}:{job_id}"))
}

/// Where a token continues, if it is one this job handed out.
pub fn read_token(job_id: &str, token: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (offset, job) = text.split_once(':')?;
    (job == job_id).then(|| offset.parse().ok())?
}

/// Up to `max` blocks from `offset`, and the token for the rest when some are left.
pub fn page<'a>(
    job_id: &str,
    blocks: &'a [Value],
    offset: usize,
    max: usize,
) -> (&'a [Value], Option<String>) {
    let start = offset.min(blocks.len());
    let end = start.saturating_add(max.max(1)).min(blocks.len());
    let next = (end < blocks.len()).then(|| next_token(job_id, end));
    (&blocks[start..end], next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Line {
            text: text.to_owned(),
            confidence: 91.5,
            left: 0.1,
            top: 0.2,
            width: 0.5,
            height: 0.03,
        }
    }

    #[test]
    fn each_page_is_a_page_block_followed_by_its_lines_in_order() {
        let blocks = blocks(&[
            vec![line("Harbour report"), line("March 2024")],
            vec![],
            vec![line("Recommendations")],
        ]);
        let kinds: Vec<(&str, u64, Option<&str>)> = blocks
            .iter()
            .map(|b| {
                (
                    b["BlockType"].as_str().unwrap(),
                    b["Page"].as_u64().unwrap(),
                    b["Text"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("PAGE", 1, None),
                ("LINE", 1, Some("Harbour report")),
                ("LINE", 1, Some("March 2024")),
                ("PAGE", 2, None),
                ("PAGE", 3, None),
                ("LINE", 3, Some("Recommendations")),
            ]
        );
        assert_eq!(blocks[0]["Relationships"][0]["Ids"][1], blocks[2]["Id"]);
        assert_eq!(blocks[1]["Geometry"]["BoundingBox"]["Width"], 0.5);
    }

    #[test]
    fn blocks_are_handed_out_max_results_at_a_time_until_no_token_is_left() {
        let blocks: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let (first, token) = page("job-1", &blocks, 0, 2);
        assert_eq!(first, [json!(0), json!(1)]);
        let offset = read_token("job-1", &token.unwrap()).unwrap();
        let (second, token) = page("job-1", &blocks, offset, 2);
        assert_eq!(second, [json!(2), json!(3)]);
        let (last, token) = page(
            "job-1",
            &blocks,
            read_token("job-1", &token.unwrap()).unwrap(),
            2,
        );
        assert_eq!(last, [json!(4)]);
        assert_eq!(token, None);
        assert_eq!(page("job-1", &blocks, 0, MAX_RESULTS).1, None);
    }

    #[test]
    fn a_token_from_another_job_or_made_up_is_not_read() {
        let token = next_token("job-1", 1000);
        assert_eq!(read_token("job-1", &token), Some(1000));
        assert_eq!(read_token("job-2", &token), None);
        assert_eq!(read_token("job-1", "not-a-token"), None);
    }
}
