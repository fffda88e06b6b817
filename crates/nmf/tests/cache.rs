//! The cache: reruns come from it, and it never changes a finding. Each cause that must
//! invalidate an entry has a test; a differential test makes hundreds of random edits to a
//! small project and compares every cached run with `--no-cache`, byte for byte.

mod common;

use std::time::{Duration, SystemTime};

use common::{NMF001, Random, SETTLE, Tree};

/// The real settling margin (2 s), and a little more: runs of these tests use a shorter one
/// (`common::TEST_SETTLING_MILLIS`), except the one test that waits the real margin out.
const REAL_SETTLE: Duration = Duration::from_millis(2100);

fn cached(tree: &Tree, args: &[&str]) -> common::Run {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    tree.run(&all)
}

/// The same run without the cache.
fn uncached(tree: &Tree, args: &[&str]) -> common::Run {
    let mut all = vec!["check", "--no-cache"];
    all.extend_from_slice(args);
    tree.run(&all)
}

/// Runs with and without the cache must print the same, and the cached run is returned.
fn agree(tree: &Tree, args: &[&str]) -> common::Run {
    let with = cached(tree, args);
    let without = uncached(tree, args);
    assert_eq!(with.stdout, without.stdout, "the cache changed a finding");
    assert_eq!(with.status, without.status);
    with
}

/// How many files `-v` says came from the cache.
fn from_cache(tree: &Tree) -> usize {
    let run = cached(tree, &["-v", "."]);
    let line = run
        .stderr
        .lines()
        .find(|line| line.starts_with("nmf: checked"))
        .expect("-v prints a summary");
    line.split(", ")
        .find_map(|part| part.strip_suffix(" from the cache"))
        .and_then(|count| count.parse().ok())
        .expect("a count")
}

fn project() -> Tree {
    let tree = Tree::new();
    tree.write("pyproject.toml", "")
        .write("pkg/__init__.py", "")
        .write(
            "pkg/base.py",
            "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n",
        )
        .write(
            "pkg/models.py",
            "from pkg.base import Base\n\n\nclass Net(Base):\n    def forward(self, x):\n        return x\n",
        )
        .write(
            "pkg/train.py",
            "from pkg.models import Net\n\nnet = Net()\nnet.forward(1)\n",
        )
        .write("pkg/quiet.py", "x = 1\n");
    tree
}

#[test]
fn a_rerun_comes_from_the_cache_which_is_never_committed() {
    // The one test that runs with the real settling margin (2 s), and waits it out.
    let tree = project();
    let real_margin = [(
        nmf_driver::source::fingerprint::TEST_SETTLING_VARIABLE,
        None,
    )];
    let run = |args: &[&str]| tree.run_in_env(args, &real_margin);
    let first = run(&["check", "."]);
    assert_eq!(first.findings(), format!("pkg/train.py:4:1: {NMF001}\n"));
    // Stamps this recent prove nothing: a rerun compares the files' contents and records them
    // anew (the cache file is replaced), all the same from the cache.
    let stored = cache_file_identity(&tree);
    let soon = run(&["check", "-v", "."]);
    assert!(
        soon.stderr.contains("(0 parsed, 5 from the cache"),
        "{}",
        soon.stderr
    );
    assert_ne!(
        cache_file_identity(&tree),
        stored,
        "stamps 0 s old were trusted"
    );
    // Once the stamps were 2 s old when recorded, a rerun trusts every stat and stores nothing.
    std::thread::sleep(REAL_SETTLE);
    run(&["check", "."]);
    let settled = cache_file_identity(&tree);
    let rerun = run(&["check", "-v", "."]);
    assert_eq!(rerun.findings(), first.findings());
    assert!(
        rerun.stderr.contains("(0 parsed, 5 from the cache"),
        "{}",
        rerun.stderr
    );
    assert_eq!(
        cache_file_identity(&tree),
        settled,
        "settled stamps were not trusted"
    );
    assert_eq!(agree(&tree, &["."]).findings(), first.findings());
    let folder = tree.join(".nmf_cache");
    assert_eq!(
        std::fs::read_to_string(folder.join(".gitignore")).expect(".gitignore"),
        "# Automatically created by nmf.\n*\n"
    );
    let tag = std::fs::read_to_string(folder.join("CACHEDIR.TAG")).expect("CACHEDIR.TAG");
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"));
}

