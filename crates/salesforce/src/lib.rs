//! Typed Salesforce OAuth and REST client
