//! Checking the workspace's files that are not open, on the worker: the driver's run over the
//! tree, exactly as `nmf check` runs it in the workspace's root (discovery with its
//! configuration and excludes, the cache, each file's settings), then, for the files whose
//! findings depended on an unsaved buffer, the check of each with the open buffers over the
//! disk, as open documents are checked. A check that is cancelled stops starting files (the
//! cache keeps those it checked) and gives nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_types::{Diagnostic, Position, Range};
use nmf_driver::cache::walk_record::discover_remembered;
use nmf_driver::check::message::Message;
use nmf_driver::project::ProjectIndex;
use nmf_driver::project::dependencies::DocumentDependencies;
use nmf_driver::run::{DocumentInput, RunOptions, check_by_file, check_document, open_cache};
use nmf_driver::settings::SettingsResolver;
use nmf_driver::settings::discover::discover;
use nmf_driver::source::kind::{SourceKind, is_notebook};
use nmf_linter::cancel::CancelToken;

use crate::commands::server::api::diagnostics::diagnostics;
use crate::commands::server::api::report::Report;
use crate::commands::server::edit::uri::file_uri;
use crate::commands::server::edit::{Encoding, PositionIndex};
use crate::commands::server::session::Session;
use crate::commands::server::session::project::depends_on;
use crate::commands::server::session::workspace::{Scope, Taken, WorkspaceFile};

/// A check of the workspace's files, to run on the worker.
pub struct WorkspaceJob {
    taken: Taken,
    root: PathBuf,
    resolver: Arc<SettingsResolver>,
    options: RunOptions,
    index: Arc<ProjectIndex>,
    encoding: Encoding,
    /// The files open in the editor: their buffers' findings are the session's.
    open: HashSet<PathBuf>,
}

/// What a workspace check gave.
pub struct WorkspaceOutcome {
    pub taken: Taken,
    /// Each file checked and its report; `None` when the check was cancelled.
    pub files: Option<Vec<(PathBuf, WorkspaceFile)>>,
    /// The configuration's error, or the cache's warnings.
    pub errors: Vec<String>,
}

impl WorkspaceJob {
    pub fn of(session: &Session, taken: Taken) -> Self {
        Self {
            taken,
            root: session.settings.root().to_path_buf(),
            resolver: session.settings.resolver.clone(),
            options: session.settings.workspace_run_options(),
            index: session.project.index.clone(),
            encoding: session.capabilities.encoding,
            open: session.open_paths(),
        }
    }

    pub fn run(self, token: &CancelToken) -> WorkspaceOutcome {
        let cancelled = |taken: Taken| WorkspaceOutcome {
            taken,
            files: None,
            errors: Vec::new(),
        };
        let discovered = match &self.taken.scope {
            Scope::Tree => match self.resolver.global() {
                // As `nmf check` walks: from the walk the cache remembers when it still holds.
                Ok(global) => discover_remembered(
                    std::slice::from_ref(&self.root),
                    &self.resolver,
                    &global.cache_dir,
                ),
                Err(error) => Err(error),
            },
            Scope::Files(paths) => discover(paths, &self.resolver),
        };
        let (files, stats) = match discovered {
            Ok(discovered) => (discovered.files, discovered.stats),
            Err(error) => {
                return WorkspaceOutcome {
                    taken: self.taken,
                    files: Some(Vec::new()),
                    errors: vec![error.to_string()],
                };
            }
        };
        let cache = open_cache(&self.resolver, self.options);
        let by_file = match check_by_file(&files, stats, &self.resolver, self.options, cache, token)
        {
            Ok(by_file) => by_file,
            Err(error) => {
                return WorkspaceOutcome {
                    taken: self.taken,
                    files: Some(Vec::new()),
                    errors: vec![error.to_string()],
                };
            }
        };
        if by_file.cancelled {
            return cancelled(self.taken);
        }
        let unlike = self.index.buffers_unlike_disk();
        let document_options = RunOptions {
            cache: false,
            ..self.options
        };
        let mut checked = Vec::with_capacity(by_file.files.len());
        for file in by_file.files {
            let Some(uri) = file_uri(&file.path) else {
                continue;
            };
            let mut messages = file.messages;
            let mut dependencies = file.dependencies;
            let with_buffers = !self.open.contains(&file.path)
                && unlike
                    .iter()
                    .any(|(buffer, words)| depends_on(&dependencies, buffer, *words));
            if with_buffers {
                // The disk's other files gave these findings; the editor's buffers win.
                let again = check_document(
                    DocumentInput::File,
                    &file.path,
                    &self.resolver,
                    document_options,
                    &self.index,
                );
                if token.is_cancelled() {
                    return cancelled(self.taken);
                }
                (messages, dependencies) = match again {
                    Ok((run, dependencies)) => (run.messages, dependencies),
                    Err(_) => (Vec::new(), DocumentDependencies::unknown()),
                };
            }
            let report = report_of(&file.path, &messages, self.encoding);
            checked.push((
                file.path,
                WorkspaceFile {
                    uri,
                    report,
                    dependencies,
                },
            ));
        }
        WorkspaceOutcome {
            taken: self.taken,
            files: Some(checked),
            errors: by_file.warnings,
        }
    }
}

/// The report of a file's findings, positioned in its text as the editor would hold it.
fn report_of(path: &Path, messages: &[Message], encoding: Encoding) -> Report {
    if messages.is_empty() {
        return Report::empty();
    }
    if is_notebook(path) {
        let diagnostics: Vec<Diagnostic> = messages.iter().map(notebook_file_diagnostic).collect();
        return Report::of(&diagnostics);
    }
    // Read again for the positions (the driver's findings are in lines and bytes): only
    // files with findings are.
    let text = match SourceKind::read(path) {
        Ok(SourceKind::Python(source)) => source.text.to_string(),
        _ => String::new(),
    };
    let positions = PositionIndex::new(&text, encoding);
    Report::of(&diagnostics(&positions, messages, |_| true))
}

/// A finding of a notebook that is not open, on the lines of the `.ipynb` file where its
/// cell's source line is written (as the `github` and `sarif` formats place it), its cell
/// named; without its fix, whose edits are in the cell's text.
fn notebook_file_diagnostic(message: &Message) -> Diagnostic {
    let empty = PositionIndex::new("", Encoding::Utf8);
    let mut diagnostic = diagnostics(&empty, std::slice::from_ref(message), |_| true)
        .pop()
        .unwrap_or_default();
    let line = |line: Option<usize>| {
        u32::try_from(line.unwrap_or(1).saturating_sub(1)).unwrap_or(u32::MAX)
    };
    let start = line(message.file_line);
    let end = line(message.file_end_line.or(message.file_line)).max(start);
    diagnostic.range = Range::new(Position::new(start, 0), Position::new(end + 1, 0));
    if let Some(cell) = message.cell {
        diagnostic.message = format!("cell {cell}: {}", diagnostic.message);
    }
    diagnostic.data = None;
    diagnostic
}