#[test]
fn code_frames_are_drawn_from_the_cache_as_from_a_check() {
    let tree = project();
    // A notebook's findings are framed in their cell.
    tree.write(
        "nb.ipynb",
        r#"{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": ["import torch.nn as nn\n", "m = nn.Linear(1, 1)"]}, {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["m.forward(1)"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
    );
    let full = ["--output-format", "full", "--unsafe-fixes", "."];
    let first = agree(&tree, &full);
    assert!(
        first.stdout.contains("--> pkg/train.py:4:1"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("--> nb.ipynb:cell 2:1:1"),
        "{}",
        first.stdout
    );
    std::thread::sleep(SETTLE);
    cached(&tree, &full);
    let mut verbose = vec!["-v"];
    verbose.extend(full);
    let rerun = cached(&tree, &verbose);
    assert_eq!(rerun.stdout, first.stdout);
    assert!(
        rerun.stderr.contains("(0 parsed, 6 from the cache"),
        "{}",
        rerun.stderr
    );
    // A file edited since is checked again, not framed with its new text.
    tree.write(
        "pkg/train.py",
        "from pkg.models import Net\n\nnet = Net()\n\nnet.forward(2)\n",
    );
    let edited = agree(&tree, &full);
    assert!(
        edited.stdout.contains("--> pkg/train.py:5:1"),
        "{}",
        edited.stdout
    );
}

#[test]
fn an_edit_that_keeps_size_and_modification_time_is_noticed() {
    let tree = project();
    agree(&tree, &["."]);
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    let path = tree.join("pkg/train.py");
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    // Same length, another call, the old modification time (as `touch -r` would leave it).
    tree.write(
        "pkg/train.py",
        "from pkg.models import Net\n\nnet = Net()\nnet.backwrd(1)\n",
    );
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_modified(modified))
        .expect("set the modification time back");
    assert_eq!(agree(&tree, &["."]).findings(), "");
}

#[test]
fn a_base_class_in_another_module_that_stops_being_a_module() {
    let tree = project();
    agree(&tree, &["--known-modules-only", "."]);
    std::thread::sleep(SETTLE);
    cached(&tree, &["--known-modules-only", "."]);
    tree.write("pkg/base.py", "class Base:\n    pass\n");
    assert_eq!(agree(&tree, &["--known-modules-only", "."]).findings(), "");
}

#[test]
fn a_module_that_did_not_exist_appears_and_a_module_is_deleted() {
    let tree = project();
    tree.write(
        "pkg/late.py",
        "from pkg.later import Later\n\nLater().forward(1)\n",
    );
    // `pkg.later` does not exist: the receiver is of unknown type.
    assert_eq!(
        agree(&tree, &["--known-modules-only", "."]).findings(),
        format!("pkg/train.py:4:1: {NMF001}\n")
    );
    std::thread::sleep(SETTLE);
    cached(&tree, &["--known-modules-only", "."]);
    tree.write(
        "pkg/later.py",
        "import torch.nn as nn\n\n\nclass Later(nn.Module):\n    pass\n",
    );
    assert_eq!(
        agree(&tree, &["--known-modules-only", "."]).findings(),
        format!("pkg/late.py:3:1: {NMF001}\npkg/train.py:4:1: {NMF001}\n")
    );
    std::thread::sleep(SETTLE);
    cached(&tree, &["--known-modules-only", "."]);
    // Deleting a module another file's findings came from (ruff's cache misses this).
    std::fs::remove_file(tree.join("pkg/later.py")).expect("remove");
    assert_eq!(
        agree(&tree, &["--known-modules-only", "."]).findings(),
        format!("pkg/train.py:4:1: {NMF001}\n")
    );
}

/// Lets the tree settle and runs once, so that the next run may take the walk from its record.
fn remember_walk(tree: &Tree) {
    std::thread::sleep(SETTLE);
    cached(tree, &["."]);
}

