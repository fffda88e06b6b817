//! What calling something gives: an instance of a class, a function's declared return type,
//! what known library functions and builtins return, and what `with` binds.

use ruff_python_ast::name::Name;

use super::containers::{ElementAccess, element_type};
use super::ty::{ClassKey, ModuleRef, Ty, external_instance, map_union, members, union};
use super::{Context, TypeResolver};
use crate::semantic::known::{
    factory, is_known_class, module_returning_function, not_module_package,
};
use crate::semantic::summary::Decoration;
use crate::semantic::values::ValueExpr;

impl TypeResolver<'_> {
    /// What calling a value of type `callee` gives.
    pub(super) fn call(&mut self, callee: &Ty, depth: usize) -> Ty {
        match callee {
            Ty::Class(class, exactness) => Ty::Instance(class.clone(), Vec::new(), *exactness),
            Ty::External(name) => match name.as_ref() {
                // `type(x)` and `super()` are not instances of `type` and `super` in any useful way.
                "builtins.type" | "builtins.super" | "builtins.getattr" => Ty::Unknown,
                _ if module_returning_function(name) => {
                    Ty::Module(ModuleRef::External(format!("{name}(...)").into()))
                }
                // A well-known factory: its verdict and reason come from the table (see
                // `TypeResolver::external_judgement`).
                _ if factory(name, self.module_factories, self.not_module_factories).is_some() => {
                    external_instance(&format!("{name}()"), Vec::new())
                }
                _ if is_known_class(name) => external_instance(name, Vec::new()),
                // Whatever a package that makes no modules returns is one of its objects.
                _ if not_module_package(name, self.not_module_packages).is_some() => {
                    external_instance(&format!("{name}()"), Vec::new())
                }
                _ => Ty::Unknown,
            },
            Ty::Function(function) => {
                let function = function.clone();
                self.call_function(&function, depth + 1)
            }
            Ty::Union(members) => {
                let members = members.clone();
                union(
                    members
                        .iter()
                        .map(|member| self.call(member, depth + 1))
                        .collect(),
                )
            }
            _ => Ty::Unknown,
        }
    }

    /// Builtins whose result depends on their arguments: `enumerate(xs)` yields
    /// `(int, element)` pairs, `zip(a, b)` tuples of their elements, `iter(xs)`, `list(xs)`,
    /// `tuple(xs)`, `sorted(xs)` and `reversed(xs)` the elements of `xs`; `type(x)` is the
    /// class of `x`; `functools.partial(f, ...)` and `torch.compile(f)` are called as `f` is.
    pub(super) fn builtin_call(
        &mut self,
        context: Context<'_>,
        name: &str,
        arguments: &[ValueExpr],
        depth: usize,
    ) -> Option<Ty> {
        let elements = |resolver: &mut Self, value: &ValueExpr| {
            let container = resolver.eval(context, value, depth + 1);
            map_union(&container, &mut |ty| {
                element_type(ty, ElementAccess::Iteration)
            })
        };
        let list_of = |element: Ty| external_instance("builtins.list", vec![element]);
        Some(match (name, arguments) {
            ("builtins.enumerate", [iterable, ..]) => {
                let element = elements(self, iterable);
                list_of(external_instance(
                    "builtins.tuple",
                    vec![external_instance("builtins.int", Vec::new()), element],
                ))
            }
            ("builtins.zip", iterables) if !iterables.is_empty() => {
                let elements = iterables
                    .iter()
                    .map(|iterable| elements(self, iterable))
                    .collect();
                list_of(external_instance("builtins.tuple", elements))
            }
            (
                "builtins.iter" | "builtins.list" | "builtins.sorted" | "builtins.reversed",
                [iterable],
            ) => list_of(elements(self, iterable)),
            // `functools.partial(C, ...)` makes what `C` makes when it is called;
            // `torch.compile(m)` compiles `m` and is called as `m` is.
            ("functools.partial" | "torch.compile", [callable, ..]) => {
                self.eval(context, callable, depth + 1)
            }
            // Scripting or tracing a function makes a function, not a ScriptModule.
            ("torch.jit.script" | "torch.jit.trace", [callable, ..])
                if matches!(self.eval(context, callable, depth + 1), Ty::Function(_)) =>
            {
                Ty::Unknown
            }
            // `type(self)()`: the class of the instance, exactly when the instance is exactly
            // of it.
            ("builtins.type", [instance]) => match self.eval(context, instance, depth + 1) {
                Ty::Instance(class, _, exactness) => Ty::Class(class, exactness),
                _ => Ty::Unknown,
            },
            ("builtins.tuple", [iterable]) => {
                let element = elements(self, iterable);
                external_instance(
                    "builtins.tuple",
                    vec![element, Ty::External("builtins.Ellipsis".into())],
                )
            }
            _ => return None,
        })
    }

    /// What `with manager as x` binds: what the manager's `__enter__` returns (by its
    /// annotation or its body: `return self` is the manager).
    pub(super) fn entered(&mut self, manager: &Ty, depth: usize) -> Ty {
        let Ty::Instance(ClassKey::Project(..), _, _) = manager else {
            return Ty::Unknown;
        };
        let enter = self.attribute(manager, &Name::new_static("__enter__"), depth + 1);
        let mut results = Vec::new();
        for member in members(&enter) {
            match member {
                Ty::Function(function) => {
                    let function = function.clone();
                    results.push(self.call_function(&function, depth + 1));
                }
                _ => results.push(Ty::Unknown),
            }
        }
        union(results)
    }

    /// What `with f(...) as x` binds when `f` is a `@contextmanager` function: what it yields.
    /// `None` when the callee is anything else.
    pub(super) fn entered_context_manager(&mut self, callee: &Ty, depth: usize) -> Option<Ty> {
        let callees = members(callee);
        let all_managers = callees.iter().all(|member| {
            matches!(member, Ty::Function(function)
                if function.function.decoration == Decoration::ContextManager)
        });
        if callees.is_empty() || !all_managers {
            return None;
        }
        let mut results = Vec::new();
        for member in callees {
            if let Ty::Function(function) = member {
                let function = function.clone();
                results.push(self.yielded(&function, depth + 1));
            }
        }
        Some(union(results))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::super::testing::{Project, verdict};

    #[test]
    fn calls_give_instances_declared_returns_or_unknown() {
        let source = "import torch.nn as nn\n\
                      class P: pass\n\
                      def build() -> nn.Linear: ...\n\
                      def make(): ...\n";
        assert_eq!(
            Project::new(&[("m", source)]).infer("m", "P()"),
            ("m.P".to_string(), Verdict::NotModule)
        );
        assert_eq!(verdict(source, "build()"), Verdict::Module);
        assert_eq!(verdict(source, "make()"), Verdict::Unknown);
        assert_eq!(verdict(source, "nn.Linear(1, 1)"), Verdict::Module);
    }

    #[test]
    fn builtins_over_iterables_give_their_elements() {
        let source = "import torch.nn as nn\n\
                      class P: pass\n\
                      ps: list[P] = []\n\
                      layers: list[nn.Linear] = []\n";
        assert_eq!(verdict(source, "list(layers)[0]"), Verdict::Module);
        assert_eq!(verdict(source, "sorted(ps)[0]"), Verdict::NotModule);
        assert_eq!(verdict(source, "tuple(layers)[0]"), Verdict::Module);
        assert_eq!(verdict(source, "list(reversed(ps))[0]"), Verdict::NotModule);
    }

    #[test]
    fn with_binds_what_enter_returns() {
        let source = "import torch.nn as nn\n\
                      class Declared:\n    \
                          def __enter__(self) -> nn.Linear: ...\n\
                      class Same:\n    \
                          def __enter__(self):\n        \
                              return self\n\
                      class Opaque:\n    \
                          def __enter__(self):\n        \
                              return make()\n\
                      with Declared() as layer:\n    \
                          pass\n\
                      with Same() as same:\n    \
                          pass\n\
                      with Opaque() as opaque:\n    \
                          pass\n";
        assert_eq!(verdict(source, "layer"), Verdict::Module);
        assert_eq!(
            Project::new(&[("m", source)]).infer("m", "same"),
            ("m.Same".to_string(), Verdict::NotModule)
        );
        assert_eq!(verdict(source, "opaque"), Verdict::Unknown);
    }
}
