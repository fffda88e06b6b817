//! Runs nmf's rules over files: reading and decoding, the prefilter, parsing, `noqa`.
//!
//! The driver never knows what a rule checks; it asks the registry whether a file could hold a
//! finding, parses it, and hands the tree to the linter's checker.

pub mod cache;
pub mod check;
pub mod flake8;
pub mod project;
pub mod run;
pub mod settings;
pub mod source;

pub use check::{CheckOptions, FileDiagnostics, check_source, check_text};