#[test]
fn a_remembered_walk_notices_files_folders_ignore_files_and_configuration() {
    let tree = project();
    tree.write("pkg/sub/__init__.py", "");
    remember_walk(&tree);
    // A file appears in a folder the walk listed.
    tree.write(
        "pkg/sub/new.py",
        "from pkg.models import Net\n\nNet().forward(2)\n",
    );
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!("pkg/sub/new.py:3:1: {NMF001}\npkg/train.py:4:1: {NMF001}\n")
    );
    remember_walk(&tree);
    // An ignore file appears, then changes.
    tree.write("pkg/.gitignore", "train.py\n");
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!("pkg/sub/new.py:3:1: {NMF001}\n")
    );
    remember_walk(&tree);
    tree.write("pkg/.gitignore", "new.py\n");
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!("pkg/train.py:4:1: {NMF001}\n")
    );
    remember_walk(&tree);
    // The configuration excludes a folder.
    tree.write("pkg/.gitignore", "");
    remember_walk(&tree);
    tree.write(
        "pyproject.toml",
        "[tool.nmf]\nextend-exclude = [\"pkg/sub\"]\n",
    );
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!("pkg/train.py:4:1: {NMF001}\n")
    );
    remember_walk(&tree);
    tree.write("pyproject.toml", "");
    std::fs::create_dir_all(tree.join("pkg/sub/deeper")).expect("mkdir");
    tree.write(
        "pkg/sub/deeper/more.py",
        "from pkg.models import Net\n\nNet().forward(3)\n",
    );
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!(
            "pkg/sub/deeper/more.py:3:1: {NMF001}\npkg/sub/new.py:3:1: {NMF001}\npkg/train.py:4:1: {NMF001}\n"
        )
    );
    remember_walk(&tree);
    // A folder goes away.
    std::fs::remove_dir_all(tree.join("pkg/sub")).expect("remove");
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!("pkg/train.py:4:1: {NMF001}\n")
    );
    // The record is kept next to the cache, in the cache folder.
    remember_walk(&tree);
    let records = std::fs::read_dir(tree.join(".nmf_cache").join(env!("CARGO_PKG_VERSION")))
        .expect("the cache folder")
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "walk"))
        .count();
    assert_eq!(records, 1);
}

/// A remembered walk knows which folders hold no configuration file, and does not look in
/// them again while it holds: each way a configuration can appear, change or go is honoured.
#[test]
fn a_remembered_walk_honours_configuration_files_that_appear_change_or_go() {
    let tree = project();
    let user = "from pkg.models import Net\n\nNet().forward(2)\n";
    tree.write("pkg/sub/__init__.py", "")
        .write("pkg/sub/user.py", user)
        .write("pkg/sub/deeper/__init__.py", "")
        .write("pkg/sub/deeper/user.py", user);
    let both = format!(
        "pkg/sub/deeper/user.py:3:1: {NMF001}\npkg/sub/user.py:3:1: {NMF001}\npkg/train.py:4:1: {NMF001}\n"
    );
    let outside = format!("pkg/train.py:4:1: {NMF001}\n");
    remember_walk(&tree);
    assert_eq!(agree(&tree, &["."]).findings(), both);
    // A configuration appears in a folder the walk knew to have none, and applies below it.
    remember_walk(&tree);
    tree.write("pkg/sub/nmf.toml", "ignore = [\"NMF001\"]\n");
    assert_eq!(agree(&tree, &["."]).findings(), outside);
    // Taken from the record, the folder with a configuration is looked in again.
    remember_walk(&tree);
    assert_eq!(agree(&tree, &["."]).findings(), outside);
    // Its content changes.
    tree.write("pkg/sub/nmf.toml", "ignore = [\"NMF002\"]\n");
    assert_eq!(agree(&tree, &["."]).findings(), both);
    remember_walk(&tree);
    tree.write("pkg/sub/nmf.toml", "ignore = [\"NMF001\"]\n");
    assert_eq!(agree(&tree, &["."]).findings(), outside);
    // Its folder is renamed: the configuration goes with it.
    remember_walk(&tree);
    std::fs::rename(tree.join("pkg/sub"), tree.join("pkg/renamed")).expect("rename");
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!("pkg/train.py:4:1: {NMF001}\n")
    );
    std::fs::rename(tree.join("pkg/renamed"), tree.join("pkg/sub")).expect("rename");
    remember_walk(&tree);
    assert_eq!(agree(&tree, &["."]).findings(), outside);
    // It is deleted.
    remember_walk(&tree);
    std::fs::remove_file(tree.join("pkg/sub/nmf.toml")).expect("remove");
    assert_eq!(agree(&tree, &["."]).findings(), both);
    // A `pyproject.toml` with `[tool.nmf]` appears in a deeper folder that had nothing.
    remember_walk(&tree);
    tree.write(
        "pkg/sub/deeper/pyproject.toml",
        "[tool.nmf]\nignore = [\"NMF001\"]\n",
    );
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!("pkg/sub/user.py:3:1: {NMF001}\npkg/train.py:4:1: {NMF001}\n")
    );
    std::fs::remove_file(tree.join("pkg/sub/deeper/pyproject.toml")).expect("remove");
    // Above the folder checked: a configuration appears in the folder above it.
    remember_walk(&tree);
    cached(&tree, &["pkg/sub"]);
    std::thread::sleep(SETTLE);
    cached(&tree, &["pkg/sub"]);
    tree.write(".nmf.toml", "ignore = [\"NMF001\"]\n");
    assert_eq!(agree(&tree, &["pkg/sub"]).findings(), "");
}

