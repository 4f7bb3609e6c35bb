//! The parsed form of a SOQL query.

use time::{Date, OffsetDateTime};

/// 1-based row and column of a token in the query text (SOQL error messages quote them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub row: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Name,
    pub filter: Option<Condition>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `Name` or `Account.Owner.Name`.
    Field(FieldPath),
    /// `COUNT()`: only the number of rows is returned.
    Count(Pos),
}

/// An identifier as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub pos: Pos,
}

/// A dotted field path: every part but the last is a relationship name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub parts: Vec<Name>,
}

impl FieldPath {
    pub fn pos(&self) -> Pos {
        self.parts[0].pos
    }

    pub fn dotted(&self) -> String {
        self.parts
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        field: FieldPath,
        op: CompareOp,
        value: Literal,
    },
    In {
        field: FieldPath,
        values: Vec<Literal>,
        negated: bool,
    },
    Like {
        field: FieldPath,
        pattern: Literal,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub value: LiteralValue,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiteralValue {
    Null,
    Bool(bool),
    /// Kept as written so integers and decimals both survive.
    Number(f64),
    String(String),
    Date(Date),
    DateTime(OffsetDateTime),
    /// `TODAY`, `LAST_N_DAYS:7`, …: a span of days relative to the query's "now".
    Relative(RelativeDate),
}

/// SOQL's relative date literals (weeks start on Sunday, as in the en_US locale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelativeDate {
    Today,
    Yesterday,
    Tomorrow,
    LastWeek,
    ThisWeek,
    NextWeek,
    LastMonth,
    ThisMonth,
    NextMonth,
    LastYear,
    ThisYear,
    NextYear,
    Last90Days,
    Next90Days,
    LastNDays(u32),
    NextNDays(u32),
    LastNWeeks(u32),
    NextNWeeks(u32),
    LastNMonths(u32),
    NextNMonths(u32),
}

impl RelativeDate {
    /// A literal without `:n`, by its (case-insensitive) name.
    pub fn fixed(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "TODAY" => Self::Today,
            "YESTERDAY" => Self::Yesterday,
            "TOMORROW" => Self::Tomorrow,
            "LAST_WEEK" => Self::LastWeek,
            "THIS_WEEK" => Self::ThisWeek,
            "NEXT_WEEK" => Self::NextWeek,
            "LAST_MONTH" => Self::LastMonth,
            "THIS_MONTH" => Self::ThisMonth,
            "NEXT_MONTH" => Self::NextMonth,
            "LAST_YEAR" => Self::LastYear,
            "THIS_YEAR" => Self::ThisYear,
            "NEXT_YEAR" => Self::NextYear,
            "LAST_90_DAYS" => Self::Last90Days,
            "NEXT_90_DAYS" => Self::Next90Days,
            _ => return None,
        })
    }

    /// A literal written `NAME:n`, when `name` is one of those.
    pub fn with_n(name: &str) -> Option<fn(u32) -> Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "LAST_N_DAYS" => Self::LastNDays,
            "NEXT_N_DAYS" => Self::NextNDays,
            "LAST_N_WEEKS" => Self::LastNWeeks,
            "NEXT_N_WEEKS" => Self::NextNWeeks,
            "LAST_N_MONTHS" => Self::LastNMonths,
            "NEXT_N_MONTHS" => Self::NextNMonths,
            _ => return None,
        })
    }

    /// The days covered, `[start, end)`, for a query run on `today`.
    pub fn span(self, today: Date) -> (Date, Date) {
        use time::{Duration, Month};
        let day = |n: i64| today.saturating_add(Duration::days(n));
        let sunday = today.saturating_sub(Duration::days(
            today.weekday().number_days_from_sunday() as i64,
        ));
        let week = |n: i64| sunday.saturating_add(Duration::weeks(n));
        let month = |n: i32| {
            let index = today.year() * 12 + today.month() as i32 - 1 + n;
            let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
            Date::from_calendar_date(year, Month::January.nth_next(month0 as u8), 1)
                .unwrap_or(today)
        };
        let year = |n: i32| Date::from_ordinal_date(today.year() + n, 1).unwrap_or(today);
        let n64 = |n: u32| i64::from(n.min(100_000));
        let n32 = |n: u32| n.min(100_000) as i32;
        match self {
            Self::Today => (day(0), day(1)),
            Self::Yesterday => (day(-1), day(0)),
            Self::Tomorrow => (day(1), day(2)),
            Self::LastWeek => (week(-1), week(0)),
            Self::ThisWeek => (week(0), week(1)),
            Self::NextWeek => (week(1), week(2)),
            Self::LastMonth => (month(-1), month(0)),
            Self::ThisMonth => (month(0), month(1)),
            Self::NextMonth => (month(1), month(2)),
            Self::LastYear => (year(-1), year(0)),
            Self::ThisYear => (year(0), year(1)),
            Self::NextYear => (year(1), year(2)),
            // "Last n days" includes today; "next n days" starts tomorrow.
            Self::Last90Days => (day(-90), day(1)),
            Self::Next90Days => (day(1), day(91)),
            Self::LastNDays(n) => (day(-n64(n)), day(1)),
            Self::NextNDays(n) => (day(1), day(1 + n64(n))),
            Self::LastNWeeks(n) => (week(-n64(n)), week(0)),
            Self::NextNWeeks(n) => (week(1), week(1 + n64(n))),
            Self::LastNMonths(n) => (month(-n32(n)), month(0)),
            Self::NextNMonths(n) => (month(1), month(1 + n32(n))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub field: FieldPath,
    pub descending: bool,
    /// `None`: SOQL's default (nulls first ascending, last descending).
    pub nulls_first: Option<bool>,
}

impl OrderItem {
    pub fn nulls_first(&self) -> bool {
        self.nulls_first.unwrap_or(!self.descending)
    }
}
