//! Is a type an `nn.Module`? Verdicts of values, of classes through their bases, and of
//! "this class or any subclass", with the reason users see (`--show-receivers`).

use std::sync::Arc;

use ruff_python_ast::name::Name;
use rustc_hash::FxHashSet;

use super::ty::{ClassKey, Exactness, Ty, members};
use super::{Context, MAX_HIERARCHY_DEPTH, TypeResolver};
use crate::semantic::known::{
    Makes, external_class_verdict, external_defines_nothing_named, factory, normalize_typing,
    not_module_package,
};
use crate::semantic::summary::{ClassId, ModuleId, ModuleSummary};

/// A verdict and why, for users who ask (`--show-receivers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// The reason, when there is one worth saying: `a Python module object`, `cv2 objects are
    /// not nn.Modules (OpenCV)`.
    pub reason: Option<String>,
}

impl Judgement {
    pub(super) fn of(verdict: Verdict) -> Self {
        Self {
            verdict,
            reason: None,
        }
    }

    pub fn because(verdict: Verdict, reason: impl Into<String>) -> Self {
        Self {
            verdict,
            reason: Some(reason.into()),
        }
    }

    /// A value that may be either: the more dangerous verdict wins, with its reasons.
    fn either(self, other: Judgement) -> Judgement {
        match self.verdict.cmp(&other.verdict) {
            std::cmp::Ordering::Greater => self,
            std::cmp::Ordering::Less => other,
            std::cmp::Ordering::Equal => {
                let reason = match (self.reason, other.reason) {
                    (Some(a), Some(b)) if a != b => Some(format!("{a}; {b}")),
                    (a, b) => a.or(b),
                };
                Judgement {
                    verdict: self.verdict,
                    reason,
                }
            }
        }
    }
}

/// What a receiver of `.forward(...)` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Every possibility is known and none is an `nn.Module`.
    NotModule,
    /// A subclass of `torch.autograd.Function` (or its class object).
    AutogradFunction,
    /// Not known either way.
    Unknown,
    /// An `nn.Module` (or its class, for unbound calls).
    Module,
}

impl Verdict {
    /// The verdict for a value that may be either: the more dangerous one wins.
    fn either(self, other: Verdict) -> Verdict {
        self.max(other)
    }
}

