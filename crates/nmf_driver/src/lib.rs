//! Runs nmf's rules over files: reading and decoding, the prefilter, parsing, `noqa`, fixes.
//!
//! The driver never knows what a rule checks; it asks the registry which rules could find
//! something in a file, parses it, and hands the tree to the linter's checker. Its folders, each
//! importing only from those listed before it (`tests/layout.rs` keeps it so):
//!
//! - [`source`]: reading files and decoding them (codecs, notebooks, IPython magics), parsing,
//!   the fingerprint of what was read, and the leftovers nmf's writes may leave next to a file;
//! - [`settings`]: configuration files, the settings of each file, and discovery of the files
//!   to check;
//! - [`project`]: the index of the project's modules (their summaries and words) that a check
//!   looks things up in, and the record of what a check depended on;
//! - [`check`]: one file's pipeline for every kind of source (prefilter decision, rules,
//!   `noqa`, fixes, writing back) and its findings as messages;
//! - [`cache`]: findings kept between runs with what they depended on, and remembered walks;
//! - [`run`]: a whole run over many files, standard input, or an editor's document; and
//!   [`flake8`], what the flake8 plugin asks of the engine.

pub mod source;

pub mod settings;

pub mod project;

pub mod check;

pub mod cache;

pub mod flake8;
pub mod run;

pub use check::{CheckOptions, FileDiagnostics, check_source, check_text};
