//! `--watch`: check, then check again whenever a Python file, a notebook or a configuration file
//! under the paths changes, as `ruff check --watch` does.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use notify::{Event, RecursiveMode, Watcher};

use crate::args::CheckArgs;
use crate::commands::check::summary::errors;
use crate::commands::check::{check_paths, print_warnings, resolver, run_options, use_color};
use crate::printer::{PrintStyle, print_messages};
use crate::{EXIT_USAGE, Error};

/// How long to wait for the rest of a burst of changes (an editor's save, `git checkout`)
/// before checking once for all of them.
const SETTLE: Duration = Duration::from_millis(100);

/// Watches until interrupted. The configuration is read again for every check, so that an
/// edit to it takes effect; an invalid one is reported and the watch goes on.
pub fn run(args: &CheckArgs, paths: &[PathBuf], working_dir: &Path) -> Result<u8, Error> {
    let (sender, events) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(sender)?;
    for path in paths {
        let absolute = nmf_driver::settings::discover::absolutize(path, working_dir);
        // A file is watched through its folder: editors save by replacing the file, which
        // ends a watch on the file itself.
        let (watched, mode) = match absolute.parent() {
            Some(folder) if absolute.is_file() => {
                (folder.to_path_buf(), RecursiveMode::NonRecursive)
            }
            _ => (absolute, RecursiveMode::Recursive),
        };
        if let Err(error) = watcher.watch(&watched, mode) {
            eprintln!("nmf: error: cannot watch {}: {error}", path.display());
            return Ok(EXIT_USAGE);
        }
    }
    // The configuration of the working folder may live above the paths watched.
    if let Ok(resolver) = resolver(args, working_dir)
        && let Ok(global) = resolver.global()
        && let Some(config) = &global.config_file
    {
        let _ = watcher.watch(config, RecursiveMode::NonRecursive);
    }
    clear_screen();
    println!("Starting linter in watch mode...");
    check_and_print(args, paths, working_dir)?;
    loop {
        if !wait_for_change(&events) {
            // The watcher is gone: nothing more will come.
            return Ok(EXIT_USAGE);
        }
        clear_screen();
        println!("File change detected...");
        check_and_print(args, paths, working_dir)?;
    }
}

/// One check, printed as ruff prints it in watch mode: the count, then the findings.
fn check_and_print(args: &CheckArgs, paths: &[PathBuf], working_dir: &Path) -> Result<(), Error> {
    let resolver = match resolver(args, working_dir) {
        Ok(resolver) => Arc::new(resolver),
        Err(error) => {
            eprintln!("nmf: error: {error}");
            return Ok(());
        }
    };
    let global = match resolver.global() {
        Ok(global) => global,
        Err(error) => {
            eprintln!("nmf: error: {error}");
            return Ok(());
        }
    };
    let options = run_options(args, &global);
    let result = match check_paths(paths, &resolver, options) {
        Ok(result) => result,
        Err(error) => {
            eprintln!("nmf: error: {error}");
            return Ok(());
        }
    };
    print_warnings(args, &resolver, &result)?;
    if args.silent {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if !args.quiet {
        writeln!(
            out,
            "Found {}. Watching for file changes.",
            errors(result.messages.len())
        )?;
    }
    if !result.messages.is_empty() {
        if !args.quiet {
            writeln!(out)?;
        }
        let style = PrintStyle {
            color: use_color(args.color),
            unsafe_fixes: options.unsafe_fixes,
        };
        print_messages(&mut out, &result.messages, global.output_format, style)?;
    }
    out.flush()?;
    Ok(())
}

/// Waits for a change that can alter the findings, then for the burst it belongs to to end.
/// `false` when the watcher stopped.
fn wait_for_change(events: &Receiver<notify::Result<Event>>) -> bool {
    loop {
        match events.recv() {
            Ok(Ok(event)) if matters(&event) => break,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    loop {
        match events.recv_timeout(SETTLE) {
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// Changes to Python files, notebooks, configuration and ignore files; not reads, and not
/// the cache nmf writes itself.
fn matters(event: &Event) -> bool {
    if event.kind.is_access() || event.kind.is_other() {
        return false;
    }
    if event.need_rescan() {
        return true;
    }
    event.paths.iter().any(|path| {
        let name = path.file_name().and_then(|name| name.to_str());
        let extension = path.extension().and_then(|extension| extension.to_str());
        matches!(extension, Some("py" | "pyi" | "pyw" | "ipynb" | "toml"))
            || matches!(name, Some(".gitignore" | ".ignore"))
    })
}

/// Clears a terminal as `clear` does (and its scroll-back); output to a file or a pipe is left
/// as a log of every check.
fn clear_screen() {
    let mut out = std::io::stdout();
    if out.is_terminal() {
        let _ = write!(out, "\x1b[H\x1b[2J\x1b[3J");
        let _ = out.flush();
    }
}
