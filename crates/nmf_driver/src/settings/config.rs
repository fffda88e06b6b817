//! Configuration: `[tool.nmf]` in `pyproject.toml`, or `nmf.toml` / `.nmf.toml`, found the way
//! ruff finds its own, merged with command-line overrides.
//!
//! For each file, the closest folder (the file's own, then its parents) holding `.nmf.toml`,
//! `nmf.toml`, or a `pyproject.toml` with a `[tool.nmf]` table supplies the settings, in that
//! order of preference. Configurations do not merge across folders. Unknown keys and unknown
//! rule codes are errors that name the file and the key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use globset::{Glob, GlobSet, GlobSetBuilder};
use nmf_linter::registry::{RuleSelector, RuleSet, resolve_rules};
use nmf_linter::settings::LinterSettings;
use serde::Deserialize;

/// The files a folder may hold configuration in, most preferred first.
pub const CONFIG_FILES: [&str; 3] = [".nmf.toml", "nmf.toml", "pyproject.toml"];

/// The folder name of the cache, in the project's root folder (as ruff keeps `.ruff_cache`),
/// unless `cache-dir` says otherwise.
pub const CACHE_DIR_NAME: &str = ".nmf_cache";

/// The files checked when found in a folder, as in ruff's defaults: Python modules, stubs and
/// Jupyter notebooks.
pub const DEFAULT_INCLUDE: &[&str] = &["*.py", "*.pyi", "*.ipynb"];

/// Folders never worth checking, as in ruff's defaults.
pub const DEFAULT_EXCLUDE: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
];

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// `path:line:col: CODE message`, as flake8 prints.
    #[default]
    Concise,
    /// A code frame per finding, with the help line, as ruff's full format.
    Full,
    Json,
    JsonLines,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

impl OutputFormat {
    /// Every format with its name, as written in configuration and on the command line.
    pub const ALL: [(&'static str, OutputFormat); 6] = [
        ("concise", OutputFormat::Concise),
        ("full", OutputFormat::Full),
        ("json", OutputFormat::Json),
        ("json-lines", OutputFormat::JsonLines),
        ("github", OutputFormat::Github),
        ("sarif", OutputFormat::Sarif),
    ];
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, format)| *format)
            .ok_or_else(|| format!("unknown output format `{name}`"))
    }
}

/// The keys of `[tool.nmf]` / `nmf.toml`, as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    #[serde(default, deserialize_with = "selectors")]
    pub select: Option<Vec<String>>,
    #[serde(default, deserialize_with = "selectors")]
    pub extend_select: Option<Vec<String>>,
    #[serde(default, deserialize_with = "selectors")]
    pub ignore: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Option<Vec<String>>,
    /// Which files found in folders are checked (globs, as `exclude`).
    pub include: Option<Vec<String>>,
    pub extend_include: Option<Vec<String>>,
    #[serde(default, deserialize_with = "selectors_by_pattern")]
    pub per_file_ignores: Option<BTreeMap<String, Vec<String>>>,
    pub output_format: Option<OutputFormat>,
    pub known_modules_only: Option<bool>,
    /// Packages whose objects are never `nn.Module`s, added to nmf's own table.
    pub not_module_packages: Option<Vec<String>>,
    /// Callables that make `nn.Module`s (qualified names, `*` within a dotted part), added to
    /// nmf's table of factories.
    pub module_factories: Option<Vec<String>>,
    /// Callables that make no `nn.Module`s, added to nmf's table of factories.
    pub not_module_factories: Option<Vec<String>>,
    /// Folders to follow imports into, after the project's own (relative to the
    /// configuration's folder).
    pub extra_paths: Option<Vec<String>>,
    /// An interpreter whose site-packages to follow imports into: a path (relative to the
    /// configuration's folder), or `"active"` for the active virtual environment's.
    pub python: Option<String>,
    pub fix: Option<bool>,
    pub unsafe_fixes: Option<bool>,
    pub respect_gitignore: Option<bool>,
    pub force_exclude: Option<bool>,
    /// Where the cache lives (relative to the configuration's folder).
    pub cache_dir: Option<String>,
}

