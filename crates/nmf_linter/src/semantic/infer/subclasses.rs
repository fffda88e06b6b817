//! The subclass search: whether any class of the project that derives from a class (directly,
//! through other subclasses, or through aliases) is, or may be, an `nn.Module`. Only the files
//! that mention one of those names are read.

use std::ops::ControlFlow;

use ruff_python_ast::name::Name;
use rustc_hash::FxHashSet;

use super::ty::{ClassKey, Ty, members, same_class};
use super::verdict::{Judgement, Verdict};
use super::{Context, TypeResolver};
use crate::semantic::known::external_class_verdict;
use crate::semantic::summary::{Binding, ClassId};
use crate::semantic::values::ValueExpr;

/// Why the project could not be searched for the subclasses of a class.
pub(super) enum SearchFailure {
    /// The class has more subclasses and aliases than a search follows.
    TooMany,
    /// The project has too many files to search.
    TooLarge,
}

impl TypeResolver<'_> {
    /// Whether any class of the project that derives from `class` (directly, through other
    /// subclasses, or through aliases of any of them) is, or may be, an `nn.Module`. Only the
    /// files that mention one of those names can hold such a class.
    pub(super) fn subclasses_judgement(&mut self, class: &ClassKey) -> Judgement {
        let ClassKey::Project(module, id) = class else {
            return Judgement::of(external_class_verdict(&class.qualified_name()));
        };
        if module.class(*id).is_none() {
            return Judgement::of(Verdict::Unknown);
        }
        let qualified = class.qualified_name();
        let mut found = None;
        let searched = self.walk_subclasses(class, &mut |resolver, key| {
            let verdict = resolver.class_verdict(key);
            if verdict == Verdict::NotModule {
                return ControlFlow::Continue(());
            }
            let what = match verdict {
                Verdict::Module => "is an nn.Module",
                _ => "may be an nn.Module",
            };
            // One is enough: the instance may be a module.
            found = Some(Judgement::because(
                Verdict::Unknown,
                format!(
                    "`{}`, a class of the project that derives from it, {what}",
                    key.qualified_name()
                ),
            ));
            ControlFlow::Break(())
        });
        if let Some(found) = found {
            return found;
        }
        match searched {
            Ok(()) => Judgement::because(
                Verdict::NotModule,
                "neither it nor any class of the project that derives from it is one",
            ),
            Err(SearchFailure::TooMany) => Judgement::because(
                Verdict::Unknown,
                format!("`{qualified}` has too many subclasses to follow"),
            ),
            Err(SearchFailure::TooLarge) => Judgement::because(
                Verdict::Unknown,
                format!("the project is too large to search for subclasses of `{qualified}`"),
            ),
        }
    }

    /// Every class of the project that derives from `class` (directly, through other
    /// subclasses, or through aliases of any of them), remembered per class; `None` when the
    /// project cannot be searched.
    pub(super) fn project_subclasses(&mut self, class: &ClassKey) -> Option<Vec<ClassKey>> {
        let ClassKey::Project(module, id) = class else {
            return Some(Vec::new());
        };
        let key = (module.id, *id);
        if let Some(known) = self.functions.subclasses.get(&key) {
            return known.clone();
        }
        let mut found = Vec::new();
        let searched = self.walk_subclasses(class, &mut |_, subclass| {
            found.push(subclass.clone());
            ControlFlow::Continue(())
        });
        let subclasses = searched.ok().map(|()| found);
        self.functions.subclasses.insert(key, subclasses.clone());
        subclasses
    }

    /// Visits every class of the project that derives from `class`, breadth first, one search
    /// of the project per generation of subclasses, until `visit` breaks. Only the files that
    /// mention one of the names of the family (the classes and their aliases) are read.
    fn walk_subclasses(
        &mut self,
        class: &ClassKey,
        visit: &mut dyn FnMut(&mut Self, &ClassKey) -> ControlFlow<()>,
    ) -> Result<(), SearchFailure> {
        /// Names to search for: a class, its subclasses and their aliases (a library's
        /// family of transforms or datasets has a hundred).
        const MAX_NAMES: usize = 256;
        let ClassKey::Project(module, id) = class else {
            return Ok(());
        };
        let Some(summary) = module.class(*id) else {
            return Ok(());
        };
        let mut family = vec![class.clone()];
        let mut searched: FxHashSet<Name> = FxHashSet::default();
        let mut frontier = vec![summary.name.clone()];
        while !frontier.is_empty() {
            frontier.retain(|name| searched.insert(name.clone()));
            if frontier.is_empty() {
                break;
            }
            if searched.len() > MAX_NAMES {
                return Err(SearchFailure::TooMany);
            }
            let words: Vec<&str> = frontier.iter().map(Name::as_str).collect();
            let Some(mut candidates) = self.project.mentioning(&words) else {
                return Err(SearchFailure::TooLarge);
            };
            candidates.push(self.module.clone());
            let mut next = Vec::new();
            for candidate in &candidates {
                let context = Context::module(candidate);
                for (index, subclass) in candidate.classes.iter().enumerate() {
                    let names_a_parent = subclass
                        .bases
                        .iter()
                        .any(|base| last_name(base).is_some_and(|name| frontier.contains(name)));
                    if !names_a_parent {
                        continue;
                    }
                    let key = ClassKey::Project(candidate.clone(), index as ClassId);
                    if family.iter().any(|known| same_class(known, &key)) {
                        continue;
                    }
                    let derives = subclass.bases.iter().any(|base| {
                        let base = self.eval(context, base, 0);
                        members(&base).iter().any(|member| {
                            matches!(member, Ty::Class(parent, _) if family.iter().any(|known| same_class(known, parent)))
                        })
                    });
                    if !derives {
                        continue;
                    }
                    if visit(self, &key).is_break() {
                        return Ok(());
                    }
                    next.push(subclass.name.clone());
                    family.push(key);
                }
                // `Alias = Name` and `from m import Name as Alias`.
                for (alias, bindings) in &candidate.globals {
                    if searched.contains(alias) {
                        continue;
                    }
                    let mentions = bindings.iter().any(|binding| match binding {
                        Binding::Import {
                            member: Some(member),
                            ..
                        } => frontier.contains(member),
                        Binding::Value(value) => {
                            last_name(value).is_some_and(|name| frontier.contains(name))
                        }
                        _ => false,
                    });
                    if mentions {
                        let ty = self.eval_bindings(context, bindings, 0);
                        if members(&ty).iter().any(|member| {
                            matches!(member, Ty::Class(aliased, _) if family.iter().any(|known| same_class(known, aliased)))
                        }) {
                            next.push(alias.clone());
                        }
                    }
                }
            }
            frontier = next;
        }
        Ok(())
    }
}

