//! A project for the unit tests of the engine: modules summarised from source, by name.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{Judgement, ProjectModules, TypeResolver, Verdict};
use crate::semantic::summary::ModuleSummary;
use crate::semantic::values::ValueExpr;

/// The project of a test: modules by name, summarised from source. Every module "mentions"
/// every word, so subclass searches see the whole project.
pub(super) struct Project(
    pub(super) FxHashMap<String, Arc<ModuleSummary>>,
    /// The source of each module, by name.
    FxHashMap<String, String>,
);

impl Project {
    /// `files` are `(module name, source)`; a name ending in `.__init__` is a package.
    pub(super) fn new(files: &[(&str, &str)]) -> Self {
        let mut summaries = FxHashMap::default();
        let mut sources = FxHashMap::default();
        for (name, source) in files {
            let parsed = ruff_python_parser::parse_module(source).expect("valid");
            let is_package = name.ends_with("__init__");
            let module_name = name.trim_end_matches(".__init__");
            let summary =
                ModuleSummary::build(parsed.suite(), Some(module_name.into()), is_package, source);
            summaries.insert(module_name.to_string(), Arc::new(summary));
            sources.insert(module_name.to_string(), (*source).to_string());
        }
        Self(summaries, sources)
    }

    /// The source of module `name`.
    pub(super) fn source(&self, name: &str) -> &str {
        self.1.get(name).expect("a module of the project")
    }

    /// The type and verdict of `expression`, evaluated at the end of module `module`.
    pub(super) fn infer(&self, module: &str, expression: &str) -> (String, Verdict) {
        let (ty, judgement) = self.judge(module, expression);
        (ty, judgement.verdict)
    }

    /// The type and judgement (verdict and reason) of `expression`, evaluated at the end of
    /// module `module`.
    pub(super) fn judge(&self, module: &str, expression: &str) -> (String, Judgement) {
        let summary = self.0.get(module).expect("a module of the project").clone();
        let mut resolver = TypeResolver::new(self, summary, &[]);
        let parsed = ruff_python_parser::parse_expression(expression).expect("valid");
        let ty = resolver.infer(&ValueExpr::from_expr(parsed.expr()), &[]);
        let judgement = resolver.judge(&ty);
        (ty.to_string(), judgement)
    }
}

impl ProjectModules for Project {
    fn module(&self, name: &str) -> Option<Arc<ModuleSummary>> {
        self.0.get(name).cloned()
    }

    fn mentioning(&self, _words: &[&str]) -> Option<Vec<Arc<ModuleSummary>>> {
        Some(self.0.values().cloned().collect())
    }

    fn forward_installers(&self, _function: &str) -> Option<Vec<Arc<ModuleSummary>>> {
        Some(self.0.values().cloned().collect())
    }

    /// The modules named `conftest` or ending in `.conftest`, the longest name (the closest
    /// folder) first.
    fn conftests(&self) -> Vec<Arc<ModuleSummary>> {
        let mut found: Vec<(&String, &Arc<ModuleSummary>)> = self
            .0
            .iter()
            .filter(|(name, _)| name.as_str() == "conftest" || name.ends_with(".conftest"))
            .collect();
        found.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        found
            .into_iter()
            .map(|(_, module)| module.clone())
            .collect()
    }
}

/// The verdict of `expression` at the end of a one-file project holding `source`.
pub(super) fn verdict(source: &str, expression: &str) -> Verdict {
    Project::new(&[("m", source)]).infer("m", expression).1
}
