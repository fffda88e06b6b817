//! The configuration documents are checked with, read again when a configuration file changes.

use std::path::PathBuf;
use std::sync::Arc;

use nmf_driver::check::CheckOptions;
use nmf_driver::run::{FixMode, RunOptions};
use nmf_driver::settings::config::{ConfigError, Overrides};
use nmf_driver::settings::{ConfigSource, SettingsResolver};

pub struct Settings {
    pub resolver: Arc<SettingsResolver>,
    /// What the resolver is made from, to make it again.
    root: PathBuf,
    overrides: Overrides,
    unsafe_fixes: bool,
}

impl Settings {
    pub fn new(root: PathBuf, overrides: Overrides) -> Result<Self, ConfigError> {
        let resolver =
            SettingsResolver::new(ConfigSource::Discover, overrides.clone(), root.clone())?;
        let unsafe_fixes = resolver
            .global()
            .map(|global| global.unsafe_fixes)
            .unwrap_or(false);
        Ok(Self {
            resolver: Arc::new(resolver),
            root,
            overrides,
            unsafe_fixes,
        })
    }

    /// Reads the configuration again; a broken one keeps the settings as they were (each
    /// check then says what is wrong with it).
    pub fn reload(&mut self) {
        if let Ok(settings) = Self::new(self.root.clone(), self.overrides.clone()) {
            *self = settings;
        }
    }

    /// The workspace's root folder, where documents that are no files are placed.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// How documents are checked: as `nmf check` checks standard input, without the cache.
    pub fn run_options(&self, fix: FixMode) -> RunOptions {
        RunOptions {
            check: CheckOptions {
                respect_noqa: true,
                prefilter: true,
            },
            frames: false,
            fix,
            unsafe_fixes: self.unsafe_fixes,
            explanations: false,
            cache: false,
            add_noqa: false,
        }
    }

    /// Whether `path` is a file discovery would check (`include`): a file the client asks
    /// about that is not one has no findings.
    pub fn includes(&self, path: &std::path::Path) -> bool {
        self.resolver
            .for_file(path)
            .is_ok_and(|settings| settings.is_included(path))
    }

    /// How the workspace's files are checked: as `nmf check` checks them in its root, with
    /// the cache.
    pub fn workspace_run_options(&self) -> RunOptions {
        RunOptions {
            cache: true,
            ..self.run_options(FixMode::Off)
        }
    }
}
