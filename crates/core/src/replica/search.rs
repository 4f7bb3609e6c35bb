//! The search box: one FTS5 index over contacts, accounts and opportunities finds the matches,
//! ranking them happens here; and the safe query builder that turns what the rep typed into an
//! FTS5 query.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::views::{contact_summary, contact_summary_columns, ContactSummary, SearchHit};
use super::Replica;
use crate::error::CoreError;

/// The most hits the search box shows.
pub(crate) const MAX_HITS: u32 = 50;

/// How many matches a search ranks before keeping the best [`MAX_HITS`].
const RANKED_CANDIDATES: u32 = 300;

/// bm25 with column weights, in `search`'s column order (name, email, phone, title,
/// account_name, phone_digits): a word of the name counts most, so an exact name match ranks
/// above a mention in a title or an account name. Lower is better. (The leads screen's search,
/// over the rep's open leads; the search box and the contacts screen rank their first
/// [`RANKED_CANDIDATES`] matches with the same weights, below.)
pub(super) const RANK: &str = "bm25(search, 10.0, 4.0, 3.0, 1.5, 2.0, 3.0)";

/// What a word found in each field is worth to the search box's ranking: the same weights as
/// [`RANK`]'s, so a word of the name counts most.
const NAME: f64 = 10.0;
const EMAIL: f64 = 4.0;
const PHONE: f64 = 3.0;
const ACCOUNT_NAME: f64 = 2.0;
const TITLE: f64 = 1.5;
/// A word typed whole counts this much more than a word only begun.
const WHOLE_WORD: f64 = 1.5;

/// Per object (its `search` rowid kind, and its place among equal scores: accounts, contacts,
/// leads, opportunities): id, title, subtitle, then the searched fields — email, phone, mobile
/// phone, title, account name (a lead's company) — for the ranking. `{ROWIDS}` is a list of
/// integers.
const CANDIDATES: [(i64, u8, &str, &str); 4] = [
    (
        1,
        0,
        "Account",
        "SELECT id, name, concat_ws(' · ', industry, billing_city), NULL, phone, NULL, NULL, NULL
         FROM account WHERE rowid IN ({ROWIDS})",
    ),
    (
        2,
        1,
        "Contact",
        "SELECT c.id, c.name, coalesce(nullif(concat_ws(' · ', c.title, a.name), ''), c.email),
                c.email, c.phone, c.mobile_phone, c.title, a.name
         FROM contact c LEFT JOIN account a ON a.id = c.account_id WHERE c.rowid IN ({ROWIDS})",
    ),
    (
        0,
        2,
        "Lead",
        "SELECT l.id, l.name, concat_ws(' · ', l.title, l.company, l.status),
                l.email, l.phone, l.mobile_phone, l.title, l.company
         FROM lead l WHERE l.rowid IN ({ROWIDS})",
    ),
    (
        3,
        3,
        "Opportunity",
        "SELECT o.id, o.name, concat_ws(' · ', a.name, o.stage_name, o.close_date),
                NULL, NULL, NULL, NULL, a.name
         FROM opportunity o LEFT JOIN account a ON a.id = o.account_id WHERE o.rowid IN ({ROWIDS})",
    ),
];

