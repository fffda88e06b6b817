//! `nmf server`: the Language Server Protocol over standard input and output.
//!
//! A thin layer over the driver: each open document is checked with
//! [`check_stdin`](nmf_driver::run::check_stdin) under its own path, so that configuration,
//! `per-file-ignores`, `noqa` and fixes are exactly those of `nmf check`. Positions are
//! converted between nmf's (line, UTF-8 byte column) and the negotiated encoding.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use lsp_server::{
    Connection, ExtractError, Message as LspMessage, Notification, Request, Response,
};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{CodeActionRequest, RegisterCapability, Request as _};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CodeDescription, Diagnostic, DiagnosticSeverity,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, FileSystemWatcher, GlobPattern, InitializeParams, InitializeResult,
    NumberOrString, Position, PositionEncodingKind, PublishDiagnosticsParams, Range, Registration,
    RegistrationParams, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextEdit, Uri, WorkspaceEdit,
};
use nmf_driver::check::CheckOptions;
use nmf_driver::config::{CONFIG_FILES, Overrides};
use nmf_driver::message::Message;
use nmf_driver::run::{FixMode, RunOptions, check_stdin};
use nmf_driver::settings::{ConfigSource, SettingsResolver};
use nmf_linter::render::Location;
use ruff_diagnostics::Applicability;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::args::ServerArgs;

/// The code action kind that applies every safe fix of a document.
const FIX_ALL: &str = "source.fixAll.nmf";

/// Where each rule's documentation is.
const DOCS: &str =
    "https://github.com/mrsndmn/flake8-no-model-forward-call/blob/main/docs/rules.md";

/// The few switches an editor may set (`initializationOptions`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct EditorOptions {
    unsafe_fixes: Option<bool>,
    known_modules_only: Option<bool>,
}

/// A finding's fix, carried in the diagnostic's `data` for code actions.
#[derive(Debug, Serialize, Deserialize)]
struct FixData {
    title: String,
    safe: bool,
    edits: Vec<TextEdit>,
}

struct Server {
    resolver: Arc<SettingsResolver>,
    /// What the resolver is made from, to make it again when a configuration file changes.
    root: PathBuf,
    overrides: Overrides,
    utf8: bool,
    unsafe_fixes: bool,
    documents: HashMap<String, String>,
}

