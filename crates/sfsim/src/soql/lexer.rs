//! Splits SOQL text into tokens, decoding string-literal escapes and unquoted date/datetime literals.

use time::{
    format_description::FormatItem, macros::format_description, Date, OffsetDateTime,
    PrimitiveDateTime,
};

use super::{ast::Pos, SyntaxError};

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// Identifier or keyword (keywords are recognised case-insensitively by the parser).
    Ident(String),
    String(String),
    Number(f64),
    Date(Date),
    DateTime(OffsetDateTime),
    Comma,
    Dot,
    LParen,
    RParen,
    Colon,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub pos: Pos,
    /// The token as written, for error messages.
    pub text: String,
}

const DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");
const DATETIME_Z: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]Z");
const DATETIME_OFFSET: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory]:[offset_minute]"
);

pub fn tokenize(source: &str) -> Result<Vec<Token>, SyntaxError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let (mut row, mut line_start) = (1usize, 0usize);
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos {
            row,
            column: i - line_start + 1,
        };
        if c == '\n' {
            row += 1;
            line_start = i + 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let kind = match c {
            ',' => single(&mut i, TokenKind::Comma),
            '.' => single(&mut i, TokenKind::Dot),
            '(' => single(&mut i, TokenKind::LParen),
            ')' => single(&mut i, TokenKind::RParen),
            ':' => single(&mut i, TokenKind::Colon),
            '=' => single(&mut i, TokenKind::Eq),
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                TokenKind::Ne
            }
            '<' => match chars.get(i + 1) {
                Some('=') => {
                    i += 2;
                    TokenKind::Le
                }
                Some('>') => {
                    i += 2;
                    TokenKind::Ne
                }
                _ => single(&mut i, TokenKind::Lt),
            },
            '>' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                TokenKind::Ge
            }
            '>' => single(&mut i, TokenKind::Gt),
            '\'' => TokenKind::String(string_literal(&chars, &mut i, pos)?),
            c if c.is_ascii_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                TokenKind::Ident(chars[start..i].iter().collect())
            }
            c if c.is_ascii_digit()
                || (matches!(c, '-' | '+')
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], ':' | '+' | '-' | '.'))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                number_or_date(&text).ok_or_else(|| SyntaxError::unexpected(pos, &text))?
            }
            other => return Err(SyntaxError::unexpected(pos, &other.to_string())),
        };
        tokens.push(Token {
            kind,
            pos,
            text: chars[start..i].iter().collect(),
        });
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        pos: Pos {
            row,
            column: chars.len() - line_start + 1,
        },
        text: "<EOF>".into(),
    });
    Ok(tokens)
}

fn single(i: &mut usize, kind: TokenKind) -> TokenKind {
    *i += 1;
    kind
}

/// Reads `'...'` starting at the opening quote, decoding SOQL's escapes (reference §7).
/// `\%` and `\_` stay escaped: they only mean something inside a LIKE pattern.
fn string_literal(chars: &[char], i: &mut usize, pos: Pos) -> Result<String, SyntaxError> {
    let mut value = String::new();
    *i += 1;
    loop {
        let Some(&c) = chars.get(*i) else {
            return Err(SyntaxError::new(pos, "unterminated string literal".into()));
        };
        *i += 1;
        match c {
            '\'' => return Ok(value),
            '\\' => {
                let Some(&escaped) = chars.get(*i) else {
                    return Err(SyntaxError::new(pos, "unterminated string literal".into()));
                };
                *i += 1;
                match escaped {
                    'n' | 'N' => value.push('\n'),
                    'r' | 'R' => value.push('\r'),
                    't' | 'T' => value.push('\t'),
                    'b' | 'B' => value.push('\u{8}'),
                    'f' | 'F' => value.push('\u{c}'),
                    '"' | '\'' | '\\' => value.push(escaped),
                    '%' | '_' => {
                        value.push('\\');
                        value.push(escaped);
                    }
                    'u' => {
                        let hex: String =
                            chars.get(*i..*i + 4).unwrap_or_default().iter().collect();
                        let decoded = u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == 4)
                            .and_then(char::from_u32)
                            .ok_or_else(|| illegal_escape(pos, &format!("u{hex}")))?;
                        *i += 4;
                        value.push(decoded);
                    }
                    other => return Err(illegal_escape(pos, &other.to_string())),
                }
            }
            other => value.push(other),
        }
    }
}

fn illegal_escape(pos: Pos, sequence: &str) -> SyntaxError {
    SyntaxError::new(
        pos,
        format!("Illegal character sequence '\\{sequence}' in string literal."),
    )
}

fn number_or_date(text: &str) -> Option<TokenKind> {
    let has_digits_only = text
        .trim_start_matches(['-', '+'])
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.');
    if has_digits_only {
        return text.parse::<f64>().ok().map(TokenKind::Number);
    }
    if let Ok(date) = Date::parse(text, DATE) {
        return Some(TokenKind::Date(date));
    }
    // Per the SOQL guide: `…ssZ` or `…ss+hh:mm`/`-hh:mm`. Fractional seconds are accepted too
    // (the reference marks their rejection unconfirmed, and real clients send them).
    PrimitiveDateTime::parse(text, DATETIME_Z)
        .map(PrimitiveDateTime::assume_utc)
        .or_else(|_| OffsetDateTime::parse(text, DATETIME_OFFSET))
        .ok()
        .map(TokenKind::DateTime)
}