impl Replica {
    /// The best `limit` (at most 50) contacts, accounts, leads and opportunities for `text`, best
    /// first: every word must be a prefix of a word of the name, email, phone (also written
    /// digits only), title or account name; case and accents ignored. Blank text finds nothing.
    ///
    /// FTS5 finds the matches. Ranking them with its bm25 would read every matching entry of
    /// every word to weigh the words — a word most records share ("manager", "example", "a")
    /// costs a scan of its whole doclist on every keystroke. Instead the first
    /// [`RANKED_CANDIDATES`] matches (index order: a precise query has fewer, and is ranked in
    /// full; a very common one sharpens as the rep types on) are ranked here by where each
    /// word was found: a whole word of the name first, then the start of one, then email,
    /// phone, account name, title; among equals accounts, then contacts, then opportunities
    /// (a company's name finds the company first), shorter names first.
    pub(crate) fn search(&self, text: &str, limit: u32) -> Result<Vec<SearchHit>, CoreError> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        let words: Vec<String> = words_of(&fold(text)).map(str::to_owned).collect();
        let reauth = self.reauth_required();
        let conn = self.reader();
        let rowids: Vec<i64> = conn
            .prepare_cached(&format!(
                "SELECT rowid FROM search WHERE search MATCH ?1 LIMIT {RANKED_CANDIDATES}"
            ))?
            .query_map([query], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut ranked = Vec::with_capacity(rowids.len());
        for (kind, order, object, sql) in CANDIDATES {
            let ids: Vec<String> = rowids
                .iter()
                .filter(|rowid| *rowid % 4 == kind)
                .map(|rowid| (rowid / 4).to_string())
                .collect();
            if ids.is_empty() {
                continue;
            }
            // Integers read from the index, so writing them into the SQL is safe.
            let mut stmt = conn.prepare(&sql.replace("{ROWIDS}", &ids.join(",")))?;
            let rows = stmt.query_map([], |row| {
                let fields = Fields {
                    name: row.get(1)?,
                    email: row.get(3)?,
                    phone: row.get(4)?,
                    mobile_phone: row.get(5)?,
                    title: row.get(6)?,
                    account_name: row.get(7)?,
                };
                Ok((
                    fields.score(&words),
                    order,
                    SearchHit {
                        object,
                        id: row.get(0)?,
                        title: fields.name,
                        subtitle: row.get::<_, Option<String>>(2)?.filter(|s| !s.is_empty()),
                        pending: None,
                    },
                ))
            })?;
            for row in rows {
                ranked.push(row?);
            }
        }
        ranked.sort_by(|(a_score, a_kind, a), (b_score, b_kind, b)| {
            b_score
                .total_cmp(a_score)
                .then(a_kind.cmp(b_kind))
                .then(a.title.chars().count().cmp(&b.title.chars().count()))
                .then_with(|| a.title.cmp(&b.title))
                .then_with(|| a.id.cmp(&b.id))
        });
        ranked.truncate(limit.min(MAX_HITS) as usize);
        let mut hits: Vec<SearchHit> = ranked.into_iter().map(|(_, _, hit)| hit).collect();
        // Only the hits shown say whether changes of them wait (not every candidate ranked).
        super::views::mark_pending(
            &conn,
            &mut hits,
            |hit| &hit.id,
            |hit, p| hit.pending = p,
            reauth,
        )?;
        Ok(hits)
    }
}

impl Replica {
    /// The contacts screen's search: a page (`offset`, `limit`; -1 for all) of the contacts
    /// matching `text`, ranked as the search box ranks them. The first [`RANKED_CANDIDATES`]
    /// matches in index order are ranked (best first, then by name as the list sorts); any
    /// further ones follow them in index order. Either way a page costs a few hundred index
    /// entries, never a bm25 pass over every match: a first letter typed matches most
    /// contacts, and is answered as fast as a whole name.
    pub(crate) fn contact_matches(
        &self,
        text: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ContactSummary>, CoreError> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        let words: Vec<String> = words_of(&fold(text)).map(str::to_owned).collect();
        let reauth = self.reauth_required();
        let conn = self.reader();
        let columns = contact_summary_columns();
        let wanted = |taken: usize| {
            if limit < 0 {
                usize::MAX
            } else {
                (limit as usize).saturating_sub(taken)
            }
        };
        let candidates = i64::from(RANKED_CANDIDATES);
        let mut page = Vec::new();
        if offset < candidates {
            let rowids: Vec<String> = conn
                .prepare_cached(&format!(
                    "SELECT rowid / 4 FROM search WHERE search MATCH ?1 AND rowid % 4 = 2
                     LIMIT {RANKED_CANDIDATES}"
                ))?
                .query_map([&query], |row| row.get::<_, i64>(0))?
                .map(|rowid| rowid.map(|r| r.to_string()))
                .collect::<Result<_, _>>()?;
            if rowids.is_empty() {
                return Ok(page);
            }
            let found = rowids.len() as i64;
            // Integers read from the index, so writing them into the SQL is safe.
            let mut stmt = conn.prepare(&format!(
                "SELECT {columns}, c.mobile_phone
                 FROM contact c LEFT JOIN account a ON a.id = c.account_id
                 WHERE c.rowid IN ({})",
                rowids.join(",")
            ))?;
            let mut ranked = stmt
                .query_map([], |row| {
                    let contact = contact_summary(row, reauth)?;
                    let fields = Fields {
                        name: contact.name.clone(),
                        email: contact.email.clone(),
                        phone: contact.phone.clone(),
                        mobile_phone: row.get(9)?,
                        title: contact.title.clone(),
                        account_name: contact.account_name.clone(),
                    };
                    Ok((fields.score(&words), contact.name.to_lowercase(), contact))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            ranked.sort_by(|(a_score, a_name, a), (b_score, b_name, b)| {
                b_score
                    .total_cmp(a_score)
                    .then_with(|| a_name.cmp(b_name))
                    .then_with(|| a.id.cmp(&b.id))
            });
            page.extend(
                ranked
                    .into_iter()
                    .map(|(_, _, contact)| contact)
                    .skip(offset as usize)
                    .take(wanted(0)),
            );
            if found < candidates {
                return Ok(page);
            }
        }
        let more = wanted(page.len());
        if more > 0 {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {columns}
                 FROM search s JOIN contact c ON c.rowid = s.rowid / 4
                 LEFT JOIN account a ON a.id = c.account_id
                 WHERE search MATCH ?1 AND s.rowid % 4 = 2
                 ORDER BY s.rowid LIMIT ?2 OFFSET ?3"
            ))?;
            let more = i64::try_from(more).unwrap_or(-1);
            let rows = stmt.query_map((&query, more, offset.max(candidates)), |row| {
                contact_summary(row, reauth)
            })?;
            for row in rows {
                page.push(row?);
            }
        }
        Ok(page)
    }
}

