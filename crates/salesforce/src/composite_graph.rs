//! Composite Graph: up to 75 graphs of sObject subrequests ("nodes") in one API call, each
//! graph one transaction — all its nodes happen or none does (`POST …/composite/graph`, API
//! v50.0+; developer.salesforce.com "Composite Graph" and "Composite Graph Limits").
//!
//! Build a [`Graph`] node by node (create, get with fields, update with an optional
//! `If-Unmodified-Since`; later nodes may use `@{ref.id}` of earlier ones in the same graph),
//! add it to a [`CompositeGraphRequest`], send it with [`Client::composite_graph`]. Every
//! documented limit is checked while adding, so a request that builds is one Salesforce takes.

use std::collections::{HashMap, HashSet};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Call;
use crate::composite::{check_reference_id, record_path, IdOrReference, SubResponse};
use crate::rest::{check_field_name, check_object_name, data_path, data_url};
use crate::rows::{http_date, record_body, UpdateOptions};
use crate::{Client, Error, RestSession, Result};

/// Most graphs in one request.
pub const MAX_GRAPHS: usize = 75;
/// Most nodes in one request, all graphs together.
pub const MAX_GRAPH_NODES: usize = 500;
/// Most different nodes in one request. Salesforce counts nodes as different by API version
/// and object; this client also counts the HTTP method, which can only keep a request further
/// inside the limit.
pub const MAX_DIFFERENT_NODES: usize = 15;
/// Longest chain of nodes each using an earlier one's answer.
pub const MAX_GRAPH_DEPTH: usize = 15;
/// Longest graph id this client makes.
const MAX_GRAPH_ID_LEN: usize = 40;

/// One node as sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    method: &'static str,
    url: String,
    reference_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_headers: Option<HashMap<&'static str, String>>,
}

/// What makes nodes "different" for [`MAX_DIFFERENT_NODES`] (the API version is this
/// client's one).
type NodeKind = (&'static str, String);

/// One graph under construction: its nodes run in order as one transaction.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Graph {
    graph_id: String,
    composite_request: Vec<Node>,
    /// Depth of each node by reference id.
    #[serde(skip)]
    depths: HashMap<String, usize>,
    #[serde(skip)]
    kinds: HashSet<NodeKind>,
}

