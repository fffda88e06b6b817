//! What the wrap-state analysis concludes about values, and where code trains.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

use crate::checker::with_checker;

const PRELUDE: &str = "import torch\n\
    from torch.nn.parallel import DistributedDataParallel as DDP\n\
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP\n\
    from torch.distributed.fsdp import fully_shard\n";

/// The expression written `text` that starts last in `source` (after the prelude).
fn find<'s>(suite: &'s [Stmt], source: &str, text: &str) -> &'s Expr {
    struct Finder<'s, 't> {
        source: &'t str,
        text: &'t str,
        found: Option<&'s Expr>,
    }
    impl<'s> Visitor<'s> for Finder<'s, '_> {
        fn visit_expr(&mut self, expr: &'s Expr) {
            if &self.source[expr.range()] == self.text
                && self.found.is_none_or(|found| found.start() <= expr.start())
            {
                self.found = Some(expr);
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut finder = Finder {
        source,
        text,
        found: None,
    };
    finder.visit_body(suite);
    finder
        .found
        .unwrap_or_else(|| panic!("`{text}` is not in the source"))
}

/// The wrap state of the last expression written `text` in `body`, as shown to users.
fn state(body: &str, text: &str) -> String {
    let source = format!("{PRELUDE}{body}");
    with_checker(&source, |checker, suite| {
        let expr = find(suite, checker.source(), text);
        let function = checker.wrap_index().enclosing_function(expr.start());
        let state = checker.wrap_state(function, expr);
        let shown = state.to_string();
        if state.is_partial() {
            format!("{shown} (or not)")
        } else {
            shown
        }
    })
}

/// Whether the code of the last expression written `text` trains.
fn trains(body: &str, text: &str) -> bool {
    let source = format!("{PRELUDE}{body}");
    with_checker(&source, |checker, suite| {
        let expr = find(suite, checker.source(), text);
        let function = checker.wrap_index().enclosing_function(expr.start());
        checker.trains_at(function, expr.start())
    })
}

#[test]
fn names_follow_the_order_of_the_code() {
    let body = "def f(model, x):\n    \
                    before = model\n    \
                    ddp = DDP(model)\n    \
                    after = model\n    \
                    model = ddp\n    \
                    return model\n";
    assert_eq!(state(body, "before"), "not wrapped");
    assert_eq!(
        state(
            &body.replace("before = model", "before = model(x)"),
            "model"
        ),
        "wrapper (DistributedDataParallel)"
    );
    let body = "def f(model):\n    ddp = DDP(model)\n    return model\n";
    assert_eq!(
        state(body, "model"),
        "inner module (DistributedDataParallel)"
    );
    let body = "def f(model):\n    model = DDP(model)\n    return model\n";
    assert_eq!(state(body, "model"), "wrapper (DistributedDataParallel)");
}

#[test]
fn a_binding_in_one_branch_adds_to_the_others() {
    let body = "def f(model, c):\n    if c:\n        model = DDP(model)\n    return model\n";
    assert_eq!(
        state(body, "model"),
        "wrapper (DistributedDataParallel) (or not)"
    );
    let body = "def f(model, c):\n    if c:\n        ddp = DDP(model)\n    return model\n";
    assert_eq!(
        state(body, "model"),
        "inner module (DistributedDataParallel) (or not)"
    );
}

#[test]
fn the_module_of_a_wrapper_is_its_inner_module() {
    let body = "def f(net):\n    model = DDP(net)\n    raw = model.module\n    return raw\n";
    assert_eq!(state(body, "raw"), "inner module (DistributedDataParallel)");
    assert_eq!(
        state(
            "def f(model):\n    model = DDP(model)\n    return model.module.encoder\n",
            "model.module.encoder"
        ),
        "part of the inner module (DistributedDataParallel)"
    );
    // `.module` of something nothing says is a wrapper is not claimed.
    assert_eq!(
        state("def f(node):\n    return node.module\n", "node.module"),
        "not wrapped"
    );
}

#[test]
fn tests_make_a_value_a_wrapper_where_they_hold() {
    for test in [
        "hasattr(model, \"module\")",
        "isinstance(model, DDP)",
        "type(model) == DDP",
        "is_model_distributed(model)",
        "distributed",
        "self.world_size > 1",
    ] {
        let body = format!(
            "def f(self, model, distributed):\n    return model.module if {test} else model\n"
        );
        assert_eq!(
            state(&body, &format!("model.module if {test} else model")),
            "inner module (a wrapper) (or not)",
            "{test}"
        );
        let body = format!(
            "def f(self, model, distributed):\n    if {test}:\n        return model.module\n"
        );
        assert_eq!(
            state(&body, "model.module"),
            "inner module (a wrapper)",
            "{test}"
        );
    }
    let body = "def f(model):\n    if not hasattr(model, \"module\"):\n        return model\n    return model.module\n";
    assert_eq!(state(body, "model.module"), "inner module (a wrapper)");
    let body = "def f(model):\n    if hasattr(model, \"module\"):\n        pass\n    else:\n        return model.module\n";
    assert_eq!(state(body, "model.module"), "not wrapped");
    assert_eq!(
        state(
            "def f(model):\n    return getattr(model, \"module\", model)\n",
            "getattr(model, \"module\", model)"
        ),
        "inner module (a wrapper) (or not)"
    );
}

#[test]
fn libraries_wrap_and_unwrap() {
    let body = "def f(accelerator, model, optimizer):\n    \
                    model, optimizer = accelerator.prepare(model, optimizer)\n    \
                    inner = accelerator.unwrap_model(model)\n    \
                    return model, inner\n";
    assert_eq!(state(body, "model"), "wrapper (accelerator.prepare)");
    assert_eq!(state(body, "inner"), "inner module (accelerator.prepare)");
    let body = "def f(fabric, model, optimizer):\n    \
                    model, optimizer = fabric.setup(model, optimizer)\n    \
                    return model.encoder\n";
    assert_eq!(
        state(body, "model.encoder"),
        "part of the wrapper (fabric.setup)"
    );
    let body = "def f(data):\n    data.setup()\n    return data\n";
    assert_eq!(state(body, "data"), "not wrapped");
    let body = "import deepspeed\ndef f(model):\n    \
                    engine, _, _, _ = deepspeed.initialize(model=model)\n    \
                    return engine, model\n";
    assert_eq!(state(body, "engine"), "wrapper (deepspeed.initialize)");
    assert_eq!(state(body, "model"), "inner module (deepspeed.initialize)");
    let body = "def f(model):\n    fully_shard(model)\n    return model\n";
    assert_eq!(state(body, "model"), "wrapper (fully_shard)");
    let body = "def f(model):\n    compiled = torch.compile(model)\n    return compiled\n";
    assert_eq!(state(body, "compiled"), "wrapper (torch.compile)");
    // An accessor of the inner module returns a part of it.
    let body = "def f(accelerator, model):\n    \
                    decoder = accelerator.unwrap_model(model).get_decoder()\n    \
                    return decoder\n";
    assert_eq!(
        state(body, "decoder"),
        "part of the inner module (accelerator.prepare)"
    );
}

#[test]
fn parameters_returns_methods_and_attributes_are_followed() {
    let body = "def train(model):\n    return model\n\
                def run(net):\n    train(DDP(net).module)\n";
    assert_eq!(
        state(body, "model"),
        "inner module (DistributedDataParallel)"
    );
    let body = "def unwrap(m):\n    return m.module if hasattr(m, \"module\") else m\n\
                def run(net):\n    raw = unwrap(net)\n    return raw\n";
    assert_eq!(state(body, "raw"), "inner module (a wrapper) (or not)");
    let body = "class T:\n    \
                    def __init__(self, model):\n        self.model = DDP(model)\n    \
                    def _get_model(self):\n        return self.model.module\n    \
                    @property\n    def raw(self):\n        return self.model.module\n    \
                    def step(self):\n        return self._get_model(), self.raw\n";
    assert_eq!(
        state(body, "self._get_model()"),
        "inner module (DistributedDataParallel)"
    );
    assert_eq!(
        state(body, "self.raw"),
        "inner module (DistributedDataParallel)"
    );
}

#[test]
fn an_attribute_that_is_the_wrapper_at_times_and_the_inner_module_at_others_is_not_claimed() {
    let body = "class T:\n    \
                    def setup(self, model):\n        self.model = DDP(model)\n    \
                    def teardown(self, accelerator):\n        self.model = accelerator.unwrap_model(self.model)\n    \
                    def step(self):\n        return self.model\n";
    assert_eq!(
        state(body, "self.model"),
        "wrapper (DistributedDataParallel)"
    );
}

#[test]
fn a_test_for_fsdp_makes_a_value_fsdp_in_its_body_and_after_it() {
    let body = "def generate(self, x):\n    \
                    if is_model_fsdp(self.model):\n        \
                        self.model(x)\n    \
                    return self.model.generate(x)\n";
    assert_eq!(
        state(body, "self.model"),
        "wrapper (FullyShardedDataParallel)"
    );
    let body = "def generate(self, x):\n    \
                    if is_model_fsdp(self.model):\n        \
                        pass\n    \
                    else:\n        \
                        return self.model.generate(x)\n";
    assert_eq!(state(body, "self.model"), "not wrapped");
}

#[test]
fn code_trains_when_a_backward_follows_here_or_in_a_caller() {
    let body = "def step(model, x):\n    out = model(x)\n    out.sum().backward()\n";
    assert!(trains(body, "model(x)"));
    let body = "def step(model, x):\n    with torch.no_grad():\n        out = model(x)\n    out.sum().backward()\n";
    assert!(!trains(body, "model(x)"));
    let body =
        "@torch.no_grad()\ndef step(model, x):\n    out = model(x)\n    out.sum().backward()\n";
    assert!(!trains(body, "model(x)"));
    let body = "def step(model, x):\n    loss.backward()\n    return model(x)\n";
    assert!(!trains(body, "model(x)"));
    let body = "def forward_pass(model, x):\n    return model(x)\n\
                def train(model, x):\n    loss = forward_pass(model, x)\n    loss.backward()\n\
                def evaluate(model, x):\n    return forward_pass(model, x)\n";
    assert!(trains(body, "model(x)"));
    let body = "def loss_of(model, x):\n    return model(x)\n\
                def optimize(loss):\n    loss.backward()\n\
                def train(model, x):\n    loss = loss_of(model, x)\n    optimize(loss)\n";
    assert!(trains(body, "model(x)"));
    let body = "class MyTrainer(Trainer):\n    \
                    def compute_loss(self, model, inputs):\n        return model(**inputs)\n";
    assert!(trains(body, "model(**inputs)"));
    let body = "class Helper:\n    \
                    def compute_loss(self, model, inputs):\n        return model(**inputs)\n";
    assert!(!trains(body, "model(**inputs)"));
}

#[test]
fn segments_run_between_backward_calls() {
    let source = format!(
        "{PRELUDE}def f(a, b):\n    a(1)\n    x.backward()\n    b(2)\n    y.backward()\n    c(3)\n"
    );
    with_checker(&source, |checker, suite| {
        let b = find(suite, checker.source(), "b(2)");
        let function = checker.wrap_index().enclosing_function(b.start());
        let segment = checker.backward_segment(function, b.start());
        let text = &checker.source()[segment];
        assert!(text.starts_with("backward()") && text.contains("b(2)") && !text.contains("a(1)"));
        assert!(!text.contains("c(3)"));
    });
}

#[test]
fn summaries_tell_which_functions_return_an_inner_module() {
    let unwraps = |source: &str| {
        let parsed = ruff_python_parser::parse_module(source).expect("valid");
        let Some(Stmt::FunctionDef(def)) = parsed.suite().first() else {
            panic!("a function");
        };
        super::eval::returns_inner_of_argument(def)
    };
    assert!(unwraps(
        "def f(m):\n    return m.module if hasattr(m, 'module') else m\n"
    ));
    assert!(unwraps(
        "def f(a, b):\n    return (m.module if type(m) == DDP else m for m in [a, b])\n"
    ));
    assert!(unwraps(
        "def f(m):\n    if isinstance(m, DDP):\n        return cast(Net, m.module)\n    return m\n"
    ));
    assert!(unwraps("def f(acc, m):\n    return acc.unwrap_model(m)\n"));
    assert!(unwraps("def f(m):\n    return getattr(m, 'module', m)\n"));
    assert!(!unwraps("def f(m):\n    return m.modules()\n"));
    assert!(!unwraps("def f(m):\n    return self.module\n"));
}

#[test]
fn code_that_reads_a_name_from_elsewhere_ignores_wraps_it_cannot_order() {
    // The closure may run before `FSDP(child)` returns (FSDP calls `param_init_fn` itself).
    let body = "def wrap(child):\n    \
                    def init(module):\n        \
                        return child\n    \
                    wrapped = FSDP(child, param_init_fn=init)\n    \
                    return child\n";
    assert_eq!(
        state(body, "child"),
        "inner module (FullyShardedDataParallel)"
    );
    let source = format!("{PRELUDE}{body}");
    with_checker(&source, |checker, suite| {
        let Some(Stmt::FunctionDef(wrap)) = suite.last() else {
            panic!("a function");
        };
        let Some(Stmt::FunctionDef(init)) = wrap.body.first() else {
            panic!("a nested function");
        };
        let Some(Stmt::Return(ret)) = init.body.first() else {
            panic!("a return");
        };
        let value = ret.value.as_deref().expect("a value");
        let function = checker.wrap_index().function_of(init).expect("indexed");
        assert!(checker.wrap_state(function, value).is_none());
    });
}

#[test]
fn a_test_that_the_value_is_not_a_module_narrows_it() {
    let body = "def prepare(model, optimizer):\n    \
                    fully_shard(model)\n    \
                    for obj in (model, optimizer):\n        \
                        if isinstance(obj, torch.optim.Optimizer):\n            \
                            return obj\n";
    assert_eq!(state(body, "obj"), "not wrapped");
}

/// Whether the submodule called as `callee` (`W.part`, `W` wrapped or the inner module of a
/// wrapper) is one the file provably does not train.
fn untrained(body: &str, callee: &str) -> bool {
    let source = format!("{PRELUDE}{body}");
    with_checker(&source, |checker, suite| {
        let Expr::Attribute(attribute) = find(suite, checker.source(), callee) else {
            panic!("`{callee}` is not an attribute");
        };
        let function = checker.wrap_index().enclosing_function(attribute.start());
        let receiver = checker.wrap_state(function, &attribute.value);
        let created = receiver
            .atoms()
            .iter()
            .find_map(|atom| atom.origin().created)
            .unwrap_or_else(|| panic!("`{callee}` is not reached through a wrapper"));
        checker.untrained_submodule(created, attribute.attr.id.as_str())
    })
}

/// A training loop through `ddp.module`'s encoder and head, with `setup` (optimizers,
/// freezing) in place of `SETUP`.
fn submodule_training(setup: &str) -> String {
    format!(
        "import itertools\n\
         def train(model, loader, flag):\n    \
             model.encoder.eval()\n    \
             {setup}\n    \
             ddp = DDP(model)\n    \
             for x in loader:\n        \
                 h = ddp.module.encoder(x)\n        \
                 loss = ddp.module.head(h).sum()\n        \
                 loss.backward()\n"
    )
}

#[test]
fn submodules_no_optimizer_trains() {
    let only_head = submodule_training("opt = torch.optim.SGD(model.head.parameters())");
    assert!(untrained(&only_head, "ddp.module.encoder"));
    assert!(!untrained(&only_head, "ddp.module.head"));
    // Nothing shows that `encoder` is a submodule rather than a method that runs the head.
    assert!(!untrained(
        &only_head.replace("model.encoder.eval()", "pass"),
        "ddp.module.encoder"
    ));
    let groups = submodule_training(
        "opt = torch.optim.AdamW([{\"params\": model.head.parameters(), \"lr\": 1e-3}, \
         {\"params\": model.norm.parameters()}])",
    );
    assert!(untrained(&groups, "ddp.module.encoder"));
    let filtered = submodule_training(
        "params = [p for p in model.head.parameters() if p.requires_grad]\n    \
         opt = torch.optim.Adam(filter(lambda p: p.requires_grad, params))",
    );
    assert!(untrained(&filtered, "ddp.module.encoder"));
    let after_the_wrap = submodule_training("pass")
        .replace(
            "    ddp = DDP(model)\n",
            "    ddp = DDP(model)\n    opt = torch.optim.SGD(model.module.head.parameters())\n",
        )
        .replace("model.encoder.eval()", "model.module.encoder.eval()");
    assert!(untrained(&after_the_wrap, "ddp.module.encoder"));
}

#[test]
fn submodules_an_optimizer_may_train() {
    for setup in [
        // The whole model, or a part of the encoder.
        "opt = torch.optim.SGD(model.parameters())",
        "opt = torch.optim.SGD(model.encoder.proj.parameters())",
        "opt = torch.optim.Adam(itertools.chain(model.head.parameters(), model.encoder.parameters()))",
        // A list that grows after it is bound.
        "params = list(model.head.parameters())\n    \
         params.extend(model.encoder.parameters())\n    \
         opt = torch.optim.Adam(params)",
        // A group added later, an optimizer built elsewhere, a class held in a name.
        "opt = torch.optim.SGD(model.head.parameters())\n    \
         opt.add_param_group({\"params\": model.encoder.parameters()})",
        "opt = torch.optim.SGD(model.head.parameters())\n    other = build_optimizer(model)",
        "cls = torch.optim.AdamW\n    opt = cls(model.head.parameters())",
        // Parameters of another object, which may be the same model.
        "opt = torch.optim.SGD(net.head.parameters())",
        // No optimizer in the file: it is built where nmf does not look.
        "pass",
    ] {
        assert!(
            !untrained(&submodule_training(setup), "ddp.module.encoder"),
            "{setup}"
        );
    }
}

#[test]
fn frozen_submodules() {
    let frozen = submodule_training(
        "model.encoder.requires_grad_(False)\n    opt = torch.optim.SGD(model.parameters())",
    );
    assert!(untrained(&frozen, "ddp.module.encoder"));
    assert!(!untrained(&frozen, "ddp.module.head"));
    let loop_frozen = submodule_training(
        "for p in model.encoder.parameters():\n        p.requires_grad = False\n    \
         opt = torch.optim.SGD(model.parameters())",
    );
    assert!(untrained(&loop_frozen, "ddp.module.encoder"));
    for setup in [
        // Under a condition.
        "if flag:\n        model.encoder.requires_grad_(False)",
        // Unfrozen again, here or anywhere in the file.
        "model.encoder.requires_grad_(False)\n    model.encoder.requires_grad_(True)",
        "model.encoder.requires_grad_(False)\n    \
         for p in model.encoder.parameters():\n        p.requires_grad = flag",
        "model.encoder.requires_grad_(False)\n    \
         if flag:\n        utils.unfreeze(model.encoder)",
    ] {
        assert!(
            !untrained(&submodule_training(setup), "ddp.module.encoder"),
            "{setup}"
        );
    }
    // Frozen after the wrap: the code before may train it.
    let late = submodule_training("pass").replace(
        "    ddp = DDP(model)\n",
        "    ddp = DDP(model)\n    model.encoder.requires_grad_(False)\n",
    );
    assert!(!untrained(&late, "ddp.module.encoder"));
    // Frozen in another function, which may not run before this one trains.
    let elsewhere = format!(
        "{}def freeze(model):\n    model.encoder.requires_grad_(False)\n",
        submodule_training("pass")
    );
    assert!(!untrained(&elsewhere, "ddp.module.encoder"));
}
