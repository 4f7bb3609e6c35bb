//! A simulated Salesforce org for tests and the demo
