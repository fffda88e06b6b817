//! The checker walks a module once and hands each node to the enabled rules.
//!
//! It keeps the scope stack (which function, which class) and answers the type questions rules
//! ask about receivers, building what inference needs only when a rule first asks.

use std::any::{Any, TypeId};
use std::rc::Rc;
use std::sync::Arc;

use ruff_python_ast::name::Name;
use ruff_python_ast::token::Tokens;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::FxHashMap;

use crate::cancel;
use crate::diagnostic::{Diagnostic, Explanation};
use crate::registry::{ExprCheck, RuleInfo, StmtCheck};
use crate::semantic::bindings::SourceFacts;
use crate::semantic::class_bases;
use crate::semantic::infer::{
    ClassKey, Exactness, Judgement, ProjectFile, ProjectModules, Ty, TypeResolver, Verdict,
};
use crate::semantic::locals::{
    BindingTable, FunctionPlace, comprehension_bindings, function_bindings, lambda_bindings,
};
use crate::semantic::summary::{Binding, ModuleSummary};
use crate::semantic::values::ValueExpr;
use crate::semantic::wrap::eval::WrapAnalysis;
use crate::semantic::wrap::index::FileIndex;
use crate::semantic::{Scope, SemanticModel};
use crate::settings::LinterSettings;

/// Where the checked file sits in its project, for imports and cross-file types.
pub struct FileContext<'a> {
    /// The file's dotted module name, when it is inside a package layout.
    pub module_name: Option<Box<str>>,
    /// The file is a package's `__init__.py`.
    pub is_package: bool,
    pub project: &'a dyn ProjectModules,
}

/// Walking deeper than this switches to stack segments on the heap, so that pathological
/// nesting cannot overflow the thread's stack.
const UNCHECKED_DEPTH: usize = 64;
const STACK_RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 8 * 1024 * 1024;

pub struct Checker<'a> {
    source: &'a str,
    tokens: &'a Tokens,
    suite: &'a [Stmt],
    settings: &'a LinterSettings,
    file: &'a FileContext<'a>,
    semantic: SemanticModel<'a>,
    expr_checks: Vec<ExprCheck>,
    stmt_checks: Vec<StmtCheck>,
    diagnostics: Vec<Diagnostic>,
    explanations: Vec<Explanation>,
    /// Where each explained range is in `explanations`.
    explained: FxHashMap<TextRange, usize>,
    nesting: Nesting,
    inference_depth: usize,
    /// How many self-documenting f-string fields (`f"{expr=}"`) enclose the current node.
    self_documenting_fields: usize,
    types: Option<TypeState<'a>>,
    /// A resolver over the file's module-level bindings alone, for class verdicts asked before
    /// anything needed [`Checker::types`] (see [`crate::semantic::class_bases`]); `Some(None)`
    /// when the file cannot have one.
    module_level: Option<Option<TypeResolver<'a>>>,
    /// The wrap states of values (see [`crate::semantic::wrap`]), built when a rule first asks.
    wraps: Option<WrapAnalysis<'a>>,
    /// See [`Checker::memo`].
    memos: Memos,
    /// Findings past [`MAX_FINDINGS_PER_FILE`] were dropped.
    truncated: bool,
    /// Wrap states may be followed into other files' calls of this file's functions (off in
    /// the analysis of such another file: one file away at most).
    across_files: bool,
}

/// What a memo entry is about (see [`Checker::memo`]): the key says which code it was
/// computed for, so that entries for different code cannot collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoKey {
    /// The whole file.
    File,
    /// The module's top-level statements (not those of a class body or a function).
    ModuleTopLevel,
    /// The function whose statement starts at this offset.
    Function(TextSize),
    /// The class whose statement starts at this offset.
    Class(TextSize),
}

/// What rules computed once per file, by the type of the value and what it is about.
///
/// Rules are plain functions, each with types of its own, so the values are stored type-erased;
/// the type is part of the key, so an entry is only ever read back as the type it was stored as.
#[derive(Default)]
struct Memos(FxHashMap<(TypeId, MemoKey), Rc<dyn Any>>);

