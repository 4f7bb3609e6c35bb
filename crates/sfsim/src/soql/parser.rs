//! Recursive descent over the tokens:
//!
//! ```text
//! query     := SELECT selectList FROM ident [WHERE condition] [ORDER BY orderItem {, orderItem}]
//!              [LIMIT int] [OFFSET int] EOF
//! selectList:= COUNT '(' ')' | fieldPath {, fieldPath}
//! condition := unary {AND unary} | unary {OR unary}      -- mixing needs parentheses, as in SOQL
//! unary     := NOT unary | '(' condition ')' | predicate
//! predicate := fieldPath op literal | fieldPath [NOT] IN '(' literal {, literal} ')' | fieldPath LIKE string
//! ```

use super::{
    ast::*,
    lexer::{tokenize, Token, TokenKind},
    SyntaxError,
};

pub fn parse(source: &str) -> Result<Query, SyntaxError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser { tokens, at: 0 };
    let query = parser.query()?;
    parser.expect_eof()?;
    Ok(query)
}

/// Words that end a field list or a condition and so can never be field names here.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET",
    "NULL", "TRUE", "FALSE", "ASC", "DESC", "NULLS", "GROUP", "HAVING", "WITH",
];

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at]
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn unexpected(&self) -> SyntaxError {
        let token = self.peek();
        SyntaxError::unexpected(token.pos, &token.text)
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Ident(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(keyword);
        if found {
            self.advance();
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), SyntaxError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, kind: TokenKind) -> Result<Token, SyntaxError> {
        if self.peek().kind == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_eof(&mut self) -> Result<(), SyntaxError> {
        self.expect(TokenKind::Eof).map(|_| ())
    }

    fn query(&mut self) -> Result<Query, SyntaxError> {
        self.expect_keyword("SELECT")?;
        let select = self.select_list()?;
        self.expect_keyword("FROM")?;
        let from = self.name()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                order_by.push(self.order_item()?);
                if self.expect(TokenKind::Comma).is_err() {
                    break;
                }
            }
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.unsigned()?)
        } else {
            None
        };
        let offset = if self.eat_keyword("OFFSET") {
            Some(self.unsigned()?)
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    fn select_list(&mut self) -> Result<Vec<SelectItem>, SyntaxError> {
        if self.is_keyword("COUNT")
            && self.tokens.get(self.at + 1).map(|t| &t.kind) == Some(&TokenKind::LParen)
        {
            let pos = self.advance().pos;
            self.expect(TokenKind::LParen)?;
            self.expect(TokenKind::RParen)?;
            return Ok(vec![SelectItem::Count(pos)]);
        }
        let mut items = vec![SelectItem::Field(self.field_path()?)];
        while self.expect(TokenKind::Comma).is_ok() {
            items.push(SelectItem::Field(self.field_path()?));
        }
        Ok(items)
    }

    /// An identifier that is not a reserved word.
    fn name(&mut self) -> Result<Name, SyntaxError> {
        match &self.peek().kind {
            TokenKind::Ident(word) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word)) => {
                let token = self.advance();
                Ok(Name {
                    text: token.text,
                    pos: token.pos,
                })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn field_path(&mut self) -> Result<FieldPath, SyntaxError> {
        let mut parts = vec![self.name()?];
        while self.expect(TokenKind::Dot).is_ok() {
            parts.push(self.name()?);
        }
        Ok(FieldPath { parts })
    }

    fn order_item(&mut self) -> Result<OrderItem, SyntaxError> {
        let field = self.field_path()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        let nulls_first = if self.eat_keyword("NULLS") {
            if self.eat_keyword("FIRST") {
                Some(true)
            } else {
                self.expect_keyword("LAST")?;
                Some(false)
            }
        } else {
            None
        };
        Ok(OrderItem {
            field,
            descending,
            nulls_first,
        })
    }

    fn unsigned(&mut self) -> Result<u64, SyntaxError> {
        match self.peek().kind {
            TokenKind::Number(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => {
                self.advance();
                Ok(n as u64)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn condition(&mut self) -> Result<Condition, SyntaxError> {
        let first = self.unary()?;
        let joiner = if self.is_keyword("AND") {
            "AND"
        } else if self.is_keyword("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut terms = vec![first];
        while self.eat_keyword(joiner) {
            terms.push(self.unary()?);
        }
        // `a AND b OR c` is ambiguous in SOQL and rejected; the stray keyword is the unexpected token.
        Ok(if joiner == "AND" {
            Condition::And(terms)
        } else {
            Condition::Or(terms)
        })
    }

    fn unary(&mut self) -> Result<Condition, SyntaxError> {
        if self.eat_keyword("NOT") {
            return Ok(Condition::Not(Box::new(self.unary()?)));
        }
        if self.expect(TokenKind::LParen).is_ok() {
            let inner = self.condition()?;
            self.expect(TokenKind::RParen)?;
            return Ok(inner);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Condition, SyntaxError> {
        let field = self.field_path()?;
        let op = match self.peek().kind {
            TokenKind::Eq => Some(CompareOp::Eq),
            TokenKind::Ne => Some(CompareOp::Ne),
            TokenKind::Lt => Some(CompareOp::Lt),
            TokenKind::Le => Some(CompareOp::Le),
            TokenKind::Gt => Some(CompareOp::Gt),
            TokenKind::Ge => Some(CompareOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.advance();
            let value = self.literal()?;
            return Ok(Condition::Compare { field, op, value });
        }
        if self.eat_keyword("LIKE") {
            let pattern = self.literal()?;
            return Ok(Condition::Like { field, pattern });
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            self.expect(TokenKind::LParen)?;
            let mut values = vec![self.literal()?];
            while self.expect(TokenKind::Comma).is_ok() {
                values.push(self.literal()?);
            }
            self.expect(TokenKind::RParen)?;
            return Ok(Condition::In {
                field,
                values,
                negated,
            });
        }
        Err(self.unexpected())
    }

    fn literal(&mut self) -> Result<Literal, SyntaxError> {
        let token = self.peek().clone();
        let value = match token.kind {
            TokenKind::String(s) => LiteralValue::String(s),
            TokenKind::Number(n) => LiteralValue::Number(n),
            TokenKind::Date(d) => LiteralValue::Date(d),
            TokenKind::DateTime(dt) => LiteralValue::DateTime(dt),
            TokenKind::Ident(word) if word.eq_ignore_ascii_case("null") => LiteralValue::Null,
            TokenKind::Ident(word) if word.eq_ignore_ascii_case("true") => LiteralValue::Bool(true),
            TokenKind::Ident(word) if word.eq_ignore_ascii_case("false") => {
                LiteralValue::Bool(false)
            }
            TokenKind::Ident(word) if RelativeDate::fixed(&word).is_some() => {
                LiteralValue::Relative(RelativeDate::fixed(&word).expect("checked"))
            }
            TokenKind::Ident(word) if RelativeDate::with_n(&word).is_some() => {
                let make = RelativeDate::with_n(&word).expect("checked");
                self.advance();
                self.expect(TokenKind::Colon)?;
                let n = self.unsigned()?;
                return Ok(Literal {
                    value: LiteralValue::Relative(make(n as u32)),
                    pos: token.pos,
                });
            }
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok(Literal {
            value,
            pos: token.pos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn names(path: &FieldPath) -> Vec<&str> {
        path.parts.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn parses_the_gateways_keyset_query() {
        let query = parse(
            "SELECT Id, Name, Account.Name FROM Contact WHERE SystemModstamp > 2024-05-01T10:00:00Z \
             OR (SystemModstamp = 2024-05-01T10:00:00Z AND Id > '0038d000001abcDEF') \
             ORDER BY SystemModstamp, Id LIMIT 2000",
        )
        .expect("valid SOQL");
        assert_eq!(query.from.text, "Contact");
        assert_eq!(query.select.len(), 3);
        match &query.select[2] {
            SelectItem::Field(path) => assert_eq!(names(path), ["Account", "Name"]),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(query.limit, Some(2000));
        assert_eq!(query.order_by.len(), 2);
        let Some(Condition::Or(terms)) = &query.filter else {
            panic!("expected OR, got {:?}", query.filter)
        };
        assert_eq!(terms.len(), 2);
        match &terms[0] {
            Condition::Compare { op, value, .. } => {
                assert_eq!(*op, CompareOp::Gt);
                assert_eq!(
                    value.value,
                    LiteralValue::DateTime(datetime!(2024-05-01 10:00:00 UTC))
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(&terms[1], Condition::And(inner) if inner.len() == 2));
    }

    #[test]
    fn keywords_are_case_insensitive_and_order_options_parse() {
        let query = parse(
            "select id from account order by Name desc nulls first, Id asc limit 5 offset 10",
        )
        .expect("valid SOQL");
        assert!(query.order_by[0].descending);
        assert!(query.order_by[0].nulls_first());
        assert!(!query.order_by[1].descending);
        assert!(query.order_by[1].nulls_first());
        assert_eq!((query.limit, query.offset), (Some(5), Some(10)));
    }

    #[test]
    fn datetime_with_offset_is_converted_to_an_instant() {
        let query =
            parse("SELECT Id FROM Contact WHERE SystemModstamp >= 2024-05-01T12:00:00+02:00")
                .expect("valid SOQL");
        let Some(Condition::Compare { value, .. }) = query.filter else {
            panic!("expected a comparison")
        };
        let LiteralValue::DateTime(at) = value.value else {
            panic!("expected a datetime")
        };
        assert_eq!(at, datetime!(2024-05-01 10:00:00 UTC));
    }

    #[test]
    fn string_escapes_are_decoded() {
        let query = parse(r"SELECT Id FROM Contact WHERE LastName = 'O\'Brien \\ \n\u00e9'")
            .expect("valid SOQL");
        let Some(Condition::Compare { value, .. }) = query.filter else {
            panic!("expected a comparison")
        };
        assert_eq!(value.value, LiteralValue::String("O'Brien \\ \né".into()));
    }

    #[test]
    fn in_not_in_like_not_null_and_booleans() {
        let query = parse(
            "SELECT Id FROM Opportunity WHERE (StageName IN ('Prospecting', 'Closed Won') \
             AND NOT Name LIKE 'Acme%') AND AccountId != null AND IsWon = false AND Amount NOT IN (1, 2.5)",
        )
        .expect("valid SOQL");
        let Some(Condition::And(terms)) = query.filter else {
            panic!("expected AND")
        };
        assert_eq!(terms.len(), 4);
        assert!(
            matches!(&terms[0], Condition::And(inner) if matches!(inner[1], Condition::Not(_)))
        );
        assert!(
            matches!(&terms[3], Condition::In { negated: true, values, .. } if values.len() == 2)
        );
    }

    #[test]
    fn relative_date_literals() {
        let query = parse(
            "SELECT Id FROM Task WHERE ActivityDate = TODAY OR ActivityDate > last_n_days:7 OR CreatedDate < THIS_WEEK",
        )
        .expect("valid SOQL");
        let Some(Condition::Or(terms)) = query.filter else {
            panic!("expected OR")
        };
        let values: Vec<_> = terms
            .iter()
            .map(|t| match t {
                Condition::Compare { value, .. } => value.value.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            values,
            [
                LiteralValue::Relative(RelativeDate::Today),
                LiteralValue::Relative(RelativeDate::LastNDays(7)),
                LiteralValue::Relative(RelativeDate::ThisWeek),
            ]
        );
        assert!(parse("SELECT Id FROM Task WHERE ActivityDate = LAST_N_DAYS").is_err());
        assert!(parse("SELECT Id FROM Task WHERE ActivityDate = LAST_N_DAYS:x").is_err());
    }

    #[test]
    fn relative_spans() {
        use time::macros::date;
        // 2026-11-22 is a Sunday.
        let today = date!(2026 - 11 - 25);
        assert_eq!(
            RelativeDate::Today.span(today),
            (today, date!(2026 - 11 - 26))
        );
        assert_eq!(
            RelativeDate::ThisWeek.span(today),
            (date!(2026 - 11 - 22), date!(2026 - 11 - 29))
        );
        assert_eq!(
            RelativeDate::LastNDays(2).span(today),
            (date!(2026 - 11 - 23), date!(2026 - 11 - 26))
        );
        assert_eq!(
            RelativeDate::NextNDays(2).span(today),
            (date!(2026 - 11 - 26), date!(2026 - 11 - 28))
        );
        assert_eq!(
            RelativeDate::NextMonth.span(today),
            (date!(2026 - 12 - 01), date!(2027 - 01 - 01))
        );
    }

    #[test]
    fn count_query() {
        let query = parse("SELECT COUNT() FROM Contact").expect("valid SOQL");
        assert!(matches!(query.select[0], SelectItem::Count(_)));
    }

    #[test]
    fn syntax_errors_name_the_token_and_its_position() {
        let error = parse("SELECT Id FORM Contact").expect_err("typo");
        assert_eq!(error.detail, "unexpected token: 'FORM'");
        assert_eq!(error.pos, Pos { row: 1, column: 11 });

        let error = parse("SELECT Id FROM Contact WHERE").expect_err("dangling WHERE");
        assert_eq!(error.detail, "unexpected token: <EOF>");

        let error = parse("SELECT Id FROM Contact WHERE Name = 'a' AND Name = 'b' OR Name = 'c'")
            .expect_err("AND and OR mixed without parentheses");
        assert_eq!(error.detail, "unexpected token: 'OR'");
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        for bad in [
            "",
            "SELECT",
            "SELECT FROM Contact",
            "SELECT Id, FROM Contact",
            "SELECT Id FROM Contact WHERE Name = 'unterminated",
            r"SELECT Id FROM Contact WHERE Name = 'bad \q escape'",
            "SELECT Id FROM Contact WHERE CreatedDate > 2024-13-45T99:00:00Z",
            "SELECT Id FROM Contact WHERE CreatedDate > 2024-05-01T10:00:00+0000",
            "SELECT Id FROM Contact LIMIT -1",
            "SELECT Id FROM Contact WHERE (Name = 'a'",
            "SELECT Id FROM Contact WHERE Name IN ()",
            "SELECT Id FROM Contact #",
            r"SELECT Id FROM Contact WHERE Name = '\u12'",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn error_message_points_at_the_column() {
        let message = super::super::error_message(
            "SELECT Id, Nmae FROM Contact",
            Pos { row: 1, column: 12 },
            "x",
        );
        assert_eq!(
            message,
            "\nSELECT Id, Nmae FROM Contact\n           ^\nERROR at Row:1:Column:12\nx"
        );
    }
}
