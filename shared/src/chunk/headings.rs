//! Markdown headings, found in one pass over the lines: ATX (`## Title`) and setext
//! (`Title` over `===` or `---`) headings, not `#` lines inside fenced code. Each heading
//! knows its parent, so the path of headings above any point is a binary search and a
//! walk of at most six steps, however many headings the document has.

/// One heading: where its line starts, its level (1 to 6), its text and the index of the
/// heading it sits under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Heading {
    pub start: usize,
    pub level: u8,
    pub text: String,
    parent: Option<usize>,
}

/// The document's headings, in order.
#[derive(Debug, Default)]
pub(super) struct Headings {
    list: Vec<Heading>,
}

impl Headings {
    /// Finds the headings of `text`, counting each byte looked at into `work`.
    pub fn scan(text: &str, work: &mut u64) -> Self {
        let mut list: Vec<Heading> = Vec::new();
        let mut fence: Option<(u8, usize)> = None;
        // The previous line, when it could be the text of a setext heading.
        let mut paragraph: Option<(usize, &str)> = None;
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            *work += line.len() as u64;
            let at = start;
            start += line.len();
            let line = line.trim_end_matches(['\n', '\r']);
            let indent = line.len() - line.trim_start_matches(' ').len();
            let body = &line[indent..];
            if indent <= 3
                && let Some(marker) = fence_marker(body)
            {
                match fence {
                    None => fence = Some(marker),
                    Some((c, n)) if marker.0 == c && marker.1 >= n && is_closing(body) => {
                        fence = None;
                    }
                    Some(_) => {}
                }
                paragraph = None;
                continue;
            }
            if fence.is_some() {
                continue;
            }
            let found = if indent > 3 {
                None
            } else if let Some((level, title)) = atx(body) {
                Some((at, level, title))
            } else if let (Some(level), Some((start, title))) = (setext(body), paragraph) {
                Some((start, level, title))
            } else {
                None
            };
            match found {
                Some((start, level, title)) => {
                    let text = clean(title);
                    if !text.is_empty() {
                        push(&mut list, start, level, text);
                    }
                    paragraph = None;
                }
                None if body.trim().is_empty() => paragraph = None,
                None => paragraph = Some((at, line.trim())),
            }
        }
        Self { list }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Heading> {
        self.list.iter()
    }

    /// The headings in effect at `offset`, outermost first.
    pub fn path_at(&self, offset: usize) -> Vec<String> {
        let mut path = Vec::new();
        let mut next = self
            .list
            .partition_point(|h| h.start <= offset)
            .checked_sub(1);
        while let Some(index) = next {
            path.push(self.list[index].text.clone());
            next = self.list[index].parent;
        }
        path.reverse();
        path
    }

    /// The first heading starting at or after `offset`, if any.
    pub fn first_from(&self, offset: usize) -> Option<&Heading> {
        self.list
            .get(self.list.partition_point(|h| h.start < offset))
    }

    /// The headings whose lines start in `range`.
    pub fn within(&self, range: std::ops::Range<usize>) -> &[Heading] {
        let from = self.list.partition_point(|h| h.start < range.start);
        let to = self.list.partition_point(|h| h.start < range.end);
        &self.list[from..to.max(from)]
    }
}

/// Appends a heading under the nearest earlier heading of a higher rank.
fn push(list: &mut Vec<Heading>, start: usize, level: u8, text: String) {
    // Walk up from the previous heading: each step goes one level higher, so at most six.
    let mut parent = list.len().checked_sub(1);
    while let Some(index) = parent {
        if list[index].level < level {
            break;
        }
        parent = list[index].parent;
    }
    list.push(Heading {
        start,
        level,
        text,
        parent,
    });
}

/// `#` to `######`, then a space or the end of the line.
fn atx(body: &str) -> Option<(u8, &str)> {
    let hashes = body.len() - body.trim_start_matches('#').len();
    let rest = &body[hashes..];
    if !(1..=6).contains(&hashes) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    // A closing sequence of `#` after a space is not part of the title.
    let rest = rest.trim();
    let unclosed = rest.trim_end_matches('#');
    let title = if unclosed.is_empty() || unclosed.ends_with([' ', '\t']) {
        unclosed
    } else {
        rest
    };
    Some((u8::try_from(hashes).unwrap_or(6), title))
}

/// A line of only `=` (level 1) or only `-` (level 2) under a paragraph line.
fn setext(body: &str) -> Option<u8> {
    let line = body.trim_end();
    let level = match line.as_bytes().first()? {
        b'=' => 1,
        b'-' => 2,
        _ => return None,
    };
    let marker = line.as_bytes()[0];
    line.bytes().all(|b| b == marker).then_some(level)
}

/// A fence opener or closer: three or more backticks or tildes.
fn fence_marker(body: &str) -> Option<(u8, usize)> {
    let &first = body.as_bytes().first()?;
    if first != b'`' && first != b'~' {
        return None;
    }
    let run = body.bytes().take_while(|b| *b == first).count();
    (run >= 3).then_some((first, run))
}

/// A closing fence has nothing after its marker.
fn is_closing(body: &str) -> bool {
    body.trim_start_matches(['`', '~']).trim().is_empty()
}

/// The title as people read it: emphasis and code marks dropped, spaces collapsed.
fn clean(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for word in title.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|c| !matches!(c, '*' | '`')));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Headings {
        Headings::scan(text, &mut 0)
    }

    fn found(text: &str) -> Vec<(u8, String)> {
        scan(text)
            .list
            .into_iter()
            .map(|h| (h.level, h.text))
            .collect()
    }

    #[test]
    fn atx_and_setext_headings_are_found_but_not_code_or_hashtags() {
        let text = "# Guide #\n\nIntro\n\nInstall\n-------\n\n```sh\n# a comment\n```\n\n#hashtag\n\
                    ## **Use** `it`\n\n    # indented code\n\nUsage\n=====\n";
        assert_eq!(
            found(text),
            [
                (1, "Guide".to_owned()),
                (2, "Install".to_owned()),
                (2, "Use it".to_owned()),
                (1, "Usage".to_owned())
            ]
        );
    }

    #[test]
    fn paths_follow_levels_and_skipped_levels() {
        let text = "# A\n\n### A1\n\ntext\n\n## B\n\nmore\n\n# C\n";
        let headings = scan(text);
        assert_eq!(headings.path_at(0), ["A"]);
        assert_eq!(headings.path_at(text.find("text").unwrap()), ["A", "A1"]);
        assert_eq!(headings.path_at(text.find("more").unwrap()), ["A", "B"]);
        assert_eq!(headings.path_at(text.len()), ["C"]);
        assert!(scan("no headings").path_at(5).is_empty());
    }

    #[test]
    fn an_unclosed_fence_hides_the_rest_and_a_longer_closer_ends_it() {
        assert!(found("````\n# not\n```\n# still not\n").is_empty());
        assert_eq!(found("~~~\n# no\n~~~~\n# yes\n"), [(1, "yes".to_owned())]);
    }
}
