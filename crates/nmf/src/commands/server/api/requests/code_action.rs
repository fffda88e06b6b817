//! `textDocument/codeAction`: each finding's fix, "Disable … for this line" (a `# noqa`
//! directive placed by the linter's [`NoqaEditor`]), and "fix all" for the document.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Diagnostic, NumberOrString,
    Position, Range, TextEdit, Uri, WorkspaceEdit,
};
use nmf_driver::run::{DocumentInput, FixMode, check_document};
use nmf_driver::source::parse::ParsedModule;
use nmf_linter::noqa::NoqaEditor;
use ruff_python_ast::PySourceType;
use ruff_text_size::Ranged;

use crate::commands::server::api::diagnostics::{
    Checking, FixData, TextSnapshot, notebook_snapshot, text_snapshot,
};
use crate::commands::server::edit::notebook::NotebookSnapshot;
use crate::commands::server::edit::{Encoding, PositionIndex};
use crate::commands::server::session::{FIX_ALL, Session};

/// What answering the request needs, taken when it arrives.
pub struct CodeActionJob {
    params: CodeActionParams,
    /// The document's text; `None` when it is not open.
    text: Option<String>,
    /// A cell of a notebook: its text is Python with IPython's syntax.
    in_notebook: bool,
    encoding: Encoding,
    /// What "fix all" checks, when it is wanted.
    fix_all: Option<(FixAllTarget, Checking)>,
}

enum FixAllTarget {
    Text(TextSnapshot),
    Cell {
        path: Option<std::path::PathBuf>,
        snapshot: NotebookSnapshot,
        index: usize,
    },
}

/// The actions, and the configuration's error if a check met one.
pub struct Answer {
    pub actions: Vec<CodeActionOrCommand>,
    pub error: Option<String>,
}

impl CodeActionJob {
    pub fn of(session: &Session, params: CodeActionParams) -> Self {
        let uri = params.text_document.uri.as_str();
        let document = session.documents.get(uri);
        let notebook = document.and_then(|document| document.notebook.clone());
        let fix_all = (document.is_some() && wants(&params, &CodeActionKind::new(FIX_ALL)))
            .then(|| {
                let target = match &notebook {
                    Some(notebook) => {
                        let snapshot = notebook_snapshot(session, notebook)?;
                        FixAllTarget::Cell {
                            path: session.notebook_path(notebook),
                            index: snapshot.index_of(uri)?,
                            snapshot,
                        }
                    }
                    None => FixAllTarget::Text(text_snapshot(session, uri)?),
                };
                Some((target, Checking::of(session, FixMode::Apply)))
            })
            .flatten();
        Self {
            text: document.map(|document| document.text.clone()),
            in_notebook: notebook.is_some(),
            encoding: session.capabilities.encoding,
            fix_all,
            params,
        }
    }

    pub fn run(self) -> Answer {
        let Some(text) = &self.text else {
            return Answer {
                actions: Vec::new(),
                error: None,
            };
        };
        let uri = &self.params.text_document.uri;
        let positions = PositionIndex::new(text, self.encoding);
        let mut actions = Vec::new();
        if wants(&self.params, &CodeActionKind::QUICKFIX) {
            let mut noqa = None;
            for diagnostic in &self.params.context.diagnostics {
                if diagnostic.source.as_deref() != Some("nmf") {
                    continue;
                }
                if let Some(fix) = diagnostic
                    .data
                    .clone()
                    .and_then(|data| serde_json::from_value::<FixData>(data).ok())
                {
                    // Unsafe fixes are offered too, titled as such; `fixAll` applies them only
                    // with `unsafe-fixes`.
                    let title = if fix.safe {
                        fix.title.clone()
                    } else {
                        format!("{} (unsafe)", fix.title)
                    };
                    actions.push(action(title, uri, fix.edits, diagnostic, fix.safe));
                }
                if let Some(NumberOrString::String(code)) = &diagnostic.code {
                    let noqa = noqa.get_or_insert_with(|| Noqa::new(text, self.in_notebook));
                    if let Some(edit) = noqa.edit(&positions, diagnostic.range.start.line, code) {
                        let title = format!("Disable {code} for this line");
                        actions.push(action(title, uri, vec![edit], diagnostic, false));
                    }
                }
            }
        }
        let mut error = None;
        if let Some((target, checking)) = self.fix_all {
            let fixed = match fixed_text(target, checking) {
                Ok(fixed) => fixed,
                Err(problem) => {
                    error = Some(problem);
                    None
                }
            };
            if let Some(fixed) = fixed.filter(|fixed| fixed != text) {
                let edit = TextEdit {
                    range: Range::new(Position::new(0, 0), positions.end()),
                    new_text: fixed,
                };
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: "nmf: fix all".to_string(),
                    kind: Some(CodeActionKind::new(FIX_ALL)),
                    edit: Some(workspace_edit(uri, vec![edit])),
                    ..CodeAction::default()
                }));
            }
        }
        Answer { actions, error }
    }
}

