//! `nmf server`: the Language Server Protocol over standard input and output.
//!
//! A thin layer over the driver: each open document is checked with
//! [`check_document`](nmf_driver::run::check_document) under its own path, so that
//! configuration, `per-file-ignores`, `noqa` and fixes are exactly those of `nmf check`; one
//! [`ProjectIndex`] serves every check, with the open buffers set over the disk's files. A
//! notebook's cells are checked together as the notebook they make.
//!
//! Work is coalesced: every message that has arrived is handled before anything is checked,
//! a document edited three times is checked once, and publishing stops for newer messages.

mod notebook;
mod text;
mod transport;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_server::{ErrorCode, Message as LspMessage, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    Cancel, DidChangeNotebookDocument, DidChangeTextDocument, DidChangeWatchedFiles,
    DidCloseNotebookDocument, DidCloseTextDocument, DidOpenNotebookDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _, PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{CodeActionRequest, RegisterCapability, Request as _};
use lsp_types::{
    CancelParams, CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand,
    CodeActionParams, CodeActionProviderCapability, CodeDescription, Diagnostic,
    DiagnosticSeverity, DidChangeNotebookDocumentParams, DidChangeTextDocumentParams,
    DidChangeWatchedFilesParams, DidChangeWatchedFilesRegistrationOptions,
    DidCloseNotebookDocumentParams, DidCloseTextDocumentParams, DidOpenNotebookDocumentParams,
    DidOpenTextDocumentParams, FileSystemWatcher, GlobPattern, InitializeParams, InitializeResult,
    MessageType, Notebook, NotebookCellSelector, NotebookDocumentSyncOptions, NotebookSelector,
    NumberOrString, OneOf, Position, PositionEncodingKind, PublishDiagnosticsParams, Range,
    Registration, RegistrationParams, SaveOptions, ServerCapabilities, ServerInfo,
    ShowMessageParams, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, TextEdit, Uri, WorkspaceEdit,
};
use nmf_driver::check::CheckOptions;
use nmf_driver::check::message::Message;
use nmf_driver::project::ProjectIndex;
use nmf_driver::project::dependencies::DocumentDependencies;
use nmf_driver::run::{FixMode, RunOptions, RunResult, check_document};
use nmf_driver::settings::config::{CONFIG_FILES, Overrides};
use nmf_driver::settings::{ConfigSource, SettingsResolver};
use ruff_diagnostics::Applicability;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::args::ServerArgs;
use notebook::NotebookState;
use text::{Lines, apply_change, width};
use transport::{Outgoing, Transport};

/// The code action kind that applies every safe fix of a document.
const FIX_ALL: &str = "source.fixAll.nmf";

/// Where each rule's documentation is.
const DOCS: &str =
    "https://github.com/mrsndmn/flake8-no-model-forward-call/blob/main/docs/rules.md";

/// The error code LSP gives a request cancelled before it was answered.
const REQUEST_CANCELLED: i32 = -32800;

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

/// An open text document: a Python file, or a notebook's cell.
struct Document {
    text: String,
    version: i32,
    /// The notebook the document is a cell of.
    notebook: Option<String>,
}

struct Server {
    resolver: Arc<SettingsResolver>,
    /// What the resolver is made from, to make it again when a configuration file changes.
    root: PathBuf,
    overrides: Overrides,
    utf8: bool,
    unsafe_fixes: bool,
    /// The client tells of files changed on disk. When it does not, the index is made anew at
    /// each save, so that files added or removed meanwhile are seen.
    watches_files: bool,
    index: ProjectIndex,
    documents: HashMap<String, Document>,
    notebooks: HashMap<String, NotebookState>,
    /// What each checked document's (or notebook's) findings depended on.
    dependencies: HashMap<String, DocumentDependencies>,
    /// Documents and notebooks to check and publish, edited ones first.
    stale: StaleQueue,
    /// Configuration errors already shown.
    told: Vec<String>,
    /// Messages for the user, sent with the next answer or publication.
    outbox: Vec<Outgoing>,
}

pub fn run(_args: &ServerArgs) -> Result<u8, Error> {
    let transport = Transport::stdio();
    let status = serve(&transport);
    transport.finish()?;
    status
}

fn serve(transport: &Transport) -> Result<u8, Error> {
    let Some((id, params)) = wait_for_initialize(transport) else {
        return Ok(1);
    };
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
    let resolver =
        match SettingsResolver::new(ConfigSource::Discover, overrides.clone(), root.clone()) {
            Ok(resolver) => Arc::new(resolver),
            Err(error) => {
                // The editor shows why; the server cannot check without settings.
                transport.send(Response::new_err(
                    id,
                    ErrorCode::InternalError as i32,
                    format!("nmf: {error}"),
                ));
                return Ok(2);
            }
        };
    let unsafe_fixes = resolver
        .global()
        .map(|global| global.unsafe_fixes)
        .unwrap_or(false);
    transport.send(Response::new_ok(id, initialize_result(utf8)));
    let mut server = Server {
        resolver,
        root,
        overrides,
        utf8,
        unsafe_fixes,
        watches_files,
        index: ProjectIndex::new(),
        documents: HashMap::new(),
        notebooks: HashMap::new(),
        dependencies: HashMap::new(),
        stale: StaleQueue::default(),
        told: Vec::new(),
        outbox: Vec::new(),
    };
    Ok(server.main_loop(transport))
}

/// Before `initialize`, a request is answered "not initialized" and a notification dropped,
/// as the specification says; `None` when the client leaves (or says `exit`) first.
fn wait_for_initialize(transport: &Transport) -> Option<(RequestId, InitializeParams)> {
    for message in &transport.receiver {
        match message {
            LspMessage::Request(request) if request.method == "initialize" => {
                match serde_json::from_value::<InitializeParams>(request.params) {
                    Ok(params) => return Some((request.id, params)),
                    Err(error) => transport.send(Response::new_err(
                        request.id,
                        ErrorCode::InvalidParams as i32,
                        error.to_string(),
                    )),
                }
            }
            LspMessage::Request(request) => transport.send(Response::new_err(
                request.id,
                ErrorCode::ServerNotInitialized as i32,
                "the server is not initialized yet".to_string(),
            )),
            LspMessage::Notification(notification) if notification.method == "exit" => {
                return None;
            }
            LspMessage::Notification(_) | LspMessage::Response(_) => {}
        }
    }
    None
}

fn initialize_result(utf8: bool) -> InitializeResult {
    let capabilities = ServerCapabilities {
        position_encoding: Some(if utf8 {
            PositionEncodingKind::UTF8
        } else {
            PositionEncodingKind::UTF16
        }),
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
    path_of(uri.as_str())
}

fn path_of(uri: &str) -> Option<PathBuf> {
    let path = uri.strip_prefix("file://")?;
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

/// `path`, with `.extension` added unless it already ends so.
fn with_extension(path: PathBuf, extension: &str) -> PathBuf {
    if path.extension().is_some_and(|ext| ext == extension) {
        return path;
    }
    let mut name = path.into_os_string();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

/// Whether the project index reads the file at `path` as a module.
fn is_module(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "py")
}

/// Whether `path` is where `module` would be found: `a/b.py` or `a/b/__init__.py` for `a.b`.
fn could_define(path: &Path, module: &str) -> bool {
    let relative: PathBuf = module.split('.').collect();
    path.ends_with(relative.with_extension("py")) || path.ends_with(relative.join("__init__.py"))
}

/// Whether findings that depended on `dependencies` may change with the file at `path`;
/// `words_changed`: what the project searches see of the file changed.
fn depends_on(dependencies: &DocumentDependencies, path: &Path, words_changed: bool) -> bool {
    dependencies.incomplete
        || (dependencies.searched && words_changed && is_module(path))
        || dependencies.files.iter().any(|file| file == path)
        || dependencies
            .missing_modules
            .iter()
            .any(|module| could_define(path, module))
}

impl Server {
    /// Serves until `exit`: status 0 after `shutdown`, 1 without (as the specification says).
    fn main_loop(&mut self, transport: &Transport) -> u8 {
        let mut queue: VecDeque<LspMessage> = VecDeque::new();
        let mut shut_down = false;
        loop {
            if queue.is_empty() {
                match transport.receiver.recv() {
                    Ok(message) => queue.push_back(message),
                    Err(_) => return 1,
                }
            }
            queue.extend(transport.receiver.try_iter());
            while let Some(message) = queue.pop_front() {
                match message {
                    LspMessage::Request(request) => {
                        // What arrived meanwhile may cancel it.
                        queue.extend(transport.receiver.try_iter());
                        let cancelled = queue
                            .iter()
                            .any(|later| cancelled_id(later).as_ref() == Some(&request.id));
                        let response = if shut_down {
                            Response::new_err(
                                request.id,
                                ErrorCode::InvalidRequest as i32,
                                "the server is shutting down".to_string(),
                            )
                        } else if request.method == "shutdown" {
                            shut_down = true;
                            Response::new_ok(request.id, ())
                        } else if cancelled {
                            Response::new_err(
                                request.id,
                                REQUEST_CANCELLED,
                                "cancelled".to_string(),
                            )
                        } else {
                            self.handle_request(request)
                        };
                        transport.send(response);
                        for message in self.outbox.drain(..) {
                            transport.send_out(message);
                        }
                    }
                    LspMessage::Notification(notification) => match notification.method.as_str() {
                        "exit" => return u8::from(!shut_down),
                        "initialized" => {
                            if self.watches_files {
                                transport.send(watch_files_request());
                            }
                        }
                        _ => {
                            for publish in self.handle_notification(notification) {
                                transport.send_out(publish);
                            }
                        }
                    },
                    LspMessage::Response(_) => {}
                }
            }
            self.publish_stale(transport, &mut queue);
        }
    }

    /// Checks and publishes what is stale, edited documents first; stops as soon as newer
    /// messages arrive (they may edit the documents again), leaving the rest for after them.
    fn publish_stale(&mut self, transport: &Transport, queue: &mut VecDeque<LspMessage>) {
        while let Some(unit) = self.stale.pop_front() {
            for publish in self.publish(&unit) {
                transport.send_out(publish);
            }
            for message in self.outbox.drain(..) {
                transport.send_out(message);
            }
            queue.extend(transport.receiver.try_iter());
            if !queue.is_empty() {
                return;
            }
        }
    }

    fn mark_stale(&mut self, unit: &str) {
        self.stale.push(unit);
    }

    /// The document at `unit` was edited, or the file at `path` changed: it and what depended
    /// on the file are checked again.
    fn changed(&mut self, unit: Option<&str>, path: Option<&Path>, words_changed: bool) {
        if let Some(unit) = unit {
            self.mark_stale(unit);
        }
        let Some(path) = path else {
            return;
        };
        let mut dependents: Vec<String> = self
            .dependencies
            .iter()
            .filter(|(known, dependencies)| {
                Some(known.as_str()) != unit && depends_on(dependencies, path, words_changed)
            })
            .map(|(known, _)| known.clone())
            .collect();
        dependents.sort();
        for dependent in dependents {
            self.mark_stale(&dependent);
        }
    }

    fn mark_all_stale(&mut self) {
        let mut units: Vec<String> = self
            .documents
            .iter()
            .filter(|(_, document)| document.notebook.is_none())
            .map(|(uri, _)| uri.clone())
            .chain(self.notebooks.keys().cloned())
            .collect();
        units.sort();
        for unit in units {
            self.mark_stale(&unit);
        }
    }

    /// A new project index, the open buffers set over the disk: what was learnt of files on
    /// disk is forgotten.
    fn renew_index(&mut self) {
        self.index = ProjectIndex::new();
        for (uri, document) in &self.documents {
            if let Some(path) = path_of(uri).filter(|path| is_module(path))
                && document.notebook.is_none()
            {
                self.index.set_buffer(&path, Some(&document.text));
            }
        }
    }

    fn handle_request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        if request.method != CodeActionRequest::METHOD {
            return Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("nmf does not handle `{}`", request.method),
            );
        }
        match serde_json::from_value::<CodeActionParams>(request.params) {
            Ok(params) => Response::new_ok(id, self.code_actions(&params)),
            Err(error) => Response::new_err(id, ErrorCode::InvalidParams as i32, error.to_string()),
        }
    }

    /// Updates the documents; what is to be published at once (a closed document's empty
    /// diagnostics) is returned, the rest marked stale.
    fn handle_notification(&mut self, notification: Notification) -> Vec<Outgoing> {
        let params = notification.params;
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(params) = serde_json::from_value::<DidOpenTextDocumentParams>(params) {
                    let item = params.text_document;
                    let uri = item.uri.as_str().to_string();
                    // Only Python: an editor may send every document it opens.
                    let python = item.language_id == "python"
                        || path_of(&uri).is_some_and(|path| {
                            path.extension()
                                .is_some_and(|ext| ext == "py" || ext == "pyi")
                        });
                    if python {
                        self.set_document(&uri, item.text, item.version, None);
                    }
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(params) = serde_json::from_value::<DidChangeTextDocumentParams>(params) {
                    let uri = params.text_document.uri.as_str().to_string();
                    if let Some(document) = self.documents.get(&uri) {
                        let mut text = document.text.clone();
                        for change in params.content_changes {
                            apply_change(&mut text, change, self.utf8);
                        }
                        self.set_document(&uri, text, params.text_document.version, None);
                    }
                }
            }
            // Without watched files, a save is when the disk is looked at again.
            DidSaveTextDocument::METHOD if !self.watches_files => {
                self.renew_index();
                self.mark_all_stale();
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(params) = serde_json::from_value::<DidCloseTextDocumentParams>(params) {
                    let uri = params.text_document.uri;
                    self.close_document(uri.as_str());
                    // A closed document's findings go away with it.
                    return vec![publish(uri, Vec::new(), None)];
                }
            }
            DidChangeWatchedFiles::METHOD => {
                if let Ok(params) = serde_json::from_value::<DidChangeWatchedFilesParams>(params) {
                    self.files_changed(&params);
                }
            }
            DidOpenNotebookDocument::METHOD => {
                if let Ok(params) = serde_json::from_value::<DidOpenNotebookDocumentParams>(params)
                {
                    self.open_notebook(params);
                }
            }
            DidChangeNotebookDocument::METHOD => {
                if let Ok(params) =
                    serde_json::from_value::<DidChangeNotebookDocumentParams>(params)
                {
                    return self.change_notebook(params);
                }
            }
            DidCloseNotebookDocument::METHOD => {
                if let Ok(params) = serde_json::from_value::<DidCloseNotebookDocumentParams>(params)
                {
                    return self.close_notebook(params.notebook_document.uri.as_str());
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Sets a document's text; a Python file's text then wins over the disk's for every check.
    fn set_document(&mut self, uri: &str, text: String, version: i32, notebook: Option<String>) {
        let path = path_of(uri).filter(|path| is_module(path) && notebook.is_none());
        let change = path
            .as_ref()
            .map(|path| self.index.set_buffer(path, Some(&text)))
            .unwrap_or_default();
        let unit = notebook.clone().unwrap_or_else(|| uri.to_string());
        self.documents.insert(
            uri.to_string(),
            Document {
                text,
                version,
                notebook,
            },
        );
        // Others depend on the file only if its text is not what they saw.
        let path = path.filter(|_| change.text);
        self.changed(Some(&unit), path.as_deref(), change.words);
    }

    fn close_document(&mut self, uri: &str) {
        let Some(document) = self.documents.remove(uri) else {
            return;
        };
        if document.notebook.is_some() {
            return;
        }
        self.dependencies.remove(uri);
        self.stale.remove(uri);
        let path = path_of(uri).filter(|path| is_module(path));
        // The file on disk is what others see again.
        let change = path
            .as_ref()
            .map(|path| self.index.set_buffer(path, None))
            .unwrap_or_default();
        let path = path.filter(|_| change.text);
        self.changed(None, path.as_deref(), change.words);
    }

    fn files_changed(&mut self, params: &DidChangeWatchedFilesParams) {
        let paths: Vec<PathBuf> = params
            .changes
            .iter()
            .filter_map(|change| uri_path(&change.uri))
            .collect();
        let configuration_changed = paths.iter().any(|path| {
            path.file_name()
                .is_some_and(|name| CONFIG_FILES.iter().any(|config| name == *config))
        });
        self.renew_index();
        if configuration_changed {
            self.told.clear();
            if let Ok(resolver) = SettingsResolver::new(
                ConfigSource::Discover,
                self.overrides.clone(),
                self.root.clone(),
            ) {
                self.unsafe_fixes = resolver
                    .global()
                    .map(|global| global.unsafe_fixes)
                    .unwrap_or(false);
                self.resolver = Arc::new(resolver);
            }
            self.mark_all_stale();
            return;
        }
        for path in paths {
            // The disk's files are read afresh: whether their words changed is not known.
            self.changed(None, Some(&path), true);
        }
    }

    fn run_options(&self, fix: FixMode) -> RunOptions {
        RunOptions {
            check: CheckOptions {
                respect_noqa: true,
                prefilter: true,
            },
            frames: false,
            fix,
            unsafe_fixes: self.unsafe_fixes,
            explanations: false,
            cache: false,
        }
    }

    /// Checks `bytes` as the file at `path`; records what the findings depended on under
    /// `unit` when they are published.
    fn check(
        &mut self,
        unit: Option<&str>,
        path: &Path,
        bytes: Vec<u8>,
        fix: FixMode,
    ) -> Option<RunResult> {
        let checked = check_document(
            bytes,
            path,
            &self.resolver,
            self.run_options(fix),
            &self.index,
        );
        let (run, dependencies) = match checked {
            Ok(checked) => checked,
            Err(error) => {
                // A broken configuration: said once (until the configuration changes), as the
                // CLI says it, and the document gets no findings meanwhile.
                let message = format!("nmf: {error}");
                if !self.told.contains(&message) {
                    self.told.push(message.clone());
                    self.outbox.push(show_error(message));
                }
                return None;
            }
        };
        if let Some(unit) = unit {
            self.dependencies.insert(unit.to_string(), dependencies);
        }
        Some(run)
    }

    /// The diagnostics of a document or notebook, checked now.
    fn publish(&mut self, unit: &str) -> Vec<Outgoing> {
        if self.notebooks.contains_key(unit) {
            return self.publish_notebook(unit);
        }
        let Some(document) = self.documents.get(unit) else {
            return Vec::new();
        };
        let (text, version) = (document.text.clone(), document.version);
        let Ok(uri) = unit.parse::<Uri>() else {
            return Vec::new();
        };
        let diagnostics = match self.document_path(&uri) {
            Some(path) => self
                .check(Some(unit), &path, text.clone().into_bytes(), FixMode::Off)
                .map(|run| self.diagnostics(&text, &run.messages, |message| message.cell.is_none()))
                .unwrap_or_default(),
            None => Vec::new(),
        };
        vec![publish(uri, diagnostics, Some(version))]
    }

    /// Where a document is checked: its file; for a buffer never saved (`untitled:`), a file
    /// of its name in the workspace's root, so that the workspace's configuration applies.
    fn document_path(&self, uri: &Uri) -> Option<PathBuf> {
        self.path_for(uri.as_str(), "py")
    }

    /// The file a URI names, or for another scheme a file of its last segment's name in the
    /// workspace's root, with `extension` added when it has another one.
    fn path_for(&self, uri: &str, extension: &str) -> Option<PathBuf> {
        if let Some(path) = path_of(uri) {
            return Some(path);
        }
        let name = uri.rsplit(['/', ':']).next()?;
        let name = percent_decode(name).filter(|name| !name.is_empty() && name != "..")?;
        Some(with_extension(self.root.join(name), extension))
    }

    fn diagnostics(
        &self,
        text: &str,
        messages: &[Message],
        wanted: impl Fn(&Message) -> bool,
    ) -> Vec<Diagnostic> {
        let lines = Lines::new(text, self.utf8);
        messages
            .iter()
            .filter(|message| wanted(message))
            .map(|message| diagnostic(&lines, message))
            .collect()
    }

    fn code_actions(&mut self, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let uri = &params.text_document.uri;
        let Some(document) = self.documents.get(uri.as_str()) else {
            return Vec::new();
        };
        let text = document.text.clone();
        let notebook = document.notebook.clone();
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
                        noqa_edit(&text, diagnostic.range.start.line, code, self.utf8)
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
        if wants(&fix_all) {
            let fixed = match &notebook {
                Some(notebook) => self.fixed_cell(notebook, uri.as_str()),
                None => self.document_path(uri).and_then(|path| {
                    self.check(None, &path, text.clone().into_bytes(), FixMode::Apply)
                        .and_then(|run| run.stdin_output)
                        .and_then(|bytes| String::from_utf8(bytes).ok())
                }),
            };
            if let Some(fixed) = fixed.filter(|fixed| *fixed != text) {
                let edit = TextEdit {
                    range: Range::new(Position::new(0, 0), Lines::new(&text, self.utf8).end()),
                    new_text: fixed,
                };
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: "nmf: fix all".to_string(),
                    kind: Some(fix_all),
                    edit: Some(workspace_edit(uri, vec![edit])),
                    ..CodeAction::default()
                }));
            }
        }
        actions
    }
}

/// Documents and notebooks to check, in the order they became stale, each once.
#[derive(Default)]
struct StaleQueue {
    order: VecDeque<String>,
    members: HashSet<String>,
}

impl StaleQueue {
    fn push(&mut self, unit: &str) {
        if self.members.insert(unit.to_string()) {
            self.order.push_back(unit.to_string());
        }
    }

