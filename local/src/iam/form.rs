//! Query strings and form bodies as AWS sends them, decoded.

/// `%XX` decoded (invalid UTF-8 replaced); `+` stays a plus, as in a path.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `name=value&...` pairs of a query string or form body, decoded (`+` is a space).
pub fn form_pairs(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (
            percent_decode(&name.replace('+', " ")),
            percent_decode(&value.replace('+', " ")),
        )
    })
}

/// One decoded parameter of a query string or form body.
pub fn query_param(text: &str, name: &str) -> Option<String> {
    form_pairs(text).find_map(|(n, v)| (n == name).then_some(v))
}
