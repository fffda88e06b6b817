//! The YAML files of a SpeechBrain recipe, next to a checked script: `hparams/*.yaml`. NMF005
//! reads which of their objects `Brain` wraps (see `nmf_linter::semantic::wrap::hparams`); the
//! driver only finds and reads them, and says what it read so that a cached result is checked
//! again when a YAML changes, appears or goes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nmf_linter::semantic::wrap::hparams::MAX_CONFIG_BYTES;

use crate::source::fingerprint::{Fingerprint, now_nanos};
use crate::source::read_regular_file;

/// A recipe folder with more YAML files than this is not read: its scripts get no aliases.
const MAX_CONFIG_FILES: usize = 64;

/// A folder with more entries than this is not listed.
const MAX_FOLDER_ENTRIES: usize = 4096;

/// What reading a recipe's YAML files gave: their texts (`None`: no recipe folder, or a file
/// that could not be read, which means no alias), and every path read with what it was
/// (`None`: unreadable), for the cache.
pub(crate) struct RecipeConfigs {
    pub texts: Option<Vec<Arc<str>>>,
    pub read: Vec<(PathBuf, Option<Fingerprint>)>,
}

/// The texts of `hparams/*.yaml` (and `*.yml`) in `script_folder`, the folder of the checked
/// file. Without an `hparams` folder, the script's folder is what was read: creating one there
/// changes it.
pub(crate) fn read_recipe_configs(script_folder: &Path) -> RecipeConfigs {
    let mut read = Vec::new();
    let texts = read_into(script_folder, &mut read);
    RecipeConfigs { texts, read }
}

fn read_into(
    script_folder: &Path,
    read: &mut Vec<(PathBuf, Option<Fingerprint>)>,
) -> Option<Vec<Arc<str>>> {
    let folder = script_folder.join("hparams");
    let Some((fingerprint, entries)) = listed_folder(&folder) else {
        let listed = listed_folder(script_folder).map(|(fingerprint, _)| fingerprint);
        read.push((script_folder.to_path_buf(), listed));
        return None;
    };
    read.push((folder, Some(fingerprint)));
    let configs: Vec<PathBuf> = entries
        .into_iter()
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml" || extension == "yml")
        })
        .collect();
    if configs.is_empty() || configs.len() > MAX_CONFIG_FILES {
        return None;
    }
    let mut texts = Vec::with_capacity(configs.len());
    for path in configs {
        let Ok(file) = read_regular_file(&path) else {
            read.push((path, None));
            return None;
        };
        read.push((path, Some(file.fingerprint)));
        if file.bytes.len() > MAX_CONFIG_BYTES {
            return None;
        }
        let text = String::from_utf8(file.bytes).ok()?;
        texts.push(Arc::from(text));
    }
    Some(texts)
}

/// A folder's entries, sorted, and what it was when listed (its stat; the hash is of the
/// listing). A later run finds it unchanged only by an equal, settled stat: a folder cannot be
/// read as a file, so any other stat counts as a change.
fn listed_folder(folder: &Path) -> Option<(Fingerprint, Vec<PathBuf>)> {
    let read_at = now_nanos();
    let metadata = std::fs::metadata(folder).ok()?;
    if !metadata.is_dir() {
        return None;
    }
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(folder).ok()?.flatten() {
        if entries.len() == MAX_FOLDER_ENTRIES {
            return None;
        }
        entries.push(entry.path());
    }
    entries.sort();
    let listing: Vec<String> = entries
        .iter()
        .map(|path| path.to_string_lossy().into_owned())
        .collect();
    let fingerprint = Fingerprint::new(&metadata, listing.join("\0").as_bytes(), read_at);
    Some((fingerprint, entries))
}

#[cfg(test)]
mod tests {
    use super::read_recipe_configs;

    #[test]
    fn the_yaml_files_of_the_hparams_folder_are_read_and_recorded() {
        let recipe = tempfile::tempdir().expect("a temporary folder");
        let hparams = recipe.path().join("hparams");
        std::fs::create_dir(&hparams).expect("hparams");
        std::fs::write(hparams.join("a.yaml"), "CNN: !new:torch.nn.Linear\n").expect("a");
        std::fs::write(hparams.join("b.yml"), "x: 1\n").expect("b");
        std::fs::write(hparams.join("notes.txt"), "not a config").expect("notes");
        let configs = read_recipe_configs(recipe.path());
        let texts = configs.texts.expect("texts");
        assert_eq!(texts.len(), 2);
        assert_eq!(&*texts[0], "CNN: !new:torch.nn.Linear\n");
        let read: Vec<_> = configs.read.iter().map(|(path, _)| path.clone()).collect();
        assert_eq!(
            read,
            [
                hparams.clone(),
                hparams.join("a.yaml"),
                hparams.join("b.yml")
            ]
        );
        assert!(
            configs
                .read
                .iter()
                .all(|(_, fingerprint)| fingerprint.is_some())
        );
    }

    #[test]
    fn without_an_hparams_folder_the_script_folder_is_what_was_read() {
        let recipe = tempfile::tempdir().expect("a temporary folder");
        let configs = read_recipe_configs(recipe.path());
        assert!(configs.texts.is_none());
        assert_eq!(configs.read.len(), 1);
        assert_eq!(configs.read[0].0, recipe.path());
        assert!(configs.read[0].1.is_some());
    }

    #[test]
    fn a_yaml_that_is_not_text_means_no_configs() {
        let recipe = tempfile::tempdir().expect("a temporary folder");
        let hparams = recipe.path().join("hparams");
        std::fs::create_dir(&hparams).expect("hparams");
        std::fs::write(hparams.join("a.yaml"), b"\xff\xfe\x00").expect("a");
        assert!(read_recipe_configs(recipe.path()).texts.is_none());
    }
}
