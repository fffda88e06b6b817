//! Jupyter notebooks: their code cells as one source for the checker, findings located in
//! their cell, and fixes written back into the JSON text byte for byte.
//!
//! A notebook is read with `serde_json`'s borrowed raw values, which keep every cell's
//! `source` strings as they are written in the file: their place, their escapes. A fix edits
//! only the characters it changes inside those string tokens, so indentation, key order,
//! `\u` escapes, the final newline, outputs and metadata are untouched. (`ruff_notebook`
//! re-serialises the whole document, which rewrites every line of a notebook indented with
//! two spaces.)

use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Cell magics whose cell is Python, as IPython runs them (`%%time` runs the cell and times
/// it); any other cell magic (`%%bash`, `%%html`, `%%writefile`) makes the cell something else.
const PYTHON_CELL_MAGICS: &[&str] = &[
    "capture", "debug", "prun", "pypy", "python", "python3", "time", "timeit",
];

/// A notebook's JSON text and where its code is.
#[derive(Debug)]
pub struct Notebook {
    raw: String,
    /// Every cell, in order; the cell number users see is the index plus one.
    cells: Vec<Cell>,
    /// The kernel's language, when the metadata names one that is not Python.
    pub foreign_language: Option<String>,
    /// Offsets of the JSON text's line feeds, found when first needed.
    newlines: std::sync::OnceLock<Vec<usize>>,
}

#[derive(Debug)]
struct Cell {
    kind: CellKind,
    /// The cell's source as Python reads it.
    text: String,
    /// The string tokens of `source` in the JSON text (quotes included), one per list element,
    /// or one for a single string.
    tokens: Vec<Range<usize>>,
    /// `source` is a list of strings (the usual form) rather than one string.
    is_list: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    /// A code cell whose content is Python (IPython syntax allowed).
    Python,
    /// A code cell of another language (`%%bash`), or markdown, raw, or unknown cells.
    Other,
}

/// The code of a notebook as one source text, and where each cell's code sits in it.
#[derive(Debug, Default)]
pub struct NotebookSource {
    pub text: String,
    /// `(cell index, range in text)` of each Python cell, in order.
    pub cells: Vec<(usize, Range<usize>)>,
}

impl NotebookSource {
    /// The cell (index) holding `offset` of the text, and the offset of that cell's start.
    pub fn cell_at(&self, offset: usize) -> Option<(usize, usize)> {
        let position = self
            .cells
            .partition_point(|(_, range)| range.start <= offset)
            .checked_sub(1)?;
        let (cell, range) = &self.cells[position];
        (offset <= range.end).then_some((*cell, range.start))
    }
}

#[derive(Deserialize)]
struct RawNotebook<'a> {
    #[serde(borrow)]
    cells: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
    nbformat: Option<u64>,
    #[serde(borrow)]
    worksheets: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawCell<'a> {
    cell_type: Option<String>,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    kernelspec: Option<KernelSpec>,
    language_info: Option<LanguageInfo>,
}

impl Metadata {
    /// The kernel's language, when it is not Python.
    fn foreign_language(self) -> Option<String> {
        let language = self
            .kernelspec
            .and_then(|kernel| kernel.language)
            .or_else(|| self.language_info.and_then(|info| info.name));
        language.filter(|language| !language.eq_ignore_ascii_case("python"))
    }
}

#[derive(Deserialize)]
struct KernelSpec {
    language: Option<String>,
}

#[derive(Deserialize)]
struct LanguageInfo {
    name: Option<String>,
}

