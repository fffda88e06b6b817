//! `nmf check`: check paths or standard input and print the findings.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nmf_driver::cache::walk_record::discover_remembered;
use nmf_driver::check::CheckOptions;
use nmf_driver::run::{FixMode, RunOptions, RunResult, check_discovered, check_stdin, open_cache};
use nmf_driver::settings::config::{OutputFormat, Overrides};
use nmf_driver::settings::discover::{absolutize, discover};
use nmf_driver::settings::{ConfigSource, SettingsResolver};

use nmf_linter::render::printable;

use crate::args::{CheckArgs, ColorChoice};
use crate::printer::{PrintStyle, print_explanations, print_messages, print_statistics};
use crate::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, Error};

pub fn run(args: CheckArgs) -> Result<u8, Error> {
    let started = std::time::Instant::now();
    let working_dir = std::env::current_dir()?;
    let source = match (&args.config, args.isolated) {
        (Some(path), _) => ConfigSource::File(absolutize(path, &working_dir)),
        (None, true) => ConfigSource::Isolated,
        (None, false) => ConfigSource::Discover,
    };
    let overrides = Overrides {
        select: args.select.clone(),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
        exclude: args.exclude.clone(),
        extend_exclude: args.extend_exclude.clone(),
        per_file_ignores: args.per_file_ignores.clone(),
        output_format: args.output_format,
        known_modules_only: match (args.known_modules_only, args.no_known_modules_only) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        fix: flag(args.fix || args.fix_only, args.no_fix),
        unsafe_fixes: flag(args.unsafe_fixes, args.no_unsafe_fixes),
        force_exclude: args.force_exclude.then_some(true),
        cache_dir: args
            .cache_dir
            .as_ref()
            .map(|dir| absolutize(dir, &working_dir)),
    };
    let resolver = Arc::new(SettingsResolver::new(
        source,
        overrides,
        working_dir.clone(),
    )?);
    let global = resolver.global()?;
    let format = global.output_format;
    let color = use_color(args.color);
    let fix = if args.diff {
        FixMode::Diff
    } else if global.fix {
        FixMode::Apply
    } else {
        FixMode::Off
    };
    let options = RunOptions {
        check: CheckOptions {
            respect_noqa: true,
            prefilter: !args.no_prefilter,
        },
        frames: format == OutputFormat::Full,
        fix,
        unsafe_fixes: global.unsafe_fixes,
        explanations: args.show_receivers,
        cache: !args.no_cache,
    };

    // As in ruff, `--stdin-filename` alone means standard input too.
    let reads_stdin = args.paths.iter().any(|path| path == Path::new("-"))
        || (args.stdin_filename.is_some() && args.paths.is_empty());
    if args.stdin_filename.is_some() && !reads_stdin {
        eprintln!(
            "nmf: error: `--stdin-filename` names standard input, which cannot be combined with paths"
        );
        return Ok(EXIT_USAGE);
    }
    let result = if reads_stdin {
        if args.paths.len() > 1 {
            eprintln!("nmf: error: `-` (standard input) cannot be combined with other paths");
            return Ok(EXIT_USAGE);
        }
        let mut bytes = Vec::new();
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        check_stdin(bytes, args.stdin_filename.as_deref(), &resolver, options)?
    } else {
        let paths: Vec<PathBuf> = if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        };
        // The cache file is read while the folders are walked.
        let (discovered, cache) = std::thread::scope(|scope| {
            let cache = scope.spawn(|| open_cache(&resolver, options));
            // With the cache, a walk of an unchanged tree is taken from its record.
            let discovered = if options.cache {
                discover_remembered(&paths, &resolver, &global.cache_dir)
            } else {
                discover(&paths, &resolver)
            };
            let cache = cache
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (discovered, cache)
        });
        check_discovered(&discovered?, &resolver, options, cache)?
    };
    if args.verbose {
        eprintln!(
            "nmf: checked {} files ({} parsed, {} from the cache, the rest ruled out by the prefilter) in {:.1?}",
            result.files_checked,
            result.files_parsed,
            result.files_cached,
            started.elapsed()
        );
        for skipped in &result.skipped {
            eprintln!("nmf: {}", nmf_linter::render::printable(skipped));
        }
    }
    report(&args, &result, &options, format, color)
}

