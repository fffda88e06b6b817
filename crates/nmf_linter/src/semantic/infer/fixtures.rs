//! pytest fixtures: the value a test's (or a fixture's) parameter receives, found as pytest
//! finds it — in the test's class and its bases, in its module, in the `conftest.py` files of
//! its folder and the folders above, the closest first, then in the modules `pytest_plugins`
//! names — and computed from what the fixture function returns or yields.

use std::sync::Arc;

use ruff_python_ast::name::Name;
use ruff_text_size::TextSize;
use rustc_hash::FxHashSet;

use super::returns::{Produced, generator_element};
use super::ty::{ClassKey, FunctionRef, Ty, members};
use super::{Context, TypeResolver};
use crate::semantic::summary::{
    Binding, ClassId, Decoration, FunctionSummary, ModuleId, ModuleSummary,
};

/// Test classes inherit fixtures from at most this many classes.
const MAX_CLASSES: usize = 32;

/// Where a fixture is looked for, and the fixture asking (which skips itself).
struct Search<'n> {
    name: &'n Name,
    requester: Option<(ModuleId, TextSize)>,
}

impl Search<'_> {
    /// Whether `function` is the fixture looked for.
    fn matches(&self, function: &FunctionRef) -> bool {
        let Decoration::Fixture(spec) = &function.function.decoration else {
            return false;
        };
        &spec.name == self.name
            && self.requester != Some((function.module.id, function.function.start))
    }
}

/// The first function among `bindings` (a class body's or a module's, of `module`) that is the
/// fixture `search` looks for.
fn matching_function(
    module: &Arc<ModuleSummary>,
    bindings: &rustc_hash::FxHashMap<Name, Vec<Binding>>,
    search: &Search<'_>,
) -> Option<FunctionRef> {
    bindings.values().flatten().find_map(|binding| {
        let Binding::Function(function) = binding else {
            return None;
        };
        let candidate = FunctionRef {
            module: module.clone(),
            function: FunctionSummary::clone(function),
            receiver: None,
        };
        search.matches(&candidate).then_some(candidate)
    })
}

