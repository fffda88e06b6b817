//! `nmf check`: check paths or standard input and print the findings.

mod show;
pub mod summary;
mod watch;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nmf_driver::cache::walk_record::discover_remembered;
use nmf_driver::check::CheckOptions;
use nmf_driver::run::{FixMode, RunOptions, RunResult, check_discovered, check_stdin, open_cache};
use nmf_driver::settings::config::{OutputFormat, Overrides, Settings, parse_override};
use nmf_driver::settings::discover::{absolutize, discover};
use nmf_driver::settings::{ConfigSource, SettingsResolver};

use nmf_linter::render::printable;

use crate::args::{CheckArgs, ColorChoice, ConfigArgument};
use crate::printer::{PrintStyle, print_explanations, print_messages, print_statistics};
use crate::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, Error};
use summary::{Summary, UnsafeFixes, write_fixes_applied};

pub fn run(args: CheckArgs) -> Result<u8, Error> {
    let working_dir = std::env::current_dir()?;
    // As in ruff, `--stdin-filename` alone means standard input too.
    let reads_stdin = args.paths.iter().any(|path| path == Path::new("-"))
        || (args.stdin_filename.is_some() && args.paths.is_empty());
    if let Some(problem) = usage_problem(&args, reads_stdin) {
        eprintln!("nmf: error: {problem}");
        return Ok(EXIT_USAGE);
    }
    let resolver = Arc::new(resolver(&args, &working_dir)?);
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    if args.show_settings {
        return show::settings(&args, &paths, reads_stdin, &resolver);
    }
    if args.show_files {
        return show::files(&args, &paths, &resolver);
    }
    if args.watch {
        return watch::run(&args, &paths, &working_dir);
    }
    let started = std::time::Instant::now();
    let global = resolver.global()?;
    let options = run_options(&args, &global);
    // Opened first: a file that cannot be written stops the run before `--fix` writes.
    let mut output = Output::open(args.output_file.as_deref(), &working_dir)?;
    let result = if reads_stdin {
        let mut bytes = Vec::new();
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        check_stdin(bytes, args.stdin_filename.as_deref(), &resolver, options)?
    } else {
        check_paths(&paths, &resolver, options)?
    };
    if args.verbose {
        print_verbose(&result, started);
    }
    print_warnings(&args, &resolver, &result)?;
    if args.add_noqa {
        return report_noqa(&args, &result);
    }
    let color = output.to_terminal_or_forced(args.color);
    let status = report(
        &args,
        &result,
        &options,
        &Report {
            format: global.output_format,
            color,
            unsafe_fixes: unsafe_fixes(&global),
            reads_stdin,
            to_file: output.to_file,
        },
        &mut *output.writer,
    )?;
    output.writer.flush()?;
    Ok(status)
}

/// Flags that cannot go together, said before anything is read.
fn usage_problem(args: &CheckArgs, reads_stdin: bool) -> Option<String> {
    if args.stdin_filename.is_some() && !reads_stdin {
        return Some(
            "`--stdin-filename` names standard input, which cannot be combined with paths".into(),
        );
    }
    if reads_stdin && args.paths.len() > 1 {
        return Some("`-` (standard input) cannot be combined with other paths".into());
    }
    if reads_stdin && args.add_noqa {
        return Some("`--add-noqa` edits files: it cannot read standard input".into());
    }
    if reads_stdin && args.watch {
        return Some(
            "`--watch` re-checks files when they change: it cannot read standard input".into(),
        );
    }
    let files = args
        .config
        .iter()
        .filter(|config| matches!(config, ConfigArgument::File(_)))
        .count();
    if files > 1 {
        return Some("`--config` names at most one configuration file".into());
    }
    if files == 1 && args.isolated {
        return Some(
            "`--isolated` ignores configuration files: it cannot be combined with `--config PATH`"
                .into(),
        );
    }
    None
}

/// The settings of every file, as the command line and the configuration files say.
fn resolver(args: &CheckArgs, working_dir: &Path) -> Result<SettingsResolver, Error> {
    let mut config_file = None;
    let mut pairs = Vec::new();
    for config in &args.config {
        match config {
            ConfigArgument::File(path) => config_file = Some(path),
            ConfigArgument::Setting(text, _) => pairs.push(text.as_str()),
        }
    }
    let source = match (config_file, args.isolated) {
        (Some(path), _) => ConfigSource::File(absolutize(path, working_dir)),
        (None, true) => ConfigSource::Isolated,
        (None, false) => ConfigSource::Discover,
    };
    // Each pair was checked on its own; together, a key set twice is an error.
    let options =
        parse_override(&pairs.join("\n")).map_err(|reason| format!("`--config`: {reason}"))?;
    let overrides = Overrides {
        select: args.select.clone(),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
        exclude: args.exclude.clone(),
        extend_exclude: args.extend_exclude.clone(),
        per_file_ignores: args.per_file_ignores.clone(),
        output_format: args.output_format,
        known_modules_only: flag(args.known_modules_only, args.no_known_modules_only),
        fix: flag(args.fix || args.fix_only, args.no_fix),
        unsafe_fixes: flag(args.unsafe_fixes, args.no_unsafe_fixes),
        force_exclude: args.force_exclude.then_some(true),
        respect_gitignore: flag(args.respect_gitignore, args.no_respect_gitignore),
        cache_dir: args
            .cache_dir
            .as_ref()
            .map(|dir| absolutize(dir, working_dir)),
        options,
    };
    Ok(SettingsResolver::new(
        source,
        overrides,
        working_dir.to_path_buf(),
    )?)
}