impl Notebook {
    /// Reads a notebook; an error says what is wrong with it, for an E902 finding.
    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.starts_with('\u{feff}') {
            // Jupyter reads notebooks with Python's `json`, which refuses it too.
            return Err(
                "the notebook starts with a UTF-8 byte-order mark (BOM), which Jupyter \
                        refuses (\"Unexpected UTF-8 BOM\"): save it without one"
                    .to_string(),
            );
        }
        let document: RawNotebook<'_> = serde_json::from_str(&raw)
            .map_err(|error| format!("the notebook is not valid JSON: {error}"))?;
        if let Some(format) = document.nbformat
            && format < 4
        {
            return Err(format!(
                "nbformat {format} notebooks are not read (only nbformat 4); convert it with \
                 `jupyter nbconvert --to notebook`"
            ));
        }
        // 4 is the current major version; a later one may lay cells out differently, and
        // writing fixes into a format nmf does not know could damage it.
        if let Some(format) = document.nbformat
            && format > 4
        {
            return Err(format!(
                "nbformat {format} notebooks are not read: nbformat 4 is the latest nmf knows"
            ));
        }
        let Some(raw_cells) = document.cells else {
            return Err(if document.worksheets.is_some() {
                "the notebook keeps its cells in `worksheets` (nbformat 3), which nmf does not read"
                    .to_string()
            } else {
                "the notebook has no `cells`".to_string()
            });
        };
        let metadata: Metadata = document
            .metadata
            .and_then(|metadata| serde_json::from_str(metadata.get()).ok())
            .unwrap_or_default();
        let foreign_language = metadata.foreign_language();
        let mut cells = Vec::with_capacity(raw_cells.len());
        for (index, raw_cell) in raw_cells.iter().enumerate() {
            let number = index + 1;
            let cell: RawCell<'_> = serde_json::from_str(raw_cell.get())
                .map_err(|error| format!("cell {number} is not a cell: {error}"))?;
            let Some(source) = cell.source else {
                return Err(format!("cell {number} has no `source`"));
            };
            let is_code = cell.cell_type.as_deref() == Some("code");
            let (text, tokens, is_list) = read_source(&raw, source, is_code)
                .map_err(|problem| format!("cell {number}: `source` {problem}"))?;
            let kind = if is_code && is_python_cell(&text) {
                CellKind::Python
            } else {
                CellKind::Other
            };
            cells.push(Cell {
                kind,
                text,
                tokens,
                is_list,
            });
        }
        Ok(Self {
            raw,
            cells,
            foreign_language,
            newlines: std::sync::OnceLock::new(),
        })
    }

    /// The notebook an editor's cells make, `(text, code cell in Python)` in order, with the
    /// notebook's metadata (the kernel's language); the cells are taken as they are, no JSON
    /// read. Its JSON form is written alongside, one string per cell, for fixes to be written
    /// into.
    pub fn from_cells<'a>(
        cells: impl IntoIterator<Item = (&'a str, bool)>,
        metadata: Option<serde_json::Value>,
    ) -> Self {
        let metadata: Metadata = metadata
            .and_then(|metadata| serde_json::from_value(metadata).ok())
            .unwrap_or_default();
        let mut raw = String::from("{\"cells\": [");
        let cells = cells
            .into_iter()
            .enumerate()
            .map(|(index, (text, python))| {
                let cell_type = if python { "code" } else { "markdown" };
                let separator = if index == 0 { "" } else { ", " };
                raw.push_str(&format!(
                    "{separator}{{\"cell_type\": \"{cell_type}\", \"source\": "
                ));
                let start = raw.len();
                raw.push_str(&json_string(text));
                let token = start..raw.len();
                raw.push('}');
                let kind = if python && is_python_cell(text) {
                    CellKind::Python
                } else {
                    CellKind::Other
                };
                Cell {
                    kind,
                    text: text.to_string(),
                    tokens: vec![token],
                    is_list: false,
                }
            })
            .collect();
        raw.push_str("], \"metadata\": {}, \"nbformat\": 4, \"nbformat_minor\": 5}");
        Self {
            raw,
            cells,
            foreign_language: metadata.foreign_language(),
            newlines: std::sync::OnceLock::new(),
        }
    }

    /// The text of the JSON file.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The Python cells' code as one source, each cell on its own lines; `skip` leaves cells
    /// out (those that do not parse; sorted), keeping the others' numbering.
    pub fn source(&self, skip: &[usize]) -> NotebookSource {
        let mut source = NotebookSource::default();
        for (index, cell) in self.cells.iter().enumerate() {
            if cell.kind != CellKind::Python || skip.binary_search(&index).is_ok() {
                continue;
            }
            let start = source.text.len();
            source.text.push_str(&cell.text);
            source.cells.push((index, start..source.text.len()));
            if !cell.text.ends_with(['\n', '\r']) {
                source.text.push('\n');
            }
        }
        source
    }

    /// The indices of the Python cells.
    pub fn python_cells(&self) -> impl Iterator<Item = usize> + '_ {
        self.cells
            .iter()
            .enumerate()
            .filter(|(_, cell)| cell.kind == CellKind::Python)
            .map(|(index, _)| index)
    }

    /// The source text of cell `index`.
    pub fn cell_text(&self, index: usize) -> &str {
        self.cells.get(index).map_or("", |cell| cell.text.as_str())
    }

    /// Where the line `line` (1-based) of cell `index` is written in the JSON file: its line
    /// there (1-based), for formats that point into the file itself.
    pub fn file_line(&self, index: usize, line: usize) -> usize {
        let Some(cell) = self.cells.get(index) else {
            return 1;
        };
        let token = if cell.is_list {
            cell.tokens
                .get(line.saturating_sub(1))
                .or(cell.tokens.last())
        } else {
            cell.tokens.first()
        };
        let offset = token.map_or(0, |token| token.start);
        let newlines = self
            .newlines
            .get_or_init(|| memchr::memchr_iter(b'\n', self.raw.as_bytes()).collect());
        newlines.partition_point(|&newline| newline < offset) + 1
    }

    /// The JSON text with the cells in `edited` (index, new source) written in, changing only
    /// the characters of their `source` strings that differ. When a fix joins or splits lines
    /// of a cell stored as a list, that cell's list is written anew, laid out as it was.
    pub fn with_sources(&self, edited: &[(usize, String)]) -> String {
        let mut replacements: Vec<(Range<usize>, String)> = Vec::new();
        for (index, new_text) in edited {
            let Some(cell) = self.cells.get(*index) else {
                continue;
            };
            if &cell.text == new_text {
                continue;
            }
            replacements.extend(cell.replacements(&self.raw, new_text));
        }
        replacements.sort_by_key(|(range, _)| range.start);
        let mut written = String::with_capacity(self.raw.len());
        let mut copied = 0;
        for (range, text) in replacements {
            written.push_str(&self.raw[copied..range.start]);
            written.push_str(&text);
            copied = range.end;
        }
        written.push_str(&self.raw[copied..]);
        written
    }
}