/// Rule selectors, checked as they are read, so that an unknown one is reported with its line
/// as a value of the wrong type is.
fn selectors<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    let codes: Vec<String> = Deserialize::deserialize(deserializer)?;
    parse_selectors(&codes).map_err(serde::de::Error::custom)?;
    Ok(Some(codes))
}

/// `per-file-ignores`: patterns to rule selectors, checked as [`selectors`] checks them.
fn selectors_by_pattern<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<BTreeMap<String, Vec<String>>>, D::Error> {
    let table: BTreeMap<String, Vec<String>> = Deserialize::deserialize(deserializer)?;
    for codes in table.values() {
        parse_selectors(codes).map_err(serde::de::Error::custom)?;
    }
    Ok(Some(table))
}

/// Reads a `--config KEY = VALUE` pair (or several, one per line) as the keys of `nmf.toml`,
/// with the same checks and messages.
pub fn parse_override(text: &str) -> Result<Options, String> {
    parse(text)
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTools>,
}

#[derive(Deserialize)]
struct PyprojectTools {
    nmf: Option<Options>,
}

/// A configuration problem: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: Option<PathBuf>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}", path.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads one configuration file. A `pyproject.toml` without `[tool.nmf]` gives `None`.
pub fn load_options(path: &Path) -> Result<Option<Options>, ConfigError> {
    let error = |message: String| ConfigError {
        path: Some(path.to_path_buf()),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let is_pyproject = path
        .file_name()
        .is_some_and(|name| name == "pyproject.toml");
    if is_pyproject {
        let pyproject: Pyproject = parse(&text).map_err(error)?;
        Ok(pyproject.tool.and_then(|tool| tool.nmf))
    } else {
        parse(&text).map(Some).map_err(error)
    }
}

/// Deserializes a configuration file; an error names the table, the key, the line and what
/// was expected: `` `[tool.nmf]`, key `known-modules-only` (line 3): expected a boolean, found
/// string "yes" ``.
fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let deserializer = toml::de::Deserializer::parse(text).map_err(|e| describe(&e, text, None))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        describe(e.inner(), text, Some(&path))
    })
}

fn describe(error: &toml::de::Error, text: &str, path: Option<&str>) -> String {
    let message = error.message().trim();
    // serde says "invalid type: string \"yes\", expected a boolean".
    let message = match message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        Some((found, expected)) => {
            let expected = expected.replace("a sequence", "an array");
            format!("expected {expected}, found {found}")
        }
        None => message.to_string(),
    };
    let line = error
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let place = match path.map(|path| path.trim_start_matches("tool.")) {
        Some(path) if path.starts_with("nmf.") || path == "nmf" => {
            let (table, key) = path.rsplit_once('.').unwrap_or(("nmf", path));
            if key == "nmf" {
                "`[tool.nmf]`".to_string()
            } else {
                format!("`[tool.{table}]`, key `{key}`")
            }
        }
        Some(".") | None => "invalid TOML".to_string(),
        Some(key) => format!("key `{key}`"),
    };
    match line {
        Some(line) => format!("{place} (line {line}): {message}"),
        None => format!("{place}: {message}"),
    }
}

/// The configuration file in `folder`, if any, in order of preference.
pub fn find_config_in(folder: &Path) -> Result<Option<(PathBuf, Options)>, ConfigError> {
    for name in CONFIG_FILES {
        let candidate = folder.join(name);
        if !candidate.is_file() {
            continue;
        }
        if let Some(options) = load_options(&candidate)? {
            return Ok(Some((candidate, options)));
        }
    }
    Ok(None)
}

/// Values given on the command line; they override every configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Vec<String>,
    /// `PATTERN:CODE[,CODE...]`
    pub per_file_ignores: Vec<String>,
    pub output_format: Option<OutputFormat>,
    pub known_modules_only: Option<bool>,
    pub fix: Option<bool>,
    pub unsafe_fixes: Option<bool>,
    pub force_exclude: Option<bool>,
    pub respect_gitignore: Option<bool>,
    /// `--cache-dir` or `NMF_CACHE_DIR`, absolute.
    pub cache_dir: Option<PathBuf>,
    /// The `--config KEY = VALUE` pairs, merged: they override every configuration file's
    /// keys (and the flags above override them). Written on the command line, their paths and
    /// globs are relative to the working folder.
    pub options: Options,
}