fn run_options(args: &CheckArgs, global: &Settings) -> RunOptions {
    let fix = if args.diff {
        FixMode::Diff
    } else if global.fix || args.add_noqa {
        FixMode::Apply
    } else {
        FixMode::Off
    };
    RunOptions {
        check: CheckOptions {
            respect_noqa: !args.ignore_noqa,
            prefilter: !args.no_prefilter,
        },
        frames: global.output_format == OutputFormat::Full,
        fix,
        unsafe_fixes: global.unsafe_fixes,
        explanations: args.show_receivers,
        // What the cache holds has no directives to add.
        cache: !args.no_cache && !args.add_noqa,
        add_noqa: args.add_noqa,
    }
}

fn unsafe_fixes(global: &Settings) -> UnsafeFixes {
    if global.unsafe_fixes {
        UnsafeFixes::Enabled
    } else if global.unsafe_fixes_hint {
        UnsafeFixes::Hint
    } else {
        UnsafeFixes::Disabled
    }
}

/// Finds the files under `paths` and checks them.
fn check_paths(
    paths: &[PathBuf],
    resolver: &Arc<SettingsResolver>,
    options: RunOptions,
) -> Result<RunResult, Error> {
    let global = resolver.global()?;
    // With the cache, a walk of an unchanged tree is taken from its record. The cache file is
    // read once discovery is done, not alongside it: the walk record and the findings cache
    // decoded at the same time were the peak memory of warm runs on large trees.
    let discovered = if options.cache {
        discover_remembered(paths, resolver, &global.cache_dir)
    } else {
        discover(paths, resolver)
    }?;
    let cache = open_cache(resolver, options);
    Ok(check_discovered(discovered, resolver, options, cache)?)
}

fn print_verbose(result: &RunResult, started: std::time::Instant) {
    eprintln!(
        "nmf: checked {} ({} parsed, {} from the cache, the rest ruled out by the prefilter) in {:.1?}",
        files(result.files_checked),
        result.files_parsed,
        result.files_cached,
        started.elapsed()
    );
    for skipped in &result.skipped {
        eprintln!("nmf: {}", printable(skipped));
    }
}

/// `1 file`, `2 files`.
fn files(count: usize) -> String {
    format!("{count} file{}", if count == 1 { "" } else { "s" })
}

/// Errors that are not findings (always) and warnings (unless `--silent`), on stderr.
fn print_warnings(
    args: &CheckArgs,
    resolver: &SettingsResolver,
    result: &RunResult,
) -> std::io::Result<()> {
    let mut stderr = std::io::stderr().lock();
    for error in &result.fix_errors {
        writeln!(stderr, "nmf: error: {}", printable(error))?;
    }
    if !args.silent {
        for warning in resolver.warnings().iter().chain(&result.warnings) {
            writeln!(stderr, "nmf: warning: {}", printable(warning))?;
        }
    }
    Ok(())
}

/// Where findings are printed: standard output, or the file of `--output-file`.
struct Output {
    writer: Box<dyn Write>,
    to_file: bool,
}

impl Output {
    fn open(file: Option<&Path>, working_dir: &Path) -> std::io::Result<Self> {
        let Some(file) = file else {
            return Ok(Self {
                writer: Box::new(std::io::BufWriter::new(std::io::stdout())),
                to_file: false,
            });
        };
        let path = absolutize(file, working_dir);
        let named = |error: std::io::Error| {
            std::io::Error::new(
                error.kind(),
                format!("--output-file {}: {error}", file.display()),
            )
        };
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(named)?;
        }
        let opened = std::fs::File::create(&path).map_err(named)?;
        Ok(Self {
            writer: Box::new(std::io::BufWriter::new(opened)),
            to_file: true,
        })
    }

    /// Colour, as `--color` says; never in a file.
    fn to_terminal_or_forced(&self, choice: ColorChoice) -> bool {
        !self.to_file && use_color(choice)
    }
}

