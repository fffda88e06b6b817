//! What the wrap-state analysis reads from one file, collected in one walk: every function's
//! (and the module's top level's) bindings in source order with the block each sits in, its
//! returns, calls, `if` tests, `backward` calls and the code that runs without gradients; every
//! class's methods, attribute assignments and bases; who calls each function of the file.

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::{FxHashMap, FxHashSet};

use super::names::{self, is_without_grad};

/// A function of the file, by its position in [`FileIndex::functions`]; `0` is the module's
/// top level.
pub type FunctionId = u32;
/// A class of the file, by its position in [`FileIndex::classes`].
pub type ClassIndex = u32;

/// The module's top level, a function of its own for the analysis.
pub const TOP_LEVEL: FunctionId = 0;

/// How one binding of a name gets its value.
#[derive(Debug, Clone)]
pub enum BindingValue<'a> {
    /// `name = value`, a walrus, or one position of an unpacking (`path`: the indices, outermost
    /// first).
    Assigned { value: &'a Expr, path: Vec<usize> },
    /// `for name in iterable` (unpacked along `path`).
    Element {
        iterable: &'a Expr,
        path: Vec<usize>,
    },
    /// The function's parameter at this position among the positional ones (`self` is 0), or
    /// a keyword-only one (`None`).
    Parameter { position: Option<usize> },
    /// The name was passed to a call that may wrap it, whose result went elsewhere:
    /// `ddp = DDP(model)` (the name `model` then holds the inner module of `ddp`), or
    /// `fully_shard(model)` (which shards `model` in place). `argument` is its position among
    /// the call's positional arguments (`None`: a keyword); `target` what the result is bound
    /// to.
    Passed {
        call: &'a ast::ExprCall,
        argument: Option<usize>,
        target: Option<&'a Expr>,
    },
    /// `import m`, `from m import f`: what the name is, type inference says (a function of
    /// another file may unwrap its argument).
    Imported,
    /// Anything else (`with ... as`, `except ... as`, `x += 1`, `def`, `class`, ...).
    Unknown,
}

/// One binding of a name in a function's own scope.
#[derive(Debug, Clone)]
pub struct LocalBinding<'a> {
    /// Where the name holds the new value: the end of the binding statement.
    pub at: TextSize,
    /// The block (list of statements) the binding statement stands in: a later binding in a
    /// block that contains a use replaces every earlier one for that use.
    pub block: TextRange,
    pub value: BindingValue<'a>,
}

/// An `if` statement (or one test of it), for the code its test guards.
#[derive(Debug, Clone)]
pub struct IfTest<'a> {
    pub test: &'a Expr,
    /// The statements run when the test holds.
    pub body: TextRange,
    /// The `elif`/`else` clauses, run when it does not.
    pub orelse: Option<TextRange>,
    /// The whole statement.
    pub statement: TextRange,
    /// The block the statement stands in.
    pub block: TextRange,
    /// The body always leaves the block (`return`, `raise`, `continue`, `break`).
    pub exits: bool,
    /// The test asks whether something is FSDP.
    pub about_fsdp: bool,
}

/// A function of the file (or the module's top level) as the analysis sees it.
#[derive(Debug)]
pub struct FunctionFacts<'a> {
    pub def: Option<&'a ast::StmtFunctionDef>,
    /// The class whose body defines the function directly: it is a method.
    pub class: Option<ClassIndex>,
    /// The function whose body defines this one (the top level for module-level functions).
    pub parent: Option<FunctionId>,
    pub range: TextRange,
    /// The method's first parameter, when it is a method that takes one.
    pub self_name: Option<&'a Name>,
    /// Bindings of each name, in source order.
    pub bindings: FxHashMap<Name, Vec<LocalBinding<'a>>>,
    /// Names declared `global` or `nonlocal`: not the function's own.
    pub declared_outside: FxHashSet<Name>,
    /// Lambdas and comprehensions, with the names they bind for their own code.
    pub inner_scopes: Vec<(TextRange, Vec<Name>)>,
    pub returns: Vec<&'a Expr>,
    /// Every call of the function's own code (not of nested functions or lambdas), in source
    /// order.
    pub calls: Vec<&'a ast::ExprCall>,
    /// Where each `.backward(...)` call's attribute is, in source order.
    pub backwards: Vec<TextSize>,
    /// `with torch.no_grad():` (and the like) statements.
    pub without_grad: Vec<TextRange>,
    /// The function runs without gradients (a decorator says so).
    pub decorated_without_grad: bool,
    /// Every test of an `if` statement, by where the statement starts.
    pub ifs: Vec<IfTest<'a>>,
    /// Some test of `ifs` asks whether something is FSDP.
    pub tests_fsdp: bool,
    /// Bodies of `with` statements that gather FSDP's parameters (`summon_full_params`).
    pub summoned: Vec<TextRange>,
    /// `with pytest.raises(...)` / `with self.assertRaises(...)` statements: their code is
    /// expected to fail.
    pub expecting_errors: Vec<TextRange>,
    /// Functions defined directly in this one, by name.
    pub defs: FxHashMap<Name, FunctionId>,
}