/// A glob from `exclude` or `per-file-ignores`: it matches a file's name, or its path relative
/// to the folder of the configuration that wrote it.
#[derive(Debug, Clone)]
pub struct FilePattern {
    pub pattern: String,
    basename: Glob,
    absolute: Glob,
}

impl FilePattern {
    pub fn new(pattern: &str, root: &Path) -> Result<Self, String> {
        let trimmed = pattern.trim_start_matches("./");
        let basename = Glob::new(trimmed).map_err(|e| format!("invalid glob `{pattern}`: {e}"))?;
        let absolute_text = root.join(trimmed).to_string_lossy().into_owned();
        let absolute =
            Glob::new(&absolute_text).map_err(|e| format!("invalid glob `{pattern}`: {e}"))?;
        Ok(Self {
            pattern: pattern.to_string(),
            basename,
            absolute,
        })
    }
}

/// Several [`FilePattern`]s matched together: every path is prepared for matching once and
/// tried against each compiled set, not once per pattern (discovery asks for every entry).
#[derive(Debug, Clone)]
pub struct FilePatterns {
    pub patterns: Vec<FilePattern>,
    basenames: GlobSet,
    absolutes: GlobSet,
}

impl FilePatterns {
    pub fn new(patterns: Vec<FilePattern>) -> Self {
        let compile = |globs: &mut dyn Iterator<Item = &Glob>| {
            let mut builder = GlobSetBuilder::new();
            for glob in globs {
                builder.add(glob.clone());
            }
            // Each glob compiled alone already; a set of them compiles too.
            builder.build().unwrap_or_else(|_| GlobSet::empty())
        };
        Self {
            basenames: compile(&mut patterns.iter().map(|p| &p.basename)),
            absolutes: compile(&mut patterns.iter().map(|p| &p.absolute)),
            patterns,
        }
    }

    /// Whether any pattern matches `path` (absolute).
    pub fn matches(&self, path: &Path) -> bool {
        path.file_name()
            .is_some_and(|name| self.basenames.is_match(name))
            || self.absolutes.is_match(path)
    }

    /// The indices of the patterns that match `path`.
    pub fn matching(&self, path: &Path) -> impl Iterator<Item = usize> {
        let mut found = path
            .file_name()
            .map(|name| self.basenames.matches(name))
            .unwrap_or_default();
        found.extend(self.absolutes.matches(path));
        found.sort_unstable();
        found.dedup();
        found.into_iter()
    }
}

/// Everything that decides how the files under one configuration are checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The folder of the configuration file (or the working folder without one).
    pub root: PathBuf,
    /// The configuration file, if any.
    pub config_file: Option<PathBuf>,
    pub linter: LinterSettings,
    pub exclude: FilePatterns,
    /// Files found in folders are checked when they match one of these.
    pub include: FilePatterns,
    pub per_file_ignores: FilePatterns,
    /// The rules each of `per_file_ignores` turns off, in the same order.
    pub per_file_ignored_rules: Vec<RuleSet>,
    pub respect_gitignore: bool,
    /// Apply `exclude` to paths named on the command line too (for pre-commit).
    pub force_exclude: bool,
    pub output_format: OutputFormat,
    pub fix: bool,
    pub unsafe_fixes: bool,
    /// Unsafe fixes are off because nothing turned them on or off: the summary then says how
    /// many `--unsafe-fixes` would add, as ruff's does.
    pub unsafe_fixes_hint: bool,
    /// Folders searched for imported modules after the project (`extra-paths`, `python`).
    pub import_paths: Vec<PathBuf>,
    /// The cache's folder: `.nmf_cache` in the configuration's folder unless set.
    pub cache_dir: PathBuf,
    /// What is wrong but not an error (an `extra-paths` folder that does not exist).
    pub warnings: Vec<String>,
}

