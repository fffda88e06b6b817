//! Whether a class of the checked file is an `nn.Module`, from the file's module-level
//! bindings only.
//!
//! NMF003 asks it of every class that defines `__call__`, and in most files it lets through
//! (processors, tokenizers) it is the only question any rule asks. The whole summary of the
//! file walks every method's body for what it returns and assigns to `self`; a class's verdict
//! reads none of that, only what the names its bases are written with are bound to. When each
//! of those is an import, a class of the file whose own bases are such names, or a name the
//! module does not bind (a builtin, a star import), everything else the verdict reads is in
//! other files, and a summary of the module-level bindings alone (no function or class body
//! walked) gives the verdict the whole summary gives.

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Stmt};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::semantic::bindings::{BindingSink, SourceFacts, may_declare_global, walk_bindings};
use crate::semantic::summary::{Binding, ClassId, ModuleSummary, replaces_own_module};
use crate::semantic::values::ValueExpr;

/// The module-level bindings of a file, its classes with their bases (their bodies unwalked,
/// so a class nested in another is not among them); `None` when a function may bind a module
/// name (`global`), which only the walk of its body finds.
pub(crate) fn module_level_summary(
    body: &[Stmt],
    name: Option<Box<str>>,
    is_package: bool,
    source: &str,
) -> Option<ModuleSummary> {
    // [`SourceFacts::global`] is set for any text that is not ASCII; a `global` statement is
    // spelled in ASCII whatever the text (the parser takes keywords only from ASCII words; a
    // word with other characters is a name), so the text is searched for the keyword itself:
    // a third of the files NMF003 lets through in transformers have non-ASCII docstrings.
    if may_declare_global(source.as_bytes()) {
        return None;
    }
    let facts = SourceFacts::of(source);
    let mut sink = ModuleLevelSink {
        summary: ModuleSummary {
            name,
            is_package,
            ..ModuleSummary::default()
        },
        names: FxHashMap::default(),
    };
    walk_bindings(body, &mut sink, facts);
    let mut summary = sink.summary;
    summary.globals = sink.names;
    summary.is_dynamic |= summary.globals.contains_key("__getattr__");
    Some(summary)
}

/// Whether the verdict of class `id` of `summary` (a [`module_level_summary`]) reads nothing
/// of the file but its module-level imports and classes: each base is written with a name
/// bound only by imports (or, for a bare name, by classes of the file whose bases are such
/// names in turn), or one the module does not bind.
pub(crate) fn bases_read_only_module_level(summary: &ModuleSummary, id: ClassId) -> bool {
    let mut visited = FxHashSet::default();
    reads_only_module_level(summary, id, &mut visited)
}

fn reads_only_module_level(
    summary: &ModuleSummary,
    id: ClassId,
    visited: &mut FxHashSet<ClassId>,
) -> bool {
    // A cycle in the bases: the resolver stops there as it would with the whole summary.
    if !visited.insert(id) {
        return true;
    }
    let Some(class) = summary.class(id) else {
        return false;
    };
    class.bases.iter().all(|base| {
        let (root, bare) = match base {
            // Evaluates to nothing, wherever it is.
            ValueExpr::Unknown => return true,
            ValueExpr::Name(name) => (name, true),
            ValueExpr::Attribute(..) => match dotted_root(base) {
                Some(root) => (root, false),
                None => return false,
            },
            _ => return false,
        };
        let Some(bindings) = summary.globals.get(root) else {
            return true;
        };
        bindings.iter().all(|binding| match binding {
            Binding::Import { .. } => true,
            // An attribute of a class of the file reads its body, which is not walked here.
            Binding::Class(base) => bare && reads_only_module_level(summary, *base, visited),
            _ => false,
        })
    })
}

/// `a` in `a.b.c`.
fn dotted_root(mut value: &ValueExpr) -> Option<&Name> {
    loop {
        match value {
            ValueExpr::Attribute(inner, _) => value = inner,
            ValueExpr::Name(name) => return Some(name),
            _ => return None,
        }
    }
}

/// Collects what the module binds as [`ModuleSummary::build`] does at module level, without
/// entering a function's or a class's body.
struct ModuleLevelSink {
    summary: ModuleSummary,
    names: FxHashMap<Name, Vec<Binding>>,
}

impl BindingSink for ModuleLevelSink {
    fn bind(&mut self, name: &Name, binding: Binding) {
        self.names.entry(name.clone()).or_default().push(binding);
    }

