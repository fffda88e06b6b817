//! A document's findings: what a check needs is taken from the session on the main loop
//! ([`CheckJob::of`]), the check and the conversion to LSP diagnostics and their
//! [`Report`]s run on the worker ([`CheckJob::run`]), and the session keeps what the findings
//! depended on and delivers the reports (published, or kept for the client to pull).

use std::path::PathBuf;
use std::sync::Arc;

use lsp_types::{CodeDescription, Diagnostic, DiagnosticSeverity, NumberOrString, TextEdit, Uri};
use nmf_driver::check::message::Message;
use nmf_driver::project::ProjectIndex;
use nmf_driver::project::dependencies::DocumentDependencies;
use nmf_driver::run::{DocumentInput, FixMode, RunOptions, check_document};
use nmf_driver::settings::SettingsResolver;
use ruff_diagnostics::Applicability;
use serde::{Deserialize, Serialize};

use super::report::Report;

use crate::commands::server::edit::notebook::{CellSnapshot, NotebookSnapshot};
use crate::commands::server::edit::{Encoding, PositionIndex};
use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

/// Where each rule's documentation is.
const DOCS: &str =
    "https://github.com/mrsndmn/flake8-no-model-forward-call/blob/main/docs/rules.md";

/// A finding's fix, carried in the diagnostic's `data` for code actions.
#[derive(Debug, Serialize, Deserialize)]
pub struct FixData {
    pub title: String,
    pub safe: bool,
    pub edits: Vec<TextEdit>,
}

/// What the driver checks, and with what.
pub struct Checking {
    pub resolver: Arc<SettingsResolver>,
    pub options: RunOptions,
    pub index: Arc<ProjectIndex>,
    pub encoding: Encoding,
}

impl Checking {
    pub fn of(session: &Session, fix: FixMode) -> Self {
        Self {
            resolver: session.settings.resolver.clone(),
            options: session.settings.run_options(fix),
            index: session.project.index.clone(),
            encoding: session.capabilities.encoding,
        }
    }
}

/// A text document's text as it was when a check was asked for.
pub struct TextSnapshot {
    pub uri: Uri,
    /// Where it is checked; `None` for a document that cannot be placed: it gets no findings.
    pub path: Option<PathBuf>,
    pub text: String,
    pub version: i32,
}

enum Target {
    Text(TextSnapshot),
    Notebook {
        path: Option<PathBuf>,
        snapshot: NotebookSnapshot,
        /// The cells published to last time.
        previously: Vec<String>,
    },
}

/// The check of one document or notebook, to run on the worker.
pub struct CheckJob {
    pub unit: String,
    target: Target,
    checking: Checking,
}

/// A report for one document (a text document, or a notebook's cell).
pub struct DocumentReport {
    pub uri: String,
    pub report: Report,
    /// The version of the text it is for; `None` for a cell no longer in its notebook.
    pub version: Option<i32>,
}

/// What a check gave: a report for each of the unit's documents, and what the session keeps.
pub struct CheckOutcome {
    pub unit: String,
    pub reports: Vec<DocumentReport>,
    /// What the findings depended on; `None` when the configuration is broken.
    pub dependencies: Option<DocumentDependencies>,
    /// The configuration's error.
    pub error: Option<String>,
    /// For a notebook, the cells published to.
    pub published_cells: Option<Vec<String>>,
}

impl CheckJob {
    /// The check of `unit` as the session holds it now; `None` when it is closed.
    pub fn of(session: &Session, unit: &str) -> Option<Self> {
        let target = if let Some(state) = session.notebooks.get(unit) {
            Target::Notebook {
                path: session.notebook_path(unit),
                snapshot: notebook_snapshot(session, unit)?,
                previously: state.published.clone(),
            }
        } else {
            Target::Text(text_snapshot(session, unit)?)
        };
        Some(Self {
            unit: unit.to_string(),
            target,
            checking: Checking::of(session, FixMode::Off),
        })
    }

    pub fn run(self) -> CheckOutcome {
        let Checking {
            resolver,
            options,
            index,
            encoding,
        } = self.checking;
        match self.target {
            Target::Text(document) => {
                let Some(path) = document.path else {
                    return CheckOutcome {
                        unit: self.unit,
                        reports: vec![DocumentReport {
                            uri: document.uri.to_string(),
                            report: Report::empty(),
                            version: Some(document.version),
                        }],
                        dependencies: None,
                        error: None,
                        published_cells: None,
                    };
                };
                let bytes = document.text.clone().into_bytes();
                let checked = check_document(
                    DocumentInput::Bytes(bytes),
                    &path,
                    &resolver,
                    options,
                    &index,
                );
                let (messages, dependencies, error) = split(checked);
                let positions = PositionIndex::of_file(&document.text, encoding);
                let diagnostics =
                    diagnostics(&positions, &messages, |message| message.cell.is_none());
                CheckOutcome {
                    unit: self.unit,
                    reports: vec![DocumentReport {
                        uri: document.uri.to_string(),
                        report: Report::of(&diagnostics),
                        version: Some(document.version),
                    }],
                    dependencies,
                    error,
                    published_cells: None,
                }
            }
            Target::Notebook {
                path,
                snapshot,
                previously,
            } => {
                let checked = path.map(|path| {
                    check_document(
                        DocumentInput::Notebook(snapshot.notebook()),
                        &path,
                        &resolver,
                        options,
                        &index,
                    )
                });
                let (messages, dependencies, error) = match checked {
                    Some(checked) => split(checked),
                    None => (Vec::new(), None, None),
                };
                let mut reports = Vec::new();
                for (index, cell) in snapshot.cells.iter().enumerate() {
                    let Some((text, version)) = &cell.text else {
                        continue;
                    };
                    if cell.uri.parse::<Uri>().is_err() {
                        continue;
                    }
                    let positions = PositionIndex::new(text, encoding);
                    let diagnostics = diagnostics(&positions, &messages, |message| {
                        message.cell == Some(index + 1)
                    });
                    reports.push(DocumentReport {
                        uri: cell.uri.clone(),
                        report: Report::of(&diagnostics),
                        version: Some(*version),
                    });
                }
                let cells: Vec<String> = snapshot.cells.into_iter().map(|cell| cell.uri).collect();
                for gone in previously.iter().filter(|gone| !cells.contains(gone)) {
                    if gone.parse::<Uri>().is_ok() {
                        reports.push(DocumentReport {
                            uri: gone.clone(),
                            report: Report::empty(),
                            version: None,
                        });
                    }
                }
                CheckOutcome {
                    unit: self.unit,
                    reports,
                    dependencies,
                    error,
                    published_cells: Some(cells),
                }
            }
        }
    }
}

