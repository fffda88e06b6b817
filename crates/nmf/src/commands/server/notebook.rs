//! Notebook documents (LSP 3.17): the cells an editor opens are checked together as the
//! `.ipynb` notebook they make, through the driver's notebook check, and each finding is
//! published on its own cell.

use std::collections::HashSet;
use std::path::PathBuf;

use lsp_types::{
    DidChangeNotebookDocumentParams, DidOpenNotebookDocumentParams, LSPObject, NotebookCell,
    NotebookCellKind, TextDocumentItem, Uri,
};
use nmf_driver::run::FixMode;
use serde_json::{Value, json};

use super::text::apply_change;
use super::transport::Outgoing;
use super::{Server, publish, with_extension};

/// An open notebook: its cells in order (their texts are documents of the server).
pub struct NotebookState {
    cells: Vec<Cell>,
    metadata: Option<LSPObject>,
    /// The cells last published to, so that a cell removed since gets its findings cleared.
    published: Vec<String>,
    /// Code cells in another language than Python (`%%sql` cells of some front ends): left
    /// out of the check, as raw cells.
    foreign: HashSet<String>,
}

struct Cell {
    uri: String,
    code: bool,
}

impl Cell {
    fn of(cell: &NotebookCell) -> Self {
        Self {
            uri: cell.document.as_str().to_string(),
            code: cell.kind == NotebookCellKind::Code,
        }
    }
}

impl Server {
    /// Where the driver is told the notebook is: its own path, with `.ipynb` added when the
    /// editor names it otherwise (so that it is read as a notebook); an untitled notebook is
    /// placed in the workspace's root.
    fn notebook_path(&self, uri: &str) -> Option<PathBuf> {
        Some(with_extension(self.path_for(uri, "ipynb")?, "ipynb"))
    }

    /// A cell's text document, opened with its notebook or added to it later.
    fn open_cell(&mut self, notebook: &str, item: TextDocumentItem) {
        if item.language_id != "python"
            && let Some(state) = self.notebooks.get_mut(notebook)
        {
            state.foreign.insert(item.uri.as_str().to_string());
        }
        let notebook = Some(notebook.to_string());
        self.set_document(item.uri.as_str(), item.text, item.version, notebook);
    }

    pub(super) fn open_notebook(&mut self, params: DidOpenNotebookDocumentParams) {
        let notebook = params.notebook_document;
        let uri = notebook.uri.as_str().to_string();
        self.notebooks.insert(
            uri.clone(),
            NotebookState {
                cells: notebook.cells.iter().map(Cell::of).collect(),
                metadata: notebook.metadata,
                published: Vec::new(),
                foreign: HashSet::new(),
            },
        );
        for item in params.cell_text_documents {
            self.open_cell(&uri, item);
        }
        self.mark_stale(&uri);
    }

    pub(super) fn change_notebook(
        &mut self,
        params: DidChangeNotebookDocumentParams,
    ) -> Vec<Outgoing> {
        let uri = params.notebook_document.uri.as_str().to_string();
        let Some(state) = self.notebooks.get_mut(&uri) else {
            return Vec::new();
        };
        let change = params.change;
        if let Some(metadata) = change.metadata {
            state.metadata = Some(metadata);
        }
        let mut cleared = Vec::new();
        if let Some(cells) = change.cells {
            if let Some(structure) = cells.structure {
                let array = structure.array;
                let start = (array.start as usize).min(state.cells.len());
                let end = start
                    .saturating_add(array.delete_count as usize)
                    .min(state.cells.len());
                let inserted = array.cells.unwrap_or_default();
                state
                    .cells
                    .splice(start..end, inserted.iter().map(Cell::of));
                for closed in structure.did_close.unwrap_or_default() {
                    self.documents.remove(closed.uri.as_str());
                    cleared.push(publish(closed.uri, Vec::new(), None));
                }
                for item in structure.did_open.unwrap_or_default() {
                    self.open_cell(&uri, item);
                }
            }
            if let Some(state) = self.notebooks.get_mut(&uri) {
                for cell in cells.data.unwrap_or_default() {
                    if let Some(known) = state
                        .cells
                        .iter_mut()
                        .find(|known| known.uri == cell.document.as_str())
                    {
                        *known = Cell::of(&cell);
                    }
                }
            }
            for content in cells.text_content.unwrap_or_default() {
                let cell = content.document.uri.as_str().to_string();
                if let Some(document) = self.documents.get(&cell) {
                    let mut text = document.text.clone();
                    for change in content.changes {
                        apply_change(&mut text, change, self.utf8);
                    }
                    self.set_document(&cell, text, content.document.version, Some(uri.clone()));
                }
            }
        }
        self.mark_stale(&uri);
        cleared
    }

