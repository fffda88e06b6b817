//! Reports reach the client in one of two ways, never both: published
//! (`textDocument/publishDiagnostics`) to a client that does not pull, or kept for one that
//! pulls (`textDocument/diagnostic`, `workspace/diagnostic`), which VS Code and Neovim keep in
//! another collection than published ones: pushing to them too would show every finding
//! twice. What the client holds of each document is remembered by report id, so that a pull
//! is answered `unchanged`, a workspace report is published only when it changed, and a
//! document whose report changed without the client knowing is refreshed.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use lsp_server::RequestId;
use lsp_types::PreviousResultId;

use super::Session;
use crate::commands::server::api::report::{Report, WorkspaceAnswer, WorkspaceReport, respond};
use crate::commands::server::api::workspace::WorkspaceOutcome;
use crate::commands::server::edit::uri::file_path;
use crate::commands::server::transport::Outgoing;

/// What a document pull waits for before it is answered.
#[derive(Debug, PartialEq, Eq)]
pub enum PullReadiness {
    Ready,
    /// The check of this open document or notebook, which is stale.
    CheckUnit(String),
    /// A check of this file, which is not open, from the disk.
    CheckFile(PathBuf),
}

impl Session {
    /// Keeps `report` as the open document `uri`'s latest (`version` is `None` for a cell no
    /// longer in its notebook, which is forgotten); for a client that does not pull, the
    /// notification that publishes it.
    pub fn deliver(&mut self, uri: &str, report: Report, version: Option<i32>) -> Option<Outgoing> {
        if version.is_none() {
            return self.forget_document(uri);
        }
        let before = self
            .reports
            .insert(uri.to_string(), (report.clone(), version));
        if self.capabilities.pulls_diagnostics {
            // A client pulls a document after each change it sends: it is asked to pull
            // again only for findings that changed under the same text (another file did).
            let same_text = before.is_some_and(|(_, before)| before == version);
            if same_text
                && self
                    .delivered
                    .get(uri)
                    .is_some_and(|held| *held != report.id)
            {
                self.unseen.insert(uri.to_string());
            }
            return None;
        }
        let publish = report.publish(uri, version);
        self.delivered.insert(uri.to_string(), report.id);
        Some(publish)
    }

    /// A document (or cell) was closed: its report goes; for a client that does not pull,
    /// the empty one that clears it.
    pub fn forget_document(&mut self, uri: &str) -> Option<Outgoing> {
        self.reports.remove(uri);
        self.unseen.remove(uri);
        let held = self.delivered.remove(uri);
        if self.capabilities.pulls_diagnostics {
            return None;
        }
        // A file of the workspace gets its disk's report once checked again, published
        // then if it is not what the client holds.
        if self.capabilities.workspace_diagnostics
            && let Some(path) = file_path(uri)
            && self.workspace.files.contains_key(&path)
        {
            if let Some(held) = held {
                self.delivered.insert(uri.to_string(), held);
            }
            return None;
        }
        Some(Report::empty().publish(uri, None))
    }

    /// Whether a pull of `uri` can be answered now.
    pub fn pull_readiness(&self, uri: &str) -> PullReadiness {
        if let Some(document) = self.documents.get(uri) {
            let unit = document.notebook.as_deref().unwrap_or(uri);
            if self.stale.contains(unit) {
                return PullReadiness::CheckUnit(unit.to_string());
            }
            return PullReadiness::Ready;
        }
        match file_path(uri) {
            // A file of another language (a pull for any open document) has no findings.
            Some(path) if !self.workspace.is_fresh(&path) && self.settings.includes(&path) => {
                PullReadiness::CheckFile(path)
            }
            _ => PullReadiness::Ready,
        }
    }

    /// The answer to a pull of `uri` (`textDocument/diagnostic`): the open document's report,
    /// or the file's in the workspace (none for a file that is not part of it).
    pub fn answer_pull(&mut self, id: &RequestId, uri: &str, previous: Option<&str>) -> Outgoing {
        let report = match self.reports.get(uri) {
            Some((report, _)) => report.clone(),
            None if self.documents.contains_key(uri) => Report::empty(),
            None => file_path(uri)
                .and_then(|path| self.workspace.files.get(&path))
                .map_or_else(Report::empty, |file| file.report.clone()),
        };
        let answer = respond(id, report.answer(previous));
        self.unseen.remove(uri);
        self.delivered.insert(uri.to_string(), report.id);
        answer
    }