/// Where a setting's value was written.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// The configuration file.
    File,
    /// A `--config KEY = VALUE` pair.
    Pair,
    /// A flag such as `--select`.
    Flag,
}

impl Settings {
    /// Resolves file options and command-line overrides; errors name the key at fault.
    /// Precedence, highest first: flags (`--select`), `--config KEY = VALUE` pairs, the file,
    /// the defaults; the `extend-*` keys and `per-file-ignores` add up instead.
    pub fn resolve(
        root: &Path,
        config_file: Option<&Path>,
        options: &Options,
        overrides: &Overrides,
        working_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let pairs = &overrides.options;
        let fail = |origin: Origin, key: &str, message: String| match origin {
            Origin::File => ConfigError {
                path: config_file.map(Path::to_path_buf),
                message: format!("`{key}`: {message}"),
            },
            Origin::Pair => ConfigError {
                path: None,
                message: format!("`--config {key} = …`: {message}"),
            },
            Origin::Flag => ConfigError {
                path: None,
                message: format!("`--{key}`: {message}"),
            },
        };
        // The folder each origin's paths and globs are relative to.
        let base = |origin: Origin| match origin {
            Origin::File => root,
            Origin::Pair | Origin::Flag => working_dir,
        };
        let selectors = |origin: Origin, key: &str, codes: &[String]| {
            parse_selectors(codes).map_err(|e| fail(origin, key, e))
        };
        // The highest-precedence value of a key among the flag, the pairs and the file.
        fn first<T: ?Sized, const N: usize>(
            candidates: [(Option<&T>, Origin); N],
        ) -> Option<(&T, Origin)> {
            candidates
                .into_iter()
                .find_map(|(value, origin)| value.map(|value| (value, origin)))
        }
        // A key that adds up: the file's values, then the pairs', then the flag's.
        let added = |file: Option<&Vec<String>>, pair: Option<&Vec<String>>, flag: &[String]| {
            let mut all = Vec::new();
            for (values, origin) in [
                (file.map(Vec::as_slice), Origin::File),
                (pair.map(Vec::as_slice), Origin::Pair),
                (Some(flag), Origin::Flag),
            ] {
                all.extend(
                    values
                        .unwrap_or_default()
                        .iter()
                        .map(|value| (value.clone(), origin)),
                );
            }
            all
        };

        let select = match first([
            (overrides.select.as_deref(), Origin::Flag),
            (pairs.select.as_deref(), Origin::Pair),
            (options.select.as_deref(), Origin::File),
        ]) {
            Some((codes, origin)) => selectors(origin, "select", codes)?,
            None => vec![RuleSelector::Prefix("NMF".to_string())],
        };
        let mut extend_select = Vec::new();
        for (code, origin) in added(
            options.extend_select.as_ref(),
            pairs.extend_select.as_ref(),
            &overrides.extend_select,
        ) {
            extend_select.extend(selectors(origin, "extend-select", &[code])?);
        }
        let mut ignore = Vec::new();
        for (code, origin) in added(
            options.ignore.as_ref(),
            pairs.ignore.as_ref(),
            &overrides.ignore,
        ) {
            ignore.extend(selectors(origin, "ignore", &[code])?);
        }
        let rules = resolve_rules(&select, &extend_select, &ignore);

        let pattern = |key: &str, glob: &str, origin: Origin| {
            FilePattern::new(glob, base(origin)).map_err(|e| fail(origin, key, e))
        };
        let patterns = |key: &str, globs: &[String], origin: Origin| {
            globs
                .iter()
                .map(|glob| pattern(key, glob, origin))
                .collect::<Result<Vec<_>, _>>()
        };
        let default_exclude: Vec<String> = DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect();
        let mut exclude = match first([
            (overrides.exclude.as_ref(), Origin::Flag),
            (pairs.exclude.as_ref(), Origin::Pair),
            (options.exclude.as_ref(), Origin::File),
        ]) {
            Some((globs, origin)) => patterns("exclude", globs, origin)?,
            None => patterns("exclude", &default_exclude, Origin::File)?,
        };
        for (glob, origin) in added(
            options.extend_exclude.as_ref(),
            pairs.extend_exclude.as_ref(),
            &overrides.extend_exclude,
        ) {
            exclude.push(pattern("extend-exclude", &glob, origin)?);
        }

        let default_include: Vec<String> = DEFAULT_INCLUDE.iter().map(|s| s.to_string()).collect();
        let mut include = match first([
            (pairs.include.as_ref(), Origin::Pair),
            (options.include.as_ref(), Origin::File),
        ]) {
            Some((globs, origin)) => patterns("include", globs, origin)?,
            None => patterns("include", &default_include, Origin::File)?,
        };
        for (glob, origin) in added(
            options.extend_include.as_ref(),
            pairs.extend_include.as_ref(),
            &[],
        ) {
            include.push(pattern("extend-include", &glob, origin)?);
        }

        let mut per_file_ignores = Vec::new();
        for (table, origin) in [
            (options.per_file_ignores.as_ref(), Origin::File),
            (pairs.per_file_ignores.as_ref(), Origin::Pair),
        ] {
            for (glob, codes) in table.into_iter().flatten() {
                let rules = union(&selectors(origin, "per-file-ignores", codes)?);
                per_file_ignores.push((pattern("per-file-ignores", glob, origin)?, rules));
            }
        }
        for entry in &overrides.per_file_ignores {
            let Some((glob, codes)) = entry.rsplit_once(':') else {
                return Err(fail(
                    Origin::Flag,
                    "per-file-ignores",
                    format!("expected `PATTERN:CODE[,CODE...]`, got `{entry}`"),
                ));
            };
            let codes: Vec<String> = codes.split(',').map(str::to_string).collect();
            let rules = union(&selectors(Origin::Flag, "per-file-ignores", &codes)?);
            per_file_ignores.push((pattern("per-file-ignores", glob, Origin::Flag)?, rules));
        }

        let setting =
            |flag: Option<bool>, pair: Option<bool>, file: Option<bool>| flag.or(pair).or(file);
        let unsafe_fixes = setting(
            overrides.unsafe_fixes,
            pairs.unsafe_fixes,
            options.unsafe_fixes,
        );
        let mut warnings = Vec::new();
        let extra_paths = match first([
            (pairs.extra_paths.as_ref(), Origin::Pair),
            (options.extra_paths.as_ref(), Origin::File),
        ]) {
            Some((paths, origin)) => {
                let folder = base(origin);
                let mut resolved = Vec::new();
                for path in paths {
                    let joined = folder.join(path);
                    if !joined.is_dir() {
                        let place = match origin {
                            Origin::File => config_file
                                .map_or_else(String::new, |file| format!("{}: ", file.display())),
                            Origin::Pair | Origin::Flag => "`--config`: ".to_string(),
                        };
                        warnings.push(format!(
                            "{place}`extra-paths`: `{path}` is not a folder ({} does not exist); imports are not looked for there",
                            joined.display()
                        ));
                    }
                    resolved.push(joined);
                }
                resolved
            }
            None => Vec::new(),
        };
        let mut import_paths = extra_paths;
        if let Some((python, origin)) = first([
            (pairs.python.as_ref(), Origin::Pair),
            (options.python.as_ref(), Origin::File),
        ]) {
            import_paths.extend(
                site_packages(base(origin), python).map_err(|e| fail(origin, "python", e))?,
            );
        }
        let cache_dir = match (&overrides.cache_dir, &pairs.cache_dir, &options.cache_dir) {
            (Some(dir), _, _) => dir.clone(),
            (None, Some(dir), _) => working_dir.join(dir),
            (None, None, Some(dir)) => root.join(dir),
            (None, None, None) => root.join(CACHE_DIR_NAME),
        };

        Ok(Self {
            root: root.to_path_buf(),
            config_file: config_file.map(Path::to_path_buf),
            linter: LinterSettings {
                rules,
                known_modules_only: setting(
                    overrides.known_modules_only,
                    pairs.known_modules_only,
                    options.known_modules_only,
                )
                .unwrap_or(false),
                not_module_packages: pairs
                    .not_module_packages
                    .clone()
                    .or_else(|| options.not_module_packages.clone())
                    .unwrap_or_default(),
                module_factories: pairs
                    .module_factories
                    .clone()
                    .or_else(|| options.module_factories.clone())
                    .unwrap_or_default(),
                not_module_factories: pairs
                    .not_module_factories
                    .clone()
                    .or_else(|| options.not_module_factories.clone())
                    .unwrap_or_default(),
            },
            exclude: FilePatterns::new(exclude),
            include: FilePatterns::new(include),
            per_file_ignored_rules: per_file_ignores.iter().map(|(_, rules)| *rules).collect(),
            per_file_ignores: FilePatterns::new(
                per_file_ignores
                    .into_iter()
                    .map(|(pattern, _)| pattern)
                    .collect(),
            ),
            respect_gitignore: setting(
                overrides.respect_gitignore,
                pairs.respect_gitignore,
                options.respect_gitignore,
            )
            .unwrap_or(true),
            force_exclude: setting(
                overrides.force_exclude,
                pairs.force_exclude,
                options.force_exclude,
            )
            .unwrap_or(false),
            output_format: overrides
                .output_format
                .or(pairs.output_format)
                .or(options.output_format)
                .unwrap_or_default(),
            import_paths,
            cache_dir,
            fix: setting(overrides.fix, pairs.fix, options.fix).unwrap_or(false),
            unsafe_fixes: unsafe_fixes.unwrap_or(false),
            unsafe_fixes_hint: unsafe_fixes.is_none(),
            warnings,
        })
    }

