//! `show` without `--json`: a record as indented `key: value` lines (nested lists indented).

use serde_json::Value;

pub(crate) fn render(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::Null => {}
                    Value::Object(_) => {
                        out.push_str(&format!("{indent}{key}:\n"));
                        write_value(out, item, depth + 1);
                    }
                    Value::Array(items) if items.is_empty() => {}
                    Value::Array(items) => {
                        out.push_str(&format!("{indent}{key}:\n"));
                        for entry in items {
                            out.push_str(&format!("{indent}  -\n"));
                            write_value(out, entry, depth + 2);
                        }
                    }
                    scalar => out.push_str(&format!("{indent}{key}: {}\n", scalar_text(scalar))),
                }
            }
        }
        other => out.push_str(&format!("{indent}{}\n", scalar_text(other))),
    }
}

/// Strings without quotes; control characters (a newline in a description) as spaces.
fn scalar_text(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_records_are_indented_and_nulls_left_out() {
        let value = serde_json::json!({
            "id": "003000000000001AAA",
            "name": "Ada Lovelace",
            "email": null,
            "account": {"id": "001000000000001AAA", "name": "Acme"},
            "recent_tasks": [{"subject": "Call\nback", "is_closed": true}],
            "open_opportunities": []
        });
        // serde_json's map is sorted by key.
        assert_eq!(
            render(&value),
            "account:\n  id: 001000000000001AAA\n  name: Acme\nid: 003000000000001AAA\n\
             name: Ada Lovelace\nrecent_tasks:\n  -\n    is_closed: true\n    subject: Call back\n"
        );
    }
}
