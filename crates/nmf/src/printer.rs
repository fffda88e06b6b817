//! Findings in every output format nmf offers.

use std::collections::BTreeMap;
use std::io::{self, Write};

use nmf_driver::check::message::{ExplanationReport, Message, code_frames};
use nmf_driver::settings::config::OutputFormat;
use nmf_linter::diagnostic::error_codes;
use nmf_linter::registry::{ALL_RULES, RuleInfo};
use nmf_linter::render::{FrameOptions, printable};
use ruff_diagnostics::Applicability;
use serde_json::{Value, json};

/// Terminal styles, empty when colour is off.
struct Style {
    bold: &'static str,
    cyan: &'static str,
    red: &'static str,
    reset: &'static str,
}

impl Style {
    fn new(color: bool) -> Self {
        if color {
            Self {
                bold: "\x1b[1m",
                cyan: "\x1b[36m",
                red: "\x1b[1;31m",
                reset: "\x1b[0m",
            }
        } else {
            Self {
                bold: "",
                cyan: "",
                red: "",
                reset: "",
            }
        }
    }
}

/// Writes the findings in `format`.
pub fn print_messages(
    out: &mut dyn Write,
    messages: &[Message],
    format: OutputFormat,
    style: PrintStyle,
) -> io::Result<()> {
    match format {
        OutputFormat::Concise => concise(out, messages, style.color),
        OutputFormat::Full => full(out, messages, style),
        OutputFormat::Json => {
            let list: Vec<Value> = messages.iter().map(message_json).collect();
            serde_json::to_writer_pretty(&mut *out, &list)?;
            writeln!(out)
        }
        OutputFormat::JsonLines => {
            for message in messages {
                serde_json::to_writer(&mut *out, &message_json(message))?;
                writeln!(out)?;
            }
            Ok(())
        }
        OutputFormat::Github => github(out, messages),
        OutputFormat::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif(messages))?;
            writeln!(out)
        }
    }
}

/// flake8's default format: `path:line:col: CODE message`; in a notebook, ruff's
/// `path:cell N:line:col: CODE message`, the line and column within the cell.
fn concise(out: &mut dyn Write, messages: &[Message], color: bool) -> io::Result<()> {
    let s = Style::new(color);
    for m in messages {
        let cell = m
            .cell
            .map(|cell| format!("{}cell {cell}{}:", s.reset, s.cyan))
            .unwrap_or_default();
        writeln!(
            out,
            "{}{}{}{}:{cell}{}{}{}:{}{}:{} {}{}{} {}",
            s.bold,
            printable(&m.path),
            s.reset,
            s.cyan,
            s.reset,
            m.start.line,
            s.cyan,
            s.reset,
            m.start.column,
            s.reset,
            s.red,
            m.code,
            s.reset,
            printable(&m.message)
        )?;
    }
    Ok(())
}

/// Where a finding is, as text: `path:line:col`, or `path:cell N:line:col` in a notebook.
fn place(m: &Message) -> String {
    match m.cell {
        Some(cell) => format!("{}:cell {cell}:{}:{}", m.path, m.start.line, m.start.column),
        None => format!("{}:{}:{}", m.path, m.start.line, m.start.column),
    }
}

/// How text output looks.
#[derive(Debug, Clone, Copy)]
pub struct PrintStyle {
    pub color: bool,
    /// Unsafe fixes count as applicable (`--unsafe-fixes`).
    pub unsafe_fixes: bool,
}

impl PrintStyle {
    fn required_applicability(self) -> Applicability {
        if self.unsafe_fixes {
            Applicability::Unsafe
        } else {
            Applicability::Safe
        }
    }

    fn applies(self, m: &Message) -> bool {
        m.is_fixable(self.required_applicability())
    }
}

fn full(out: &mut dyn Write, messages: &[Message], style: PrintStyle) -> io::Result<()> {
    let color = style.color;
    let frames = code_frames(
        messages,
        FrameOptions {
            color,
            unsafe_fixes: style.unsafe_fixes,
        },
    );
    for (m, frame) in messages.iter().zip(frames) {
        match frame {
            Some(frame) => writeln!(out, "{frame}")?,
            // Unreadable files have no source to frame.
            None => {
                let s = Style::new(color);
                writeln!(
                    out,
                    "{}{}{} {}\n --> {}\n",
                    s.red,
                    m.code,
                    s.reset,
                    printable(&m.message),
                    printable(&place(m)),
                )?;
            }
        }
    }
    Ok(())
}

/// One line per code: count, code, `[*]` when `--fix` would repair some, rule name; in the
/// JSON formats, ruff's shape: a list of `{code, name, count, fixable}`.
pub fn print_statistics(
    out: &mut dyn Write,
    messages: &[Message],
    format: OutputFormat,
    style: PrintStyle,
) -> io::Result<()> {
    let mut counts: BTreeMap<&str, (usize, bool, &str)> = BTreeMap::new();
    for m in messages {
        let name = m
            .rule
            .map_or_else(|| error_codes::name(m.code), |rule| rule.name);
        let entry = counts.entry(m.code).or_insert((0, false, name));
        entry.0 += 1;
        entry.1 |= style.applies(m);
    }
    if matches!(format, OutputFormat::Json | OutputFormat::JsonLines) {
        let rows: Vec<Value> = counts
            .iter()
            .map(|(code, (count, fixable, name))| {
                json!({ "code": code, "name": name, "count": count, "fixable": fixable })
            })
            .collect();
        if format == OutputFormat::Json {
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            return writeln!(out);
        }
        for row in rows {
            serde_json::to_writer(&mut *out, &row)?;
            writeln!(out)?;
        }
        return Ok(());
    }
    let width = counts
        .values()
        .map(|(count, ..)| count.to_string().len())
        .max()
        .unwrap_or(1);
    for (code, (count, fixable, name)) in counts {
        let marker = if fixable { "[*]" } else { "[ ]" };
        writeln!(out, "{count:>width$}\t{code}\t{marker} {name}")?;
    }
    Ok(())
}

