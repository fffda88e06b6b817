//! Attributes: of modules (their globals or submodules), of outside objects (by qualified
//! name), and of project classes and their instances, through the whole hierarchy.

use std::sync::Arc;

use ruff_python_ast::name::Name;
use rustc_hash::FxHashSet;

use super::ty::{ClassKey, FunctionRef, ModuleRef, Ty, distinct, union};
use super::{AttributeValues, Context, InstanceAttributeKey, MAX_EVAL_DEPTH, TypeResolver};
use crate::semantic::known::{external_defines_nothing_named, not_module_package};
use crate::semantic::summary::{
    Binding, ClassId, FunctionKind, FunctionSummary, ModuleId, ModuleSummary,
};
use crate::semantic::values::ValueExpr;

impl TypeResolver<'_> {
    /// The type of `owner.attribute`.
    pub(super) fn attribute(&mut self, owner: &Ty, attribute: &Name, depth: usize) -> Ty {
        if depth > MAX_EVAL_DEPTH {
            return Ty::Unknown;
        }
        match owner {
            Ty::Module(ModuleRef::Project(module)) => {
                if module.globals.contains_key(attribute) || !module.star_imports.is_empty() {
                    return self.global(module, attribute, depth + 1);
                }
                if module.is_dynamic {
                    // A lazy package (`__getattr__`, or it replaces itself in `sys.modules`)
                    // provides names nmf cannot see.
                    return Ty::Unknown;
                }
                // Not bound by the package: only a submodule can be imported under that name.
                match module.name.as_deref() {
                    Some(name) => self.module_object(&format!("{name}.{attribute}")),
                    None => Ty::Unknown,
                }
            }
            Ty::Module(ModuleRef::External(name)) => {
                let qualified = format!("{name}.{attribute}");
                // `import a` then `a.b.C`: `a.b` may be a project package after all.
                match self.project.module(&qualified) {
                    Some(module) => Ty::Module(ModuleRef::Project(module)),
                    None => Ty::External(qualified.into()),
                }
            }
            Ty::External(name) => Ty::External(format!("{name}.{attribute}").into()),
            Ty::Class(ClassKey::External(name), _) => {
                Ty::External(format!("{name}.{attribute}").into())
            }
            Ty::Class(ClassKey::Project(module, id), _) => {
                self.class_member(owner, module, *id, attribute, false, depth + 1)
            }
            Ty::Instance(ClassKey::Project(module, id), _, _) => {
                self.class_member(owner, module, *id, attribute, true, depth + 1)
            }
            // What a package that makes no modules produces stays in its namespace: the
            // attributes of `cv2.dnn.readNet(...)` are OpenCV's.
            Ty::Instance(ClassKey::External(name), _, _)
                if not_module_package(name, self.not_module_packages).is_some() =>
            {
                Ty::External(format!("{name}.{attribute}").into())
            }
            Ty::Union(members) => {
                let members = members.clone();
                union(
                    members
                        .iter()
                        .map(|member| self.attribute(member, attribute, depth + 1))
                        .collect(),
                )
            }
            _ => Ty::Unknown,
        }
    }

    /// The module object of `absolute` (`pkg.sub`): a file of the project, or an outside module.
    pub(super) fn module_object(&self, absolute: &str) -> Ty {
        match self.project.module(absolute) {
            Some(module) => Ty::Module(ModuleRef::Project(module)),
            None => Ty::Module(ModuleRef::External(absolute.into())),
        }
    }

    /// An attribute of a project class or of its instances. Instances hold the union of what
    /// every class of the hierarchy sets (any of their methods may set it); a class attribute
    /// is whatever a class of the hierarchy binds. A base nmf cannot see, or an attribute no
    /// class binds, adds `Unknown`: something unseen may define it.
    fn class_member(
        &mut self,
        owner: &Ty,
        module: &Arc<ModuleSummary>,
        id: ClassId,
        attribute: &Name,
        on_instance: bool,
        depth: usize,
    ) -> Ty {
        /// Hierarchies are a few dozen classes deep at most, even in transformers.
        const MAX_CLASSES: usize = 64;
        let mut found = Vec::new();
        // Declarations (`x: C` in the class body, `self.x: C = ...`) say what the attribute is,
        // whatever the other assignments look like: `x: dict[str, C]` in the class body with
        // `self.x = {}` in `__init__` is a dict of C.
        let mut declared = Vec::new();
        let mut opaque = false;
        let mut pending = vec![(module.clone(), id)];
        let mut visited: FxHashSet<(ModuleId, ClassId)> = FxHashSet::default();
        while let Some((module, id)) = pending.pop() {
            if visited.len() >= MAX_CLASSES || depth > MAX_EVAL_DEPTH {
                opaque = true;
                break;
            }
            if !visited.insert((module.id, id)) {
                continue;
            }
            let Some(class) = module.class(id) else {
                opaque = true;
                continue;
            };
            let context = Context {
                module: &module,
                locals: &[],
                self_class: Some(id),
                receiver: None,
            };
            if on_instance
                && module
                    .instance_attributes(id)
                    .is_some_and(|attributes| attributes.contains_key(attribute))
            {
                let values = self.instance_attribute(context, id, attribute, depth + 1);
                declared.extend(values.declared);
                found.extend(values.found);
            }
            if let Some(bindings) = class.body.get(attribute) {
                for binding in &bindings.clone() {
                    let ty = match binding {
                        Binding::Function(function) => {
                            let method = bound_method(owner, &module, function, on_instance);
                            if function.is_property && on_instance {
                                self.call_function(&method, depth + 1)
                            } else {
                                Ty::Function(Box::new(method))
                            }
                        }
                        // A class-body annotation declares what instances hold.
                        other => self.eval_binding(context, other, depth + 1),
                    };
                    if is_declaration(binding) {
                        declared.push(ty);
                    } else {
                        found.push(ty);
                    }
                }
            }
            for base in &class.bases.clone() {
                match self.eval(context, base, depth + 1) {
                    Ty::Class(ClassKey::Project(base_module, base_id), _) => {
                        pending.push((base_module, base_id));
                    }
                    Ty::External(name) | Ty::Class(ClassKey::External(name), _)
                        if external_defines_nothing_named(&name, attribute) => {}
                    _ => opaque = true,
                }
            }
        }
        if !declared.is_empty() {
            return union(declared);
        }
        if opaque || found.is_empty() {
            found.push(Ty::Unknown);
        }
        union(found)
    }
}

