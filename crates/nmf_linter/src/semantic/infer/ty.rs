//! What inference knows about a value ([`Ty`]), the classes it names ([`ClassKey`]), and the
//! helpers that combine types: unions without duplicates, their members, and instances of a
//! class named by a type expression.

use std::fmt;
use std::sync::Arc;

use crate::semantic::known::normalize_typing;
use crate::semantic::summary::{ClassId, FunctionSummary, ModuleId, ModuleSummary};

/// A class, inside the project or outside it.
#[derive(Clone)]
pub enum ClassKey {
    /// A class outside the project, by qualified name (`torch.nn.Linear`).
    External(Arc<str>),
    Project(Arc<ModuleSummary>, ClassId),
}

impl ClassKey {
    /// What makes two keys the same class: the name outside the project; the summary's id
    /// and the class's index inside it (a reloaded summary gets a new id, so a memo entry of
    /// the old one can never be mistaken for it).
    fn identity(&self) -> (ModuleId, ClassId, Option<&str>) {
        match self {
            ClassKey::External(name) => (ModuleId::NONE, 0, Some(name)),
            ClassKey::Project(module, id) => (module.id, *id, None),
        }
    }

    /// The qualified name shown to users.
    pub fn qualified_name(&self) -> String {
        match self {
            ClassKey::External(name) => name.to_string(),
            ClassKey::Project(module, id) => {
                let class = module.class(*id).map_or("?", |class| class.name.as_str());
                match module.name.as_deref() {
                    Some(module_name) => format!("{module_name}.{class}"),
                    None => class.to_string(),
                }
            }
        }
    }
}

impl PartialEq for ClassKey {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl fmt::Debug for ClassKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.qualified_name())
    }
}

/// A Python module object (`import torch.nn as nn` binds one).
#[derive(Clone, Debug)]
pub enum ModuleRef {
    External(Arc<str>),
    Project(Arc<ModuleSummary>),
}

/// What inference knows about a value.
#[derive(Clone, Debug)]
pub enum Ty {
    Unknown,
    None,
    /// An object outside the project known only by its qualified name: a module, a class or a
    /// function of a library.
    External(Arc<str>),
    Module(ModuleRef),
    /// The class object itself (`Cls` in `Cls.forward(obj, x)`): exactly that class (`Cls`),
    /// or it or any subclass (`cls` in a classmethod, `type(self)`, a value declared
    /// `type[Cls]`). Calling it makes an instance of the same exactness.
    Class(ClassKey, Exactness),
    /// An instance, with the type arguments of a generic container (`dict[str, C]`), of
    /// exactly the class (`C()`) or of it or any subclass (`self`, a parameter annotated `C`).
    Instance(ClassKey, Vec<Ty>, Exactness),
    /// A function or method; calling it gives its declared return type, or what its body
    /// returns.
    Function(Box<FunctionRef>),
    Union(Vec<Ty>),
}

/// A function of the project, and what its first parameter is bound to when it was looked up
/// as a method.
#[derive(Clone, Debug)]
pub struct FunctionRef {
    pub module: Arc<ModuleSummary>,
    pub function: FunctionSummary,
    /// The instance (or, for a classmethod, the class) the method was looked up on: what
    /// `self` (or `cls`) is in its body. `None` for a plain function, or a method taken from
    /// its class, whose `self` is then any instance of the class.
    pub receiver: Option<Ty>,
}

impl FunctionRef {
    /// The type of a plain function (not looked up as a method).
    pub(super) fn plain(module: Arc<ModuleSummary>, function: FunctionSummary) -> Ty {
        Ty::Function(Box::new(FunctionRef {
            module,
            function,
            receiver: None,
        }))
    }
}

/// Whether an instance is of its class exactly, or may be of any subclass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exactness {
    /// Made by calling the class: `C()`.
    Exact,
    /// Declared, or `self`: the class or any subclass, in the project or outside it.
    OrSubclass,
}

