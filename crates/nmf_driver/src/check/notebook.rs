//! Checking (and fixing) a notebook: its Python cells are one source, as they share one
//! namespace; a cell that does not parse is reported at its own line and left out, so that the
//! others are still checked; findings are located in their cell.

use nmf_linter::diagnostic::{Diagnostic, error_codes};
use nmf_linter::fix::{FixedSource, apply_fixes};
use nmf_linter::noqa::NoqaLines;
use nmf_linter::render::SourceLocator;
use ruff_diagnostics::{Applicability, Edit, Fix};
use std::ops::Range;

use ruff_python_ast::PySourceType;
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::FxHashMap;

use crate::check::fix::{MAX_FIX_PASSES, fix_with};
use crate::check::message::{ExplanationReport, to_located_message};
use crate::check::write::write_fixed;
use crate::check::{CheckOptions, FileDiagnostics, check_text, could_match};
use crate::project::ProjectIndex;
use crate::project::dependencies::RecordingView;
use crate::run::{Destination, FileOutcome, FixMode, RunOptions, Target};
use crate::settings::config::Settings;
use crate::source::FileStamp;
use crate::source::magics::expose_statement_magics;
use crate::source::notebook::{Notebook, NotebookSource};
use crate::source::parse::ParsedModule;

/// Checks one notebook, and fixes it as `options.fix` says.
pub(crate) fn check_notebook(
    notebook: &Notebook,
    stamp: Option<FileStamp>,
    target: &Target<'_>,
    settings: &Settings,
    index: &ProjectIndex,
    options: RunOptions,
) -> FileOutcome {
    let Target {
        path,
        display,
        destination,
        recorder,
    } = *target;
    let mut outcome = FileOutcome {
        display: display.to_string(),
        ..FileOutcome::default()
    };
    let stdout_fix = matches!(destination, Destination::Stdout) && options.fix == FixMode::Apply;
    if stdout_fix {
        outcome.stdin_output = Some(notebook.raw().as_bytes().to_vec());
    }
    if let Some(language) = &notebook.foreign_language {
        outcome.skipped = Some(format!(
            "{display}: skipped, its kernel's language is {language}, not Python"
        ));
        return outcome;
    }
    let linter = settings.linter_for(path);
    let whole = notebook.source(&[]);
    if options.check.prefilter && !could_match(&linter, &whole.text) {
        return outcome;
    }
    let check_options = CheckOptions {
        prefilter: false,
        ipython: true,
        ..options.check
    };
    let (broken, syntax_errors) = broken_cells(notebook, &whole, check_options);
    let source = notebook.source(&broken);
    let view = index.view_with(path, &settings.import_paths);
    let recording;
    let file = match recorder {
        Some(recorder) => {
            recording = RecordingView {
                view: &view,
                recorder,
            };
            view.file_context_with(&recording)
        }
        None => view.file_context(),
    };
    outcome.parsed = true;

    let mut final_source = source;
    let mut final_notebook: Option<Notebook> = None;
    if options.fix != FixMode::Off {
        let required = options.required_applicability();
        let mut cells = CellTracker {
            cells: final_source.cells.clone(),
            crossing: false,
        };
        let fixed = fix_with(
            &final_source.text,
            required,
            check_options.source_type(),
            |text| {
                check_text(
                    &expose_statement_magics(text),
                    &linter,
                    &file,
                    check_options,
                )
            },
            |text, diagnostics| cells.apply(text, diagnostics, required),
        );
        if cells.crossing {
            outcome.errors.push(format!(
                "{display}: a fix would reach across two cells; it was not applied"
            ));
        }
        if let Some(refusal) = &fixed.refusal {
            outcome.errors.push(format!("{display}: {refusal}"));
        }
        if fixed.hit_pass_limit {
            outcome.errors.push(format!(
                "{display}: fixes were still pending after {MAX_FIX_PASSES} passes; the notebook was fixed as far as it got"
            ));
        }
        if let Some(new_text) = &fixed.fixed_text {
            let edited: Vec<(usize, String)> = cells
                .texts(new_text)
                .into_iter()
                .filter(|(cell, text)| notebook.cell_text(*cell) != text)
                .collect();
            let written = notebook.with_sources(&edited);
            let took_effect = match (options.fix, destination) {
                (FixMode::Diff, _) => {
                    outcome.diff = Some(cell_diffs(notebook, &edited, display));
                    true
                }
                (FixMode::Apply, Destination::Stdout) => {
                    outcome.stdin_output = Some(written.clone().into_bytes());
                    true
                }
                (FixMode::Apply, Destination::File(path)) => {
                    outcome.record_write(display, write_fixed(path, stamp, written.as_bytes()))
                }
                (FixMode::Off, _) => false,
            };
            if took_effect {
                outcome.fixed.clone_from(&fixed.fixed);
                if options.fix == FixMode::Apply {
                    final_notebook = Notebook::parse(written).ok();
                }
            }
        }
    }
    let current = final_notebook.as_ref().unwrap_or(notebook);
    if final_notebook.is_some() {
        final_source = current.source(&broken);
    }
    // Timed statements (`%timeit model.forward(x)`) are checked too; the text keeps its length.
    let exposed = expose_statement_magics(&final_source.text);
    let checked = check_text(&exposed, &linter, &file, check_options);
    report(
        &mut outcome,
        current,
        &final_source,
        checked,
        &syntax_errors,
        options,
    );
    outcome
}