impl Cell {
    /// The replacements in the JSON text that turn this cell's source into `new_text`.
    fn replacements(&self, raw: &str, new_text: &str) -> Vec<(Range<usize>, String)> {
        let old_lines = split_lines(&self.text);
        let new_lines = split_lines(new_text);
        if !self.is_list || old_lines.len() != new_lines.len() {
            if self.is_list {
                // Lines were joined or split: write the whole list, laid out as it was.
                return vec![(self.list_range(raw), self.relayout(raw, &new_lines))];
            }
            let token = self.tokens[0].clone();
            return vec![(token.clone(), edit_token(&raw[token], &self.text, new_text))];
        }
        old_lines
            .iter()
            .zip(&new_lines)
            .zip(&self.tokens)
            .filter(|((old, new), _)| old != new)
            .map(|((old, new), token)| (token.clone(), edit_token(&raw[token.clone()], old, new)))
            .collect()
    }

    /// From the first token to the last, for a list of string tokens.
    fn list_range(&self, _raw: &str) -> Range<usize> {
        let start = self.tokens.first().map_or(0, |token| token.start);
        let end = self.tokens.last().map_or(start, |token| token.end);
        start..end
    }

    /// The tokens of `lines`, separated as the first two tokens of the cell were.
    fn relayout(&self, raw: &str, lines: &[&str]) -> String {
        let separator = match self.tokens.as_slice() {
            [first, second, ..] => &raw[first.end..second.start],
            _ => ",\n",
        };
        lines
            .iter()
            .map(|line| json_string(line))
            .collect::<Vec<_>>()
            .join(separator)
    }
}

/// `text` split after each line break, as notebooks store source lines.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => {
                lines.push(&text[start..=index]);
                start = index + 1;
            }
            b'\r' => {
                let end = if bytes.get(index + 1) == Some(&b'\n') {
                    index + 1
                } else {
                    index
                };
                lines.push(&text[start..=end]);
                start = end + 1;
                index = end;
            }
            _ => {}
        }
        index += 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// The JSON string token `token`, which encodes `old`, edited to encode `new`: the characters
