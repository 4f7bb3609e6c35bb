//! Headless Companion client over core