impl Memos {
    fn get<T: 'static>(&self, key: MemoKey) -> Option<Rc<T>> {
        let known = self.0.get(&(TypeId::of::<T>(), key))?.clone();
        known.downcast::<T>().ok()
    }

    fn insert<T: 'static>(&mut self, key: MemoKey, value: Rc<T>) {
        self.0.insert((TypeId::of::<T>(), key), value);
    }
}

/// Inference state, created when a rule first asks about a type.
struct TypeState<'a> {
    facts: SourceFacts,
    resolver: TypeResolver<'a>,
    functions: FxHashMap<TextSize, Rc<BindingTable>>,
    /// The binding tables of the file's lambdas, comprehensions and class bodies, by kind and
    /// start, built once: the resolver keeps every table it was given, to remember lookups in
    /// it by address.
    scopes: FxHashMap<(ScopeKind, TextSize), Rc<BindingTable>>,
    /// Types already inferred, by expression: several rules ask about the same receiver.
    inferred: FxHashMap<(TextRange, std::mem::Discriminant<Expr>), Ty>,
    /// Where an inferred type came from, when a function's body or a fixture said it.
    origins: FxHashMap<(TextRange, std::mem::Discriminant<Expr>), Vec<String>>,
    /// Functions of the file known to be, or not to be, installed as a `forward`.
    installed_forwards: FxHashMap<TextSize, bool>,
}

/// The kinds of scopes, other than functions, whose binding tables are built once per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ScopeKind {
    Lambda,
    Comprehension,
    ClassBody,
}

/// What the walk produced.
pub struct CheckResult {
    pub diagnostics: Vec<Diagnostic>,
    /// What the rules concluded where they looked, reported or not.
    pub explanations: Vec<Explanation>,
    /// The deepest nesting of statements and expressions, so that the caller can drop a deep
    /// syntax tree on a large enough stack.
    pub max_depth: usize,
    /// More than [`MAX_FINDINGS_PER_FILE`] findings (or explanations) were found: those past
    /// it were dropped.
    pub truncated: bool,
}

/// The findings kept for one file. Each costs about a kilobyte by the time it is printed; a
/// generated file with millions of calls on one line would otherwise take memory far out of
/// proportion to its text. Past this, the caller says that the rest was dropped.
pub const MAX_FINDINGS_PER_FILE: usize = 100_000;