#[test]
fn a_subclass_added_elsewhere_changes_what_self_is() {
    let tree = Tree::new();
    tree.write("pyproject.toml", "")
        .write("pkg/__init__.py", "")
        .write(
            "pkg/helper.py",
            "class Helper:\n    def forward(self, x):\n        return x\n\n    def run(self, x):\n        return self.forward(x)\n",
        );
    assert_eq!(agree(&tree, &["."]).findings(), "");
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    assert_eq!(from_cache(&tree), 2);
    tree.write(
        "pkg/net.py",
        "import torch.nn as nn\nfrom pkg.helper import Helper\n\n\nclass Net(Helper, nn.Module):\n    pass\n",
    );
    assert_eq!(
        agree(&tree, &["."]).findings(),
        format!("pkg/helper.py:6:16: {NMF001}\n")
    );
}

/// A helper's finding comes from what a caller in another file passes it: an edit of the
/// caller alone (its imports unchanged) must check the helper again.
#[test]
fn a_caller_in_another_file_that_starts_passing_the_inner_module() {
    let tree = Tree::new();
    let train = |argument: &str| {
        format!(
            "from pkg.helper import encode\n\n\ndef train(accelerator, encoder, batch):\n    \
             encoder = accelerator.prepare(encoder)\n    \
             loss = encode({argument}, batch).sum()\n    accelerator.backward(loss)\n"
        )
    };
    tree.write("pyproject.toml", "")
        .write("pkg/__init__.py", "")
        .write(
            "pkg/helper.py",
            "from torch.nn.parallel import DistributedDataParallel as DDP\n\n\n\
             def encode(encoder, batch):\n    return encoder(batch)\n",
        )
        .write("pkg/train.py", train("encoder"));
    assert_eq!(agree(&tree, &["."]).findings(), "");
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    assert_eq!(from_cache(&tree), 3);
    tree.write("pkg/train.py", train("encoder.module"));
    let findings = agree(&tree, &["."]).findings();
    assert!(
        findings.starts_with("pkg/helper.py:5:12: NMF005 "),
        "{findings}"
    );
}

/// Two helpers called from the same file share one analysis of that file (a run analyses a
/// caller once for every checked file that asks): what the analysis used (here the summary of
/// `pkg/unwrapping.py`, which says what `unwrap` returns) is recorded for both helpers, so that
/// an edit of it alone checks both again.
#[test]
fn helpers_that_share_a_caller_both_depend_on_what_its_analysis_used() {
    let tree = Tree::new();
    let helper = |name: &str| {
        format!(
            "from torch.nn.parallel import DistributedDataParallel as DDP\n\n\n\
             def {name}(encoder, batch):\n    return encoder(batch)\n"
        )
    };
    let unwrapping = |returned: &str| format!("def unwrap(model):\n    return {returned}\n");
    tree.write("pyproject.toml", "")
        .write("pkg/__init__.py", "")
        .write("pkg/first.py", helper("encode"))
        .write("pkg/second.py", helper("decode"))
        .write("pkg/unwrapping.py", unwrapping("model.module"))
        .write(
            "pkg/train.py",
            "from pkg.first import encode\nfrom pkg.second import decode\n\
             from pkg.unwrapping import unwrap\n\n\n\
             def train(accelerator, encoder, batch):\n    \
             encoder = accelerator.prepare(encoder)\n    inner = unwrap(encoder)\n    \
             loss = encode(inner, batch).sum() + decode(inner, batch).sum()\n    \
             accelerator.backward(loss)\n",
        );
    let findings = agree(&tree, &["."]).findings();
    let reported: Vec<&str> = findings
        .lines()
        .map(|line| line.split(" NMF005 ").next().unwrap_or(line))
        .collect();
    assert_eq!(
        reported,
        ["pkg/first.py:5:12:", "pkg/second.py:5:12:"],
        "{findings}"
    );
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    assert_eq!(from_cache(&tree), 5);
    // `unwrap` now hands the wrapper back: neither helper gets the inner module.
    tree.write("pkg/unwrapping.py", unwrapping("model"));
    assert_eq!(agree(&tree, &["."]).findings(), "");
}