/// A class of the file.
#[derive(Debug)]
pub struct ClassFacts<'a> {
    pub def: &'a ast::StmtClassDef,
    /// Its methods, by name (the last definition wins).
    pub methods: FxHashMap<Name, FunctionId>,
    /// `self.x = value` (and unpacking into `self.x`) in any of its methods.
    pub attributes: FxHashMap<Name, Vec<(FunctionId, LocalBinding<'a>)>>,
    /// `fully_shard(self.x)` in any of its methods: `self.x` is sharded in place.
    pub sharded_in_place: FxHashMap<Name, Vec<(FunctionId, &'a ast::ExprCall)>>,
}

/// The file, indexed.
#[derive(Debug)]
pub struct FileIndex<'a> {
    pub functions: Vec<FunctionFacts<'a>>,
    pub classes: Vec<ClassFacts<'a>>,
    /// Functions by where their `def` starts.
    pub by_start: FxHashMap<TextSize, FunctionId>,
    /// Classes by name (the last definition wins), for bases in the same file.
    pub classes_by_name: FxHashMap<Name, ClassIndex>,
    /// The calls of each function of the file that name it directly (`f(...)` where `f` is
    /// the `def` in scope, `self.f(...)` in a method of its class): where, and which call.
    pub callers: FxHashMap<FunctionId, Vec<(FunctionId, &'a ast::ExprCall)>>,
    /// The function of the file each call runs, by where the call starts (see `callers`).
    pub resolved_calls: FxHashMap<TextSize, FunctionId>,
    /// Calls that are whole expression statements: what they return is dropped.
    pub statement_calls: FxHashSet<TextRange>,
    /// Method names registered with `register_fsdp_forward_method(module, "name")`.
    pub fsdp_forward_methods: FxHashSet<String>,
    /// The file calls something named like FSDP (`FSDP(...)`, `FullyShardedDataParallel(...)`,
    /// `fully_shard(...)`) or tests for it: without that, no value of the file is FSDP.
    pub mentions_fsdp: bool,
}

impl<'a> FileIndex<'a> {
    pub fn build(suite: &'a [Stmt], source: &'a str) -> Self {
        let mut builder = Builder {
            source,
            index: FileIndex {
                functions: vec![FunctionFacts::new(
                    None,
                    None,
                    None,
                    TextRange::up_to(
                        TextSize::try_from(source.len()).unwrap_or(TextSize::new(u32::MAX)),
                    ),
                )],
                classes: Vec::new(),
                by_start: FxHashMap::default(),
                classes_by_name: FxHashMap::default(),
                callers: FxHashMap::default(),
                resolved_calls: FxHashMap::default(),
                statement_calls: FxHashSet::default(),
                fsdp_forward_methods: FxHashSet::default(),
                mentions_fsdp: false,
            },
            scope: Scope::Function(TOP_LEVEL),
            block: suite_range(suite).unwrap_or_default(),
            depth: 0,
        };
        builder.suite(suite);
        let mut index = builder.index;
        index.finish();
        index
    }

    pub fn function(&self, id: FunctionId) -> &FunctionFacts<'a> {
        &self.functions[id as usize]
    }

    pub fn class(&self, id: ClassIndex) -> &ClassFacts<'a> {
        &self.classes[id as usize]
    }

    /// The function defined by `def` (a `def` of this file).
    pub fn function_of(&self, def: &ast::StmtFunctionDef) -> Option<FunctionId> {
        self.by_start.get(&def.start()).copied()
    }

    /// The function a call `name(...)` made in `from` runs: a `def` of that scope or of an
    /// enclosing one, unless a nearer scope binds the name otherwise.
    pub fn resolve_function(&self, from: FunctionId, name: &Name) -> Option<FunctionId> {
        let mut scope = Some(from);
        while let Some(id) = scope {
            let facts = self.function(id);
            if let Some(found) = facts.defs.get(name) {
                return Some(*found);
            }
            if facts.bindings.contains_key(name) {
                return None;
            }
            scope = facts.parent;
        }
        None
    }

    /// The method `name` of class `class` or of a base class defined in this file.
    pub fn resolve_method(&self, class: ClassIndex, name: &str) -> Option<FunctionId> {
        self.class_and_bases(class)
            .into_iter()
            .find_map(|class| self.class(class).methods.get(name).copied())
    }

    /// `class` and its bases defined in this file, nearest first.
    pub fn class_and_bases(&self, class: ClassIndex) -> Vec<ClassIndex> {
        /// Hierarchies within one file are a few classes deep.
        const MAX_CLASSES: usize = 16;
        let mut found = vec![class];
        let mut next = 0;
        while next < found.len() && found.len() < MAX_CLASSES {
            let def = self.class(found[next]).def;
            for base in def.bases() {
                if let Expr::Name(base) = base
                    && let Some(&base) = self.classes_by_name.get(&base.id)
                    && !found.contains(&base)
                {
                    found.push(base);
                }
            }
            next += 1;
        }
        found
    }

    /// The function whose code holds `offset` (the innermost), for a position the checker is
    /// not walking.
    pub fn enclosing_function(&self, offset: TextSize) -> FunctionId {
        self.functions
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, facts)| facts.range.contains(offset))
            .max_by_key(|(_, facts)| facts.range.start())
            .map_or(TOP_LEVEL, |(id, _)| id as FunctionId)
    }

    /// Sorts what was collected out of order and links calls to the functions they run.
    fn finish(&mut self) {
        for function in &mut self.functions {
            for bindings in function.bindings.values_mut() {
                bindings.sort_by_key(|binding| binding.at);
            }
            for name in &function.declared_outside {
                function.bindings.remove(name);
            }
            function.backwards.sort_unstable();
            function.calls.sort_by_key(|call| call.start());
            function.ifs.sort_by_key(|test| test.statement.start());
        }
        for (id, class) in self.classes.iter().enumerate() {
            self.classes_by_name
                .insert(class.def.name.id.clone(), id as ClassIndex);
        }
        let mut callers: FxHashMap<FunctionId, Vec<(FunctionId, &'a ast::ExprCall)>> =
            FxHashMap::default();
        let mut resolved_calls = FxHashMap::default();
        for (id, function) in self.functions.iter().enumerate() {
            let id = id as FunctionId;
            for call in &function.calls {
                let callee = match call.func.as_ref() {
                    Expr::Name(name) => self.resolve_function(id, &name.id),
                    Expr::Attribute(attribute) => match (attribute.value.as_ref(), function) {
                        (
                            Expr::Name(receiver),
                            FunctionFacts {
                                class: Some(class),
                                self_name: Some(self_name),
                                ..
                            },
                        ) if &receiver.id == *self_name => {
                            self.resolve_method(*class, attribute.attr.id.as_str())
                        }
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(callee) = callee {
                    callers.entry(callee).or_default().push((id, *call));
                    resolved_calls.insert(call.start(), callee);
                }
            }
        }
        self.callers = callers;
        self.resolved_calls = resolved_calls;
    }
}

impl<'a> FunctionFacts<'a> {
    fn new(
        def: Option<&'a ast::StmtFunctionDef>,
        class: Option<ClassIndex>,
        parent: Option<FunctionId>,
        range: TextRange,
    ) -> Self {
        Self {
            def,
            class,
            parent,
            range,
            self_name: None,
            bindings: FxHashMap::default(),
            declared_outside: FxHashSet::default(),
            inner_scopes: Vec::new(),
            returns: Vec::new(),
            calls: Vec::new(),
            backwards: Vec::new(),
            without_grad: Vec::new(),
            decorated_without_grad: false,
            ifs: Vec::new(),
            tests_fsdp: false,
            summoned: Vec::new(),
            expecting_errors: Vec::new(),
            defs: FxHashMap::default(),
        }
    }

    /// Whether code at `offset` runs without gradients.
    pub fn without_grad_at(&self, offset: TextSize) -> bool {
        self.decorated_without_grad || self.without_grad.iter().any(|range| range.contains(offset))
    }

    /// Whether code at `a` and at `b` never run in the same call: they are in different branches
    /// of one `if`, or one is in a branch that leaves the block before the other.
    pub fn exclusive(&self, a: TextSize, b: TextSize) -> bool {
        self.ifs.iter().any(|test| {
            let apart = |x: TextSize, y: TextSize| {
                test.body.contains(x)
                    && (test.orelse.is_some_and(|orelse| orelse.contains(y))
                        || (test.exits && test.statement.end() <= y && test.block.contains(y)))
            };
            apart(a, b) || apart(b, a)
        })
    }

    /// Whether `offset` is in code of a lambda or comprehension that binds `name` itself.
    pub fn bound_by_inner_scope(&self, name: &Name, offset: TextSize) -> bool {
        self.inner_scopes
            .iter()
            .any(|(range, names)| range.contains(offset) && names.contains(name))
    }
}

/// Where the walk is.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Function(FunctionId),
    /// Directly in a class body (defined in the given function): names bound here are the
    /// class's, not followed.
    Class(ClassIndex, FunctionId),
}

struct Builder<'a> {
    source: &'a str,
    index: FileIndex<'a>,
    scope: Scope,
    /// The block of the statement being walked.
    block: TextRange,
    depth: usize,
}