impl TypeResolver<'_> {
    /// Whether a value of type `ty` is an `nn.Module`.
    pub fn verdict(&mut self, ty: &Ty) -> Verdict {
        self.judge(ty).verdict
    }

    /// Whether a value of type `ty` is an `nn.Module`, and why.
    pub fn judge(&mut self, ty: &Ty) -> Judgement {
        self.lookups.clear();
        match ty {
            Ty::Instance(class, _, Exactness::OrSubclass)
            | Ty::Class(class, Exactness::OrSubclass) => self.open_judgement(class),
            Ty::Instance(class, _, Exactness::Exact) | Ty::Class(class, Exactness::Exact) => {
                self.class_judgement(class)
            }
            Ty::External(name) => self.external_judgement(name),
            Ty::Module(_) => Judgement::because(Verdict::NotModule, "a Python module object"),
            // `Optional[C]` is C: calling `.forward` on None is not what the code means.
            Ty::Union(members) => {
                let mut judgements = members
                    .iter()
                    .filter(|member| !matches!(member, Ty::None))
                    .map(|member| self.judge(member))
                    .peekable();
                if judgements.peek().is_none() {
                    Judgement::of(Verdict::Unknown)
                } else {
                    judgements.fold(Judgement::of(Verdict::NotModule), Judgement::either)
                }
            }
            // Only ever None here: something unseen must assign it.
            Ty::None | Ty::Unknown | Ty::Function(..) => Judgement::of(Verdict::Unknown),
        }
    }

    /// Whether calling `attribute` on a value of type `ty` runs an `nn.Module`'s method, and
    /// why: as [`Self::judge`], but an instance that may be of a subclass and whose class
    /// defines no `attribute` can only run a subclass's, which may be a module's.
    pub fn judge_method_call(&mut self, ty: &Ty, attribute: &str) -> Judgement {
        let judgement = self.judge(ty);
        if judgement.verdict != Verdict::NotModule {
            return judgement;
        }
        let mut undefined = None;
        for member in members(ty) {
            if let Ty::Instance(class @ ClassKey::Project(..), _, Exactness::OrSubclass) = member
                && !self.defines(class, attribute)
            {
                undefined = Some(class.qualified_name());
                break;
            }
        }
        match undefined {
            Some(class) => Judgement::because(
                Verdict::Unknown,
                format!(
                    "`{class}` defines no `{attribute}`: only a subclass's can run, and a subclass \
                     may be an nn.Module"
                ),
            ),
            None => judgement,
        }
    }

    /// Whether `class` or a class of its hierarchy binds `attribute` (a method, a class
    /// attribute, or `self.attribute = ...`), or may: a base nmf cannot see may bind anything.
    fn defines(&mut self, class: &ClassKey, attribute: &str) -> bool {
        let ClassKey::Project(module, id) = class else {
            return true;
        };
        let attribute = Name::new(attribute);
        let mut pending = vec![(module.clone(), *id)];
        let mut visited: FxHashSet<(ModuleId, ClassId)> = FxHashSet::default();
        while let Some((module, id)) = pending.pop() {
            if !visited.insert((module.id, id)) {
                continue;
            }
            if visited.len() > MAX_HIERARCHY_DEPTH {
                return true;
            }
            let Some(summary) = module.class(id) else {
                return true;
            };
            if summary.body.contains_key(&attribute)
                || module
                    .instance_attributes(id)
                    .is_some_and(|attributes| attributes.contains_key(&attribute))
            {
                return true;
            }
            let context = Context::module(&module);
            for base in &summary.bases.clone() {
                let base = self.eval(context, base, 0);
                for member in members(&base) {
                    match member {
                        Ty::Class(ClassKey::Project(base_module, base_id), _) => {
                            pending.push((base_module.clone(), *base_id));
                        }
                        Ty::Class(ClassKey::External(name), _) | Ty::External(name)
                            if external_defines_nothing_named(name, attribute.as_str()) => {}
                        _ => return true,
                    }
                }
            }
        }
        false
    }

    fn external_judgement(&self, name: &str) -> Judgement {
        if let Some(reason) = not_module_package(name, self.not_module_packages) {
            return Judgement::because(Verdict::NotModule, reason);
        }
        // What a well-known factory made (`timm.create_model()`).
        if let Some(called) = name.strip_suffix("()")
            && let Some((makes, reason)) =
                factory(called, self.module_factories, self.not_module_factories)
        {
            let verdict = match makes {
                Makes::Module => Verdict::Module,
                Makes::NotModule => Verdict::NotModule,
            };
            return Judgement::because(verdict, reason);
        }
        Judgement::of(external_class_verdict(name))
    }

    fn class_judgement(&mut self, class: &ClassKey) -> Judgement {
        if let ClassKey::External(name) = class {
            return self.external_judgement(name);
        }
        Judgement::of(self.class_verdict(class))
    }

    /// An instance of `class` or of any subclass: not a module only when neither the class
    /// nor any class of the project that derives from it is (or may be) one. A class that
    /// says nothing about its instances (`object`, `ABC`, a `Protocol`, which any object with
    /// the right methods satisfies) is unknown.
    fn open_judgement(&mut self, class: &ClassKey) -> Judgement {
        let exact = self.class_judgement(class);
        if exact.verdict != Verdict::NotModule {
            return exact;
        }
        let key = match class {
            ClassKey::External(name) => {
                return if says_nothing_about_instances(name) {
                    Judgement::because(
                        Verdict::Unknown,
                        format!("`{name}` may be any object, an nn.Module too"),
                    )
                } else {
                    exact
                };
            }
            ClassKey::Project(module, id) => (module.id, *id),
        };
        if let Some(known) = self.open_verdicts.get(&key) {
            return known.clone();
        }
        let judgement = if self.is_protocol(class) {
            Judgement::because(
                Verdict::Unknown,
                format!(
                    "`{}` is a Protocol: any object with its methods fits, an nn.Module too",
                    class.qualified_name()
                ),
            )
        } else {
            self.subclasses_judgement(class)
        };
        self.open_verdicts.insert(key, judgement.clone());
        judgement
    }

    /// Whether `class` declares itself a `Protocol` (a structural type, which objects fit
    /// without deriving from it).
    fn is_protocol(&mut self, class: &ClassKey) -> bool {
        let ClassKey::Project(module, id) = class else {
            return false;
        };
        let Some(summary) = module.class(*id) else {
            return false;
        };
        let context = Context::module(module);
        summary.bases.clone().iter().any(|base| {
            let base = self.eval(context, base, 0);
            members(&base).iter().any(|member| match member {
                Ty::External(name) | Ty::Class(ClassKey::External(name), _) => {
                    normalize_typing(name) == "typing.Protocol"
                }
                _ => false,
            })
        })
    }

    /// Whether instances of `class` are `nn.Module`s, following every base.
    pub fn class_verdict(&mut self, class: &ClassKey) -> Verdict {
        let ClassKey::Project(module, id) = class else {
            return external_class_verdict(&class.qualified_name());
        };
        let key = (module.id, *id);
        if let Some(verdict) = self.verdicts.get(&key) {
            return *verdict;
        }
        // A checkout of torch itself: its own root classes keep their known meaning.
        let qualified = class.qualified_name();
        let known = if qualified.starts_with("torch.") {
            external_class_verdict(&qualified)
        } else {
            Verdict::Unknown
        };
        let verdict = if known != Verdict::Unknown {
            known
        } else {
            // Real hierarchies are a few dozen classes deep; a generated chain of thousands is
            // not worth the stack.
            if self.in_progress.len() > MAX_HIERARCHY_DEPTH {
                return Verdict::Unknown;
            }
            if !self.in_progress.insert(key) {
                // A cycle in the bases: Python would refuse the class; we know nothing.
                return Verdict::Unknown;
            }
            let verdict = self.project_class_verdict(module, *id);
            self.in_progress.remove(&key);
            verdict
        };
        self.verdicts.insert(key, verdict);
        verdict
    }

    /// Whether `class` is one of the classes named `wanted` (qualified names), or derives from
    /// one through its bases, however they are imported (`sb.Brain`, `sb.core.Brain`, a project
    /// class in another file).
    pub fn derives_from(&mut self, class: &ClassKey, wanted: &[&str]) -> bool {
        self.derives_from_at(class, wanted, 0)
    }

    fn derives_from_at(&mut self, class: &ClassKey, wanted: &[&str], depth: usize) -> bool {
        if wanted.contains(&class.qualified_name().as_str()) {
            return true;
        }
        let ClassKey::Project(module, id) = class else {
            return false;
        };
        // Real hierarchies are a few dozen classes deep; a cycle or a generated chain ends here.
        if depth > MAX_HIERARCHY_DEPTH {
            return false;
        }
        let Some(summary) = module.class(*id) else {
            return false;
        };
        let context = Context::module(module);
        let bases = summary.bases.clone();
        bases.iter().any(|base| {
            let base = self.eval(context, base, 0);
            members(&base).iter().any(|member| match member {
                Ty::Class(base, _) => self.derives_from_at(base, wanted, depth + 1),
                Ty::External(name) => wanted.contains(&&**name),
                _ => false,
            })
        })
    }

    /// A class is a module when one base is; otherwise unknown when one base is unknown, and so
    /// on: the most dangerous verdict of its bases (`object`, the implicit base, is none).
    fn project_class_verdict(&mut self, module: &Arc<ModuleSummary>, id: ClassId) -> Verdict {
        let Some(class) = module.class(id) else {
            return Verdict::Unknown;
        };
        let context = Context::module(module);
        let mut verdict = Verdict::NotModule;
        for base in &class.bases.clone() {
            let base = self.eval(context, base, 0);
            verdict = verdict.either(self.base_verdict(&base));
        }
        verdict
    }

    /// The verdict of what a base-class expression evaluated to: a class, or one of several.
    fn base_verdict(&mut self, base: &Ty) -> Verdict {
        match base {
            Ty::Class(class, _) => self.class_verdict(class),
            // A class of a package that makes no modules (`chainer.Chain`) is no module's
            // base.
            Ty::External(name) if not_module_package(name, self.not_module_packages).is_some() => {
                Verdict::NotModule
            }
            Ty::External(name) => external_class_verdict(name),
            Ty::Union(members) => members
                .iter()
                .map(|member| self.base_verdict(member))
                .fold(Verdict::NotModule, Verdict::either),
            _ => Verdict::Unknown,
        }
    }
}

