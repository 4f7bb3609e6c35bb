//! A small SOQL front end: tokenizer + recursive-descent parser producing [`ast::Query`].
//! Semantic checks (does the field exist?) belong to the query engine, which knows the schema.

pub mod ast;
mod lexer;
mod parser;

pub use parser::parse;

use ast::Pos;

/// A query that is not SOQL: answered as `MALFORMED_QUERY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    /// The last line of the message, e.g. `unexpected token: 'FORM'`.
    pub detail: String,
}

impl SyntaxError {
    fn new(pos: Pos, detail: String) -> Self {
        Self { pos, detail }
    }

    fn unexpected(pos: Pos, token: &str) -> Self {
        // Real messages quote the token, except end of input (`<EOF>`) — wording unconfirmed.
        let detail = if token == "<EOF>" {
            "unexpected token: <EOF>".to_owned()
        } else {
            format!("unexpected token: '{token}'")
        };
        Self::new(pos, detail)
    }
}

/// Salesforce's message layout for query errors: the offending line, a caret under the column,
/// `ERROR at Row:R:Column:C`, then the detail (reference §2.2, INVALID_FIELD example).
pub fn error_message(source: &str, pos: Pos, detail: &str) -> String {
    let line = source.lines().nth(pos.row - 1).unwrap_or("");
    format!(
        "\n{line}\n{caret:>width$}\nERROR at Row:{row}:Column:{column}\n{detail}",
        caret = "^",
        width = pos.column,
        row = pos.row,
        column = pos.column,
    )
}