impl<'a> Checker<'a> {
    pub fn source(&self) -> &'a str {
        self.source
    }

    pub fn tokens(&self) -> &'a Tokens {
        self.tokens
    }

    pub fn settings(&self) -> &'a LinterSettings {
        self.settings
    }

    pub fn semantic(&self) -> &SemanticModel<'a> {
        &self.semantic
    }

    /// The module's top-level statements.
    pub fn suite(&self) -> &'a [Stmt] {
        self.suite
    }

    /// What `compute` finds for the code `key` names (the file, the module's top level or a
    /// function), computed once per file and type of value: rules that look at a whole
    /// function for each call in it keep what they found here, so that a file's check stays
    /// linear.
    pub fn memo<T: 'static>(
        &mut self,
        key: MemoKey,
        compute: impl FnOnce(&mut Self) -> T,
    ) -> Rc<T> {
        if let Some(known) = self.memos.get::<T>(key) {
            return known;
        }
        let value = Rc::new(compute(self));
        self.memos.insert(key, value.clone());
        value
    }

    /// Whether instances of the class defined by `class` (in this file) are `nn.Module`s.
    pub fn class_verdict(&mut self, class: &ast::StmtClassDef) -> Verdict {
        if self.types.is_none()
            && let Some(verdict) = self.module_level_class_verdict(class)
        {
            return verdict;
        }
        let module = self.type_state().resolver.module().clone();
        let Some(id) = module.class_at(class.start()) else {
            return Verdict::Unknown;
        };
        let ty = Ty::Instance(ClassKey::Project(module, id), Vec::new(), Exactness::Exact);
        self.verdict(&ty)
    }

    /// [`Self::class_verdict`] from the file's module-level bindings alone, when the class's
    /// bases read nothing else of the file: in most files NMF003 lets through it is the only
    /// question, and the whole summary would walk every method for nothing. `None` when the
    /// whole summary is needed.
    fn module_level_class_verdict(&mut self, class: &ast::StmtClassDef) -> Option<Verdict> {
        let (file, suite, source, settings) = (self.file, self.suite, self.source, self.settings);
        let resolver = self
            .module_level
            .get_or_insert_with(|| {
                let summary = class_bases::module_level_summary(
                    suite,
                    file.module_name.clone(),
                    file.is_package,
                    source,
                )?;
                Some(
                    TypeResolver::new(
                        file.project,
                        Arc::new(summary),
                        &settings.not_module_packages,
                    )
                    .with_factories(&settings.module_factories, &settings.not_module_factories),
                )
            })
            .as_mut()?;
        let module = resolver.module().clone();
        let id = module.class_at(class.start())?;
        if !class_bases::bases_read_only_module_level(&module, id) {
            return None;
        }
        let ty = Ty::Instance(ClassKey::Project(module, id), Vec::new(), Exactness::Exact);
        Some(resolver.verdict(&ty))
    }

    /// Whether the class defined by `class` (in this file) is one of the classes named
    /// `wanted` (qualified names) or derives from one, however its bases are imported.
    pub fn class_derives_from(&mut self, class: &ast::StmtClassDef, wanted: &[&str]) -> bool {
        let module = self.type_state().resolver.module().clone();
        let Some(id) = module.class_at(class.start()) else {
            return false;
        };
        self.type_state()
            .resolver
            .derives_from(&ClassKey::Project(module, id), wanted)
    }

    /// The texts of the YAML files of the SpeechBrain recipe this file is a script of (see
    /// [`crate::semantic::infer::ProjectModules::recipe_configs`]).
    pub fn recipe_configs(&self) -> Option<Vec<Arc<str>>> {
        self.file.project.recipe_configs()
    }

    /// Whether the current node is inside a self-documenting f-string field, `f"{expr=}"`,
    /// which prints the expression's source text: a fix that changes the text changes what the
    /// program prints.
    pub fn in_self_documenting_field(&self) -> bool {
        self.self_documenting_fields > 0
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        if self.diagnostics.len() >= MAX_FINDINGS_PER_FILE {
            self.truncated = true;
            return;
        }
        self.diagnostics.push(diagnostic);
    }

    /// Records what a rule concluded at `range`, so that users (and tests) can see why a place
    /// was or was not reported. Rules that look at the same place share one record: a later
    /// rule that reports there fills in its code.
    pub fn explain(
        &mut self,
        range: TextRange,
        text: impl FnOnce() -> String,
        reported_as: Option<&'static str>,
    ) {
        if let Some(known) = self
            .explained
            .get(&range)
            .and_then(|&index| self.explanations.get_mut(index))
        {
            known.reported_as = known.reported_as.or(reported_as);
            return;
        }
        if self.explanations.len() >= MAX_FINDINGS_PER_FILE {
            self.truncated = true;
            return;
        }
        self.explained.insert(range, self.explanations.len());
        self.explanations.push(Explanation {
            range,
            text: text(),
            reported_as,
            suppressed: false,
        });
    }

    /// What the value of `expr` is, at the current position, from what the code states.
    pub fn infer_type(&mut self, expr: &Expr) -> Ty {
        let key = (expr.range(), std::mem::discriminant(expr));
        if let Some(known) = self.type_state().inferred.get(&key) {
            return known.clone();
        }
        let ty = self.infer_type_uncached(expr);
        let state = self.type_state();
        let origins = state.resolver.origins();
        if !origins.is_empty() {
            let origins = origins.to_vec();
            state.origins.insert(key, origins);
        }
        state.inferred.insert(key, ty.clone());
        ty
    }

    /// The bindings of `name` in the innermost function (or lambda, comprehension) scope
    /// around the current position that binds it; `None` when no local scope does (it is
    /// the module's).
    pub fn local_bindings(&mut self, name: &Name) -> Option<Vec<Binding>> {
        let scopes = self.local_scopes();
        scopes.iter().find_map(|scope| scope.get(name).cloned())
    }

    /// The type of a value reduced from the code (a binding's), evaluated at the current
    /// position.
    pub fn infer_value(&mut self, value: &ValueExpr) -> Ty {
        let scopes = self.local_scopes();
        let ty = self.type_state().resolver.infer(value, &scopes);
        self.type_state().resolver.forget_origins();
        ty
    }

    /// What the methods of `class` (of this file) assign to `self.<attribute>`, as values
    /// made independent of the methods (see [`Self::instance_value`]).
    pub fn instance_attribute_values(
        &mut self,
        class: &ast::StmtClassDef,
        attribute: &str,
    ) -> Vec<ValueExpr> {
        let module = self.type_state().resolver.module().clone();
        module
            .class_at(class.start())
            .and_then(|id| module.class(id))
            .and_then(|summary| summary.instance_attributes.get(attribute))
            .cloned()
            .unwrap_or_default()
    }

    /// The type of a value of [`Self::instance_attribute_values`] of `class`: `self` there is
    /// an instance of the class (or a subclass).
    pub fn instance_value(&mut self, class: &ast::StmtClassDef, value: &ValueExpr) -> Ty {
        let state = self.type_state();
        let module = state.resolver.module().clone();
        match module.class_at(class.start()) {
            Some(id) => state.resolver.infer_in_class(value, id),
            None => Ty::Unknown,
        }
    }

    /// Where the type [`Self::infer_type`] gave `expr` came from, when the body of a function
    /// without a return annotation or a pytest fixture said it ("returned by `make_net`").
    pub fn type_origins(&mut self, expr: &Expr) -> Vec<String> {
        let key = (expr.range(), std::mem::discriminant(expr));
        self.type_state()
            .origins
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    fn infer_type_uncached(&mut self, expr: &Expr) -> Ty {
        if let Expr::Call(call) = expr {
            // `type(type(...))` and `super(super(...), ...)` nest only in generated code.
            if self.inference_depth > 16 {
                return Ty::Unknown;
            }
            self.inference_depth += 1;
            let builtin = self.infer_builtin_call(call);
            self.inference_depth -= 1;
            if let Some(ty) = builtin {
                self.type_state().resolver.forget_origins();
                return ty;
            }
        }
        let value = ValueExpr::from_expr(expr);
        let scopes = self.local_scopes();
        self.type_state().resolver.infer(&value, &scopes)
    }

    /// `super()` and `type(x)`, whose results depend on their arguments and position: for
    /// whether something is a module, `super()` in a method of `C` is as good as an instance of
    /// `C` (a class is a module exactly when one of its bases is), and `type(x)` is `x`'s class.
    fn infer_builtin_call(&mut self, call: &ast::ExprCall) -> Option<Ty> {
        let Expr::Name(name) = call.func.as_ref() else {
            return None;
        };
        let builtin = name.id.as_str();
        if !matches!(builtin, "super" | "type") || !call.arguments.keywords.is_empty() {
            return None;
        }
        if !matches!(self.infer_type(&call.func), Ty::External(ref qualified) if qualified.strip_prefix("builtins.") == Some(builtin))
        {
            return None;
        }
        let arguments = &call.arguments.args;
        Some(match (builtin, &**arguments) {
            ("super", []) => {
                let class = self
                    .semantic
                    .enclosing_function()
                    .and_then(|function| function.class);
                let module = self.type_state().resolver.module().clone();
                match class.and_then(|class| module.class_at(class.start())) {
                    // Typed as `self`: the class or any subclass.
                    Some(id) => Ty::Instance(
                        ClassKey::Project(module, id),
                        Vec::new(),
                        Exactness::OrSubclass,
                    ),
                    None => Ty::Unknown,
                }
            }
            ("super", [class, _]) => match self.infer_type(class) {
                Ty::Class(key, _) => Ty::Instance(key, Vec::new(), Exactness::OrSubclass),
                _ => Ty::Unknown,
            },
            ("type", [instance]) => match self.infer_type(instance) {
                // `type(x)` is `x`'s class, or a subclass when `x` may be of one.
                Ty::Instance(key, _, exactness) => Ty::Class(key, exactness),
                _ => Ty::Unknown,
            },
            _ => Ty::Unknown,
        })
    }

    /// What `expr` is, evaluated in the body of `functions` (innermost first, each with the
    /// start of the class it is a method of) rather than where the checker is: the wrap-state
    /// analysis resolves callees of code it follows elsewhere in the file. Not remembered in
    /// [`Checker::infer_type`]'s table, whose entries are for the checker's own positions.
    pub(crate) fn infer_type_in(
        &mut self,
        expr: &Expr,
        functions: &[(&'a ast::StmtFunctionDef, Option<&'a ast::StmtClassDef>)],
    ) -> Ty {
        self.infer_value_in(&ValueExpr::from_expr(expr), functions)
    }

    /// [`Checker::infer_type_in`] for an expression already reduced (`m.method` for a method
    /// name the code does not spell there).
    pub(crate) fn infer_value_in(
        &mut self,
        value: &ValueExpr,
        functions: &[(&'a ast::StmtFunctionDef, Option<&'a ast::StmtClassDef>)],
    ) -> Ty {
        let tables: Vec<Rc<BindingTable>> = functions
            .iter()
            .map(|(function, class)| self.function_table(function, *class))
            .collect();
        self.type_state().resolver.infer(value, &tables)
    }

    /// The wrap-state analysis of this file, indexed on first use.
    /// Whether wrap states may be followed into other files' code: not in the analysis of
    /// another file for the checked one.
    pub(crate) fn follows_other_files(&self) -> bool {
        self.across_files
    }

    /// The file's dotted module name, when known.
    pub(crate) fn module_name(&self) -> Option<&str> {
        self.file.module_name.as_deref()
    }

    /// The project, as the checked file sees it.
    pub(crate) fn project(&self) -> &'a dyn ProjectModules {
        self.file.project
    }

    pub(crate) fn wrap_analysis(&mut self) -> &mut WrapAnalysis<'a> {
        let (suite, source) = (self.suite, self.source);
        self.wraps
            .get_or_insert_with(|| WrapAnalysis::new(FileIndex::build(suite, source)))
    }

    /// Whether a value of type `ty` is an `nn.Module`.
    pub fn verdict(&mut self, ty: &Ty) -> Verdict {
        self.type_state().resolver.verdict(ty)
    }

    /// Whether calling `attribute` on a value of type `ty` runs an `nn.Module`'s method, and
    /// why (see [`TypeResolver::judge_method_call`]).
    pub fn judge_method_call(&mut self, ty: &Ty, attribute: &str) -> Judgement {
        self.type_state().resolver.judge_method_call(ty, attribute)
    }

    /// Whether `function` (a `def` of the checked file) is installed somewhere in the project
    /// as an object's or class's `forward`: then it continues the override chain as a method
    /// named `forward` does.
    pub fn is_installed_as_forward(&mut self, function: &ast::StmtFunctionDef) -> bool {
        let start = function.start();
        let state = self.type_state();
        if let Some(known) = state.installed_forwards.get(&start) {
            return *known;
        }
        let installed = state.resolver.is_installed_as_forward(&function.name.id);
        state.installed_forwards.insert(start, installed);
        installed
    }

    fn type_state(&mut self) -> &mut TypeState<'a> {
        if self.types.is_none() {
            // Whatever is asked from now on is answered from the whole summary.
            self.module_level = None;
        }
        let file = self.file;
        let suite = self.suite;
        let source = self.source;
        let settings = self.settings;
        self.types.get_or_insert_with(|| {
            let facts = SourceFacts::of(source);
            let summary =
                ModuleSummary::build(suite, file.module_name.clone(), file.is_package, source);
            TypeState {
                facts,
                resolver: TypeResolver::new(
                    file.project,
                    Arc::new(summary),
                    &settings.not_module_packages,
                )
                .with_factories(&settings.module_factories, &settings.not_module_factories),
                functions: FxHashMap::default(),
                scopes: FxHashMap::default(),
                inferred: FxHashMap::default(),
                origins: FxHashMap::default(),
                installed_forwards: FxHashMap::default(),
            }
        })
    }

    /// The binding tables visible at the current position, innermost first (module globals are
    /// the resolver's).
    fn local_scopes(&mut self) -> Vec<Rc<BindingTable>> {
        let scopes: Vec<Scope<'a>> = self.semantic.scopes().collect();
        let mut tables = Vec::new();
        for (index, scope) in scopes.iter().enumerate() {
            match scope {
                Scope::Function(function) => {
                    let method_of = match scopes.get(index + 1) {
                        Some(Scope::Class(class)) => Some(*class),
                        _ => None,
                    };
                    tables.push(Some(self.function_table(function, method_of)));
                }
                Scope::Lambda(lambda) => {
                    tables.push(self.scope_table(ScopeKind::Lambda, lambda.start(), || {
                        Some(lambda_bindings(lambda))
                    }));
                }
                Scope::Comprehension(generators) => {
                    let start = generators
                        .first()
                        .map_or_else(TextSize::default, Ranged::start);
                    tables.push(self.scope_table(ScopeKind::Comprehension, start, || {
                        Some(comprehension_bindings(generators))
                    }));
                }
                // A class body's names are visible only to code directly in that body.
                Scope::Class(class) if index == 0 => {
                    let module = self.type_state().resolver.module().clone();
                    let body = || {
                        module
                            .class_at(class.start())
                            .and_then(|id| module.class(id))
                            .map(|summary| summary.body.clone())
                    };
                    tables.push(self.scope_table(ScopeKind::ClassBody, class.start(), body));
                }
                Scope::Class(_) => {}
            }
        }
        tables.into_iter().flatten().collect()
    }

    /// The binding table of the scope of `kind` that starts at `start`, built on first use
    /// (`None`: the scope binds nothing nmf sees).
    fn scope_table(
        &mut self,
        kind: ScopeKind,
        start: TextSize,
        build: impl FnOnce() -> Option<BindingTable>,
    ) -> Option<Rc<BindingTable>> {
        let scopes = &mut self.type_state().scopes;
        if let Some(table) = scopes.get(&(kind, start)) {
            return Some(table.clone());
        }
        let table = Rc::new(build()?);
        scopes.insert((kind, start), table.clone());
        Some(table)
    }

    fn function_table(
        &mut self,
        function: &'a ast::StmtFunctionDef,
        method_of: Option<&'a ast::StmtClassDef>,
    ) -> Rc<BindingTable> {
        let module_name = self.file.module_name.as_deref();
        let state = self.type_state();
        if let Some(table) = state.functions.get(&function.start()) {
            return table.clone();
        }
        let module = state.resolver.module();
        let class = method_of.and_then(|class| Some((module.class_at(class.start())?, class)));
        let place = FunctionPlace {
            class,
            module_name,
            facts: state.facts,
        };
        let table = Rc::new(function_bindings(function, place));
        state.functions.insert(function.start(), table.clone());
        table
    }

    fn run_expr_checks(&mut self, expr: &'a Expr) {
        for index in 0..self.expr_checks.len() {
            let check = self.expr_checks[index];
            check(expr, self);
        }
    }

    fn run_stmt_checks(&mut self, stmt: &'a Stmt) {
        for index in 0..self.stmt_checks.len() {
            let check = self.stmt_checks[index];
            check(stmt, self);
        }
    }

    fn nested<F: FnOnce(&mut Self)>(&mut self, walk: F) {
        Nesting::descend(self, |checker| &mut checker.nesting, walk);
    }

    fn visit_function(&mut self, function: &'a ast::StmtFunctionDef) {
        // Decorators, defaults and annotations are evaluated where the `def` stands.
        for decorator in &function.decorator_list {
            self.visit_decorator(decorator);
        }
        if let Some(type_params) = &function.type_params {
            self.visit_type_params(type_params);
        }
        self.visit_parameters(&function.parameters);
        if let Some(returns) = &function.returns {
            self.visit_annotation(returns);
        }
        self.semantic.push(Scope::Function(function));
        self.visit_body(&function.body);
        self.semantic.pop();
    }

    fn visit_class(&mut self, class: &'a ast::StmtClassDef) {
        for decorator in &class.decorator_list {
            self.visit_decorator(decorator);
        }
        if let Some(type_params) = &class.type_params {
            self.visit_type_params(type_params);
        }
        if let Some(arguments) = &class.arguments {
            self.visit_arguments(arguments);
        }
        self.semantic.push(Scope::Class(class));
        self.visit_body(&class.body);
        self.semantic.pop();
    }

    fn visit_comprehension_scope(
        &mut self,
        elements: &[&'a Expr],
        generators: &'a [ast::Comprehension],
    ) {
        // The first iterable is evaluated outside the comprehension.
        if let Some(first) = generators.first() {
            self.visit_expr(&first.iter);
        }
        self.semantic.push(Scope::Comprehension(generators));
        for (index, generator) in generators.iter().enumerate() {
            self.visit_expr(&generator.target);
            if index > 0 {
                self.visit_expr(&generator.iter);
            }
            for condition in &generator.ifs {
                self.visit_expr(condition);
            }
        }
        for element in elements {
            self.visit_expr(element);
        }
        self.semantic.pop();
    }
}