fn location_json(location: nmf_linter::render::Location) -> Value {
    json!({ "row": location.line, "column": location.column })
}

fn message_json(m: &Message) -> Value {
    json!({
        "code": m.code,
        "name": m.rule.map_or_else(|| error_codes::name(m.code), |rule| rule.name),
        "message": m.message,
        "filename": m.path,
        "location": location_json(m.start),
        "end_location": location_json(m.end),
        "noqa_row": m.start.line,
        "cell": m.cell,
        "fix": m.fix.as_ref().map(|fix| json!({
            "applicability": applicability_name(fix.applicability),
            "message": m.fix_title,
            "edits": fix.edits.iter().map(|edit| json!({
                "content": edit.content,
                "location": location_json(edit.start),
                "end_location": location_json(edit.end),
            })).collect::<Vec<_>>(),
        })),
        "url": m.rule.map(rule_url),
    })
}

/// The rule's section in `docs/rules.md`, with the anchor GitHub gives its heading.
fn rule_url(rule: &RuleInfo) -> String {
    format!(
        "https://github.com/mrsndmn/flake8-no-model-forward-call/blob/main/docs/rules.md#{}-{}",
        rule.name,
        rule.code.to_ascii_lowercase()
    )
}

/// GitHub Actions workflow commands: each finding becomes an annotation on the pull request.
/// In a notebook the annotation points at the line of the JSON file where the cell's source
/// line is written (what GitHub shows of the file), without columns, which the JSON escapes
/// would shift; the message names the cell, line and column.
fn github(out: &mut dyn Write, messages: &[Message]) -> io::Result<()> {
    for m in messages {
        let position = match (m.file_line, m.file_end_line) {
            (Some(line), Some(end_line)) => format!("line={line},endLine={end_line}"),
            _ => format!(
                "line={},col={},endLine={},endColumn={}",
                m.start.line, m.start.column, m.end.line, m.end.column
            ),
        };
        writeln!(
            out,
            "::error title=nmf ({code}),file={file},{position}::{place}: {code} {message}",
            code = m.code,
            file = escape_property(&printable(&m.path)),
            place = escape_data(&printable(&place(m))),
            message = escape_data(&printable(&m.message)),
        )?;
    }
    Ok(())
}

/// Escapes for the message part of a workflow command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes for a property of a workflow command.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A SARIF 2.1.0 log: one run, every rule described, one result per finding.
fn sarif(messages: &[Message]) -> Value {
    let rules: Vec<Value> = ALL_RULES
        .iter()
        .map(|rule| {
            let docs = crate::commands::rule::docs_markdown(rule);
            json!({
                "id": rule.code,
                "name": rule.name,
                "shortDescription": { "text": rule.summary() },
                "fullDescription": { "text": docs },
                "help": { "text": docs, "markdown": docs },
                "helpUri": rule_url(rule),
                "defaultConfiguration": { "level": "error" },
            })
        })
        .collect();
    let results: Vec<Value> = messages
        .iter()
        .map(|m| {
            // In a notebook, the lines of the JSON file (see `github`); the cell and the place
            // in it are properties.
            let region = match (m.file_line, m.file_end_line) {
                (Some(line), Some(end_line)) => json!({ "startLine": line, "endLine": end_line }),
                _ => json!({
                    "startLine": m.start.line,
                    "startColumn": m.start.column,
                    "endLine": m.end.line,
                    "endColumn": m.end.column,
                }),
            };
            let mut result = json!({
                "ruleId": m.code,
                "level": "error",
                "message": { "text": m.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_reference(&m.path) },
                        "region": region,
                    }
                }],
            });
            if let Some(cell) = m.cell {
                result["properties"] = json!({
                    "cell": cell,
                    "cellLine": m.start.line,
                    "cellColumn": m.start.column,
                });
            }
            if let Some(index) = ALL_RULES.iter().position(|rule| rule.code == m.code) {
                result["ruleIndex"] = json!(index);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "nmf",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/mrsndmn/flake8-no-model-forward-call",
                    "rules": rules,
                }
            },
            "results": results,
        }]
    })
}

/// As ruff spells applicability in JSON.
fn applicability_name(applicability: Applicability) -> &'static str {
    match applicability {
        Applicability::Safe => "safe",
        Applicability::Unsafe => "unsafe",
        Applicability::DisplayOnly => "display-only",
    }
}

/// A path as a relative URI reference (RFC 3986): `/` separates segments, and every byte other
/// than the unreserved characters is percent-encoded (`a,b:c%d.py` is `a%2Cb%3Ac%25d.py`).
fn uri_reference(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// `--show-receivers`: what the rules concluded at each place they looked, and whether it was
/// reported.
pub fn print_explanations(
    out: &mut dyn Write,
    explanations: &[ExplanationReport],
) -> io::Result<()> {
    for report in explanations {
        let explanation = &report.explanation;
        let outcome = match explanation.reported_as {
            Some(code) if explanation.suppressed => format!("{code} suppressed by noqa"),
            Some(code) => format!("reported as {code}"),
            None => "not reported".to_string(),
        };
        let cell = report
            .cell
            .map(|cell| format!("cell {cell}:"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}:{cell}{}:{}: {}: {outcome}",
            printable(&report.path),
            report.location.line,
            report.location.column,
            printable(&explanation.text),
        )?;
    }
    Ok(())
}
