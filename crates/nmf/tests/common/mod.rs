//! Runs the built `nmf` binary on temporary trees.

#![allow(dead_code, reason = "each test file uses a different part")]

pub mod lsp;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const NMF001: &str =
    "NMF001 Do not call .forward() directly; use model(inputs) instead so DDP backward hooks run";

/// A run that takes longer than this has hung (a FIFO read, an endless loop): the test fails
/// instead of blocking the suite.
pub const HANG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The settling margin the runs of these tests use (see `NMF_TEST_SETTLING_MS`): the cache
/// trusts a file's stat only when its stamps are this much older than the run that recorded
/// it. Far above the file systems' stamp granularity (a clock tick), far below git's 2 s.
pub const TEST_SETTLING_MILLIS: u64 = 100;

/// Time stamps closer than the margin to a run are not trusted by the cache (it compares the
/// content then): tests that need the cache to trust a stat wait this long first.
pub const SETTLE: std::time::Duration = std::time::Duration::from_millis(TEST_SETTLING_MILLIS + 50);

/// Waits for `child`, killing it and failing the test if it outlives `timeout`.
pub fn wait_at_most(
    mut child: std::process::Child,
    timeout: std::time::Duration,
) -> std::process::Output {
    let deadline = std::time::Instant::now() + timeout;
    // Read the pipes on threads, so that a chatty child never blocks on a full pipe.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = std::io::Read::read_to_end(pipe, &mut bytes);
        }
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = std::io::Read::read_to_end(pipe, &mut bytes);
        }
        bytes
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for nmf") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nmf did not finish within {timeout:?}: it hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// A temporary folder to run `nmf` in.
pub struct Tree {
    dir: tempfile::TempDir,
}

/// What a run printed, and its exit status.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Tree {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file, creating its folders.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(&path, contents).expect("write file");
        self
    }

    pub fn read(&self, relative: &str) -> Vec<u8> {
        std::fs::read(self.join(relative)).expect("read file")
    }

    /// Runs `nmf` with `args` in this folder.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(".", args, None)
    }

    /// Runs `nmf` with `args` and `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_in(".", args, Some(stdin))
    }

    /// Runs `nmf` with `args` in this folder as an unprivileged user: when the tests run as
    /// root (as CI does), where permissions stop nothing, `nmf` runs as `nobody` through
    /// `setpriv`, with the tree opened up for it to enter and read (its other permissions kept).
    #[cfg(unix)]
    pub fn run_unprivileged(&self, args: &[&str]) -> Run {
        if !is_root() {
            return self.run(args);
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(self.path())
            .expect("the tree's metadata")
            .permissions()
            .mode();
        std::fs::set_permissions(self.path(), std::fs::Permissions::from_mode(mode | 0o005))
            .expect("open the tree to other users");
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_nmf"));
        self.spawn(command, ".", args, None)
    }

    /// Makes `nobody` the owner of the tree and everything in it when the tests run as root,
    /// so that an unprivileged run may write where the owner could.
    #[cfg(unix)]
    pub fn give_to_nobody(&self) {
        if !is_root() {
            return;
        }
        let status = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(self.path())
            .status()
            .expect("chown runs");
        assert!(
            status.success(),
            "chown -R nobody {}",
            self.path().display()
        );
    }

    /// Runs `nmf` with `args` in this folder with environment variables set (`Some`) or
    /// removed (`None`).
    pub fn run_in_env(&self, args: &[&str], environment: &[(&str, Option<&str>)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nmf"));
        for (name, value) in environment {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        self.spawn(command, ".", args, None)
    }

    /// Runs `nmf` in the sub-folder `folder`.
    pub fn run_in(&self, folder: &str, args: &[&str], stdin: Option<&str>) -> Run {
        self.spawn(Command::new(env!("CARGO_BIN_EXE_nmf")), folder, args, stdin)
    }

    fn spawn(&self, mut command: Command, folder: &str, args: &[&str], stdin: Option<&str>) -> Run {
        let working = self.join(folder);
        let settling = nmf_driver::source::fingerprint::TEST_SETTLING_VARIABLE;
        if !command.get_envs().any(|(name, _)| name == settling) {
            // A test that removed the variable runs with the real margin.
            command.env(settling, TEST_SETTLING_MILLIS.to_string());
        }
        let chosen = command.get_envs().any(|(name, _)| name == "NMF_CACHE_DIR");
        if chosen {
            // The test chose where the cache goes.
        } else if working.starts_with(self.path()) {
            command.env_remove("NMF_CACHE_DIR");
        } else {
            // A run in a folder of the repository keeps its cache in the tree, not there.
            command.env("NMF_CACHE_DIR", self.join(".nmf_cache"));
        }
        command
            .args(args)
            .current_dir(working)
            .env_remove("NO_COLOR")
            .env_remove("FORCE_COLOR")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("nmf runs");
        if let Some(text) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let output = wait_at_most(child, HANG_TIMEOUT);
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Whether the tests run as root, for whom file permissions stop nothing.
#[cfg(unix)]
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // A file this process creates is owned by its effective user.
    let probe = tempfile::NamedTempFile::new().expect("a temporary file");
    probe.as_file().metadata().expect("metadata").uid() == 0
}

/// Whether `line` is one of the summary lines that end the text formats (ruff's wording).
pub fn is_summary_line(line: &str) -> bool {
    let starts_with_count = |rest: &str, word: &str| {
        let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        digits.len() < rest.len() && digits.starts_with(word)
    };
    line == "All checks passed!"
        || line
            .strip_prefix("Found ")
            .is_some_and(|rest| starts_with_count(rest, " error"))
        || line
            .strip_prefix("[*] ")
            .is_some_and(|rest| starts_with_count(rest, " fixable with"))
        || starts_with_count(line, " unsafe fix")
        || line.starts_with("No errors fixed (")
        || line.starts_with("No errors would be fixed (")
        || line
            .strip_prefix("Fixed ")
            .is_some_and(|rest| starts_with_count(rest, " error"))
        || line
            .strip_prefix("Would fix ")
            .is_some_and(|rest| starts_with_count(rest, " error"))
}

/// `text` without the summary lines at its end (and the blank line before them).
pub fn without_summary(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    while lines.last().is_some_and(|line| is_summary_line(line)) {
        lines.pop();
    }
    if lines.last() == Some(&"") && text.lines().last().is_some_and(is_summary_line) {
        lines.pop();
    }
    lines.iter().map(|line| format!("{line}\n")).collect()
}

impl Run {
    /// Standard output without the summary that ends the text formats: the findings.
    pub fn findings(&self) -> String {
        without_summary(&self.stdout)
    }

    /// The `path:line:col: CODE` prefixes of the concise output, one per finding.
    pub fn locations(&self) -> Vec<String> {
        self.findings()
            .lines()
            .map(|line| {
                let mut parts = line.splitn(4, ':');
                let path = parts.next().unwrap_or_default();
                let row = parts.next().unwrap_or_default();
                let column = parts.next().unwrap_or_default();
                let code = parts
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .next()
                    .unwrap_or_default();
                format!("{path}:{row}:{column}: {code}")
            })
            .collect()
    }
}

/// A small deterministic generator (xorshift), so that a failure is replayed from its seed.
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).unwrap_or_default()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
