//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use nmf_driver::settings::config::{Options, OutputFormat, parse_override};

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
    /// Editors that pull diagnostics (LSP 3.17 `textDocument/diagnostic`) get them answered,
    /// with result ids, instead of published.
    ///
    /// `initializationOptions` (JSON): `unsafeFixes` (bool: offer and apply unsafe fixes in
    /// fix-all too), `knownModulesOnly` (bool, as the setting) and `workspaceDiagnostics`
    /// (bool: report every file of the workspace as `nmf check` finds it, not only the open
    /// ones: through `workspace/diagnostic`, or published to an editor that does not pull).
    Server(ServerArgs),
    /// List the configuration settings, or show one with its documentation.
    Config(ConfigArgs),
    /// Print nmf's version.
    Version(VersionArgs),
    /// Print a completion script for a shell, e.g. `nmf generate-shell-completion bash >
    /// ~/.local/share/bash-completion/completions/nmf`.
    GenerateShellCompletion(CompletionArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// A setting, such as `select` (default: list them all).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        nmf_driver::settings::options_doc::OPTIONS.iter().map(|option| option.name)
    ), hide_possible_values = true)]
    pub key: Option<String>,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub output_format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// `text` or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub output_format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The cache of the workspace's check (`workspaceDiagnostics`), as for `nmf check`
    /// (default: `.nmf_cache` in the project's root folder).
    #[arg(long, value_name = "PATH", env = "NMF_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

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
    /// Skip what `.gitignore`, `.ignore` and `.git/info/exclude` name (the default).
    #[arg(long, overrides_with = "no_respect_gitignore")]
    pub respect_gitignore: bool,
    /// Walk into what `.gitignore` and `.ignore` name too.
    #[arg(long, overrides_with = "respect_gitignore")]
    pub no_respect_gitignore: bool,
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
    /// Apply fixes and report only how many were applied; exit 0 (see
    /// `--exit-non-zero-on-fix`).
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
    /// Write the findings and the summary to this file instead of standard output (created
    /// with its folders; never coloured).
    #[arg(short, long, value_name = "PATH", conflicts_with = "watch")]
    pub output_file: Option<PathBuf>,
    /// Print the number of findings per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// Print the findings only, without the summary (`concise` is then exactly flake8's
    /// output).
    #[arg(short, long, conflicts_with = "silent")]
    pub quiet: bool,
    /// Print nothing but errors; the exit status still says whether there were findings.
    #[arg(short, long)]
    pub silent: bool,
    /// Print how many files were checked and parsed, and how long it took, on stderr.
    #[arg(short, long, conflicts_with_all = ["quiet", "silent"])]
    pub verbose: bool,
    /// Exit with status 0 even when there are findings.
    #[arg(short, long)]
    pub exit_zero: bool,
    /// Exit with status 1 when a fix was applied, even if no finding is left (with `--fix-only`:
    /// when anything was fixed).
    #[arg(long)]
    pub exit_non_zero_on_fix: bool,
    /// Append `# noqa: CODE` to every line with a rule finding (extending a directive already
    /// there), so that a codebase adopts nmf finding by finding; writes the files as `--fix`
    /// does, and names the findings no directive can silence.
    #[arg(long, conflicts_with_all = ["fix", "fix_only", "diff", "watch", "ignore_noqa"])]
    pub add_noqa: bool,
    /// Ignore every `# noqa` and `# flake8: noqa` comment.
    #[arg(long)]
    pub ignore_noqa: bool,
    /// Re-check whenever a Python file, notebook or configuration file under the paths changes,
    /// clearing the screen first.
    #[arg(short, long)]
    pub watch: bool,
    /// Print the files that would be checked, one per line, and exit.
    #[arg(long, conflicts_with = "show_settings")]
    pub show_files: bool,
    /// For each path (or the current folder), print the configuration file that applies to it
    /// and the settings resolved from it and the command line, and exit.
    #[arg(long)]
    pub show_settings: bool,

    /// A configuration file to use for every checked file instead of discovering them, or a
    /// TOML `KEY = VALUE` pair overriding one setting of every configuration (e.g.
    /// `--config "select = ['NMF001']"`; see `nmf config`). Repeatable, with at most one file;
    /// flags such as `--select` win over pairs, and pairs over files.
    #[arg(long, value_name = "PATH | KEY=VALUE", value_parser = ConfigArgumentParser)]
    pub config: Vec<ConfigArgument>,
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
    #[arg(short, long)]
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

/// A `--config` value: a configuration file, or a setting to override.
#[derive(Debug, Clone)]
pub enum ConfigArgument {
    File(PathBuf),
    /// The pair as written, and the setting it parsed to.
    Setting(String, Box<Options>),
}

/// Tells a configuration file from a `KEY = VALUE` pair, as ruff does: an existing file is a
/// file; anything else must parse as TOML setting a known key to a value of its type.
#[derive(Debug, Clone, Copy)]
struct ConfigArgumentParser;

impl clap::builder::TypedValueParser for ConfigArgumentParser {
    type Value = ConfigArgument;

    fn parse_ref(
        &self,
        command: &clap::Command,
        argument: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<ConfigArgument, clap::Error> {
        let path = PathBuf::from(value);
        if path.is_file() {
            return Ok(ConfigArgument::File(path));
        }
        let text = value.to_string_lossy();
        let reason = match parse_override(&text) {
            Ok(options) => {
                return Ok(ConfigArgument::Setting(
                    text.into_owned(),
                    Box::new(options),
                ));
            }
            // Meant as a file, most likely.
            Err(_)
                if path
                    .extension()
                    .is_some_and(|ext| ext.eq_ignore_ascii_case("toml")) =>
            {
                "no such configuration file".to_string()
            }
            Err(reason) => reason,
        };
        let flag = argument.map_or_else(|| "--config".to_string(), ToString::to_string);
        let message = format!(
            "invalid value '{text}' for '{flag}': {reason}\n\n  tip: a `--config` value is the \
             path of a configuration file, or a TOML `KEY = VALUE` pair such as\n       \
             `select = [\"NMF001\"]` (`nmf config` lists the keys)\n"
        );
        Err(clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(command))
    }
}