/// The cells that do not parse on their own, and each one's first syntax error (cell,
/// offset in the cell, message). Cells that each parse but not together (a bracket opened in
/// one and closed in the next) are all reported as the whole source's error.
fn broken_cells(
    notebook: &Notebook,
    whole: &NotebookSource,
    options: CheckOptions,
) -> (Vec<usize>, Vec<(usize, TextSize, String)>) {
    let parsed = ParsedModule::parse(&whole.text, options.source_type());
    let Some(first) = parsed.parsed().errors().first() else {
        return (Vec::new(), Vec::new());
    };
    let mut broken = Vec::new();
    let mut errors = Vec::new();
    for cell in notebook.python_cells() {
        let own = ParsedModule::parse(notebook.cell_text(cell), PySourceType::Ipynb);
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
struct CellTracker {
    /// `(cell index, range in the current text)`, in order.
    cells: Vec<(usize, Range<usize>)>,
    /// A fix was left out because an edit of it reaches outside its cell.
    crossing: bool,
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

/// `--diff` for a notebook: a unified diff of each changed cell. A cell is not a file: the
/// line break its last line lacks is not news, so both sides get one.
fn cell_diffs(notebook: &Notebook, edited: &[(usize, String)], display: &str) -> String {
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
            crate::check::fix::unified_diff(
                &format!("{display}:cell {}", cell + 1),
                &ended(notebook.cell_text(*cell)),
                &ended(text),
            )
        })
        .collect()
}

/// The findings of a notebook, each located in its cell, and the syntax errors of the cells
/// that were left out.
fn report(
    outcome: &mut FileOutcome,
    notebook: &Notebook,
    source: &NotebookSource,
    checked: FileDiagnostics,
    syntax_errors: &[(usize, TextSize, String)],
    options: RunOptions,
) {
    let message_options = options.message_options();
    let display = outcome.display.clone();
    // One locator per cell, made when a finding first needs it: a cell with many findings is
    // indexed once.
    let mut locators: FxHashMap<usize, SourceLocator<'_>> = FxHashMap::default();
    let mut locator = |cell: usize| -> SourceLocator<'_> {
        locators
            .entry(cell)
            .or_insert_with(|| SourceLocator::new(notebook.cell_text(cell)))
            .clone()
    };
    let located = |cell: usize, diagnostic: &Diagnostic, locator: &SourceLocator<'_>| {
        let label = format!("{display}:cell {}", cell + 1);
        let mut message =
            to_located_message(diagnostic, &display, &label, locator, message_options);
        message.cell = Some(cell + 1);
        message.file_line = Some(notebook.file_line(cell, message.start.line));
        message.file_end_line = Some(notebook.file_line(cell, message.end.line));
        message
    };
    for (cell, offset, error) in syntax_errors {
        let diagnostic = Diagnostic::error(
            error_codes::SYNTAX_ERROR,
            format!("SyntaxError: {error}"),
            TextRange::empty(*offset),
        );
        let cell_locator = locator(*cell);
        let line = cell_locator.location(*offset).line;
        let suppressed = options.check.respect_noqa
            && NoqaLines::physical(&cell_locator).suppresses(
                error_codes::SYNTAX_ERROR,
                line,
                &cell_locator,
            );
        if !suppressed {
            outcome
                .messages
                .push(located(*cell, &diagnostic, &cell_locator));
        }
    }
    for diagnostic in &checked.diagnostics {
        let start = diagnostic.start().to_usize();
        let Some((cell, cell_start)) = source.cell_at(start) else {
            continue;
        };
        let shift = TextSize::try_from(cell_start).unwrap_or_default();
        let cell_locator = locator(cell);
        outcome
            .messages
            .push(located(cell, &shifted(diagnostic, shift), &cell_locator));
    }
    if options.explanations {
        for explanation in checked.explanations {
            let start = explanation.range.start().to_usize();
            let Some((cell, cell_start)) = source.cell_at(start) else {
                continue;
            };
            let within = TextSize::try_from(start - cell_start).unwrap_or_default();
            outcome.explanations.push(ExplanationReport {
                path: display.clone(),
                location: locator(cell).location(within),
                cell: Some(cell + 1),
                explanation,
            });
        }
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