/// Deeper than this the walk stops: what it would find there is in generated code.
const MAX_DEPTH: usize = 256;
/// What the walks of a file's code (this one, and the proof that a submodule is not trained)
/// leave free on the stack before they grow it, and by how much.
pub(super) const STACK_RED_ZONE: usize = 64 * 1024;
pub(super) const STACK_SEGMENT: usize = 1024 * 1024;

fn suite_range(suite: &[Stmt]) -> Option<TextRange> {
    Some(TextRange::new(suite.first()?.start(), suite.last()?.end()))
}

impl<'a> Builder<'a> {
    fn function_mut(&mut self) -> Option<(FunctionId, &mut FunctionFacts<'a>)> {
        match self.scope {
            Scope::Function(id) => Some((id, &mut self.index.functions[id as usize])),
            Scope::Class(..) => None,
        }
    }

    fn bind(&mut self, name: &Name, at: TextSize, value: BindingValue<'a>) {
        let block = self.block;
        if let Some((_, function)) = self.function_mut() {
            function
                .bindings
                .entry(name.clone())
                .or_default()
                .push(LocalBinding { at, block, value });
        }
    }

    /// Binds an assignment target to `value` (unpacked along `path`).
    fn target(&mut self, target: &'a Expr, at: TextSize, value: &BindingValue<'a>) {
        match target {
            Expr::Name(name) => self.bind(&name.id, at, value.clone()),
            Expr::Attribute(attribute) => self.attribute_target(attribute, at, value),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let mut known = true;
                for (index, element) in elts.iter().enumerate() {
                    if element.is_starred_expr() {
                        known = false;
                    }
                    let inner = match value {
                        BindingValue::Assigned { value, path } if known => {
                            let mut path = path.clone();
                            path.push(index);
                            BindingValue::Assigned { value, path }
                        }
                        BindingValue::Element { iterable, path } if known => {
                            let mut path = path.clone();
                            path.push(index);
                            BindingValue::Element { iterable, path }
                        }
                        _ => BindingValue::Unknown,
                    };
                    self.target(element, at, &inner);
                }
            }
            Expr::Starred(starred) => self.target(&starred.value, at, &BindingValue::Unknown),
            _ => {}
        }
    }

    /// `self.x = value` in a method: an attribute of the method's class.
    fn attribute_target(
        &mut self,
        attribute: &'a ast::ExprAttribute,
        at: TextSize,
        value: &BindingValue<'a>,
    ) {
        let block = self.block;
        let Some((id, function)) = self.function_mut() else {
            return;
        };
        let (Some(class), Some(self_name)) = (function.class, function.self_name) else {
            return;
        };
        if !matches!(attribute.value.as_ref(), Expr::Name(name) if &name.id == self_name) {
            return;
        }
        self.index.classes[class as usize]
            .attributes
            .entry(attribute.attr.id.clone())
            .or_default()
            .push((
                id,
                LocalBinding {
                    at,
                    block,
                    value: value.clone(),
                },
            ));
    }

    /// `target = call(name, ...)` where `call` may wrap `name`: from here `name` holds what the
    /// wrapper wraps (or, for `fully_shard`, the sharded module itself).
    fn passed_to_wrapper(&mut self, call: &'a ast::ExprCall, targets: &[&'a Expr], at: TextSize) {
        if !self.may_wrap(call) {
            return;
        }
        let bound: Vec<&Name> = targets.iter().flat_map(|t| target_names(t)).collect();
        let positional = call
            .arguments
            .args
            .iter()
            .take_while(|argument| !argument.is_starred_expr())
            .enumerate()
            .map(|(position, argument)| (Some(position), argument));
        let keywords = call
            .arguments
            .keywords
            .iter()
            .filter(|keyword| names_wrapped_module(keyword))
            .map(|keyword| (None, &keyword.value));
        for (argument, value) in positional.chain(keywords) {
            match value {
                Expr::Name(name) if !bound.contains(&&name.id) => {
                    let target = targets.first().copied();
                    self.bind(
                        &name.id,
                        at,
                        BindingValue::Passed {
                            call,
                            argument,
                            target,
                        },
                    );
                }
                Expr::Attribute(attribute) if is_fully_shard_name(call) => {
                    // `fully_shard(self.x)`: the class's attribute is sharded in place.
                    if let Some((id, function)) = self.function_mut()
                        && let (Some(class), Some(self_name)) = (function.class, function.self_name)
                        && matches!(attribute.value.as_ref(), Expr::Name(name) if &name.id == self_name)
                    {
                        self.index.classes[class as usize]
                            .sharded_in_place
                            .entry(attribute.attr.id.clone())
                            .or_default()
                            .push((id, call));
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether `call` may be a wrapper's constructor, by how it is written (resolved later).
    fn may_wrap(&self, call: &ast::ExprCall) -> bool {
        match call.func.as_ref() {
            Expr::Name(name) => names::may_name_wrapper(name.id.as_str()),
            Expr::Attribute(attribute) => {
                let receiver = &self.source[attribute.value.range()];
                match attribute.attr.id.as_str() {
                    "prepare" | "prepare_model" => names::names_an_accelerator(receiver),
                    "setup" | "setup_module" => names::names_a_fabric(receiver),
                    other => names::may_name_wrapper(other),
                }
            }
            _ => false,
        }
    }

    fn suite(&mut self, suite: &'a [Stmt]) {
        let Some(range) = suite_range(suite) else {
            return;
        };
        let outer = std::mem::replace(&mut self.block, range);
        for stmt in suite {
            self.stmt(stmt);
        }
        self.block = outer;
    }

    fn stmt(&mut self, stmt: &'a Stmt) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.stmt_inner(stmt));
        self.depth -= 1;
    }

    fn stmt_inner(&mut self, stmt: &'a Stmt) {
        let end = stmt.end();
        match stmt {
            Stmt::FunctionDef(def) => self.function_def(def),
            Stmt::ClassDef(class) => self.class_def(class),
            Stmt::Assign(assign) => {
                self.expr(&assign.value);
                let value = BindingValue::Assigned {
                    value: &assign.value,
                    path: Vec::new(),
                };
                for target in &assign.targets {
                    self.target_expressions(target);
                    self.target(target, end, &value);
                }
                if let Expr::Call(call) = assign.value.as_ref() {
                    let targets: Vec<&Expr> = assign.targets.iter().collect();
                    self.passed_to_wrapper(call, &targets, end);
                }
            }
            Stmt::AnnAssign(assign) => {
                self.target_expressions(&assign.target);
                if let Some(value) = &assign.value {
                    self.expr(value);
                    let binding = BindingValue::Assigned {
                        value,
                        path: Vec::new(),
                    };
                    self.target(&assign.target, end, &binding);
                    if let Expr::Call(call) = value.as_ref() {
                        self.passed_to_wrapper(call, &[&assign.target], end);
                    }
                }
            }
            Stmt::AugAssign(assign) => {
                self.expr(&assign.value);
                self.target_expressions(&assign.target);
                self.target(&assign.target, end, &BindingValue::Unknown);
            }
            Stmt::Expr(statement) => {
                if let Expr::Call(call) = statement.value.as_ref() {
                    self.index.statement_calls.insert(call.range());
                    if is_fully_shard_name(call) {
                        self.passed_to_wrapper(call, &[], end);
                    }
                }
                self.expr(&statement.value);
            }
            Stmt::Return(ret) => {
                if let Some(value) = &ret.value {
                    if let Some((_, function)) = self.function_mut() {
                        function.returns.push(value);
                    }
                    self.expr(value);
                }
            }
            Stmt::For(for_loop) => {
                self.expr(&for_loop.iter);
                self.target_expressions(&for_loop.target);
                let element = BindingValue::Element {
                    iterable: &for_loop.iter,
                    path: Vec::new(),
                };
                // The target is bound for the body, which is where it is read.
                let at = for_loop.target.end();
                let block = self.block;
                self.block = suite_range(&for_loop.body).unwrap_or(block);
                self.target(&for_loop.target, at, &element);
                self.block = block;
                self.suite(&for_loop.body);
                self.suite(&for_loop.orelse);
            }
            Stmt::While(while_loop) => {
                self.expr(&while_loop.test);
                self.suite(&while_loop.body);
                self.suite(&while_loop.orelse);
            }
            Stmt::If(if_stmt) => self.if_stmt(if_stmt),
            Stmt::With(with) => {
                for item in &with.items {
                    self.expr(&item.context_expr);
                    if let Some(target) = &item.optional_vars {
                        self.target_expressions(target);
                        self.target(target, with.end(), &BindingValue::Unknown);
                    }
                }
                let summons = with
                    .items
                    .iter()
                    .any(|item| self.gathers_parameters(&item.context_expr));
                let without_grad = with
                    .items
                    .iter()
                    .any(|item| is_without_grad(&item.context_expr));
                let expects_error = with
                    .items
                    .iter()
                    .any(|item| expects_error(&item.context_expr));
                if let Some((_, function)) = self.function_mut() {
                    if expects_error {
                        function.expecting_errors.push(with.range());
                    }
                    if without_grad {
                        function.without_grad.push(with.range());
                    }
                    if summons {
                        function.summoned.push(with.range());
                    }
                }
                self.suite(&with.body);
            }
            Stmt::Try(try_stmt) => {
                self.suite(&try_stmt.body);
                for handler in &try_stmt.handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(type_) = &handler.type_ {
                        self.expr(type_);
                    }
                    if let Some(name) = &handler.name {
                        self.bind(&name.id, handler.start(), BindingValue::Unknown);
                    }
                    self.suite(&handler.body);
                }
                self.suite(&try_stmt.orelse);
                self.suite(&try_stmt.finalbody);
            }
            Stmt::Match(match_stmt) => {
                self.expr(&match_stmt.subject);
                for case in &match_stmt.cases {
                    let mut captured = Vec::new();
                    pattern_names(&case.pattern, &mut captured);
                    for name in captured {
                        self.bind(name, case.pattern.end(), BindingValue::Unknown);
                    }
                    if let Some(guard) = &case.guard {
                        self.expr(guard);
                    }
                    self.suite(&case.body);
                }
            }
            Stmt::Delete(delete) => {
                for target in &delete.targets {
                    self.target(target, end, &BindingValue::Unknown);
                }
            }
            Stmt::Import(import) => {
                for alias in &import.names {
                    let bound = match &alias.asname {
                        Some(asname) => asname.id.clone(),
                        None => Name::new(alias.name.id.split('.').next().unwrap_or_default()),
                    };
                    self.bind(&bound, end, BindingValue::Imported);
                }
            }
            Stmt::ImportFrom(import) => {
                for alias in &import.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.bind(&bound.id, end, BindingValue::Imported);
                }
            }
            Stmt::Global(ast::StmtGlobal { names, .. })
            | Stmt::Nonlocal(ast::StmtNonlocal { names, .. }) => {
                if let Some((_, function)) = self.function_mut() {
                    for name in names {
                        function.declared_outside.insert(name.id.clone());
                    }
                }
            }
            Stmt::TypeAlias(alias) => self.target(&alias.name, end, &BindingValue::Unknown),
            Stmt::Raise(raise) => {
                if let Some(exc) = &raise.exc {
                    self.expr(exc);
                }
            }
            Stmt::Assert(assert) => {
                self.expr(&assert.test);
                if let Some(msg) = &assert.msg {
                    self.expr(msg);
                }
            }
            Stmt::Pass(_) | Stmt::Break(_) | Stmt::Continue(_) | Stmt::IpyEscapeCommand(_) => {}
        }
    }

    /// Subscripts and attributes in assignment targets evaluate expressions (`x[f(y)] = ...`).
    fn target_expressions(&mut self, target: &'a Expr) {
        match target {
            Expr::Attribute(attribute) => self.expr(&attribute.value),
            Expr::Subscript(subscript) => {
                self.expr(&subscript.value);
                self.expr(&subscript.slice);
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                for element in elts {
                    self.target_expressions(element);
                }
            }
            Expr::Starred(starred) => self.target_expressions(&starred.value),
            _ => {}
        }
    }

    /// Whether a `with` item gathers FSDP's parameters: `FSDP.summon_full_params(...)`,
    /// `model.summon_full_params(...)`, or a name bound (earlier in the function) to a value
    /// that holds such a call (`ctx = FSDP.summon_full_params(m) if fsdp else nullcontext()`).
    fn gathers_parameters(&self, context: &'a Expr) -> bool {
        if mentions_summon(context) {
            return true;
        }
        let Expr::Name(name) = context else {
            return false;
        };
        let Scope::Function(id) = self.scope else {
            return false;
        };
        self.index.functions[id as usize]
            .bindings
            .get(&name.id)
            .is_some_and(|bindings| {
                bindings.iter().any(|binding| {
                    matches!(binding.value, BindingValue::Assigned { value, .. } if mentions_summon(value))
                })
            })
    }

    fn if_stmt(&mut self, if_stmt: &'a ast::StmtIf) {
        self.expr(&if_stmt.test);
        let mut test = Some((if_stmt.test.as_ref(), if_stmt.body.as_slice()));
        let mut clauses = if_stmt.elif_else_clauses.iter();
        while let Some((condition, body)) = test {
            let next = clauses.next();
            if let Some(body_range) = suite_range(body) {
                let orelse = next.map(|clause| TextRange::new(clause.start(), if_stmt.end()));
                let exits = matches!(
                    body.last(),
                    Some(Stmt::Return(_) | Stmt::Raise(_) | Stmt::Continue(_) | Stmt::Break(_))
                );
                let about_fsdp = tests_fsdp(condition, self.source);
                self.index.mentions_fsdp |= about_fsdp;
                let block = self.block;
                if let Some((_, function)) = self.function_mut() {
                    function.tests_fsdp |= about_fsdp;
                    function.ifs.push(IfTest {
                        test: condition,
                        body: body_range,
                        orelse,
                        statement: if_stmt.range(),
                        block,
                        exits,
                        about_fsdp,
                    });
                }
            }
            self.suite(body);
            test = None;
            if let Some(clause) = next {
                match &clause.test {
                    Some(condition) => {
                        self.expr(condition);
                        test = Some((condition, clause.body.as_slice()));
                    }
                    None => self.suite(&clause.body),
                }
            }
        }
    }

    fn function_def(&mut self, def: &'a ast::StmtFunctionDef) {
        for decorator in &def.decorator_list {
            self.expr(&decorator.expression);
        }
        for parameter in def.parameters.iter_non_variadic_params() {
            if let Some(default) = &parameter.default {
                self.expr(default);
            }
        }
        let (class, parent) = match self.scope {
            // A method: its parent for name lookups is the scope around the class.
            Scope::Class(class, around) => (Some(class), Some(around)),
            Scope::Function(id) => (None, Some(id)),
        };
        let id = self.index.functions.len() as FunctionId;
        let mut facts = FunctionFacts::new(Some(def), class, parent, def.range());
        facts.decorated_without_grad = def
            .decorator_list
            .iter()
            .any(|decorator| is_without_grad(&decorator.expression));
        let is_static = def.decorator_list.iter().any(|decorator| {
            matches!(&decorator.expression, Expr::Name(name) if name.id.as_str() == "staticmethod")
        });
        let positional: Vec<&ast::ParameterWithDefault> = def
            .parameters
            .posonlyargs
            .iter()
            .chain(&def.parameters.args)
            .collect();
        if class.is_some() && !is_static {
            facts.self_name = positional
                .first()
                .map(|parameter| &parameter.parameter.name.id);
        }
        let body = suite_range(&def.body).unwrap_or(def.range());
        let at = def.parameters.end();
        for (position, parameter) in positional.iter().enumerate() {
            facts
                .bindings
                .entry(parameter.parameter.name.id.clone())
                .or_default()
                .push(LocalBinding {
                    at,
                    block: body,
                    value: BindingValue::Parameter {
                        position: Some(position),
                    },
                });
        }
        for parameter in &def.parameters.kwonlyargs {
            facts
                .bindings
                .entry(parameter.parameter.name.id.clone())
                .or_default()
                .push(LocalBinding {
                    at,
                    block: body,
                    value: BindingValue::Parameter { position: None },
                });
        }
        for parameter in [&def.parameters.vararg, &def.parameters.kwarg]
            .into_iter()
            .flatten()
        {
            facts
                .bindings
                .entry(parameter.name.id.clone())
                .or_default()
                .push(LocalBinding {
                    at,
                    block: body,
                    value: BindingValue::Unknown,
                });
        }
        self.index.functions.push(facts);
        self.index.by_start.insert(def.start(), id);
        match self.scope {
            Scope::Class(class, _) => {
                self.index.classes[class as usize]
                    .methods
                    .insert(def.name.id.clone(), id);
            }
            Scope::Function(outer) => {
                let end = def.end();
                self.bind(&def.name.id, end, BindingValue::Unknown);
                self.index.functions[outer as usize]
                    .defs
                    .insert(def.name.id.clone(), id);
            }
        }
        let outer = std::mem::replace(&mut self.scope, Scope::Function(id));
        self.suite(&def.body);
        self.scope = outer;
    }

    fn class_def(&mut self, class: &'a ast::StmtClassDef) {
        for decorator in &class.decorator_list {
            self.expr(&decorator.expression);
        }
        if let Some(arguments) = &class.arguments {
            for argument in &arguments.args {
                self.expr(argument);
            }
        }
        self.bind(&class.name.id, class.end(), BindingValue::Unknown);
        let id = self.index.classes.len() as ClassIndex;
        self.index.classes.push(ClassFacts {
            def: class,
            methods: FxHashMap::default(),
            attributes: FxHashMap::default(),
            sharded_in_place: FxHashMap::default(),
        });
        let around = match self.scope {
            Scope::Function(function) | Scope::Class(_, function) => function,
        };
        let outer = std::mem::replace(&mut self.scope, Scope::Class(id, around));
        self.suite(&class.body);
        self.scope = outer;
    }

    fn expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.expr_inner(expr));
        self.depth -= 1;
    }

    fn expr_inner(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                if let Some((_, function)) = self.function_mut() {
                    function.calls.push(call);
                    if let Expr::Attribute(attribute) = call.func.as_ref()
                        && attribute.attr.id.as_str() == "backward"
                    {
                        // `model(x).sum().backward()`: the `.backward` comes after `model(x)`.
                        function.backwards.push(attribute.attr.start());
                    }
                }
                self.registered_forward_method(call);
                let callee = match call.func.as_ref() {
                    Expr::Name(name) => Some(name.id.as_str()),
                    Expr::Attribute(attribute) => Some(attribute.attr.id.as_str()),
                    _ => None,
                };
                self.index.mentions_fsdp |= callee.is_some_and(|callee| {
                    callee.contains("FSDP")
                        || callee.contains("FullyShardedDataParallel")
                        || callee == "fully_shard"
                });
                self.expr(&call.func);
                for argument in &call.arguments.args {
                    self.expr(argument);
                }
                for keyword in &call.arguments.keywords {
                    self.expr(&keyword.value);
                }
            }
            Expr::Named(named) => {
                self.expr(&named.value);
                let value = BindingValue::Assigned {
                    value: &named.value,
                    path: Vec::new(),
                };
                self.target(&named.target, named.end(), &value);
            }
            Expr::Lambda(lambda) => {
                let names = lambda
                    .parameters
                    .as_ref()
                    .map(|parameters| {
                        parameters
                            .iter()
                            .map(|parameter| parameter.name().id.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some((_, function)) = self.function_mut() {
                    function.inner_scopes.push((lambda.range(), names));
                }
                // Its body runs later, when it is called: not part of this code's calls.
            }
            Expr::ListComp(ast::ExprListComp {
                elt, generators, ..
            })
            | Expr::SetComp(ast::ExprSetComp {
                elt, generators, ..
            })
            | Expr::Generator(ast::ExprGenerator {
                elt, generators, ..
            }) => self.comprehension(expr.range(), &[&**elt], generators),
            Expr::DictComp(ast::ExprDictComp {
                key,
                value,
                generators,
                ..
            }) => {
                let elements: Vec<&Expr> = key.as_deref().into_iter().chain([&**value]).collect();
                self.comprehension(expr.range(), &elements, generators);
            }
            _ => ruff_python_ast::visitor::walk_expr(&mut ExprWalker(self), expr),
        }
    }

    fn comprehension(
        &mut self,
        range: TextRange,
        elements: &[&'a Expr],
        generators: &'a [ast::Comprehension],
    ) {
        let mut names = Vec::new();
        for generator in generators {
            names.extend(target_names(&generator.target).into_iter().cloned());
        }
        if let Some((_, function)) = self.function_mut() {
            function.inner_scopes.push((range, names));
        }
        for generator in generators {
            self.expr(&generator.iter);
            for condition in &generator.ifs {
                self.expr(condition);
            }
        }
        for element in elements {
            self.expr(element);
        }
    }

    /// `register_fsdp_forward_method(module, "name")`.
    fn registered_forward_method(&mut self, call: &ast::ExprCall) {
        let callee = match call.func.as_ref() {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.id.as_str(),
            _ => return,
        };
        if callee != "register_fsdp_forward_method" {
            return;
        }
        let method = call.arguments.args.get(1).or_else(|| {
            call.arguments
                .find_keyword("method_name")
                .map(|keyword| &keyword.value)
        });
        if let Some(Expr::StringLiteral(literal)) = method {
            self.index
                .fsdp_forward_methods
                .insert(literal.value.to_str().to_string());
        }
    }
}

/// Walks the children of an expression back through [`Builder::expr`].
struct ExprWalker<'b, 'a>(&'b mut Builder<'a>);

impl<'a> ruff_python_ast::visitor::Visitor<'a> for ExprWalker<'_, 'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        self.0.expr(expr);
    }
}

