//! The protocol's messages, one handler each: notifications update the session; requests are
//! answered from what the session held when they arrived; diagnostics are published for the
//! checks the worker runs.

pub mod diagnostics;
pub mod notifications;
pub mod requests;

use lsp_server::{ErrorCode, Notification, Request, RequestId, Response};
use lsp_types::notification::{DidChangeWatchedFiles, Notification as _, ShowMessage};
use lsp_types::request::{CodeActionRequest, RegisterCapability, Request as _};
use lsp_types::{
    DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, MessageType,
    Registration, RegistrationParams, ShowMessageParams,
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
}

/// What answering `request` takes, from the session as it is when the request arrives.
pub fn request(session: &Session, request: Request) -> Answering {
    let id = request.id.clone();
    if request.method != CodeActionRequest::METHOD {
        return Answering::Ready(Response::new_err(
            id,
            ErrorCode::MethodNotFound as i32,
            format!("nmf does not handle `{}`", request.method),
        ));
    }
    match serde_json::from_value(request.params) {
        Ok(params) => Answering::CodeAction(Box::new(CodeActionJob::of(session, params))),
        Err(error) => Answering::Ready(Response::new_err(
            id,
            ErrorCode::InvalidParams as i32,
            error.to_string(),
        )),
    }
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