    /// Every report the client is to hold now, by URI: the open documents' and cells', then
    /// the workspace's files that are not open; each with the version it is for.
    fn current_reports(&self) -> Vec<(String, Report, Option<i32>)> {
        let open = self.open_paths();
        let mut current: Vec<(String, Report, Option<i32>)> = self
            .reports
            .iter()
            .map(|(uri, (report, version))| (uri.clone(), report.clone(), *version))
            .collect();
        current.extend(
            self.workspace
                .files
                .iter()
                .filter(|(path, _)| !open.contains(*path))
                .map(|(_, file)| (file.uri.clone(), file.report.clone(), None)),
        );
        current.sort_by(|a, b| a.0.cmp(&b.0));
        current
    }

    /// The answer to a workspace pull (`workspace/diagnostic`): every document with findings,
    /// `unchanged` where the client holds its report (`previous`), and an empty report for
    /// each document the client may hold findings of that has none any more (fixed, deleted,
    /// excluded).
    pub fn answer_workspace_pull(
        &mut self,
        id: &RequestId,
        previous: &[PreviousResultId],
    ) -> Outgoing {
        let previous: HashMap<&str, &str> = previous
            .iter()
            .map(|held| (held.uri.as_str(), held.value.as_str()))
            .collect();
        let current = self.current_reports();
        let empty = Report::empty();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut items = Vec::new();
        let mut delivered = Vec::new();
        for (uri, report, version) in &current {
            seen.insert(uri);
            let held = previous
                .get(uri.as_str())
                .copied()
                .or_else(|| self.delivered.get(uri).map(|held| &**held));
            if report.count == 0 && held.is_none_or(|held| held == &*report.id) {
                continue;
            }
            items.push(WorkspaceReport {
                report: report.answer(previous.get(uri.as_str()).copied()),
                uri,
                version: *version,
            });
            delivered.push((uri.clone(), report.id.clone()));
        }
        let mut gone: Vec<&str> = previous
            .iter()
            .filter(|(_, held)| ***held != *empty.id)
            .map(|(uri, _)| *uri)
            .chain(
                self.delivered
                    .iter()
                    .filter(|(_, held)| **held != empty.id)
                    .map(|(uri, _)| uri.as_str()),
            )
            .filter(|uri| !seen.contains(uri))
            .collect();
        gone.sort_unstable();
        gone.dedup();
        for uri in &gone {
            items.push(WorkspaceReport {
                report: empty.answer(None),
                uri,
                version: None,
            });
        }
        let answer = respond(id, WorkspaceAnswer { items });
        let gone: Vec<String> = gone.into_iter().map(str::to_string).collect();
        for uri in gone {
            self.delivered.remove(&uri);
        }
        for (uri, id) in delivered {
            self.unseen.remove(&uri);
            self.delivered.insert(uri, id);
        }
        answer
    }

    /// Keeps what a workspace check found (`started`: the project's change number when it
    /// started: a file whose findings depended on a buffer changed since is stale again);
    /// for a client that does not pull, the notifications of the reports that changed.
    pub fn finish_workspace(&mut self, outcome: WorkspaceOutcome, started: u64) -> Vec<Outgoing> {
        let Some(files) = outcome.files else {
            self.workspace.give_back(outcome.taken);
            return Vec::new();
        };
        for error in outcome.errors {
            self.tell(error);
        }
        let stale: Vec<PathBuf> = files
            .iter()
            .filter(|(_, file)| self.project.changed_since(started, &file.dependencies))
            .map(|(path, _)| path.clone())
            .collect();
        self.workspace.keep(&outcome.taken, files);
        for path in stale {
            self.workspace.file_changed(&path);
        }
        if self.capabilities.pulls_diagnostics || !self.capabilities.workspace_diagnostics {
            return Vec::new();
        }
        self.publish_workspace()
    }

    /// Publishes each report of a file of the workspace that is not open and is not what the
    /// client holds, and clears the files the client holds findings of that are gone.
    fn publish_workspace(&mut self) -> Vec<Outgoing> {
        let open = self.open_paths();
        let mut publishes = Vec::new();
        let mut current: HashSet<String> = HashSet::new();
        for (path, file) in &self.workspace.files {
            if open.contains(path) {
                continue;
            }
            current.insert(file.uri.clone());
            let held = self.delivered.get(&file.uri);
            if held == Some(&file.report.id) || (held.is_none() && file.report.count == 0) {
                continue;
            }
            publishes.push(file.report.publish(&file.uri, None));
            self.delivered
                .insert(file.uri.clone(), file.report.id.clone());
        }
        let mut gone: Vec<String> = self
            .delivered
            .keys()
            .filter(|uri| !current.contains(*uri) && !self.reports.contains_key(*uri))
            .cloned()
            .collect();
        gone.sort();
        for uri in gone {
            if let Some(held) = self.delivered.remove(&uri)
                && held != Report::empty().id
            {
                publishes.push(Report::empty().publish(&uri, None));
            }
        }
        publishes
    }
}
