//! Hostile files and file systems, end to end with the built binary: special files named `*.py`,
//! huge and generated files, unreadable folders, and `--fix` on read-only files, hard links,
//! other users' files, interrupted runs. Permission cases run as `nobody` when the tests run
//! as root (as CI does), since permissions stop nothing for root. The cases of a file owned by
//! another user need root to set up: they are `#[ignore = "needs root"]`, and `scripts/test`
//! runs them when it runs as root.

#![cfg(unix)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};

use common::{NMF001, Tree, is_root};

const FIXABLE: &str = "import torch.nn as nn\nm = nn.Linear(1, 1)\ny = m.forward(x)\n";
const FIXED: &str = "import torch.nn as nn\nm = nn.Linear(1, 1)\ny = m(x)\n";

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn special_files_named_py_are_e902_and_never_read() {
    let tree = Tree::new();
    tree.write("ok.py", "model.forward(x)\n");
    let fifo = tree.join("pipe.py");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", tree.join("zero.py")).expect("symlink");
    std::os::unix::fs::symlink("/dev/urandom", tree.join("random.py")).expect("symlink");
    let _socket = std::os::unix::net::UnixListener::bind(tree.join("socket.py")).expect("socket");
    // In a walked folder.
    let walked = tree.run(&["check"]);
    assert_eq!(
        walked.findings().lines().collect::<Vec<_>>(),
        [
            format!("ok.py:1:1: {NMF001}"),
            "pipe.py:1:1: E902 OSError: not a regular file: a FIFO (named pipe); only regular files are read".to_string(),
            "random.py:1:1: E902 OSError: not a regular file: a character device; only regular files are read".to_string(),
            "socket.py:1:1: E902 OSError: not a regular file: a socket; only regular files are read".to_string(),
            "zero.py:1:1: E902 OSError: not a regular file: a character device; only regular files are read".to_string(),
        ]
    );
    assert_eq!(walked.status, 1);
    // Named on the command line.
    let named = tree.run(&["check", "pipe.py", "zero.py"]);
    assert_eq!(
        named.locations(),
        ["pipe.py:1:1: E902", "zero.py:1:1: E902"]
    );
}

#[test]
fn a_file_over_the_size_limit_is_e902_not_read() {
    let tree = Tree::new();
    let big = std::fs::File::create(tree.join("big.py")).expect("create");
    // Sparse: no disk is used, and nmf must refuse it from its size.
    big.set_len(256 * 1024 * 1024 + 1).expect("set_len");
    let run = tree.run(&["check"]);
    assert_eq!(
        run.findings(),
        "big.py:1:1: E902 OSError: the file is larger than 256 MiB, which nmf does not read\n"
    );
}

#[test]
fn generated_files_with_thousands_of_calls_are_checked_whole() {
    let tree = Tree::new();
    tree.write("lines.py", "model.forward(x)\n".repeat(64_000))
        .write(
            "chain.py",
            format!("y = m{}\n", ".forward()".repeat(32_000)),
        );
    let run = tree.run(&["check", "--statistics"]);
    assert_eq!(
        run.stdout,
        "96000\tNMF001\t[ ] module-forward-call\nFound 96000 errors.\n\
         96000 unsafe fixes available with `--fix --unsafe-fixes`.\n",
        "{}",
        run.stderr
    );
    let diff = tree.run(&["check", "--diff", "--unsafe-fixes", "chain.py"]);
    assert!(
        diff.stdout.contains("+y = m()"),
        "{}",
        &diff.stdout[..200.min(diff.stdout.len())]
    );
    // A frame of a line of 320 kB shows a window of it.
    let full = tree.run(&["check", "--output-format", "full", "chain.py"]);
    let longest = full.stdout.lines().map(str::len).max().unwrap_or_default();
    assert!(longest < 1_000, "a frame line of {longest} bytes");
}

