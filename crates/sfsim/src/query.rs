//! Runs a parsed SOQL query against the store: checks names against the schema (with Salesforce's
//! error codes and messages), applies sharing, filters, sorts, limits, and renders result rows.

use std::{borrow::Cow, cmp::Ordering, ops::Bound, sync::Arc};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use crate::{
    ids,
    schema::{self, FieldDef, FieldKind, ObjectDef},
    soql::{self, ast::*},
    stamp_index::{at_stamp, later_start, StampStart},
    store::{stamp_millis, Entry, OrgUser, Record, Store},
};

/// A query the org refuses, with its REST `errorCode` and full message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub error_code: &'static str,
    pub message: String,
}

/// Every matching record, in order, as 15-char ids; rows are rendered a page at a time
/// ([`render_page`]) so a 100,000-row result costs only what one page shows.
#[derive(Debug)]
pub struct QueryOutput {
    pub total_size: usize,
    pub ids: Vec<Arc<str>>,
    pub plan: Arc<Plan>,
}

/// What a page of the result renders: the object, the SELECT tree and the API version.
#[derive(Debug)]
pub struct Plan {
    object: &'static ObjectDef,
    columns: Vec<Column>,
    api_version: String,
}

/// The rows of `ids` (a page of a [`QueryOutput`]) over the records as they are now, serialised
/// straight from the store (no intermediate JSON values). A page fetched later shows later
/// edits; a record purged since (an `allOrNone` rollback) is left out.
pub fn render_page<'a>(store: &'a Store, plan: &'a Plan, ids: &[Arc<str>]) -> Vec<RowView<'a>> {
    ids.iter()
        .filter_map(|id| store.get_any(plan.object, id))
        .map(|record| RowView {
            store,
            object: plan.object,
            record,
            columns: &plan.columns,
            api_version: &plan.api_version,
        })
        .collect()
}

/// A query result row, borrowed from the store and rendered as it is serialised: `attributes`
/// first, then the selected fields in order, parents as nested rows (or `null`).
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    store: &'a Store,
    object: &'a ObjectDef,
    record: &'a Record,
    columns: &'a [Column],
    api_version: &'a str,
}

impl Serialize for RowView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len() + 1))?;
        map.serialize_entry(
            "attributes",
            &Attributes {
                object: self.object.name,
                id: self
                    .record
                    .get("Id")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                api_version: self.api_version,
            },
        )?;
        for column in self.columns {
            match column {
                Column::Field(name) => {
                    map.serialize_entry(name, self.record.get(*name).unwrap_or(&Value::Null))?
                }
                Column::Parent {
                    relationship,
                    lookup,
                    object,
                    columns,
                } => {
                    let parent = self
                        .record
                        .get(*lookup)
                        .and_then(Value::as_str)
                        .and_then(|parent_id| self.store.get(object, parent_id))
                        .map(|record| RowView {
                            store: self.store,
                            object,
                            record,
                            columns,
                            api_version: self.api_version,
                        });
                    map.serialize_entry(relationship, &parent)?;
                }
            }
        }
        map.end()
    }
}

/// A row's `attributes`: `{"type": …, "url": "/services/data/vXX.X/sobjects/{type}/{id}"}`.
struct Attributes<'a> {
    object: &'a str,
    id: &'a str,
    api_version: &'a str,
}

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("type", self.object)?;
        map.serialize_entry("url", &AttributesUrl(self))?;
        map.end()
    }
}

struct AttributesUrl<'a>(&'a Attributes<'a>);

impl Serialize for AttributesUrl<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Attributes {
            object,
            id,
            api_version,
        } = self.0;
        // Written into the output as it is formatted: no String per row.
        serializer.collect_str(&format_args!(
            "/services/data/v{api_version}/sobjects/{object}/{id}"
        ))
    }
}

/// One record as `GET /sobjects/{type}/{id}` renders it: `attributes` first, then the given
/// fields in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(Vec<(&'static str, Value)>);

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// How a query runs: the API version for `attributes.url`, whether the recycle bin is included
/// (`queryAll`) and "now" for relative date literals.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub api_version: &'a str,
    pub include_deleted: bool,
    pub now: time::OffsetDateTime,
}

/// Real orgs refuse an OFFSET above 2000.
const MAX_OFFSET: u64 = 2000;

pub fn run(
    store: &Store,
    user: &OrgUser,
    source: &str,
    options: &Options,
) -> Result<QueryOutput, QueryError> {
    run_with(
        store,
        user,
        source,
        options,
        Access::StampIndexWherePossible,
    )
}

/// How [`run_with`] finds rows. Both ways give the same answer; tests compare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Keyset-shaped queries read a range of the object's stamp index, the rest scan.
    StampIndexWherePossible,
    /// Every query scans the whole table.
    #[cfg_attr(not(test), allow(dead_code))]
    TableScan,
}

