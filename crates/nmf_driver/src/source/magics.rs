//! IPython syntax the parser does not know, made parseable before a notebook's code is parsed,
//! always keeping its length, so that offsets, lines, `noqa` comments and fixes (which never
//! edit what was masked) stay those of the notebook:
//!
//! - Automagics: IPython runs `pip install torch` (no `%`) as the line magic `%pip`, since
//!   `automagic` is on by default. A line whose first word is a line magic's name and which
//!   does not parse as Python is such a magic: its first character becomes `%`, which the
//!   parser reads as a line magic (its name is then wrong, but nothing reads it).
//! - Line magics that run a Python statement (`%time model.forward(x)`, `%timeit -n 10
//!   model.forward(x)`, or `time model.forward(x)` as an automagic) hold that statement as the
//!   magic's text, out of the parser's sight: a `.forward()` timed in a notebook skips its hooks
//!   all the same. The prefix of each such magic is replaced by `if 1:` and blanks, so that the
//!   statement is parsed and checked where it is written.

use std::borrow::Cow;

use ruff_python_ast::token::TokenKind;
use ruff_python_ast::{IpyEscapeKind, PySourceType, Stmt};
use ruff_text_size::Ranged;

use crate::source::parse::ParsedModule;

/// The names of IPython's line magics, which automagic runs without their `%`: IPython's
/// own (IPython 8, as `%lsmagic` lists them on POSIX, the shell aliases `ls`, `cat`, … among
/// them), ipykernel's (`clear`, `less`, …), the package managers added since (`mamba`,
/// `micromamba`, `uv`) and memory_profiler's `memit`. Sorted, for the binary search.
const AUTOMAGICS: [&str; 100] = [
    "alias",
    "alias_magic",
    "autoawait",
    "autocall",
    "automagic",
    "autosave",
    "bookmark",
    "cat",
    "cd",
    "clear",
    "colors",
    "conda",
    "config",
    "connect_info",
    "cp",
    "debug",
    "dhist",
    "dirs",
    "doctest_mode",
    "ed",
    "edit",
    "env",
    "gui",
    "hist",
    "history",
    "killbgscripts",
    "ldir",
    "less",
    "lf",
    "lk",
    "ll",
    "load",
    "load_ext",
    "loadpy",
    "logoff",
    "logon",
    "logstart",
    "logstate",
    "logstop",
    "ls",
    "lsmagic",
    "lx",
    "macro",
    "magic",
    "mamba",
    "man",
    "matplotlib",
    "memit",
    "micromamba",
    "mkdir",
    "more",
    "mv",
    "notebook",
    "page",
    "pastebin",
    "pdb",
    "pdef",
    "pdoc",
    "pfile",
    "pinfo",
    "pinfo2",
    "pip",
    "popd",
    "pprint",
    "precision",
    "prun",
    "psearch",
    "psource",
    "pushd",
    "pwd",
    "pycat",
    "pylab",
    "qtconsole",
    "quickref",
    "recall",
    "rehashx",
    "reload_ext",
    "rep",
    "rerun",
    "reset",
    "reset_selective",
    "rm",
    "rmdir",
    "run",
    "save",
    "sc",
    "set_env",
    "sx",
    "system",
    "tb",
    "time",
    "timeit",
    "unalias",
    "unload_ext",
    "uv",
    "who",
    "who_ls",
    "whos",
    "xdel",
    "xmode",
];

/// `source` (a notebook's Python cells, parsed in IPython mode) with automagics masked as line
/// magics and the prefix of each statement-running magic as `if 1:` (see the module's
/// documentation); borrowed when there is nothing to mask.
pub fn expose_magics(source: &str) -> Cow<'_, str> {
    match expose_automagics(source) {
        Cow::Borrowed(source) => expose_statement_magics(source),
        Cow::Owned(masked) => Cow::Owned(expose_statement_magics(&masked).into_owned()),
    }
}