impl TypeResolver<'_> {
    /// What pytest passes for the parameter `name` of a test or fixture defined in `module`
    /// (in the test class `class`); `requester` is the fixture asking, which a fixture of the
    /// same name overrides. Unknown when no fixture of that name is found.
    pub(super) fn fixture(
        &mut self,
        module: &Arc<ModuleSummary>,
        class: Option<ClassId>,
        name: &Name,
        requester: Option<TextSize>,
        depth: usize,
    ) -> Ty {
        let outermost = self.functions.nesting == 0;
        let search = Search {
            name,
            requester: requester.map(|start| (module.id, start)),
        };
        let Some(fixture) = self.find_fixture(module, class, &search, depth) else {
            return Ty::Unknown;
        };
        let ty = self.fixture_value(&fixture, depth);
        if outermost && !ty.says_nothing() {
            let line = match &fixture.function.decoration {
                Decoration::Fixture(spec) if spec.line > 0 => Some(spec.line),
                _ => None,
            };
            let file = if fixture.module.id == self.module.id {
                None
            } else {
                fixture
                    .module
                    .path
                    .as_deref()
                    .or(fixture.module.name.as_deref())
            };
            let place = match (file, line) {
                (Some(file), Some(line)) => format!(" in {file}:{line}"),
                (Some(file), None) => format!(" in {file}"),
                (None, Some(line)) => format!(" on line {line}"),
                (None, None) => String::new(),
            };
            let origin = format!("pytest fixture `{name}`{place}");
            self.note_origin(origin);
        }
        ty
    }

    /// What a fixture gives its tests: what its annotation says (the element type for a
    /// generator annotation), else what its body yields, or returns.
    fn fixture_value(&mut self, fixture: &FunctionRef, depth: usize) -> Ty {
        if let Some(annotation) = &fixture.function.returns {
            let declared = self.annotation(Context::module(&fixture.module), annotation, depth + 1);
            return generator_element(&declared).unwrap_or(declared);
        }
        match &fixture.module.function_body(&fixture.function) {
            Some(body) if body.is_generator => self.produced(fixture, Produced::Yields),
            Some(_) => self.produced(fixture, Produced::Returns),
            None => Ty::Unknown,
        }
    }

    /// The fixture `search` names, as pytest finds it from a function of `module` (of the
    /// test class `class`).
    fn find_fixture(
        &mut self,
        module: &Arc<ModuleSummary>,
        class: Option<ClassId>,
        search: &Search<'_>,
        depth: usize,
    ) -> Option<FunctionRef> {
        if let Some(class) = class
            && let Some(found) = self.fixture_in_class(module, class, search)
        {
            return Some(found);
        }
        if let Some(found) = self.fixture_in_module(module, search, depth) {
            return Some(found);
        }
        let conftests = self.checked_conftests();
        // A conftest sees only itself and those above it. The checked file, when it is a
        // conftest, is the first (summarised again from disk).
        let own = conftests
            .iter()
            .position(|conftest| conftest.id == module.id)
            .or_else(|| {
                let is_checked_conftest = Arc::ptr_eq(module, &self.module)
                    && module
                        .name
                        .as_deref()
                        .is_some_and(|name| name.rsplit('.').next() == Some("conftest"));
                (is_checked_conftest && !conftests.is_empty()).then_some(0)
            });
        let above = own.map_or(0, |index| index + 1);
        for conftest in &conftests[above..] {
            if let Some(found) = self.fixture_in_module(conftest, search, depth) {
                return Some(found);
            }
        }
        // Plugins named by the checked module, the requesting one and the conftests.
        let mut named: Vec<Box<str>> = Vec::new();
        for source in [&self.module.clone(), module].into_iter().chain(&conftests) {
            for plugin in &source.pytest_plugins {
                if !named.contains(plugin) {
                    named.push(plugin.clone());
                }
            }
        }
        for plugin in named {
            if let Some(plugin) = self.project.module(&plugin)
                && let Some(found) = self.fixture_in_module(&plugin, search, depth)
            {
                return Some(found);
            }
        }
        None
    }

    /// A fixture defined in a test class or one of its bases.
    fn fixture_in_class(
        &mut self,
        module: &Arc<ModuleSummary>,
        class: ClassId,
        search: &Search<'_>,
    ) -> Option<FunctionRef> {
        let mut pending = vec![(module.clone(), class)];
        let mut visited: FxHashSet<(ModuleId, ClassId)> = FxHashSet::default();
        while let Some((module, id)) = pending.pop() {
            if visited.len() >= MAX_CLASSES || !visited.insert((module.id, id)) {
                continue;
            }
            let summary = module.class(id)?;
            if let Some(found) = matching_function(&module, &summary.body, search) {
                return Some(found);
            }
            let context = Context::module(&module);
            for base in &summary.bases.clone() {
                if let Ty::Class(ClassKey::Project(base_module, base_id), _) =
                    self.eval(context, base, 0)
                {
                    pending.push((base_module, base_id));
                }
            }
        }
        None
    }

    /// A fixture of a module: a function it defines (under its own name or the `name=` of its
    /// decorator), or a fixture it binds under that name (imported, or made by a factory:
    /// `nets = nets_fixture(size=2)`).
    fn fixture_in_module(
        &mut self,
        module: &Arc<ModuleSummary>,
        search: &Search<'_>,
        depth: usize,
    ) -> Option<FunctionRef> {
        if let Some(found) = matching_function(module, &module.globals, search) {
            return Some(found);
        }
        let defined_here = module.globals.get(search.name).is_some_and(|bindings| {
            bindings
                .iter()
                .all(|binding| matches!(binding, Binding::Function(_)))
        });
        if defined_here {
            return None;
        }
        let bound = self.global(module, search.name, depth + 1);
        members(&bound).into_iter().find_map(|member| match member {
            Ty::Function(function) if search.matches(function) => {
                Some(FunctionRef::clone(function))
            }
            _ => None,
        })
    }

    /// The `conftest.py` files of the checked file, asked of the project once.
    fn checked_conftests(&mut self) -> Vec<Arc<ModuleSummary>> {
        if let Some(known) = &self.conftests {
            return known.clone();
        }
        let found = self.project.conftests();
        self.conftests = Some(found.clone());
        found
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::super::testing::Project;
    use crate::semantic::bindings::SourceFacts;
    use crate::semantic::locals::{FunctionPlace, function_bindings};
    use crate::semantic::summary::ModuleSummary;
    use crate::semantic::values::ValueExpr;
    use ruff_python_ast::Stmt;
    use std::sync::Arc;

    /// The verdict of `expression` inside the first test function of `test_module`'s source.
    fn in_test(project: &[(&str, &str)], test_module: &str, expression: &str) -> Verdict {
        let project = Project::new(project);
        let source = project.source(test_module).to_string();
        let parsed = ruff_python_parser::parse_module(&source).expect("valid");
        let summary = Arc::new(ModuleSummary::build(
            parsed.suite(),
            Some(test_module.into()),
            false,
            &source,
        ));
        let function = parsed
            .suite()
            .iter()
            .find_map(|stmt| match stmt {
                Stmt::FunctionDef(function) if function.name.id.starts_with("test") => {
                    Some(function)
                }
                _ => None,
            })
            .expect("a test");
        let place = FunctionPlace {
            class: None,
            module_name: Some(test_module),
            facts: SourceFacts::of(&source),
        };
        let table = std::rc::Rc::new(function_bindings(function, place));
        let mut resolver = super::TypeResolver::new(&project, summary, &[]);
        let expression = ruff_python_parser::parse_expression(expression).expect("valid");
        let ty = resolver.infer(&ValueExpr::from_expr(expression.expr()), &[table]);
        resolver.verdict(&ty)
    }

    const CONFTEST: &str = "import pytest\n\
                            import torch.nn as nn\n\
                            from est import Estimator\n\
                            @pytest.fixture\n\
                            def net_cls():\n    \
                                return Estimator\n\
                            @pytest.fixture\n\
                            def net(net_cls):\n    \
                                return net_cls()\n\
                            @pytest.fixture\n\
                            def layer():\n    \
                                made = nn.Linear(1, 1)\n    \
                                yield made\n\
                            @pytest.fixture(name='renamed')\n\
                            def make_renamed():\n    \
                                return Estimator()\n\
                            @pytest.fixture(params=[Estimator, nn.Linear])\n\
                            def either(request):\n    \
                                return request.param()\n";
    const EST: &str = "class Estimator:\n    def forward(self, x): ...\n";

    #[test]
    fn tests_receive_the_fixtures_of_their_conftest() {
        let files = [
            ("est", EST),
            ("tests.conftest", CONFTEST),
            (
                "tests.test_a",
                "def test_a(net, layer, renamed, either, missing):\n    pass\n",
            ),
        ];
        assert_eq!(in_test(&files, "tests.test_a", "net"), Verdict::NotModule);
        assert_eq!(in_test(&files, "tests.test_a", "layer"), Verdict::Module);
        assert_eq!(
            in_test(&files, "tests.test_a", "renamed"),
            Verdict::NotModule
        );
        assert_eq!(in_test(&files, "tests.test_a", "either"), Verdict::Module);
        assert_eq!(in_test(&files, "tests.test_a", "missing"), Verdict::Unknown);
    }

    #[test]
    fn a_module_s_own_fixture_wins_and_may_ask_for_the_one_it_overrides() {
        let files = [
            ("est", EST),
            ("tests.conftest", CONFTEST),
            (
                "tests.test_a",
                "import pytest\n\
                 import torch.nn as nn\n\
                 @pytest.fixture\n\
                 def layer(layer):\n    \
                     return layer\n\
                 @pytest.fixture\n\
                 def net():\n    \
                     return nn.Linear(1, 1)\n\
                 def test_a(net, layer):\n    \
                     pass\n",
            ),
        ];
        assert_eq!(in_test(&files, "tests.test_a", "net"), Verdict::Module);
        assert_eq!(in_test(&files, "tests.test_a", "layer"), Verdict::Module);
    }

    #[test]
    fn fixture_factories_tuples_and_plugins() {
        let files = [
            ("est", EST),
            (
                "tests.common",
                "import pytest\n\
                 from est import Estimator\n\
                 def pair_fixture():\n    \
                     @pytest.fixture\n    \
                     def pair():\n        \
                         yield Estimator(), Estimator()\n    \
                     return pair\n",
            ),
            (
                "tests.plugin",
                "import pytest\nfrom est import Estimator\n\
                 @pytest.fixture\ndef plugged():\n    return Estimator()\n",
            ),
            ("tests.conftest", "pytest_plugins = ['tests.plugin']\n"),
            (
                "tests.test_a",
                "from tests.common import pair_fixture\n\
                 pair = pair_fixture()\n\
                 def test_a(pair, plugged):\n    \
                     first, second = pair\n",
            ),
        ];
        assert_eq!(in_test(&files, "tests.test_a", "first"), Verdict::NotModule);
        assert_eq!(
            in_test(&files, "tests.test_a", "plugged"),
            Verdict::NotModule
        );
    }

    #[test]
    fn parametrized_parameters_are_not_fixtures() {
        let files = [
            ("est", EST),
            ("tests.conftest", CONFTEST),
            (
                "tests.test_a",
                "import pytest\n\
                 import torch.nn as nn\n\
                 @pytest.mark.parametrize('net', [nn.Linear(1, 1)])\n\
                 def test_a(net):\n    \
                     pass\n",
            ),
        ];
        assert_eq!(in_test(&files, "tests.test_a", "net"), Verdict::Module);
    }
}
