//! The files `--fix` puts next to a file it writes, and which stay behind when the run is
//! killed outright (SIGKILL, a power cut) in the middle of a write:
//!
//! - a temporary copy, `.nmf-fix-<pid>-<name>-XXXXXX`, renamed over the file once whole; left
//!   behind, the file was never replaced (it is as it was) and the copy is of no use;
//! - the backup of an in-place write, `.nmf-backup-<pid>-<name>-XXXXXX`, which holds the fixed
//!   text until the file itself is written; left behind and equal to the file, the write
//!   finished; different from it, the file may be half-written and the backup is its fixed text.
//!
//! Each name carries the pid of the run that made it, so that the files of a run still going
//! (another `nmf check --fix` beside this one) are never taken for an interrupted run's.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The prefix of the temporary copies of an atomic replacement.
pub const TEMPORARY_PREFIX: &str = ".nmf-fix-";
/// The prefix of the backups kept while a file is written in place.
pub const BACKUP_PREFIX: &str = ".nmf-backup-";

/// The prefix of this process's temporary copy of the file named `file_name`.
pub fn temporary_prefix(file_name: &str) -> String {
    format!("{TEMPORARY_PREFIX}{}-{file_name}-", std::process::id())
}

/// The prefix of this process's backup of the file named `file_name`.
pub fn backup_prefix(file_name: &str) -> String {
    format!("{BACKUP_PREFIX}{}-{file_name}-", std::process::id())
}

/// Whether a file name is one of `--fix`'s temporary copies or backups.
pub fn is_leftover_name(name: &[u8]) -> bool {
    name.starts_with(TEMPORARY_PREFIX.as_bytes()) || name.starts_with(BACKUP_PREFIX.as_bytes())
}

/// Which kind of file a leftover is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftoverKind {
    Temporary,
    Backup,
}

/// A temporary copy or backup found next to the file it was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub path: PathBuf,
    pub kind: LeftoverKind,
    /// The run that made it; `None` for a name without one (made by an earlier nmf).
    pub pid: Option<u32>,
    /// The file it was made for, when its name says.
    pub file: Option<PathBuf>,
}

/// How a leftover compares with the file it was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Same,
    Differs,
    /// The file is gone, or its name is not known.
    NoFile,
}

impl Leftover {
    /// The leftover at `path`, if its name is one.
    pub fn parse(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let (kind, rest) = if let Some(rest) = name.strip_prefix(TEMPORARY_PREFIX) {
            (LeftoverKind::Temporary, rest)
        } else {
            (LeftoverKind::Backup, name.strip_prefix(BACKUP_PREFIX)?)
        };
        // `<pid>-<name>-<random>`; older names have no pid, and temporary copies no name.
        let (pid, rest) = match rest.split_once('-') {
            Some((digits, rest))
                if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) =>
            {
                (digits.parse().ok(), rest)
            }
            _ => (None, rest),
        };
        let file = rest
            .rsplit_once('-')
            .map(|(file_name, _)| file_name)
            .filter(|file_name| !file_name.is_empty())
            .and_then(|file_name| Some(path.parent()?.join(file_name)));
        Some(Self {
            path: path.to_path_buf(),
            kind,
            pid,
            file,
        })
    }

    /// Whether the run that made it may still be using it (see [`run_is_alive`]); a name
    /// without a pid is from a run long gone.
    pub fn run_is_alive(&self) -> bool {
        self.pid.is_some_and(run_is_alive)
    }

    /// Whether it holds the same bytes as the file it was made for.
    pub fn compare(&self) -> Comparison {
        let Some(file) = &self.file else {
            return Comparison::NoFile;
        };
        let (Ok(file_metadata), Ok(own_metadata)) =
            (std::fs::metadata(file), std::fs::metadata(&self.path))
        else {
            return Comparison::NoFile;
        };
        if !file_metadata.is_file() {
            return Comparison::NoFile;
        }
        if file_metadata.len() != own_metadata.len() {
            return Comparison::Differs;
        }
        match (read_all(file), read_all(&self.path)) {
            (Some(a), Some(b)) if a == b => Comparison::Same,
            (Some(_), Some(_)) => Comparison::Differs,
            _ => Comparison::NoFile,
        }
    }

    /// Whether `nmf clean` may remove it: its run is gone, and nothing would be lost (a
    /// temporary copy never is the only copy of anything; a backup is, when the file
    /// differs from it).
    pub fn is_removable(&self) -> bool {
        !self.run_is_alive()
            && (self.kind == LeftoverKind::Temporary || self.compare() == Comparison::Same)
    }

    /// What `nmf check` says of it, as a warning; `None` while its run is alive (or once it
    /// is gone).
    pub fn describe(&self, display: &str) -> Option<String> {
        if self.run_is_alive() || !self.path.is_file() {
            return None;
        }
        let run = match self.pid {
            Some(pid) => format!("an interrupted nmf run (pid {pid})"),
            None => "an interrupted nmf run".to_string(),
        };
        let file = self
            .file
            .as_deref()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned());
        let comparison = self.compare();
        Some(match (self.kind, file, comparison) {
            (LeftoverKind::Temporary, Some(file), Comparison::Same) => format!(
                "{display} was left by {run} fixing {file}, and holds the same text as {file}: \
                 `nmf clean` removes it"
            ),
            (LeftoverKind::Temporary, Some(file), Comparison::Differs) => format!(
                "{display} was left by {run} fixing {file}, which it never replaced (it differs \
                 from {file}): `nmf clean` removes it"
            ),
            (LeftoverKind::Temporary, _, _) => {
                format!("{display} was left by {run} fixing a file: `nmf clean` removes it")
            }
            (LeftoverKind::Backup, Some(file), Comparison::Same) => format!(
                "{display} is the backup of {file} that {run} kept while writing it, and {file} \
                 holds the same text (the write finished): `nmf clean` removes it"
            ),
            (LeftoverKind::Backup, Some(file), Comparison::Differs) => format!(
                "{display} holds the fixed text of {file} that {run} was writing in place, and \
                 differs from {file}, which may be half-written: compare them, keep the right \
                 one (to restore the fixed text, move the backup over {file}), then remove the \
                 backup (`nmf clean` leaves it)"
            ),
            (LeftoverKind::Backup, _, _) => format!(
                "{display} holds the fixed text of a file that {run} was writing in place, and \
                 that file is gone: keep it as that file, or remove it (`nmf clean` leaves it)"
            ),
        })
    }
}