impl<'a> Visitor<'a> for Checker<'a> {
    fn visit_interpolated_string_element(&mut self, element: &'a ast::InterpolatedStringElement) {
        let self_documenting = matches!(
            element,
            ast::InterpolatedStringElement::Interpolation(interpolation)
                if interpolation.debug_text.is_some()
        );
        self.self_documenting_fields += usize::from(self_documenting);
        visitor::walk_interpolated_string_element(self, element);
        self.self_documenting_fields -= usize::from(self_documenting);
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        // Between statements, a check nobody waits for stops (see `cancel`).
        if cancel::cancelled() {
            return;
        }
        self.nested(|checker| {
            checker.run_stmt_checks(stmt);
            match stmt {
                Stmt::FunctionDef(function) => checker.visit_function(function),
                Stmt::ClassDef(class) => checker.visit_class(class),
                _ => visitor::walk_stmt(checker, stmt),
            }
        });
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        self.nested(|checker| {
            checker.run_expr_checks(expr);
            match expr {
                Expr::Lambda(lambda) => {
                    if let Some(parameters) = &lambda.parameters {
                        checker.visit_parameters(parameters);
                    }
                    checker.semantic.push(Scope::Lambda(lambda));
                    checker.visit_expr(&lambda.body);
                    checker.semantic.pop();
                }
                Expr::ListComp(ast::ExprListComp {
                    elt, generators, ..
                })
                | Expr::SetComp(ast::ExprSetComp {
                    elt, generators, ..
                })
                | Expr::Generator(ast::ExprGenerator {
                    elt, generators, ..
                }) => checker.visit_comprehension_scope(&[&**elt], generators),
                Expr::DictComp(ast::ExprDictComp {
                    key,
                    value,
                    generators,
                    ..
                }) => {
                    let elements: Vec<&Expr> =
                        key.as_deref().into_iter().chain([&**value]).collect();
                    checker.visit_comprehension_scope(&elements, generators);
                }
                _ => visitor::walk_expr(checker, expr),
            }
        });
    }
}