/// A `--flag` / `--no-flag` pair: `None` when neither was given.
fn flag(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

/// How the findings of a run are reported.
struct Report {
    format: OutputFormat,
    color: bool,
    unsafe_fixes: UnsafeFixes,
    reads_stdin: bool,
    /// `--output-file` was given.
    to_file: bool,
}

/// Prints the findings and the summary as ruff does, and returns the exit status.
///
/// The summary follows the findings in the text formats (`concise`, `full`) only, so that the
/// machine-readable ones stay parseable. With `--diff`, the diffs go to standard output; with
/// standard input and `--fix`, standard output carries the source, and the findings and summary
/// go to stderr (unless `--output-file` names a file).
fn report(
    args: &CheckArgs,
    result: &RunResult,
    options: &RunOptions,
    report: &Report,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let mut stdout = std::io::stdout().lock();
    if options.fix == FixMode::Diff {
        for diff in &result.diffs {
            write!(stdout, "{diff}")?;
        }
        stdout.flush()?;
    }
    let fixed: usize = result.fixed.iter().map(|(_, codes)| codes.len()).sum();
    let stdout_is_taken = report.reads_stdin && options.fix != FixMode::Off;
    let mut stderr = std::io::stderr();
    let out: &mut dyn Write = if stdout_is_taken && !report.to_file {
        &mut stderr
    } else {
        out
    };
    let fixes_only = options.fix == FixMode::Diff || args.fix_only;
    let text = matches!(report.format, OutputFormat::Concise | OutputFormat::Full);
    let style = PrintStyle {
        color: report.color,
        unsafe_fixes: options.unsafe_fixes,
    };
    if !args.silent && !fixes_only {
        if args.statistics {
            print_statistics(out, &result.messages, report.format, style)?;
        } else {
            print_messages(out, &result.messages, report.format, style)?;
        }
    }
    out.flush()?;
    if args.show_receivers {
        print_explanations(&mut stdout, &result.explanations)?;
        stdout.flush()?;
    }
    if !args.silent {
        // `--statistics` says nothing at all of a clean run, as in ruff.
        let nothing_to_count = args.statistics && result.messages.is_empty() && fixed == 0;
        if text && !nothing_to_count {
            if args.show_fixes && fixed > 0 {
                writeln!(out)?;
                write_fixes_applied(out, &result.fixed, report.color)?;
                writeln!(out)?;
            }
            if !args.quiet {
                if options.fix == FixMode::Diff && !result.diffs.is_empty() && !stdout_is_taken {
                    // The summary apart from the last diff, as in ruff.
                    writeln!(out)?;
                }
                Summary {
                    remaining: &result.messages,
                    fixed,
                    fix: options.fix,
                    fixes_only,
                    unsafe_fixes: report.unsafe_fixes,
                    color: report.color,
                }
                .write(out)?;
            }
        }
    }
    out.flush()?;
    if let Some(source) = &result.stdin_output {
        stdout.write_all(source)?;
    }
    stdout.flush()?;
    Ok(exit_status(args, result, options, fixed))
}

/// `--add-noqa`: the findings no directive could silence, and how many directives were added,
/// on stderr as ruff prints it; exit 0, as in ruff.
fn report_noqa(args: &CheckArgs, result: &RunResult) -> Result<u8, Error> {
    if args.silent {
        return Ok(EXIT_CLEAN);
    }
    let mut stderr = std::io::stderr().lock();
    for message in result
        .messages
        .iter()
        .filter(|message| message.rule.is_some())
    {
        let place = match message.cell {
            Some(cell) => format!(
                "{}:cell {cell}:{}:{}",
                message.path, message.start.line, message.start.column
            ),
            None => format!(
                "{}:{}:{}",
                message.path, message.start.line, message.start.column
            ),
        };
        writeln!(
            stderr,
            "nmf: warning: {}: {} not silenced: {}",
            printable(&place),
            message.code,
            printable(
                message
                    .fix_title
                    .as_deref()
                    .unwrap_or("no directive can be placed there")
            )
        )?;
    }
    let added = result.noqa_added;
    if added > 0 {
        writeln!(
            stderr,
            "Added {added} noqa directive{}.",
            if added == 1 { "" } else { "s" }
        )?;
    }
    Ok(EXIT_CLEAN)
}

/// ruff's exit status: with `--diff`, whether something would change; with `--fix-only`, 0
/// (or whether something was fixed, with `--exit-non-zero-on-fix`); else whether findings are
/// left (or something was fixed, with `--exit-non-zero-on-fix`).
fn exit_status(args: &CheckArgs, result: &RunResult, options: &RunOptions, fixed: usize) -> u8 {
    let findings = if args.exit_zero {
        false
    } else if options.fix == FixMode::Diff {
        fixed > 0 || !result.diffs.is_empty()
    } else if args.fix_only {
        args.exit_non_zero_on_fix && fixed > 0
    } else {
        !result.messages.is_empty() || (args.exit_non_zero_on_fix && fixed > 0)
    };
    if findings { EXIT_FINDINGS } else { EXIT_CLEAN }
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