/// both share at the start and at the end keep their written form (escapes included); only
/// the middle is encoded anew.
fn edit_token(token: &str, old: &str, new: &str) -> String {
    let Some(offsets) = decoded_offsets(token) else {
        return json_string(new);
    };
    let prefix = old
        .char_indices()
        .zip(new.chars())
        .take_while(|((_, a), b)| a == b)
        .last()
        .map_or(0, |((at, c), _)| at + c.len_utf8());
    let suffix = old[prefix..]
        .chars()
        .rev()
        .zip(new[prefix..].chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(c, _)| c.len_utf8())
        .sum::<usize>();
    let old_middle_end = old.len() - suffix;
    let new_middle = &new[prefix..new.len() - suffix];
    let (Some(raw_start), Some(raw_end)) = (offsets.get(&prefix), offsets.get(&old_middle_end))
    else {
        return json_string(new);
    };
    let encoded = json_string(new_middle);
    format!(
        "{}{}{}",
        &token[..*raw_start],
        &encoded[1..encoded.len() - 1],
        &token[*raw_end..]
    )
}

/// For a JSON string token, the offset in the token of each character boundary of the decoded
/// string (decoded offset → token offset), the closing quote included.
fn decoded_offsets(token: &str) -> Option<std::collections::HashMap<usize, usize>> {
    let bytes = token.as_bytes();
    let mut offsets = std::collections::HashMap::new();
    let mut decoded = 0usize;
    let mut index = 1;
    while index < bytes.len() - 1 {
        offsets.insert(decoded, index);
        if bytes[index] == b'\\' {
            let escape = *bytes.get(index + 1)?;
            if escape == b'u' {
                let code = u32::from_str_radix(token.get(index + 2..index + 6)?, 16).ok()?;
                if (0xD800..0xDC00).contains(&code) {
                    // A surrogate pair: one character of four UTF-8 bytes.
                    let low = u32::from_str_radix(token.get(index + 8..index + 12)?, 16).ok()?;
                    let c = char::from_u32(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))?;
                    decoded += c.len_utf8();
                    index += 12;
                } else {
                    decoded += char::from_u32(code)?.len_utf8();
                    index += 6;
                }
            } else {
                decoded += 1;
                index += 2;
            }
        } else {
            let c = token[index..].chars().next()?;
            decoded += c.len_utf8();
            index += c.len_utf8();
        }
    }
    offsets.insert(decoded, index);
    Some(offsets)
}

/// `text` as a JSON string, escaping only what JSON requires, as Jupyter writes notebooks.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// The text of a `source` value and the places of its string tokens; why it has none: it is
/// neither a string nor a list of strings, or a code cell's holds an escaped lone surrogate
/// (`"\ud800"`: valid JSON, which Python's `json` reads, but no text CPython can compile).
/// In other cells, which are not checked, a lone surrogate is read as U+FFFD.
fn read_source(
    raw: &str,
    source: &RawValue,
    is_code: bool,
) -> Result<(String, Vec<Range<usize>>, bool), String> {
    const NOT_TEXT: &str = "is neither a string nor a list of strings";
    let written = source.get();
    let place = |token: &str| {
        let start = token.as_ptr() as usize - raw.as_ptr() as usize;
        start..start + token.len()
    };
    let decode = |token: &str| -> Result<String, String> {
        match serde_json::from_str::<String>(token) {
            Ok(text) => Ok(text),
            Err(_) if !token.starts_with('"') => Err(NOT_TEXT.to_string()),
            Err(error) => match lone_surrogate(token) {
                Some(escape) if is_code => Err(format!(
                    "holds `{escape}`, an escaped lone surrogate: valid JSON, but not text \
                     Python can compile (UnicodeEncodeError: surrogates not allowed)"
                )),
                Some(_) => serde_json::from_str(&without_lone_surrogates(token))
                    .map_err(|error| format!("is not a valid string: {error}")),
                None => Err(format!("is not a valid string: {error}")),
            },
        }
    };
    if written.starts_with('"') {
        let text = decode(written)?;
        return Ok((text, vec![place(written)], false));
    }
    let lines: Vec<&RawValue> = serde_json::from_str(written).map_err(|_| NOT_TEXT.to_string())?;
    let mut text = String::new();
    let mut tokens = Vec::with_capacity(lines.len());
    for line in lines {
        if !line.get().starts_with('"') {
            return Err(NOT_TEXT.to_string());
        }
        text.push_str(&decode(line.get())?);
        tokens.push(place(line.get()));
    }
    Ok((text, tokens, true))
}

