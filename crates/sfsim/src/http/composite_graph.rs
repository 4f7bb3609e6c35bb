//! Composite Graph, `POST /services/data/vXX.X/composite/graph` (API v50.0+): graphs of
//! sObject subrequests ("nodes"), each graph one all-or-nothing transaction, the whole payload
//! one API call (developer.salesforce.com, "Composite Graph" and "Composite Graph Limits").
//!
//! Established by the documentation: the request and response shapes, the node URLs allowed,
//! the limits (75 graphs, 500 nodes, 15 different nodes, depth 15), references only within a
//! graph, and halting the remaining graphs once more than 14 have failed. Guessed here, in the
//! shape of Composite `allOrNone` (reference §4.1): the bodies of a rolled-back node and of a
//! halted graph's nodes, and the error code and wording of a payload refused before anything
//! runs (`400 INVALID_INPUT`). Nodes differ by API version and object type (documented) and
//! also by HTTP method here, so sfsim is, if anything, stricter than an org.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Extension, State},
    http::{HeaderMap, Method, StatusCode},
    response::Response,
};
use serde::{Deserialize, Serialize};

use super::{
    composite::{
        check_reference_ids, invalid_input, parse_method, Outcome, OutcomeJson, Runner,
        SubrequestSpec,
    },
    response::{self, api_error},
    rest::{self, ApiVersion},
};
use crate::{dml::ApiError, state::AppState};

/// Most graphs in one payload.
const MAX_GRAPHS: usize = 75;
/// Most nodes in one payload (and so in one graph).
const MAX_NODES: usize = 500;
/// Most different nodes (API version, object, method) in one payload.
const MAX_DIFFERENT_NODES: usize = 15;
/// Longest chain of nodes each referring to the one before.
const MAX_DEPTH: usize = 15;
/// Once more graphs than this have failed, the remaining ones are not processed.
const MAX_FAILED_GRAPHS: usize = 14;
/// The first API version with Composite Graph.
const FIRST_VERSION: u32 = 50;
/// Longest graph id (the documentation's wording was not at hand; a guess).
const MAX_GRAPH_ID_LEN: usize = 40;

/// Message of a node of a graph left unprocessed because too many graphs failed (a guess).
const HALTED_GRAPH: &str =
    "The graph was not processed because the number of failed graphs in this request exceeded the limit.";

#[derive(Deserialize)]
struct GraphRequest {
    graphs: Vec<GraphSpec>,
}

#[derive(Deserialize)]
struct GraphSpec {
    #[serde(rename = "graphId")]
    graph_id: String,
    #[serde(rename = "compositeRequest")]
    nodes: Vec<SubrequestSpec>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GraphJson<'a> {
    graph_id: &'a str,
    graph_response: GraphResponseJson<'a>,
    is_successful: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GraphResponseJson<'a> {
    composite_response: Vec<OutcomeJson<'a>>,
}

/// `POST /services/data/vXX.X/composite/graph`.
pub async fn composite_graph(
    State(state): State<Arc<AppState>>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if major_version(&version).is_none_or(|major| major < FIRST_VERSION) {
        return rest::not_found_response();
    }
    let request: GraphRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return api_error(&ApiError::new(
                400,
                "JSON_PARSER_ERROR",
                format!("The composite graph request is malformed: {error}"),
            ))
        }
    };
    if let Err(refused) = check_payload(&request) {
        return api_error(&refused);
    }

    let runner = Runner::new(&state, &headers);
    let mut results: Vec<(Vec<Outcome>, bool)> = Vec::with_capacity(request.graphs.len());
    let mut failed = 0;
    for graph in &request.graphs {
        if failed > MAX_FAILED_GRAPHS {
            let halted = graph
                .nodes
                .iter()
                .map(|node| Outcome::halted(&node.reference_id, HALTED_GRAPH))
                .collect();
            results.push((halted, false));
            continue;
        }
        let ran = runner.run(&graph.nodes, true).await;
        if ran.rolled_back {
            failed += 1;
        }
        results.push((ran.outcomes, !ran.rolled_back));
    }

    #[derive(Serialize)]
    struct GraphsJson<'a> {
        graphs: Vec<GraphJson<'a>>,
    }
    let size: usize = results
        .iter()
        .flat_map(|(outcomes, _)| outcomes)
        .map(|o| o.body_len() + 128)
        .sum();
    let graphs = request
        .graphs
        .iter()
        .zip(&results)
        .map(|(graph, (outcomes, successful))| GraphJson {
            graph_id: &graph.graph_id,
            graph_response: GraphResponseJson {
                composite_response: outcomes.iter().map(Outcome::to_json).collect(),
            },
            is_successful: *successful,
        })
        .collect();
    response::json_sized(
        StatusCode::OK,
        &GraphsJson { graphs },
        size + 64 * results.len() + 32,
    )
}