impl Ty {
    /// Nothing is known of the value: unknown, `None`, or a union of those.
    pub fn says_nothing(&self) -> bool {
        match self {
            Ty::Unknown | Ty::None => true,
            Ty::Union(members) => members.iter().all(Ty::says_nothing),
            _ => false,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Unknown => f.write_str("unknown"),
            Ty::None => f.write_str("None"),
            Ty::External(name) => f.write_str(name),
            Ty::Module(ModuleRef::External(name)) => write!(f, "module `{name}`"),
            Ty::Module(ModuleRef::Project(module)) => {
                write!(f, "module `{}`", module.name.as_deref().unwrap_or("?"))
            }
            Ty::Class(class, _) => write!(f, "class {}", class.qualified_name()),
            Ty::Instance(class, _, _) => f.write_str(&class.qualified_name()),
            Ty::Function(..) => f.write_str("function"),
            Ty::Union(members) => {
                /// Unions of a table of classes can be long; the first few say enough.
                const SHOWN: usize = 6;
                let mut shown: Vec<String> = Vec::new();
                for member in members {
                    let text = member.to_string();
                    if !shown.contains(&text) {
                        shown.push(text);
                    }
                }
                let more = shown.len().saturating_sub(SHOWN);
                shown.truncate(SHOWN);
                f.write_str(&shown.join(" | "))?;
                if more > 0 {
                    write!(f, " | … ({more} more)")?;
                }
                Ok(())
            }
        }
    }
}

/// The members of a union, or the type itself.
pub(super) fn members(ty: &Ty) -> Vec<&Ty> {
    match ty {
        Ty::Union(members) => members.iter().collect(),
        other => vec![other],
    }
}

/// Whether two keys are the same class, also when one comes from a second summary of the same
/// file (the checked file is summarised from its tree and, for other files, from disk).
pub(super) fn same_class(a: &ClassKey, b: &ClassKey) -> bool {
    match (a, b) {
        (ClassKey::Project(module_a, id_a), ClassKey::Project(module_b, id_b)) => {
            (module_a.id == module_b.id && id_a == id_b)
                || (module_a.name.is_some()
                    && module_a.name == module_b.name
                    && module_a.class(*id_a).map(|class| class.start)
                        == module_b.class(*id_b).map(|class| class.start))
        }
        (ClassKey::External(a), ClassKey::External(b)) => a == b,
        _ => false,
    }
}

/// Whether two types are the same (functions are never taken for the same: they are kept).
fn same_type(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Unknown, Ty::Unknown) | (Ty::None, Ty::None) => true,
        (Ty::External(a), Ty::External(b)) => a == b,
        (Ty::Module(ModuleRef::External(a)), Ty::Module(ModuleRef::External(b))) => a == b,
        (Ty::Module(ModuleRef::Project(a)), Ty::Module(ModuleRef::Project(b))) => Arc::ptr_eq(a, b),
        (Ty::Class(a, a_exact), Ty::Class(b, b_exact)) => same_class(a, b) && a_exact == b_exact,
        (Ty::Instance(a, a_args, a_exact), Ty::Instance(b, b_args, b_exact)) => {
            same_class(a, b)
                && a_exact == b_exact
                && a_args.len() == b_args.len()
                && a_args.iter().zip(b_args).all(|(a, b)| same_type(a, b))
        }
        (Ty::Union(a), Ty::Union(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_type(a, b))
        }
        _ => false,
    }
}

pub(super) fn union(mut members: Vec<Ty>) -> Ty {
    match members.len() {
        0 => Ty::Unknown,
        1 => members.pop().unwrap_or(Ty::Unknown),
        _ => {
            // Flattened and without duplicates: a name bound many times from itself would
            // otherwise get a union that doubles with every binding.
            let mut flat = distinct(members);
            if flat.len() == 1 {
                flat.pop().unwrap_or(Ty::Unknown)
            } else {
                Ty::Union(flat)
            }
        }
    }
}