/// The names a target binds, however deeply it unpacks.
pub fn target_names(target: &Expr) -> Vec<&Name> {
    let mut names = Vec::new();
    let mut pending = vec![target];
    while let Some(target) = pending.pop() {
        match target {
            Expr::Name(name) => names.push(&name.id),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                pending.extend(elts.iter());
            }
            Expr::Starred(starred) => pending.push(&starred.value),
            _ => {}
        }
    }
    names
}

fn pattern_names<'a>(pattern: &'a ast::Pattern, names: &mut Vec<&'a Name>) {
    use ruff_python_ast::visitor::{Visitor, walk_pattern};
    struct Captures<'a, 'n>(&'n mut Vec<&'a Name>);
    impl<'a> Visitor<'a> for Captures<'a, '_> {
        fn visit_pattern(&mut self, pattern: &'a ast::Pattern) {
            match pattern {
                ast::Pattern::MatchAs(ast::PatternMatchAs {
                    name: Some(name), ..
                })
                | ast::Pattern::MatchStar(ast::PatternMatchStar {
                    name: Some(name), ..
                })
                | ast::Pattern::MatchMapping(ast::PatternMatchMapping {
                    rest: Some(name), ..
                }) => self.0.push(&name.id),
                _ => {}
            }
            walk_pattern(self, pattern);
        }
    }
    Captures(names).visit_pattern(pattern);
}

