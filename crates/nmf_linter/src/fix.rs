//! Applying fixes to a source text: non-overlapping fixes in one pass, the rest left for the next.

use ruff_diagnostics::{Applicability, Fix};
use ruff_text_size::{Ranged, TextSize};

use crate::diagnostic::Diagnostic;

/// The fixes of one pass, applied.
#[derive(Debug)]
pub struct FixedSource {
    pub text: String,
    /// The indices (into the diagnostics given) of the findings whose fix was applied.
    pub applied: Vec<usize>,
}

/// Applies the fixes of `diagnostics` that meet `required`, in source order, skipping any fix
/// whose edits overlap those already applied in this pass (the next pass picks it up), so that
/// no edit ever lands inside another.
pub fn apply_fixes(
    source: &str,
    diagnostics: &[Diagnostic],
    required: Applicability,
) -> FixedSource {
    let mut fixes: Vec<(usize, &Fix)> = diagnostics
        .iter()
        .enumerate()
        .filter_map(|(index, diagnostic)| Some((index, diagnostic.fix.as_ref()?)))
        .filter(|(_, fix)| fix.applies(required) && !fix.edits().is_empty())
        .collect();
    fixes.sort_by_key(|(index, fix)| (fix.min_start(), *index));

    let mut text = String::with_capacity(source.len());
    let mut copied_up_to = TextSize::default();
    let mut applied = Vec::new();
    for (index, fix) in fixes {
        let mut edits: Vec<_> = fix.edits().iter().collect();
        edits.sort_by_key(|edit| (edit.start(), edit.end()));
        let starts_after_applied = edits
            .first()
            .is_some_and(|edit| edit.start() >= copied_up_to);
        let disjoint = edits
            .windows(2)
            .all(|pair| pair[0].end() <= pair[1].start());
        let in_bounds = edits
            .last()
            .is_some_and(|edit| edit.end().to_usize() <= source.len());
        if !(starts_after_applied && disjoint && in_bounds) {
            continue;
        }
        for edit in edits {
            text.push_str(&source[copied_up_to.to_usize()..edit.start().to_usize()]);
            text.push_str(edit.content().unwrap_or_default());
            copied_up_to = edit.end();
        }
        applied.push(index);
    }
    text.push_str(&source[copied_up_to.to_usize()..]);
    FixedSource { text, applied }
}

#[cfg(test)]
mod tests {
    use ruff_diagnostics::Edit;
    use ruff_text_size::TextRange;

    use super::*;
    use crate::diagnostic::error_codes;

    fn finding(edits: Vec<Edit>, applicability: Applicability) -> Diagnostic {
        let mut edits = edits.into_iter();
        let first = edits.next().expect("an edit");
        Diagnostic::error(
            error_codes::SYNTAX_ERROR,
            String::new(),
            TextRange::default(),
        )
        .with_fix(Fix::applicable_edits(first, edits, applicability))
    }

    fn delete(start: u32, end: u32) -> Edit {
        Edit::deletion(TextSize::new(start), TextSize::new(end))
    }

    #[test]
    fn disjoint_fixes_apply_in_one_pass() {
        let source = "a.forward(b.forward(x))";
        let fixes = [
            finding(vec![delete(1, 9)], Applicability::Safe),
            finding(vec![delete(11, 19)], Applicability::Safe),
        ];
        let fixed = apply_fixes(source, &fixes, Applicability::Safe);
        assert_eq!(fixed.text, "a(b(x))");
        assert_eq!(fixed.applied, [0, 1]);
    }

    #[test]
    fn overlapping_fixes_wait_for_the_next_pass() {
        let source = "0123456789";
        let fixes = [
            finding(vec![delete(2, 6)], Applicability::Safe),
            finding(vec![delete(4, 8)], Applicability::Safe),
            finding(
                vec![Edit::replacement(
                    "X".into(),
                    TextSize::new(8),
                    TextSize::new(9),
                )],
                Applicability::Safe,
            ),
        ];
        let fixed = apply_fixes(source, &fixes, Applicability::Safe);
        assert_eq!(fixed.text, "0167X9");
        assert_eq!(fixed.applied, [0, 2]);
    }

    #[test]
    fn unsafe_fixes_need_to_be_asked_for() {
        let source = "m.forward(x)";
        let fixes = [finding(vec![delete(1, 9)], Applicability::Unsafe)];
        assert_eq!(
            apply_fixes(source, &fixes, Applicability::Safe).text,
            source
        );
        assert_eq!(
            apply_fixes(source, &fixes, Applicability::Unsafe).text,
            "m(x)"
        );
    }
}
