//! `--show-files` and `--show-settings`: what a check would read, and with which settings.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nmf_driver::settings::SettingsResolver;
use nmf_driver::settings::config::{FilePatterns, Settings};
use nmf_driver::settings::discover::{absolutize, discover};

use crate::args::CheckArgs;
use crate::commands::check::Output;
use crate::{EXIT_CLEAN, Error};

/// The files a check of `paths` would read, one absolute path a line, sorted (as ruff prints
/// them); paths that do not exist are left out and named on stderr.
pub fn files(
    args: &CheckArgs,
    paths: &[PathBuf],
    resolver: &Arc<SettingsResolver>,
) -> Result<u8, Error> {
    let discovered = discover(paths, resolver)?;
    let mut output = Output::open(args.output_file.as_deref(), resolver.working_dir())?;
    for file in &discovered.files {
        if let Err(error) = std::fs::symlink_metadata(file) {
            eprintln!("nmf: warning: {}: {error}", file.display());
            continue;
        }
        writeln!(output.writer, "{}", file.display())?;
    }
    output.writer.flush()?;
    Ok(EXIT_CLEAN)
}

/// For each path named (standard input by its `--stdin-filename`), the configuration file that
/// applies to it and the settings resolved from it and the command line.
pub fn settings(
    args: &CheckArgs,
    paths: &[PathBuf],
    reads_stdin: bool,
    resolver: &SettingsResolver,
) -> Result<u8, Error> {
    let named: Vec<PathBuf> = if reads_stdin {
        vec![
            args.stdin_filename
                .clone()
                .unwrap_or_else(|| PathBuf::from("-")),
        ]
    } else {
        paths.to_vec()
    };
    let mut output = Output::open(args.output_file.as_deref(), resolver.working_dir())?;
    for (index, path) in named.iter().enumerate() {
        let absolute = absolutize(path, resolver.working_dir());
        let settings = if absolute.is_dir() {
            resolver.for_folder(&absolute)?
        } else {
            resolver.for_file(&absolute)?
        };
        if index > 0 {
            writeln!(output.writer)?;
        }
        write_settings(&mut *output.writer, &absolute, &settings)?;
    }
    output.writer.flush()?;
    Ok(EXIT_CLEAN)
}

fn write_settings(out: &mut dyn Write, path: &Path, settings: &Settings) -> std::io::Result<()> {
    writeln!(out, "Resolved settings for: {}", quoted(path))?;
    match &settings.config_file {
        Some(file) => writeln!(out, "Settings path: {}", quoted(file))?,
        None => writeln!(
            out,
            "Settings path: none (no configuration file applies: the defaults)"
        )?,
    }
    writeln!(out)?;
    writeln!(out, "# General Settings")?;
    writeln!(out, "cache_dir = {}", quoted(&settings.cache_dir))?;
    writeln!(out, "fix = {}", settings.fix)?;
    writeln!(out, "unsafe_fixes = {}", settings.unsafe_fixes)?;
    let format = nmf_driver::settings::config::OutputFormat::ALL
        .iter()
        .find(|(_, format)| *format == settings.output_format)
        .map_or("concise", |(name, _)| name);
    writeln!(out, "output_format = {format}")?;
    writeln!(out)?;
    writeln!(out, "# File Resolver Settings")?;
    write_list(
        out,
        "file_resolver.exclude",
        &pattern_texts(&settings.exclude),
    )?;
    write_list(
        out,
        "file_resolver.include",
        &pattern_texts(&settings.include),
    )?;
    writeln!(
        out,
        "file_resolver.respect_gitignore = {}",
        settings.respect_gitignore
    )?;
    writeln!(
        out,
        "file_resolver.force_exclude = {}",
        settings.force_exclude
    )?;
    writeln!(
        out,
        "file_resolver.project_root = {}",
        quoted(&settings.root)
    )?;
    writeln!(out)?;
    writeln!(out, "# Linter Settings")?;
    // A file's rules are those left after its `per-file-ignores`.
    let rules = if path.is_dir() {
        settings.linter.rules
    } else {
        settings.linter_for(path).rules
    };
    let enabled: Vec<String> = rules
        .iter()
        .map(|rule| format!("{} ({})", rule.name, rule.code))
        .collect();
    write_list(out, "linter.rules.enabled", &enabled)?;
    let ignores: Vec<String> = settings
        .per_file_ignores
        .patterns
        .iter()
        .zip(&settings.per_file_ignored_rules)
        .map(|(pattern, rules)| {
            let codes: Vec<&str> = rules.iter().map(|rule| rule.code).collect();
            format!("{} = [{}]", quote_text(&pattern.pattern), codes.join(", "))
        })
        .collect();
    write_list(out, "linter.per_file_ignores", &ignores)?;
    writeln!(
        out,
        "linter.known_modules_only = {}",
        settings.linter.known_modules_only
    )?;
    let packages: Vec<String> = settings
        .linter
        .not_module_packages
        .iter()
        .map(|package| quote_text(package))
        .collect();
    write_list(out, "linter.not_module_packages", &packages)?;
    let import_paths: Vec<String> = settings
        .import_paths
        .iter()
        .map(|path| quoted(path))
        .collect();
    write_list(out, "linter.import_paths", &import_paths)
}

/// `key = [` one item a line, tab-indented, `]`; `key = []` when empty (ruff's layout).
fn write_list(out: &mut dyn Write, key: &str, items: &[String]) -> std::io::Result<()> {
    if items.is_empty() {
        return writeln!(out, "{key} = []");
    }
    writeln!(out, "{key} = [")?;
    for item in items {
        writeln!(out, "\t{item},")?;
    }
    writeln!(out, "]")
}

fn pattern_texts(patterns: &FilePatterns) -> Vec<String> {
    patterns
        .patterns
        .iter()
        .map(|pattern| quote_text(&pattern.pattern))
        .collect()
}

fn quoted(path: &Path) -> String {
    quote_text(&path.to_string_lossy())
}

/// Text in double quotes, escaped as JSON escapes it (control characters included).
fn quote_text(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}