pub fn run(_args: &ServerArgs) -> Result<u8, Error> {
    let (connection, io_threads) = Connection::stdio();
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params)?;
    let utf8 = params
        .capabilities
        .general
        .as_ref()
        .and_then(|general| general.position_encodings.as_ref())
        .is_some_and(|encodings| encodings.contains(&PositionEncodingKind::UTF8));
    let options: EditorOptions = params
        .initialization_options
        .clone()
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default();
    let root = workspace_root(&params)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"));
    let overrides = Overrides {
        known_modules_only: options.known_modules_only,
        unsafe_fixes: options.unsafe_fixes,
        ..Overrides::default()
    };
    let watches_files = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|workspace| workspace.did_change_watched_files.as_ref())
        .and_then(|watched| watched.dynamic_registration)
        .unwrap_or(false);
    let resolver = Arc::new(SettingsResolver::new(
        ConfigSource::Discover,
        overrides.clone(),
        root.clone(),
    )?);
    let unsafe_fixes = resolver
        .global()
        .map(|global| global.unsafe_fixes)
        .unwrap_or(false);
    let capabilities = ServerCapabilities {
        position_encoding: Some(if utf8 {
            PositionEncodingKind::UTF8
        } else {
            PositionEncodingKind::UTF16
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX, CodeActionKind::new(FIX_ALL)]),
            ..CodeActionOptions::default()
        })),
        ..ServerCapabilities::default()
    };
    let result = InitializeResult {
        capabilities,
        server_info: Some(ServerInfo {
            name: "nmf".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    // Returns once the client said `initialized`: registrations may be asked for from here.
    connection.initialize_finish(id, serde_json::to_value(result)?)?;
    if watches_files {
        connection
            .sender
            .send(LspMessage::Request(watch_files_request()))?;
    }
    let mut server = Server {
        resolver,
        root,
        overrides,
        utf8,
        unsafe_fixes,
        documents: HashMap::new(),
    };
    let status = server.main_loop(&connection)?;
    drop(connection);
    io_threads.join()?;
    Ok(status)
}

fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    if let Some(folder) = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
    {
        return uri_path(&folder.uri);
    }
    #[allow(deprecated, reason = "older clients send only rootUri")]
    params.root_uri.as_ref().and_then(uri_path)
}

/// The file a `file:` URI names.
fn uri_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let path = text.strip_prefix("file://")?;
    let decoded = percent_decode(path)?;
    Some(PathBuf::from(decoded))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Server {
    /// Serves until `shutdown` and `exit` (status 0) or `exit` alone (status 1, as the
    /// specification says).
    fn main_loop(&mut self, connection: &Connection) -> Result<u8, Error> {
        for message in &connection.receiver {
            match message {
                LspMessage::Request(request) => {
                    if connection.handle_shutdown(&request)? {
                        return Ok(0);
                    }
                    let response = self.handle_request(request);
                    connection.sender.send(LspMessage::Response(response))?;
                }
                LspMessage::Notification(notification) => {
                    if notification.method == "exit" {
                        return Ok(1);
                    }
                    for publish in self.handle_notification(notification) {
                        connection.sender.send(LspMessage::Notification(publish))?;
                    }
                }
                LspMessage::Response(_) => {}
            }
        }
        Ok(1)
    }

    fn handle_request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        match request.extract::<CodeActionParams>(CodeActionRequest::METHOD) {
            Ok((id, params)) => {
                let actions = self.code_actions(&params);
                Response::new_ok(id, actions)
            }
            Err(ExtractError::JsonError { error, .. }) => Response::new_err(
                id,
                lsp_server::ErrorCode::InvalidParams as i32,
                error.to_string(),
            ),
            Err(ExtractError::MethodMismatch(request)) => Response::new_err(
                request.id,
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("nmf does not handle `{}`", request.method),
            ),
        }
    }

    fn handle_notification(&mut self, notification: Notification) -> Vec<Notification> {
        let uri = match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<DidOpenTextDocumentParams>(notification.params)
                else {
                    return Vec::new();
                };
                let uri = params.text_document.uri;
                self.documents
                    .insert(uri.as_str().to_string(), params.text_document.text);
                uri
            }
            DidChangeTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<DidChangeTextDocumentParams>(notification.params)
                else {
                    return Vec::new();
                };
                let uri = params.text_document.uri;
                // Full synchronisation: the last change holds the whole text.
                if let Some(change) = params.content_changes.into_iter().last() {
                    self.documents.insert(uri.as_str().to_string(), change.text);
                }
                uri
            }
            DidChangeWatchedFiles::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<DidChangeWatchedFilesParams>(notification.params)
                else {
                    return Vec::new();
                };
                let configuration_changed = params.changes.iter().any(|change| {
                    uri_path(&change.uri)
                        .and_then(|path| path.file_name().map(|name| name.to_os_string()))
                        .is_some_and(|name| CONFIG_FILES.iter().any(|config| name == *config))
                });
                if configuration_changed
                    && let Ok(resolver) = SettingsResolver::new(
                        ConfigSource::Discover,
                        self.overrides.clone(),
                        self.root.clone(),
                    )
                {
                    self.unsafe_fixes = resolver
                        .global()
                        .map(|global| global.unsafe_fixes)
                        .unwrap_or(false);
                    self.resolver = Arc::new(resolver);
                }
                // Any file may be one an open document's findings depend on.
                return self.republish_all();
            }
            DidCloseTextDocument::METHOD => {
                let Ok(params) =
                    serde_json::from_value::<DidCloseTextDocumentParams>(notification.params)
                else {
                    return Vec::new();
                };
                let uri = params.text_document.uri;
                self.documents.remove(uri.as_str());
                // A closed document's findings go away with it.
                return vec![publish(uri, Vec::new())];
            }
            _ => return Vec::new(),
        };
        vec![publish(uri.clone(), self.diagnostics(&uri))]
    }

    /// Every open document checked again and its diagnostics published.
    fn republish_all(&self) -> Vec<Notification> {
        let mut uris: Vec<&String> = self.documents.keys().collect();
        uris.sort();
        uris.into_iter()
            .filter_map(|uri| uri.parse::<Uri>().ok())
            .map(|uri| {
                let diagnostics = self.diagnostics(&uri);
                publish(uri, diagnostics)
            })
            .collect()
    }

    /// The findings of an open document, as diagnostics.
    fn diagnostics(&self, uri: &Uri) -> Vec<Diagnostic> {
        let Some(text) = self.documents.get(uri.as_str()) else {
            return Vec::new();
        };
        let Some(messages) = self.check(uri, text, FixMode::Off).map(|run| run.messages) else {
            return Vec::new();
        };
        messages
            .iter()
            .filter(|message| message.cell.is_none())
            .map(|message| self.diagnostic(text, message))
            .collect()
    }

    fn check(&self, uri: &Uri, text: &str, fix: FixMode) -> Option<nmf_driver::run::RunResult> {
        let path = uri_path(uri)?;
        let options = RunOptions {
            check: CheckOptions {
                respect_noqa: true,
                prefilter: true,
                ipython: false,
            },
            frames: false,
            color: false,
            fix,
            unsafe_fixes: self.unsafe_fixes,
            explanations: false,
            cache: false,
        };
        check_stdin(
            text.as_bytes().to_vec(),
            Some(&path),
            &self.resolver,
            options,
        )
        .ok()
    }

    fn diagnostic(&self, text: &str, message: &Message) -> Diagnostic {
        let range = Range::new(
            self.position(text, message.start),
            self.position(text, message.end),
        );
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
                    range: Range::new(
                        self.position(text, edit.start),
                        self.position(text, edit.end),
                    ),
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
            range,
            severity: Some(DiagnosticSeverity::WARNING),
            code: Some(NumberOrString::String(message.code.to_string())),
            code_description: href.map(|href| CodeDescription { href }),
            source: Some("nmf".to_string()),
            message: message.message.clone(),
            data: data.and_then(|data| serde_json::to_value(data).ok()),
            ..Diagnostic::default()
        }
    }

    /// nmf's 1-based line and UTF-8 byte column as an LSP position in the negotiated encoding.
    fn position(&self, text: &str, location: Location) -> Position {
        let line_index = location.line.saturating_sub(1);
        let line = text.split('\n').nth(line_index).unwrap_or_default();
        let mut byte = location.column.saturating_sub(1).min(line.len());
        while !line.is_char_boundary(byte) {
            byte -= 1;
        }
        Position::new(
            u32::try_from(line_index).unwrap_or(u32::MAX),
            width(&line[..byte], self.utf8),
        )
    }

    fn code_actions(&self, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let uri = &params.text_document.uri;
        let Some(text) = self.documents.get(uri.as_str()) else {
            return Vec::new();
        };
        let only = params.context.only.as_ref();
        let wants = |kind: &CodeActionKind| {
            only.is_none_or(|kinds| {
                kinds
                    .iter()
                    .any(|wanted| kind.as_str().starts_with(wanted.as_str()))
            })
        };
        let mut actions = Vec::new();
        if wants(&CodeActionKind::QUICKFIX) {
            for diagnostic in &params.context.diagnostics {
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
                    actions.push(action(
                        title,
                        CodeActionKind::QUICKFIX,
                        uri,
                        fix.edits,
                        diagnostic,
                        fix.safe,
                    ));
                }
                if let Some(NumberOrString::String(code)) = &diagnostic.code
                    && let Some(edit) =
                        noqa_edit(text, diagnostic.range.start.line, code, self.utf8)
                {
                    actions.push(action(
                        format!("Disable {code} for this line"),
                        CodeActionKind::QUICKFIX,
                        uri,
                        vec![edit],
                        diagnostic,
                        false,
                    ));
                }
            }
        }
        let fix_all = CodeActionKind::new(FIX_ALL);
        if wants(&fix_all)
            && let Some(fixed) = self
                .check(uri, text, FixMode::Apply)
                .and_then(|run| run.stdin_output)
                .and_then(|bytes| String::from_utf8(bytes).ok())
            && fixed != *text
        {
            let end = self.end_position(text);
            let edit = TextEdit {
                range: Range::new(Position::new(0, 0), end),
                new_text: fixed,
            };
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: "nmf: fix all".to_string(),
                kind: Some(fix_all),
                edit: Some(workspace_edit(uri, vec![edit])),
                ..CodeAction::default()
            }));
        }
        actions
    }

    fn end_position(&self, text: &str) -> Position {
        let lines = text.split('\n').count();
        let last = text.rsplit('\n').next().unwrap_or_default();
        Position::new(
            u32::try_from(lines.saturating_sub(1)).unwrap_or(u32::MAX),
            width(last, self.utf8),
        )
    }
}