impl<'a> Checker<'a> {
    /// A checker at the start of `suite`, running the rules `settings` enables (none for the
    /// checkers that only answer questions about a file).
    fn new(
        source: &'a str,
        tokens: &'a Tokens,
        suite: &'a [Stmt],
        settings: &'a LinterSettings,
        file: &'a FileContext<'a>,
    ) -> Self {
        let rules: Vec<&'static RuleInfo> = settings.rules.iter().collect();
        Checker {
            source,
            tokens,
            suite,
            settings,
            file,
            semantic: SemanticModel::default(),
            expr_checks: rules.iter().filter_map(|rule| rule.on_expr).collect(),
            stmt_checks: rules.iter().filter_map(|rule| rule.on_stmt).collect(),
            diagnostics: Vec::new(),
            explanations: Vec::new(),
            explained: FxHashMap::default(),
            nesting: Nesting::default(),
            inference_depth: 0,
            self_documenting_fields: 0,
            types: None,
            module_level: None,
            wraps: None,
            memos: Memos::default(),
            truncated: false,
            across_files: true,
        }
    }
}

/// Runs the enabled rules over a parsed module.
pub fn check_module(
    suite: &[Stmt],
    tokens: &Tokens,
    source: &str,
    settings: &LinterSettings,
    file: &FileContext<'_>,
) -> CheckResult {
    let mut checker = Checker::new(source, tokens, suite, settings, file);
    checker.visit_body(suite);
    CheckResult {
        diagnostics: checker.diagnostics,
        explanations: checker.explanations,
        max_depth: checker.nesting.max_depth,
        truncated: checker.truncated,
    }
}

