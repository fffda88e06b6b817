//! What a file was when it was read, as the cache compares it on the next run: its identity and
//! time stamps, and a hash of its bytes for when the stamps cannot be trusted.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A stamp this close to the moment it was taken (or later) may hide an edit made within the
/// same tick of a coarse file-system clock: such a file is compared by content next time.
/// Two seconds, as git allows (FAT stamps in steps of 2 s; clocks of network file systems drift).
const SETTLING_NANOS: i64 = 2_000_000_000;

/// For nmf's own tests only: the settling margin in milliseconds, instead of two seconds, so
/// that a test of what the cache trusts need not wait out the real margin. It must exceed the
/// file system's time stamp granularity or the cache may trust a stat that hides an edit.
pub const TEST_SETTLING_VARIABLE: &str = "NMF_TEST_SETTLING_MS";

/// The settling margin: [`SETTLING_NANOS`] unless a test set [`TEST_SETTLING_VARIABLE`]; read
/// once per process.
fn settling_nanos() -> i64 {
    static MARGIN: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *MARGIN.get_or_init(|| {
        std::env::var(TEST_SETTLING_VARIABLE)
            .ok()
            .and_then(|millis| millis.parse::<u32>().ok())
            .map_or(SETTLING_NANOS, |millis| i64::from(millis) * 1_000_000)
    })
}

/// Nanoseconds since the Unix epoch.
pub fn now_nanos() -> i64 {
    nanos(SystemTime::now())
}

/// A time as nanoseconds since the Unix epoch, in an `i64` (the years 1678 to 2262): a stamp
/// outside is held at the end of the range. Held at the far end, a stamp is never settled (see
/// [`Stat::settled_at`]), so such a file is always compared by content; held at the near end,
/// the change time, which no one can set back, still tells an edit.
fn nanos(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos().try_into().unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |nanos| -nanos),
    }
}

/// Seconds and nanoseconds since the Unix epoch as [`nanos`] holds them.
fn stamp_nanos(seconds: i64, nanoseconds: i64) -> i64 {
    seconds
        .checked_mul(1_000_000_000)
        .and_then(|whole| whole.checked_add(nanoseconds))
        .unwrap_or(if seconds < 0 { i64::MIN } else { i64::MAX })
}

/// What `stat` says of a path: enough to notice that it changed without reading it. The
/// change time moves on every write and cannot be set back (`touch -r` sets only the
/// modification time), so an edit that keeps size and modification time still shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    /// [`Stat::FILE`], [`Stat::FOLDER`], [`Stat::LINK`] or [`Stat::OTHER`]; a byte, as the
    /// cache stores it.
    pub kind: u8,
    pub device: u64,
    pub inode: u64,
    pub len: u64,
    /// Nanoseconds since the Unix epoch (see [`now_nanos`]): 8 bytes rather than 16, as a
    /// warm run holds a stat for every file of the tree.
    pub modified: i64,
    pub changed: i64,
}

impl Stat {
    /// A regular file.
    pub const FILE: u8 = 0;
    /// A folder.
    pub const FOLDER: u8 = 1;
    /// A link, not followed.
    pub const LINK: u8 = 2;
    /// Anything else (a FIFO, a device, a socket): reading refuses it, and Python's imports do
    /// not take it for a file.
    pub const OTHER: u8 = 3;

    pub fn of(metadata: &std::fs::Metadata) -> Self {
        let kind = if metadata.is_dir() {
            Self::FOLDER
        } else if metadata.file_type().is_symlink() {
            Self::LINK
        } else if metadata.is_file() {
            Self::FILE
        } else {
            Self::OTHER
        };
        #[cfg(unix)]
        let (device, inode, changed) = {
            use std::os::unix::fs::MetadataExt;
            (
                metadata.dev(),
                metadata.ino(),
                stamp_nanos(metadata.ctime(), metadata.ctime_nsec()),
            )
        };
        #[cfg(not(unix))]
        let (device, inode, changed) = (0, 0, metadata.modified().map_or(0, nanos));
        Self {
            kind,
            device,
            inode,
            len: metadata.len(),
            modified: metadata.modified().map_or(0, nanos),
            changed,
        }
    }