/// The findings, what they depended on, or the configuration's error.
fn split(
    checked: Result<
        (nmf_driver::run::RunResult, DocumentDependencies),
        nmf_driver::settings::config::ConfigError,
    >,
) -> (Vec<Message>, Option<DocumentDependencies>, Option<String>) {
    match checked {
        Ok((run, dependencies)) => (run.messages, Some(dependencies), None),
        Err(error) => (Vec::new(), None, Some(error.to_string())),
    }
}

/// A text document's text now; `None` when it is not open (or is a notebook's cell).
pub fn text_snapshot(session: &Session, uri: &str) -> Option<TextSnapshot> {
    let document = session.documents.get(uri)?;
    Some(TextSnapshot {
        uri: uri.parse().ok()?,
        path: session.document_path(uri),
        text: document.text.clone(),
        version: document.version,
    })
}

/// A notebook's cells and their texts now.
pub fn notebook_snapshot(session: &Session, notebook: &str) -> Option<NotebookSnapshot> {
    let state = session.notebooks.get(notebook)?;
    let cells = state
        .cells
        .iter()
        .map(|cell| {
            let text = session
                .documents
                .get(&cell.uri)
                .map(|document| (document.text.clone(), document.version));
            CellSnapshot {
                uri: cell.uri.clone(),
                text,
                python: state.is_python(cell),
            }
        })
        .collect();
    Some(NotebookSnapshot {
        cells,
        metadata: state.metadata.clone(),
    })
}

impl Session {
    /// Keeps what a check gave, unless the document was closed, or changed meanwhile in a way
    /// its findings may depend on (checked again then); what to send is returned.
    pub fn finish_check(&mut self, outcome: CheckOutcome, started: u64) -> Vec<Outgoing> {
        let unit = outcome.unit.as_str();
        let open = self.notebooks.contains_key(unit)
            || self
                .documents
                .get(unit)
                .is_some_and(|document| document.notebook.is_none());
        if !open {
            return Vec::new();
        }
        if let Some(dependencies) = &outcome.dependencies
            && self.project.changed_since(started, dependencies)
        {
            self.mark_stale(unit);
            return Vec::new();
        }
        if let Some(dependencies) = outcome.dependencies {
            self.project.set_dependencies(unit, dependencies);
        }
        if let Some(cells) = outcome.published_cells
            && let Some(state) = self.notebooks.get_mut(unit)
        {
            state.published = cells;
        }
        if let Some(error) = outcome.error {
            self.tell(error);
        }
        outcome
            .reports
            .into_iter()
            .filter_map(|document| self.deliver(&document.uri, document.report, document.version))
            .collect()
    }
}

/// The LSP diagnostics of the findings `wanted` keeps.
pub fn diagnostics(
    positions: &PositionIndex<'_>,
    messages: &[Message],
    wanted: impl Fn(&Message) -> bool,
) -> Vec<Diagnostic> {
    messages
        .iter()
        .filter(|message| wanted(message))
        .map(|message| diagnostic(positions, message))
        .collect()
}

fn diagnostic(positions: &PositionIndex<'_>, message: &Message) -> Diagnostic {
    let data = message.fix.as_ref().map(|fix| FixData {
        title: message
            .fix_title
            .clone()
            .unwrap_or_else(|| format!("Fix {}", message.code)),
        safe: fix.applicability == Applicability::Safe,
        edits: fix
            .edits
            .iter()
            .map(|edit| TextEdit {
                range: positions.range(edit.start, edit.end),
                new_text: edit.content.clone(),
            })
            .collect(),
    });
    let href = message.rule.and_then(|rule| {
        format!("{DOCS}#{}-{}", rule.name, rule.code.to_ascii_lowercase())
            .parse::<Uri>()
            .ok()
    });
    Diagnostic {
        range: positions.range(message.start, message.end),
        severity: Some(DiagnosticSeverity::WARNING),
        code: Some(NumberOrString::String(message.code.to_string())),
        code_description: href.map(|href| CodeDescription { href }),
        source: Some("nmf".to_string()),
        message: message.message.clone(),
        data: data.and_then(|data| serde_json::to_value(data).ok()),
        ..Diagnostic::default()
    }
}
