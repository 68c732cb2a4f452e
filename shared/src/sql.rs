//! SQL text handling that must see quotes the way PostgreSQL does: splitting a migration
//! file into statements, and turning `:name` parameters into positional ones.
//!
//! Both skip string literals (`'...'`, `E'...'`), quoted identifiers, `--` and nested
//! `/* */` comments, and dollar-quoted bodies (`$$...$$`, `$fn$...$fn$`).

/// A run of SQL text that is either code or something PostgreSQL reads verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Code,
    Quoted,
}

/// Cuts `sql` into consecutive code and quoted segments, as byte ranges.
fn segments(sql: &str) -> Vec<(Segment, usize, usize)> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut code_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'\'' => {
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_ident_byte(bytes[i - 2]));
                Some(quoted_end(bytes, i, b'\'', escapes))
            }
            b'"' => Some(quoted_end(bytes, i, b'"', false)),
            b'-' if bytes.get(i + 1) == Some(&b'-') => Some(
                bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| i + p + 1),
            ),
            b'/' if bytes.get(i + 1) == Some(&b'*') => Some(block_comment_end(bytes, i)),
            b'$' if i == 0 || !is_ident_byte(bytes[i - 1]) => dollar_quote_end(sql, i),
            _ => None,
        };
        match end {
            Some(end) => {
                if code_start < i {
                    out.push((Segment::Code, code_start, i));
                }
                out.push((Segment::Quoted, i, end));
                i = end;
                code_start = end;
            }
            None => i += 1,
        }
    }
    if code_start < bytes.len() {
        out.push((Segment::Code, code_start, bytes.len()));
    }
    out
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// End (exclusive) of a quoted run starting at `start`; a doubled quote stays inside.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// If a dollar-quote opens at `start` (`$$` or `$tag$`), the end of its closing tag.
fn dollar_quote_end(sql: &str, start: usize) -> Option<usize> {
    let rest = &sql[start + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    let valid_tag =
        tag.is_empty() || (!tag.as_bytes()[0].is_ascii_digit() && tag.bytes().all(is_ident_byte));
    if !valid_tag {
        return None;
    }
    let delimiter = &sql[start..start + tag_len + 2];
    let body_start = start + delimiter.len();
    Some(
        sql[body_start..]
            .find(delimiter)
            .map_or(sql.len(), |p| body_start + p + delimiter.len()),
    )
}

/// Splits a script into its statements at top-level semicolons, dropping empty ones and
/// ones that are only comments. Function bodies and `DO` blocks stay whole.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut has_code = false;
    for (kind, start, end) in segments(sql) {
        let text = &sql[start..end];
        let is_comment =
            kind == Segment::Quoted && (text.starts_with("--") || text.starts_with("/*"));
        if kind == Segment::Quoted {
            current.push_str(text);
            has_code |= !is_comment;
            continue;
        }
        let mut rest = text;
        while let Some(p) = rest.find(';') {
            current.push_str(&rest[..p]);
            has_code |= !rest[..p].trim().is_empty();
            if has_code {
                statements.push(current.trim().to_owned());
            }
            current.clear();
            has_code = false;
            rest = &rest[p + 1..];
        }
        has_code |= !rest.trim().is_empty();
        current.push_str(rest);
    }
    if has_code {
        statements.push(current.trim().to_owned());
    }
    statements
}

/// A statement with `:name` parameters rewritten to PostgreSQL's `$n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positional {
    pub sql: String,
    /// Parameter names in `$n` order (`names[0]` is `$1`); each name appears once.
    pub names: Vec<String>,
}

