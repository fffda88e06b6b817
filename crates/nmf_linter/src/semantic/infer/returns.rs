//! What calling a function gives when nobody annotated it: the union of what its body
//! returns (`return self` in a fluent method is the receiver, `cls(...)` in a classmethod an
//! instance of the class it was called on), inferred lazily, only when a receiver's type
//! leads to the function, and remembered per function and receiver. Generators and context
//! managers give what they yield to `with` and to pytest.
//!
//! Recursion and cycles stop at unknown, and so does a query that evaluates too many bodies
//! or nests them too deep; a result cut short by a limit is not remembered.

use ruff_text_size::TextSize;
use rustc_hash::{FxHashMap, FxHashSet};

use super::ty::{ClassKey, Exactness, FunctionRef, Ty, union};
use super::{Context, ReceiverKey, TypeResolver};
use crate::semantic::known::normalize_typing;
use crate::semantic::summary::{Binding, ClassId, Decoration, FunctionKind, ModuleId};

/// Bodies evaluated one inside another (a factory calling a factory calling ...).
const MAX_NESTING: usize = 8;
/// Bodies evaluated for one query, so that a query's work stays bounded.
const MAX_EVALUATIONS: usize = 64;

/// Inferred returns, remembered across queries, and the bounds of the current query.
#[derive(Default)]
pub(super) struct FunctionState {
    known: FxHashMap<FunctionKey, Ty>,
    in_progress: FxHashSet<FunctionKey>,
    /// Bodies being evaluated now, one inside another.
    pub(super) nesting: usize,
    /// Bodies evaluated in the current query.
    evaluated: usize,
    /// How many evaluations a limit cut short so far: a result computed while this grew is
    /// not remembered.
    pub(super) cut: usize,
    /// The project's subclasses of a class, once searched (`None`: it could not be).
    pub(super) subclasses: FxHashMap<(ModuleId, ClassId), Option<Vec<ClassKey>>>,
}

impl FunctionState {
    pub(super) fn start_query(&mut self) {
        self.evaluated = 0;
    }
}

/// A function, the receiver its `self` is bound to, and what is asked of its body.
#[derive(Clone, PartialEq, Eq, Hash)]
struct FunctionKey {
    module: ModuleId,
    start: TextSize,
    receiver: Option<ReceiverKey>,
    produced: Produced,
}

/// What a body gives back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Produced {
    Returns,
    Yields,
}