impl Graph {
    /// A graph with this id: letters, digits and `_`, beginning with a letter or digit, at
    /// most 40 characters, unique within its request.
    pub fn new(graph_id: &str) -> Result<Self> {
        let valid = graph_id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && graph_id.len() <= MAX_GRAPH_ID_LEN
            && graph_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(Error::InvalidInput(format!(
                "{:?} is not a graph id (a letter or digit, then letters, digits, _; at most {MAX_GRAPH_ID_LEN})",
                graph_id.chars().take(64).collect::<String>()
            )));
        }
        Ok(Graph {
            graph_id: graph_id.to_string(),
            composite_request: Vec::new(),
            depths: HashMap::new(),
            kinds: HashSet::new(),
        })
    }

    pub fn id(&self) -> &str {
        &self.graph_id
    }

    pub fn len(&self) -> usize {
        self.composite_request.len()
    }

    pub fn is_empty(&self) -> bool {
        self.composite_request.is_empty()
    }

    /// Create a record; later nodes of this graph can use `@{reference_id.id}`.
    pub fn create(
        &mut self,
        reference_id: &str,
        object: &str,
        fields: &impl Serialize,
    ) -> Result<&mut Self> {
        check_object_name(object)?;
        let body = Value::Object(record_body(fields)?);
        let url = data_path(&["sobjects", object], &[])?;
        self.push("POST", object, url, reference_id, Some(body), None)
    }

    /// Read a record (a known id, or `@{ref.id}` of a record created earlier in this graph),
    /// with only `fields` when given: e.g. what Salesforce made of a create or an update.
    pub fn get(
        &mut self,
        reference_id: &str,
        object: &str,
        id: impl Into<IdOrReference>,
        fields: &[&str],
    ) -> Result<&mut Self> {
        for field in fields {
            check_field_name(field)?;
        }
        let mut url = record_path(object, &id.into())?;
        if !fields.is_empty() {
            url.push_str("?fields=");
            url.push_str(&fields.join(","));
        }
        self.push("GET", object, url, reference_id, None, None)
    }

    /// Update a record. With `options.if_unmodified_since` the node answers `412` (and the
    /// graph is rolled back) when the record changed after that time — the check and the
    /// write are one step at Salesforce.
    pub fn update(
        &mut self,
        reference_id: &str,
        object: &str,
        id: impl Into<IdOrReference>,
        fields: &impl Serialize,
        options: UpdateOptions,
    ) -> Result<&mut Self> {
        let url = record_path(object, &id.into())?;
        let body = record_body(fields)?;
        if body.keys().any(|k| k.eq_ignore_ascii_case("Id")) {
            return Err(Error::InvalidInput(
                "the id goes in the node's URL, not in its fields".into(),
            ));
        }
        let headers = options
            .if_unmodified_since
            .map(|at| HashMap::from([("If-Unmodified-Since", http_date(at))]));
        self.push(
            "PATCH",
            object,
            url,
            reference_id,
            Some(Value::Object(body)),
            headers,
        )
    }

    fn push(
        &mut self,
        method: &'static str,
        object: &str,
        url: String,
        reference_id: &str,
        body: Option<Value>,
        http_headers: Option<HashMap<&'static str, String>>,
    ) -> Result<&mut Self> {
        check_reference_id(reference_id)?;
        if self.depths.contains_key(reference_id) {
            return Err(Error::InvalidInput(format!(
                "reference id {reference_id:?} is used twice in graph {}",
                self.graph_id
            )));
        }
        if self.composite_request.len() >= MAX_GRAPH_NODES {
            return Err(Error::InvalidInput(format!(
                "a graph has at most {MAX_GRAPH_NODES} nodes"
            )));
        }
        let mut text = url.clone();
        if let Some(body) = &body {
            text.push_str(&body.to_string());
        }
        let mut depth = 1;
        for name in referenced_names(&text) {
            let Some(referenced) = self.depths.get(name) else {
                return Err(Error::InvalidInput(format!(
                    "node {reference_id:?} refers to {name:?}, which is not an earlier node of graph {}",
                    self.graph_id
                )));
            };
            depth = depth.max(referenced + 1);
        }
        if depth > MAX_GRAPH_DEPTH {
            return Err(Error::InvalidInput(format!(
                "a graph is at most {MAX_GRAPH_DEPTH} nodes deep"
            )));
        }
        let kind = (method, object.to_ascii_lowercase());
        if !self.kinds.contains(&kind) && self.kinds.len() >= MAX_DIFFERENT_NODES {
            return Err(Error::InvalidInput(format!(
                "a composite graph request has at most {MAX_DIFFERENT_NODES} different nodes"
            )));
        }
        self.kinds.insert(kind);
        self.depths.insert(reference_id.to_string(), depth);
        self.composite_request.push(Node {
            method,
            url,
            reference_id: reference_id.to_string(),
            body,
            http_headers,
        });
        Ok(self)
    }
}

/// The reference ids named by `@{name.path}` in `text`.
fn referenced_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("@{") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(['.', '}']) {
            names.push(&rest[..end]);
        }
    }
    names
}

/// A Composite Graph request: graphs, each all-or-nothing, in one API call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompositeGraphRequest {
    graphs: Vec<Graph>,
}

impl CompositeGraphRequest {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of graphs.
    pub fn len(&self) -> usize {
        self.graphs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.graphs.is_empty()
    }

    /// Nodes of every graph together.
    pub fn node_count(&self) -> usize {
        self.graphs.iter().map(Graph::len).sum()
    }