    fn pop_front(&mut self) -> Option<String> {
        let unit = self.order.pop_front()?;
        self.members.remove(&unit);
        Some(unit)
    }

    fn remove(&mut self, unit: &str) {
        if self.members.remove(unit) {
            self.order.retain(|known| known != unit);
        }
    }
}

/// The id of the request a `$/cancelRequest` notification cancels.
fn cancelled_id(message: &LspMessage) -> Option<RequestId> {
    let LspMessage::Notification(notification) = message else {
        return None;
    };
    if notification.method != Cancel::METHOD {
        return None;
    }
    let params: CancelParams = serde_json::from_value(notification.params.clone()).ok()?;
    Some(match params.id {
        NumberOrString::Number(number) => RequestId::from(number),
        NumberOrString::String(text) => RequestId::from(text),
    })
}

fn diagnostic(lines: &Lines<'_>, message: &Message) -> Diagnostic {
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
                range: lines.range(edit.start, edit.end),
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
        range: lines.range(message.start, message.end),
        severity: Some(DiagnosticSeverity::WARNING),
        code: Some(NumberOrString::String(message.code.to_string())),
        code_description: href.map(|href| CodeDescription { href }),
        source: Some("nmf".to_string()),
        message: message.message.clone(),
        data: data.and_then(|data| serde_json::to_value(data).ok()),
        ..Diagnostic::default()
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
        RequestId::from("nmf/watch-files".to_string()),
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

fn show_error(message: String) -> Outgoing {
    Outgoing::Message(
        Notification::new(
            ShowMessage::METHOD.to_string(),
            ShowMessageParams {
                typ: MessageType::ERROR,
                message,
            },
        )
        .into(),
    )
}

/// A `publishDiagnostics` notification, serialised at once: going through `serde_json::Value`
/// cost most of the time of a document with thousands of findings.
fn publish(uri: Uri, diagnostics: Vec<Diagnostic>, version: Option<i32>) -> Outgoing {
    #[derive(Serialize)]
    struct Framed<'a> {
        jsonrpc: &'static str,
        method: &'static str,
        params: &'a PublishDiagnosticsParams,
    }
    let params = PublishDiagnosticsParams {
        uri,
        diagnostics,
        version,
    };
    let framed = Framed {
        jsonrpc: "2.0",
        method: PublishDiagnostics::METHOD,
        params: &params,
    };
    match serde_json::to_string(&framed) {
        Ok(text) => Outgoing::Text(text),
        Err(_) => Outgoing::Message(
            Notification::new(PublishDiagnostics::METHOD.to_string(), params).into(),
        ),
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

/// The edit that adds `code` to the line's `# noqa:` comment, or appends one.
fn noqa_edit(text: &str, line: u32, code: &str, utf8: bool) -> Option<TextEdit> {
    let content = Lines::new(text, utf8).line(usize::try_from(line).ok()?)?;
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

#[cfg(test)]
mod tests;