    /// The path's stat, following links as reading does; `None` when it does not exist or
    /// cannot be looked at.
    pub fn of_path(path: &Path) -> Option<Self> {
        std::fs::metadata(path)
            .ok()
            .map(|metadata| Self::of(&metadata))
    }

    /// The stats of `paths`, all in one folder, as [`Stat::of_path`] takes them. On Linux
    /// each is taken relative to the folder, opened once, so that the kernel walks the
    /// folder's path once rather than once per file (most of a warm run's time).
    pub fn of_paths_in_folder<P: AsRef<Path>>(paths: &[P]) -> Vec<Option<Self>> {
        #[cfg(target_os = "linux")]
        if let Some(folder) = paths.first().and_then(|path| path.as_ref().parent()) {
            use rustix::fs::{Mode, OFlags};
            let opened = rustix::fs::open(
                folder,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            );
            if let Ok(folder_fd) = opened {
                return Self::of_names_in(&folder_fd, paths);
            }
        }
        paths
            .iter()
            .map(|path| Self::of_path(path.as_ref()))
            .collect()
    }

    /// The stat of `folder` as [`Stat::of_entry`] takes it, and those of `paths` (all in it) as
    /// [`Stat::of_paths_in_folder`] takes them: on Linux from one opening of the folder, so
    /// that a remembered walk, which compares each folder's stat, and the cache, which
    /// compares each file's, walk the folder's path once between them.
    pub fn of_folder_and_paths<P: AsRef<Path>>(
        folder: &Path,
        paths: &[P],
    ) -> (Option<Self>, Vec<Option<Self>>) {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};
            // Not following a link, as `of_entry`: a link put in the folder's place fails to
            // open as a folder and is looked at by path below.
            let opened = rustix::fs::open(
                folder,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            );
            if let Ok(folder_fd) = opened {
                let own = rustix::fs::statx(
                    &folder_fd,
                    "",
                    AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
                    StatxFlags::BASIC_STATS,
                )
                .ok()
                .map(|found| Self::of_statx(&found));
                return (own, Self::of_names_in(&folder_fd, paths));
            }
        }
        (
            Self::of_entry(folder),
            paths
                .iter()
                .map(|path| Self::of_path(path.as_ref()))
                .collect(),
        )
    }

    /// The stats of `paths`, taken by name relative to their folder, opened as `folder_fd`
    /// (following links, as [`Stat::of_path`]).
    #[cfg(target_os = "linux")]
    fn of_names_in<P: AsRef<Path>>(
        folder_fd: &rustix::fd::OwnedFd,
        paths: &[P],
    ) -> Vec<Option<Self>> {
        use rustix::fs::{AtFlags, StatxFlags};
        paths
            .iter()
            .map(|path| {
                let name = path.as_ref().file_name()?;
                let found =
                    rustix::fs::statx(folder_fd, name, AtFlags::empty(), StatxFlags::BASIC_STATS)
                        .ok()?;
                Some(Self::of_statx(&found))
            })
            .collect()
    }

    #[cfg(target_os = "linux")]
    fn of_statx(found: &rustix::fs::Statx) -> Self {
        let mode = u32::from(found.stx_mode) & 0o170000;
        let time = |stamp: &rustix::fs::StatxTimestamp| {
            stamp_nanos(stamp.tv_sec, i64::from(stamp.tv_nsec))
        };
        Self {
            kind: match mode {
                0o100000 => Self::FILE,
                0o040000 => Self::FOLDER,
                0o120000 => Self::LINK,
                _ => Self::OTHER,
            },
            device: rustix::fs::makedev(found.stx_dev_major, found.stx_dev_minor),
            inode: found.stx_ino,
            len: found.stx_size,
            modified: time(&found.stx_mtime),
            changed: time(&found.stx_ctime),
        }
    }

    /// The path's own stat, not following a link (as a folder walk sees entries).
    pub fn of_entry(path: &Path) -> Option<Self> {
        std::fs::symlink_metadata(path)
            .ok()
            .map(|metadata| Self::of(&metadata))
    }

    /// Whether both time stamps were older than `taken_at` by a margin: only then does an
    /// equal stat later prove the content unchanged.
    pub fn settled_at(&self, taken_at: i64) -> bool {
        let settled = taken_at.saturating_sub(settling_nanos());
        self.modified < settled && self.changed < settled
    }
}