    /// The linter settings for one file, with its `per-file-ignores` applied.
    pub fn linter_for(&self, path: &Path) -> LinterSettings {
        let ignored = self
            .per_file_ignores
            .matching(path)
            .fold(RuleSet::empty(), |set, index| {
                set.union(self.per_file_ignored_rules[index])
            });
        LinterSettings {
            rules: self.linter.rules.difference(ignored),
            ..self.linter.clone()
        }
    }

    /// Whether a file found in a folder is one to check (`include`, `extend-include`).
    pub fn is_included(&self, path: &Path) -> bool {
        self.include.matches(path)
    }

    pub fn is_excluded(&self, path: &Path) -> bool {
        self.exclude.matches(path)
    }

    /// Whether `path` or a folder between it and this configuration's folder is excluded.
    pub fn is_excluded_with_ancestors(&self, path: &Path) -> bool {
        path.ancestors()
            .take_while(|ancestor| *ancestor != self.root && ancestor.starts_with(&self.root))
            .any(|ancestor| self.is_excluded(ancestor))
    }
}

/// The site-packages folders of an interpreter, as it reports its `sys.path`. The standard
/// library is left out: nmf knows its classes by name.
fn site_packages(root: &Path, python: &str) -> Result<Vec<PathBuf>, String> {
    let interpreter = if python == "active" {
        let environment = std::env::var_os("VIRTUAL_ENV").ok_or_else(|| {
            "\"active\": no virtual environment is active (VIRTUAL_ENV is not set)".to_string()
        })?;
        PathBuf::from(environment).join("bin").join("python")
    } else {
        root.join(python)
    };
    let output = std::process::Command::new(&interpreter)
        .args(["-c", "import json, sys; print(json.dumps(sys.path))"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", interpreter.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed to report its sys.path",
            interpreter.display()
        ));
    }
    let entries: Vec<String> = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("{} printed no sys.path: {error}", interpreter.display()))?;
    Ok(entries
        .into_iter()
        .map(PathBuf::from)
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name == "site-packages" || name == "dist-packages")
                && path.is_dir()
        })
        .collect())
}