/// Classes whose declared instances may be any object: `x: object`.
fn says_nothing_about_instances(name: &str) -> bool {
    matches!(
        normalize_typing(name).as_str(),
        "builtins.object" | "abc.ABC" | "typing.Any" | "typing.Hashable" | "typing.Sized"
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Project, verdict};
    use super::*;
    use crate::semantic::values::ValueExpr;

    #[test]
    fn a_class_is_a_module_when_a_base_is_however_it_is_imported() {
        for source in [
            "import torch\nclass A(torch.nn.Module): pass\n",
            "import torch.nn as nn\nclass A(nn.Linear): pass\n",
            "from torch import nn\nclass A(nn.Module): pass\n",
            "from torch.nn import Module as M\nclass B(M): pass\nclass A(B): pass\n",
            "import torch.nn as nn\nclass A(object, nn.Module): pass\n",
        ] {
            assert_eq!(verdict(source, "A()"), Verdict::Module, "{source}");
            assert_eq!(verdict(source, "A"), Verdict::Module, "{source}");
        }
    }

    #[test]
    fn a_class_is_not_a_module_only_when_every_base_is_known() {
        assert_eq!(verdict("class A: pass\n", "A()"), Verdict::NotModule);
        assert_eq!(
            verdict("from abc import ABC\nclass A(ABC): pass\n", "A()"),
            Verdict::NotModule
        );
        assert_eq!(
            verdict("from lib import Base\nclass A(Base): pass\n", "A()"),
            Verdict::Unknown
        );
        assert_eq!(verdict("class A(A): pass\n", "A()"), Verdict::Unknown);
        assert_eq!(
            verdict(
                "import torch\nclass F(torch.autograd.Function): pass\n",
                "F"
            ),
            Verdict::AutogradFunction
        );
    }

    #[test]
    fn a_reloaded_summary_never_shares_a_memo_entry_with_the_old_one() {
        let first = Project::new(&[("m", "class A: pass\n")]);
        let second = Project::new(&[("m", "import torch.nn as nn\nclass A(nn.Module): pass\n")]);
        let old = first.0["m"].clone();
        let new = second.0["m"].clone();
        assert_ne!(old.id, new.id);
        let mut resolver = TypeResolver::new(&first, old.clone(), &[]);
        assert_eq!(
            resolver.class_verdict(&ClassKey::Project(old, 0)),
            Verdict::NotModule
        );
        assert_eq!(
            resolver.class_verdict(&ClassKey::Project(new, 0)),
            Verdict::Module
        );
    }

    #[test]
    fn a_declared_instance_that_may_be_any_object_is_unknown() {
        assert_eq!(verdict("x: object\n", "x"), Verdict::Unknown);
        let source =
            "from typing import Protocol\nclass P(Protocol):\n    def run(self): ...\nx: P\n";
        let (_, judgement) = Project::new(&[("m", source)]).judge("m", "x");
        assert_eq!(judgement.verdict, Verdict::Unknown);
        assert!(
            judgement
                .reason
                .is_some_and(|reason| reason.contains("is a Protocol")),
            "the reason names the Protocol"
        );
        assert_eq!(verdict("class P: pass\nx: P\n", "x"), Verdict::NotModule);
    }

    #[test]
    fn a_method_no_class_of_the_hierarchy_defines_can_only_be_a_subclass_s() {
        let project = Project::new(&[("m", "class P:\n    def run(self): ...\nx: P\n")]);
        let mut resolver = TypeResolver::new(&project, project.0["m"].clone(), &[]);
        let parsed = ruff_python_parser::parse_expression("x").expect("valid");
        let ty = resolver.infer(&ValueExpr::from_expr(parsed.expr()), &[]);
        assert_eq!(resolver.verdict(&ty), Verdict::NotModule);
        assert_eq!(
            resolver.judge_method_call(&ty, "run").verdict,
            Verdict::NotModule
        );
        let forward = resolver.judge_method_call(&ty, "forward");
        assert_eq!(forward.verdict, Verdict::Unknown);
        assert!(
            forward
                .reason
                .is_some_and(|reason| reason.contains("`m.P` defines no `forward`"))
        );
    }

    #[test]
    fn the_more_dangerous_verdict_of_either_wins_with_both_reasons() {
        let unknown = Judgement::because(Verdict::Unknown, "a");
        let module = Judgement::of(Verdict::Module);
        assert_eq!(unknown.clone().either(module.clone()), module);
        assert_eq!(
            unknown
                .clone()
                .either(Judgement::because(Verdict::Unknown, "b"))
                .reason
                .as_deref(),
            Some("a; b")
        );
        assert_eq!(
            unknown.clone().either(unknown.clone()).reason.as_deref(),
            Some("a")
        );
    }
}