#[test]
fn a_speechbrain_recipe_yaml_that_changes_which_modules_are_wrapped() {
    let tree = Tree::new();
    let yaml = |modules: &str| {
        format!(
            "CNN: !new:speechbrain.lobes.models.convolution.ConvolutionFrontEnd\n    \
             input_shape: (8, 10, 80)\nmodules:\n{modules}"
        )
    };
    tree.write("pyproject.toml", "")
        .write(
            "recipe/train.py",
            "import speechbrain as sb\n\n\nclass ASR(sb.Brain):\n    \
             def compute_forward(self, batch, stage):\n        \
             return self.hparams.CNN(batch)\n",
        )
        .write("recipe/hparams/a.yaml", yaml("    other: !ref <other>\n"));
    assert_eq!(agree(&tree, &["."]).findings(), "");
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    assert_eq!(from_cache(&tree), 1);
    // The YAML starts listing `CNN` in `modules:`: `Brain` wraps it.
    tree.write("recipe/hparams/a.yaml", yaml("    CNN: !ref <CNN>\n"));
    let findings = agree(&tree, &["."]).findings();
    assert!(
        findings.starts_with("recipe/train.py:6:16: NMF005 "),
        "{findings}"
    );
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    assert_eq!(from_cache(&tree), 1);
    // A second YAML of the recipe that defines `CNN` without listing it.
    tree.write("recipe/hparams/b.yaml", yaml("    other: !ref <other>\n"));
    assert_eq!(agree(&tree, &["."]).findings(), "");
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    // And it goes again.
    std::fs::remove_file(tree.join("recipe/hparams/b.yaml")).expect("remove");
    let findings = agree(&tree, &["."]).findings();
    assert!(
        findings.starts_with("recipe/train.py:6:16: NMF005 "),
        "{findings}"
    );
    // Without an `hparams` folder, creating one is noticed.
    std::fs::remove_dir_all(tree.join("recipe/hparams")).expect("remove");
    assert_eq!(agree(&tree, &["."]).findings(), "");
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    tree.write("recipe/hparams/a.yaml", yaml("    CNN: !ref <CNN>\n"));
    let findings = agree(&tree, &["."]).findings();
    assert!(
        findings.starts_with("recipe/train.py:6:16: NMF005 "),
        "{findings}"
    );
}

#[test]
fn a_package_made_by_an_init_file_changes_module_names() {
    let tree = project();
    std::fs::remove_file(tree.join("pkg/__init__.py")).expect("remove");
    agree(&tree, &["--known-modules-only", "."]);
    std::thread::sleep(SETTLE);
    cached(&tree, &["--known-modules-only", "."]);
    tree.write("pkg/__init__.py", "");
    agree(&tree, &["--known-modules-only", "."]);
}