/// Takes [`Stat::of_folder_and_paths`] for many folders, one after another, opening each from
/// the closest folder it opened before that holds it, by name: the kernel then looks up one
/// name per folder instead of every name of its absolute path (on 16 projects, most of what a
/// warm run's stats cost was these lookups). Folders given in sorted order keep only the
/// folders above the current one open.
#[derive(Default)]
pub struct FolderStats {
    /// The folders open, each inside the one before it, with their paths.
    #[cfg(target_os = "linux")]
    open: Vec<(String, rustix::fd::OwnedFd)>,
}

impl FolderStats {
    /// What [`Stat::of_folder_and_paths`] gives for `folder` and `paths`.
    pub fn of_folder_and_paths<P: AsRef<Path>>(
        &mut self,
        folder: &str,
        paths: &[P],
    ) -> (Option<Stat>, Vec<Option<Stat>>) {
        #[cfg(target_os = "linux")]
        if let Some(folder_fd) = self.open_folder(folder) {
            use rustix::fs::{AtFlags, StatxFlags};
            let own = rustix::fs::statx(
                folder_fd,
                "",
                AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
                StatxFlags::BASIC_STATS,
            )
            .ok()
            .map(|found| Stat::of_statx(&found));
            return (own, Stat::of_names_in(folder_fd, paths));
        }
        Stat::of_folder_and_paths(Path::new(folder), paths)
    }

    /// The stat of `folder` and of each of `names` in it (a name may hold separators), as
    /// [`Stat::of_entry`] takes them by path (not following a link at the end).
    pub fn of_folder_and_entries(
        &mut self,
        folder: &str,
        names: &[&str],
    ) -> (Option<Stat>, Vec<Option<Stat>>) {
        #[cfg(target_os = "linux")]
        if let Some(folder_fd) = self.open_folder(folder) {
            use rustix::fs::{AtFlags, StatxFlags};
            let entry = |name: &str| {
                let flags = if name.is_empty() {
                    AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW
                } else {
                    AtFlags::SYMLINK_NOFOLLOW
                };
                rustix::fs::statx(folder_fd, name, flags, StatxFlags::BASIC_STATS)
                    .ok()
                    .map(|found| Stat::of_statx(&found))
            };
            return (entry(""), names.iter().map(|name| entry(name)).collect());
        }
        let folder = Path::new(folder);
        (
            Stat::of_entry(folder),
            names
                .iter()
                .map(|name| Stat::of_entry(&folder.join(name)))
                .collect(),
        )
    }

    /// `folder` (absolute, with plain names only) opened name by name from the closest
    /// folder open above it, without following links: `None` when a name is a link, is no
    /// folder or cannot be opened, or the path is not of that form (taken by path instead).
    #[cfg(target_os = "linux")]
    fn open_folder(&mut self, folder: &str) -> Option<&rustix::fd::OwnedFd> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if !folder.starts_with('/') {
            return None;
        }
        // Close what does not hold `folder`.
        while let Some((above, _)) = self.open.last() {
            let holds = folder == above
                || folder
                    .strip_prefix(above.as_str())
                    .is_some_and(|rest| above.ends_with('/') || rest.starts_with('/'));
            if holds {
                break;
            }
            self.open.pop();
        }
        if self.open.is_empty() {
            let root = rustix::fs::open("/", flags, Mode::empty()).ok()?;
            self.open.push(("/".to_string(), root));
        }
        let start = self.open.last().map_or(0, |(above, _)| above.len());
        for name in folder[start..].split('/').filter(|name| !name.is_empty()) {
            if name == "." || name == ".." {
                self.open.clear();
                return None;
            }
            let (above, above_fd) = self.open.last()?;
            let opened = match rustix::fs::openat(above_fd, name, flags, Mode::empty()) {
                Ok(opened) => opened,
                Err(_) => {
                    self.open.clear();
                    return None;
                }
            };
            let path = if above.ends_with('/') {
                format!("{above}{name}")
            } else {
                format!("{above}/{name}")
            };
            self.open.push((path, opened));
        }
        let (opened, fd) = self.open.last()?;
        // A path with doubled or trailing separators is taken by path, as the walk names it.
        (opened == folder).then_some(fd)
    }
}

