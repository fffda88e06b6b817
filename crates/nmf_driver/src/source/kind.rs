//! A file's content by kind, read and decoded: Python source, or a Jupyter notebook whose
//! Python cells are checked as one source (as ruff's `SourceKind`). Everything after reading —
//! the prefilter, the check, fixes, writing, the report — is one pipeline over this.

use std::borrow::Cow;
use std::path::Path;

use crate::source::fingerprint::Fingerprint;
use crate::source::notebook::Notebook;
use crate::source::{
    FileStamp, SourceError, SourceText, decode_source, encode_source, read_regular_file,
    read_source,
};

/// A file's content, read and decoded.
pub enum SourceKind {
    Python(SourceText),
    Notebook(NotebookFile),
}

/// A notebook, and what its file was when read (`None` for standard input or an editor's
/// buffer).
pub struct NotebookFile {
    pub notebook: Notebook,
    pub read: Option<(FileStamp, Fingerprint)>,
}

impl SourceKind {
    /// Reads the file at `path`, as a notebook when its name says so.
    pub fn read(path: &Path) -> Result<Self, SourceError> {
        if !is_notebook(path) {
            return read_source(path).map(Self::Python);
        }
        let file = read_regular_file(path)?;
        Ok(Self::Notebook(NotebookFile {
            notebook: read_notebook(file.bytes)?,
            read: Some((file.stamp, file.fingerprint)),
        }))
    }

    /// Decodes bytes that did not come from a file (standard input, an editor's buffer) named
    /// `path`.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<Self, SourceError> {
        if is_notebook(path) {
            read_notebook(bytes).map(|notebook| {
                Self::Notebook(NotebookFile {
                    notebook,
                    read: None,
                })
            })
        } else {
            decode_source(bytes).map(Self::Python)
        }
    }

    /// What the file was when read, for the cache (`None` for standard input).
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Self::Python(source) => source.fingerprint,
            Self::Notebook(file) => file.read.map(|(_, fingerprint)| fingerprint),
        }
    }

    /// What the file was when read, for `--fix` to tell whether it is still the same.
    pub fn stamp(&self) -> Option<FileStamp> {
        match self {
            Self::Python(source) => source.stamp,
            Self::Notebook(file) => file.read.map(|(stamp, _)| stamp),
        }
    }

    /// The Python code the prefilter reads: the file's text, or every Python cell's.
    pub fn code(&self) -> Cow<'_, str> {
        match self {
            Self::Python(source) => Cow::Borrowed(source.text.as_str()),
            Self::Notebook(file) => Cow::Owned(file.notebook.source(&[]).text),
        }
    }

    /// A notebook whose kernel runs another language than Python: it is not checked.
    pub fn foreign_language(&self) -> Option<&str> {
        match self {
            Self::Python(_) => None,
            Self::Notebook(file) => file.notebook.foreign_language.as_deref(),
        }
    }

    /// The bytes of the file as read, as `--fix` on standard input prints them back when
    /// there is nothing to fix (`None`: the text cannot be encoded again).
    pub fn unchanged_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Self::Python(source) => encode_source(source, &source.text),
            Self::Notebook(file) => Some(file.notebook.raw().as_bytes().to_vec()),
        }
    }
}

/// Whether `path` names a Jupyter notebook.
pub fn is_notebook(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "ipynb")
}

/// A notebook from its bytes; what is wrong with it, as an E902 reason.
fn read_notebook(bytes: Vec<u8>) -> Result<Notebook, SourceError> {
    let text = String::from_utf8(bytes).map_err(|error| SourceError {
        kind: "UnicodeDecodeError",
        message: format!(
            "'utf-8' codec can't decode byte {:#04x} in position {}: a notebook is UTF-8 JSON",
            error
                .as_bytes()
                .get(error.utf8_error().valid_up_to())
                .copied()
                .unwrap_or_default(),
            error.utf8_error().valid_up_to()
        ),
    })?;
    Notebook::parse(text).map_err(|message| SourceError {
        kind: "NotebookError",
        message,
    })
}
