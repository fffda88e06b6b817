//! Writing a fixed file back, with no surprise on disk: only if it is still the file nmf read,
//! never a read-only one, keeping its owner, group, mode and hard links, atomically, and
//! leaving no temporary file behind when the run is interrupted (SIGINT, SIGTERM).
//!
//! A file with one link is replaced: the new text goes to a temporary file next to it
//! (`.nmf-fix-<pid>-<name>-*`), which is synced, given the file's owner and mode, and renamed
//! over it. A file with several links (or whose owner the temporary file could not take) is
//! written in place, so that every name keeps seeing it: first the new text is synced to a
//! backup (`.nmf-backup-<pid>-<name>-*`), then the file is overwritten, then the backup
//! removed; if the write fails, or the process dies during it, the backup holds the intact
//! fixed text and a message says where. A run killed outright leaves these files behind: the
//! next check that walks their folder names them, and `nmf clean` removes those that hold
//! nothing the file lacks (see [`crate::source::leftovers`]).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::source::FileStamp;
use crate::source::leftovers::{backup_prefix, temporary_prefix};

/// Temporary files being written right now. On SIGINT or SIGTERM, [`remove_temporaries`]
/// deletes them; an in-place write holds the lock for its whole duration, so that an
/// interruption waits for it to finish rather than leave a half-written file.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes the temporary files of writes in progress; called when the process is interrupted,
/// just before it exits. Waits for an in-place write to finish.
pub fn remove_temporaries() {
    let pending = lock(&PENDING);
    for path in pending.iter() {
        let _ = std::fs::remove_file(path);
    }
}

/// A temporary file registered for removal on interruption until it is dropped.
struct Registered(PathBuf);

impl Registered {
    fn new(path: &Path) -> Self {
        lock(&PENDING).push(path.to_path_buf());
        Self(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&PENDING).retain(|pending| pending != &self.0);
    }
}

/// Writes `bytes` to the file at `path` (a link is followed to its target), provided it is
/// still the file that `stamp` describes; else a sentence saying why the file was not written
/// (and, in the one case where it may be half-written, where the fixed text is).
pub fn write_fixed(path: &Path, stamp: Option<FileStamp>, bytes: &[u8]) -> Result<(), String> {
    write_checked(path, stamp, bytes).map_err(|reason| match reason {
        Refusal::Unchanged(reason) => format!("fixes not written, the file is unchanged: {reason}"),
        Refusal::InPlaceFailed(reason) => reason,
    })
}

/// Why a file was not written.
enum Refusal {
    /// Nothing was written to the file.
    Unchanged(String),
    /// Writing in place failed midway; the message says where the fixed text is.
    InPlaceFailed(String),
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Refusal::Unchanged(reason)
    }
}

fn write_checked(path: &Path, stamp: Option<FileStamp>, bytes: &[u8]) -> Result<(), Refusal> {
    let target = std::fs::canonicalize(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => {
            "it was deleted since nmf read it, and was not recreated".to_string()
        }
        _ => format!("cannot resolve its path: {error}"),
    })?;
    let folder = target
        .parent()
        .ok_or_else(|| "it has no parent folder".to_string())?;
    let metadata = still_the_same(&target, stamp)?;
    if is_read_only(&target, &metadata) {
        return Err("it is read-only".to_string().into());
    }
    if link_count(&metadata) > 1 {
        write_in_place(&target, folder, stamp, bytes)?;
    } else {
        replace(&target, folder, &metadata, stamp, bytes)?;
    }
    Ok(())
}

/// The file's metadata, if it is still the file nmf read: same device and inode, same size
/// and modification time. Anything else (deleted, replaced, edited meanwhile) is left alone.
fn still_the_same(target: &Path, stamp: Option<FileStamp>) -> Result<std::fs::Metadata, String> {
    let metadata = std::fs::metadata(target).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => {
            "it was deleted since nmf read it, and was not recreated".to_string()
        }
        _ => format!("cannot read its metadata: {error}"),
    })?;
    match stamp {
        Some(stamp) if stamp != FileStamp::of(&metadata) => {
            Err("it was replaced or changed since nmf read it (run nmf again)".to_string())
        }
        _ => Ok(metadata),
    }
}

/// The file has no write permission for anyone, or none for this process: an editor would
/// refuse to save it, and so does nmf (root could, through the rename).
fn is_read_only(target: &Path, metadata: &std::fs::Metadata) -> bool {
    if metadata.permissions().readonly() {
        return true;
    }
    #[cfg(unix)]
    {
        rustix::fs::access(target, rustix::fs::Access::WRITE_OK).is_err()
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        false
    }
}

fn link_count(metadata: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        metadata.nlink()
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        1
    }
}