/// A file as it was read: its stat, a hash of its bytes, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub stat: Stat,
    pub hash: u128,
    pub read_at: i64,
}

impl Fingerprint {
    pub fn new(metadata: &std::fs::Metadata, bytes: &[u8], read_at: i64) -> Self {
        Self {
            stat: Stat::of(metadata),
            hash: hash_bytes(bytes),
            read_at,
        }
    }

    /// Whether the file at `path` still holds what was read: by its stat alone when that is
    /// equal and was settled when read; otherwise by reading it and comparing the hash.
    pub fn still_holds(&self, path: &Path) -> Freshness {
        self.still_holds_as(path, Stat::of_path(path))
    }

    /// The same, with the path's stat taken already.
    pub fn still_holds_as(&self, path: &Path, stat: Option<Stat>) -> Freshness {
        let Some(stat) = stat else {
            return Freshness::Changed;
        };
        if stat == self.stat && stat.settled_at(self.read_at) {
            return Freshness::Same;
        }
        let read_at = now_nanos();
        match std::fs::read(path) {
            Ok(bytes) if hash_bytes(&bytes) == self.hash => Freshness::SameContent(Self {
                stat,
                hash: self.hash,
                read_at,
            }),
            _ => Freshness::Changed,
        }
    }
}

/// What [`Fingerprint::still_holds`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Same,
    /// The stat changed (or was not settled) but the bytes are the same: the new fingerprint.
    SameContent(Fingerprint),
    Changed,
}

pub fn hash_bytes(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// A path, and its stat and summary (`None`: it did not exist).
pub type SnapshotEntry = (String, Option<(Stat, u64)>);

/// What a folder walk saw: each path it depends on (folders listed, files read, ignore files
/// consulted) with its stat and a summary of what mattered in it (`None`: it did not exist).
/// The walk would find the same as long as each path still has the same stat, or, when the
/// stat changed, the same summary: an edit inside a function body changes a file's stat but
/// not what a search of the project reads of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub taken_at: i64,
    pub paths: Vec<SnapshotEntry>,
}

