//! Turns what the rep typed into a safe FTS5 query.

/// Each word becomes a quoted prefix term (`"ada"*`), so FTS5 syntax in the input (quotes,
/// `*`, `-`, `AND`, `NEAR`, column filters) is just text. Words are ANDed. `None` when there
/// is nothing to search for (empty, or only punctuation), which means "list everything".
/// Control characters (NUL ends an FTS5 string early) count as spaces.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn words_become_quoted_prefix_terms() {
        assert_eq!(fts_query("ada lov").as_deref(), Some(r#""ada"* "lov"*"#));
        assert_eq!(fts_query(r#"o"brien"#).as_deref(), Some(r#""o""brien"*"#));
        assert_eq!(
            fts_query("ada\0lov\u{7}").as_deref(),
            Some(r#""ada"* "lov"*"#)
        );
        assert_eq!(
            fts_query("NEAR(a b)").as_deref(),
            Some(r#""NEAR(a"* "b)"*"#)
        );
    }

    #[test]
    fn nothing_searchable_means_no_query() {
        assert_eq!(fts_query(""), None);
        assert_eq!(fts_query("   \t "), None);
        assert_eq!(fts_query(r#"* " - ()"#), None);
    }
}
