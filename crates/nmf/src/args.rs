//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use nmf_driver::settings::config::OutputFormat;

#[derive(Debug, Parser)]
#[command(
    name = "nmf",
    version,
    about = "Finds PyTorch code that calls .forward() on an nn.Module directly, skipping its hooks.",
    after_help = "Exit status: 0 no findings, 1 findings, 2 usage or configuration error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files and folders (default: the current folder).
    Check(Box<CheckArgs>),
    /// Show a rule's documentation.
    Rule(RuleArgs),
    /// Remove the cache (the current folder's, and any `.nmf_cache` folder below it).
    Clean(CleanArgs),
    /// Speak the Language Server Protocol over standard input and output, for editors.
    ///
    /// Diagnostics for open Python files and notebooks (LSP notebook documents) on open and on
    /// every change, quick fixes, "disable for this line" (`# noqa`) and `source.fixAll.nmf`.
    /// Settings come from the workspace's `[tool.nmf]` / `nmf.toml` as `nmf check` reads them;
    /// open, unsaved buffers win over the disk for the other files' checks.
    ///
    /// `initializationOptions` (JSON): `unsafeFixes` (bool: offer and apply unsafe fixes in
    /// fix-all too) and `knownModulesOnly` (bool, as the setting).
    Server(ServerArgs),
}

#[derive(Debug, Args)]
pub struct ServerArgs {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools, reason = "each flag is its own switch")]
pub struct CheckArgs {
    /// Files or folders to check; `-` reads standard input.
    pub paths: Vec<PathBuf>,

    /// Rules to enable, replacing the configured `select` (codes, prefixes such as `NMF`, or `ALL`).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Option<Vec<String>>,
    /// Rules to enable in addition to those selected.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub extend_select: Vec<String>,
    /// Rules to disable.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Glob patterns of files and folders to skip, replacing the configured `exclude`.
    #[arg(long, value_delimiter = ',', value_name = "GLOB")]
    pub exclude: Option<Vec<String>>,
    /// Glob patterns to skip in addition to `exclude`.
    #[arg(long, value_delimiter = ',', value_name = "GLOB")]
    pub extend_exclude: Vec<String>,
    /// Apply `exclude` to paths named on the command line too (as pre-commit passes them).
    #[arg(long)]
    pub force_exclude: bool,
    /// Rules to disable for files matching a glob, as `PATTERN:CODE[,CODE...]`.
    #[arg(long, value_name = "PATTERN:CODES")]
    pub per_file_ignores: Vec<String>,
    /// After the findings, list every `.forward()` call's receiver, its inferred type, and
    /// whether it is reported.
    #[arg(long)]
    pub show_receivers: bool,
    /// Report `.forward()` calls only on receivers known to be `nn.Module`s.
    #[arg(long, overrides_with = "no_known_modules_only")]
    pub known_modules_only: bool,
    /// Report receivers nmf cannot type too (the default), overriding `known-modules-only`.
    #[arg(long, overrides_with = "known_modules_only")]
    pub no_known_modules_only: bool,

    /// Apply safe fixes (and unsafe ones with `--unsafe-fixes`), then report what is left.
    #[arg(long, overrides_with = "no_fix")]
    pub fix: bool,
    /// Do not apply fixes, overriding `fix = true` in the configuration.
    #[arg(long, overrides_with = "fix")]
    pub no_fix: bool,
    /// Allow fixes that may change behaviour (see each rule's "Fix safety").
    #[arg(long, overrides_with = "no_unsafe_fixes")]
    pub unsafe_fixes: bool,
    /// Only safe fixes, overriding `unsafe-fixes = true` in the configuration.
    #[arg(long, overrides_with = "unsafe_fixes")]
    pub no_unsafe_fixes: bool,
    /// Apply fixes and report nothing else.
    #[arg(long)]
    pub fix_only: bool,
    /// Print a unified diff of what the fixes would change, and write nothing (exit 1 when
    /// something would change). Wins over `--fix` and `--fix-only`, as in ruff.
    #[arg(long)]
    pub diff: bool,
    /// List the fixes that were applied, per file.
    #[arg(long)]
    pub show_fixes: bool,

    /// How to print findings.
    #[arg(long, value_name = "FORMAT", value_parser = output_format_parser())]
    pub output_format: Option<OutputFormat>,
    /// Colour the output: `auto` colours a terminal (honouring NO_COLOR and FORCE_COLOR);
    /// `--color` alone is `always`.
    #[arg(long, value_enum, value_name = "WHEN", num_args = 0..=1, require_equals = true, default_value = "auto", default_missing_value = "always")]
    pub color: ColorChoice,
    /// Print the number of findings per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// Print findings only: no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print how many files were checked and parsed, and how long it took, on stderr.
    #[arg(short, long)]
    pub verbose: bool,
    /// Exit with status 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,

    /// Use this configuration file for every checked file, instead of discovering them.
    #[arg(long, value_name = "PATH", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore all configuration files.
    #[arg(long)]
    pub isolated: bool,
    /// Read standard input, and name it PATH in the output and for configuration,
    /// `per-file-ignores` and `--force-exclude`.
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
    /// Parse every file, also those that cannot contain a finding; slower, but syntax errors
    /// are reported in every file.
    #[arg(long)]
    pub no_prefilter: bool,
    /// Neither read nor write the cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Keep the cache in this folder (default: `.nmf_cache` in the project's root folder).
    #[arg(long, value_name = "PATH", env = "NMF_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The cache folder to remove, as for `nmf check` (also `NMF_CACHE_DIR`).
    #[arg(long, value_name = "PATH", env = "NMF_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Ignore all configuration files (their `cache-dir`).
    #[arg(long)]
    pub isolated: bool,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// A rule code (`NMF001`) or name (`module-forward-call`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub rule: Option<String>,
    /// Show every rule.
    #[arg(long)]
    pub all: bool,
}

/// Accepts the names in [`OutputFormat::ALL`], and lists them in `--help` and in errors.
fn output_format_parser() -> impl clap::builder::TypedValueParser<Value = OutputFormat> {
    clap::builder::PossibleValuesParser::new(OutputFormat::ALL.map(|(name, _)| name)).map(|name| {
        OutputFormat::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map_or(OutputFormat::default(), |(_, format)| *format)
    })
}