/// Rewrites `:name` to `$n`, leaving `::type` casts, literals and comments alone.
/// A name used twice binds the same `$n`.
pub fn to_positional(sql: &str) -> Positional {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut names: Vec<String> = Vec::new();
    for (kind, start, end) in segments(sql) {
        let text = &sql[start..end];
        if kind == Segment::Quoted {
            out.push_str(text);
            continue;
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut copied = 0;
        while i < bytes.len() {
            if bytes[i] != b':' {
                i += 1;
                continue;
            }
            if bytes.get(i + 1) == Some(&b':') {
                i += 2;
                continue;
            }
            let name_len = bytes[i + 1..]
                .iter()
                .take_while(|&&b| is_ident_byte(b))
                .count();
            let starts_well = bytes
                .get(i + 1)
                .is_some_and(|&b| is_ident_byte(b) && !b.is_ascii_digit());
            if name_len == 0 || !starts_well {
                i += 1;
                continue;
            }
            let name = &text[i + 1..i + 1 + name_len];
            let index = match names.iter().position(|n| n == name) {
                Some(p) => p + 1,
                None => {
                    names.push(name.to_owned());
                    names.len()
                }
            };
            out.push_str(&text[copied..i]);
            out.push('$');
            out.push_str(&index.to_string());
            i += 1 + name_len;
            copied = i;
        }
        out.push_str(&text[copied..]);
    }
    Positional { sql: out, names }
}

/// The first keyword of a statement, upper-cased, after comments and parentheses.
pub fn leading_keyword(sql: &str) -> String {
    segments(sql)
        .into_iter()
        .filter(|(kind, _, _)| *kind == Segment::Code)
        .flat_map(|(_, s, e)| sql[s..e].split(|c: char| !c.is_ascii_alphabetic()))
        .find(|word| !word.is_empty())
        .unwrap_or_default()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let sql = "CREATE TABLE a (x text DEFAULT ';');\n-- a comment; with semicolon\nINSERT INTO a VALUES ('it''s; fine');\n/* block; /* nested; */ still */ SELECT 1;";
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 3, "{statements:#?}");
        assert_eq!(statements[0], "CREATE TABLE a (x text DEFAULT ';')");
        assert!(statements[1].ends_with("VALUES ('it''s; fine')"));
        assert!(statements[2].ends_with("SELECT 1"));
    }

    #[test]
    fn function_bodies_and_do_blocks_stay_whole() {
        let sql = r#"
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
DO $body$ BEGIN IF true THEN RAISE NOTICE 'x;'; END IF; END $body$;
SELECT $1, $$a;b$$;
"#;
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 3, "{statements:#?}");
        assert!(statements[0].contains("RETURN NEW;\nEND;\n$$"));
        assert!(statements[1].starts_with("DO $body$") && statements[1].ends_with("END $body$"));
        assert_eq!(statements[2], "SELECT $1, $$a;b$$");
    }

    #[test]
    fn comment_only_tails_are_not_statements() {
        assert_eq!(
            split_statements("SELECT 1; -- done\n /* bye */ ;  "),
            vec!["SELECT 1"]
        );
        assert!(split_statements("  -- nothing here\n").is_empty());
    }

    #[test]
    fn escape_strings_may_hold_backslashed_quotes() {
        let statements = split_statements(r"SELECT E'a\'; b'; SELECT 2");
        assert_eq!(statements, vec![r"SELECT E'a\'; b'", "SELECT 2"]);
    }

    #[test]
    fn named_parameters_become_positional_and_casts_survive() {
        let p = to_positional(
            "SELECT :id::uuid, ':not_a_param', \"col:x\", :name, :id -- :comment\n WHERE v = :v::vector AND arr[1:2] = 'x'",
        );
        assert_eq!(
            p.sql,
            "SELECT $1::uuid, ':not_a_param', \"col:x\", $2, $1 -- :comment\n WHERE v = $3::vector AND arr[1:2] = 'x'"
        );
        assert_eq!(p.names, vec!["id", "name", "v"]);
    }

    #[test]
    fn parameters_inside_dollar_quotes_are_left_alone() {
        let p = to_positional("DO $$ BEGIN PERFORM :x; END $$; SELECT :y, $1");
        assert_eq!(p.sql, "DO $$ BEGIN PERFORM :x; END $$; SELECT $1, $1");
        assert_eq!(p.names, vec!["y"]);
    }

    #[test]
    fn unicode_text_is_copied_intact() {
        let p = to_positional("SELECT 'héllo :x', :naïve_ok, :名");
        assert_eq!(p.sql, "SELECT 'héllo :x', $1, $2");
        assert_eq!(p.names, vec!["naïve_ok", "名"]);
    }

    #[test]
    fn leading_keyword_skips_comments_and_parentheses() {
        assert_eq!(leading_keyword("-- hi\n (select 1)"), "SELECT");
        assert_eq!(
            leading_keyword("/* x */ with t as (select 1) select * from t"),
            "WITH"
        );
        assert_eq!(leading_keyword(""), "");
    }
}