fn parse_selectors(codes: &[String]) -> Result<Vec<RuleSelector>, String> {
    codes
        .iter()
        .map(|code| RuleSelector::from_str(code).map_err(|e| e.to_string()))
        .collect()
}

fn union(selectors: &[RuleSelector]) -> RuleSet {
    selectors.iter().fold(RuleSet::empty(), |set, selector| {
        set.union(selector.rules())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered rule's code except `excluded`, in registry order.
    fn all_codes_but(excluded: &str) -> Vec<&'static str> {
        nmf_linter::registry::ALL_RULES
            .iter()
            .map(|rule| rule.code)
            .filter(|code| *code != excluded)
            .collect()
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write config");
        path
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "nmf.toml", "selekt = [\"NMF001\"]\n");
        let error = load_options(&path).expect_err("unknown key");
        assert!(error.to_string().contains("selekt"), "{error}");
        let path = write(dir.path(), "pyproject.toml", "[tool.nmf]\nignor = []\n");
        let error = load_options(&path).expect_err("unknown key");
        assert!(error.to_string().contains("ignor"), "{error}");
    }

    #[test]
    fn pyproject_without_a_table_is_not_a_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "pyproject.toml",
            "[project]\nname = \"x\"\n[tool.black]\nline-length = 1\n",
        );
        assert!(find_config_in(dir.path()).expect("valid").is_none());
        write(dir.path(), "nmf.toml", "ignore = [\"NMF002\"]\n");
        let (found, options) = find_config_in(dir.path()).expect("valid").expect("found");
        assert!(found.ends_with("nmf.toml"));
        assert_eq!(options.ignore, Some(vec!["NMF002".to_string()]));
        write(dir.path(), ".nmf.toml", "select = [\"NMF001\"]\n");
        let (found, _) = find_config_in(dir.path()).expect("valid").expect("found");
        assert!(found.ends_with(".nmf.toml"));
    }

    #[test]
    fn invalid_codes_name_the_key_and_the_code() {
        let options = Options {
            extend_select: Some(vec!["NMF999".to_string()]),
            ..Options::default()
        };
        let error = Settings::resolve(
            Path::new("/p"),
            Some(Path::new("/p/nmf.toml")),
            &options,
            &Overrides::default(),
            Path::new("/p"),
        )
        .expect_err("invalid code");
        assert_eq!(
            error.to_string(),
            "/p/nmf.toml: `extend-select`: unknown rule selector `NMF999`: expected `ALL`, a rule code such as `NMF001`, or a code prefix such as `NMF`"
        );
    }

    #[test]
    fn command_line_overrides_configuration() {
        let options = Options {
            select: Some(vec!["NMF002".to_string()]),
            ignore: Some(vec!["NMF002".to_string()]),
            ..Options::default()
        };
        let overrides = Overrides {
            select: Some(vec!["NMF".to_string()]),
            ..Overrides::default()
        };
        let settings =
            Settings::resolve(Path::new("/p"), None, &options, &overrides, Path::new("/p"))
                .expect("valid");
        let codes: Vec<_> = settings.linter.rules.iter().map(|rule| rule.code).collect();
        assert_eq!(codes, all_codes_but("NMF002"));
    }

    #[test]
    fn per_file_ignores_match_names_and_relative_paths() {
        let mut table = BTreeMap::new();
        table.insert("tests/*.py".to_string(), vec!["NMF001".to_string()]);
        table.insert("conftest.py".to_string(), vec!["NMF".to_string()]);
        let options = Options {
            per_file_ignores: Some(table),
            ..Options::default()
        };
        let settings = Settings::resolve(
            Path::new("/p"),
            None,
            &options,
            &Overrides::default(),
            Path::new("/p"),
        )
        .expect("valid");
        let codes = |path: &str| -> Vec<&str> {
            settings
                .linter_for(Path::new(path))
                .rules
                .iter()
                .map(|rule| rule.code)
                .collect()
        };
        assert_eq!(codes("/p/tests/test_a.py"), all_codes_but("NMF001"));
        assert!(codes("/p/src/conftest.py").is_empty());
        assert_eq!(codes("/p/src/a.py"), all_codes_but(""));
    }

    #[test]
    fn default_excludes_prune_virtualenvs_by_name() {
        let settings = Settings::resolve(
            Path::new("/p"),
            None,
            &Options::default(),
            &Overrides::default(),
            Path::new("/p"),
        )
        .expect("valid");
        assert!(settings.is_excluded(Path::new("/p/.venv")));
        assert!(settings.is_excluded(Path::new("/p/sub/node_modules")));
        assert!(!settings.is_excluded(Path::new("/p/src")));
    }
}