/// `58.0` → 58.
fn major_version(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

/// Every limit and every node's form, before anything runs.
fn check_payload(request: &GraphRequest) -> Result<(), ApiError> {
    if request.graphs.is_empty() || request.graphs.len() > MAX_GRAPHS {
        return Err(invalid_input(format!(
            "A composite graph request must contain between 1 and {MAX_GRAPHS} graphs"
        )));
    }
    let nodes: usize = request.graphs.iter().map(|g| g.nodes.len()).sum();
    if nodes > MAX_NODES {
        return Err(invalid_input(format!(
            "A composite graph request can contain at most {MAX_NODES} nodes, not {nodes}"
        )));
    }
    let mut graph_ids = HashSet::new();
    let mut different: HashSet<NodeKind> = HashSet::new();
    for graph in &request.graphs {
        check_graph_id(&graph.graph_id)?;
        if !graph_ids.insert(graph.graph_id.as_str()) {
            return Err(invalid_input(format!(
                "Duplicate graphId: '{}'",
                graph.graph_id
            )));
        }
        if graph.nodes.is_empty() {
            return Err(invalid_input(format!(
                "Graph '{}' has no nodes",
                graph.graph_id
            )));
        }
        check_reference_ids(&graph.nodes)?;
        for node in &graph.nodes {
            different.insert(node_kind(node)?);
        }
        check_depth(graph)?;
    }
    if different.len() > MAX_DIFFERENT_NODES {
        return Err(invalid_input(format!(
            "A composite graph request can contain at most {MAX_DIFFERENT_NODES} different nodes, not {}",
            different.len()
        )));
    }
    Ok(())
}

/// Unique (checked by the caller), begins with a letter or digit, at most 40 characters.
fn check_graph_id(graph_id: &str) -> Result<(), ApiError> {
    let valid = graph_id
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && graph_id.len() <= MAX_GRAPH_ID_LEN;
    if valid {
        Ok(())
    } else {
        Err(invalid_input(format!("Invalid graphId: '{graph_id}'")))
    }
}

/// What makes two nodes "different" for the limit: API version, HTTP method, object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct NodeKind {
    version: String,
    method: Method,
    object: String,
}

/// The node's kind, when its method and URL are among the few Composite Graph allows:
/// `POST …/sobjects/{type}`, `GET|PATCH|DELETE …/sobjects/{type}/{id}` and
/// `GET|PATCH|DELETE|POST …/sobjects/{type}/{externalIdField}/{value}`.
fn node_kind(node: &SubrequestSpec) -> Result<NodeKind, ApiError> {
    let method = parse_method(node)?;
    let refused = || {
        invalid_input(format!(
            "Invalid node '{}': {} {} is not an sObject resource a composite graph supports",
            node.reference_id, node.method, node.url
        ))
    };
    let path = node.url.split('?').next().unwrap_or_default();
    let rest = path.strip_prefix("/services/data/v").ok_or_else(refused)?;
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let [version, "sobjects", object, tail @ ..] = segments.as_slice() else {
        return Err(refused());
    };
    if major_version(version).is_none() || object.is_empty() {
        return Err(refused());
    }
    let allowed = match tail {
        [] => method == Method::POST,
        [id] => {
            !matches!(*id, "" | "describe" | "updated" | "deleted")
                && [Method::GET, Method::PATCH, Method::DELETE].contains(&method)
        }
        [field, value] => {
            !field.is_empty()
                && !value.is_empty()
                && [Method::GET, Method::PATCH, Method::DELETE, Method::POST].contains(&method)
        }
        _ => false,
    };
    if !allowed {
        return Err(refused());
    }
    Ok(NodeKind {
        version: (*version).to_owned(),
        method,
        object: object.to_ascii_lowercase(),
    })
}