/// A `--flag` / `--no-flag` pair: `None` when neither was given.
fn flag(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

fn report(
    args: &CheckArgs,
    result: &RunResult,
    options: &RunOptions,
    format: OutputFormat,
    color: bool,
) -> Result<u8, Error> {
    let mut stderr = std::io::stderr().lock();
    for error in result.errors.iter().chain(&result.fix_errors) {
        writeln!(stderr, "nmf: error: {}", printable(error))?;
    }
    for warning in &result.warnings {
        writeln!(stderr, "nmf: warning: {}", printable(warning))?;
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let fixed_count: usize = result.fixed.iter().map(|(_, codes)| codes.len()).sum();
    let usage_error = !result.errors.is_empty();

    if options.fix == FixMode::Diff {
        for diff in &result.diffs {
            write!(stdout, "{diff}")?;
        }
        stdout.flush()?;
        if !args.quiet && fixed_count > 0 {
            writeln!(stderr, "Would fix {}.", errors(fixed_count))?;
        }
        return Ok(if usage_error {
            EXIT_USAGE
        } else if result.diffs.is_empty() {
            EXIT_CLEAN
        } else {
            EXIT_FINDINGS
        });
    }

    // With standard input and `--fix`, stdout carries the source; the findings go to stderr.
    let findings_out: &mut dyn Write = if result.stdin_output.is_some() {
        &mut stderr
    } else {
        &mut stdout
    };
    let style = PrintStyle {
        color,
        quiet: args.quiet,
        unsafe_fixes: options.unsafe_fixes,
    };
    if args.fix_only {
        // Nothing but the fixes.
    } else if args.statistics {
        print_statistics(findings_out, &result.messages, format, style)?;
    } else {
        print_messages(findings_out, &result.messages, format, style)?;
    }
    if args.show_receivers {
        print_explanations(&mut stdout, &result.explanations)?;
    }
    if let Some(source) = &result.stdin_output {
        stdout.write_all(source)?;
    }
    stdout.flush()?;
    drop(stdout);

    if options.fix == FixMode::Apply && !args.quiet {
        // The summary goes where it cannot be mistaken for findings or source.
        let mut summary = std::io::stderr().lock();
        if args.fix_only {
            writeln!(summary, "Fixed {}.", errors(fixed_count))?;
        } else if fixed_count > 0 {
            writeln!(
                summary,
                "Found {} ({fixed_count} fixed, {} remaining).",
                errors(fixed_count + result.messages.len()),
                result.messages.len()
            )?;
        }
        if args.show_fixes {
            print_fixes(&mut summary, &result.fixed)?;
        }
    }
    Ok(if usage_error {
        EXIT_USAGE
    } else if result.messages.is_empty() || args.exit_zero || args.fix_only {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

fn errors(count: usize) -> String {
    format!("{count} error{}", if count == 1 { "" } else { "s" })
}

/// `--show-fixes`: per file, how many fixes of each rule were applied.
fn print_fixes(out: &mut dyn Write, fixed: &[(String, Vec<&'static str>)]) -> std::io::Result<()> {
    if fixed.is_empty() {
        return writeln!(out, "No errors were fixed.");
    }
    let total: usize = fixed.iter().map(|(_, codes)| codes.len()).sum();
    writeln!(out, "Fixed {}:", errors(total))?;
    for (path, codes) in fixed {
        writeln!(out, "- {}:", printable(path))?;
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for code in codes {
            *counts.entry(code).or_default() += 1;
        }
        for (code, count) in counts {
            let name = nmf_linter::registry::find_rule(code).map_or("", |rule| rule.name);
            writeln!(out, "    {count} × {code} ({name})")?;
        }
    }
    Ok(())
}

/// Colour for a terminal, unless `NO_COLOR` is set; `FORCE_COLOR` forces it.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
            if set("NO_COLOR") {
                false
            } else if set("FORCE_COLOR") {
                true
            } else {
                std::io::stdout().is_terminal()
            }
        }
    }
}
