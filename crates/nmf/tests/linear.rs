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

/// Pairs of a binding and a use, each a line of `template` with `{i}` numbered.
fn pairs(template: &str, count: usize) -> String {
    (0..count)
        .map(|i| template.replace("{i}", &i.to_string()))
        .collect()
}

/// How many of one name's bindings and uses a file holds: at 10,000 a check that looks at
/// every binding for every use takes minutes; a linear one well under a second.
const REBINDINGS: usize = 10_000;

/// Far above a linear check of these files (about a second in a debug build), far below a
/// quadratic one.
const LINEAR_TIME: Duration = Duration::from_secs(40);

/// Asserts that `file` (written with `text`) gives `findings` NMF001 findings within
/// [`LINEAR_TIME`] and 1 GiB of address space.
fn assert_checked_linearly(file: &str, text: &str, findings: usize) {
    let tree = Tree::new();
    tree.write(file, text);
    let run = check_bounded(&tree, &["--statistics", "--select", "NMF001", file], 1024);
    assert_eq!(
        run.stdout,
        format!("{findings}\tNMF001\t[*] module-forward-call\n"),
        "{}",
        run.stderr
    );
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.elapsed < LINEAR_TIME,
        "{file}: {:?} for {findings} findings",
        run.elapsed
    );
}

#[test]
fn a_local_rebound_thousands_of_times_is_typed_once_per_binding() {
    let body = pairs(
        "    m = nn.Linear(1, {i})\n    m.forward({i})\n",
        REBINDINGS,
    );
    assert_checked_linearly(
        "local.py",
        &format!("import torch.nn as nn\n\n\ndef f():\n{body}"),
        REBINDINGS,
    );
}

#[test]
fn a_module_name_rebound_with_its_import_repeated_is_typed_once_per_binding() {
    let body = pairs(
        "import torch.nn as _nn\nm = _nn.Linear(1, {i})\nm.forward({i})\n",
        REBINDINGS,
    );
    assert_checked_linearly("module.py", &body, REBINDINGS);
}

#[test]
fn an_attribute_set_in_thousands_of_methods_is_typed_once_per_assignment() {
    let body = pairs(
        "    def m{i}(self):\n        self.x = nn.Linear(1, {i})\n        self.x.forward({i})\n",
        REBINDINGS,
    );
    assert_checked_linearly(
        "methods.py",
        &format!("import torch.nn as nn\n\n\nclass A(nn.Module):\n{body}"),
        REBINDINGS,
    );
}

#[test]
fn names_rebound_in_class_bodies_and_lambdas_are_typed_once_per_binding() {
    let class_body = pairs(
        "    m = nn.Linear(1, {i})\n    m.forward({i})\n",
        REBINDINGS,
    );
    assert_checked_linearly(
        "class_body.py",
        &format!("import torch.nn as nn\n\n\nclass A:\n{class_body}"),
        REBINDINGS,
    );
    let lambdas = pairs(
        "    m = nn.Linear(1, {i})\n    g = lambda x: m.forward(x)\n",
        REBINDINGS,
    );
    assert_checked_linearly(
        "lambdas.py",
        &format!("import torch.nn as nn\n\n\ndef f():\n{lambdas}"),
        REBINDINGS,
    );
}

#[test]
fn a_notebook_that_rebinds_a_name_in_every_cell_is_checked_linearly() {
    let cell = |id: usize, source: &str| {
        serde_json::json!({
            "cell_type": "code", "execution_count": null, "id": format!("c{id}"),
            "metadata": {}, "outputs": [], "source": source,
        })
    };
    let mut cells = vec![cell(0, "import torch.nn as nn")];
    cells.extend(
        (1..=REBINDINGS).map(|i| cell(i, &format!("m = nn.Linear(1, {i})\nm.forward({i})"))),
    );
    let notebook = serde_json::json!({
        "cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    });
    assert_checked_linearly("rebinding.ipynb", &notebook.to_string(), REBINDINGS);
}

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
fn indentation_past_cpythons_limit_is_e999_where_cpython_stops() {
    // Findings were reported at 150 levels and none at 3,000; CPython's tokenizer refuses the
    // 100th level, at the start of the line that opens it.
    let nested = |levels: usize| {
        let mut text = "y = m.forward(x)\n".to_string();
        for level in 0..levels {
            text.push_str(&format!("{}if x:\n", " ".repeat(level)));
        }
        text.push_str(&format!("{}m.forward(x)\n", " ".repeat(levels)));
        text
    };
    let tree = Tree::new();
    tree.write("deep.py", nested(3_000))
        .write("fine.py", nested(99))
        .write("wide.py", nested(150));
    let run = check_bounded(&tree, &["--select", "NMF001", "."], 256);
    assert_eq!(
        run.stdout,
        "deep.py:102:1: E999 IndentationError: too many levels of indentation\n\
         fine.py:1:5: NMF001 Do not call .forward() directly; use model(inputs) instead so DDP backward hooks run\n\
         fine.py:101:100: NMF001 Do not call .forward() directly; use model(inputs) instead so DDP backward hooks run\n\
         wide.py:102:1: E999 IndentationError: too many levels of indentation\n",
        "{}",
        run.stderr
    );
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

#[test]
fn an_attribute_chain_hundreds_of_thousands_long_costs_no_deep_recursion() {
    // NMF005's proof that a submodule is not trained read `model.b.b...` as text, and walked
    // the file's expressions, one stack frame per attribute: 200,000 of them overflowed the
    // stack. ruff's parser builds the tree (CPython's `ast` gives up with a RecursionError),
    // and the check must finish with the finding it had before that proof existed.
    let chain = format!("model{}", ".b".repeat(200_000));
    let tree = Tree::new();
    tree.write(
        "chain.py",
        format!(
            "import torch\nfrom torch.nn.parallel import DistributedDataParallel as DDP\n\n\n\
             def train(model, x):\n    {chain}.parameters()\n    ddp = DDP(model)\n    \
             opt = torch.optim.Adam({chain}.parameters())\n    loss = ddp.module.head(x)\n    \
             loss.backward()\n"
        ),
    );
    let run = check_bounded(
        &tree,
        &["--statistics", "--select", "NMF005", "chain.py"],
        1024,
    );
    assert_eq!(
        run.stdout, "1\tNMF005\t[ ] unwrapped-module-after-wrap\n",
        "{}",
        run.stderr
    );
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.elapsed < LINEAR_TIME, "{:?}", run.elapsed);
}
