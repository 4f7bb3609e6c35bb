//! What to do with an update whose record changed since the rep saw it (Salesforce answered
//! `412` to its `If-Unmodified-Since`): compare, field by field, what the rep asked for
//! (mine), what the rep saw (base) and what Salesforce has now (theirs).

use serde_json::{Map, Value};

/// The three-way comparison's outcome for one update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every field already has the asked value: the write (or the same change by someone
    /// else) landed before. Nothing more to write.
    Landed,
    /// Every field still has its base value or the asked one: someone changed other fields
    /// only. Write again, conditional on the record as it is now.
    Merge,
    /// These fields have a server value that is neither the base nor the asked one (without a
    /// base: not the asked one). Nothing is written; the rep decides.
    Conflict(Vec<String>),
}

/// `mine`: the fields to write; `base`: the values the rep saw (some or all of those fields,
/// or none); `theirs`: the record as Salesforce has it.
pub fn judge(
    mine: &Map<String, Value>,
    base: Option<&Map<String, Value>>,
    theirs: &Value,
) -> Verdict {
    let mut conflicting = Vec::new();
    let mut all_mine = true;
    for (field, asked) in mine {
        let now = theirs.get(field).unwrap_or(&Value::Null);
        if same_value(now, asked) {
            continue;
        }
        all_mine = false;
        let unchanged = base
            .and_then(|base| base.get(field))
            .is_some_and(|seen| same_value(now, seen));
        if !unchanged {
            conflicting.push(field.clone());
        }
    }
    if !conflicting.is_empty() {
        Verdict::Conflict(conflicting)
    } else if all_mine {
        Verdict::Landed
    } else {
        Verdict::Merge
    }
}

/// Numbers compare by value (Salesforce answers `5000.0` for `5000`), the rest exactly.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn another_field_changed_is_merged() {
        let mine = map(json!({"StageName": "Closed Won"}));
        let base = map(json!({"StageName": "Prospecting"}));
        let theirs = json!({"StageName": "Prospecting", "Amount": 9000.0});
        assert_eq!(judge(&mine, Some(&base), &theirs), Verdict::Merge);
    }

    #[test]
    fn the_same_field_changed_is_a_conflict_naming_it() {
        let mine = map(json!({"StageName": "Closed Won", "Amount": 100}));
        let base = map(json!({"StageName": "Prospecting", "Amount": 50}));
        let theirs = json!({"StageName": "Negotiation/Review", "Amount": 50.0});
        assert_eq!(
            judge(&mine, Some(&base), &theirs),
            Verdict::Conflict(vec!["StageName".into()])
        );
    }

    #[test]
    fn every_asked_value_already_there_has_landed() {
        let mine = map(json!({"Amount": 5000, "CloseDate": "2031-01-01"}));
        let theirs = json!({"Amount": 5000.0, "CloseDate": "2031-01-01", "Name": "x"});
        assert_eq!(judge(&mine, None, &theirs), Verdict::Landed);
        let base = map(json!({"Amount": 1}));
        assert_eq!(judge(&mine, Some(&base), &theirs), Verdict::Landed);
    }

    #[test]
    fn some_fields_landed_and_the_rest_at_base_is_merged() {
        let mine = map(json!({"Phone": "555", "Title": "CEO"}));
        let base = map(json!({"Phone": "111", "Title": "CTO"}));
        let theirs = json!({"Phone": "555", "Title": "CTO"});
        assert_eq!(judge(&mine, Some(&base), &theirs), Verdict::Merge);
    }

    #[test]
    fn without_a_base_any_field_not_as_asked_conflicts() {
        let mine = map(json!({"Phone": "555", "Title": "CEO"}));
        let theirs = json!({"Phone": "555", "Title": "CTO"});
        assert_eq!(
            judge(&mine, None, &theirs),
            Verdict::Conflict(vec!["Title".into()])
        );
        let partial_base = map(json!({"Phone": "111"}));
        assert_eq!(
            judge(&mine, Some(&partial_base), &theirs),
            Verdict::Conflict(vec!["Title".into()])
        );
    }

    #[test]
    fn clearing_a_field_compares_with_null_and_absent() {
        let mine = map(json!({"NextStep": null}));
        assert_eq!(judge(&mine, None, &json!({})), Verdict::Landed);
        let base = map(json!({"NextStep": "Call"}));
        assert_eq!(
            judge(&mine, Some(&base), &json!({"NextStep": "Call"})),
            Verdict::Merge
        );
        assert_eq!(
            judge(&mine, Some(&base), &json!({"NextStep": "Email"})),
            Verdict::Conflict(vec!["NextStep".into()])
        );
    }
}