    /// Add a graph, if the request stays within every limit: at most [`MAX_GRAPHS`] graphs,
    /// [`MAX_GRAPH_NODES`] nodes and [`MAX_DIFFERENT_NODES`] different nodes, ids unique,
    /// no empty graph.
    pub fn push(&mut self, graph: Graph) -> Result<&mut Self> {
        if graph.is_empty() {
            return Err(Error::InvalidInput(format!(
                "graph {} has no nodes",
                graph.graph_id
            )));
        }
        if self.graphs.len() >= MAX_GRAPHS {
            return Err(Error::InvalidInput(format!(
                "a composite graph request has at most {MAX_GRAPHS} graphs"
            )));
        }
        if self.node_count() + graph.len() > MAX_GRAPH_NODES {
            return Err(Error::InvalidInput(format!(
                "a composite graph request has at most {MAX_GRAPH_NODES} nodes"
            )));
        }
        if self.graphs.iter().any(|g| g.graph_id == graph.graph_id) {
            return Err(Error::InvalidInput(format!(
                "graph id {:?} is used twice",
                graph.graph_id
            )));
        }
        let kinds: HashSet<&NodeKind> = self
            .graphs
            .iter()
            .flat_map(|g| &g.kinds)
            .chain(&graph.kinds)
            .collect();
        if kinds.len() > MAX_DIFFERENT_NODES {
            return Err(Error::InvalidInput(format!(
                "a composite graph request has at most {MAX_DIFFERENT_NODES} different nodes"
            )));
        }
        self.graphs.push(graph);
        Ok(self)
    }
}