/// A node is one deep, plus the depth of the deepest earlier node of the graph it refers to.
fn check_depth(graph: &GraphSpec) -> Result<(), ApiError> {
    let mut depths: HashMap<&str, usize> = HashMap::new();
    for node in &graph.nodes {
        let mut text = node.url.clone();
        if let Some(body) = &node.body {
            text.push_str(&body.to_string());
        }
        let depth = 1 + references(&text)
            .filter_map(|name| depths.get(name).copied())
            .max()
            .unwrap_or(0);
        if depth > MAX_DEPTH {
            return Err(invalid_input(format!(
                "Graph '{}' is deeper than {MAX_DEPTH} nodes",
                graph.graph_id
            )));
        }
        depths.insert(&node.reference_id, depth);
    }
    Ok(())
}

/// The reference ids named by `@{name.path}` in `text`.
fn references(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("@{").filter_map(move |(at, _)| {
        let inner = &text[at + 2..];
        let end = inner.find(['.', '}'])?;
        Some(&inner[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(method: &str, url: &str, reference_id: &str) -> SubrequestSpec {
        serde_json::from_value(json!({"method": method, "url": url, "referenceId": reference_id}))
            .unwrap()
    }

    #[test]
    fn only_sobject_nodes_are_allowed() {
        let ok = |m, u| node_kind(&node(m, u, "n")).is_ok();
        assert!(ok("POST", "/services/data/v58.0/sobjects/Lead"));
        assert!(ok("POST", "/services/data/v58.0/sobjects/Lead/"));
        assert!(ok(
            "GET",
            "/services/data/v58.0/sobjects/Lead/@{n1.id}?fields=Name"
        ));
        assert!(ok(
            "PATCH",
            "/services/data/v58.0/sobjects/Lead/00Q8d00000000AAAAA"
        ));
        assert!(ok(
            "PATCH",
            "/services/data/v58.0/sobjects/Lead/Companion_Key__c/abc"
        ));
        assert!(!ok(
            "GET",
            "/services/data/v58.0/query?q=SELECT+Id+FROM+Lead"
        ));
        assert!(!ok("POST", "/services/data/v58.0/composite/sobjects"));
        assert!(!ok("GET", "/services/data/v58.0/sobjects/Lead/describe"));
        assert!(!ok("PATCH", "/services/data/v58.0/sobjects/Lead"));
        assert!(!ok(
            "POST",
            "/services/data/v58.0/sobjects/Lead/00Q8d00000000AAAAA"
        ));
        assert!(!ok("GET", "/services/data/v58.0/limits"));
    }

    #[test]
    fn different_nodes_differ_by_version_method_and_object() {
        let kind = |m, u| node_kind(&node(m, u, "n")).unwrap();
        let a = kind("POST", "/services/data/v58.0/sobjects/Lead");
        assert_eq!(a, kind("POST", "/services/data/v58.0/sobjects/lead/"));
        assert_ne!(a, kind("POST", "/services/data/v57.0/sobjects/Lead"));
        assert_ne!(a, kind("POST", "/services/data/v58.0/sobjects/Task"));
        assert_ne!(a, kind("GET", "/services/data/v58.0/sobjects/Lead/x"));
    }

    #[test]
    fn depth_follows_references() {
        let chain = |length: usize| GraphSpec {
            graph_id: "g".into(),
            nodes: (0..length)
                .map(|i| {
                    let url = if i == 0 {
                        "/services/data/v58.0/sobjects/Lead".to_owned()
                    } else {
                        format!("/services/data/v58.0/sobjects/Lead/@{{n{}.id}}", i - 1)
                    };
                    node(if i == 0 { "POST" } else { "GET" }, &url, &format!("n{i}"))
                })
                .collect(),
        };
        assert!(check_depth(&chain(15)).is_ok());
        assert!(check_depth(&chain(16)).is_err());
        let names: Vec<_> = references("a @{one.id} b @{two.records[0].Id} @{three}").collect();
        assert_eq!(names, vec!["one", "two", "three"]);
    }
}