    fn bind_subscript(&mut self, subscript: &ast::ExprSubscript) {
        if replaces_own_module(subscript) {
            self.summary.is_dynamic = true;
        }
    }

    fn class(&mut self, class_def: &ast::StmtClassDef) -> Binding {
        Binding::Class(self.summary.add_class_header(class_def))
    }

    fn star_import(&mut self, module: &str, level: u32) {
        self.summary.star_imports.push((module.into(), level));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summarise(source: &str) -> (ModuleSummary, ModuleSummary) {
        let parsed = ruff_python_parser::parse_module(source).expect("valid module");
        let whole = ModuleSummary::build(parsed.suite(), Some("pkg.m".into()), false, source);
        let module_level =
            module_level_summary(parsed.suite(), Some("pkg.m".into()), false, source)
                .expect("no global statement");
        (whole, module_level)
    }

    #[test]
    fn module_level_bindings_are_those_of_the_whole_summary() {
        let source = "import torch.nn as nn\nfrom .base import Base\nfrom .star import *\n\
                      try:\n    from fast import Mixin\nexcept ImportError:\n    Mixin = object\n\
                      class A(Base):\n    def __call__(self, x):\n        self.y = x\n        return x\n\
                      if True:\n    class B(nn.Module, A):\n        class Inner: pass\n\
                      def helper():\n    return A()\nValue = helper()\n";
        let (whole, module_level) = summarise(source);
        assert_eq!(whole.globals.len(), module_level.globals.len());
        for (name, bindings) in &module_level.globals {
            let whole_bindings = &whole.globals[name];
            assert_eq!(whole_bindings.len(), bindings.len(), "{name}");
            for (a, b) in whole_bindings.iter().zip(bindings) {
                match (a, b) {
                    // Ids count nested classes in the whole summary only; functions are not walked.
                    (Binding::Class(_), Binding::Class(_))
                    | (Binding::Function(_), Binding::Function(_)) => {}
                    _ => assert_eq!(a, b, "{name}"),
                }
            }
        }
        assert_eq!(whole.star_imports, module_level.star_imports);
        let names = |summary: &ModuleSummary| -> Vec<(String, Vec<ValueExpr>)> {
            summary
                .classes
                .iter()
                .filter(|class| class.name.as_str() != "Inner")
                .map(|class| (class.name.to_string(), class.bases.clone()))
                .collect()
        };
        assert_eq!(names(&whole), names(&module_level));
        assert!(module_level.class_at(whole.classes[2].start).is_none());
    }

    #[test]
    fn bases_written_with_imports_and_the_file_s_classes_read_only_module_level() {
        let source = "import torch.nn as nn\nfrom .base import Base\n\
                      class A(Base): pass\nclass B(nn.Module, A, object): pass\n\
                      def make(): return Base\nMade = make()\nclass C(Made): pass\n\
                      class D(A.Inner): pass\nclass E(B): pass\nclass F(C): pass\n";
        let (_, summary) = summarise(source);
        let reads = |name: &str| {
            let id = summary
                .classes
                .iter()
                .position(|class| class.name.as_str() == name)
                .expect("class");
            bases_read_only_module_level(&summary, id as ClassId)
        };
        assert!(reads("A"));
        assert!(reads("B"));
        assert!(reads("E"));
        // A value: what `make()` returns is in a function's body.
        assert!(!reads("C"));
        assert!(!reads("F"));
        // An attribute of a class of the file: its body.
        assert!(!reads("D"));
    }

    #[test]
    fn a_file_that_may_bind_a_module_name_in_a_function_gets_no_module_level_summary() {
        for source in [
            "class A: pass\ndef f():\n    global A\n    A = 1\n",
            "class A: pass\ndef f():\n    \"\"\"Ã\"\"\"\n    global A\n    A = 1\n",
        ] {
            let parsed = ruff_python_parser::parse_module(source).expect("valid module");
            assert!(module_level_summary(parsed.suite(), None, false, source).is_none());
        }
        // Text that is not ASCII, without the keyword: a docstring, a name.
        let source = "\"\"\"Ã global attention\"\"\"\nclass Ä(object): pass\n";
        let parsed = ruff_python_parser::parse_module(source).expect("valid module");
        assert!(module_level_summary(parsed.suite(), None, false, source).is_some());
    }
}