fn run_with(
    store: &Store,
    user: &OrgUser,
    source: &str,
    options: &Options,
    access: Access,
) -> Result<QueryOutput, QueryError> {
    let api_version = options.api_version;
    let query = soql::parse(source).map_err(|e| QueryError {
        error_code: "MALFORMED_QUERY",
        message: soql::error_message(source, e.pos, &e.detail),
    })?;
    let checker = Checker {
        source,
        today: options.now.date(),
    };
    if query.offset.is_some_and(|o| o > MAX_OFFSET) {
        return Err(QueryError {
            error_code: "NUMBER_OUTSIDE_VALID_RANGE",
            message: format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
        });
    }
    let object = schema::object(&query.from.text).ok_or_else(|| {
        checker.error(
            "INVALID_TYPE",
            query.from.pos,
            // Wording of the tail follows the INVALID_FIELD message; unconfirmed for INVALID_TYPE.
            &format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                query.from.text
            ),
        )
    })?;

    let mut columns = Vec::new();
    let mut count_only = false;
    for item in &query.select {
        match item {
            SelectItem::Count(_) => count_only = true,
            SelectItem::Field(path) => {
                let resolved = checker.resolve(object, path)?;
                if !add_column(&mut columns, &resolved) {
                    // Real orgs refuse a repeated field; code assumed MALFORMED_QUERY (unconfirmed).
                    return Err(checker.error(
                        "MALFORMED_QUERY",
                        path.pos(),
                        &format!("duplicate field selected: {}", path.dotted()),
                    ));
                }
            }
        }
    }
    let filter = query
        .filter
        .as_ref()
        .map(|c| checker.filter(object, c))
        .transpose()?;
    let order: Vec<(Resolved, &OrderItem)> = query
        .order_by
        .iter()
        .map(|item| Ok((checker.resolve(object, &item.field)?, item)))
        .collect::<Result<_, QueryError>>()?;

    let offset = query.offset.unwrap_or(0) as usize;
    let limit = query.limit.map_or(usize::MAX, |l| l as usize);
    let plan = Arc::new(Plan {
        object,
        columns,
        api_version: api_version.to_owned(),
    });
    let stamp_order = StampOrder::of(&order);

    // Keyset sync's query: the live records after its position, already in order.
    let indexed = access == Access::StampIndexWherePossible
        && !options.include_deleted
        && stamp_order.is_some_and(StampOrder::is_ascending);
    if let Some(keyset) = indexed.then(|| KeysetStart::of(filter.as_ref())).flatten() {
        let rows = store
            .live_by_stamp(object, keyset.start)
            .filter(|row| store.can_read_row(object, row, user))
            .filter(|row| {
                // Every row from the start on matches a filter that is exactly "from there on".
                keyset.exact
                    || filter.as_ref().is_none_or(|f| {
                        store
                            .entry(object, row.id15)
                            .is_some_and(|entry| f.matches(store, entry))
                    })
            })
            .map(|row| row.id15);
        return Ok(output(plan, count_only, rows.skip(offset).take(limit)));
    }

    let visible = store
        .entries(object, options.include_deleted)
        .filter(|entry| store.can_read_entry(object, entry, user))
        .filter(|entry| filter.as_ref().is_none_or(|f| f.matches(store, entry)));
    let mut matches: Vec<&Entry> = if let Some(stamp_order) = stamp_order {
        // Keys taken during the scan, while each entry is in cache.
        stamp_order.first(
            visible,
            store.table_len(object),
            offset.saturating_add(limit),
        )
    } else if order.is_empty() && !count_only {
        // Unordered with a LIMIT: stop scanning once enough rows matched.
        visible.take(offset.saturating_add(limit)).collect()
    } else {
        // Sized for the whole table up front: growing by doubling to 100,000 rows reallocates
        // (and copies) again and again.
        let mut all = Vec::with_capacity(store.table_len(object));
        all.extend(visible);
        all
    };
    if stamp_order.is_none() && !order.is_empty() {
        // Keys in one flat vector (row i's keys at i*width..), rows sorted as indices into it:
        // no allocation per row. `matches` is in id order, so an `Id` key (and the final
        // tie-break) compares row indices instead of the ids themselves.
        let width = order.len();
        let is_own_id = |path: &Resolved| path.steps.is_empty() && path.field.kind == FieldKind::Id;
        let keys: Vec<Option<Typed>> = matches
            .iter()
            .flat_map(|entry| {
                order.iter().map(|(path, _)| {
                    if is_own_id(path) {
                        None
                    } else {
                        path.typed(store, entry)
                    }
                })
            })
            .collect();
        let mut rows: Vec<u32> = (0..matches.len() as u32).collect();
        let compare = |a: &u32, b: &u32| {
            let (i, j) = (*a as usize, *b as usize);
            order
                .iter()
                .zip(
                    keys[i * width..(i + 1) * width]
                        .iter()
                        .zip(&keys[j * width..(j + 1) * width]),
                )
                .map(|((path, item), (x, y))| {
                    if is_own_id(path) {
                        let by_id = a.cmp(b);
                        if item.descending {
                            by_id.reverse()
                        } else {
                            by_id
                        }
                    } else {
                        compare_for_order(x.as_ref(), y.as_ref(), item)
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.cmp(b))
        };
        // With a LIMIT only the first offset+limit rows need a full sort.
        let wanted = offset.saturating_add(limit);
        if wanted < rows.len() {
            rows.select_nth_unstable_by(wanted, compare);
            rows.truncate(wanted);
        }
        rows.sort_unstable_by(compare);
        matches = rows.into_iter().map(|i| matches[i as usize]).collect();
    }
    let selected = matches
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|entry| &entry.id15);
    Ok(output(plan, count_only, selected))
}