/// Masks each automagic line: a line that starts a logical line (not inside brackets, a
/// string, or after a backslash), whose first word is a line magic's name, and which does not
/// parse as Python on its own (`pip install x`, `cd ..`; not `ls = 1` nor `pip(3)`). One parse
/// of `source` and one of each such line.
fn expose_automagics(source: &str) -> Cow<'_, str> {
    let candidates: Vec<usize> = line_starts(source)
        .filter_map(|start| {
            let line = &source[start..];
            let indent = line.len() - line.trim_start_matches([' ', '\t', '\x0c']).len();
            let name_start = start + indent;
            automagic_name(&source[name_start..]).map(|_| name_start)
        })
        .collect();
    if candidates.is_empty() {
        return Cow::Borrowed(source);
    }
    let module = ParsedModule::parse(source, PySourceType::Ipynb);
    if module.parsed().errors().is_empty() {
        return Cow::Borrowed(source);
    }
    let logical_starts = logical_line_starts(module.parsed().tokens());
    let mut masked: Option<String> = None;
    for name_start in candidates {
        if logical_starts.binary_search(&name_start).is_err() {
            continue;
        }
        let rest = &source[name_start..];
        let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
        if parses(line) {
            continue;
        }
        let text = masked.get_or_insert_with(|| source.to_string());
        // A statement-running magic shows its statement; any other becomes `%…`.
        match statement_prefix(&format!("%{line}")) {
            Some(prefix) => {
                let length = prefix - 1;
                let mask = format!("if 1:{}", " ".repeat(length - 5));
                text.replace_range(name_start..name_start + length, &mask);
            }
            None => {
                let first = line.chars().next().map_or(1, char::len_utf8);
                text.replace_range(name_start..name_start + first, "%");
            }
        }
    }
    masked.map_or(Cow::Borrowed(source), Cow::Owned)
}

/// The offsets where physical lines start.
fn line_starts(source: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(
        source
            .match_indices(['\n', '\r'])
            .filter_map(|(at, ending)| {
                // `\r\n` is one ending.
                let next = at + ending.len();
                (ending == "\n" || !source[next..].starts_with('\n')).then_some(next)
            }),
    )
}

/// The name of a line magic that `text` starts with, followed by a blank or the end of the
/// line.
fn automagic_name(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let name = &text[..end];
    let after = text[end..].chars().next();
    let ends_word = after.is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    (ends_word && AUTOMAGICS.binary_search(&name).is_ok()).then_some(name)
}

/// The offsets of the first token of each logical line, sorted: tokens at bracket depth 0
/// that follow the start, a `NEWLINE`, or the indentation tokens and comments and blank lines
/// after one.
fn logical_line_starts(tokens: &ruff_python_ast::token::Tokens) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut depth: u32 = 0;
    let mut at_start = true;
    for token in tokens.iter() {
        let kind = token.kind();
        match kind {
            TokenKind::Newline => {
                at_start = true;
                continue;
            }
            TokenKind::NonLogicalNewline
            | TokenKind::Indent
            | TokenKind::Dedent
            | TokenKind::Comment => continue,
            _ => {}
        }
        if at_start && depth == 0 {
            starts.push(token.start().to_usize());
        }
        at_start = false;
        match kind {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => depth += 1,
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                depth = depth.saturating_sub(1)
            }
            _ => {}
        }
    }
    starts
}

/// Line magics whose argument, after options, is a Python statement.
const STATEMENT_MAGICS: [&str; 5] = ["time", "timeit", "prun", "memit", "debug"];

/// Option tokens and their arguments tried before the statement (`-n 10 -r 3`).
const MAX_OPTION_TOKENS: usize = 8;

/// `source` with each statement-running line magic's prefix masked as `if 1:`; borrowed when
/// there is none.
fn expose_statement_magics(source: &str) -> Cow<'_, str> {
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
        let exposed = expose_magics(source);
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
    fn automagics_are_sorted_for_the_binary_search() {
        assert!(AUTOMAGICS.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn automagic_lines_that_are_not_python_become_line_magics() {
        let source = "pip install torch\nimport torch\ncd ..\n!ls\nls -la\nls = 1\npip(3)\n\
                      for p in ps:\n    conda install -y p\ntime y = model.forward(x)\n\
                      timeit -n 3 model.forward(x)\nenv\n";
        let exposed = expose_magics(source);
        assert_eq!(exposed.len(), source.len());
        assert_eq!(
            exposed,
            "%ip install torch\nimport torch\n%d ..\n!ls\nls -la\nls = 1\npip(3)\n\
             for p in ps:\n    %onda install -y p\nif 1:y = model.forward(x)\n\
             if 1:       model.forward(x)\nenv\n"
        );
        assert!(
            ParsedModule::parse(&exposed, PySourceType::Ipynb)
                .parsed()
                .errors()
                .is_empty()
        );
    }

    #[test]
    fn automagic_words_inside_strings_brackets_or_continuations_stay() {
        let source = "s = \"\"\"\npip install x\n\"\"\"\nf(\n    cd ..\n)\nx = 1 + \\\ncd ..\n";
        assert_eq!(expose_magics(source), source);
    }

    #[test]
    fn cells_that_parse_or_hold_no_magic_name_are_borrowed() {
        assert!(matches!(
            expose_magics("ls = 1\nprint(ls)\n"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(expose_magics("def f(:\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn sources_without_such_magics_are_borrowed() {
        assert!(matches!(
            expose_magics("%matplotlib inline\nx = 1\n# %time in a comment\n"),
            Cow::Borrowed(_)
        ));
    }
}