/// Runs `run` with a checker of another file of the project (every rule off, nothing followed
/// into further files), whose imports resolve through `project`, for questions about that
/// file's code: what it passes to a function of the checked file. `None` when the file does
/// not parse.
pub(crate) fn with_other_file<R>(
    file: &ProjectFile<'_>,
    project: &dyn ProjectModules,
    settings: &LinterSettings,
    run: impl for<'c> FnOnce(&mut Checker<'c>) -> R,
) -> Option<R> {
    let parsed = ruff_python_parser::parse_module(file.text.as_str()).ok()?;
    let context = FileContext {
        module_name: file.module_name.clone(),
        is_package: file.is_package,
        project,
    };
    let mut checker = Checker::new(
        file.text.as_str(),
        parsed.tokens(),
        parsed.suite(),
        settings,
        &context,
    );
    // Only questions are asked of it: no rule runs, nothing is followed into further files.
    checker.expr_checks.clear();
    checker.stmt_checks.clear();
    checker.across_files = false;
    Some(run(&mut checker))
}

/// Runs `run` with a checker of `source` (a one-file project with every rule off), for unit
/// tests of what rules ask the checker.
#[cfg(test)]
pub(crate) fn with_checker<R>(
    source: &str,
    run: impl for<'c> FnOnce(&mut Checker<'c>, &'c [Stmt]) -> R,
) -> R {
    let parsed = ruff_python_parser::parse_module(source).expect("valid module");
    let settings = LinterSettings {
        rules: crate::registry::RuleSet::empty(),
        ..LinterSettings::default()
    };
    let file = FileContext {
        module_name: Some("m".into()),
        is_package: false,
        project: &crate::semantic::infer::NoProject,
    };
    let mut checker = Checker::new(source, parsed.tokens(), parsed.suite(), &settings, &file);
    run(&mut checker, parsed.suite())
}

