//! One handler per notification: each updates the session and returns what is published at
//! once (a closed document's empty findings); the checks it makes due run later, on the worker.

mod did_change;
mod did_change_notebook;
mod did_change_watched_files;
mod did_close;
mod did_close_notebook;
mod did_open;
mod did_open_notebook;
mod did_save;

use lsp_server::Notification;
use lsp_types::notification::{
    DidChangeNotebookDocument, DidChangeTextDocument, DidChangeWatchedFiles,
    DidCloseNotebookDocument, DidCloseTextDocument, DidOpenNotebookDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _,
};
use serde::de::DeserializeOwned;

use super::super::session::Session;
use super::super::transport::Outgoing;

/// Handles a notification about documents; notifications with parameters that do not parse
/// are dropped, as JSON-RPC says, and so are those nmf does not handle.
pub fn handle(session: &mut Session, notification: Notification) -> Vec<Outgoing> {
    fn params<P: DeserializeOwned>(notification: Notification) -> Option<P> {
        serde_json::from_value(notification.params).ok()
    }
    match notification.method.as_str() {
        DidOpenTextDocument::METHOD => {
            params(notification).map(|params| did_open::handle(session, params))
        }
        DidChangeTextDocument::METHOD => {
            params(notification).map(|params| did_change::handle(session, params))
        }
        DidSaveTextDocument::METHOD => Some(did_save::handle(session)),
        DidCloseTextDocument::METHOD => {
            params(notification).map(|params| did_close::handle(session, &params))
        }
        DidChangeWatchedFiles::METHOD => {
            params(notification).map(|params| did_change_watched_files::handle(session, &params))
        }
        DidOpenNotebookDocument::METHOD => {
            params(notification).map(|params| did_open_notebook::handle(session, params))
        }
        DidChangeNotebookDocument::METHOD => {
            params(notification).map(|params| did_change_notebook::handle(session, params))
        }
        DidCloseNotebookDocument::METHOD => {
            params(notification).map(|params| did_close_notebook::handle(session, &params))
        }
        _ => None,
    }
    .unwrap_or_default()
}