/// The answer to one graph.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "GraphResultJson")]
pub struct GraphResult {
    pub graph_id: String,
    /// Every node happened (`true`), or none did.
    pub is_successful: bool,
    /// One answer per node, in order.
    pub nodes: Vec<SubResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphResultJson {
    graph_id: String,
    graph_response: GraphNodesJson,
    is_successful: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphNodesJson {
    composite_response: Vec<SubResponse>,
}

impl From<GraphResultJson> for GraphResult {
    fn from(json: GraphResultJson) -> Self {
        GraphResult {
            graph_id: json.graph_id,
            is_successful: json.is_successful,
            nodes: json.graph_response.composite_response,
        }
    }
}

impl GraphResult {
    /// The answer to the node with this reference id.
    pub fn node(&self, reference_id: &str) -> Option<&SubResponse> {
        self.nodes.iter().find(|n| n.reference_id == reference_id)
    }

    /// The nodes that failed for a reason of their own (not `PROCESSING_HALTED`): why the
    /// graph was rolled back. Empty for a successful graph, and for one Salesforce did not
    /// process because too many other graphs failed.
    pub fn failures(&self) -> impl Iterator<Item = &SubResponse> {
        self.nodes
            .iter()
            .filter(|n| !n.is_success() && !n.is_processing_halted())
    }
}

/// `{"graphs":[…]}`, one per graph sent, in order.
#[derive(Debug, Clone, Deserialize)]
pub struct CompositeGraphResponse {
    pub graphs: Vec<GraphResult>,
}

impl CompositeGraphResponse {
    /// The answer to the graph with this id.
    pub fn graph(&self, graph_id: &str) -> Option<&GraphResult> {
        self.graphs.iter().find(|g| g.graph_id == graph_id)
    }
}

impl Client {
    /// `POST /composite/graph`: every graph in one API call, each all-or-nothing. It writes,
    /// so it is sent once: after an error whose [`Error::outcome_unknown`] is true, any graph
    /// may have been carried out.
    pub async fn composite_graph(
        &self,
        session: &RestSession,
        request: &CompositeGraphRequest,
    ) -> Result<CompositeGraphResponse> {
        if request.is_empty() {
            return Err(Error::InvalidInput(
                "a composite graph request needs a graph".into(),
            ));
        }
        let body = serde_json::to_value(request)
            .map_err(|e| Error::InvalidInput(format!("composite graph request: {e}")))?;
        let url = data_url(session, &["composite", "graph"], &[])?;
        let response: CompositeGraphResponse = self
            .send(session, Call::write(Method::POST, url, Some(&body))?)
            .await?
            .json("composite graph")?;
        // Every graph and node answered, in order: anything else is an answer this client
        // cannot trust, and the writes' outcome is unknown.
        let complete = response.graphs.len() == request.graphs.len()
            && response
                .graphs
                .iter()
                .zip(&request.graphs)
                .all(|(got, sent)| got.graph_id == sent.graph_id && got.nodes.len() == sent.len());
        if !complete {
            return Err(Error::Decode(
                "the composite graph answer does not match the graphs sent".into(),
            ));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lead_graph(id: &str, leads: usize) -> Graph {
        let mut graph = Graph::new(id).unwrap();
        for i in 0..leads {
            graph
                .create(&format!("n{i}"), "Lead", &json!({"LastName": "x"}))
                .unwrap();
        }
        graph
    }

    #[test]
    fn limits_are_checked_while_adding() {
        let mut request = CompositeGraphRequest::new();
        for i in 0..MAX_GRAPHS {
            request.push(lead_graph(&format!("g{i}"), 1)).unwrap();
        }
        assert!(request.push(lead_graph("one_more", 1)).is_err());

        let mut request = CompositeGraphRequest::new();
        request.push(lead_graph("a", 300)).unwrap();
        assert!(request.push(lead_graph("b", 201)).is_err());
        request.push(lead_graph("b", 200)).unwrap();
        assert_eq!(request.node_count(), MAX_GRAPH_NODES);
        assert!(request.push(lead_graph("a", 0)).is_err(), "empty");

        let mut request = CompositeGraphRequest::new();
        request.push(lead_graph("a", 1)).unwrap();
        assert!(request.push(lead_graph("a", 1)).is_err(), "same id");
        assert!(Graph::new("-x").is_err() && Graph::new(&"g".repeat(41)).is_err());
        assert!(Graph::new("x.y").is_err());
    }

    /// A graph with create, get and update nodes of each object: three different nodes each.
    fn three_kinds_each(graph_id: &str, objects: &[&str]) -> Result<Graph> {
        let mut graph = Graph::new(graph_id)?;
        for (i, object) in objects.iter().enumerate() {
            let created = format!("c{i}");
            graph.create(&created, object, &json!({"Name": "x"}))?;
            graph.get(
                &format!("r{i}"),
                object,
                IdOrReference::created_by(&created)?,
                &[],
            )?;
            graph.update(
                &format!("u{i}"),
                object,
                IdOrReference::created_by(&created)?,
                &json!({"Name": "y"}),
                UpdateOptions::default(),
            )?;
        }
        Ok(graph)
    }

    #[test]
    fn a_sixteenth_different_node_is_refused() {
        let fifteen = ["Account", "Contact", "Lead", "Task", "Case"];
        let mut graph = three_kinds_each("g", &fifteen).unwrap();
        // More nodes of kinds already there are fine; a new kind is not.
        graph
            .create("again", "Lead", &json!({"LastName": "x"}))
            .unwrap();
        assert!(graph.create("new", "Custom__c", &json!({})).is_err());
        assert!(three_kinds_each(
            "h",
            &["Account", "Contact", "Lead", "Task", "Case", "Custom__c"]
        )
        .is_err());

        // Across graphs: each within the limit, together over it.
        let mut request = CompositeGraphRequest::new();
        request.push(graph).unwrap();
        request
            .push(three_kinds_each("same", &["Lead"]).unwrap())
            .unwrap();
        assert!(request
            .push(three_kinds_each("other", &["Custom__c"]).unwrap())
            .is_err());
        assert_eq!(request.len(), 2);
    }

    #[test]
    fn references_stay_within_a_graph_and_within_depth() {
        let mut graph = Graph::new("g").unwrap();
        graph
            .create("n0", "Lead", &json!({"LastName": "x"}))
            .unwrap();
        assert!(graph
            .get(
                "r",
                "Lead",
                IdOrReference::created_by("other").unwrap(),
                &[]
            )
            .is_err());
        assert!(graph
            .create("t", "Task", &json!({"WhoId": "@{elsewhere.id}"}))
            .is_err());
        for i in 1..MAX_GRAPH_DEPTH {
            graph
                .get(
                    &format!("n{i}"),
                    "Lead",
                    IdOrReference::created_by(&format!("n{}", i - 1)).unwrap(),
                    &[],
                )
                .unwrap();
        }
        assert!(graph
            .get(
                "deeper",
                "Lead",
                IdOrReference::created_by("n14").unwrap(),
                &[]
            )
            .is_err());
        assert!(graph.create("n0", "Lead", &json!({})).is_err(), "reused id");
        assert!(graph
            .update(
                "u",
                "Lead",
                IdOrReference::created_by("n0").unwrap(),
                &json!({"Id": "x"}),
                UpdateOptions::default()
            )
            .is_err());
    }
}