    pub(super) fn close_notebook(&mut self, uri: &str) -> Vec<Outgoing> {
        let Some(state) = self.notebooks.remove(uri) else {
            return Vec::new();
        };
        self.dependencies.remove(uri);
        self.stale.remove(uri);
        let mut cells: Vec<String> = state.cells.into_iter().map(|cell| cell.uri).collect();
        cells.extend(state.published);
        cells.sort();
        cells.dedup();
        cells
            .into_iter()
            .filter_map(|cell| {
                self.documents.remove(&cell);
                cell.parse::<Uri>().ok()
            })
            .map(|cell| publish(cell, Vec::new(), None))
            .collect()
    }

    /// The notebook the cells make, as `.ipynb` JSON: code cells in Python as code cells,
    /// others as Markdown (which the check leaves alone).
    fn notebook_json(&self, state: &NotebookState) -> String {
        let cells: Vec<Value> = state
            .cells
            .iter()
            .map(|cell| {
                let source = self
                    .documents
                    .get(&cell.uri)
                    .map(|document| document.text.as_str())
                    .unwrap_or_default();
                if cell.code && !state.foreign.contains(&cell.uri) {
                    json!({"cell_type": "code", "execution_count": null, "metadata": {},
                           "outputs": [], "source": source})
                } else if cell.code {
                    json!({"cell_type": "raw", "metadata": {}, "source": source})
                } else {
                    json!({"cell_type": "markdown", "metadata": {}, "source": source})
                }
            })
            .collect();
        let metadata = state
            .metadata
            .clone()
            .filter(|metadata| {
                metadata.contains_key("kernelspec") || metadata.contains_key("language_info")
            })
            .map_or_else(
                || json!({"language_info": {"name": "python"}}),
                Value::Object,
            );
        json!({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5})
            .to_string()
    }

    pub(super) fn publish_notebook(&mut self, uri: &str) -> Vec<Outgoing> {
        let Some(state) = self.notebooks.get(uri) else {
            return Vec::new();
        };
        let json = self.notebook_json(state);
        let cells: Vec<String> = state.cells.iter().map(|cell| cell.uri.clone()).collect();
        let previously = state.published.clone();
        let messages = self
            .notebook_path(uri)
            .and_then(|path| self.check(Some(uri), &path, json.into_bytes(), FixMode::Off))
            .map(|run| run.messages)
            .unwrap_or_default();
        let mut notifications = Vec::new();
        for (index, cell) in cells.iter().enumerate() {
            let Some(document) = self.documents.get(cell) else {
                continue;
            };
            let Ok(cell_uri) = cell.parse::<Uri>() else {
                continue;
            };
            let diagnostics = self.diagnostics(&document.text, &messages, |message| {
                message.cell == Some(index + 1)
            });
            notifications.push(publish(cell_uri, diagnostics, Some(document.version)));
        }
        for gone in previously.iter().filter(|gone| !cells.contains(gone)) {
            if let Ok(gone) = gone.parse::<Uri>() {
                notifications.push(publish(gone, Vec::new(), None));
            }
        }
        if let Some(state) = self.notebooks.get_mut(uri) {
            state.published = cells;
        }
        notifications
    }

    /// The text of a notebook's cell once every fix of the notebook is applied.
    pub(super) fn fixed_cell(&mut self, notebook: &str, cell: &str) -> Option<String> {
        let state = self.notebooks.get(notebook)?;
        let index = state.cells.iter().position(|known| known.uri == cell)?;
        let json = self.notebook_json(state);
        let path = self.notebook_path(notebook)?;
        let fixed = self
            .check(None, &path, json.into_bytes(), FixMode::Apply)?
            .stdin_output?;
        let fixed: Value = serde_json::from_slice(&fixed).ok()?;
        match &fixed["cells"][index]["source"] {
            Value::String(text) => Some(text.clone()),
            Value::Array(lines) => Some(lines.iter().filter_map(Value::as_str).collect()),
            _ => None,
        }
    }
}
