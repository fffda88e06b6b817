//! Opening, editing and closing documents and notebooks; what each change makes stale.

use lsp_types::{DidChangeNotebookDocumentParams, DidOpenNotebookDocumentParams, TextDocumentItem};

use super::Session;
use super::project::is_module;
use crate::commands::server::edit::notebook::NotebookDocument;
use crate::commands::server::edit::text::apply_change;
use crate::commands::server::edit::uri::file_path;
use crate::commands::server::transport::Outgoing;

/// An open text document: a Python file, or a notebook's cell.
pub struct Document {
    pub text: String,
    pub version: i32,
    /// The notebook the document is a cell of.
    pub notebook: Option<String>,
}

impl Session {
    /// Sets a document's text; a Python file's text then wins over the disk's for every check.
    pub fn set_document(
        &mut self,
        uri: &str,
        text: String,
        version: i32,
        notebook: Option<String>,
    ) {
        let path = file_path(uri).filter(|path| is_module(path) && notebook.is_none());
        let change = path
            .as_ref()
            .map(|path| self.project.index.set_buffer(path, Some(&text)))
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

    /// A text document's edits, applied in order.
    pub fn edit_document(
        &mut self,
        uri: &str,
        version: i32,
        changes: Vec<lsp_types::TextDocumentContentChangeEvent>,
        notebook: Option<String>,
    ) {
        let Some(document) = self.documents.get(uri) else {
            return;
        };
        let mut text = document.text.clone();
        for change in changes {
            apply_change(&mut text, change, self.capabilities.encoding);
        }
        self.set_document(uri, text, version, notebook);
    }

    /// What is to be published at once is returned: the empty findings of the document.
    pub fn close_document(&mut self, uri: &str) -> Vec<Outgoing> {
        let python_file = self
            .documents
            .remove(uri)
            .is_some_and(|document| document.notebook.is_none());
        if !python_file {
            // Cleared all the same: the client may hold findings of it.
            return self.forget_document(uri).into_iter().collect();
        }
        self.project.forget(uri);
        self.stale.remove(uri);
        let path = file_path(uri).filter(|path| is_module(path));
        // The file on disk is what others see again.
        let change = path
            .as_ref()
            .map(|path| self.project.index.set_buffer(path, None))
            .unwrap_or_default();
        if let Some(file) = file_path(uri) {
            // A file of the workspace again: its report is the disk's.
            self.workspace.file_changed(&file);
        }
        let path = path.filter(|_| change.text);
        self.changed(None, path.as_deref(), change.words);
        // A closed document's findings go away with it.
        self.forget_document(uri).into_iter().collect()
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

    pub fn open_notebook(&mut self, params: DidOpenNotebookDocumentParams) {
        let notebook = params.notebook_document;
        let uri = notebook.uri.as_str().to_string();
        self.notebooks.insert(
            uri.clone(),
            NotebookDocument::new(&notebook.cells, notebook.metadata),
        );
        for item in params.cell_text_documents {
            self.open_cell(&uri, item);
        }
        self.mark_stale(&uri);
    }

    /// What is to be published at once is returned: the empty findings of closed cells.
    pub fn change_notebook(&mut self, params: DidChangeNotebookDocumentParams) -> Vec<Outgoing> {
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
                state.splice(&structure.array);
                for closed in structure.did_close.unwrap_or_default() {
                    self.documents.remove(closed.uri.as_str());
                    cleared.extend(self.forget_document(closed.uri.as_str()));
                }
                for item in structure.did_open.unwrap_or_default() {
                    self.open_cell(&uri, item);
                }
            }
            if let Some(state) = self.notebooks.get_mut(&uri) {
                for cell in cells.data.unwrap_or_default() {
                    state.update(&cell);
                }
            }
            for content in cells.text_content.unwrap_or_default() {
                let cell = content.document.uri.as_str().to_string();
                let version = content.document.version;
                self.edit_document(&cell, version, content.changes, Some(uri.clone()));
            }
        }
        self.mark_stale(&uri);
        cleared
    }

    /// The empty findings of every cell the notebook had, to publish at once.
    pub fn close_notebook(&mut self, uri: &str) -> Vec<Outgoing> {
        let Some(state) = self.notebooks.remove(uri) else {
            return Vec::new();
        };
        self.project.forget(uri);
        self.stale.remove(uri);
        let mut cells: Vec<String> = state.cells.into_iter().map(|cell| cell.uri).collect();
        cells.extend(state.published);
        cells.sort();
        cells.dedup();
        if let Some(path) = self.notebook_path(uri) {
            // The notebook on disk is a file of the workspace again.
            self.workspace.file_changed(&path);
        }
        cells
            .into_iter()
            .filter_map(|cell| {
                self.documents.remove(&cell);
                self.forget_document(&cell)
            })
            .collect()
    }
}
