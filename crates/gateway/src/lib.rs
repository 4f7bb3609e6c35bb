//! Companion's backend: token exchange, sessions, Salesforce proxy
