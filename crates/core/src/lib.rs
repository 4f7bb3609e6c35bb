//! Everything the Companion app does that is not UI
