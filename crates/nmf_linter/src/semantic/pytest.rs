//! What pytest makes of functions: which it calls with fixtures (tests and fixtures
//! themselves), the fixtures a decorator declares, the parameters `@pytest.mark.parametrize`
//! fills instead, and the plugin modules a conftest names.
//!
//! These are read from the syntax as pytest reads it with its default configuration
//! (`python_files = test_*.py *_test.py`, `python_classes = Test*`, `python_functions =
//! test*`); the fixtures themselves are found when a type is asked for (see
//! [`crate::semantic::infer`]).

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::semantic::summary::Binding;
use crate::semantic::values::{ValueExpr, dotted_text};

/// How pytest calls a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not by itself: its parameters are what its callers pass.
    Plain,
    /// A test: pytest passes fixtures (or parametrized values) for its parameters.
    Test,
    /// A fixture: pytest passes fixtures for its parameters too.
    Fixture,
}

/// What pytest makes of `function`, defined in module `module_name` (dotted), directly in
/// the body of class `class_name` when it is a method.
pub(crate) fn role(
    function: &ast::StmtFunctionDef,
    module_name: Option<&str>,
    class_name: Option<&str>,
) -> Role {
    if fixture_decorator(function).is_some() {
        return Role::Fixture;
    }
    let is_test_module = module_name
        .map(|name| name.rsplit('.').next().unwrap_or(name))
        .is_some_and(|stem| stem.starts_with("test_") || stem.ends_with("_test"));
    let in_test_class = class_name.is_none_or(|name| name.starts_with("Test"));
    if is_test_module && in_test_class && function.name.id.starts_with("test") {
        Role::Test
    } else {
        Role::Plain
    }
}

/// The `@pytest.fixture` (or `@pytest.fixture(...)`, `@fixture`, `@pytest_asyncio.fixture`)
/// decorator of `function`, with its arguments when it is called.
pub(crate) fn fixture_decorator(function: &ast::StmtFunctionDef) -> Option<&ast::Decorator> {
    function.decorator_list.iter().find(|decorator| {
        let callee = match &decorator.expression {
            Expr::Call(call) => call.func.as_ref(),
            other => other,
        };
        dotted_text(callee).is_some_and(|name| name == "fixture" || name.ends_with(".fixture"))
    })
}

/// The name tests ask for a fixture by: `name=` in its decorator, else the function's name.
pub(crate) fn fixture_name(function: &ast::StmtFunctionDef, decorator: &ast::Decorator) -> Name {
    if let Expr::Call(call) = &decorator.expression
        && let Some(keyword) = call.arguments.find_keyword("name")
        && let Expr::StringLiteral(name) = &keyword.value
    {
        return Name::new(name.value.to_str());
    }
    function.name.id.clone()
}

/// `params=[...]` of a fixture's decorator: what `request.param` may be.
pub(crate) fn fixture_params(decorator: &ast::Decorator) -> Option<ValueExpr> {
    let Expr::Call(call) = &decorator.expression else {
        return None;
    };
    let keyword = call.arguments.find_keyword("params")?;
    Some(ValueExpr::from_expr(&keyword.value))
}

/// The parameters `@pytest.mark.parametrize` fills, in the decorators of a test (and of its
/// class), with what each receives: an element of the values (a tuple of them unpacked for
/// several names). A parametrization sent on to fixtures (`indirect=`) leaves its names
/// unknown. `None` when a parametrize decorator cannot be read (its names are not literal):
/// then any parameter may be one.
pub(crate) fn parametrized<'a>(
    decorators: impl Iterator<Item = &'a ast::Decorator>,
) -> Option<Vec<(Name, Binding)>> {
    let mut bound = Vec::new();
    for decorator in decorators {
        let Expr::Call(call) = &decorator.expression else {
            continue;
        };
        if !dotted_text(&call.func).is_some_and(|name| name.ends_with("mark.parametrize")) {
            continue;
        }
        let names_expr = call
            .arguments
            .args
            .first()
            .or_else(|| call.arguments.find_keyword("argnames").map(|k| &k.value))?;
        let names = argument_names(names_expr)?;
        let values = call
            .arguments
            .args
            .get(1)
            .or_else(|| call.arguments.find_keyword("argvalues").map(|k| &k.value));
        let indirect = call.arguments.find_keyword("indirect").is_some();
        let element = values
            .filter(|_| !indirect)
            .map(|values| ValueExpr::Iter(Box::new(ValueExpr::from_expr(values))));
        let several = names.len() > 1;
        for (index, name) in names.into_iter().enumerate() {
            let binding = match &element {
                Some(element) if several => {
                    Binding::Value(ValueExpr::Unpack(Box::new(element.clone()), index))
                }
                Some(element) => Binding::Value(element.clone()),
                None => Binding::Unknown,
            };
            bound.push((name, binding));
        }
    }
    Some(bound)
}