#[test]
fn unreadable_folders_are_e902_naming_them() {
    let tree = Tree::new();
    tree.write("locked/a.py", "model.forward(x)\n")
        .write("listless/b.py", "model.forward(x)\n")
        .write("ok.py", "x = 1\n");
    chmod(&tree.join("locked"), 0o000);
    chmod(&tree.join("listless"), 0o311);
    let run = tree.run_unprivileged(&["check"]);
    assert_eq!(
        run.findings().lines().collect::<Vec<_>>(),
        [
            "listless:1:1: E902 PermissionError: Permission denied (os error 13)",
            "locked:1:1: E902 PermissionError: Permission denied (os error 13)",
        ]
    );
    assert_eq!(run.status, 1);
    // A file named inside them: the folder that cannot be searched says why; the one that
    // cannot be listed still lets the file be read.
    // (The cache, which nobody may write here, is beside the point.)
    let named = tree.run_unprivileged(&["check", "--no-cache", "locked/a.py", "listless/b.py"]);
    assert_eq!(
        named.findings().lines().collect::<Vec<_>>(),
        [
            format!("listless/b.py:1:1: {NMF001}"),
            "locked/a.py:1:1: E902 PermissionError: Permission denied (os error 13)".to_string(),
        ]
    );
    assert_eq!(named.stderr, "");
    chmod(&tree.join("locked"), 0o755);
    chmod(&tree.join("listless"), 0o755);
}

