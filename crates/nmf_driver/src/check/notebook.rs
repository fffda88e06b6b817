//! The notebook side of checking and fixing: a notebook's Python cells are one source, as they
//! share one namespace; a cell that does not parse is reported at its own line and left out,
//! so that the others are still checked; fixes stay within their cell, and findings are
//! located in their cell.

use std::ops::Range;
use std::sync::Arc;

use nmf_linter::checker::FileContext;
use nmf_linter::diagnostic::{Diagnostic, error_codes};
use nmf_linter::fix::{FixedSource, apply_fixes};
use nmf_linter::noqa::NoqaLines;
use nmf_linter::render::SourceLocator;
use nmf_linter::settings::LinterSettings;
use ruff_diagnostics::{Applicability, Edit, Fix};
use ruff_python_ast::PySourceType;
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::FxHashMap;

use crate::check::fix::{FixOutcome, fix_with, unified_diff};
use crate::check::message::{ExplanationReport, to_message};
use crate::check::pipeline::{FileOutcome, RunOptions};
use crate::check::{FileDiagnostics, check_text};
use crate::source::magics::expose_magics;
use crate::source::notebook::{Notebook, NotebookSource};
use crate::source::parse::ParsedModule;

/// A notebook's Python code as one source, without the cells that do not parse.
pub(crate) struct NotebookCode<'n> {
    notebook: &'n Notebook,
    /// The cells left out, and each one's first syntax error (cell, offset in the cell,
    /// message).
    broken: Vec<usize>,
    syntax_errors: Vec<(usize, TextSize, String)>,
    source: NotebookSource,
    respect_noqa: bool,
}

impl<'n> NotebookCode<'n> {
    pub(crate) fn new(notebook: &'n Notebook, respect_noqa: bool) -> Self {
        let whole = notebook.source(&[]);
        let (broken, syntax_errors) = broken_cells(notebook, &whole);
        let source = if broken.is_empty() {
            whole
        } else {
            notebook.source(&broken)
        };
        Self {
            notebook,
            broken,
            syntax_errors,
            source,
            respect_noqa,
        }
    }

    /// The same cells of `notebook`, a fixed version of this one.
    pub(crate) fn after<'m>(&self, notebook: &'m Notebook) -> NotebookCode<'m> {
        NotebookCode {
            notebook,
            broken: self.broken.clone(),
            syntax_errors: self.syntax_errors.clone(),
            source: notebook.source(&self.broken),
            respect_noqa: self.respect_noqa,
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.source.text
    }

    pub(crate) fn notebook(&self) -> &Notebook {
        self.notebook
    }

    /// Checks `text`, the cells' code, with automagics read as line magics and timed
    /// statements (`%timeit model.forward(x)`) checked too (see [`expose_magics`]).
    pub(crate) fn check(
        &self,
        text: &str,
        linter: &LinterSettings,
        file: &FileContext<'_>,
    ) -> FileDiagnostics {
        check_text(
            &expose_magics(text),
            PySourceType::Ipynb,
            linter,
            file,
            self.respect_noqa,
        )
    }

    /// The fix loop over the cells' code, leaving out fixes that reach outside their cell;
    /// where each cell's code ended up.
    pub(crate) fn fix(
        &self,
        required: Applicability,
        check: &impl Fn(&str) -> FileDiagnostics,
    ) -> (FixOutcome, CellTracker) {
        let mut cells = CellTracker {
            cells: self.source.cells.clone(),
            crossing: false,
        };
        let fixed = fix_with(
            &self.source.text,
            required,
            PySourceType::Ipynb,
            check,
            |text, diagnostics| cells.apply(text, diagnostics, required),
        );
        (fixed, cells)
    }

    /// The cells `new_text` (the fixed code) changed, and the notebook's JSON with them.
    pub(crate) fn change(
        &self,
        new_text: &str,
        cells: &CellTracker,
    ) -> (Vec<(usize, String)>, String) {
        let edited: Vec<(usize, String)> = cells
            .texts(new_text)
            .into_iter()
            .filter(|(cell, text)| self.notebook.cell_text(*cell) != text)
            .collect();
        let written = self.notebook.with_sources(&edited);
        (edited, written)
    }

    /// `--diff` for a notebook: a unified diff of each changed cell. A cell is not a file:
    /// the line break its last line lacks is not news, so both sides get one.
    pub(crate) fn cell_diffs(&self, edited: &[(usize, String)], display: &str) -> String {
        let ended = |text: &str| {
            if text.ends_with(['\n', '\r']) {
                text.to_string()
            } else {
                format!("{text}\n")
            }
        };
        edited
            .iter()
            .map(|(cell, text)| {
                unified_diff(
                    &format!("{display}:cell {}", cell + 1),
                    &ended(self.notebook.cell_text(*cell)),
                    &ended(text),
                )
            })
            .collect()
    }

    /// The findings of the notebook, each located in its cell, and the syntax errors of the
    /// cells that were left out.
    pub(crate) fn report(
        &self,
        outcome: &mut FileOutcome,
        checked: FileDiagnostics,
        options: RunOptions,
    ) {
        let notebook = self.notebook;
        let display = outcome.display.clone();
        // One locator per cell (and its text, kept for code frames), made when a finding
        // first needs it: a cell with many findings is indexed once.
        let mut cells: FxHashMap<usize, (SourceLocator<'_>, Option<Arc<str>>)> =
            FxHashMap::default();
        let mut cell_of = |cell: usize| -> (SourceLocator<'_>, Option<Arc<str>>) {
            cells
                .entry(cell)
                .or_insert_with(|| {
                    let text = notebook.cell_text(cell);
                    (
                        SourceLocator::new(text),
                        options.frames.then(|| Arc::from(text)),
                    )
                })
                .clone()
        };
        let located =
            |cell: usize,
             diagnostic: &Diagnostic,
             (locator, kept): &(SourceLocator<'_>, Option<Arc<str>>)| {
                let mut message = to_message(diagnostic, &display, locator, kept.as_ref());
                message.cell = Some(cell + 1);
                message.file_line = Some(notebook.file_line(cell, message.start.line));
                message.file_end_line = Some(notebook.file_line(cell, message.end.line));
                message
            };
        for (cell, offset, error) in &self.syntax_errors {
            let diagnostic = Diagnostic::error(
                error_codes::SYNTAX_ERROR,
                format!("SyntaxError: {error}"),
                TextRange::empty(*offset),
            );
            let in_cell = cell_of(*cell);
            let locator = &in_cell.0;
            let line = locator.location(*offset).line;
            let suppressed = self.respect_noqa
                && NoqaLines::physical(locator).suppresses(
                    error_codes::SYNTAX_ERROR,
                    line,
                    locator,
                );
            if !suppressed {
                outcome.messages.push(located(*cell, &diagnostic, &in_cell));
            }
        }
        for diagnostic in &checked.diagnostics {
            let start = diagnostic.start().to_usize();
            let Some((cell, cell_start)) = self.source.cell_at(start) else {
                continue;
            };
            let shift = TextSize::try_from(cell_start).unwrap_or_default();
            let in_cell = cell_of(cell);
            outcome
                .messages
                .push(located(cell, &shifted(diagnostic, shift), &in_cell));
        }
        if options.explanations {
            for explanation in checked.explanations {
                let start = explanation.range.start().to_usize();
                let Some((cell, cell_start)) = self.source.cell_at(start) else {
                    continue;
                };
                let within = TextSize::try_from(start - cell_start).unwrap_or_default();
                outcome.explanations.push(ExplanationReport {
                    path: display.clone(),
                    location: cell_of(cell).0.location(within),
                    cell: Some(cell + 1),
                    explanation,
                });
            }
        }
    }
}

