//! The crate's one error type.

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("unknown sObject type '{0}'")]
    UnknownObject(String),
    #[error("no {0} record with id {1}")]
    RecordNotFound(String, String),
    #[error("no field '{1}' on {0}")]
    UnknownField(String, String),
    #[error("field '{1}' on {0} is read-only")]
    ReadOnlyField(String, String),
    #[error("lead {0} is converted already")]
    LeadConverted(String),
    #[error("fields must be a JSON object")]
    NotAnObject,
}