/// `"a, b"`, `("a", "b")` or `["a", "b"]`.
fn argument_names(expr: &Expr) -> Option<Vec<Name>> {
    match expr {
        Expr::StringLiteral(text) => Some(
            text.value
                .to_str()
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(Name::new)
                .collect(),
        ),
        Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => elts
            .iter()
            .map(|element| match element {
                Expr::StringLiteral(text) => Some(Name::new(text.value.to_str())),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// The modules a module names in `pytest_plugins = "a.b"` or `= ["a.b", ...]` at its top
/// level; names that are not literal strings are left out.
pub(crate) fn plugins(body: &[Stmt]) -> Vec<Box<str>> {
    let mut found = Vec::new();
    for stmt in body {
        let (targets, value): (&[Expr], &Expr) = match stmt {
            Stmt::Assign(assign) => (&assign.targets, &assign.value),
            Stmt::AnnAssign(ast::StmtAnnAssign {
                target,
                value: Some(value),
                ..
            }) => (std::slice::from_ref(target.as_ref()), value),
            _ => continue,
        };
        let names_plugins = targets.iter().any(
            |target| matches!(target, Expr::Name(name) if name.id.as_str() == "pytest_plugins"),
        );
        if !names_plugins {
            continue;
        }
        let strings: Vec<&Expr> = match value {
            Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => {
                elts.iter().collect()
            }
            other => vec![other],
        };
        found.extend(strings.into_iter().filter_map(|element| match element {
            Expr::StringLiteral(text) => Some(text.value.to_str().into()),
            _ => None,
        }));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_function(source: &str) -> ast::StmtFunctionDef {
        let parsed = ruff_python_parser::parse_module(source).expect("valid");
        parsed
            .into_suite()
            .into_iter()
            .find_map(|stmt| match stmt {
                Stmt::FunctionDef(function) => Some(function),
                _ => None,
            })
            .expect("a function")
    }

    #[test]
    fn tests_need_a_test_module_a_test_class_and_a_test_name() {
        let test = first_function("def test_x(net): pass\n");
        assert_eq!(role(&test, Some("tests.test_a"), None), Role::Test);
        assert_eq!(role(&test, Some("a_test"), Some("TestA")), Role::Test);
        assert_eq!(role(&test, Some("tests.helpers"), None), Role::Plain);
        assert_eq!(role(&test, Some("test_a"), Some("Helper")), Role::Plain);
        let helper = first_function("def make(net): pass\n");
        assert_eq!(role(&helper, Some("test_a"), None), Role::Plain);
        let fixture = first_function("@pytest.fixture(scope='module')\ndef net(): pass\n");
        assert_eq!(role(&fixture, Some("conftest"), None), Role::Fixture);
    }

    #[test]
    fn fixtures_are_named_by_name_or_by_their_function() {
        let renamed = first_function("@pytest.fixture(name='net')\ndef make_net(): pass\n");
        let decorator = fixture_decorator(&renamed).expect("a fixture");
        assert_eq!(fixture_name(&renamed, decorator).as_str(), "net");
        let plain = first_function("@fixture\ndef net(): pass\n");
        let decorator = fixture_decorator(&plain).expect("a fixture");
        assert_eq!(fixture_name(&plain, decorator).as_str(), "net");
        assert!(fixture_params(decorator).is_none());
    }

    #[test]
    fn parametrize_names_one_or_several_parameters_or_cannot_be_read() {
        let one = first_function("@pytest.mark.parametrize('cls', [A, B])\ndef test(cls): pass\n");
        let bound = parametrized(one.decorator_list.iter()).expect("readable");
        assert_eq!(bound.len(), 1);
        assert!(matches!(&bound[0].1, Binding::Value(ValueExpr::Iter(_))));
        let two = first_function(
            "@pytest.mark.parametrize(('a', 'b'), [(A(), B())])\ndef test(a, b): pass\n",
        );
        let bound = parametrized(two.decorator_list.iter()).expect("readable");
        assert!(matches!(
            &bound[1].1,
            Binding::Value(ValueExpr::Unpack(_, 1))
        ));
        let indirect = first_function(
            "@pytest.mark.parametrize('net', ['a'], indirect=True)\ndef test(net): pass\n",
        );
        let bound = parametrized(indirect.decorator_list.iter()).expect("readable");
        assert_eq!(bound[0].1, Binding::Unknown);
        let dynamic =
            first_function("@pytest.mark.parametrize(NAMES, VALUES)\ndef test(a): pass\n");
        assert!(parametrized(dynamic.decorator_list.iter()).is_none());
    }

    #[test]
    fn plugins_are_literal_module_names() {
        let parsed = ruff_python_parser::parse_module(
            "pytest_plugins = ['tests.fixtures.nets', other]\npytest_plugins = 'a.b'\n",
        )
        .expect("valid");
        let names = plugins(parsed.suite());
        assert_eq!(names, vec!["tests.fixtures.nets".into(), "a.b".into()]);
    }
}
