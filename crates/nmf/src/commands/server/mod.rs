//! `nmf server`: the Language Server Protocol over standard input and output.
//!
//! A thin layer over the driver: each open document is checked with
//! [`check_document`](nmf_driver::run::check_document) under its own path, so that
//! configuration, `per-file-ignores`, `noqa` and fixes are exactly those of `nmf check`; one
//! [`ProjectIndex`](nmf_driver::project::ProjectIndex) serves every check, with the open
//! buffers set over the disk's files. A notebook's cells are checked together as the notebook
//! they make.
//!
//! Laid out by job, as `ruff_server` is:
//! - [`transport`]: JSON-RPC frames in and out, on their own threads;
//! - [`main_loop`]: reads what arrived, then gives the [`schedule`]'s worker the next check or
//!   request; a newer edit cancels the check of an older text;
//! - [`session`]: the open documents and notebooks, settings, the project and what each
//!   check depended on, and which documents are stale;
//! - [`edit`]: positions in the negotiated encoding, text edits, URIs, notebooks from cells;
//! - [`api`]: one handler per request and notification, and diagnostics to publish.
//!
//! Work is coalesced: every message that has arrived is handled before anything is checked,
//! and a document edited three times is checked once.

mod api;
mod edit;
mod main_loop;
mod schedule;
mod session;
mod transport;

use std::path::PathBuf;

use lsp_server::{ErrorCode, Message as LspMessage, RequestId, Response};
use lsp_types::InitializeParams;
use nmf_driver::settings::config::Overrides;
use nmf_driver::settings::discover::absolutize;

use crate::Error;
use crate::args::ServerArgs;
use edit::uri::file_path;
use main_loop::{Event, MainLoop};
use schedule::{Hold, Worker};
use session::{Capabilities, EditorOptions, Session, Settings, initialize_result};
use transport::Transport;

pub fn run(args: &ServerArgs) -> Result<u8, Error> {
    let cache_dir = match (&args.cache_dir, std::env::current_dir()) {
        (Some(dir), Ok(working_dir)) => Some(absolutize(dir, &working_dir)),
        (dir, _) => dir.clone(),
    };
    let transport = Transport::stdio();
    let status = serve(&transport, None, cache_dir);
    transport.finish()?;
    status
}

/// Serves a session over `transport`; `hold` lets a test decide when the worker runs each
/// job; `cache_dir` is `--cache-dir`, absolute.
fn serve(
    transport: &Transport,
    hold: Option<Hold>,
    cache_dir: Option<PathBuf>,
) -> Result<u8, Error> {
    let Some((id, params, raw)) = wait_for_initialize(transport) else {
        return Ok(1);
    };
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
        cache_dir,
        ..Overrides::default()
    };
    let settings = match Settings::new(root, overrides) {
        Ok(settings) => settings,
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
    let capabilities = Capabilities::of(&params, &raw, &options);
    let worker = Worker::spawn(transport.events.clone(), hold)?;
    transport.send(Response::new_ok(id, initialize_result(&capabilities)));
    let session = Session::new(settings, capabilities);
    Ok(MainLoop::new(transport, session, worker).run())
}

/// Before `initialize`, a request is answered "not initialized" and a notification dropped,
/// as the specification says; `None` when the client leaves (or says `exit`) first. The
/// parameters come read, and as sent.
fn wait_for_initialize(
    transport: &Transport,
) -> Option<(RequestId, InitializeParams, serde_json::Value)> {
    for event in &transport.receiver {
        let Event::Client(message) = event else {
            return None;
        };
        match message {
            LspMessage::Request(request) if request.method == "initialize" => {
                match serde_json::from_value::<InitializeParams>(request.params.clone()) {
                    Ok(params) => return Some((request.id, params, request.params)),
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

fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    if let Some(folder) = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
    {
        return file_path(folder.uri.as_str());
    }
    #[allow(deprecated, reason = "older clients send only rootUri")]
    params
        .root_uri
        .as_ref()
        .and_then(|uri| file_path(uri.as_str()))
}

#[cfg(test)]
mod tests;