/// A candidate's searched fields.
struct Fields {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    mobile_phone: Option<String>,
    title: Option<String>,
    account_name: Option<String>,
}

impl Fields {
    /// For each word, the weight of the best field holding a word it begins (more if it is
    /// the whole word); summed over the words.
    fn score(&self, words: &[String]) -> f64 {
        let fold_all = |text: &Option<String>| text.as_deref().map(fold).unwrap_or_default();
        let digits_only = |phone: &Option<String>| -> String {
            phone
                .iter()
                .flat_map(|p| p.chars())
                .filter(char::is_ascii_digit)
                .collect()
        };
        let fields = [
            (fold(&self.name), NAME),
            (fold_all(&self.email), EMAIL),
            (fold_all(&self.phone), PHONE),
            (fold_all(&self.mobile_phone), PHONE),
            (digits_only(&self.phone), PHONE),
            (digits_only(&self.mobile_phone), PHONE),
            (fold_all(&self.account_name), ACCOUNT_NAME),
            (fold_all(&self.title), TITLE),
        ];
        words
            .iter()
            .map(|word| {
                fields
                    .iter()
                    .map(|(text, weight)| {
                        let mut found = 0.0;
                        for token in words_of(text) {
                            if token == word {
                                return weight * WHOLE_WORD;
                            }
                            if token.starts_with(word.as_str()) {
                                found = *weight;
                            }
                        }
                        found
                    })
                    .fold(0.0, f64::max)
            })
            .sum()
    }
}

/// Lower case without accents, as the index's tokenizer compares words.
fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of a text as the index's tokenizer splits them: runs of letters and digits.
fn words_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
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
    use super::{fold, fts_query, words_of, Fields};

    #[test]
    fn folding_drops_case_and_accents_like_the_tokenizer() {
        assert_eq!(fold("ÉLODIE Müller-Zoë"), "elodie muller-zoe");
        let folded = fold("jose.alvarez@globex.example");
        assert_eq!(
            words_of(&folded).collect::<Vec<_>>(),
            ["jose", "alvarez", "globex", "example"]
        );
    }

    #[test]
    fn a_word_counts_most_in_the_name_and_whole_more_than_begun() {
        let fields = |name: &str, title: Option<&str>, phone: Option<&str>| Fields {
            name: name.into(),
            email: Some("someone@example.com".into()),
            phone: phone.map(Into::into),
            mobile_phone: None,
            title: title.map(Into::into),
            account_name: Some("Globex".into()),
        };
        let words =
            |text: &str| -> Vec<String> { words_of(&fold(text)).map(str::to_owned).collect() };
        let named = fields("Sales Ops", None, None).score(&words("sales"));
        let begun = fields("Salesforce Team", None, None).score(&words("sales"));
        let titled = fields("Ada Lovelace", Some("Head of Sales"), None).score(&words("sales"));
        assert!(named > begun && begun > titled, "{named} {begun} {titled}");
        // Digits typed without punctuation find the phone as written.
        let phone = fields("Ada", None, Some("(555) 010-1234")).score(&words("55501"));
        assert!(phone > 0.0);
        // Every word counts: two words found beat one.
        let both = fields("José Álvarez", None, None).score(&words("jose alv"));
        let one = fields("José Smith", None, None).score(&words("jose alv"));
        assert!(both > one);
    }

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
