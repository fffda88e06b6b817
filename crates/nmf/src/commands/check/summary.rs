//! The lines that end a check in the text formats, worded as ruff 0.17 words them: how many
//! findings, how many `--fix` would repair, and how many more `--unsafe-fixes` would; after
//! `--fix-only` and `--diff`, what was (or would be) fixed and what was left for unsafe fixes.

use std::io::{self, Write};

use nmf_driver::check::message::Message;
use nmf_driver::run::FixMode;
use nmf_linter::render::printable;
use ruff_diagnostics::Applicability;

/// Whether unsafe fixes apply, and if not, whether to mention them (ruff's `UnsafeFixes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsafeFixes {
    /// `--unsafe-fixes` or `unsafe-fixes = true`.
    Enabled,
    /// Neither said: the summary counts what `--unsafe-fixes` would add.
    Hint,
    /// `--no-unsafe-fixes` or `unsafe-fixes = false`: not mentioned.
    Disabled,
}

impl UnsafeFixes {
    pub fn required_applicability(self) -> Applicability {
        match self {
            Self::Enabled => Applicability::Unsafe,
            Self::Hint | Self::Disabled => Applicability::Safe,
        }
    }
}

/// What the summary is about.
pub struct Summary<'a> {
    /// The findings left.
    pub remaining: &'a [Message],
    /// How many findings were fixed (or, with `--diff`, would be).
    pub fixed: usize,
    pub fix: FixMode,
    /// The findings are not listed (`--fix-only`, `--diff`): the summary is about fixes.
    pub fixes_only: bool,
    pub unsafe_fixes: UnsafeFixes,
    pub color: bool,
}

/// The fixes among the findings left: those that apply, and the unsafe ones that do not.
struct Fixable {
    applicable: usize,
    unsafe_only: usize,
}

impl Summary<'_> {
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let fixable = self.fixable();
        if self.fixes_only {
            return self.write_fixes(out, &fixable);
        }
        let remaining = self.remaining.len();
        let total = remaining + self.fixed;
        if self.fixed > 0 {
            writeln!(
                out,
                "Found {} ({} fixed, {remaining} remaining).",
                errors(total),
                self.fixed
            )?;
        } else if remaining > 0 {
            writeln!(out, "Found {}.", errors(remaining))?;
        } else if self.color {
            writeln!(out, "\x1b[1;32mAll checks passed!\x1b[0m")?;
        } else {
            writeln!(out, "All checks passed!")?;
        }
        let star = if self.color {
            "[\x1b[36m*\x1b[0m]"
        } else {
            "[*]"
        };
        let hint = self.unsafe_fixes == UnsafeFixes::Hint && fixable.unsafe_only > 0;
        let unsafe_fixes = |count: usize| {
            format!(
                "{count} unsafe fix{} available with `--fix --unsafe-fixes`",
                es(count)
            )
        };
        match (fixable.applicable, hint) {
            (0, false) => Ok(()),
            (0, true) => writeln!(out, "{}.", unsafe_fixes(fixable.unsafe_only)),
            (applicable, false) => writeln!(out, "{star} {applicable} fixable with `--fix`."),
            (applicable, true) => writeln!(
                out,
                "{star} {applicable} fixable with `--fix` ({}).",
                unsafe_fixes(fixable.unsafe_only)
            ),
        }
    }

    /// After `--fix-only` or `--diff`.
    fn write_fixes(&self, out: &mut dyn Write, fixable: &Fixable) -> io::Result<()> {
        let applied = self.fix == FixMode::Apply;
        let unapplied = if self.unsafe_fixes == UnsafeFixes::Hint {
            fixable.unsafe_only
        } else {
            0
        };
        let fixed = errors(self.fixed);
        match (self.fixed, unapplied, applied) {
            (0, 0, _) => Ok(()),
            (0, unapplied, true) => writeln!(
                out,
                "No errors fixed ({unapplied} fix{} available with `--unsafe-fixes`).",
                es(unapplied)
            ),
            (0, unapplied, false) => writeln!(
                out,
                "No errors would be fixed ({unapplied} fix{} available with `--unsafe-fixes`).",
                es(unapplied)
            ),
            (_, 0, true) => writeln!(out, "Fixed {fixed}."),
            (_, 0, false) => writeln!(out, "Would fix {fixed}."),
            (_, unapplied, applied) => writeln!(
                out,
                "{} {fixed} ({unapplied} additional fix{} available with `--unsafe-fixes`).",
                if applied { "Fixed" } else { "Would fix" },
                es(unapplied)
            ),
        }
    }

    fn fixable(&self) -> Fixable {
        let required = self.unsafe_fixes.required_applicability();
        let mut fixable = Fixable {
            applicable: 0,
            unsafe_only: 0,
        };
        for message in self.remaining {
            if message.is_fixable(required) {
                fixable.applicable += 1;
            } else if message.is_fixable(Applicability::Unsafe) {
                fixable.unsafe_only += 1;
            }
        }
        fixable
    }
}

/// `--show-fixes`: per file, how many fixes of each rule were applied (most first), as ruff
/// lists them.
pub fn write_fixes_applied(
    out: &mut dyn Write,
    fixed: &[(String, Vec<&'static str>)],
    color: bool,
) -> io::Result<()> {
    let total: usize = fixed.iter().map(|(_, codes)| codes.len()).sum();
    let mut tables = Vec::new();
    for (path, codes) in fixed {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for code in codes {
            match counts.iter_mut().find(|(known, _)| known == code) {
                Some((_, count)) => *count += 1,
                None => counts.push((code, 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        tables.push((path, counts));
    }
    let width = tables
        .iter()
        .flat_map(|(_, counts)| counts.iter().map(|(_, count)| count.to_string().len()))
        .max()
        .unwrap_or(1);
    let (bold_green, cyan, bold, red, reset) = if color {
        ("\x1b[1;32m", "\x1b[36m", "\x1b[1m", "\x1b[1;31m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    writeln!(out, "{bold_green}Fixed {}:{reset}", errors(total))?;
    for (path, counts) in tables {
        writeln!(
            out,
            "{cyan}-{reset} {bold}{}{reset}{cyan}:{reset}",
            printable(path)
        )?;
        for (code, count) in counts {
            let name = nmf_linter::registry::find_rule(code).map_or("", |rule| rule.name);
            writeln!(out, "    {count:>width$} × {red}{code}{reset} ({name})")?;
        }
    }
    Ok(())
}

/// `1 error`, `2 errors`.
pub fn errors(count: usize) -> String {
    format!("{count} error{}", if count == 1 { "" } else { "s" })
}

fn es(count: usize) -> &'static str {
    if count == 1 { "" } else { "es" }
}