/// The last name of a dotted expression: `C` for `pkg.mod.C`.
fn last_name(value: &ValueExpr) -> Option<&Name> {
    match value {
        ValueExpr::Name(name) | ValueExpr::Attribute(_, name) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::super::testing::{Project, verdict};

    #[test]
    fn an_open_instance_is_unknown_when_a_project_subclass_is_a_module() {
        let base = "import torch.nn as nn\nclass P: pass\nclass Q(P): pass\nx: P\n";
        assert_eq!(verdict(base, "x"), Verdict::NotModule);
        // Two generations down.
        let source = format!("{base}class R(Q, nn.Module): pass\n");
        let (_, judgement) = Project::new(&[("m", &source)]).judge("m", "x");
        assert_eq!(judgement.verdict, Verdict::Unknown);
        assert_eq!(
            judgement.reason.as_deref(),
            Some("`m.R`, a class of the project that derives from it, is an nn.Module")
        );
        // Exactly `P`: its subclasses do not matter.
        assert_eq!(verdict(&source, "P()"), Verdict::NotModule);
    }

    #[test]
    fn subclasses_are_found_through_aliases_and_other_files() {
        let alias = "import torch.nn as nn\nclass P: pass\nAlias = P\n\
                     class R(Alias, nn.Module): pass\nx: P\n";
        assert_eq!(verdict(alias, "x"), Verdict::Unknown);
        let project = Project::new(&[
            ("pkg.base", "class P: pass\nx: P\n"),
            (
                "pkg.impl",
                "import torch.nn as nn\nfrom pkg.base import P as Base\n\
                 class R(Base, nn.Module): pass\n",
            ),
        ]);
        assert_eq!(project.infer("pkg.base", "x").1, Verdict::Unknown);
    }

    #[test]
    fn a_class_that_only_shares_a_name_is_not_a_subclass() {
        let project = Project::new(&[
            ("a", "class P: pass\nx: P\n"),
            (
                "b",
                "import torch.nn as nn\nclass P: pass\nclass R(P, nn.Module): pass\n",
            ),
        ]);
        assert_eq!(project.infer("a", "x").1, Verdict::NotModule);
    }

    #[test]
    fn a_family_of_a_hundred_subclasses_is_followed_to_the_end() {
        let mut source = String::from(
            "import torch.nn as nn\nclass Transform:\n    def forward(self, x): ...\nx: Transform\n",
        );
        for index in 0..100 {
            source.push_str(&format!("class T{index}(Transform): pass\n"));
        }
        assert_eq!(verdict(&source, "x"), Verdict::NotModule);
        source.push_str("class T100(T99, nn.Module): pass\n");
        assert_eq!(verdict(&source, "x"), Verdict::Unknown);
    }
}
