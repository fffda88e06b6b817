//! Runs nmf's rules over files: reading and decoding, the prefilter, parsing, `noqa`.
//!
//! The driver never knows what a rule checks; it asks the registry whether a file could hold a
//! finding, parses it, and hands the tree to the linter's checker.

pub mod cache;
pub mod check;
pub mod codecs;
pub mod source;
pub mod walk_record;

pub use check::{CheckOptions, FileDiagnostics, check_source, check_text};
pub mod config;
pub mod discover;
pub mod fingerprint;
pub mod fix;
pub mod flake8;
pub mod lexicon;
mod magics;
pub mod message;
pub mod notebook;
mod notebook_check;
pub mod parse;
pub mod project;
pub mod run;
pub mod settings;
pub mod write;