impl TypeResolver<'_> {
    /// What the methods of the class `id` (of `context`'s module) assign to
    /// `self.<attribute>`. Remembered for the current query, and for the whole file when the
    /// result allows it (see [`Remembered`]).
    fn instance_attribute(
        &mut self,
        context: Context<'_>,
        id: ClassId,
        attribute: &Name,
        depth: usize,
    ) -> AttributeValues {
        let key = InstanceAttributeKey {
            module: context.module.id,
            class: id,
            attribute: attribute.clone(),
            depth,
        };
        let at_top = self.at_top(&[]);
        if at_top && let Some(known) = self.instance_attributes.get(&key).cloned() {
            return self.reuse_from_file(&known);
        }
        let evaluated = self.remembering(|resolver| {
            let mut values = AttributeValues::default();
            let Some(assigned) = context
                .module
                .instance_attributes(id)
                .and_then(|attributes| attributes.get(attribute))
            else {
                return values;
            };
            for value in assigned {
                let ty = resolver.eval(context, value, depth);
                if matches!(value, ValueExpr::Declared(_)) {
                    values.declared.push(ty);
                } else {
                    values.found.push(ty);
                }
            }
            // Thousands of assignments of a few types: kept as those few (see [`distinct`]),
            // since every use of the attribute takes a copy.
            values.declared = distinct(values.declared);
            values.found = distinct(values.found);
            values
        });
        if at_top && evaluated.clean {
            self.instance_attributes.insert(key, evaluated.clone());
        }
        evaluated.value
    }
}

/// A method found in a class of `owner`'s hierarchy, bound as Python binds it: a plain method
/// looked up on an instance to the instance, a classmethod to the class, a staticmethod (or a
/// plain method taken from the class) to nothing.
fn bound_method(
    owner: &Ty,
    module: &Arc<ModuleSummary>,
    function: &FunctionSummary,
    on_instance: bool,
) -> FunctionRef {
    let receiver = match (function.kind, owner) {
        (FunctionKind::Instance, Ty::Instance(..)) if on_instance => Some(owner.clone()),
        (FunctionKind::Class, Ty::Instance(class, _, exactness) | Ty::Class(class, exactness)) => {
            Some(Ty::Class(class.clone(), *exactness))
        }
        _ => None,
    };
    FunctionRef {
        module: module.clone(),
        function: function.clone(),
        receiver,
    }
}

/// `x: C`, with or without a value.
fn is_declaration(binding: &Binding) -> bool {
    matches!(binding, Binding::Value(ValueExpr::Declared(_)))
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::super::testing::{Project, verdict};

    #[test]
    fn instance_attributes_come_from_every_method_and_declarations_win() {
        let source = "import torch.nn as nn\n\
                      class P: pass\n\
                      class A:\n    \
                          def __init__(self):\n        \
                              self.p = P()\n    \
                          def reset(self):\n        \
                              self.p = nn.Linear(1, 1)\n\
                      class D:\n    \
                          x: 'P'\n    \
                          def __init__(self):\n        \
                              self.x = {}\n";
        assert_eq!(verdict(source, "A().p"), Verdict::Module);
        assert_eq!(verdict(source, "D().x"), Verdict::NotModule);
        assert_eq!(verdict(source, "A().missing"), Verdict::Unknown);
    }

    #[test]
    fn class_attributes_are_inherited_and_unseen_bases_may_define_anything() {
        let source = "import torch.nn as nn\n\
                      from lib import Base\n\
                      class A:\n    \
                          layer = nn.Linear(1, 1)\n\
                      class B(A): pass\n\
                      class C(Base): pass\n";
        assert_eq!(verdict(source, "A.layer"), Verdict::Module);
        assert_eq!(verdict(source, "B().layer"), Verdict::Module);
        assert_eq!(verdict(source, "C().layer"), Verdict::Unknown);
    }

    #[test]
    fn module_attributes_are_globals_or_submodules() {
        let project = Project::new(&[
            ("pkg.__init__", ""),
            (
                "pkg.sub",
                "import torch.nn as nn\nclass Net(nn.Module): pass\n",
            ),
            ("use", "import pkg\nimport torch\n"),
        ]);
        assert_eq!(project.infer("use", "pkg.sub.Net()").1, Verdict::Module);
        assert_eq!(
            project.infer("use", "pkg.sub"),
            ("module `pkg.sub`".to_string(), Verdict::NotModule)
        );
        assert_eq!(
            project.infer("use", "torch.nn.Linear(1, 1)"),
            ("torch.nn.Linear".to_string(), Verdict::Module)
        );
    }
}
