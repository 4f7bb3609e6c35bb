//! The search box: one FTS5 index over contacts, accounts and opportunities, and the safe
//! query builder that turns what the rep typed into an FTS5 query.

use rusqlite::OptionalExtension;

use super::views::SearchHit;
use super::Replica;
use crate::error::CoreError;

/// The most hits the search box shows.
pub(crate) const MAX_HITS: u32 = 50;

/// How many matches a search scores before keeping the best [`MAX_HITS`].
const RANKED_CANDIDATES: u32 = 500;

/// bm25 with column weights, in `search`'s column order (name, email, phone, title,
/// account_name, phone_digits): a word of the name counts most, so an exact name match ranks
/// above a mention in a title or an account name. Lower is better.
pub(super) const RANK: &str = "bm25(search, 10.0, 4.0, 3.0, 1.5, 2.0, 3.0)";

impl Replica {
    /// The best `limit` (at most 50) contacts, accounts and opportunities for `text`, best
    /// first: every word must be a prefix of a word of the name, email, phone (also written
    /// digits only), title or account name; case and accents ignored. Blank text finds nothing.
    pub(crate) fn search(&self, text: &str, limit: u32) -> Result<Vec<SearchHit>, CoreError> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        let conn = self.reader();
        // Ranking scores every match, so a word half the table shares ("a", "example") would
        // cost a scan of the whole index. Score at most RANKED_CANDIDATES matches (in index
        // order) and keep the best: precise queries are ranked in full, and a very common one
        // stays instant and sharpens as the rep types on.
        let mut hits_stmt = conn.prepare_cached(&format!(
            "SELECT rowid, {RANK} FROM search WHERE search MATCH ?1 LIMIT {RANKED_CANDIDATES}"
        ))?;
        let mut scored = hits_stmt
            .query_map([query], |row| {
                Ok((row.get::<_, f64>(1)?, row.get::<_, i64>(0)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let rowids: Vec<i64> = scored
            .into_iter()
            .take(limit.min(MAX_HITS) as usize)
            .map(|(_, rowid)| rowid)
            .collect();
        let mut account = conn.prepare_cached(
            "SELECT id, name, concat_ws(' · ', industry, billing_city) FROM account WHERE rowid = ?1",
        )?;
        let mut contact = conn.prepare_cached(
            "SELECT c.id, c.name, coalesce(nullif(concat_ws(' · ', c.title, a.name), ''), c.email)
             FROM contact c LEFT JOIN account a ON a.id = c.account_id WHERE c.rowid = ?1",
        )?;
        let mut opportunity = conn.prepare_cached(
            "SELECT o.id, o.name, concat_ws(' · ', a.name, o.stage_name, o.close_date)
             FROM opportunity o LEFT JOIN account a ON a.id = o.account_id WHERE o.rowid = ?1",
        )?;
        let mut hits = Vec::with_capacity(rowids.len());
        for rowid in rowids {
            let (object, stmt) = match rowid % 4 {
                1 => ("Account", &mut account),
                2 => ("Contact", &mut contact),
                _ => ("Opportunity", &mut opportunity),
            };
            let hit = stmt
                .query_row([rowid / 4], |row| {
                    Ok(SearchHit {
                        object,
                        id: row.get(0)?,
                        title: row.get(1)?,
                        subtitle: row.get::<_, Option<String>>(2)?.filter(|s| !s.is_empty()),
                    })
                })
                .optional()?;
            hits.extend(hit);
        }
        Ok(hits)
    }
}

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
