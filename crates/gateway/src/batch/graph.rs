//! One round of writes as one Composite Graph call: each write is a write node (a create with
//! its marker, or an update conditional on `If-Unmodified-Since`) and a node reading the record
//! back; the writes are spread over at most 75 graphs, in order, so at most ⌈n/75⌉ writes
//! share a graph's transaction. And what each write's nodes answered.

use std::ops::Range;

use salesforce::composite_graph::MAX_GRAPHS;
use salesforce::{
    CompositeGraphRequest, CompositeGraphResponse, Graph, IdOrReference, RecordId, UpdateOptions,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::record_fields::WriteSpec;

/// One write of the round.
pub struct NodeWrite<'a> {
    pub spec: &'static WriteSpec,
    pub body: &'a Map<String, Value>,
    /// `None`: a create.
    pub update: Option<Update<'a>>,
}

pub struct Update<'a> {
    pub id: &'a RecordId,
    /// The write happens only if the record is unchanged since (to the second).
    pub unmodified_since: OffsetDateTime,
}

/// What one write's nodes answered.
#[derive(Debug)]
pub enum NodeOutcome {
    /// Made; the record as read back (`null` if the read-back had no body).
    Written { id: Option<String>, record: Value },
    /// Refused for a reason of its own (validation, not found, `412`, …); its graph was
    /// rolled back.
    Failed(salesforce::Error),
    /// Rolled back because another write of its graph failed, or not processed because too
    /// many graphs failed: nothing happened; it may go again.
    NotRun,
}

fn write_ref(index: usize) -> String {
    format!("w{index}")
}

fn read_ref(index: usize) -> String {
    format!("r{index}")
}

/// `count` writes over at most 75 graphs, in order, sizes differing by one at most.
fn layout(count: usize) -> Vec<Range<usize>> {
    let graphs = count.min(MAX_GRAPHS);
    (0..graphs)
        .map(|g| g * count / graphs..(g + 1) * count / graphs)
        .collect()
}

/// The request for `writes` (at most 250: two nodes each, 500 in all).
pub fn request(writes: &[NodeWrite<'_>]) -> salesforce::Result<CompositeGraphRequest> {
    let mut request = CompositeGraphRequest::new();
    for (g, range) in layout(writes.len()).into_iter().enumerate() {
        let mut graph = Graph::new(&format!("g{g}"))?;
        for index in range {
            let write = &writes[index];
            let object = write.spec.object;
            let target = match &write.update {
                None => {
                    graph.create(&write_ref(index), object, write.body)?;
                    IdOrReference::created_by(&write_ref(index))?
                }
                Some(update) => {
                    let options = UpdateOptions {
                        if_unmodified_since: Some(update.unmodified_since),
                    };
                    graph.update(&write_ref(index), object, update.id, write.body, options)?;
                    IdOrReference::from(update.id)
                }
            };
            graph.get(&read_ref(index), object, target, write.spec.read_back)?;
        }
        request.push(graph)?;
    }
    Ok(request)
}

/// One outcome per write of [`request`], in order.
pub fn outcomes(response: &CompositeGraphResponse, count: usize) -> Vec<NodeOutcome> {
    let mut outcomes = Vec::with_capacity(count);
    for (g, range) in layout(count).into_iter().enumerate() {
        let graph = response.graph(&format!("g{g}"));
        for index in range {
            let Some(graph) = graph else {
                outcomes.push(NodeOutcome::NotRun);
                continue;
            };
            let write = graph.node(&write_ref(index));
            let read = graph.node(&read_ref(index));
            let outcome = if graph.is_successful {
                NodeOutcome::Written {
                    id: write.and_then(|w| w.body()["id"].as_str().map(String::from)),
                    record: read.map(|r| r.body()).unwrap_or(Value::Null),
                }
            } else {
                // The write node's own refusal first; a refused read-back undid the write too.
                [write, read]
                    .into_iter()
                    .flatten()
                    .find(|node| !node.is_success() && !node.is_processing_halted())
                    .and_then(|node| node.error())
                    .map_or(NodeOutcome::NotRun, NodeOutcome::Failed)
            };
            outcomes.push(outcome);
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_spread_over_at_most_75_graphs_in_order() {
        assert_eq!(layout(1), vec![0..1]);
        assert_eq!(layout(3), vec![0..1, 1..2, 2..3]);
        let two_hundred = layout(200);
        assert_eq!(two_hundred.len(), 75);
        assert!(two_hundred.iter().all(|r| (2..=3).contains(&r.len())));
        assert_eq!(two_hundred.first().unwrap().start, 0);
        assert_eq!(two_hundred.last().unwrap().end, 200);
        assert!(two_hundred.windows(2).all(|w| w[0].end == w[1].start));
        assert!(layout(76).iter().all(|r| r.len() <= 2));
        assert!(layout(0).is_empty());
    }
}