/// A warm run answers whether a folder's `__init__.py` exists from the stats it took of the
/// files to check: one deleted, made again, or replaced by a FIFO (not a file to Python's
/// imports) between runs taken from a remembered walk still moves the module names.
#[test]
fn an_init_file_deleted_made_again_or_not_a_file_moves_module_names() {
    let tree = project();
    // A relative import resolves only in a package.
    tree.write(
        "pkg/train.py",
        "from .models import Net\n\nnet = Net()\nnet.forward(1)\n",
    );
    let args = ["--known-modules-only", "."];
    let package = agree(&tree, &args).findings();
    remember_walk(&tree);
    std::fs::remove_file(tree.join("pkg/__init__.py")).expect("remove");
    let namespace = agree(&tree, &args).findings();
    assert!(package.contains("pkg/train.py:4:1: NMF001"), "{package}");
    assert!(!namespace.contains("pkg/train.py"), "{namespace}");
    remember_walk(&tree);
    tree.write("pkg/__init__.py", "");
    assert_eq!(agree(&tree, &args).findings(), package);
    remember_walk(&tree);
    std::fs::remove_file(tree.join("pkg/__init__.py")).expect("remove");
    let made = std::process::Command::new("mkfifo")
        .arg(tree.join("pkg/__init__.py"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let with_fifo = agree(&tree, &args).findings();
    assert!(!with_fifo.contains("pkg/train.py"), "{with_fifo}");
}

#[test]
fn settings_that_change_findings_invalidate_entries() {
    let tree = project();
    tree.write(
        "pkg/unknown.py",
        "def f(model):\n    return model.forward(1)\n",
    );
    let reported = agree(&tree, &["."]).findings();
    assert!(reported.contains("pkg/unknown.py"), "{reported}");
    std::thread::sleep(SETTLE);
    cached(&tree, &["."]);
    tree.write("pyproject.toml", "[tool.nmf]\nknown-modules-only = true\n");
    assert!(!agree(&tree, &["."]).findings().contains("pkg/unknown.py"));
    tree.write(
        "pyproject.toml",
        "[tool.nmf.per-file-ignores]\n\"pkg/train.py\" = [\"NMF001\"]\n",
    );
    let ignored = agree(&tree, &["."]).findings();
    assert!(!ignored.contains("pkg/train.py"), "{ignored}");
    assert!(ignored.contains("pkg/unknown.py"), "{ignored}");
    assert_eq!(agree(&tree, &["--select", "NMF002", "."]).findings(), "");
}

#[test]
fn a_damaged_cache_is_a_warning_and_is_rebuilt() {
    let tree = project();
    let expected = agree(&tree, &["."]);
    let folder = tree.join(".nmf_cache");
    let cache_file = walk_files(&folder)
        .into_iter()
        .find(|path| path.extension().is_some_and(|ext| ext == "bin"))
        .expect("a cache file");
    let bytes = std::fs::read(&cache_file).expect("read");
    let damages: Vec<Vec<u8>> = vec![
        bytes[..bytes.len() / 2].to_vec(),
        Vec::new(),
        b"garbage".to_vec(),
        {
            let mut flipped = bytes.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 0x40;
            flipped
        },
        (0..=255).cycle().take(10_000).collect(),
    ];
    for damaged in damages {
        std::fs::write(&cache_file, &damaged).expect("damage");
        let run = cached(&tree, &["."]);
        assert_eq!(run.stdout, expected.stdout);
        assert_eq!(run.status, expected.status);
        assert!(
            run.stderr.contains("is damaged; it is rebuilt"),
            "{}",
            run.stderr
        );
        // The next run reads the rebuilt cache without a word.
        let again = cached(&tree, &["."]);
        assert_eq!(again.stdout, expected.stdout);
        assert_eq!(again.stderr, "");
    }
}

#[cfg(unix)]
#[test]
fn a_cache_folder_that_cannot_be_written_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let set_mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    let tree = project();
    let expected = uncached(&tree, &["."]);
    // A tree no one but root may write, and a run that is not root's: the cache folder cannot
    // be made.
    set_mode(tree.path(), 0o555);
    let run = tree.run_unprivileged(&["check", "."]);
    set_mode(tree.path(), 0o755);
    assert_eq!(run.stdout, expected.stdout);
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("cannot be used"), "{}", run.stderr);
    assert!(!tree.join(".nmf_cache").exists());
    // A cache that can be read but not written: the run reads what it can, and says that it
    // could not store what changed.
    cached(&tree, &["."]);
    tree.write(
        "pkg/train.py",
        "from pkg.models import Net\n\nnet = Net()\nnet.forward(2)\n",
    );
    let expected = uncached(&tree, &["."]);
    let folders = walk_folders(&tree.join(".nmf_cache"));
    let files = walk_files(&tree.join(".nmf_cache"));
    for (paths, mode) in [(&files, 0o444), (&folders, 0o555)] {
        for path in paths {
            set_mode(path, mode);
        }
    }
    let run = tree.run_unprivileged(&["check", "-v", "."]);
    for (paths, mode) in [(&folders, 0o755), (&files, 0o644)] {
        for path in paths {
            set_mode(path, mode);
        }
    }
    assert_eq!(run.stdout, expected.stdout);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("(1 parsed, 4 from the cache"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("was not updated"), "{}", run.stderr);
}

#[test]
fn runs_at_the_same_time_agree_and_leave_a_cache_that_reads() {
    let tree = project();
    for index in 0..20 {
        tree.write(
            &format!("pkg/extra{index}.py"),
            "from pkg.models import Net\nNet().forward(2)\n",
        );
    }
    let expected = uncached(&tree, &["."]);
    let runs: Vec<_> = (0..6)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_nmf"))
                .args(["check", "."])
                .current_dir(tree.path())
                .env_remove("NMF_CACHE_DIR")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("nmf runs")
        })
        .collect();
    for child in runs {
        let output = common::wait_at_most(child, common::HANG_TIMEOUT);
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected.stdout);
        assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    }
    let after = cached(&tree, &["."]);
    assert_eq!(after.stdout, expected.stdout);
    assert_eq!(after.stderr, "");
}

#[test]
fn fixes_and_standard_input_bypass_the_cache_and_fixed_files_are_checked_again() {
    let tree = project();
    agree(&tree, &["."]);
    let fixed = cached(&tree, &["--fix", "."]);
    assert_eq!(fixed.findings(), "", "{}", fixed.stderr);
    assert_eq!(
        String::from_utf8(tree.read("pkg/train.py")).expect("UTF-8"),
        "from pkg.models import Net\n\nnet = Net()\nnet(1)\n"
    );
    assert_eq!(agree(&tree, &["."]).findings(), "");
    tree.write(
        "pkg/train.py",
        "from pkg.models import Net\n\nnet = Net()\nnet.forward(1)\n",
    );
    let diff = agree(&tree, &["--diff", "."]);
    assert!(diff.stdout.contains("+net(1)"), "{}", diff.stdout);
    let stdin = tree.run_with_stdin(
        &["check", "--stdin-filename", "pkg/train.py"],
        "from pkg.models import Net\nNet().forward(1)\n",
    );
    assert_eq!(stdin.findings(), format!("pkg/train.py:2:1: {NMF001}\n"));
}

