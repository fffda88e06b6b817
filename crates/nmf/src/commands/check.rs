//! `nmf check`: check paths or standard input and print the findings.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nmf_driver::check::CheckOptions;
use nmf_driver::config::{OutputFormat, Overrides};
use nmf_driver::run::{
    ConfigSource, RunOptions, RunResult, SettingsResolver, check_files, check_stdin, discover,
};

use crate::args::{CheckArgs, ColorChoice};
use crate::printer::{print_messages, print_statistics};
use crate::{EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, Error};

pub fn run(args: CheckArgs) -> Result<u8, Error> {
    let started = std::time::Instant::now();
    let working_dir = std::env::current_dir()?;
    let source = match (&args.config, args.isolated) {
        (Some(path), _) => ConfigSource::File(nmf_driver::run::absolutize(path, &working_dir)),
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
        fix: None,
        unsafe_fixes: None,
        force_exclude: args.force_exclude.then_some(true),
    };
    let resolver = Arc::new(SettingsResolver::new(
        source,
        overrides,
        working_dir.clone(),
    )?);
    let global = resolver.global()?;
    let format = global.output_format;
    let color = use_color(args.color);
    let options = RunOptions {
        check: CheckOptions {
            respect_noqa: true,
            prefilter: !args.no_prefilter,
        },
        frames: format == OutputFormat::Full,
        color,
    };

    let reads_stdin = args.paths.iter().any(|path| path == Path::new("-"));
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
        let (files, errors) = discover(&paths, &resolver)?;
        let mut result = check_files(&files, &resolver, options)?;
        result.errors = errors;
        result
    };
    if args.verbose {
        eprintln!(
            "nmf: checked {} files ({} parsed, the rest ruled out by the prefilter) in {:.1?}",
            result.files_checked,
            result.files_parsed,
            started.elapsed()
        );
    }
    report(&args, &result, format, color)
}

fn report(
    args: &CheckArgs,
    result: &RunResult,
    format: OutputFormat,
    color: bool,
) -> Result<u8, Error> {
    let mut stderr = std::io::stderr().lock();
    for error in &result.errors {
        writeln!(stderr, "nmf: error: {error}")?;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.statistics {
        print_statistics(&mut out, &result.messages)?;
    } else {
        print_messages(&mut out, &result.messages, format, color, args.quiet)?;
    }
    out.flush()?;
    Ok(if !result.errors.is_empty() {
        EXIT_USAGE
    } else if result.messages.is_empty() || args.exit_zero {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
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
