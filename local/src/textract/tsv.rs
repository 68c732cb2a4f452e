//! tesseract's TSV output read into lines: words joined per (block, paragraph, line), each
//! line with its box as fractions of the page and its words' mean confidence.

use super::results::Line;

/// The lines in tesseract's TSV (`level page block par line word left top width height conf
/// text`): words joined per (block, paragraph, line), boxes as fractions of the page.
pub fn lines_of(tsv: &str) -> Vec<Line> {
    /// A line being built: its (block, paragraph, line) numbers, the line, word confidences.
    type Building = ((u32, u32, u32), Line, Vec<f32>);
    let (mut page_width, mut page_height) = (1.0_f32, 1.0_f32);
    let mut lines: Vec<Building> = Vec::new();
    for row in tsv.lines().skip(1) {
        let cells: Vec<&str> = row.split('\t').collect();
        let [
            level,
            _,
            block,
            par,
            line,
            _,
            left,
            top,
            width,
            height,
            conf,
            rest @ ..,
        ] = cells.as_slice()
        else {
            continue;
        };
        let number = |s: &str| s.trim().parse::<f32>().unwrap_or(0.0);
        let id = |s: &str| s.trim().parse::<u32>().unwrap_or(0);
        let key = (id(block), id(par), id(line));
        match level.trim() {
            "1" => {
                page_width = number(width).max(1.0);
                page_height = number(height).max(1.0);
            }
            "4" => lines.push((
                key,
                Line {
                    text: String::new(),
                    confidence: 0.0,
                    left: number(left) / page_width,
                    top: number(top) / page_height,
                    width: number(width) / page_width,
                    height: number(height) / page_height,
                },
                Vec::new(),
            )),
            "5" => {
                let word = rest.join("\t");
                let word = word.trim();
                if let Some((_, line, confidences)) = lines.iter_mut().rev().find(|l| l.0 == key)
                    && !word.is_empty()
                {
                    if !line.text.is_empty() {
                        line.text.push(' ');
                    }
                    line.text.push_str(word);
                    confidences.push(number(conf).max(0.0));
                }
            }
            _ => {}
        }
    }
    lines
        .into_iter()
        .filter(|(_, line, _)| !line.text.is_empty())
        .map(|(_, mut line, confidences)| {
            line.confidence = confidences.iter().sum::<f32>() / confidences.len().max(1) as f32;
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
1\t1\t0\t0\t0\t0\t0\t0\t1000\t2000\t-1\t
2\t1\t1\t0\t0\t0\t100\t200\t500\t100\t-1\t
3\t1\t1\t1\t0\t0\t100\t200\t500\t100\t-1\t
4\t1\t1\t1\t1\t0\t100\t200\t500\t40\t-1\t
5\t1\t1\t1\t1\t1\t100\t200\t200\t40\t96.0\tLighthouse
5\t1\t1\t1\t1\t2\t320\t200\t280\t40\t90.0\tKeeping
4\t1\t1\t1\t2\t0\t100\t260\t300\t40\t-1\t
5\t1\t1\t1\t2\t1\t100\t260\t300\t40\t95.5\t
4\t1\t1\t1\t3\t0\t100\t320\t300\t40\t-1\t
5\t1\t1\t1\t3\t1\t100\t320\t300\t40\t80.0\tLog
";

    #[test]
    fn tesseract_words_become_lines_with_their_box_and_mean_confidence() {
        let lines = lines_of(TSV);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            ["Lighthouse Keeping", "Log"],
            "blank lines are dropped"
        );
        assert_eq!(lines[0].confidence, 93.0);
        assert_eq!((lines[0].left, lines[0].top), (0.1, 0.1));
        assert_eq!((lines[0].width, lines[0].height), (0.5, 0.02));
    }
}