/// The answer for the selected rows (OFFSET and LIMIT applied): only their number for COUNT().
fn output<'s>(
    plan: Arc<Plan>,
    count_only: bool,
    selected: impl Iterator<Item = &'s Arc<str>>,
) -> QueryOutput {
    if count_only {
        return QueryOutput {
            total_size: selected.count(),
            ids: Vec::new(),
            plan,
        };
    }
    let ids: Vec<Arc<str>> = selected.cloned().collect();
    QueryOutput {
        total_size: ids.len(),
        ids,
        plan,
    }
}

/// Where in the stamp index a query ordered by `SystemModstamp, Id` can start: every record its
/// WHERE accepts is at or after `start`. When `exact`, the WHERE accepts every record from there
/// on, so it need not be evaluated.
#[derive(Debug)]
struct KeysetStart {
    start: StampStart,
    exact: bool,
}

impl KeysetStart {
    fn of(filter: Option<&Filter>) -> Option<Self> {
        match filter {
            None => Some(Self {
                start: Bound::Unbounded,
                exact: true,
            }),
            Some(filter) => filter.stamp_start(),
        }
    }

    fn inexact(start: StampStart) -> Self {
        Self {
            start,
            exact: false,
        }
    }
}

/// `ORDER BY SystemModstamp [, Id]`, keyset sync's order, sorted as one `(i64, u32)` pair per
/// row: the general path's per-comparison walk over typed keys costs more than the whole sort.
/// `SystemModstamp` is never null, so NULLS FIRST/LAST cannot matter.
#[derive(Debug, Clone, Copy)]
struct StampOrder {
    stamp_descending: bool,
    /// The tie-break on row position (= id order): descending only for `Id DESC`.
    id_descending: bool,
}

impl StampOrder {
    /// The index's own order: stamp, then id, both ascending.
    fn is_ascending(self) -> bool {
        !self.stamp_descending && !self.id_descending
    }

    fn of(order: &[(Resolved, &OrderItem)]) -> Option<Self> {
        let own = |path: &Resolved| path.steps.is_empty();
        let (first, rest) = order.split_first()?;
        if !(own(&first.0) && first.0.field.name == "SystemModstamp") {
            return None;
        }
        let id_descending = match rest {
            [] => false,
            [(path, item)] if own(path) && path.field.kind == FieldKind::Id => item.descending,
            _ => return None,
        };
        Some(Self {
            stamp_descending: first.1.descending,
            id_descending,
        })
    }

    /// The first `wanted` of `visible` (given in id order) in this order; `capacity` sizes the
    /// key vector (the table's length).
    fn first<'s>(
        self,
        visible: impl Iterator<Item = &'s Entry>,
        capacity: usize,
        wanted: usize,
    ) -> Vec<&'s Entry> {
        // `!x` reverses the order of both integer types without overflow; the entry rides along
        // and never takes part in a comparison.
        let mut keys: Vec<((i64, u32), &Entry)> = Vec::with_capacity(capacity);
        keys.extend(visible.enumerate().map(|(row, entry)| {
            let stamp = entry.system_modstamp_ms;
            let row = row as u32;
            (
                (
                    if self.stamp_descending { !stamp } else { stamp },
                    if self.id_descending { !row } else { row },
                ),
                entry,
            )
        }));
        // Select the first `wanted` in O(N), then sort only those.
        if wanted < keys.len() {
            keys.select_nth_unstable_by_key(wanted, |(key, _)| *key);
            keys.truncate(wanted);
        }
        keys.sort_unstable_by_key(|(key, _)| *key);
        keys.into_iter().map(|(_, entry)| entry).collect()
    }
}

/// A field path checked against the schema.
#[derive(Debug, Clone)]
struct Resolved {
    /// Lookups to follow first: (lookup field, relationship name, target object).
    steps: Vec<(&'static FieldDef, &'static str, &'static ObjectDef)>,
    field: &'static FieldDef,
}

impl Resolved {
    /// The object's own field `name` (no relationship in between).
    fn is_own(&self, name: &str) -> bool {
        self.steps.is_empty() && self.field.name == name
    }

    fn value<'a>(&self, store: &'a Store, entry: &'a Entry) -> Option<&'a Value> {
        let mut current = &entry.record;
        for (lookup, _, target) in &self.steps {
            let id = current.get(lookup.name)?.as_str()?;
            current = store.get(target, id)?;
        }
        current.get(self.field.name).filter(|v| !v.is_null())
    }

