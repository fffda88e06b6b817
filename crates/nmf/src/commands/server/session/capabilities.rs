//! What was agreed at `initialize`: the position encoding, whether the client tells of files
//! changed on disk, whether it pulls diagnostics, the editor's switches, and what the server
//! offers.

use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, DiagnosticOptions,
    DiagnosticServerCapabilities, InitializeParams, InitializeResult, Notebook,
    NotebookCellSelector, NotebookDocumentSyncOptions, NotebookSelector, OneOf, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, WorkDoneProgressOptions,
};
use serde::Deserialize;

use crate::commands::server::edit::Encoding;

/// The code action kind that applies every safe fix of a document.
pub const FIX_ALL: &str = "source.fixAll.nmf";

/// The few switches an editor may set (`initializationOptions`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EditorOptions {
    pub unsafe_fixes: Option<bool>,
    pub known_modules_only: Option<bool>,
    /// Report every file of the workspace, not only the open ones.
    pub workspace_diagnostics: Option<bool>,
}

pub struct Capabilities {
    pub encoding: Encoding,
    /// The client tells of files changed on disk. When it does not, the project index is made
    /// anew at each save, so that files added or removed meanwhile are seen.
    pub watches_files: bool,
    /// The client pulls diagnostics (LSP 3.17, `textDocument.diagnostic`): it gets none
    /// pushed, so that no document has two sets.
    pub pulls_diagnostics: bool,
    /// The client re-pulls when asked (`workspace/diagnostic/refresh`).
    pub refreshes_diagnostics: bool,
    /// Every file of the workspace is reported (`initializationOptions.workspaceDiagnostics`):
    /// to a client that pulls, through `workspace/diagnostic`; to others, published.
    pub workspace_diagnostics: bool,
}

impl Capabilities {
    /// `raw` is the `initialize` request's parameters as sent: `lsp_types` reads the client's
    /// refresh support from `workspace.diagnostic`, where the specification (and VS Code)
    /// write `workspace.diagnostics`.
    pub fn of(params: &InitializeParams, raw: &serde_json::Value, options: &EditorOptions) -> Self {
        let encoding = Encoding::negotiate(
            params
                .capabilities
                .general
                .as_ref()
                .and_then(|general| general.position_encodings.as_deref()),
        );
        let watches_files = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|workspace| workspace.did_change_watched_files.as_ref())
            .and_then(|watched| watched.dynamic_registration)
            .unwrap_or(false);
        let pulls_diagnostics = params
            .capabilities
            .text_document
            .as_ref()
            .is_some_and(|text_document| text_document.diagnostic.is_some());
        let workspace = &raw["capabilities"]["workspace"];
        let refreshes_diagnostics = ["diagnostics", "diagnostic"]
            .iter()
            .any(|name| workspace[name]["refreshSupport"] == serde_json::Value::Bool(true));
        Self {
            encoding,
            watches_files,
            pulls_diagnostics,
            refreshes_diagnostics,
            workspace_diagnostics: options.workspace_diagnostics.unwrap_or(false),
        }
    }
}

pub fn initialize_result(capabilities: &Capabilities) -> InitializeResult {
    let encoding = capabilities.encoding;
    // Announced only to a client that pulls: a client that does not could take it for a
    // promise of something it will never ask for.
    let diagnostic_provider = capabilities.pulls_diagnostics.then(|| {
        DiagnosticServerCapabilities::Options(DiagnosticOptions {
            identifier: Some("nmf".to_string()),
            inter_file_dependencies: true,
            workspace_diagnostics: capabilities.workspace_diagnostics,
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })
    });
    let capabilities = ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        notebook_document_sync: Some(OneOf::Left(NotebookDocumentSyncOptions {
            // Every notebook's Python cells. Spelt with `notebook: "*"`: the form without
            // `notebook` is as valid, but some clients (lsprotocol, under pygls) reject it.
            notebook_selector: vec![NotebookSelector::ByNotebook {
                notebook: Notebook::String("*".to_string()),
                cells: Some(vec![NotebookCellSelector {
                    language: "python".to_string(),
                }]),
            }],
            save: None,
        })),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX, CodeActionKind::new(FIX_ALL)]),
            ..CodeActionOptions::default()
        })),
        diagnostic_provider,
        ..ServerCapabilities::default()
    };
    InitializeResult {
        capabilities,
        server_info: Some(ServerInfo {
            name: "nmf".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    }
}