fn read_all(path: &Path) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(crate::source::MAX_FILE_SIZE)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// Whether the process `pid` lives and, where the system can tell (Linux's `/proc`), runs
/// nmf: a pid is reused once its process is gone, so a live process running something else
/// does not make a leftover current.
pub fn run_is_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Some(process) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        match rustix::process::test_kill_process(process) {
            // Alive; or alive and someone else's.
            Ok(()) | Err(rustix::io::Errno::PERM) => {}
            Err(_) => return false,
        }
        match std::fs::read(format!("/proc/{pid}/cmdline")) {
            // The program, or the script an interpreter runs (`python …/bin/nmf`, `python -m
            // nmf`). A process that has exited but not been waited for has none.
            Ok(command_line) => command_line
                .split(|&byte| byte == 0)
                .take(3)
                .any(|argument| {
                    let name = argument
                        .rsplit(|&byte| byte == b'/')
                        .next()
                        .unwrap_or(argument);
                    name.windows(3).any(|window| window == b"nmf")
                }),
            // No `/proc`: alive is all that can be told.
            Err(_) => true,
        }
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Every leftover of `--fix` in `folder` (not below it).
pub fn leftovers_in(folder: &Path) -> Vec<Leftover> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<Leftover> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .filter_map(|entry| Leftover::parse(&entry.path()))
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_run_and_the_file() {
        let folder = Path::new("/src");
        let temporary = Leftover::parse(&folder.join(".nmf-fix-4242-a-b.py-XyZ123")).expect("one");
        assert_eq!(temporary.kind, LeftoverKind::Temporary);
        assert_eq!(temporary.pid, Some(4242));
        assert_eq!(temporary.file, Some(folder.join("a-b.py")));
        let backup = Leftover::parse(&folder.join(".nmf-backup-7-m.py-aaaaaa")).expect("one");
        assert_eq!(
            (backup.kind, backup.pid, backup.file),
            (LeftoverKind::Backup, Some(7), Some(folder.join("m.py")))
        );
        // Names made by an earlier nmf: no pid; a temporary copy named no file.
        let old = Leftover::parse(&folder.join(".nmf-fix-AbC123")).expect("one");
        assert_eq!((old.pid, old.file), (None, None));
        let old = Leftover::parse(&folder.join(".nmf-backup-m.py-AbC123")).expect("one");
        assert_eq!((old.pid, old.file), (None, Some(folder.join("m.py"))));
        assert!(Leftover::parse(&folder.join("m.py")).is_none());
        let own = temporary_prefix("x.py");
        assert!(own.starts_with(TEMPORARY_PREFIX) && own.ends_with("-x.py-"));
        assert!(is_leftover_name(own.as_bytes()));
    }

    #[test]
    fn this_process_lives_and_an_exited_one_does_not() {
        assert!(run_is_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().expect("runs");
        let pid = child.id();
        child.wait().expect("exits");
        assert!(!run_is_alive(pid));
    }
}