/// Whether the client asks for actions of `kind` (all kinds when it names none).
fn wants(params: &CodeActionParams, kind: &CodeActionKind) -> bool {
    params.context.only.as_ref().is_none_or(|kinds| {
        kinds
            .iter()
            .any(|wanted| kind.as_str().starts_with(wanted.as_str()))
    })
}

/// The document's text once every fix is applied; a cell's, once every fix of its notebook is.
fn fixed_text(target: FixAllTarget, checking: Checking) -> Result<Option<String>, String> {
    let Checking {
        resolver,
        options,
        index,
        ..
    } = checking;
    match target {
        FixAllTarget::Text(document) => {
            let Some(path) = document.path else {
                return Ok(None);
            };
            let bytes = document.text.into_bytes();
            let (run, _) = check_document(
                DocumentInput::Bytes(bytes),
                &path,
                &resolver,
                options,
                &index,
            )
            .map_err(|error| error.to_string())?;
            Ok(run
                .stdin_output
                .and_then(|bytes| String::from_utf8(bytes).ok()))
        }
        FixAllTarget::Cell {
            path,
            snapshot,
            index: cell,
        } => {
            let Some(path) = path else {
                return Ok(None);
            };
            let (run, _) = check_document(
                DocumentInput::Notebook(snapshot.notebook()),
                &path,
                &resolver,
                options,
                &index,
            )
            .map_err(|error| error.to_string())?;
            // The fixed notebook comes back as its JSON form, read with the driver's reader.
            let fixed = run
                .stdin_output
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|json| nmf_driver::source::notebook::Notebook::parse(json).ok());
            Ok(fixed.map(|notebook| notebook.cell_text(cell).to_string()))
        }
    }
}

/// The document's `# noqa` directives, read once when a finding first asks.
struct Noqa<'a> {
    editor: NoqaEditor<'a>,
}

impl<'a> Noqa<'a> {
    fn new(text: &'a str, in_notebook: bool) -> Self {
        let source_type = if in_notebook {
            PySourceType::Ipynb
        } else {
            PySourceType::Python
        };
        let parsed = ParsedModule::parse(text, source_type);
        // A document that does not parse has each line read on its own, as the driver reads it.
        let physical = !parsed.parsed().errors().is_empty();
        Self {
            editor: NoqaEditor::new(text, parsed.parsed().tokens(), physical),
        }
    }

    /// The edit that disables `code` on `line` (0-based); `None` when it is disabled already
    /// or no directive can be placed there.
    fn edit(&self, positions: &PositionIndex<'_>, line: u32, code: &str) -> Option<TextEdit> {
        let line = usize::try_from(line).ok()?.checked_add(1)?;
        let edit = self.editor.edit(line, &[code]).ok()??;
        let at = positions.position(edit.start());
        Some(TextEdit {
            range: Range::new(at, at),
            new_text: edit.content().unwrap_or_default().to_string(),
        })
    }
}

fn workspace_edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    }
}

fn action(
    title: String,
    uri: &Uri,
    edits: Vec<TextEdit>,
    diagnostic: &Diagnostic,
    preferred: bool,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(workspace_edit(uri, edits)),
        is_preferred: Some(preferred),
        ..CodeAction::default()
    })
}
