//! Where the checker is in the module, and what names and receivers mean there.

pub mod bindings;
pub(crate) mod class_bases;
pub(crate) mod functions;
pub mod infer;
pub mod known;
pub mod locals;
pub mod patches;
pub(crate) mod pytest;
pub mod summary;
pub mod values;
pub mod wrap;

use ruff_python_ast::{self as ast};

/// A scope the checker is inside, innermost last.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Class(&'a ast::StmtClassDef),
    Function(&'a ast::StmtFunctionDef),
    Lambda(&'a ast::ExprLambda),
    Comprehension(&'a [ast::Comprehension]),
}

/// The function whose body encloses the current node.
#[derive(Debug, Clone, Copy)]
pub struct EnclosingFunction<'a> {
    pub function: &'a ast::StmtFunctionDef,
    /// The class whose body defines the function directly: the function is a method.
    pub class: Option<&'a ast::StmtClassDef>,
}

impl<'a> EnclosingFunction<'a> {
    /// The method's first parameter (`self` by convention).
    pub fn first_parameter(&self) -> Option<&'a str> {
        bindings::first_parameter(self.function).map(|name| name.as_str())
    }
}

/// The stack of scopes around the node being checked.
#[derive(Debug, Default)]
pub struct SemanticModel<'a> {
    scopes: Vec<Scope<'a>>,
}

impl<'a> SemanticModel<'a> {
    pub(crate) fn push(&mut self, scope: Scope<'a>) {
        self.scopes.push(scope);
    }

    pub(crate) fn pop(&mut self) {
        self.scopes.pop();
    }

    /// Scopes from the innermost outwards.
    pub fn scopes(&self) -> impl Iterator<Item = Scope<'a>> + '_ {
        self.scopes.iter().rev().copied()
    }

    /// Whether the current node is in a test: a function whose name starts with `test` (after
    /// any leading underscores), or code nested in one. Tests call and make wrappers on purpose
    /// (to compare with the wrapped module, or to check that making one works).
    pub fn in_test_function(&self) -> bool {
        self.scopes.iter().any(|scope| {
            matches!(scope, Scope::Function(function)
                if function.name.id.as_str().trim_start_matches('_').starts_with("test"))
        })
    }

    /// The innermost `def` around the current node. Lambdas and comprehensions are part of the
    /// function they are written in: they run while it runs.
    pub fn enclosing_function(&self) -> Option<EnclosingFunction<'a>> {
        let mut scopes = self
            .scopes
            .iter()
            .rev()
            .skip_while(|scope| matches!(scope, Scope::Lambda(_) | Scope::Comprehension(_)));
        let Some(Scope::Function(function)) = scopes.next() else {
            return None;
        };
        let class = match scopes.next() {
            Some(Scope::Class(class)) => Some(*class),
            _ => None,
        };
        Some(EnclosingFunction { function, class })
    }
}