#[test]
fn fix_refuses_a_read_only_file() {
    let tree = Tree::new();
    tree.write("ro.py", FIXABLE).write("rw.py", FIXABLE);
    tree.give_to_nobody();
    chmod(&tree.join("ro.py"), 0o444);
    // As the file's owner, in a folder the owner may write: the rename would succeed.
    let run = tree.run_unprivileged(&["check", "--fix"]);
    assert!(
        run.stderr.contains(
            "nmf: error: ro.py: fixes not written, the file is unchanged: it is read-only"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(tree.read("ro.py"), FIXABLE.as_bytes());
    assert_eq!(tree.read("rw.py"), FIXED.as_bytes());
    // Root is refused too, as editors refuse.
    let as_root = tree.run(&["check", "--fix", "ro.py"]);
    assert!(
        as_root.stderr.contains("it is read-only"),
        "{}",
        as_root.stderr
    );
    assert_eq!(tree.read("ro.py"), FIXABLE.as_bytes());
    let metadata = std::fs::metadata(tree.join("ro.py")).expect("metadata");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o444);
}

#[test]
fn fix_keeps_hard_links_together() {
    let tree = Tree::new();
    tree.write("a.py", FIXABLE);
    std::fs::hard_link(tree.join("a.py"), tree.join("alias.py")).expect("hard link");
    let inode = std::fs::metadata(tree.join("a.py"))
        .expect("metadata")
        .ino();
    let run = tree.run(&["check", "--fix", "a.py"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(tree.read("a.py"), FIXED.as_bytes());
    assert_eq!(tree.read("alias.py"), FIXED.as_bytes());
    let after = std::fs::metadata(tree.join("a.py")).expect("metadata");
    assert_eq!((after.ino(), after.nlink()), (inode, 2));
    let leftovers: Vec<String> = std::fs::read_dir(tree.path())
        .expect("read")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(".nmf-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Fails a test that cannot run without root, rather than let it pass having tested nothing.
/// Such tests are `#[ignore = "needs root"]`: `.ci/run`, as root, runs them.
fn needs_root() {
    assert!(
        is_root(),
        "this test needs root (only root can own a file as another user): run it as root"
    );
}

#[test]
#[ignore = "needs root"]
fn fix_as_root_keeps_the_owner() {
    needs_root();
    let tree = Tree::new();
    tree.write("theirs.py", FIXABLE);
    let path = tree.join("theirs.py");
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).expect("chown");
    chmod(&path, 0o640);
    let inode = std::fs::metadata(&path).expect("metadata").ino();
    let run = tree.run(&["check", "--fix"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(tree.read("theirs.py"), FIXED.as_bytes());
    let metadata = std::fs::metadata(&path).expect("metadata");
    // A copy, given the owner, replaced the file (written in place, it would keep its owner
    // without being given it).
    assert_ne!(metadata.ino(), inode, "the file was not replaced");
    assert_eq!((metadata.uid(), metadata.gid()), (65534, 65534));
    assert_eq!(metadata.permissions().mode() & 0o777, 0o640);
}

#[test]
#[ignore = "needs root"]
fn fix_writes_in_place_when_the_owner_cannot_be_kept() {
    needs_root();
    // A group-writable file of root's in a folder nobody may write: nobody cannot give a
    // new file to root, so the file is written in place and keeps its owner.
    let tree = Tree::new();
    tree.write("shared.py", FIXABLE);
    let path = tree.join("shared.py");
    std::os::unix::fs::chown(&path, Some(0), Some(65534)).expect("chown");
    chmod(&path, 0o664);
    let inode = std::fs::metadata(&path).expect("metadata").ino();
    std::os::unix::fs::chown(tree.path(), Some(65534), Some(65534)).expect("chown folder");
    let run = tree.run_unprivileged(&["check", "--fix"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(tree.read("shared.py"), FIXED.as_bytes());
    let metadata = std::fs::metadata(&path).expect("metadata");
    assert_eq!(
        metadata.ino(),
        inode,
        "the file was replaced, not written in place"
    );
    assert_eq!((metadata.uid(), metadata.gid()), (0, 65534));
}

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("true runs");
    let pid = child.id();
    child.wait().expect("true exits");
    pid
}

/// A process that stays alive until dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn leftovers_of_killed_fix_runs_are_named_by_check_and_removed_by_clean_and_a_live_runs_kept() {
    let tree = Tree::new();
    let dead = dead_pid();
    // A live nmf (a language server waiting for its client), and a live process that is not
    // nmf (as when an old run's pid was reused).
    let server = Running(
        Command::new(env!("CARGO_BIN_EXE_nmf"))
            .arg("server")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nmf server runs"),
    );
    let other = Running(Command::new("sleep").arg("60").spawn().expect("sleep runs"));
    let live = server.0.id();
    let reused = other.0.id();
    let half_written = "import torch.nn as nn\nm = nn.Linear(1, 1)\ny = m(x)\nm.forw";
    tree.write("a.py", FIXABLE)
        .write("b.py", FIXED)
        .write("pkg/c.py", half_written)
        .write(&format!(".nmf-fix-{dead}-a.py-AAAAAA"), "half a copy")
        .write(&format!(".nmf-backup-{dead}-b.py-BBBBBB"), FIXED)
        .write(&format!("pkg/.nmf-backup-{dead}-c.py-CCCCCC"), FIXED)
        .write(
            &format!(".nmf-fix-{live}-a.py-DDDDDD"),
            "a running nmf's copy",
        )
        .write(&format!(".nmf-fix-{reused}-a.py-EEEEEE"), FIXABLE)
        .write(".nmf-fix-OLD123", "a copy made by an earlier nmf");
    let expected = [
        format!(
            "nmf: warning: .nmf-backup-{dead}-b.py-BBBBBB is the backup of b.py that an \
             interrupted nmf run (pid {dead}) kept while writing it, and b.py holds the same text \
             (the write finished): `nmf clean` removes it"
        ),
        format!(
            "nmf: warning: .nmf-fix-{dead}-a.py-AAAAAA was left by an interrupted nmf run (pid \
             {dead}) fixing a.py, which it never replaced (it differs from a.py): `nmf clean` \
             removes it"
        ),
        format!(
            "nmf: warning: .nmf-fix-{reused}-a.py-EEEEEE was left by an interrupted nmf run (pid \
             {reused}) fixing a.py, and holds the same text as a.py: `nmf clean` removes it"
        ),
        "nmf: warning: .nmf-fix-OLD123 was left by an interrupted nmf run fixing a file: `nmf \
         clean` removes it"
            .to_string(),
        format!(
            "nmf: warning: pkg/.nmf-backup-{dead}-c.py-CCCCCC holds the fixed text of c.py that an \
             interrupted nmf run (pid {dead}) was writing in place, and differs from c.py, which \
             may be half-written: compare them, keep the right one (to restore the fixed text, \
             move the backup over c.py), then remove the backup (`nmf clean` leaves it)"
        ),
    ];
    // Said by every check that walks their folders, from the cache's remembered walk too.
    for _ in 0..2 {
        let run = tree.run(&["check", "."]);
        let warnings: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.starts_with("nmf: warning:"))
            .collect();
        assert_eq!(warnings, expected, "{}", run.stderr);
        std::thread::sleep(common::SETTLE);
    }
    let clean = tree.run(&["clean"]);
    assert_eq!(clean.status, 0, "{}", clean.stderr);
    for removed in [
        format!(".nmf-fix-{dead}-a.py-AAAAAA"),
        format!(".nmf-backup-{dead}-b.py-BBBBBB"),
        format!(".nmf-fix-{reused}-a.py-EEEEEE"),
        ".nmf-fix-OLD123".to_string(),
    ] {
        assert!(!tree.join(&removed).exists(), "{removed} is left");
        assert!(
            clean.stderr.contains(&format!(
                "Removed {removed}, left by an interrupted nmf run"
            )),
            "{}",
            clean.stderr
        );
    }
    let kept_backup = format!("pkg/.nmf-backup-{dead}-c.py-CCCCCC");
    let live_copy = format!(".nmf-fix-{live}-a.py-DDDDDD");
    assert_eq!(tree.read(&kept_backup), FIXED.as_bytes());
    assert!(
        clean.stderr.contains(&format!(
            "nmf: {kept_backup} holds fixed text that its file does not; left alone"
        )),
        "{}",
        clean.stderr
    );
    assert!(tree.join(&live_copy).exists());
    assert!(
        clean.stderr.contains(&format!(
            "nmf: {live_copy} belongs to an nmf run that is still going (pid {live}); left alone"
        )),
        "{}",
        clean.stderr
    );
    // Nothing else was touched.
    assert_eq!(tree.read("a.py"), FIXABLE.as_bytes());
    assert_eq!(tree.read("b.py"), FIXED.as_bytes());
    assert_eq!(tree.read("pkg/c.py"), half_written.as_bytes());
    // The live run's copy is not mentioned by a check either.
    let run = tree.run(&["check", "--no-cache", "."]);
    assert!(!run.stderr.contains(&live_copy), "{}", run.stderr);
    drop(server);
    drop(other);
}

/// Files in `tree`'s folder that `--fix` writes next to a file.
fn fix_leftovers(tree: &Tree) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(tree.path())
        .expect("read")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(".nmf-fix-") || name.starts_with(".nmf-backup-"))
        .collect();
    names.sort();
    names
}

/// Starts `nmf check --fix` with `args` in `tree`, and returns it once one of `files` no longer
/// holds `body` (a first file is fixed).
fn fix_run_past_its_first_fix(
    tree: &Tree,
    args: &[&str],
    files: &[String],
    body: &str,
) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_nmf"))
        .args(["check", "--fix", "--quiet"])
        .args(args)
        .current_dir(tree.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nmf runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while files.iter().all(|name| tree.read(name) == body.as_bytes()) {
        assert!(std::time::Instant::now() < deadline, "no file was fixed");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child
}

/// Kills (SIGKILL) a `--fix` run over many small files once it has fixed one, so that it is
/// usually in the middle of a write (each is synced); every other file has a second link, so
/// that it is written in place through a backup. Checks that nothing was lost, and returns
/// the tree with what the run left behind.
fn kill_a_fix_run(body: &str, fixed_body: &str) -> (Tree, Vec<String>) {
    const FILES: usize = 1500;
    let tree = Tree::new();
    std::fs::create_dir_all(tree.join("links")).expect("a folder");
    for index in 0..FILES {
        let name = format!("f{index:04}.py");
        tree.write(&name, body);
        if index % 2 == 1 {
            std::fs::hard_link(tree.join(&name), tree.join(&format!("links/{name}")))
                .expect("a hard link");
        }
    }
    let names: Vec<String> = (0..FILES).map(|index| format!("f{index:04}.py")).collect();
    let mut child =
        fix_run_past_its_first_fix(&tree, &["--no-cache", "--exclude", "links"], &names, body);
    child.kill().expect("SIGKILL");
    child.wait().expect("nmf is gone");
    let left = fix_leftovers(&tree);
    // Every file is its original or its fixed text, or, written in place when the run was
    // killed, has a backup with its fixed text.
    for index in 0..FILES {
        let name = format!("f{index:04}.py");
        let text = tree.read(&name);
        if text != body.as_bytes() && text != fixed_body.as_bytes() {
            let backup = left
                .iter()
                .find(|leftover| {
                    leftover.starts_with(".nmf-backup-") && leftover.contains(&format!("-{name}-"))
                })
                .unwrap_or_else(|| panic!("{name} is torn and has no backup"));
            assert_eq!(tree.read(backup), fixed_body.as_bytes());
        }
    }
    (tree, left)
}

#[test]
fn a_fix_run_killed_outright_loses_nothing_and_its_leftovers_are_named_and_cleaned() {
    let body = format!("{FIXABLE}{}", "z = m.forward(z)\n".repeat(50));
    let fixed_body = body.replace("m.forward(", "m(");
    // A kill between two writes leaves nothing: try until one leaves something (most do).
    let (tree, left) = (0..20)
        .map(|_| kill_a_fix_run(&body, &fixed_body))
        .find(|(_, left)| !left.is_empty())
        .expect("no killed run left a temporary copy or a backup in 20 tries");
    // A check names each leftover, and `nmf clean` removes all but backups whose file differs.
    let check = tree.run(&["check", "--no-cache", "--exclude", "links,f*.py", "."]);
    for leftover in &left {
        assert!(
            check.stderr.contains(&format!("nmf: warning: {leftover} ")),
            "{leftover} is not named:\n{}",
            check.stderr
        );
    }
    let clean = tree.run(&["clean"]);
    assert_eq!(clean.status, 0, "{}", clean.stderr);
    for leftover in fix_leftovers(&tree) {
        assert!(
            leftover.starts_with(".nmf-backup-"),
            "{leftover} was not removed"
        );
        let name = leftover.split('-').nth(3).expect("the file's name");
        assert_ne!(
            tree.read(name),
            tree.read(&leftover),
            "{leftover} is the same as {name}"
        );
    }
}

#[test]
fn an_interrupted_fix_leaves_no_temporary_file() {
    let tree = Tree::new();
    // Enough large files that the run is still writing when it is interrupted.
    let body = format!("{FIXABLE}{}", "z = m.forward(z)\n".repeat(20_000));
    for index in 0..400 {
        tree.write(&format!("f{index:03}.py"), &body);
    }
    // Interrupted once the first files are fixed.
    let names: Vec<String> = (0..400).map(|index| format!("f{index:03}.py")).collect();
    let mut child = fix_run_past_its_first_fix(&tree, &[], &names, &body);
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill")
            .success()
    );
    let status = child.wait().expect("nmf exits");
    let leftovers: Vec<String> = std::fs::read_dir(tree.path())
        .expect("read")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(".nmf-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Every file is either untouched or wholly fixed.
    let fixed_body = body.replace("m.forward(", "m(");
    for index in 0..400 {
        let text = tree.read(&format!("f{index:03}.py"));
        assert!(
            text == body.as_bytes() || text == fixed_body.as_bytes(),
            "f{index:03}.py is torn"
        );
    }
    // Interrupted (130) or, on a machine fast enough to finish first, done (0).
    assert!(matches!(status.code(), Some(130 | 0)), "{status:?}");
}

#[test]
fn two_byte_order_marks_are_a_syntax_error_as_in_cpython() {
    let tree = Tree::new();
    tree.write("bom2.py", b"\xef\xbb\xbf\xef\xbb\xbfmodel.forward(x)\n");
    let run = tree.run(&["check"]);
    assert_eq!(
        run.findings(),
        "bom2.py:1:1: E999 SyntaxError: invalid non-printable character U+FEFF\n"
    );
}

#[test]
fn control_characters_are_escaped_in_text_and_exact_in_json() {
    let tree = Tree::new();
    let name = "a\u{1b}[31mred\nb\u{2028}.py";
    tree.write(name, "x = 1\n\u{1b}model.forward(x)\n");
    let concise = tree.run(&["check"]);
    assert_eq!(
        concise.findings(),
        "a\\x1b[31mred\\nb\\u2028.py:2:1: E999 SyntaxError: invalid non-printable character U+001B\n"
    );
    let github = tree.run(&["check", "--output-format", "github"]);
    assert!(!github.stdout.contains('\u{1b}') && github.stdout.lines().count() == 1);
    let json = tree.run(&["check", "--output-format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(parsed[0]["filename"], name);
    let full = tree.run(&["check", "--output-format", "full"]);
    assert!(!full.stdout.contains('\u{1b}') && !full.stdout.contains('\u{2028}'));
}
