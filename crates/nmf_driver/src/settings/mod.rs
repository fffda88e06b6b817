//! Which settings apply to each file: the closest configuration, found once per folder.

pub mod config;
pub mod discover;
pub mod options_doc;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::settings::config::{
    ConfigError, Options, Overrides, Settings, find_config_in, load_options,
};

/// Where settings come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The closest configuration file of each checked file.
    Discover,
    /// One file for everything (`--config`).
    File(PathBuf),
    /// No configuration files at all (`--isolated`).
    Isolated,
}

/// Finds and caches the settings of each folder.
pub struct SettingsResolver {
    source: ConfigSource,
    overrides: Overrides,
    working_dir: PathBuf,
    /// Settings for `--config`, `--isolated`, and folders with no configuration above them.
    fallback: Arc<Settings>,
    folders: Mutex<FxHashMap<PathBuf, Result<Arc<Settings>, ConfigError>>>,
}

impl SettingsResolver {
    pub fn new(
        source: ConfigSource,
        overrides: Overrides,
        working_dir: PathBuf,
    ) -> Result<Self, ConfigError> {
        let fallback = match &source {
            ConfigSource::File(path) => {
                let options = load_options(path)?.ok_or_else(|| ConfigError {
                    path: Some(path.clone()),
                    message: "has no `[tool.nmf]` table".to_string(),
                })?;
                let root = path
                    .parent()
                    .map_or_else(|| working_dir.clone(), Path::to_path_buf);
                Settings::resolve(&root, Some(path), &options, &overrides, &working_dir)?
            }
            ConfigSource::Discover | ConfigSource::Isolated => Settings::resolve(
                &working_dir,
                None,
                &Options::default(),
                &overrides,
                &working_dir,
            )?,
        };
        Ok(Self {
            source,
            overrides,
            working_dir,
            fallback: Arc::new(fallback),
            folders: Mutex::new(FxHashMap::default()),
        })
    }

    pub fn working_dir(&self) -> &Path {
        &self.working_dir
    }

    /// Whether every settings resolved so far (and those of folders with no configuration
    /// above them) pass `test`; `false` when a folder's configuration could not be read.
    pub fn every_resolved(&self, test: impl Fn(&Settings) -> bool) -> bool {
        test(&self.fallback)
            && self
                .lock()
                .values()
                .all(|resolved| resolved.as_ref().is_ok_and(|settings| test(settings)))
    }

    /// The settings that apply to files in `folder` (absolute).
    pub fn for_folder(&self, folder: &Path) -> Result<Arc<Settings>, ConfigError> {
        self.for_folder_knowing(folder, &|_| false)
    }

    /// [`SettingsResolver::for_folder`], where `configless` says of a folder that it is known
    /// to hold no configuration file (a remembered walk proves it of the folders it listed):
    /// such a folder is not looked in, and its parent's settings apply.
    pub fn for_folder_knowing(
        &self,
        folder: &Path,
        configless: &dyn Fn(&Path) -> bool,
    ) -> Result<Arc<Settings>, ConfigError> {
        if self.source != ConfigSource::Discover {
            return Ok(self.fallback.clone());
        }
        if let Some(found) = self.lock().get(folder) {
            return found.clone();
        }
        let looked_up = if configless(folder) {
            Ok(None)
        } else {
            find_config_in(folder)
        };
        let found = match looked_up {
            Err(error) => Err(error),
            Ok(Some((path, options))) => Settings::resolve(
                folder,
                Some(&path),
                &options,
                &self.overrides,
                &self.working_dir,
            )
            .map(Arc::new),
            Ok(None) => match folder.parent() {
                Some(parent) => self.for_folder_knowing(parent, configless),
                None => Ok(self.fallback.clone()),
            },
        };
        self.lock().insert(folder.to_path_buf(), found.clone());
        found
    }

    /// What decides the settings besides the files: where they come from, the command line's
    /// values and the working folder (a walk record is kept per identity).
    pub fn identity(&self) -> String {
        format!(
            "{:?}\0{:?}\0{:?}",
            self.source, self.overrides, self.working_dir
        )
    }

    /// The one configuration file of `--config`, if given.
    pub fn config_file(&self) -> Option<&Path> {
        match &self.source {
            ConfigSource::File(path) => Some(path),
            _ => None,
        }
    }

    /// The settings for the run as a whole (output format, fix mode): those of the working
    /// folder, as ruff takes them.
    pub fn global(&self) -> Result<Arc<Settings>, ConfigError> {
        self.for_folder(&self.working_dir)
    }

    /// The warnings of every configuration resolved so far (an `extra-paths` folder that does
    /// not exist), each once, sorted.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self.fallback.warnings.clone();
        for settings in self.lock().values().flatten() {
            warnings.extend(settings.warnings.iter().cloned());
        }
        warnings.sort();
        warnings.dedup();
        warnings
    }

    /// The settings of a file (absolute path).
    pub fn for_file(&self, path: &Path) -> Result<Arc<Settings>, ConfigError> {
        match path.parent() {
            Some(folder) => self.for_folder(folder),
            None => Ok(self.fallback.clone()),
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, FxHashMap<PathBuf, Result<Arc<Settings>, ConfigError>>> {
        // A panic while holding the lock cannot leave the map half-written: recover it.
        self.folders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
