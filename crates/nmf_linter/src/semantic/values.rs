//! Expressions reduced to what type inference needs, detached from the AST.
//!
//! Summaries of other files outlive their syntax trees, so the few shapes that carry type
//! information (`a.b.C`, `C(...)`, `x[i]`, annotations) are copied out of the AST here.

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr, Operator};

/// Real code nests a few levels; deeper expressions are not worth the stack they would take.
const MAX_DEPTH: usize = 32;

/// An expression whose value we may be able to type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueExpr {
    /// `x`
    Name(Name),
    /// `value.attr`
    Attribute(Box<ValueExpr>, Name),
    /// `callee(arguments...)`: an instance of a class, or what a function returns. The first
    /// positional arguments are kept (for `enumerate(x)`, `zip(a, b)`), keywords are not.
    Call(Box<ValueExpr>, Vec<ValueExpr>),
    /// `value[...]`: an element of a typed container.
    Subscript(Box<ValueExpr>),
    /// An element produced by iterating over the value (`for x in value`).
    Iter(Box<ValueExpr>),
    /// The element at this position of an unpacked value: `v` in `for k, v in d.items()` is
    /// `Unpack(Iter(d.items()), 1)`.
    Unpack(Box<ValueExpr>, usize),
    /// What `with value as x` binds: what the value's `__enter__` returns.
    Enter(Box<ValueExpr>),
    /// A list, tuple, set or dict display: `{"onnx": OnnxBackend, "trt": TrtBackend}`.
    Collection(Box<Collection>),
    /// A value declared by an annotation: an instance of the annotated type.
    Declared(Box<Annotation>),
    /// A name a function imported locally, as seen from outside the function: `Y` after
    /// `from .x import Y` in a method (the fields as in [`crate::semantic::summary::Binding::Import`]).
    Imported {
        module: Box<str>,
        level: u32,
        member: Option<Name>,
    },
    /// The first parameter of a method, in the value of an instance attribute
    /// (`self.backend = self.BACKENDS[name]()`): an instance of the class or a subclass.
    SelfRef,
    /// The value `None`.
    None,
    /// A literal of a builtin type: `"text"` is `builtins.str`, `1` is `builtins.int`.
    Literal(&'static str),
    /// Anything else: a literal, an operator, a lambda, ...
    Unknown,
}

/// A collection display, its elements reduced (at most [`MAX_ELEMENTS`] of them; more make
/// it [`ValueExpr::Unknown`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub kind: CollectionKind,
    /// Dict keys; empty for the other kinds.
    pub keys: Vec<ValueExpr>,
    /// Dict values, or the elements.
    pub values: Vec<ValueExpr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    List,
    Tuple,
    Set,
    Dict,
}

/// Tables of classes are short; a display of thousands of elements is data, not a table.
const MAX_ELEMENTS: usize = 64;
/// Arguments kept for a call.
const MAX_ARGUMENTS: usize = 4;

/// A type annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Annotation {
    /// `C`, `mod.C`: an instance of the class that the expression names.
    Ref(ValueExpr),
    /// `C[A, B]`: a generic class with arguments, or a typing form such as `Optional[C]`.
    Generic(ValueExpr, Vec<Annotation>),
    /// `A | B`
    Union(Vec<Annotation>),
    None,
    Unknown,
}

impl ValueExpr {
    /// Reduces an expression that is evaluated as a value (an assignment's right-hand side, a
    /// call's receiver, a base class).
    pub fn from_expr(expr: &Expr) -> Self {
        Self::from_expr_at_depth(expr, 0)
    }

    fn from_expr_at_depth(expr: &Expr, depth: usize) -> Self {
        if depth > MAX_DEPTH {
            return ValueExpr::Unknown;
        }
        let inner = |expr: &Expr| Box::new(Self::from_expr_at_depth(expr, depth + 1));
        let all = |exprs: &[Expr]| -> Option<Vec<ValueExpr>> {
            if exprs.len() > MAX_ELEMENTS || exprs.iter().any(Expr::is_starred_expr) {
                return None;
            }
            Some(
                exprs
                    .iter()
                    .map(|expr| Self::from_expr_at_depth(expr, depth + 1))
                    .collect(),
            )
        };
        let collection =
            |kind, keys, values| ValueExpr::Collection(Box::new(Collection { kind, keys, values }));
        match expr {
            Expr::Name(name) => ValueExpr::Name(name.id.clone()),
            Expr::Attribute(attribute) => {
                ValueExpr::Attribute(inner(&attribute.value), attribute.attr.id.clone())
            }
            Expr::Call(call) => {
                let arguments = call
                    .arguments
                    .args
                    .iter()
                    .take_while(|argument| !argument.is_starred_expr())
                    .take(MAX_ARGUMENTS)
                    .map(|argument| Self::from_expr_at_depth(argument, depth + 1))
                    .collect();
                ValueExpr::Call(inner(&call.func), arguments)
            }
            Expr::List(list) => all(&list.elts).map_or(ValueExpr::Unknown, |values| {
                collection(CollectionKind::List, Vec::new(), values)
            }),
            Expr::Tuple(tuple) => all(&tuple.elts).map_or(ValueExpr::Unknown, |values| {
                collection(CollectionKind::Tuple, Vec::new(), values)
            }),
            Expr::Set(set) => all(&set.elts).map_or(ValueExpr::Unknown, |values| {
                collection(CollectionKind::Set, Vec::new(), values)
            }),
            Expr::Dict(dict) => {
                if dict.items.len() > MAX_ELEMENTS
                    || dict.items.iter().any(|item| item.key.is_none())
                {
                    return ValueExpr::Unknown;
                }
                let keys = dict
                    .items
                    .iter()
                    .filter_map(|item| item.key.as_ref())
                    .map(|key| Self::from_expr_at_depth(key, depth + 1))
                    .collect();
                let values = dict
                    .items
                    .iter()
                    .map(|item| Self::from_expr_at_depth(&item.value, depth + 1))
                    .collect();
                collection(CollectionKind::Dict, keys, values)
            }
            Expr::Subscript(subscript) => ValueExpr::Subscript(inner(&subscript.value)),
            Expr::NoneLiteral(_) => ValueExpr::None,
            Expr::StringLiteral(_) | Expr::FString(_) => ValueExpr::Literal("builtins.str"),
            Expr::BytesLiteral(_) => ValueExpr::Literal("builtins.bytes"),
            Expr::BooleanLiteral(_) => ValueExpr::Literal("builtins.bool"),
            Expr::NumberLiteral(number) => ValueExpr::Literal(match number.value {
                ast::Number::Int(_) => "builtins.int",
                ast::Number::Float(_) => "builtins.float",
                ast::Number::Complex { .. } => "builtins.complex",
            }),
            Expr::Named(named) => Self::from_expr_at_depth(&named.value, depth + 1),
            _ => ValueExpr::Unknown,
        }
    }

