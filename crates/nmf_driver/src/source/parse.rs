//! Parsing with a syntax tree that is always dropped safely, however deep it nests.

use nmf_linter::checker::nesting_depth;
use ruff_python_ast::{ModModule, PySourceType};
use ruff_python_parser::{Parsed, parse_unchecked_source};

/// A parsed module. Syntax trees nest as deep as the code, and dropping one recurses once per
/// level: this one is dropped on a stack sized for its depth, so that no input can overflow the
/// thread's stack.
pub struct ParsedModule {
    parsed: Option<Parsed<ModModule>>,
    depth: Option<usize>,
}

impl ParsedModule {
    /// Parses `source`, recovering from syntax errors (see [`Parsed::errors`]).
    pub fn parse(source: &str, source_type: PySourceType) -> Self {
        Self {
            parsed: Some(parse_unchecked_source(source, source_type)),
            depth: None,
        }
    }

    pub fn parsed(&self) -> &Parsed<ModModule> {
        self.parsed
            .as_ref()
            .expect("the tree is only taken when dropped")
    }

    /// Records the deepest nesting, when a walk of the tree measured it, which saves measuring
    /// it again before the drop.
    pub fn set_depth(&mut self, depth: usize) {
        self.depth = Some(depth);
    }
}

impl Drop for ParsedModule {
    fn drop(&mut self) {
        let Some(parsed) = self.parsed.take() else {
            return;
        };
        let depth = self.depth.unwrap_or_else(|| nesting_depth(parsed.suite()));
        drop_deep_tree(parsed, depth);
    }
}

fn drop_deep_tree(parsed: Parsed<ModModule>, max_depth: usize) {
    /// Nesting that any thread's default stack drops comfortably.
    const SHALLOW: usize = 256;
    /// Generous bytes of stack per level of `Drop` recursion.
    const BYTES_PER_LEVEL: usize = 1024;
    if max_depth <= SHALLOW {
        drop(parsed);
    } else {
        let stack = max_depth
            .saturating_mul(BYTES_PER_LEVEL)
            .saturating_add(1 << 20);
        stacker::grow(stack, move || drop(parsed));
    }
}