/// How deep a walk is, and how deep it got.
#[derive(Debug, Default)]
struct Nesting {
    depth: usize,
    max_depth: usize,
}

impl Nesting {
    /// Runs `walk` one level deeper; past a shallow depth, on a stack segment allocated on the
    /// heap, so that pathological nesting cannot overflow the thread's stack.
    fn descend<V>(visitor: &mut V, nesting: fn(&mut V) -> &mut Nesting, walk: impl FnOnce(&mut V)) {
        let level = nesting(visitor);
        level.depth += 1;
        level.max_depth = level.max_depth.max(level.depth);
        if level.depth > UNCHECKED_DEPTH {
            stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || walk(visitor));
        } else {
            walk(visitor);
        }
        nesting(visitor).depth -= 1;
    }
}

impl<'a> Visitor<'a> for Nesting {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        Nesting::descend(
            self,
            |nesting| nesting,
            |nesting| visitor::walk_stmt(nesting, stmt),
        );
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        Nesting::descend(
            self,
            |nesting| nesting,
            |nesting| visitor::walk_expr(nesting, expr),
        );
    }
}

/// The nesting depth of a module, for a syntax tree no rule runs on (it did not parse).
pub fn nesting_depth(suite: &[Stmt]) -> usize {
    let mut nesting = Nesting::default();
    nesting.visit_body(suite);
    nesting.max_depth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_entries_are_kept_apart_by_what_they_are_about_and_by_type() {
        let mut memos = Memos::default();
        memos.insert(MemoKey::File, Rc::new(1_u32));
        memos.insert(MemoKey::ModuleTopLevel, Rc::new(2_u32));
        memos.insert(MemoKey::Function(TextSize::from(0)), Rc::new(3_u32));
        memos.insert(MemoKey::File, Rc::new("file"));
        assert_eq!(memos.get::<u32>(MemoKey::File).as_deref(), Some(&1));
        assert_eq!(
            memos.get::<u32>(MemoKey::ModuleTopLevel).as_deref(),
            Some(&2)
        );
        assert_eq!(
            memos
                .get::<u32>(MemoKey::Function(TextSize::from(0)))
                .as_deref(),
            Some(&3)
        );
        assert_eq!(memos.get::<&str>(MemoKey::File).as_deref(), Some(&"file"));
        assert!(memos.get::<u64>(MemoKey::File).is_none());
        assert!(
            memos
                .get::<u32>(MemoKey::Function(TextSize::from(1)))
                .is_none()
        );
    }
}
