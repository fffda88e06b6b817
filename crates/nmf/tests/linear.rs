//! Time and memory that grow with what a file holds, not faster: generated but valid Python
//! that binds one name thousands of times, and input nested deeper than CPython accepts. Each
//! case runs the built binary with a bound on its time and on its address space far above
//! what a linear check needs and far below what the quadratic (or memory-hungry) one it
//! reproduces took, so that the tests are not flaky on a loaded machine.

#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Tree, wait_at_most};

/// What a bounded run printed, and how long it took.
struct Bounded {
    status: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `nmf check --isolated --no-cache --quiet` with `args` in `tree`, its address space limited to
/// `memory_mib` (`ulimit -v`: an allocation past it fails, and so does the run).
fn check_bounded(tree: &Tree, args: &[&str], memory_mib: u64) -> Bounded {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -v {}; exec \"$0\" check --isolated --no-cache --quiet \"$@\"",
            memory_mib * 1024
        ))
        .arg(env!("CARGO_BIN_EXE_nmf"))
        .args(args)
        .current_dir(tree.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let output = wait_at_most(command.spawn().expect("sh runs"), Duration::from_secs(300));
    Bounded {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Far above a linear check of these files (about a second in a debug build), far below a
/// quadratic one.
const LINEAR_TIME: Duration = Duration::from_secs(40);

#[test]
fn brackets_nested_past_cpythons_limit_are_e999_without_a_tree() {
    // 400,000 brackets took 861 MB to parse; CPython's tokenizer stops at the 201st.
    let tree = Tree::new();
    let depth = 400_000;
    tree.write(
        "brackets.py",
        format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth)),
    )
    .write(
        "fine.py",
        format!("x = {}1{}\n", "(".repeat(200), ")".repeat(200)),
    );
    let run = check_bounded(&tree, &["--no-prefilter", "."], 256);
    assert_eq!(
        run.stdout, "brackets.py:1:205: E999 SyntaxError: too many nested parentheses\n",
        "{}",
        run.stderr
    );
    assert!(run.elapsed < LINEAR_TIME, "{:?}", run.elapsed);
}

#[test]
fn unary_operators_nested_past_cpythons_parser_limit_are_e999_without_a_tree() {
    // 2,000,000 minus signs took 1.98 GB to parse; CPython's parser stops 6,000 rules deep.
    let tree = Tree::new();
    tree.write(
        "minus.py",
        format!("y = m.forward(x)\nx = {}1\n", "-".repeat(2_000_000)),
    );
    let run = check_bounded(&tree, &["minus.py"], 256);
    assert_eq!(
        run.stdout,
        "minus.py:2:6005: E999 MemoryError: Parser stack overflowed - Python source too complex to parse\n",
        "{}",
        run.stderr
    );
    assert_eq!(run.status, 1);
    assert!(run.elapsed < LINEAR_TIME, "{:?}", run.elapsed);
}

#[test]
fn findings_past_the_cap_are_dropped_and_said_so() {
    // Millions of findings on one line took 4.6 GB; the first 100,000 of a file are kept.
    let tree = Tree::new();
    tree.write("calls.py", "m.forward(x);".repeat(150_000) + "\n");
    let run = check_bounded(&tree, &["--statistics", "calls.py"], 2048);
    assert_eq!(
        run.stdout, "100000\tNMF001\t[ ] module-forward-call\n",
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr,
        "nmf: error: calls.py: more than 100000 findings; only the first 100000 are reported\n"
    );
    assert!(run.elapsed < LINEAR_TIME, "{:?}", run.elapsed);
}
