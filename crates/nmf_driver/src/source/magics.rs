//! IPython line magics that run a Python statement (`%time model.forward(x)`,
//! `%timeit -n 10 model.forward(x)`) hold that statement as the magic's text, out of the
//! parser's sight: a `.forward()` timed in a notebook skips its hooks all the same. Before a
//! notebook's source is checked, the prefix of each such magic is replaced by `if 1:` and
//! blanks of the same length, so that the statement is parsed and checked where it is written:
//! offsets, lines, `noqa` comments and fixes (which edit the statement, never the prefix) stay
//! those of the notebook.

use std::borrow::Cow;

use ruff_python_ast::{IpyEscapeKind, PySourceType, Stmt};
use ruff_text_size::Ranged;

use crate::source::parse::ParsedModule;

/// Line magics whose argument, after options, is a Python statement.
const STATEMENT_MAGICS: [&str; 5] = ["time", "timeit", "prun", "memit", "debug"];

/// Option tokens and their arguments tried before the statement (`-n 10 -r 3`).
const MAX_OPTION_TOKENS: usize = 8;

/// `source` (a notebook's Python cells, parsed in IPython mode) with each statement-running
/// line magic's prefix masked as `if 1:`; borrowed when there is none.
pub fn expose_statement_magics(source: &str) -> Cow<'_, str> {
    if !STATEMENT_MAGICS
        .iter()
        .any(|name| source.contains(&format!("%{name}")))
    {
        return Cow::Borrowed(source);
    }
    let module = ParsedModule::parse(source, PySourceType::Ipynb);
    let mut masks: Vec<(usize, usize)> = Vec::new();
    // An explicit stack: the notebook may nest deeply.
    let mut pending: Vec<&[Stmt]> = vec![module.parsed().suite()];
    while let Some(body) = pending.pop() {
        for stmt in body {
            match stmt {
                Stmt::IpyEscapeCommand(command) if command.kind == IpyEscapeKind::Magic => {
                    let start = command.start().to_usize();
                    let end = command.end().to_usize();
                    if let Some(prefix) = source.get(start..end).and_then(statement_prefix) {
                        masks.push((start, prefix));
                    }
                }
                Stmt::If(node) => {
                    pending.push(&node.body);
                    pending.extend(node.elif_else_clauses.iter().map(|clause| &clause.body[..]));
                }
                Stmt::For(node) => pending.extend([&node.body[..], &node.orelse[..]]),
                Stmt::While(node) => pending.extend([&node.body[..], &node.orelse[..]]),
                Stmt::With(node) => pending.push(&node.body),
                Stmt::Try(node) => {
                    pending.extend([&node.body[..], &node.orelse[..], &node.finalbody[..]]);
                    pending.extend(node.handlers.iter().map(|handler| match handler {
                        ruff_python_ast::ExceptHandler::ExceptHandler(handler) => &handler.body[..],
                    }));
                }
                Stmt::FunctionDef(node) => pending.push(&node.body),
                Stmt::ClassDef(node) => pending.push(&node.body),
                Stmt::Match(node) => pending.extend(node.cases.iter().map(|case| &case.body[..])),
                _ => {}
            }
        }
    }
    if masks.is_empty() {
        return Cow::Borrowed(source);
    }
    let mut exposed = source.to_string();
    for (start, length) in masks {
        let mask = format!("if 1:{}", " ".repeat(length - 5));
        exposed.replace_range(start..start + length, &mask);
    }
    Cow::Owned(exposed)
}

/// The length of `%name [options] ` in a statement-running magic whose statement parses on
/// its own after `if 1:`; `None` for other magics.
fn statement_prefix(command: &str) -> Option<usize> {
    let text = command.strip_prefix('%')?;
    let name_end = text.find(char::is_whitespace)?;
    if !STATEMENT_MAGICS.contains(&&text[..name_end]) {
        return None;
    }
    // Token starts after the name: the statement begins at one of them, after the options.
    let mut starts = Vec::new();
    let mut previous_blank = true;
    for (offset, character) in text.char_indices().skip(name_end) {
        let blank = character.is_whitespace();
        if previous_blank && !blank {
            starts.push(offset);
        }
        previous_blank = blank;
    }
    starts
        .iter()
        .take(MAX_OPTION_TOKENS + 1)
        .enumerate()
        .take_while(|(index, _)| *index == 0 || text[starts[0]..].starts_with('-'))
        .map(|(_, start)| *start)
        .find(|start| {
            let statement = &text[*start..];
            let prefix = start + 1;
            !statement.starts_with('-') && prefix >= 5 && parses(&format!("if 1:{statement}"))
        })
        .map(|start| start + 1)
}

fn parses(line: &str) -> bool {
    ParsedModule::parse(line, PySourceType::Python)
        .parsed()
        .errors()
        .is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_statements_are_exposed_in_place() {
        let source = "import torch\n%time y = model.forward(x)\n\
                      for i in range(3):\n    %timeit -n 10 -r 2 model.forward(i)  # noqa: NMF001\n\
                      %prun -s cumulative train(model.forward)\n\
                      %matplotlib inline\n%time for i in x: pass\n!nvidia-smi\n";
        let exposed = expose_statement_magics(source);
        assert_eq!(exposed.len(), source.len());
        assert_eq!(
            exposed,
            "import torch\nif 1: y = model.forward(x)\n\
             for i in range(3):\n    if 1:              model.forward(i)  # noqa: NMF001\n\
             if 1:               train(model.forward)\n\
             %matplotlib inline\n%time for i in x: pass\n!nvidia-smi\n"
        );
    }

    #[test]
    fn sources_without_such_magics_are_borrowed() {
        assert!(matches!(
            expose_statement_magics("%matplotlib inline\nx = 1\n# %time in a comment\n"),
            Cow::Borrowed(_)
        ));
    }
}