/// Replaces the file by a temporary copy renamed over it, or writes it in place when the copy
/// cannot take the file's owner.
fn replace(
    target: &Path,
    folder: &Path,
    metadata: &std::fs::Metadata,
    stamp: Option<FileStamp>,
    bytes: &[u8],
) -> Result<(), Refusal> {
    let temporary = tempfile::Builder::new()
        .prefix(&temporary_prefix(&file_name(target)))
        .tempfile_in(folder)
        .map_err(|e| format!("cannot create a temporary file next to it: {e}"))?;
    let _registered = Registered::new(temporary.path());
    let file = temporary.as_file();
    write_synced(file, bytes).map_err(|e| format!("cannot write a temporary file: {e}"))?;
    if !take_owner(file, metadata) {
        // Only root may give a file away: write in place, which keeps the owner.
        drop(temporary);
        return write_in_place(target, folder, stamp, bytes);
    }
    file.set_permissions(metadata.permissions())
        .map_err(|e| format!("cannot keep its permissions: {e}"))?;
    // The last moment to notice that someone else deleted or replaced the file.
    still_the_same(target, stamp)?;
    temporary
        .persist(target)
        .map_err(|e| format!("cannot replace it: {}", e.error))?;
    Ok(())
}

/// Gives the temporary file the original's owner and group; `false` when that is not allowed.
fn take_owner(file: &File, original: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(current) = file.metadata() else {
            return false;
        };
        if current.uid() == original.uid() && current.gid() == original.gid() {
            return true;
        }
        std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid())).is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = (file, original);
        true
    }
}

/// Overwrites the file itself (same inode, so every hard link sees the fix), after syncing the
/// new text to a backup next to it; the backup is removed once the file is written.
fn write_in_place(
    target: &Path,
    folder: &Path,
    stamp: Option<FileStamp>,
    bytes: &[u8],
) -> Result<(), Refusal> {
    let backup = tempfile::Builder::new()
        .prefix(&backup_prefix(&file_name(target)))
        .tempfile_in(folder)
        .map_err(|e| format!("cannot create a backup next to it: {e}"))?;
    write_synced(backup.as_file(), bytes).map_err(|e| format!("cannot write a backup: {e}"))?;
    let backup_path = backup
        .into_temp_path()
        .keep()
        .map_err(|e| format!("cannot keep the backup: {e}"))?;
    // An interruption now waits until the file is whole again.
    let pending = lock(&PENDING);
    let written = still_the_same(target, stamp)
        .map_err(Refusal::Unchanged)
        .and_then(|_| {
            let file = OpenOptions::new()
                .write(true)
                .open(target)
                .map_err(|e| Refusal::Unchanged(format!("cannot open it for writing: {e}")))?;
            (|| {
                (&file).write_all(bytes)?;
                file.set_len(bytes.len() as u64)?;
                file.sync_all()
            })()
            .map_err(|e| {
                Refusal::InPlaceFailed(format!(
                    "writing the fixes into the file failed midway ({e}): the fixed text is in {}",
                    backup_path.display()
                ))
            })
        });
    drop(pending);
    if !matches!(written, Err(Refusal::InPlaceFailed(_))) {
        // Written, or nothing was written: the backup is not needed.
        let _ = std::fs::remove_file(&backup_path);
    }
    written
}

fn write_synced(mut file: &File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

/// The name of the file at `target`, as the names of its temporary copy and backup carry it.
fn file_name(target: &Path) -> String {
    target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::read_source;

    fn setup(text: &str) -> (tempfile::TempDir, PathBuf, Option<FileStamp>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.py");
        std::fs::write(&path, text).expect("write");
        let stamp = read_source(&path).expect("read").stamp;
        (dir, path, stamp)
    }

    #[test]
    fn a_file_deleted_since_it_was_read_is_not_recreated() {
        let (_dir, path, stamp) = setup("x = 1\n");
        std::fs::remove_file(&path).expect("remove");
        let error = write_fixed(&path, stamp, b"x = 2\n").expect_err("refused");
        assert!(error.contains("deleted since nmf read it"), "{error}");
        assert!(!path.exists());
    }

    #[test]
    fn a_file_replaced_or_edited_since_it_was_read_is_left_alone() {
        let (dir, path, stamp) = setup("x = 1\n");
        // Replaced by another file (a new inode), as `git checkout` does.
        let other = dir.path().join("other.py");
        std::fs::write(&other, "x = 1\n").expect("write");
        std::fs::rename(&other, &path).expect("rename");
        let error = write_fixed(&path, stamp, b"x = 2\n").expect_err("refused");
        assert!(
            error.contains("replaced or changed since nmf read it"),
            "{error}"
        );
        assert_eq!(std::fs::read(&path).expect("read"), b"x = 1\n");
        // Edited in place: same inode, new size.
        let (_dir, path, stamp) = setup("x = 1\n");
        std::fs::write(&path, "x = 10\n").expect("edit");
        let error = write_fixed(&path, stamp, b"x = 2\n").expect_err("refused");
        assert!(error.contains("replaced or changed"), "{error}");
        assert_eq!(std::fs::read(&path).expect("read"), b"x = 10\n");
    }

    #[test]
    fn an_unchanged_file_is_replaced_and_nothing_is_left_behind() {
        let (dir, path, stamp) = setup("x = 1\n");
        write_fixed(&path, stamp, b"x = 2\n").expect("written");
        assert_eq!(std::fs::read(&path).expect("read"), b"x = 2\n");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        assert_eq!(names, ["a.py"]);
        assert!(lock(&PENDING).is_empty());
    }
}