/// The cells that do not parse on their own, and each one's first syntax error (cell,
/// offset in the cell, message). Cells that each parse but not together (a bracket opened in
/// one and closed in the next) are all reported as the whole source's error.
fn broken_cells(
    notebook: &Notebook,
    whole: &NotebookSource,
) -> (Vec<usize>, Vec<(usize, TextSize, String)>) {
    let parsed = ParsedModule::parse(&expose_magics(&whole.text), PySourceType::Ipynb);
    let Some(first) = parsed.parsed().errors().first() else {
        return (Vec::new(), Vec::new());
    };
    let mut broken = Vec::new();
    let mut errors = Vec::new();
    for cell in notebook.python_cells() {
        let own = ParsedModule::parse(
            &expose_magics(notebook.cell_text(cell)),
            PySourceType::Ipynb,
        );
        if let Some(error) = own.parsed().errors().first() {
            broken.push(cell);
            errors.push((cell, error.location.start(), error.error.to_string()));
        }
    }
    if broken.is_empty() {
        // Only the cells together fail: report where, and check no cell.
        let offset = first.location.start().to_usize();
        if let Some((cell, start)) = whole.cell_at(offset) {
            let within = TextSize::try_from(offset - start).unwrap_or_default();
            errors.push((cell, within, first.error.to_string()));
        }
        broken = notebook.python_cells().collect();
    }
    (broken, errors)
}

/// The place of each cell's code in the source being fixed, kept up to date as fixes are
/// applied, so that the fixed cells come out exactly.
pub(crate) struct CellTracker {
    /// `(cell index, range in the current text)`, in order.
    cells: Vec<(usize, Range<usize>)>,
    /// A fix was left out because an edit of it reaches outside its cell.
    pub(crate) crossing: bool,
}

impl CellTracker {
    /// The position in `cells` of the cell an edit starting at `offset` belongs to.
    fn cell_of(&self, offset: TextSize) -> Option<usize> {
        let offset = offset.to_usize();
        let position = self
            .cells
            .partition_point(|(_, range)| range.start <= offset)
            .checked_sub(1)?;
        (offset <= self.cells[position].1.end).then_some(position)
    }

    fn within_a_cell(&self, edit: &Edit) -> bool {
        self.cell_of(edit.start())
            .is_some_and(|position| edit.end().to_usize() <= self.cells[position].1.end)
    }