/// The `\uXXXX` escapes of a JSON string token, with where each starts and its code unit.
fn unicode_escapes(token: &str) -> impl Iterator<Item = (usize, u32)> + '_ {
    let bytes = token.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            if bytes[at] != b'\\' {
                at += 1;
                continue;
            }
            let start = at;
            at += 2;
            if bytes.get(start + 1) == Some(&b'u')
                && let Some(unit) = token
                    .get(start + 2..start + 6)
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            {
                at = start + 6;
                return Some((start, unit));
            }
        }
        None
    })
}

/// The ranges of the escapes in `token` that are lone surrogates (a high one not followed by
/// a low one, or a low one alone).
fn lone_surrogates(token: &str) -> Vec<Range<usize>> {
    let escapes: Vec<(usize, u32)> = unicode_escapes(token).collect();
    let mut lone = Vec::new();
    let mut index = 0;
    while index < escapes.len() {
        let (start, unit) = escapes[index];
        let paired = (0xD800..=0xDBFF).contains(&unit)
            && escapes
                .get(index + 1)
                .is_some_and(|&(next, low)| next == start + 6 && (0xDC00..=0xDFFF).contains(&low));
        if paired {
            index += 2;
            continue;
        }
        if (0xD800..=0xDFFF).contains(&unit) {
            lone.push(start..start + 6);
        }
        index += 1;
    }
    lone
}

/// The first lone surrogate escape of `token`, as written.
fn lone_surrogate(token: &str) -> Option<&str> {
    lone_surrogates(token)
        .first()
        .and_then(|range| token.get(range.clone()))
}

/// `token` with each lone surrogate escape written as U+FFFD's.
fn without_lone_surrogates(token: &str) -> String {
    let mut text = token.to_string();
    for range in lone_surrogates(token).into_iter().rev() {
        text.replace_range(range, "\\ufffd");
    }
    text
}

