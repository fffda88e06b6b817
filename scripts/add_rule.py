#!/usr/bin/env python3
"""Adds a new nmf rule: the rule file, its registry line, a fixture, and regenerated docs.

    python3 scripts/add_rule.py --code NMF003 --name module-call-override [--keyword __call__]

Writes `crates/nmf_linter/src/rules/nmf003_module_call_override.rs` with every documentation
section as a placeholder, a prefilter and a check function to fill in; adds the module to the
`registry!` list in `crates/nmf_linter/src/rules/mod.rs`; writes the fixture
`resources/test/fixtures/NMF003.py`; regenerates `docs/rules.md`, the README's table of rules and
the flake8 plugin's docstring (`NMF_UPDATE_DOCS=1 cargo test -p nmf --test docs`, skipped with
`--no-docs`); then prints the next steps. The generated rule builds and passes the whole suite
once its (empty) snapshot is accepted; it reports nothing until its check is written.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "crates" / "nmf_linter" / "src" / "rules"
REGISTRY = RULES / "mod.rs"
FIXTURES = ROOT / "resources" / "test" / "fixtures"

RULE_TEMPLATE = '''use memchr::memmem;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use crate::checker::Checker;
use crate::declare_rule;
use crate::diagnostic::{{Diagnostic, Violation}};
use crate::registry::FixAvailability;

declare_rule! {{
    /// ## What it does
    /// TODO: one sentence, shown in the README's table of rules and in SARIF output.
    ///
    /// ## Why is this bad?
    /// TODO: which hooks or guarantees the code skips, and what goes wrong silently.
    ///
    /// ## Example
    /// ```python
    /// # TODO: code that is reported
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// # TODO: the same code, written so that it is not reported
    /// ```
    ///
    /// ## References
    /// - TODO: [PyTorch documentation](https://pytorch.org/docs/stable/)
    pub static RULE = {{
        code: "{code}",
        name: "{name}",
        fix: FixAvailability::None,
        could_match: could_match,
        on_expr: check,
    }}
}}

/// The finding's message and, when there is one, its fix title.
pub struct {violation};

impl Violation for {violation} {{
    fn message(&self) -> String {{
        "TODO: what is wrong, in one line".to_string()
    }}
}}

/// The prefilter: whether `source` may hold a finding. It must never say no to a source that
/// has one (the fixture test checks this on every fixture); a file it rules out is not parsed.
/// TODO: make sure every finding of this rule spells `{keyword}` in the source text.
fn could_match(source: &str) -> bool {{
    memmem::find(source.as_bytes(), b"{keyword}").is_some()
}}

/// Runs on every expression of a file that passed the prefilter (use `on_stmt` for
/// statements). TODO: report what the rule is about.
fn check(expr: &Expr, checker: &mut Checker<'_>) {{
    let reported = false;
    if reported {{
        checker.report(Diagnostic::new(&RULE, &{violation}, expr.range()));
    }}
}}
'''

FIXTURE_TEMPLATE = '''# {code} ({name}): each case says whether it is reported.
# The snapshot of this file (crates/nmf_driver/tests/snapshots/) shows every finding.
import torch.nn as nn


class Net(nn.Module):
    def forward(self, x):
        return x


model = Net()
# TODO: a case that is reported, e.g.
# model.{keyword}(x)  # {code}
# TODO: a case that is not reported, and why.
'''


def fail(message: str) -> None:
    print(f"add_rule.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def registered_modules() -> list[str]:
    text = REGISTRY.read_text()
    block = re.search(r"registry! \{\n(.*?)\n\}", text, re.S)
    if not block:
        fail(f"cannot find the `registry!` list in {REGISTRY.relative_to(ROOT)}")
    return [line.strip().rstrip(",") for line in block.group(1).splitlines() if line.strip()]


def register(module: str) -> None:
    text = REGISTRY.read_text()
    modules = sorted(set(registered_modules()) | {module})
    listing = "\n".join(f"    {name}," for name in modules)
    REGISTRY.write_text(re.sub(r"registry! \{\n.*?\n\}", f"registry! {{\n{listing}\n}}", text, flags=re.S))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", required=True, help="NMF and three digits, e.g. NMF003")
    parser.add_argument("--name", required=True, help="kebab-case, e.g. module-call-override")
    parser.add_argument("--keyword", default="forward",
                        help="a word every finding spells, for the prefilter (default: forward)")
    parser.add_argument("--no-docs", action="store_true",
                        help="do not regenerate docs/rules.md, the README table and the plugin docstring")
    args = parser.parse_args()

    if not re.fullmatch(r"NMF\d{3}", args.code):
        fail(f"--code {args.code!r}: a code is NMF and three digits, e.g. NMF003")
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", args.name):
        fail(f"--name {args.name!r}: a name is kebab-case, e.g. module-call-override")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.keyword):
        fail(f"--keyword {args.keyword!r}: an identifier that every finding spells")
    module = f"{args.code.lower()}_{args.name.replace('-', '_')}"
    for existing in registered_modules():
        if existing.startswith(args.code.lower() + "_"):
            fail(f"{args.code} is taken by rules/{existing}.rs")
        if existing.split("_", 1)[1] == args.name.replace("-", "_"):
            fail(f"the name {args.name} is taken by rules/{existing}.rs")
    rule_file = RULES / f"{module}.rs"
    fixture = FIXTURES / f"{args.code}.py"
    for path in (rule_file, fixture):
        if path.exists():
            fail(f"{path.relative_to(ROOT)} already exists")

    violation = "".join(word.capitalize() for word in args.name.split("-"))
    rule_file.write_text(RULE_TEMPLATE.format(code=args.code, name=args.name, violation=violation,
                                              keyword=args.keyword))
    fixture.write_text(FIXTURE_TEMPLATE.format(code=args.code, name=args.name, keyword=args.keyword))
    register(module)
    print(f"wrote {rule_file.relative_to(ROOT)}")
    print(f"wrote {fixture.relative_to(ROOT)}")
    print(f"registered {module} in {REGISTRY.relative_to(ROOT)}")
    if not args.no_docs:
        print("regenerating docs/rules.md, the README's table of rules and the plugin docstring...")
        subprocess.run(["cargo", "test", "--quiet", "-p", "nmf", "--test", "docs"], cwd=ROOT,
                       env={**os.environ, "NMF_UPDATE_DOCS": "1"}, check=True,
                       stdout=subprocess.DEVNULL)
    print(f"""
Next steps:
  1. Write the rule in {rule_file.relative_to(ROOT)}: its docs (every TODO), `could_match`
     (a sound prefilter) and `check`. Shared analyses live in crates/nmf_linter/src/analysis/.
  2. Write reported and not-reported cases in {fixture.relative_to(ROOT)}.
  3. Run every check a contributor needs:      cargo test --workspace
     A new or changed snapshot fails the run; review it with `cargo insta review`, or without
     cargo-insta: `INSTA_UPDATE=always cargo test -p nmf_driver --test fixtures`, then read and
     commit crates/nmf_driver/tests/snapshots/fixtures__fixtures@{args.code}.py.snap.
  4. Regenerate the docs whenever the rule's doc comment changes:
     NMF_UPDATE_DOCS=1 cargo test -p nmf --test docs""")


if __name__ == "__main__":
    main()
