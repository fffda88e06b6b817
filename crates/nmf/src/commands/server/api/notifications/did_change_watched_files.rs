use std::path::PathBuf;

use lsp_types::DidChangeWatchedFilesParams;
use nmf_driver::settings::config::CONFIG_FILES;

use crate::commands::server::edit::uri::file_path;
use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

/// Files changed on disk: the project index is made anew, the workspace's tree is checked
/// again; a configuration file makes every document stale, another file the documents that
/// depended on it.
pub fn handle(session: &mut Session, params: &DidChangeWatchedFilesParams) -> Vec<Outgoing> {
    let paths: Vec<PathBuf> = params
        .changes
        .iter()
        .filter_map(|change| file_path(change.uri.as_str()))
        .collect();
    let configuration_changed = paths.iter().any(|path| {
        path.file_name()
            .is_some_and(|name| CONFIG_FILES.iter().any(|config| name == *config))
    });
    session.renew_index();
    session.disk_changed();
    if configuration_changed {
        session.reload_settings();
        return Vec::new();
    }
    for path in paths {
        // The disk's files are read afresh: whether their words changed is not known.
        session.changed(None, Some(&path), true);
    }
    Vec::new()
}
