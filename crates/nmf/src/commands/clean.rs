//! `nmf clean`: remove the cache, and what `--fix` runs killed mid-write left behind.

use std::path::{Path, PathBuf};

use nmf_driver::settings::config::CACHE_DIR_NAME;
use nmf_driver::settings::config::Overrides;
use nmf_driver::settings::discover::absolutize;
use nmf_driver::settings::{ConfigSource, SettingsResolver};
use nmf_driver::source::leftovers::{Leftover, leftovers_in};

use crate::args::CleanArgs;
use crate::{EXIT_CLEAN, Error};

/// Removes the cache folder `nmf check` would use here, and every `.nmf_cache` folder below
/// the current folder that nmf made (it holds nmf's `CACHEDIR.TAG`), as `ruff clean` does; and
/// below the current folder, the temporary copies and backups of `--fix` runs that were killed
/// (those whose run is gone and which hold nothing their file lacks: see
/// [`Leftover::is_removable`]), naming each.
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
    let (caches, leftovers) = caches_and_leftovers_below(&working_dir);
    folders.extend(caches);
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
    for leftover in leftovers {
        clean_leftover(&leftover, &working_dir);
    }
    Ok(EXIT_CLEAN)
}

/// Removes a leftover of `--fix` when nothing is lost by it; says what it did, or why not.
fn clean_leftover(leftover: &Leftover, working_dir: &Path) {
    let display = leftover
        .path
        .strip_prefix(working_dir)
        .unwrap_or(&leftover.path)
        .display();
    let run = leftover
        .pid
        .map_or_else(String::new, |pid| format!(" (pid {pid})"));
    if leftover.run_is_alive() {
        eprintln!("nmf: {display} belongs to an nmf run that is still going{run}; left alone");
    } else if !leftover.is_removable() {
        eprintln!(
            "nmf: {display} holds fixed text that its file does not; left alone (`nmf check` \
             says more)"
        );
    } else {
        match std::fs::remove_file(&leftover.path) {
            Ok(()) => eprintln!("Removed {display}, left by an interrupted nmf run{run}"),
            Err(error) => eprintln!("nmf: could not remove {display}: {error}"),
        }
    }
}

fn made_by_nmf(folder: &Path) -> bool {
    std::fs::read_to_string(folder.join("CACHEDIR.TAG"))
        .is_ok_and(|tag| tag.contains("created by nmf"))
}

/// Every folder named `.nmf_cache` below `root`, and every leftover of `--fix` in the other
/// folders there, without entering caches or following links.
fn caches_and_leftovers_below(root: &Path) -> (Vec<PathBuf>, Vec<Leftover>) {
    let mut caches = Vec::new();
    let mut leftovers = leftovers_in(root);
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
                caches.push(entry.path());
            } else {
                leftovers.extend(leftovers_in(&entry.path()));
                folders.push(entry.path());
            }
        }
    }
    leftovers.sort_by(|a, b| a.path.cmp(&b.path));
    (caches, leftovers)
}