    /// The value for comparisons, borrowed from the record where it can be (no copies while a
    /// 100,000-row table is filtered and sorted).
    fn typed<'s>(&self, store: &'s Store, entry: &'s Entry) -> Option<Typed<'s>> {
        if self.steps.is_empty() {
            // The values keyset sync filters and sorts on, without a map lookup.
            if self.field.kind == FieldKind::Id {
                return Some(Typed::Id(Cow::Borrowed(&entry.id15)));
            }
            if self.field.name == "SystemModstamp" {
                return Some(Typed::Instant(entry.system_modstamp_ms));
            }
        }
        let value = self.value(store, entry)?;
        Some(match self.field.kind {
            FieldKind::Id | FieldKind::Reference(_) => {
                Typed::Id(Cow::Borrowed(value.as_str().and_then(ids::to_15)?))
            }
            FieldKind::Text => Typed::Text(lowercase(value.as_str()?)),
            FieldKind::Boolean => Typed::Bool(value.as_bool()?),
            FieldKind::Number => Typed::Number(value.as_f64()?),
            // Both render in fixed-width UTC forms, so text order is time order.
            FieldKind::Date => Typed::Stamp(Cow::Borrowed(value.as_str()?)),
            FieldKind::DateTime => Typed::Instant(stamp_millis(value.as_str()?)?),
        })
    }
}

/// SOQL compares text case-insensitively; most values need no copy for that.
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_uppercase) {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// A value reduced to what comparisons need (text lower-cased, ids in their 15-char form).
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Typed<'a> {
    Id(Cow<'a, str>),
    Text(Cow<'a, str>),
    Bool(bool),
    Number(f64),
    /// A date as `YYYY-MM-DD` (text order is date order).
    Stamp(Cow<'a, str>),
    /// A datetime as epoch milliseconds (the API's precision).
    Instant(i64),
}

/// Epoch milliseconds, cut the way the API renders datetimes (to the millisecond).
fn instant_millis(at: time::OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos().div_euclid(1_000_000)) as i64
}

fn compare_typed(a: &Typed<'_>, b: &Typed<'_>) -> Ordering {
    a.partial_cmp(b).unwrap_or(Ordering::Equal)
}

fn compare_for_order(a: Option<&Typed<'_>>, b: Option<&Typed<'_>>, item: &OrderItem) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) if item.nulls_first() => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) if item.nulls_first() => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) if item.descending => compare_typed(b, a),
        (Some(a), Some(b)) => compare_typed(a, b),
    }
}

/// A WHERE clause with names resolved and literals converted to the fields' types.
enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare {
        path: Resolved,
        op: CompareOp,
        value: Option<Typed<'static>>,
    },
    In {
        path: Resolved,
        values: Vec<Option<Typed<'static>>>,
        negated: bool,
    },
    Like {
        path: Resolved,
        pattern: Vec<LikePart>,
    },
    /// A comparison with a relative date literal: the literal is the span `[start, end)`.
    Span {
        path: Resolved,
        op: CompareOp,
        start: Typed<'static>,
        end: Typed<'static>,
    },
}

impl Filter {
    /// A lower bound on `(SystemModstamp, Id)` from the top level of the WHERE: keyset sync's
    /// `SystemModstamp > T OR (SystemModstamp = T AND Id > 'X')` (exact: strictly after `(T, X)`),
    /// `SystemModstamp > T` and `>= T` (exact), `= T`, and any of these ANDed with other terms.
    fn stamp_start(&self) -> Option<KeysetStart> {
        match self {
            Filter::Compare {
                path,
                op,
                value: Some(Typed::Instant(stamp)),
            } if path.is_own("SystemModstamp") => match op {
                // Stamps are whole milliseconds: after T is from T + 1 on.
                CompareOp::Gt => Some(match stamp.checked_add(1) {
                    Some(next) => KeysetStart {
                        start: at_stamp(next),
                        exact: true,
                    },
                    None => KeysetStart::inexact(at_stamp(*stamp)),
                }),
                CompareOp::Ge => Some(KeysetStart {
                    start: at_stamp(*stamp),
                    exact: true,
                }),
                CompareOp::Eq => Some(KeysetStart::inexact(at_stamp(*stamp))),
                _ => None,
            },
            Filter::Or(terms) => {
                let [after, at] = terms.as_slice() else {
                    return None;
                };
                let (after, at) = match (after, at) {
                    (after, at @ Filter::And(_)) | (at @ Filter::And(_), after) => (after, at),
                    _ => return None,
                };
                let Filter::Compare {
                    path,
                    op: CompareOp::Gt,
                    value: Some(Typed::Instant(stamp)),
                } = after
                else {
                    return None;
                };
                let (tied_stamp, id) = at.stamp_then_id()?;
                (path.is_own("SystemModstamp") && tied_stamp == *stamp).then_some(KeysetStart {
                    start: Bound::Excluded((tied_stamp, id)),
                    exact: true,
                })
            }
            Filter::And(terms) => {
                let mut starts: Vec<KeysetStart> =
                    terms.iter().filter_map(Filter::stamp_start).collect();
                if let Some((stamp, id)) = self.stamp_then_id() {
                    starts.push(KeysetStart::inexact(Bound::Excluded((stamp, id))));
                }
                let exact = terms.len() == 1 && starts.len() == 1 && starts[0].exact;
                let start = starts.into_iter().map(|s| s.start).reduce(later_start)?;
                Some(KeysetStart { start, exact })
            }
            _ => None,
        }
    }

