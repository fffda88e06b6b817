#!/usr/bin/env python3
"""Adds a new nmf rule: the rule file, its registry line, a fixture, and regenerated docs.

    python3 scripts/add_rule.py --code NMF003 --name module-call-override [--keyword __call__]

Writes `crates/nmf_linter/src/rules/nmf003_module_call_override.rs` with every documentation
section as a placeholder, a prefilter and a check function to fill in; declares the module and
adds its `RULE` to `ALL_RULES` in `crates/nmf_linter/src/rules/mod.rs`; writes the fixture
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

RULE_TEMPLATE = '''use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use crate::analysis::forward_call::{{could_spell, has_word}};
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
/// has one (the tests check this on every fixture, and again with identifiers re-spelled in
/// fullwidth letters); a file it rules out is not parsed. Python NFKC-normalises identifiers,
/// so `ｆｏｒｗａｒｄ` is `forward`: `could_spell` admits such spellings.
/// TODO: make sure every finding of this rule spells the identifier `{keyword}`.
fn could_match(source: &str) -> bool {{
    has_word(source, "{keyword}") || could_spell(source, "{keyword}")
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


# `rules/mod.rs` declares each rule's module (`pub mod nmf001_module_forward_call;`) and lists
# its `RULE` in `ALL_RULES` (`    &nmf001_module_forward_call::RULE,`), both in code order.
MODULE_DECLARATION = re.compile(r"^pub mod (nmf\d{3}_[a-z0-9_]+);\n", re.M)
RULE_LIST = re.compile(r"(pub static ALL_RULES: &\[&RuleInfo\] = &\[\n)(.*?)(^\];)", re.S | re.M)
RULE_ENTRY = re.compile(r"^    &([a-z0-9_]+)::RULE,$", re.M)


def registered_modules() -> list[str]:
    text = REGISTRY.read_text()
    declared = MODULE_DECLARATION.findall(text)
    rule_list = RULE_LIST.search(text)
    if not declared or not rule_list:
        fail(f"cannot find the rule modules and the `ALL_RULES` list in {REGISTRY.relative_to(ROOT)}")
    listed = RULE_ENTRY.findall(rule_list.group(2))
    if sorted(declared) != sorted(listed):
        fail(f"{REGISTRY.relative_to(ROOT)} declares the modules {declared} but lists {listed} in "
             "`ALL_RULES`: make them agree first")
    return declared


def register(module: str) -> None:
    """Adds `module` to the declarations and to `ALL_RULES`, keeping both in code order (the
    order `rustfmt` keeps `mod` items in)."""
    text = REGISTRY.read_text()
    modules = sorted(set(registered_modules()) | {module})
    declarations = list(MODULE_DECLARATION.finditer(text))
    start, end = declarations[0].start(), declarations[-1].end()
    if MODULE_DECLARATION.sub("", text[start:end]).strip():
        fail(f"the `pub mod` lines of {REGISTRY.relative_to(ROOT)} are not one block")
    text = text[:start] + "".join(f"pub mod {name};\n" for name in modules) + text[end:]
    entries = "".join(f"    &{name}::RULE,\n" for name in modules)
    text = RULE_LIST.sub(lambda found: found.group(1) + entries + found.group(3), text, count=1)
    REGISTRY.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", required=True, help="NMF and three digits, e.g. NMF003")
    parser.add_argument("--name", required=True, help="kebab-case, e.g. module-call-override")
    parser.add_argument("--keyword", default="forward",
                        help="an identifier every finding spells, for the prefilter (default: forward)")
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
        # `--workspace --test docs` rather than `-p nmf`: the workspace's features of dependencies,
        # so that what `cargo test --workspace` built is used, not built again.
        subprocess.run(["cargo", "test", "--quiet", "--workspace", "--test", "docs"], cwd=ROOT,
                       env={**os.environ, "NMF_UPDATE_DOCS": "1"}, check=True,
                       stdout=subprocess.DEVNULL)
    print(f"""
Next steps:
  1. Write the rule in {rule_file.relative_to(ROOT)}: its docs (every TODO), `could_match`
     (a sound prefilter: mind NFKC spellings, see `could_spell`) and `check`. Shared analyses live in crates/nmf_linter/src/analysis/.
  2. Write reported and not-reported cases in {fixture.relative_to(ROOT)}.
  3. Run every check a contributor needs:      cargo test --workspace
     A new or changed snapshot fails the run; review it with `cargo insta review`, or without
     cargo-insta: `INSTA_UPDATE=always cargo test -p nmf_driver --test fixtures`, then read and
     commit crates/nmf_driver/tests/snapshots/fixtures__fixtures@{args.code}.py.snap.
  4. Regenerate the docs whenever the rule's doc comment changes:
     NMF_UPDATE_DOCS=1 cargo test -p nmf --test docs""")


if __name__ == "__main__":
    main()
