//! What was agreed at `initialize`: the position encoding, whether the client tells of files
//! changed on disk, the editor's switches, and what the server offers.

use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, InitializeParams,
    InitializeResult, Notebook, NotebookCellSelector, NotebookDocumentSyncOptions,
    NotebookSelector, OneOf, SaveOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions,
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
}

pub struct Capabilities {
    pub encoding: Encoding,
    /// The client tells of files changed on disk. When it does not, the project index is made
    /// anew at each save, so that files added or removed meanwhile are seen.
    pub watches_files: bool,
}

impl Capabilities {
    pub fn of(params: &InitializeParams) -> Self {
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
        Self {
            encoding,
            watches_files,
        }
    }
}

pub fn initialize_result(encoding: Encoding) -> InitializeResult {
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