impl TypeResolver<'_> {
    /// What calling `function` gives: its declared return type, or what its body returns; for
    /// a method of an instance that may be of a subclass, what the subclasses' overrides
    /// return too.
    pub(super) fn call_function(&mut self, function: &FunctionRef, depth: usize) -> Ty {
        let outermost = self.functions.nesting == 0;
        let mut results = vec![self.returns(function, depth)];
        let inferred = function.function.returns.is_none();
        if inferred {
            let open_class = match &function.receiver {
                Some(
                    Ty::Instance(class @ ClassKey::Project(..), _, Exactness::OrSubclass)
                    | Ty::Class(class @ ClassKey::Project(..), Exactness::OrSubclass),
                ) => Some(class.clone()),
                _ => None,
            };
            if let Some(class) = open_class {
                results.extend(self.overrides(&class, function));
            }
        }
        let ty = union(results);
        if inferred && outermost && !ty.says_nothing() {
            let name = &function.function.name;
            let origin = match &function.receiver {
                Some(Ty::Instance(class, ..) | Ty::Class(class, _)) => {
                    let qualified = class.qualified_name();
                    let class = qualified.rsplit('.').next().unwrap_or(&qualified);
                    format!("returned by `{class}.{name}`")
                }
                _ => format!("returned by `{name}`"),
            };
            self.note_origin(origin);
        }
        ty
    }

    /// What calling `function` gives, by its annotation or its body (not its overrides).
    pub(super) fn returns(&mut self, function: &FunctionRef, depth: usize) -> Ty {
        if let Some(annotation) = &function.function.returns {
            let ty = self.annotation(Context::module(&function.module), annotation, depth + 1);
            return typing_self(ty, function.receiver.as_ref());
        }
        // A decorator may return anything; calling a context manager makes the manager, and
        // a fixture is not called by anyone but pytest.
        if function.function.decoration != Decoration::Transparent {
            return Ty::Unknown;
        }
        match &function.module.function_body(&function.function) {
            Some(body) if !body.is_generator => self.produced(function, Produced::Returns),
            _ => Ty::Unknown,
        }
    }

    /// What a generator function yields (`with f() as x` of a `@contextmanager`, a fixture
    /// that yields), by the element type of its annotation (`Iterator[C]`, `Generator[C, ...]`)
    /// or its body.
    pub(super) fn yielded(&mut self, function: &FunctionRef, depth: usize) -> Ty {
        if let Some(annotation) = &function.function.returns {
            let ty = self.annotation(Context::module(&function.module), annotation, depth + 1);
            return generator_element(&ty).unwrap_or(Ty::Unknown);
        }
        match &function.module.function_body(&function.function) {
            Some(body) if body.is_generator => self.produced(function, Produced::Yields),
            _ => Ty::Unknown,
        }
    }

    /// The union of the values a body returns or yields, evaluated with `self` bound to the
    /// function's receiver; remembered unless a limit cut the evaluation short.
    pub(super) fn produced(&mut self, function: &FunctionRef, produced: Produced) -> Ty {
        let Some(body) = function.module.function_body(&function.function) else {
            return Ty::Unknown;
        };
        let key = FunctionKey {
            module: function.module.id,
            start: function.function.start,
            receiver: function.receiver.as_ref().and_then(ReceiverKey::of),
            produced,
        };
        if let Some(known) = self.functions.known.get(&key) {
            return known.clone();
        }
        let state = &mut self.functions;
        if state.in_progress.contains(&key)
            || state.nesting >= MAX_NESTING
            || state.evaluated >= MAX_EVALUATIONS
        {
            state.cut += 1;
            return Ty::Unknown;
        }
        state.evaluated += 1;
        state.nesting += 1;
        state.in_progress.insert(key.clone());
        let cut_before = state.cut;
        let tables = [&body.locals];
        let context = Context {
            module: &function.module,
            locals: &tables,
            self_class: None,
            receiver: function.receiver.as_ref(),
        };
        let values = match produced {
            Produced::Returns => &body.returns,
            Produced::Yields => &body.yields,
        };
        let ty = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            let members = values
                .iter()
                .map(|value| self.eval(context, value, 0))
                .collect();
            union(members)
        });
        let state = &mut self.functions;
        state.nesting -= 1;
        state.in_progress.remove(&key);
        if state.cut == cut_before {
            state.known.insert(key, ty.clone());
        }
        ty
    }

    /// What the overrides of `function` in the project's subclasses of `class` return, each
    /// with `self` one of that subclass's instances; an unknown value when the project
    /// cannot be searched.
    fn overrides(&mut self, class: &ClassKey, function: &FunctionRef) -> Vec<Ty> {
        let Some(subclasses) = self.project_subclasses(class) else {
            return vec![Ty::Unknown];
        };
        let mut results = Vec::new();
        for subclass in subclasses {
            let ClassKey::Project(module, id) = &subclass else {
                continue;
            };
            let Some(summary) = module.class(*id) else {
                continue;
            };
            let Some(bindings) = summary.body.get(&function.function.name) else {
                continue;
            };
            for binding in bindings.clone() {
                let Binding::Function(overriding) = binding else {
                    // Overridden by something else than a method: anything may be called.
                    results.push(Ty::Unknown);
                    continue;
                };
                let receiver = match overriding.kind {
                    FunctionKind::Instance => Some(Ty::Instance(
                        subclass.clone(),
                        Vec::new(),
                        Exactness::OrSubclass,
                    )),
                    FunctionKind::Class => Some(Ty::Class(subclass.clone(), Exactness::OrSubclass)),
                    FunctionKind::Static => None,
                };
                let overriding = FunctionRef {
                    module: module.clone(),
                    function: *overriding,
                    receiver,
                };
                results.push(self.returns(&overriding, 0));
            }
        }
        results
    }
}

/// `-> Self`: the receiver's own type (an instance of the class a classmethod was called on).
fn typing_self(ty: Ty, receiver: Option<&Ty>) -> Ty {
    let is_self = matches!(&ty, Ty::Instance(ClassKey::External(name), _, _)
        if normalize_typing(name) == "typing.Self");
    if !is_self {
        return ty;
    }
    match receiver {
        Some(Ty::Instance(class, _, exactness) | Ty::Class(class, exactness)) => {
            Ty::Instance(class.clone(), Vec::new(), *exactness)
        }
        _ => ty,
    }
}

/// What a generator annotated `Iterator[C]`, `Generator[C, ...]` (and the like) yields;
/// `None` for any other type.
pub(super) fn generator_element(ty: &Ty) -> Option<Ty> {
    match ty {
        Ty::Instance(ClassKey::External(name), arguments, _)
            if is_generator_class(&normalize_typing(name)) =>
        {
            Some(arguments.first().cloned().unwrap_or(Ty::Unknown))
        }
        _ => None,
    }
}