#[test]
fn the_cache_goes_where_it_is_told_and_nowhere_with_no_cache() {
    let tree = project();
    uncached(&tree, &["."]);
    assert!(!tree.join(".nmf_cache").exists());
    cached(&tree, &["--cache-dir", "elsewhere", "."]);
    assert!(tree.join("elsewhere/CACHEDIR.TAG").exists());
    tree.run_in_env(&["check", "."], &[("NMF_CACHE_DIR", Some("from-env"))]);
    assert!(tree.join("from-env/CACHEDIR.TAG").exists());
    tree.write("pyproject.toml", "[tool.nmf]\ncache-dir = \"build/nmf\"\n");
    cached(&tree, &["."]);
    assert!(tree.join("build/nmf/CACHEDIR.TAG").exists());
    assert!(!tree.join(".nmf_cache").exists());
    // `nmf clean` removes it, and leaves alone a folder nmf did not make.
    tree.write("sub/.nmf_cache/keep.txt", "mine");
    let clean = tree.run(&["clean"]);
    assert_eq!(clean.status, 0, "{}", clean.stderr);
    assert!(!tree.join("build/nmf").exists(), "{}", clean.stderr);
    assert!(tree.join("sub/.nmf_cache/keep.txt").exists());
    assert!(
        clean.stderr.contains("was not made by nmf"),
        "{}",
        clean.stderr
    );
}

/// Which file holds the cache: a run that stores the cache writes a new file and renames it
/// over the old one.
fn cache_file_identity(tree: &Tree) -> (u64, SystemTime) {
    let path = walk_files(&tree.join(".nmf_cache"))
        .into_iter()
        .find(|path| path.extension().is_some_and(|ext| ext == "bin"))
        .expect("a cache file");
    let metadata = std::fs::metadata(path).expect("metadata");
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    (inode, metadata.modified().expect("mtime"))
}

/// `folder` and every folder in it.
fn walk_folders(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = vec![folder.to_path_buf()];
    let mut index = 0;
    while let Some(folder) = found.get(index).cloned() {
        for entry in std::fs::read_dir(folder).expect("list").flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                found.push(entry.path());
            }
        }
        index += 1;
    }
    found
}

