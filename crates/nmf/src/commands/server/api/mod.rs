//! The protocol's messages, one handler each: notifications update the session; requests are
//! answered from what the session held when they arrived; diagnostics are reported for the
//! checks the worker runs (of open documents, and of the workspace's other files).

pub mod diagnostics;
pub mod notifications;
pub mod report;
pub mod requests;
pub mod workspace;

use lsp_server::{ErrorCode, Notification, Request, RequestId, Response};
use lsp_types::notification::{DidChangeWatchedFiles, Notification as _, ShowMessage};
use lsp_types::request::{
    CodeActionRequest, DocumentDiagnosticRequest, RegisterCapability, Request as _,
    WorkspaceDiagnosticRefresh, WorkspaceDiagnosticRequest,
};
use lsp_types::{
    DidChangeWatchedFilesRegistrationOptions, DocumentDiagnosticParams, FileSystemWatcher,
    GlobPattern, MessageType, PreviousResultId, Registration, RegistrationParams,
    ShowMessageParams, WorkspaceDiagnosticParams,
};

use super::session::Session;
use super::transport::Outgoing;
use requests::code_action::CodeActionJob;

/// How a request is answered.
pub enum Answering {
    /// On the worker: it checks.
    CodeAction(Box<CodeActionJob>),
    /// As it is: an error, or nothing to compute.
    Ready(Response),
    /// `textDocument/diagnostic`: from the session, once the document is checked (or, for a
    /// file that is not open, once the file is: `checked_file`).
    Pull {
        uri: String,
        previous: Option<String>,
        checked_file: bool,
    },
    /// `workspace/diagnostic`: from the session, once nothing else is due and the workspace
    /// is checked.
    WorkspacePull(Vec<PreviousResultId>),
}

/// What answering `request` takes, from the session as it is when the request arrives.
pub fn request(session: &Session, request: Request) -> Answering {
    let id = request.id.clone();
    let invalid = |error: serde_json::Error| {
        Answering::Ready(Response::new_err(
            id.clone(),
            ErrorCode::InvalidParams as i32,
            error.to_string(),
        ))
    };
    match request.method.as_str() {
        CodeActionRequest::METHOD => match serde_json::from_value(request.params) {
            Ok(params) => Answering::CodeAction(Box::new(CodeActionJob::of(session, params))),
            Err(error) => invalid(error),
        },
        DocumentDiagnosticRequest::METHOD => {
            match serde_json::from_value::<DocumentDiagnosticParams>(request.params) {
                Ok(params) => Answering::Pull {
                    uri: params.text_document.uri.as_str().to_string(),
                    previous: params.previous_result_id,
                    checked_file: false,
                },
                Err(error) => invalid(error),
            }
        }
        WorkspaceDiagnosticRequest::METHOD => {
            match serde_json::from_value::<WorkspaceDiagnosticParams>(request.params) {
                Ok(params) => Answering::WorkspacePull(params.previous_result_ids),
                Err(error) => invalid(error),
            }
        }
        _ => Answering::Ready(Response::new_err(
            id,
            ErrorCode::MethodNotFound as i32,
            format!("nmf does not handle `{}`", request.method),
        )),
    }
}

/// Asks a client that pulls to pull every diagnostic it shows again.
pub fn refresh_request(number: u64) -> Request {
    Request::new(
        RequestId::from(format!("nmf/refresh-{number}")),
        WorkspaceDiagnosticRefresh::METHOD.to_string(),
        (),
    )
}

pub fn show_error(message: String) -> Outgoing {
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

/// Asks the client to watch Python and configuration files: their changes on disk can change
/// the findings of open documents.
pub fn watch_files_request() -> Request {
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