/// Annotations of generator functions, whose first argument is what they yield.
fn is_generator_class(name: &str) -> bool {
    matches!(
        name,
        "typing.Iterator"
            | "typing.Iterable"
            | "typing.Generator"
            | "typing.AsyncIterator"
            | "typing.AsyncIterable"
            | "typing.AsyncGenerator"
            | "collections.abc.Iterator"
            | "collections.abc.Iterable"
            | "collections.abc.Generator"
            | "collections.abc.AsyncIterator"
            | "collections.abc.AsyncIterable"
            | "collections.abc.AsyncGenerator"
    )
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::super::testing::{Project, verdict};

    const ESTIMATOR: &str = "import functools\n\
                             import torch.nn as nn\n\
                             class Estimator:\n    \
                                 def initialize(self):\n        \
                                     return self\n    \
                                 @classmethod\n    \
                                 def from_config(cls, cfg):\n        \
                                     return cls(**cfg)\n    \
                                 def forward(self, x): ...\n\
                             def make_net():\n    \
                                 net = Estimator()\n    \
                                 return net\n\
                             def either(flag):\n    \
                                 if flag:\n        \
                                     return Estimator()\n    \
                                 return nn.Linear(1, 1)\n\
                             def nothing():\n    \
                                 pass\n";

    #[test]
    fn unannotated_functions_return_what_their_bodies_return() {
        assert_eq!(
            Project::new(&[("m", ESTIMATOR)]).infer("m", "make_net()"),
            ("m.Estimator".to_string(), Verdict::NotModule)
        );
        // Every return counts: a factory whose returns include a module gives a module.
        assert_eq!(verdict(ESTIMATOR, "either(True)"), Verdict::Module);
        // Only `None` (falling off the end): nothing to tell.
        assert_eq!(verdict(ESTIMATOR, "nothing()"), Verdict::Unknown);
    }

    #[test]
    fn fluent_methods_classmethods_and_partials_keep_the_receiver() {
        assert_eq!(
            verdict(ESTIMATOR, "Estimator().initialize()"),
            Verdict::NotModule
        );
        assert_eq!(
            verdict(ESTIMATOR, "Estimator.from_config({})"),
            Verdict::NotModule
        );
        assert_eq!(
            verdict(
                ESTIMATOR,
                "functools.partial(Estimator, module=nn.Linear)()"
            ),
            Verdict::NotModule
        );
        let module_self = "import torch.nn as nn\n\
                           class Net(nn.Module):\n    \
                               def initialize(self):\n        \
                                   return self\n";
        assert_eq!(verdict(module_self, "Net().initialize()"), Verdict::Module);
    }

    #[test]
    fn overrides_in_subclasses_count_for_an_instance_that_may_be_of_one() {
        let source = "import torch.nn as nn\n\
                      class Plain: pass\n\
                      class Base:\n    \
                          def build(self):\n        \
                              return Plain()\n\
                      class Sub(Base):\n    \
                          def build(self):\n        \
                              return nn.Linear(1, 1)\n\
                      base: Base\n";
        assert_eq!(verdict(source, "Base().build()"), Verdict::NotModule);
        assert_eq!(verdict(source, "base.build()"), Verdict::Module);
    }

    #[test]
    fn recursion_and_opaque_decorators_give_unknown() {
        let source = "class P: pass\n\
                      def loop(n):\n    \
                          return loop(n - 1)\n\
                      def ping():\n    \
                          return pong()\n\
                      def pong():\n    \
                          return ping()\n\
                      @register\n\
                      def registered():\n    \
                          return P()\n\
                      def gen():\n    \
                          yield P()\n";
        assert_eq!(verdict(source, "loop(3)"), Verdict::Unknown);
        assert_eq!(verdict(source, "ping()"), Verdict::Unknown);
        assert_eq!(verdict(source, "registered()"), Verdict::Unknown);
        assert_eq!(verdict(source, "gen()"), Verdict::Unknown);
    }

    #[test]
    fn context_managers_give_what_they_yield_and_self_is_the_receiver() {
        let source = "import contextlib\n\
                      import torch.nn as nn\n\
                      from typing import Self\n\
                      class P:\n    \
                          @contextlib.contextmanager\n    \
                          def hooks(self):\n        \
                              yield self\n    \
                          def copy(self) -> Self: ...\n\
                      class Net(P, nn.Module): pass\n\
                      with P().hooks() as plain:\n    \
                          pass\n\
                      with Net().hooks() as net:\n    \
                          pass\n";
        assert_eq!(verdict(source, "plain"), Verdict::NotModule);
        assert_eq!(verdict(source, "net"), Verdict::Module);
        assert_eq!(verdict(source, "P().copy()"), Verdict::NotModule);
        assert_eq!(verdict(source, "Net().copy()"), Verdict::Module);
    }

    #[test]
    fn returns_are_followed_across_files() {
        let project = Project::new(&[
            (
                "pkg.factories",
                "from pkg.models import Net\ndef build():\n    return Net()\n",
            ),
            (
                "pkg.models",
                "import torch.nn as nn\nclass Net(nn.Module): pass\n",
            ),
            ("use", "from pkg.factories import build\n"),
        ]);
        assert_eq!(project.infer("use", "build()").1, Verdict::Module);
    }
}
