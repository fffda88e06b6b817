//! Notebook documents (LSP 3.17): the cells an editor opens, in order; their texts are text
//! documents of their own. Checked together as the notebook they make, built from the cells
//! for the driver ([`Notebook::from_cells`]), with no JSON in between.

use std::collections::HashSet;

use lsp_types::{LSPObject, NotebookCell, NotebookCellArrayChange, NotebookCellKind};
use nmf_driver::source::notebook::Notebook;
use serde_json::Value;

/// An open notebook.
pub struct NotebookDocument {
    pub cells: Vec<Cell>,
    pub metadata: Option<LSPObject>,
    /// The cells last published to, so that a cell removed since gets its findings cleared.
    pub published: Vec<String>,
    /// Code cells in another language than Python (`%%sql` cells of some front ends): left
    /// out of the check, as Markdown cells are.
    pub foreign: HashSet<String>,
}

pub struct Cell {
    pub uri: String,
    pub code: bool,
}

impl Cell {
    pub fn of(cell: &NotebookCell) -> Self {
        Self {
            uri: cell.document.as_str().to_string(),
            code: cell.kind == NotebookCellKind::Code,
        }
    }
}

impl NotebookDocument {
    pub fn new(cells: &[NotebookCell], metadata: Option<LSPObject>) -> Self {
        Self {
            cells: cells.iter().map(Cell::of).collect(),
            metadata,
            published: Vec::new(),
            foreign: HashSet::new(),
        }
    }

    /// Cells inserted and deleted; out-of-range indices are held to the notebook's bounds.
    pub fn splice(&mut self, array: &NotebookCellArrayChange) {
        let start = (array.start as usize).min(self.cells.len());
        let end = start
            .saturating_add(array.delete_count as usize)
            .min(self.cells.len());
        let inserted = array.cells.iter().flatten().map(Cell::of);
        self.cells.splice(start..end, inserted);
    }

    /// A cell's kind changed.
    pub fn update(&mut self, cell: &NotebookCell) {
        if let Some(known) = self
            .cells
            .iter_mut()
            .find(|known| known.uri == cell.document.as_str())
        {
            *known = Cell::of(cell);
        }
    }

    /// Whether the cell is checked as Python.
    pub fn is_python(&self, cell: &Cell) -> bool {
        cell.code && !self.foreign.contains(&cell.uri)
    }
}

/// A notebook's cells and their texts as they were when a check was asked for.
pub struct NotebookSnapshot {
    pub cells: Vec<CellSnapshot>,
    pub metadata: Option<LSPObject>,
}

pub struct CellSnapshot {
    pub uri: String,
    /// Its text and version, when it is open.
    pub text: Option<(String, i32)>,
    pub python: bool,
}

impl NotebookSnapshot {
    /// The notebook the driver checks. Only the kernel's language matters of the metadata.
    pub fn notebook(&self) -> Notebook {
        let cells = self.cells.iter().map(|cell| {
            let text = cell.text.as_ref().map_or("", |(text, _)| text.as_str());
            (text, cell.python)
        });
        Notebook::from_cells(cells, self.metadata.clone().map(Value::Object))
    }

    /// The index of a cell.
    pub fn index_of(&self, cell: &str) -> Option<usize> {
        self.cells.iter().position(|known| known.uri == cell)
    }
}