/// The members of the union of `members`, in order: each union among them replaced by its
/// members, each type kept once. A union of these and more types is their union with the
/// more types: this is how a long list of types is kept short before it is united.
pub(super) fn distinct(members: Vec<Ty>) -> Vec<Ty> {
    let mut flat: Vec<Ty> = Vec::with_capacity(members.len().min(16));
    let mut add = |member: Ty| {
        if !flat.iter().any(|known| same_type(known, &member)) {
            flat.push(member);
        }
    };
    for member in members {
        match member {
            Ty::Union(inner) => inner.into_iter().for_each(&mut add),
            other => add(other),
        }
    }
    flat
}

pub(super) fn map_union(ty: &Ty, map: &mut dyn FnMut(&Ty) -> Ty) -> Ty {
    match ty {
        Ty::Union(members) => union(
            members
                .iter()
                .filter(|member| !matches!(member, Ty::None))
                .map(&mut *map)
                .collect(),
        ),
        other => map(other),
    }
}

/// An instance of an outside class, by qualified name.
pub(super) fn external_instance(name: &str, arguments: Vec<Ty>) -> Ty {
    Ty::Instance(ClassKey::External(name.into()), arguments, Exactness::Exact)
}

/// The type of an instance of the class a type expression names: that class or a subclass.
pub(super) fn instance_of(ty: Ty) -> Ty {
    match ty {
        Ty::Class(class, _) => Ty::Instance(class, Vec::new(), Exactness::OrSubclass),
        Ty::External(name) => {
            let name = normalize_typing(&name);
            if name == "typing.Any" {
                Ty::Unknown
            } else {
                // Kept even when nmf does not know the class, so notes can name it; its
                // verdict is then Unknown.
                Ty::Instance(
                    ClassKey::External(name.into()),
                    Vec::new(),
                    Exactness::OrSubclass,
                )
            }
        }
        Ty::None => Ty::None,
        Ty::Union(members) => union(members.into_iter().map(instance_of).collect()),
        _ => Ty::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn external(name: &str) -> Ty {
        Ty::External(name.into())
    }

    #[test]
    fn unions_are_flat_without_duplicates_and_of_one_member_are_that_member() {
        assert!(matches!(union(Vec::new()), Ty::Unknown));
        assert_eq!(union(vec![external("a")]).to_string(), "a");
        let nested = union(vec![
            external("a"),
            Ty::Union(vec![external("a"), external("b")]),
            external("b"),
        ]);
        assert!(matches!(&nested, Ty::Union(members) if members.len() == 2));
        assert_eq!(nested.to_string(), "a | b");
        assert_eq!(union(vec![external("a"), external("a")]).to_string(), "a");
    }

    #[test]
    fn a_long_union_shows_its_first_members() {
        let long = union((0..8).map(|index| external(&format!("t{index}"))).collect());
        assert_eq!(long.to_string(), "t0 | t1 | t2 | t3 | t4 | t5 | … (2 more)");
    }

    #[test]
    fn mapping_a_union_drops_none() {
        let optional = Ty::Union(vec![Ty::None, external("a")]);
        let mapped = map_union(&optional, &mut |ty| ty.clone());
        assert_eq!(mapped.to_string(), "a");
        assert_eq!(members(&optional).len(), 2);
    }

    #[test]
    fn a_type_expression_gives_instances_of_the_class_or_a_subclass() {
        assert!(matches!(instance_of(external("typing.Any")), Ty::Unknown));
        assert!(matches!(
            instance_of(external("torch.nn.Linear")),
            Ty::Instance(ClassKey::External(name), _, Exactness::OrSubclass)
                if &*name == "torch.nn.Linear"
        ));
        assert!(matches!(instance_of(Ty::None), Ty::None));
        assert!(same_class(
            &ClassKey::External("a".into()),
            &ClassKey::External("a".into())
        ));
        assert!(!same_type(&external("a"), &external("b")));
    }
}