/// Whether a code cell is Python: not one that starts with a cell magic of another language.
fn is_python_cell(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    match first.strip_prefix("%%") {
        Some(magic) => {
            let name = magic.split_whitespace().next().unwrap_or_default();
            PYTHON_CELL_MAGICS.contains(&name)
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTEBOOK: &str = r##"{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": ["# Title\n", "caf\u00e9"]
  },
  {
   "cell_type": "code",
   "execution_count": null,
   "metadata": {},
   "outputs": [],
   "source": [
    "import torch.nn as nn\n",
    "m = nn.Linear(1, 1)  # caf\u00e9\n",
    "y = m.forward(x)"
   ]
  },
  {
   "cell_type": "code",
   "metadata": {},
   "outputs": [],
   "source": "%%bash\nls"
  },
  {
   "cell_type": "code",
   "metadata": {},
   "outputs": [],
   "source": "%%time\nz = m.forward(y)\n"
  }
 ],
 "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}"##;

    #[test]
    fn python_cells_make_one_source_and_offsets_find_their_cell() {
        let notebook = Notebook::parse(NOTEBOOK.to_string()).expect("valid");
        assert_eq!(notebook.python_cells().collect::<Vec<_>>(), [1, 3]);
        let source = notebook.source(&[]);
        assert_eq!(
            source.text,
            "import torch.nn as nn\nm = nn.Linear(1, 1)  # café\ny = m.forward(x)\n%%time\nz = m.forward(y)\n"
        );
        let second = source.text.find("%%time").expect("cell 4");
        assert_eq!(source.cell_at(second + 10), Some((3, second)));
        assert_eq!(source.cell_at(3), Some((1, 0)));
        assert_eq!(notebook.file_line(1, 3), 16);
        assert!(notebook.foreign_language.is_none());
    }

    #[test]
    fn fixes_change_only_the_characters_they_change() {
        let notebook = Notebook::parse(NOTEBOOK.to_string()).expect("valid");
        let written = notebook.with_sources(&[
            (
                1,
                "import torch.nn as nn\nm = nn.Linear(1, 1)  # café\ny = m(x)".to_string(),
            ),
            (3, "%%time\nz = m(y)\n".to_string()),
        ]);
        let expected = NOTEBOOK
            .replace("\"y = m.forward(x)\"", "\"y = m(x)\"")
            .replace("z = m.forward(y)", "z = m(y)");
        assert_eq!(written, expected);
        // The escape `\u00e9` of the untouched line stays as written.
        assert!(written.contains(r"caf\u00e9\n"));
    }

    #[test]
    fn an_editors_cells_make_the_notebook_the_file_would() {
        let parsed = Notebook::parse(NOTEBOOK.to_string()).expect("valid");
        let cells = [0, 1, 2, 3].map(|cell| (parsed.cell_text(cell), cell != 0));
        let metadata = serde_json::json!({"kernelspec": {"language": "python"}});
        let made = Notebook::from_cells(cells, Some(metadata));
        assert_eq!(made.python_cells().collect::<Vec<_>>(), [1, 3]);
        assert_eq!(made.source(&[]).text, parsed.source(&[]).text);
        assert!(made.foreign_language.is_none());
        // Fixes are written into its JSON form, which reads back as the fixed cells.
        let written = made.with_sources(&[(3, "%%time\nz = m(\"é\")\n".to_string())]);
        let fixed = Notebook::parse(written).expect("valid JSON");
        assert_eq!(fixed.cell_text(3), "%%time\nz = m(\"é\")\n");
        assert_eq!(fixed.cell_text(1), parsed.cell_text(1));
        let r = serde_json::json!({"language_info": {"name": "R"}});
        let foreign = Notebook::from_cells([("x <- 1", true)], Some(r));
        assert_eq!(foreign.foreign_language.as_deref(), Some("R"));
    }

    #[test]
    fn bad_notebooks_say_what_is_wrong() {
        for (text, problem) in [
            ("{", "not valid JSON"),
            (r#"{"nbformat": 3, "worksheets": []}"#, "nbformat 3"),
            (
                r#"{"nbformat": 5, "cells": []}"#,
                "nbformat 5 notebooks are not read",
            ),
            ("\u{feff}{\"cells\": []}", "byte-order mark (BOM)"),
            (r#"{"metadata": {}}"#, "no `cells`"),
            (
                r#"{"cells": [{"cell_type": "code", "source": 3}]}"#,
                "neither a string nor a list",
            ),
            (
                r#"{"cells": [{"cell_type": "code", "source": ["a", 1]}]}"#,
                "neither a string nor a list",
            ),
        ] {
            let error = Notebook::parse(text.to_string()).expect_err(text);
            assert!(error.contains(problem), "{text}: {error}");
        }
    }

    #[test]
    fn a_lone_surrogate_is_named_in_code_and_replaced_elsewhere() {
        let error = Notebook::parse(
            r#"{"cells": [{"cell_type": "code", "source": ["x = 1\n", "s = '\ud800'\n"]}], "nbformat": 4}"#
                .to_string(),
        )
        .expect_err("a lone surrogate in code");
        assert_eq!(
            error,
            "cell 1: `source` holds `\\ud800`, an escaped lone surrogate: valid JSON, but not text \
             Python can compile (UnicodeEncodeError: surrogates not allowed)"
        );
        // A pair is a character; `\\ud800` (an escaped backslash) is text.
        let notebook = Notebook::parse(
            r#"{"cells": [{"cell_type": "markdown", "source": "a \udc00 b \ud83d\ude00"},
                          {"cell_type": "code", "source": "s = '\\ud800 \ud83d\ude00'"}],
                "nbformat": 4}"#
                .to_string(),
        )
        .expect("readable");
        assert_eq!(notebook.cell_text(0), "a \u{fffd} b \u{1f600}");
        assert_eq!(notebook.cell_text(1), "s = '\\ud800 \u{1f600}'");
    }

    #[test]
    fn kernels_of_other_languages_are_recognised() {
        let notebook = Notebook::parse(
            r#"{"cells": [], "metadata": {"kernelspec": {"language": "R"}}, "nbformat": 4}"#
                .to_string(),
        )
        .expect("valid");
        assert_eq!(notebook.foreign_language.as_deref(), Some("R"));
    }
}