    /// `(T, X)` of `SystemModstamp = T AND Id > 'X'` (either order).
    fn stamp_then_id(&self) -> Option<(i64, Arc<str>)> {
        let Filter::And(terms) = self else {
            return None;
        };
        let [a, b] = terms.as_slice() else {
            return None;
        };
        let stamp = |term: &Filter| match term {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: Some(Typed::Instant(stamp)),
            } if path.is_own("SystemModstamp") => Some(*stamp),
            _ => None,
        };
        let id = |term: &Filter| match term {
            Filter::Compare {
                path,
                op: CompareOp::Gt,
                value: Some(Typed::Id(id)),
            } if path.is_own("Id") => Some(Arc::from(&**id)),
            _ => None,
        };
        stamp(a).zip(id(b)).or_else(|| stamp(b).zip(id(a)))
    }

    fn matches(&self, store: &Store, record: &Entry) -> bool {
        match self {
            Filter::And(terms) => terms.iter().all(|t| t.matches(store, record)),
            Filter::Or(terms) => terms.iter().any(|t| t.matches(store, record)),
            Filter::Not(inner) => !inner.matches(store, record),
            Filter::Compare { path, op, value } => {
                let actual = path.typed(store, record);
                match (actual.as_ref(), value.as_ref()) {
                    // SOQL treats null as a value: `!= 'x'` includes nulls, `= null` finds them.
                    (None, None) => matches!(op, CompareOp::Eq),
                    (None, Some(_)) | (Some(_), None) => matches!(op, CompareOp::Ne),
                    (Some(a), Some(b)) => {
                        let ordering = compare_typed(a, b);
                        match op {
                            CompareOp::Eq => ordering.is_eq(),
                            CompareOp::Ne => ordering.is_ne(),
                            CompareOp::Lt => ordering.is_lt(),
                            CompareOp::Le => ordering.is_le(),
                            CompareOp::Gt => ordering.is_gt(),
                            CompareOp::Ge => ordering.is_ge(),
                        }
                    }
                }
            }
            Filter::In {
                path,
                values,
                negated,
            } => {
                let actual = path.typed(store, record);
                let found = values.iter().any(|v| match (&actual, v) {
                    (None, None) => true,
                    (Some(a), Some(b)) => compare_typed(a, b).is_eq(),
                    _ => false,
                });
                found != *negated
            }
            Filter::Span {
                path,
                op,
                start,
                end,
            } => {
                let Some(actual) = path.typed(store, record) else {
                    return matches!(op, CompareOp::Ne);
                };
                let before = compare_typed(&actual, start).is_lt();
                let inside = !before && compare_typed(&actual, end).is_lt();
                match op {
                    CompareOp::Eq => inside,
                    CompareOp::Ne => !inside,
                    CompareOp::Lt => before,
                    CompareOp::Le => before || inside,
                    CompareOp::Gt => !before && !inside,
                    CompareOp::Ge => !before,
                }
            }
            Filter::Like { path, pattern } => match path.typed(store, record) {
                Some(Typed::Text(text)) => like_matches(pattern, &text.chars().collect::<Vec<_>>()),
                _ => false,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum LikePart {
    Char(char),
    AnyOne,
    AnyMany,
}

fn like_pattern(pattern: &str) -> Vec<LikePart> {
    let mut parts = Vec::new();
    let mut chars = pattern.chars().flat_map(char::to_lowercase);
    while let Some(c) = chars.next() {
        parts.push(match c {
            '%' => LikePart::AnyMany,
            '_' => LikePart::AnyOne,
            // The lexer kept `\%` and `\_` escaped for exactly this.
            '\\' => LikePart::Char(chars.next().unwrap_or('\\')),
            c => LikePart::Char(c),
        });
    }
    parts
}

/// Wildcard match with backtracking to the last `%` (linear in practice, no recursion).
fn like_matches(pattern: &[LikePart], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(LikePart::AnyMany) => {
                resume = Some((p, t));
                p += 1;
            }
            Some(LikePart::AnyOne) => {
                p += 1;
                t += 1;
            }
            Some(LikePart::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match resume {
                Some((star, from)) => {
                    p = star + 1;
                    t = from + 1;
                    resume = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|part| *part == LikePart::AnyMany)
}

/// Resolves names and builds messages in Salesforce's layout.
struct Checker<'a> {
    source: &'a str,
    /// The day relative date literals count from (UTC).
    today: time::Date,
}

impl Checker<'_> {
    fn error(&self, error_code: &'static str, pos: Pos, detail: &str) -> QueryError {
        QueryError {
            error_code,
            message: soql::error_message(self.source, pos, detail),
        }
    }

    fn resolve(
        &self,
        object: &'static ObjectDef,
        path: &FieldPath,
    ) -> Result<Resolved, QueryError> {
        let (last, relationships) = path.parts.split_last().expect("paths have a part");
        let mut current = object;
        let mut steps = Vec::new();
        for name in relationships {
            let (lookup, reference) = current.relationship(&name.text).ok_or_else(|| {
                self.error(
                    "INVALID_FIELD",
                    name.pos,
                    &format!(
                        "Didn't understand relationship '{}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                        name.text
                    ),
                )
            })?;
            let target = schema::object(reference.to).expect("references point at known objects");
            steps.push((lookup, reference.relationship, target));
            current = target;
        }
        let field = current.field(&last.text).ok_or_else(|| {
            self.error(
                "INVALID_FIELD",
                path.pos(),
                &format!(
                    "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    last.text, current.name
                ),
            )
        })?;
        Ok(Resolved { steps, field })
    }

    fn filter(
        &self,
        object: &'static ObjectDef,
        condition: &Condition,
    ) -> Result<Filter, QueryError> {
        Ok(match condition {
            Condition::And(terms) => Filter::And(
                terms
                    .iter()
                    .map(|t| self.filter(object, t))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Or(terms) => Filter::Or(
                terms
                    .iter()
                    .map(|t| self.filter(object, t))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Not(inner) => Filter::Not(Box::new(self.filter(object, inner)?)),
            Condition::Compare { field, op, value } => {
                let path = self.resolve(object, field)?;
                if let LiteralValue::Relative(relative) = value.value {
                    let (start, end) = self.span(&path, field, relative)?;
                    return Ok(Filter::Span {
                        path,
                        op: *op,
                        start,
                        end,
                    });
                }
                let value = self.literal(&path, field, value)?;
                Filter::Compare {
                    path,
                    op: *op,
                    value,
                }
            }
            Condition::In {
                field,
                values,
                negated,
            } => {
                let path = self.resolve(object, field)?;
                if values
                    .iter()
                    .any(|v| matches!(v.value, LiteralValue::Relative(_)))
                {
                    // `IN (TODAY, YESTERDAY)`: any of the spans.
                    let terms = values
                        .iter()
                        .map(|v| {
                            self.filter(
                                object,
                                &Condition::Compare {
                                    field: field.clone(),
                                    op: CompareOp::Eq,
                                    value: v.clone(),
                                },
                            )
                        })
                        .collect::<Result<_, _>>()?;
                    let any = Filter::Or(terms);
                    return Ok(if *negated {
                        Filter::Not(Box::new(any))
                    } else {
                        any
                    });
                }
                let values = values
                    .iter()
                    .map(|v| self.literal(&path, field, v))
                    .collect::<Result<_, _>>()?;
                Filter::In {
                    path,
                    values,
                    negated: *negated,
                }
            }
            Condition::Like { field, pattern } => {
                let path = self.resolve(object, field)?;
                match (&pattern.value, path.field.kind) {
                    (LiteralValue::String(text), FieldKind::Text) => Filter::Like {
                        pattern: like_pattern(text),
                        path,
                    },
                    (LiteralValue::String(_), _) => {
                        return Err(self.error(
                            "INVALID_FIELD",
                            field.pos(),
                            &format!(
                                "invalid operator on {} field: {}",
                                kind_name(path.field.kind),
                                path.field.name
                            ),
                        ))
                    }
                    _ => return Err(self.type_mismatch(&path, field)),
                }
            }
        })
    }

    /// Converts a literal to the field's type, refusing the mismatches a real org refuses.
    fn literal(
        &self,
        path: &Resolved,
        field: &FieldPath,
        literal: &Literal,
    ) -> Result<Option<Typed<'static>>, QueryError> {
        let typed = match (&literal.value, path.field.kind) {
            (LiteralValue::Null, _) => return Ok(None),
            (LiteralValue::String(text), FieldKind::Id | FieldKind::Reference(_)) => {
                // Message and code as real orgs answer a malformed id in a filter (unconfirmed here).
                let id15 = ids::to_15(text).ok_or_else(|| {
                    self.error(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        literal.pos,
                        &format!("invalid ID field: {text}"),
                    )
                })?;
                Typed::Id(Cow::Owned(id15.to_owned()))
            }
            (LiteralValue::String(text), FieldKind::Text) => {
                Typed::Text(Cow::Owned(text.to_lowercase()))
            }
            (LiteralValue::Bool(b), FieldKind::Boolean) => Typed::Bool(*b),
            (LiteralValue::Number(n), FieldKind::Number) => Typed::Number(*n),
            (LiteralValue::Date(d), FieldKind::Date) => Typed::Stamp(Cow::Owned(d.to_string())),
            (LiteralValue::DateTime(dt), FieldKind::DateTime) => {
                Typed::Instant(instant_millis(*dt))
            }
            _ => return Err(self.type_mismatch(path, field)),
        };
        Ok(Some(typed))
    }

    /// A relative date literal as the bounds of its span, in the field's own type.
    fn span(
        &self,
        path: &Resolved,
        field: &FieldPath,
        relative: RelativeDate,
    ) -> Result<(Typed<'static>, Typed<'static>), QueryError> {
        let (start, end) = relative.span(self.today);
        match path.field.kind {
            FieldKind::Date => Ok((
                Typed::Stamp(Cow::Owned(start.to_string())),
                Typed::Stamp(Cow::Owned(end.to_string())),
            )),
            FieldKind::DateTime => Ok((
                Typed::Instant(instant_millis(start.midnight().assume_utc())),
                Typed::Instant(instant_millis(end.midnight().assume_utc())),
            )),
            _ => Err(self.type_mismatch(path, field)),
        }
    }

    fn type_mismatch(&self, path: &Resolved, field: &FieldPath) -> QueryError {
        let kind = path.field.kind;
        let quoting = match kind {
            FieldKind::Id | FieldKind::Reference(_) | FieldKind::Text => {
                "should be enclosed in quotes"
            }
            _ => "should not be enclosed in quotes",
        };
        self.error(
            "INVALID_FIELD",
            field.pos(),
            &format!(
                "value of filter criterion for field '{}' must be of type {} and {quoting}",
                path.field.name,
                kind_name(kind)
            ),
        )
    }
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Id | FieldKind::Reference(_) => "id",
        FieldKind::Text => "string",
        FieldKind::Boolean => "boolean",
        FieldKind::Number => "double",
        FieldKind::Date => "date",
        FieldKind::DateTime => "dateTime",
    }
}

/// The SELECT list as a tree: plain fields and parent relationships, in first-mention order.
#[derive(Debug)]
enum Column {
    Field(&'static str),
    Parent {
        relationship: &'static str,
        lookup: &'static str,
        object: &'static ObjectDef,
        columns: Vec<Column>,
    },
}

/// Adds a path to the tree; false when it was already selected.
fn add_column(columns: &mut Vec<Column>, path: &Resolved) -> bool {
    let mut level = columns;
    for (lookup, relationship, target) in &path.steps {
        let index = level
            .iter()
            .position(|c| matches!(c, Column::Parent { relationship: r, .. } if r == relationship));
        let index = index.unwrap_or_else(|| {
            level.push(Column::Parent {
                relationship,
                lookup: lookup.name,
                object: target,
                columns: Vec::new(),
            });
            level.len() - 1
        });
        let Column::Parent { columns, .. } = &mut level[index] else {
            unreachable!("index points at a parent column")
        };
        level = columns;
    }
    if level
        .iter()
        .any(|c| matches!(c, Column::Field(name) if *name == path.field.name))
    {
        return false;
    }
    level.push(Column::Field(path.field.name));
    true
}

/// One record with the given fields, as `GET /sobjects/{type}/{id}` renders it.
pub fn record_row(
    object: &ObjectDef,
    record: &Record,
    fields: &[&'static FieldDef],
    api_version: &str,
) -> Row {
    let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
    let mut cells = vec![(
        "attributes",
        json!({
            "type": object.name,
            "url": format!("/services/data/v{api_version}/sobjects/{}/{id}", object.name),
        }),
    )];
    cells.extend(fields.iter().map(|field| {
        (
            field.name,
            record.get(field.name).cloned().unwrap_or(Value::Null),
        )
    }));
    Row(cells)
}

#[cfg(test)]
mod keyset_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_read_back_as_the_instant_they_render() {
        let at = time::macros::datetime!(2024-05-01 10:00:00.250 UTC);
        assert_eq!(
            crate::store::stamp_millis(&crate::clock::format_datetime(at)),
            Some(instant_millis(at))
        );
        assert_eq!(
            crate::store::stamp_millis("1970-01-01T00:00:01.005+0000"),
            Some(1_005)
        );
        assert_eq!(crate::store::stamp_millis("2024-05-01"), None);
    }

    #[test]
    fn like_handles_wildcards_and_escapes() {
        let matches = |pattern: &str, text: &str| {
            like_matches(&like_pattern(pattern), &text.chars().collect::<Vec<_>>())
        };
        assert!(matches("acme%", "acme corp"));
        assert!(matches("%corp", "acme corp"));
        assert!(matches("a_me%", "acme"));
        assert!(matches("%c%o%", "acme corp"));
        assert!(!matches("acme", "acme corp"));
        assert!(matches("100\\%", "100%"));
        assert!(!matches("100\\%", "1000"));
        assert!(matches("%", ""));
    }

    /// The `ORDER BY SystemModstamp [, Id]` fast path orders (and pages) exactly as sorting every
    /// visible contact by stamp, then id, in the asked directions.
    #[test]
    fn stamp_orders_match_a_full_sort_including_ties() {
        let now = time::OffsetDateTime::now_utc();
        let mut store = crate::seed::demo_org(now);
        // Several contacts edited in the same millisecond: ties the id must break.
        let tied: Vec<String> = store
            .all(&schema::CONTACT)
            .step_by(3)
            .take(12)
            .map(|r| r["Id"].as_str().expect("id").to_owned())
            .collect();
        let mut title = serde_json::Map::new();
        title.insert("Title".into(), "Buyer".into());
        for id in &tied {
            store
                .update(&schema::CONTACT, id, &title, "2030-01-01T00:00:00.000+0000")
                .expect("contact updates");
        }
        let admin = store
            .user_by_username("admin@demo.example")
            .expect("admin exists")
            .clone();
        let options = Options {
            api_version: "58.0",
            include_deleted: false,
            now,
        };
        let all: Vec<(i64, String)> = store
            .entries(&schema::CONTACT, false)
            .map(|e| (e.system_modstamp_ms, e.id15.to_string()))
            .collect();
        for (order, stamp_desc, id_desc) in [
            ("SystemModstamp", false, false),
            ("SystemModstamp DESC", true, false),
            ("SystemModstamp, Id", false, false),
            ("SystemModstamp ASC, Id DESC", false, true),
            ("SystemModstamp DESC, Id", true, false),
            ("SystemModstamp DESC NULLS LAST, Id DESC", true, true),
        ] {
            let mut expected = all.clone();
            expected.sort_by(|a, b| {
                let by_stamp = if stamp_desc {
                    b.0.cmp(&a.0)
                } else {
                    a.0.cmp(&b.0)
                };
                let by_id = if id_desc {
                    b.1.cmp(&a.1)
                } else {
                    a.1.cmp(&b.1)
                };
                by_stamp.then(by_id)
            });
            let expected: Vec<&str> = expected.iter().map(|(_, id)| id.as_str()).collect();
            for (tail, skip, take) in [
                ("", 0, usize::MAX),
                (" LIMIT 7", 0, 7),
                (" LIMIT 5 OFFSET 3", 3, 5),
            ] {
                let soql = format!("SELECT Id FROM Contact ORDER BY {order}{tail}");
                let output = run(&store, &admin, &soql, &options).expect("query runs");
                let got: Vec<&str> = output.ids.iter().map(|id| &**id).collect();
                let want: Vec<&str> = expected.iter().copied().skip(skip).take(take).collect();
                assert_eq!(got, want, "{soql}");
            }
        }
    }

    /// Mutated versions of real queries never panic: each is either answered or refused with a code.
    #[test]
    fn mutated_queries_never_panic() {
        use rand::{Rng, SeedableRng};
        let now = time::OffsetDateTime::now_utc();
        let store = crate::seed::demo_org(now);
        let options = Options {
            api_version: "58.0",
            include_deleted: false,
            now,
        };
        let admin = store
            .user_by_username("admin@demo.example")
            .expect("admin exists")
            .clone();
        let seeds = [
            "SELECT Id, Name, Account.Name FROM Contact WHERE SystemModstamp > 2024-05-01T10:00:00Z OR (SystemModstamp = 2024-05-01T10:00:00Z AND Id > '0038d00D00034vHAEQ') ORDER BY SystemModstamp, Id LIMIT 2000",
            "SELECT Name FROM Account WHERE Name LIKE 'a\\%%' AND Industry IN ('Retail', null) ORDER BY Name DESC NULLS LAST LIMIT 5 OFFSET 1",
            "SELECT COUNT() FROM Opportunity WHERE NOT (Amount >= 1000.5) AND IsWon = false AND CloseDate < 2024-06-01",
        ];
        let alphabet: Vec<char> = " ,.()'\\=!<>:%_-+09azAZTé\n".chars().collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for round in 0..20_000 {
            let mut chars: Vec<char> = seeds[round % seeds.len()].chars().collect();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..=chars.len());
                match rng.gen_range(0..3) {
                    0 if at < chars.len() => {
                        chars.remove(at);
                    }
                    1 if at < chars.len() => chars[at] = alphabet[rng.gen_range(0..alphabet.len())],
                    _ => chars.insert(at, alphabet[rng.gen_range(0..alphabet.len())]),
                }
            }
            let source: String = chars.into_iter().collect();
            if let Err(error) = run(&store, &admin, &source, &options) {
                assert!(
                    [
                        "MALFORMED_QUERY",
                        "INVALID_FIELD",
                        "INVALID_TYPE",
                        "INVALID_QUERY_FILTER_OPERATOR",
                        "NUMBER_OUTSIDE_VALID_RANGE"
                    ]
                    .contains(&error.error_code),
                    "{source}"
                );
            }
        }
    }
}