    /// One pass of fixes, as `apply_fixes`, leaving out fixes that reach outside a cell, and
    /// moving the cells' ranges by what the applied edits added or removed.
    fn apply(
        &mut self,
        text: &str,
        diagnostics: &[Diagnostic],
        required: Applicability,
    ) -> FixedSource {
        let crosses = |diagnostic: &Diagnostic| {
            diagnostic.fix.as_ref().is_some_and(|fix| {
                fix.applies(required) && !fix.edits().iter().all(|edit| self.within_a_cell(edit))
            })
        };
        // Usually no fix crosses, and the diagnostics are applied as they are.
        let kept: Option<(Vec<Diagnostic>, Vec<usize>)> =
            diagnostics.iter().any(crosses).then(|| {
                diagnostics
                    .iter()
                    .enumerate()
                    .filter(|(_, diagnostic)| !crosses(diagnostic))
                    .map(|(index, diagnostic)| (diagnostic.clone(), index))
                    .unzip()
            });
        self.crossing |= kept.is_some();
        let considered = kept
            .as_ref()
            .map_or(diagnostics, |(kept, _)| kept.as_slice());
        let pass = apply_fixes(text, considered, required);
        let mut growth = vec![0_isize; self.cells.len()];
        for &index in &pass.applied {
            let Some(fix) = &considered[index].fix else {
                continue;
            };
            for edit in fix.edits() {
                if let Some(position) = self.cell_of(edit.start()) {
                    let added = edit.content().map_or(0, str::len);
                    growth[position] +=
                        added.cast_signed() - edit.range().len().to_usize().cast_signed();
                }
            }
        }
        let mut shift = 0_isize;
        for ((_, range), grown) in self.cells.iter_mut().zip(growth) {
            let start = range.start.saturating_add_signed(shift);
            shift += grown;
            let end = range.end.saturating_add_signed(shift);
            *range = start..end;
        }
        let applied = match &kept {
            Some((_, origin)) => pass.applied.iter().map(|&index| origin[index]).collect(),
            None => pass.applied,
        };
        FixedSource {
            text: pass.text,
            applied,
        }
    }

    /// The new text of each cell the fixes changed, from the fixed source.
    fn texts(&self, fixed: &str) -> Vec<(usize, String)> {
        self.cells
            .iter()
            .filter_map(|(cell, range)| Some((*cell, fixed.get(range.clone())?.to_string())))
            .collect()
    }
}

/// A finding moved back by `shift` (into its cell), its fix too.
fn shifted(diagnostic: &Diagnostic, shift: TextSize) -> Diagnostic {
    let back = |range: TextRange| range.checked_sub(shift).unwrap_or(range);
    let fix = diagnostic.fix.as_ref().and_then(|fix| {
        let mut edits = fix.edits().iter().map(|edit| match edit.content() {
            Some(content) if !content.is_empty() => {
                Edit::range_replacement(content.to_string(), back(edit.range()))
            }
            _ => Edit::range_deletion(back(edit.range())),
        });
        let first = edits.next()?;
        Some(Fix::applicable_edits(first, edits, fix.applicability()))
    });
    Diagnostic {
        range: back(diagnostic.range),
        fix,
        ..diagnostic.clone()
    }
}

#[cfg(test)]
mod tests {
    use nmf_linter::diagnostic::error_codes;

    use super::*;

    fn fixing(edits: Vec<Edit>) -> Diagnostic {
        let mut edits = edits.into_iter();
        let first = edits.next().expect("an edit");
        Diagnostic::error(
            error_codes::SYNTAX_ERROR,
            String::new(),
            TextRange::default(),
        )
        .with_fix(Fix::safe_edits(first, edits))
    }

    fn at(offset: u32) -> TextSize {
        TextSize::new(offset)
    }

    #[test]
    fn cells_move_with_the_edits_before_them_and_crossing_fixes_are_left_out() {
        // Two cells: "ab\n" (0..3) and "cd" (3..5), then the separator line feed.
        let text = "ab\ncd\n";
        let mut tracker = CellTracker {
            cells: vec![(1, 0..3), (4, 3..5)],
            crossing: false,
        };
        let diagnostics = [
            // Grows the first cell by two.
            fixing(vec![Edit::replacement("xyz".to_string(), at(1), at(2))]),
            // Shrinks the second by one.
            fixing(vec![Edit::deletion(at(4), at(5))]),
            // Reaches from the first cell into the second: left out.
            fixing(vec![Edit::deletion(at(2), at(4))]),
        ];
        let pass = tracker.apply(text, &diagnostics, Applicability::Safe);
        assert_eq!(pass.text, "axyz\nc\n");
        assert_eq!(pass.applied, [0, 1]);
        assert!(tracker.crossing);
        assert_eq!(tracker.cells, [(1, 0..5), (4, 5..6)]);
        assert_eq!(
            tracker.texts(&pass.text),
            [(1, "axyz\n".to_string()), (4, "c".to_string())]
        );
    }
}