impl Snapshot {
    /// Whether every path still holds what it held: `None` if one changed; otherwise the
    /// snapshot again, with the stats that changed (content the same) taken anew, when any did.
    pub fn still_holds(
        &self,
        stat_of: impl Fn(&Path) -> Option<Stat> + Sync,
        summarize: impl Fn(&Path, &Stat) -> Option<u64> + Sync,
    ) -> Option<Option<Self>> {
        use rayon::prelude::*;
        let taken_at = now_nanos();
        let checked: Option<Vec<Option<SnapshotEntry>>> = self
            .paths
            .par_iter()
            .map(|(path, then)| {
                let now = stat_of(Path::new(path));
                match (then, now) {
                    (None, None) => Some(None),
                    (Some((stat, summary)), Some(now)) => {
                        if now == *stat && stat.settled_at(self.taken_at) {
                            return Some(None);
                        }
                        (summarize(Path::new(path), &now)? == *summary)
                            .then(|| Some((path.clone(), Some((now, *summary)))))
                    }
                    _ => None,
                }
            })
            .collect();
        let refreshed: Vec<_> = checked?.into_iter().flatten().collect();
        if refreshed.is_empty() {
            return Some(None);
        }
        let mut paths = self.paths.clone();
        let mut updates = refreshed.into_iter().peekable();
        for entry in &mut paths {
            if updates.peek().is_some_and(|(path, _)| *path == entry.0)
                && let Some((_, update)) = updates.next()
            {
                entry.1 = update;
            }
        }
        Some(Some(Self { taken_at, paths }))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn stats_taken_in_a_folder_equal_stats_taken_by_path() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let paths: Vec<PathBuf> = ["a.py", "b.py", "missing.py", "sub"]
            .iter()
            .map(|name| folder.path().join(name))
            .collect();
        std::fs::write(&paths[0], "x = 1\n").expect("write");
        std::fs::write(&paths[1], "").expect("write");
        std::fs::create_dir(&paths[3]).expect("mkdir");
        let by_path: Vec<Option<Stat>> = paths.iter().map(|path| Stat::of_path(path)).collect();
        assert_eq!(Stat::of_paths_in_folder(&paths), by_path);
        assert!(by_path[0].is_some() && by_path[2].is_none() && by_path[3].is_some());
        assert_eq!(
            Stat::of_folder_and_paths(folder.path(), &paths),
            (Stat::of_entry(folder.path()), by_path.clone())
        );
        // A link in a folder's place: its own stat (not the folder's), and the files' through it.
        #[cfg(unix)]
        {
            let link = folder.path().join("link");
            std::os::unix::fs::symlink(folder.path(), &link).expect("link");
            let through: Vec<PathBuf> = ["a.py", "missing.py"]
                .iter()
                .map(|name| link.join(name))
                .collect();
            let (own, stats) = Stat::of_folder_and_paths(&link, &through);
            assert_eq!(own, Stat::of_entry(&link));
            assert_eq!(own.map(|stat| stat.kind), Some(Stat::LINK));
            assert_eq!(stats, vec![by_path[0], None]);
        }
    }

    #[test]
    fn stats_of_folders_opened_one_from_another_equal_stats_taken_by_path() {
        let temporary = tempfile::tempdir().expect("a temporary folder");
        let root = temporary.path().to_path_buf();
        std::fs::write(root.join("m.py"), "").expect("write");
        for folder in ["a", "a/b", "a/b/c", "a/d", "e"] {
            std::fs::create_dir(root.join(folder)).expect("mkdir");
            std::fs::write(root.join(folder).join("m.py"), folder).expect("write");
        }
        // In sorted order, then out of it (back up to a folder above, across to a sibling),
        // then a folder that is missing, a link in a folder's place and a path named through
        // a link: each as a lookup by path gives it.
        let mut order = vec![
            "", "a", "a/b", "a/b/c", "a/d", "e", "a/b", "", "missing", "e",
        ];
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("a"), root.join("link")).expect("link");
            order.extend(["link", "link/b", "a/b/c"]);
        }
        let mut folders = FolderStats::default();
        for name in order {
            let folder = if name.is_empty() {
                root.clone()
            } else {
                root.join(name)
            };
            let paths = [folder.join("m.py"), folder.join("missing.py")];
            let text = folder.to_str().expect("a UTF-8 path");
            let expected = Stat::of_folder_and_paths(&folder, &paths);
            assert_eq!(
                folders.of_folder_and_paths(text, &paths),
                expected,
                "{name}"
            );
            let names = ["m.py", "missing.py", "../e/m.py"];
            let by_path = (
                Stat::of_entry(&folder),
                names
                    .iter()
                    .map(|entry| Stat::of_entry(&folder.join(entry)))
                    .collect::<Vec<_>>(),
            );
            assert_eq!(
                folders.of_folder_and_entries(text, &names),
                by_path,
                "{name}"
            );
            if name != "missing" && name != "link" {
                assert!(
                    expected.0.is_some_and(|stat| stat.kind == Stat::FOLDER),
                    "{name}"
                );
                assert!(expected.1[0].is_some() && expected.1[1].is_none(), "{name}");
            }
        }
    }
}