fn walk_files(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Random edits to a multi-file project: bases changed, imports added and removed, modules
/// created, deleted and moved between packages, `__init__.py` files added and removed,
/// settings changed, files rewritten with their old size and modification time. After each,
/// the cached run must print exactly what a run without the cache prints.
#[test]
fn random_edits_never_make_the_cache_change_a_finding() {
    let seed = std::env::var("NMF_CACHE_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15_u64);
    let mut random = Random(seed);
    let tree = Tree::new();
    tree.write("pyproject.toml", "");
    let packages = ["pkg", "pkg/sub", "other"];
    // The modules `use.py` imports, and one it does not.
    let modules = ["pkg/a", "pkg/b", "pkg/sub/c", "other/d", "pkg/e"];
    let bases = [
        "nn.Module",
        "object",
        "Helper",
        "Helper, nn.Module",
        "A",
        "B",
        "nn.Linear",
        "Protocol",
    ];
    let classes = ["A", "B", "C"];
    let imports = [
        "from pkg.a import A",
        "from pkg.b import B",
        "from pkg.sub.c import C",
        "from other.d import A",
        "from .a import A",
        "import pkg.a as pa",
    ];
    let bodies = [
        "x = {cls}()\nx.forward(1)\n",
        "class Use({cls}):\n    def forward(self, x):\n        return super().forward(x)\n",
        "def run(m: {cls}):\n    return m.forward(1)\n",
        "{cls}.forward = lambda self, x: x\n",
        "y = 1\n",
    ];
    let settings = [
        "",
        "[tool.nmf]\nknown-modules-only = true\n",
        "[tool.nmf.per-file-ignores]\n\"pkg/a.py\" = [\"NMF001\"]\n",
        "[tool.nmf]\nignore = [\"NMF002\"]\nnot-module-packages = [\"other\"]\n",
    ];
    // Two files that never change but whose findings depend on the others: one calls
    // `forward` on a class from each module (resolved through imports that come and go), one
    // on `self` of a class that the modules may subclass (found by a search of the project).
    tree.write(
        "use.py",
        "from pkg.a import A\nfrom pkg.b import B\nfrom pkg.sub.c import C\nfrom other.d import A as D\n\nA().forward(1)\nB().forward(1)\nC().forward(1)\nD().forward(1)\n",
    )
    .write(
        "pkg/helper.py",
        "class Helper:\n    def forward(self, x):\n        return x\n\n    def go(self):\n        return self.forward(1)\n",
    );
    let write_module = |random: &mut Random, tree: &Tree| {
        let module = *random.pick(&modules);
        let class = *random.pick(&classes);
        let mut text = String::from(
            "import torch.nn as nn\nfrom typing import Protocol\nfrom pkg.helper import Helper\n",
        );
        for _ in 0..random.below(3) {
            let import = *random.pick(&imports);
            text.push_str(import);
            text.push('\n');
        }
        text.push_str(&format!(
            "\n\nclass {class}({}):\n    pass\n\n\n",
            *random.pick(&bases)
        ));
        let (body, used) = (*random.pick(&bodies), *random.pick(&classes));
        text.push_str(&body.replace("{cls}", used));
        tree.write(&format!("{module}.py"), text);
    };
    for _ in 0..8 {
        write_module(&mut random, &tree);
    }
    let python_files = |tree: &Tree| -> Vec<std::path::PathBuf> {
        walk_files(tree.path())
            .into_iter()
            .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
            .filter(|path| !path.starts_with(tree.join(".nmf_cache")))
            .filter(|path| !path.ends_with("use.py") && !path.ends_with("helper.py"))
            .collect()
    };
    let edits = 240;
    let mut hits = 0;
    for step in 0..edits {
        // Now and then, let the stamps settle and fill the cache, so that the next edit meets
        // entries the cache trusts by their stat.
        if step % 10 == 9 {
            std::thread::sleep(SETTLE);
            cached(&tree, &["."]);
            cached(&tree, &["--known-modules-only", "."]);
        }
        match random.below(10) {
            0..=2 => write_module(&mut random, &tree),
            3 | 9 => {
                let files = python_files(&tree);
                if !files.is_empty() {
                    let _ = std::fs::remove_file(&files[random.below(files.len())]);
                }
            }
            4 => {
                let init = format!("{}/__init__.py", *random.pick(&packages));
                if tree.join(&init).exists() {
                    let _ = std::fs::remove_file(tree.join(&init));
                } else {
                    tree.write(&init, "");
                }
            }
            5 => {
                tree.write("pyproject.toml", *random.pick(&settings));
            }
            6 => {
                // Move a package away and back under another name.
                let (from, to) = if tree.join("other").exists() {
                    ("other", "moved")
                } else {
                    ("moved", "other")
                };
                let _ = std::fs::rename(tree.join(from), tree.join(to));
            }
            7 => {
                // Rewrite a file keeping its size and modification time.
                let files = python_files(&tree);
                if !files.is_empty() {
                    let path = &files[random.below(files.len())];
                    let text = std::fs::read_to_string(path).expect("read");
                    let swapped = if text.contains("nn.Module") {
                        text.replacen("nn.Module", "nn.Modulo", 1)
                    } else {
                        text.replacen("nn.Modulo", "nn.Module", 1)
                    };
                    let modified = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                    std::fs::write(path, swapped).expect("write");
                    let _ = std::fs::File::options()
                        .write(true)
                        .open(path)
                        .and_then(|file| file.set_modified(modified));
                }
            }
            _ => {
                // Nothing changes: the cache is used as it is.
            }
        }
        for args in [&["-v", "."][..], &["-v", "--known-modules-only", "."][..]] {
            let with = cached(&tree, args);
            let without = uncached(&tree, args);
            assert_eq!(
                with.stdout, without.stdout,
                "step {step} (seed {seed:#x}, NMF_CACHE_TEST_SEED replays it): the cache changed a finding"
            );
            let (summary, rest): (Vec<&str>, Vec<&str>) = with
                .stderr
                .lines()
                .partition(|line| line.starts_with("nmf: checked"));
            let without_rest: Vec<&str> = without
                .stderr
                .lines()
                .filter(|line| !line.starts_with("nmf: checked"))
                .collect();
            assert_eq!(rest, without_rest, "step {step}");
            hits += summary
                .first()
                .and_then(|line| {
                    line.split(", ")
                        .find_map(|part| part.strip_suffix(" from the cache"))
                })
                .and_then(|count| count.parse::<usize>().ok())
                .unwrap_or_default();
        }
    }
    eprintln!("{hits} files came from the cache over {edits} edits");
    // The cache was used, not just filled.
    assert!(hits > edits, "only {hits} files came from the cache");
}
