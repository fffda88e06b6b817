//! `nmf clean`: remove the cache.

use std::path::{Path, PathBuf};

use nmf_driver::settings::config::CACHE_DIR_NAME;
use nmf_driver::settings::config::Overrides;
use nmf_driver::settings::discover::absolutize;
use nmf_driver::settings::{ConfigSource, SettingsResolver};

use crate::args::CleanArgs;
use crate::{EXIT_CLEAN, Error};

/// Removes the cache folder `nmf check` would use here, and every `.nmf_cache` folder below
/// the current folder that nmf made (it holds nmf's `CACHEDIR.TAG`), as `ruff clean` does.
pub fn run(args: &CleanArgs) -> Result<u8, Error> {
    let working_dir = std::env::current_dir()?;
    let source = if args.isolated {
        ConfigSource::Isolated
    } else {
        ConfigSource::Discover
    };
    let overrides = Overrides {
        cache_dir: args
            .cache_dir
            .as_ref()
            .map(|dir| absolutize(dir, &working_dir)),
        ..Overrides::default()
    };
    let resolver = SettingsResolver::new(source, overrides, working_dir.clone())?;
    let mut folders = vec![resolver.global()?.cache_dir.clone()];
    folders.extend(caches_below(&working_dir));
    folders.sort();
    folders.dedup();
    for folder in folders {
        if !folder.exists() {
            continue;
        }
        if !made_by_nmf(&folder) {
            eprintln!(
                "nmf: {} was not made by nmf (no nmf CACHEDIR.TAG in it); left alone",
                folder.display()
            );
            continue;
        }
        match std::fs::remove_dir_all(&folder) {
            Ok(()) => eprintln!("Removed cache at: {}", folder.display()),
            Err(error) => eprintln!("nmf: could not remove {}: {error}", folder.display()),
        }
    }
    Ok(EXIT_CLEAN)
}

fn made_by_nmf(folder: &Path) -> bool {
    std::fs::read_to_string(folder.join("CACHEDIR.TAG"))
        .is_ok_and(|tag| tag.contains("created by nmf"))
}

/// Every folder named `.nmf_cache` below `root`, without entering them or following links.
fn caches_below(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            // The entry's own type: a link to a folder is not entered.
            if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            if entry.file_name() == CACHE_DIR_NAME {
                found.push(entry.path());
            } else {
                folders.push(entry.path());
            }
        }
    }
    found
}