    /// The value of a dotted name such as `torch.nn.Module`, if the expression is one.
    pub fn dotted(expr: &Expr) -> Option<Self> {
        match Self::from_expr(expr) {
            value @ (ValueExpr::Name(_) | ValueExpr::Attribute(..)) if value.is_dotted() => {
                Some(value)
            }
            _ => None,
        }
    }

    fn is_dotted(&self) -> bool {
        match self {
            ValueExpr::Name(_) => true,
            ValueExpr::Attribute(value, _) => value.is_dotted(),
            _ => false,
        }
    }

    /// A base class expression: `Base`, `mod.Base`, or `Generic[T]`, whose class is `Generic`.
    pub fn from_base(expr: &Expr) -> Self {
        match expr {
            Expr::Subscript(subscript) => {
                ValueExpr::dotted(&subscript.value).unwrap_or(ValueExpr::Unknown)
            }
            _ => ValueExpr::dotted(expr).unwrap_or(ValueExpr::Unknown),
        }
    }

    /// `a.b.c` as a string, for notes shown to users.
    pub fn display(&self) -> Option<String> {
        match self {
            ValueExpr::Name(name) => Some(name.to_string()),
            ValueExpr::Attribute(value, attr) => Some(format!("{}.{attr}", value.display()?)),
            _ => None,
        }
    }
}

/// `a.b.c` as text, for a name or a chain of attributes of one (no deeper than values are
/// followed, so that a chain thousands of attributes long costs no deep recursion).
pub fn dotted_text(expr: &Expr) -> Option<String> {
    ValueExpr::dotted(expr).and_then(|value| value.display())
}

impl Annotation {
    /// Reduces an annotation expression; string annotations are parsed.
    pub fn from_expr(expr: &Expr) -> Self {
        Self::from_expr_at_depth(expr, 0)
    }

    fn from_expr_at_depth(expr: &Expr, depth: usize) -> Self {
        if depth > MAX_DEPTH {
            return Annotation::Unknown;
        }
        match expr {
            Expr::NoneLiteral(_) => Annotation::None,
            Expr::Name(_) | Expr::Attribute(_) => {
                ValueExpr::dotted(expr).map_or(Annotation::Unknown, Annotation::Ref)
            }
            Expr::Subscript(subscript) => {
                let Some(head) = ValueExpr::dotted(&subscript.value) else {
                    return Annotation::Unknown;
                };
                let arguments = match subscript.slice.as_ref() {
                    Expr::Tuple(tuple) => tuple
                        .elts
                        .iter()
                        .map(|element| Self::from_expr_at_depth(element, depth + 1))
                        .collect(),
                    slice => vec![Self::from_expr_at_depth(slice, depth + 1)],
                };
                Annotation::Generic(head, arguments)
            }
            Expr::BinOp(ast::ExprBinOp {
                left,
                op: Operator::BitOr,
                right,
                ..
            }) => {
                let mut members = Vec::new();
                for side in [left, right] {
                    match Self::from_expr_at_depth(side, depth + 1) {
                        Annotation::Union(inner) => members.extend(inner),
                        other => members.push(other),
                    }
                }
                Annotation::Union(members)
            }
            Expr::StringLiteral(string) => {
                match ruff_python_parser::parse_expression(string.value.to_str()) {
                    Ok(parsed) => Self::from_expr_at_depth(parsed.expr(), depth + 1),
                    Err(_) => Annotation::Unknown,
                }
            }
            _ => Annotation::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotation(source: &str) -> Annotation {
        let parsed = ruff_python_parser::parse_expression(source).expect("valid expression");
        Annotation::from_expr(parsed.expr())
    }

    fn name(text: &str) -> ValueExpr {
        ValueExpr::Name(Name::new(text))
    }

    #[test]
    fn string_annotations_are_parsed_like_plain_ones() {
        assert_eq!(
            annotation("'DecisionPipeline'"),
            annotation("DecisionPipeline")
        );
        assert_eq!(annotation("\"dict[str, X]\""), annotation("dict[str, X]"));
    }

    #[test]
    fn unions_flatten() {
        assert_eq!(
            annotation("A | B | None"),
            Annotation::Union(vec![
                Annotation::Ref(name("A")),
                Annotation::Ref(name("B")),
                Annotation::None
            ])
        );
    }

    #[test]
    fn generic_arguments_are_kept_in_order() {
        assert_eq!(
            annotation("dict[str, LoraVariant]"),
            Annotation::Generic(
                name("dict"),
                vec![
                    Annotation::Ref(name("str")),
                    Annotation::Ref(name("LoraVariant"))
                ]
            )
        );
    }
}