/// `fully_shard(...)`, however imported (resolved when the state is evaluated).
fn is_fully_shard_name(call: &ast::ExprCall) -> bool {
    match call.func.as_ref() {
        Expr::Name(name) => name.id.as_str() == "fully_shard",
        Expr::Attribute(attribute) => attribute.attr.id.as_str() == "fully_shard",
        _ => false,
    }
}

/// `pytest.raises(...)`, `self.assertRaises(...)` and their `Regex` forms.
fn expects_error(context: &Expr) -> bool {
    let Expr::Call(call) = context else {
        return false;
    };
    let callee = match call.func.as_ref() {
        Expr::Name(name) => name.id.as_str(),
        Expr::Attribute(attribute) => attribute.attr.id.as_str(),
        _ => return false,
    };
    matches!(
        callee,
        "raises" | "assertRaises" | "assertRaisesRegex" | "assertRaisesRegexp"
    )
}

/// Whether an expression holds a call of `summon_full_params`.
fn mentions_summon(expr: &Expr) -> bool {
    match expr {
        Expr::Call(call) => {
            let callee = match call.func.as_ref() {
                Expr::Name(name) => Some(name.id.as_str()),
                Expr::Attribute(attribute) => Some(attribute.attr.id.as_str()),
                _ => None,
            };
            callee == Some("summon_full_params")
        }
        Expr::If(if_expr) => mentions_summon(&if_expr.body) || mentions_summon(&if_expr.orelse),
        _ => false,
    }
}

/// Whether a test asks if something is FSDP: `is_model_fsdp(m)`, `isinstance(m, FSDP)`,
/// `isinstance(m, FullyShardedDataParallel)`.
fn tests_fsdp(test: &Expr, source: &str) -> bool {
    match test {
        Expr::BoolOp(bool_op) => bool_op.values.iter().any(|value| tests_fsdp(value, source)),
        Expr::Call(call) => {
            let callee = match call.func.as_ref() {
                Expr::Name(name) => name.id.as_str(),
                Expr::Attribute(attribute) => attribute.attr.id.as_str(),
                _ => return false,
            };
            match callee {
                "isinstance" => call
                    .arguments
                    .args
                    .get(1)
                    .is_some_and(|class| names::says_fsdp(&source[class.range()])),
                other => names::says_fsdp(other) && !call.arguments.args.is_empty(),
            }
        }
        _ => false,
    }
}

/// A keyword argument by which wrappers take the module they wrap (`DDP(module=m)`,
/// `fabric.setup(model=m)`).
pub(super) fn names_wrapped_module(keyword: &ast::Keyword) -> bool {
    keyword
        .arg
        .as_ref()
        .is_some_and(|arg| matches!(arg.as_str(), "model" | "module"))
}
