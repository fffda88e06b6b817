//! Containers: displays (`[a, b]`, `{k: v}`), the elements of typed containers (`dict[str, C]`,
//! `nn.ModuleList`) by subscript, iteration and unpacking, and their common methods.

use super::ty::{ClassKey, Ty, external_instance, union};
use super::{Context, TypeResolver};
use crate::semantic::known::{is_mapping_class, normalize_typing};
use crate::semantic::values::{Collection, CollectionKind, ValueExpr};

impl TypeResolver<'_> {
    /// A list, tuple, set or dict display: a container of the union of its elements, and a
    /// tuple of each element at its position.
    pub(super) fn collection(
        &mut self,
        context: Context<'_>,
        collection: &Collection,
        depth: usize,
    ) -> Ty {
        let mut eval_all = |values: &[ValueExpr]| -> Vec<Ty> {
            values
                .iter()
                .map(|value| self.eval(context, value, depth + 1))
                .collect()
        };
        match collection.kind {
            CollectionKind::Tuple => {
                external_instance("builtins.tuple", eval_all(&collection.values))
            }
            CollectionKind::List => {
                external_instance("builtins.list", vec![union(eval_all(&collection.values))])
            }
            CollectionKind::Set => {
                external_instance("builtins.set", vec![union(eval_all(&collection.values))])
            }
            CollectionKind::Dict => {
                let keys = union(eval_all(&collection.keys));
                let values = union(eval_all(&collection.values));
                external_instance("builtins.dict", vec![keys, values])
            }
        }
    }
}

/// What the common methods of a typed `dict` or `list` give: `values()` and `keys()` as lists
/// of the values and keys, `get()`/`pop()` as one of them. `None` for anything else.
pub(super) fn container_method(owner: &Ty, method: &str) -> Option<Ty> {
    let Ty::Instance(ClassKey::External(name), arguments, _) = owner else {
        return None;
    };
    let argument = |index: usize| arguments.get(index).cloned().unwrap_or(Ty::Unknown);
    let list_of = |element: Ty| external_instance("builtins.list", vec![element]);
    let is_mapping = is_mapping_class(&normalize_typing(name));
    let is_list = matches!(
        normalize_typing(name).as_str(),
        "builtins.list" | "typing.List"
    );
    match method {
        "values" if is_mapping => Some(list_of(argument(1))),
        "keys" if is_mapping => Some(list_of(argument(0))),
        "items" if is_mapping => Some(list_of(external_instance(
            "builtins.tuple",
            vec![argument(0), argument(1)],
        ))),
        "get" | "pop" | "setdefault" if is_mapping => Some(argument(1)),
        "pop" if is_list => Some(argument(0)),
        "copy" if is_mapping || is_list => Some(owner.clone()),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ElementAccess {
    Subscript,
    Iteration,
}

/// The element type of a container annotated with its type arguments.
pub(super) fn element_type(container: &Ty, access: ElementAccess) -> Ty {
    let Ty::Instance(ClassKey::External(name), arguments, _) = container else {
        return Ty::Unknown;
    };
    let name = normalize_typing(name);
    let argument = |index: usize| arguments.get(index).cloned().unwrap_or(Ty::Unknown);
    match name.as_str() {
        // Every element of these containers is registered as a submodule.
        "torch.nn.ModuleList"
        | "torch.nn.Sequential"
        | "torch.nn.modules.container.ModuleList"
        | "torch.nn.modules.container.Sequential" => {
            external_instance("torch.nn.Module", Vec::new())
        }
        "torch.nn.ModuleDict" | "torch.nn.modules.container.ModuleDict" => match access {
            ElementAccess::Subscript => external_instance("torch.nn.Module", Vec::new()),
            ElementAccess::Iteration => external_instance("builtins.str", Vec::new()),
        },
        mapping if is_mapping_class(mapping) => match access {
            ElementAccess::Subscript => argument(1),
            ElementAccess::Iteration => argument(0),
        },
        "builtins.list"
        | "builtins.set"
        | "builtins.frozenset"
        | "typing.List"
        | "typing.Set"
        | "typing.FrozenSet"
        | "typing.Sequence"
        | "typing.MutableSequence"
        | "typing.Iterable"
        | "typing.Iterator"
        | "typing.Collection"
        | "collections.deque"
        | "typing.Deque"
        | "collections.abc.Sequence"
        | "collections.abc.MutableSequence"
        | "collections.abc.Iterable"
        | "collections.abc.Iterator"
        | "collections.abc.Collection" => argument(0),
        // `tuple[C, ...]` is homogeneous; `tuple[A, B]` is not, without knowing the index.
        "builtins.tuple" | "typing.Tuple" if arguments.len() == 2 => match &arguments[1] {
            Ty::External(ellipsis) if ellipsis.as_ref() == "builtins.Ellipsis" => argument(0),
            _ => Ty::Unknown,
        },
        _ => Ty::Unknown,
    }
}

/// The element at `index` of an unpacked value: of a tuple, the one at that position; of any
/// other container, an element.
pub(super) fn unpacked(ty: &Ty, index: usize) -> Ty {
    match ty {
        Ty::Instance(ClassKey::External(name), arguments, _)
            if matches!(
                normalize_typing(name).as_str(),
                "builtins.tuple" | "typing.Tuple"
            ) =>
        {
            match arguments.as_slice() {
                [element, Ty::External(ellipsis)] if ellipsis.as_ref() == "builtins.Ellipsis" => {
                    element.clone()
                }
                _ => arguments.get(index).cloned().unwrap_or(Ty::Unknown),
            }
        }
        other => element_type(other, ElementAccess::Iteration),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::super::testing::verdict;

    #[test]
    fn containers_returns_and_properties_give_their_declared_types() {
        let source = "import torch.nn as nn\n\
                      from typing import Optional\n\
                      class P: pass\n\
                      table: dict[str, P] = {}\n\
                      layers = nn.ModuleList()\n\
                      maybe: Optional[P] = None\n\
                      def build() -> nn.Linear: ...\n\
                      class H:\n    \
                          @property\n    \
                          def head(self) -> 'P': ...\n";
        assert_eq!(verdict(source, "table['a']"), Verdict::NotModule);
        assert_eq!(verdict(source, "table.get('a')"), Verdict::NotModule);
        assert_eq!(verdict(source, "layers[0]"), Verdict::Module);
        assert_eq!(verdict(source, "maybe"), Verdict::NotModule);
        assert_eq!(verdict(source, "build()"), Verdict::Module);
        assert_eq!(verdict(source, "H().head"), Verdict::NotModule);
    }

    #[test]
    fn displays_hold_the_union_of_their_elements_and_tuples_each_at_its_place() {
        let source = "import torch.nn as nn\n\
                      class P: pass\n\
                      pair = (P(), nn.Linear(1, 1))\n\
                      a, b = pair\n\
                      ps = [P(), P()]\n\
                      mixed = {'p': P(), 'l': nn.Linear(1, 1)}\n";
        assert_eq!(verdict(source, "a"), Verdict::NotModule);
        assert_eq!(verdict(source, "b"), Verdict::Module);
        assert_eq!(verdict(source, "ps[0]"), Verdict::NotModule);
        assert_eq!(verdict(source, "mixed['p']"), Verdict::Module);
        assert_eq!(verdict(source, "list(mixed.keys())[0]"), Verdict::NotModule);
    }
}
