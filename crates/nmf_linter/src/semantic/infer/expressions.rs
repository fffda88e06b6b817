//! Evaluating expressions: names through their bindings (local scopes, module globals,
//! `import *`, builtins), imports across the project, and annotations.

use std::sync::Arc;

use ruff_python_ast::name::Name;

use super::containers::{ElementAccess, container_method, element_type, unpacked};
use super::ty::{
    ClassKey, Exactness, FunctionRef, Ty, external_instance, instance_of, map_union, members, union,
};
use super::{Context, LookupKey, MAX_EVAL_DEPTH, ReceiverKey, TypeResolver};
use crate::semantic::known::{BUILTINS, TypingForm, typing_form};
use crate::semantic::summary::{Binding, FunctionSummary, ModuleSummary};
use crate::semantic::values::{Annotation, ValueExpr};

impl TypeResolver<'_> {
    /// The type of `value` evaluated in `context`; `depth` bounds the chains it follows.
    pub(super) fn eval(&mut self, context: Context<'_>, value: &ValueExpr, depth: usize) -> Ty {
        if depth > MAX_EVAL_DEPTH {
            return Ty::Unknown;
        }
        match value {
            ValueExpr::Name(name) => self.lookup(context, name, depth + 1),
            ValueExpr::Attribute(value, attribute) => {
                let owner = self.eval(context, value, depth + 1);
                self.attribute(&owner, attribute, depth + 1)
            }
            ValueExpr::Call(callee, arguments) => {
                let callee = if let ValueExpr::Attribute(owner, method) = callee.as_ref() {
                    let owner = self.eval(context, owner, depth + 1);
                    if let Some(ty) = container_method(&owner, method) {
                        return ty;
                    }
                    self.attribute(&owner, method, depth + 1)
                } else {
                    self.eval(context, callee, depth + 1)
                };
                if let Ty::External(name) = &callee
                    && let Some(ty) = self.builtin_call(context, name, arguments, depth)
                {
                    return ty;
                }
                self.call(&callee, depth + 1)
            }
            ValueExpr::Unpack(value, index) => {
                let value = self.eval(context, value, depth + 1);
                map_union(&value, &mut |ty| unpacked(ty, *index))
            }
            ValueExpr::Enter(manager) => {
                // `with f(...) as x` of a `@contextmanager` function: what it yields.
                if let ValueExpr::Call(callee, _) = manager.as_ref() {
                    let callee = self.eval(context, callee, depth + 1);
                    if let Some(ty) = self.entered_context_manager(&callee, depth + 1) {
                        return ty;
                    }
                }
                let manager = self.eval(context, manager, depth + 1);
                let mut entered = Vec::new();
                for member in members(&manager) {
                    entered.push(self.entered(member, depth + 1));
                }
                union(entered)
            }
            ValueExpr::Collection(collection) => self.collection(context, collection, depth + 1),
            ValueExpr::Literal(class) => external_instance(class, Vec::new()),
            ValueExpr::SelfRef => match context.self_class {
                Some(class) => Ty::Instance(
                    ClassKey::Project(context.module.clone(), class),
                    Vec::new(),
                    Exactness::OrSubclass,
                ),
                None => Ty::Unknown,
            },
            ValueExpr::Imported {
                module,
                level,
                member,
            } => {
                let binding = Binding::Import {
                    module: module.clone(),
                    level: *level,
                    member: member.clone(),
                };
                self.eval_binding(context, &binding, depth + 1)
            }
            ValueExpr::Subscript(container) => {
                let container = self.eval(context, container, depth + 1);
                map_union(&container, &mut |ty| {
                    element_type(ty, ElementAccess::Subscript)
                })
            }
            ValueExpr::Iter(container) => {
                let container = self.eval(context, container, depth + 1);
                map_union(&container, &mut |ty| {
                    element_type(ty, ElementAccess::Iteration)
                })
            }
            ValueExpr::Declared(annotation) => self.annotation(context, annotation, depth + 1),
            ValueExpr::None => Ty::None,
            ValueExpr::Unknown => Ty::Unknown,
        }
    }

    /// The type of `name`: the union of its bindings in the innermost scope that binds it,
    /// else the module's global. Remembered for the current query, and for the whole file
    /// when the result allows it (see [`LookupKey`], [`super::Remembered`]).
    fn lookup(&mut self, context: Context<'_>, name: &Name, depth: usize) -> Ty {
        let found = context
            .locals
            .iter()
            .enumerate()
            .find_map(|(index, scope)| Some((index, scope.get(name)?)));
        let scopes = match found {
            Some((index, _)) => &context.locals[index..],
            None => &[],
        };
        let key = LookupKey {
            module: context.module.id,
            scopes: scopes
                .iter()
                .map(|scope| std::ptr::from_ref(*scope) as usize)
                .collect(),
            name: name.clone(),
            depth,
            receiver: context.receiver.and_then(ReceiverKey::of),
        };
        if let Some(known) = self.lookups.get(&key).cloned() {
            return self.reuse_in_query(&known);
        }
        let at_top = self.at_top(&key.scopes);
        if at_top && let Some(known) = self.file_lookups.get(&key).cloned() {
            let ty = self.reuse_from_file(&known);
            self.lookups.insert(key, known);
            return ty;
        }
        let evaluated = self.remembering(|resolver| match found {
            Some((_, bindings)) => {
                let outer = Context {
                    module: context.module,
                    locals: scopes,
                    self_class: None,
                    receiver: context.receiver,
                };
                resolver.eval_bindings(outer, bindings, depth)
            }
            None => resolver.global(context.module, name, depth),
        });
        if at_top && evaluated.clean {
            self.file_lookups.insert(key.clone(), evaluated.clone());
        }
        let ty = evaluated.value.clone();
        self.lookups.insert(key, evaluated);
        ty
    }

    /// A module-level name of `module`: its own bindings, then `import *`, then builtins.
    pub(super) fn global(&mut self, module: &Arc<ModuleSummary>, name: &Name, depth: usize) -> Ty {
        let context = Context::module(module);
        if let Some(bindings) = module.globals.get(name) {
            return self.eval_bindings(context, bindings, depth);
        }
        for (star_module, level) in &module.star_imports {
            let Some(absolute) = module.resolve_relative(star_module, *level) else {
                return Ty::Unknown;
            };
            match self.project.module(&absolute) {
                Some(source) if source.globals.contains_key(name) => {
                    return self.global(&source, name, depth + 1);
                }
                Some(_) => {}
                // Anything may come from a module we cannot see.
                None => return Ty::Unknown,
            }
        }
        if BUILTINS.contains(&name.as_str()) {
            Ty::External(format!("builtins.{name}").into())
        } else {
            // Unbound, or bound in a way nmf does not see (`exec`, `globals()[...]`).
            Ty::Unknown
        }
    }

    /// A name bound several times has the union of its bindings' types: a parameter annotated
    /// `C` may still be rebound to something else in the body.
    pub(super) fn eval_bindings(
        &mut self,
        context: Context<'_>,
        bindings: &[Binding],
        depth: usize,
    ) -> Ty {
        let members: Vec<Ty> = bindings
            .iter()
            .map(|binding| self.eval_binding(context, binding, depth))
            .collect();
        union(members)
    }

    /// The type one binding gives its name.
    pub(super) fn eval_binding(
        &mut self,
        context: Context<'_>,
        binding: &Binding,
        depth: usize,
    ) -> Ty {
        if depth > MAX_EVAL_DEPTH {
            return Ty::Unknown;
        }
        match binding {
            Binding::Import {
                module,
                level,
                member,
            } => {
                let Some(absolute) = context.module.resolve_relative(module, *level) else {
                    return Ty::Unknown;
                };
                match member {
                    None => self.module_object(&absolute),
                    Some(member) => {
                        let owner = self.module_object(&absolute);
                        self.attribute(&owner, member, depth + 1)
                    }
                }
            }
            Binding::Class(id) => Ty::Class(
                ClassKey::Project(context.module.clone(), *id),
                Exactness::Exact,
            ),
            Binding::Function(function) => {
                FunctionRef::plain(context.module.clone(), FunctionSummary::clone(function))
            }
            Binding::Value(value) => self.eval(context, value, depth + 1),
            Binding::SelfParameter { class, is_class } => {
                // In a method looked up on a value, `self` (or `cls`) is that value.
                match (context.receiver, is_class) {
                    (Some(Ty::Instance(class, _, exactness)), false) => {
                        return Ty::Instance(class.clone(), Vec::new(), *exactness);
                    }
                    (
                        Some(Ty::Instance(class, _, exactness) | Ty::Class(class, exactness)),
                        true,
                    ) => {
                        return Ty::Class(class.clone(), *exactness);
                    }
                    _ => {}
                }
                let key = ClassKey::Project(context.module.clone(), *class);
                // `self` is an instance of the class or of any subclass, `cls` the class or any
                // subclass: `cls()` may make a subclass's instance.
                if *is_class {
                    Ty::Class(key, Exactness::OrSubclass)
                } else {
                    Ty::Instance(key, Vec::new(), Exactness::OrSubclass)
                }
            }
            Binding::Fixture {
                name,
                class,
                requester,
            } => self.fixture(context.module, *class, name, *requester, depth + 1),
            Binding::Unknown => Ty::Unknown,
        }
    }

    /// The type of a value declared with `annotation`.
    pub(super) fn annotation(
        &mut self,
        context: Context<'_>,
        annotation: &Annotation,
        depth: usize,
    ) -> Ty {
        if depth > MAX_EVAL_DEPTH {
            return Ty::Unknown;
        }
        match annotation {
            Annotation::None => Ty::None,
            Annotation::Unknown => Ty::Unknown,
            Annotation::Union(members) => union(
                members
                    .iter()
                    .map(|member| self.annotation(context, member, depth + 1))
                    .collect(),
            ),
            Annotation::Ref(value) => {
                let ty = self.eval(context, value, depth + 1);
                instance_of(ty)
            }
            Annotation::Generic(head, arguments) => {
                let head = self.eval(context, head, depth + 1);
                let form = match &head {
                    Ty::External(name) => typing_form(name),
                    _ => None,
                };
                let argument = |index: usize, resolver: &mut Self| {
                    arguments.get(index).map_or(Ty::Unknown, |argument| {
                        resolver.annotation(context, argument, depth + 1)
                    })
                };
                match form {
                    Some(TypingForm::Optional) => union(vec![argument(0, self), Ty::None]),
                    Some(TypingForm::Union) => union(
                        (0..arguments.len())
                            .map(|index| argument(index, self))
                            .collect(),
                    ),
                    Some(TypingForm::Wrapper) => argument(0, self),
                    Some(TypingForm::TypeOf) => match argument(0, self) {
                        Ty::Instance(class, _, _) => Ty::Class(class, Exactness::OrSubclass),
                        _ => Ty::Unknown,
                    },
                    Some(TypingForm::Opaque) => Ty::Unknown,
                    None => match instance_of(head) {
                        Ty::Instance(class, _, exactness) => Ty::Instance(
                            class,
                            (0..arguments.len())
                                .map(|index| argument(index, self))
                                .collect(),
                            exactness,
                        ),
                        other => other,
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::super::testing::{Project, verdict};

    #[test]
    fn names_are_the_union_of_their_bindings() {
        let source =
            "import torch.nn as nn\nclass P: pass\nx = P()\nif c:\n    x = nn.Linear(1, 1)\n";
        assert_eq!(verdict(source, "x"), Verdict::Module);
        assert_eq!(verdict("class P: pass\nx = P()\n", "x"), Verdict::NotModule);
        assert_eq!(verdict("x = make()\n", "x"), Verdict::Unknown);
    }

    #[test]
    fn imports_resolve_across_the_project_relatively_and_absolutely() {
        let project = Project::new(&[
            ("pkg.__init__", "from .models import Net\n"),
            (
                "pkg.models",
                "import torch.nn as nn\nclass Net(nn.Module): pass\nclass Helper: pass\n",
            ),
            (
                "pkg.use",
                "from . import models\nfrom pkg import Net\nfrom .models import Helper as H\n",
            ),
        ]);
        assert_eq!(project.infer("pkg.use", "Net()").1, Verdict::Module);
        assert_eq!(project.infer("pkg.use", "models.Net()").1, Verdict::Module);
        assert_eq!(
            project.infer("pkg.use", "H()"),
            ("pkg.models.Helper".to_string(), Verdict::NotModule)
        );
        assert_eq!(project.infer("pkg.use", "models").1, Verdict::NotModule);
    }

    #[test]
    fn names_fall_back_to_star_imports_then_builtins() {
        let project = Project::new(&[
            (
                "pkg.models",
                "import torch.nn as nn\nclass Net(nn.Module): pass\n",
            ),
            ("pkg.use", "from pkg.models import *\n"),
            ("outside", "from lib import *\n"),
        ]);
        assert_eq!(project.infer("pkg.use", "Net()").1, Verdict::Module);
        assert_eq!(project.infer("pkg.use", "len").0, "builtins.len");
        assert_eq!(project.infer("pkg.use", "undefined").0, "unknown");
        // Anything may come from a module nmf cannot see.
        assert_eq!(project.infer("outside", "len").0, "unknown");
    }

    #[test]
    fn annotations_give_instances_unions_and_class_objects() {
        let source = "import torch.nn as nn\n\
                      from typing import Optional, Union, Type\n\
                      class P: pass\n\
                      a: Optional[nn.Linear] = None\n\
                      b: Union[P, nn.Linear]\n\
                      c: Type[nn.Linear]\n\
                      d: 'P'\n";
        assert_eq!(verdict(source, "a"), Verdict::Module);
        assert_eq!(verdict(source, "b"), Verdict::Module);
        assert_eq!(verdict(source, "c"), Verdict::Module);
        assert_eq!(verdict(source, "d"), Verdict::NotModule);
    }
}
