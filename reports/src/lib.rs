//! The authbench results model and its renderers (terminal, JSON, JUnit,
//! Markdown, SARIF, HTML).
//!
//! The renderers arrive with the conformance engine and `authbench compare`; this
//! crate exists now so the workspace has the layout of DESIGN.md from the start.