/// Asks the client to watch Python and configuration files: their changes on disk can change
/// the findings of open documents.
fn watch_files_request() -> Request {
    let watchers = [
        "**/*.py",
        "**/pyproject.toml",
        "**/nmf.toml",
        "**/.nmf.toml",
    ]
    .into_iter()
    .map(|glob| FileSystemWatcher {
        glob_pattern: GlobPattern::String(glob.to_string()),
        kind: None,
    })
    .collect();
    let options = DidChangeWatchedFilesRegistrationOptions { watchers };
    Request::new(
        lsp_server::RequestId::from("nmf/watch-files".to_string()),
        RegisterCapability::METHOD.to_string(),
        RegistrationParams {
            registrations: vec![Registration {
                id: "nmf/watch-files".to_string(),
                method: DidChangeWatchedFiles::METHOD.to_string(),
                register_options: serde_json::to_value(options).ok(),
            }],
        },
    )
}

fn publish(uri: Uri, diagnostics: Vec<Diagnostic>) -> Notification {
    Notification::new(
        PublishDiagnostics::METHOD.to_string(),
        PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        },
    )
}

fn workspace_edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(std::collections::HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    }
}

fn action(
    title: String,
    kind: CodeActionKind,
    uri: &Uri,
    edits: Vec<TextEdit>,
    diagnostic: &Diagnostic,
    preferred: bool,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(kind),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(workspace_edit(uri, edits)),
        is_preferred: Some(preferred),
        ..CodeAction::default()
    })
}

/// The length of `text` in the negotiated encoding's code units: bytes or UTF-16 units.
fn width(text: &str, utf8: bool) -> u32 {
    let units = if utf8 {
        text.len()
    } else {
        text.encode_utf16().count()
    };
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// The edit that adds `code` to the line's `# noqa:` comment, or appends one.
fn noqa_edit(text: &str, line: u32, code: &str, utf8: bool) -> Option<TextEdit> {
    let content = text.split('\n').nth(usize::try_from(line).ok()?)?;
    let content = content.strip_suffix('\r').unwrap_or(content);
    let end = Position::new(line, width(content, utf8));
    let existing = content.rfind("# noqa:");
    let new_text = match existing {
        Some(_) if content.contains(code) => return None,
        Some(_) => format!(", {code}"),
        None => format!("  # noqa: {code}"),
    };
    Some(TextEdit {
        range: Range::new(end, end),
        new_text,
    })
}
