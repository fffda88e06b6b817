//! Recognising a call of `forward`, however it is spelled, and the override chain that is fine.
//!
//! Shared by the rules about `.forward()` calls: NMF001 (modules) and NMF002 (autograd
//! functions) see the same calls and differ only in the receiver they report.

use memchr::memmem;
use ruff_diagnostics::Edit;
use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange, TextSize};
use unicode_normalization::UnicodeNormalization;

use crate::checker::Checker;
use crate::semantic::infer::{Judgement, Ty, Verdict};

/// How the `forward` attribute is reached.
#[derive(Debug, Clone, Copy)]
pub enum ForwardAccess<'a> {
    /// `receiver.forward`
    Attribute(&'a ast::ExprAttribute),
    /// `getattr(receiver, "forward")`, with or without a default.
    Getattr(&'a ast::ExprCall),
}

/// A call that runs some object's `forward` without going through `__call__`.
#[derive(Debug, Clone)]
pub struct ForwardCall<'a> {
    pub call: &'a ast::ExprCall,
    /// The object whose `forward` runs.
    pub receiver: &'a Expr,
    pub access: ForwardAccess<'a>,
    /// `.__call__` attributes between `forward` and the arguments, outermost first:
    /// `m.forward.__call__(x)` has one.
    pub dunder_calls: Vec<&'a ast::ExprAttribute>,
}

impl<'a> ForwardCall<'a> {
    /// Recognises `recv.forward(...)`, `getattr(recv, "forward")(...)` and either followed by
    /// any number of `.__call__`. Identifiers are compared as Python compares them, after NFKC
    /// normalisation, which the parser has already applied.
    pub fn find(call: &'a ast::ExprCall, checker: &mut Checker<'_>) -> Option<Self> {
        let mut callee: &Expr = &call.func;
        let mut dunder_calls = Vec::new();
        while let Expr::Attribute(attribute) = callee {
            if attribute.attr.id.as_str() != "__call__" {
                break;
            }
            dunder_calls.push(attribute);
            callee = &attribute.value;
        }
        match callee {
            Expr::Attribute(attribute) if attribute.attr.id.as_str() == "forward" => Some(Self {
                call,
                receiver: &attribute.value,
                access: ForwardAccess::Attribute(attribute),
                dunder_calls,
            }),
            Expr::Call(getattr) => {
                let receiver = getattr_forward_receiver(getattr)?;
                if !is_builtin(checker, &getattr.func, "getattr") {
                    return None;
                }
                Some(Self {
                    call,
                    receiver,
                    access: ForwardAccess::Getattr(getattr),
                    dunder_calls,
                })
            }
            _ => None,
        }
    }

    /// The override chain: inside a method named `forward` (or a function installed as
    /// some object's `forward`), `super().forward(...)`, `super(Cls, self).forward(...)` and
    /// `Base.forward(self, ...)` run a parent's `forward` on the module whose hooks already
    /// fired for this call; in an installed function, so does `type(self).forward(self, ...)`;
    /// so do they in a private helper method that only its class's `forward` calls
    /// (`self._inducing_forward(...)`). `self.forward(...)` in the class's own `forward` runs
    /// it again inside the call whose hooks fired (calling `self(...)` would fire them twice),
    /// and in its `__call__` it is the dispatch that replaces `nn.Module.__call__`, which
    /// NMF003 reports (calling `self(...)` there would recurse).
    pub fn is_override_chain(&self, checker: &mut Checker<'_>) -> bool {
        let ForwardAccess::Attribute(_) = self.access else {
            return false;
        };
        if !self.dunder_calls.is_empty() {
            return false;
        }
        let Some(function) = checker.semantic().enclosing_function() else {
            return false;
        };
        let method_name = function.class.map(|_| function.function.name.id.as_str());
        let is_forward_method = method_name == Some("forward");
        let on_self = matches!(self.receiver, Expr::Name(name)
            if Some(name.id.as_str()) == function.first_parameter());
        if on_self && matches!(method_name, Some("forward" | "__call__")) {
            return true;
        }
        let is_installed = !is_forward_method
            && self.has_chain_shape(function.first_parameter(), true)
            && checker.is_installed_as_forward(function.function);
        let is_forward_helper = !is_forward_method
            && !is_installed
            && self.has_chain_shape(function.first_parameter(), false)
            && function
                .class
                .is_some_and(|class| is_private_forward_helper(class, function.function));
        if !is_forward_method && !is_installed && !is_forward_helper {
            return false;
        }
        self.has_chain_shape(function.first_parameter(), is_installed)
    }

    /// Whether the call is written as the override chain writes it, `self_name` being the
    /// function's first parameter. Installed functions (`installed`) also continue it with
    /// `type(self).forward(self, ...)`, the class's own `forward`, and with `super(C, obj)`
    /// for any `obj`, as a closure over the patched module writes it.
    fn has_chain_shape(&self, self_name: Option<&str>, installed: bool) -> bool {
        let allow_type_of_self = installed;
        // Zero-argument `super()` needs no named `self`: transformers' modular files declare
        // `def forward(**super_kwargs): super().forward(**super_kwargs)`.
        let is_self =
            |expr: &Expr| matches!(expr, Expr::Name(name) if Some(name.id.as_str()) == self_name);
        let first_argument_is_self = self.call.arguments.args.first().is_some_and(is_self);
        match self.receiver {
            // `super().forward(...)`, `super(Cls, self).forward(...)`, `type(self).forward(self, ...)`
            Expr::Call(inner) => {
                let builtin = match inner.func.as_ref() {
                    Expr::Name(name) => name.id.as_str(),
                    _ => return false,
                };
                let arguments = &inner.arguments;
                if !arguments.keywords.is_empty() {
                    return false;
                }
                match (builtin, &*arguments.args) {
                    ("super", []) => true,
                    // An installed function may be a closure over the module it patches:
                    // `super(Head, model).forward(x)`.
                    ("super", [_, instance]) => allow_type_of_self || is_self(instance),
                    ("type", [instance]) => {
                        allow_type_of_self && is_self(instance) && first_argument_is_self
                    }
                    _ => false,
                }
            }
            // `Base.forward(self, ...)`, `nn.LayerNorm.forward(self, ...)`
            receiver @ (Expr::Name(_) | Expr::Attribute(_)) => {
                let Some(root) = dotted_root(receiver) else {
                    return false;
                };
                Some(root) != self_name && first_argument_is_self
            }
            _ => false,
        }
    }

    /// The edits that turn the call into a call of the receiver itself, `recv(args)`, keeping
    /// every other byte: for `recv.forward(...)` the `.` and `forward` tokens are deleted
    /// (whatever blanks, line breaks or comments stand between them stay), as is each
    /// `.__call__`; `getattr(recv, "forward")` is replaced by `recv`. `None` when that would
    /// lose something: a comment inside the `getattr(...)`, or a default argument.
    pub fn call_receiver_edits(&self, checker: &Checker<'_>) -> Option<Vec<Edit>> {
        let tokens = checker.tokens();
        let delete_attribute = |attribute: &ast::ExprAttribute| -> Option<[Edit; 2]> {
            let dot = dot_before(tokens, attribute.attr.start())?;
            Some([
                Edit::range_deletion(dot),
                Edit::range_deletion(attribute.attr.range()),
            ])
        };
        let mut edits = Vec::new();
        match self.access {
            ForwardAccess::Attribute(attribute) => edits.extend(delete_attribute(attribute)?),
            ForwardAccess::Getattr(getattr) => {
                if getattr.arguments.args.len() != 2 || has_comment(tokens, getattr.range()) {
                    return None;
                }
                let receiver = &checker.source()[self.receiver.range()];
                let replacement = if matches!(
                    self.receiver,
                    Expr::Name(_) | Expr::Attribute(_) | Expr::Call(_) | Expr::Subscript(_)
                ) {
                    receiver.to_string()
                } else {
                    format!("({receiver})")
                };
                edits.push(Edit::range_replacement(replacement, getattr.range()));
            }
        }
        for dunder in &self.dunder_calls {
            edits.extend(delete_attribute(dunder)?);
        }
        edits.sort_by_key(Edit::start);
        Some(edits)
    }

    /// The receiver's inferred type and what it means for the call of `forward`. An unbound
    /// call (`Cls.forward(obj, x)`) runs on `obj`: when `obj` is known not to be a module
    /// (`types.SimpleNamespace(...)` standing in for one), no hooks are skipped.
    pub fn receiver_judgement(&self, checker: &mut Checker<'_>) -> (Ty, Judgement) {
        let ty = checker.infer_type(self.receiver);
        let judgement = checker.judge_method_call(&ty, "forward");
        let unbound = matches!(self.access, ForwardAccess::Attribute(_))
            && self.dunder_calls.is_empty()
            && matches!(ty, Ty::Class(..) | Ty::External(_))
            && matches!(judgement.verdict, Verdict::Module | Verdict::Unknown);
        if unbound
            && let Some(instance) = self.call.arguments.args.first()
            && !instance.is_starred_expr()
        {
            let instance_ty = checker.infer_type(instance);
            if checker.verdict(&instance_ty) == Verdict::NotModule {
                let written = abbreviate(&checker.source()[instance.range()]);
                let reason = format!(
                    "called unbound on `{written}`, a `{instance_ty}`, which is not an nn.Module"
                );
                return (ty, Judgement::because(Verdict::NotModule, reason));
            }
        }
        (ty, judgement)
    }

    /// Records what the receiver is and whether `reported_as` reported the call, for
    /// `--show-receivers`.
    pub fn explain(
        &self,
        checker: &mut Checker<'_>,
        ty: &Ty,
        judgement: &Judgement,
        reported_as: Option<&'static str>,
    ) {
        let written = &checker.source()[self.receiver.range()];
        // Where an unknown type came from tells nothing.
        let origins = if ty.says_nothing() {
            Vec::new()
        } else {
            checker.type_origins(self.receiver)
        };
        checker.explain(
            self.call.range(),
            || {
                let kind = match judgement.verdict {
                    Verdict::Module => "an nn.Module",
                    Verdict::NotModule => "not an nn.Module",
                    Verdict::AutogradFunction => "an autograd Function",
                    Verdict::Unknown => "of unknown type",
                };
                let reason = judgement
                    .reason
                    .as_ref()
                    .map(|reason| format!(" ({reason})"))
                    .unwrap_or_default();
                let origin = origins
                    .iter()
                    .map(|origin| format!(", {origin}"))
                    .collect::<String>();
                format!(
                    "receiver `{}`: `{ty}`{origin}, {kind}{reason}",
                    abbreviate(written)
                )
            },
            reported_as,
        );
    }

    /// What the rules about `forward` calls start from: a call of `forward` outside the
    /// override chain, with its receiver's type and verdict.
    pub fn analyze(expr: &'a Expr, checker: &mut Checker<'_>) -> Option<(Self, Ty, Judgement)> {
        let Expr::Call(call) = expr else {
            return None;
        };
        let forward = Self::find(call, checker)?;
        if forward.is_override_chain(checker) {
            return None;
        }
        let (ty, judgement) = forward.receiver_judgement(checker);
        Some((forward, ty, judgement))
    }
}

/// Whether `method` is a private helper (`_name`) of `class` that only the class's `forward`
/// calls, as `self._name(...)`: it runs inside the call whose hooks fired, as `forward` does.
fn is_private_forward_helper(class: &ast::StmtClassDef, method: &ast::StmtFunctionDef) -> bool {
    use ruff_python_ast::visitor::{self, Visitor};
    /// Real helpers sit in classes of a few thousand lines; deeper nesting is not searched.
    const MAX_DEPTH: usize = 128;
    struct Uses<'n> {
        helper: &'n str,
        self_name: Option<&'n str>,
        in_forward: bool,
        calls_from_forward: usize,
        other_uses: usize,
        depth: usize,
    }
    impl<'a> Visitor<'a> for Uses<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.depth > MAX_DEPTH {
                self.other_uses += 1;
                return;
            }
            let is_use = |expr: &Expr| {
                matches!(expr, Expr::Attribute(attribute)
                    if attribute.attr.id.as_str() == self.helper
                        && matches!(attribute.value.as_ref(), Expr::Name(name)
                            if Some(name.id.as_str()) == self.self_name))
            };
            if let Expr::Call(call) = expr
                && is_use(&call.func)
            {
                if self.in_forward {
                    self.calls_from_forward += 1;
                } else {
                    self.other_uses += 1;
                }
                for argument in &*call.arguments.args {
                    self.visit_expr(argument);
                }
                for keyword in &*call.arguments.keywords {
                    self.visit_expr(&keyword.value);
                }
                return;
            }
            if is_use(expr) {
                self.other_uses += 1;
                return;
            }
            self.depth += 1;
            visitor::walk_expr(self, expr);
            self.depth -= 1;
        }

        fn visit_stmt(&mut self, stmt: &'a ast::Stmt) {
            if self.depth > MAX_DEPTH {
                self.other_uses += 1;
                return;
            }
            self.depth += 1;
            visitor::walk_stmt(self, stmt);
            self.depth -= 1;
        }
    }
    let helper = method.name.id.as_str();
    if !helper.starts_with('_') || helper.starts_with("__") {
        return false;
    }
    let mut uses = Uses {
        helper,
        self_name: None,
        in_forward: false,
        calls_from_forward: 0,
        other_uses: 0,
        depth: 0,
    };
    for stmt in &class.body {
        match stmt {
            ast::Stmt::FunctionDef(other) => {
                uses.self_name = crate::semantic::bindings::first_parameter(other)
                    .map(ruff_python_ast::name::Name::as_str);
                uses.in_forward = other.name.id.as_str() == "forward";
                uses.visit_body(&other.body);
            }
            other => {
                uses.self_name = None;
                uses.in_forward = false;
                uses.visit_stmt(other);
            }
        }
    }
    uses.calls_from_forward > 0 && uses.other_uses == 0
}

/// What nmf inferred about the receiver, for the `note:` line of the full output.
pub fn receiver_note(ty: &Ty, judgement: &Judgement) -> Option<String> {
    let kind = match judgement.verdict {
        Verdict::Module => "an `nn.Module`",
        Verdict::AutogradFunction => "a `torch.autograd.Function`",
        Verdict::NotModule => "not an `nn.Module`",
        Verdict::Unknown => match &judgement.reason {
            Some(reason) => return Some(format!("receiver type: `{ty}` ({reason})")),
            None => return None,
        },
    };
    Some(format!("receiver type: `{ty}` ({kind})"))
}

/// The first line of `written`, at most 60 characters, with `…` where it was cut. Only the
/// first characters are looked at: a receiver can be a chain of thousands of calls.
fn abbreviate(written: &str) -> String {
    const SHOWN: usize = 60;
    let mut end = written.len();
    for (count, (index, c)) in written.char_indices().enumerate() {
        if count == SHOWN || c == '\n' || c == '\r' {
            end = index;
            break;
        }
    }
    if end == written.len() {
        written.to_string()
    } else {
        format!("{}…", &written[..end])
    }
}

/// The `.` token that precedes an attribute name, across blanks, line breaks and comments.
pub(crate) fn dot_before(tokens: &Tokens, name_start: TextSize) -> Option<TextRange> {
    let before = tokens.partition_point(|token| token.start() < name_start);
    tokens[..before]
        .iter()
        .rev()
        .find(|token| !token.kind().is_trivia())
        .filter(|token| token.kind() == TokenKind::Dot)
        .map(Ranged::range)
}

fn has_comment(tokens: &Tokens, range: TextRange) -> bool {
    let first = tokens.partition_point(|token| token.start() < range.start());
    tokens[first..]
        .iter()
        .take_while(|token| token.end() <= range.end())
        .any(|token| token.kind() == TokenKind::Comment)
}

/// `getattr(receiver, "forward")` or `getattr(receiver, "forward", default)`.
fn getattr_forward_receiver(getattr: &ast::ExprCall) -> Option<&Expr> {
    if !matches!(getattr.func.as_ref(), Expr::Name(name) if name.id.as_str() == "getattr") {
        return None;
    }
    let arguments = &getattr.arguments;
    if !arguments.keywords.is_empty() {
        return None;
    }
    match &*arguments.args {
        [receiver, Expr::StringLiteral(name)] | [receiver, Expr::StringLiteral(name), _]
            if name.value.to_str() == "forward" && !receiver.is_starred_expr() =>
        {
            Some(receiver)
        }
        _ => None,
    }
}

/// Whether `expr` is the builtin `name`, not shadowed by an import or assignment.
fn is_builtin(checker: &mut Checker<'_>, expr: &Expr, name: &str) -> bool {
    match checker.infer_type(expr) {
        Ty::External(qualified) => qualified.strip_prefix("builtins.") == Some(name),
        _ => false,
    }
}

/// `a` for `a.b.c`; `None` unless the expression is a dotted name.
fn dotted_root(expr: &Expr) -> Option<&str> {
    let mut current = expr;
    loop {
        match current {
            Expr::Name(name) => return Some(name.id.as_str()),
            Expr::Attribute(attribute) => current = &attribute.value,
            _ => return None,
        }
    }
}

/// Whether `source` may contain a call of `forward` that the rules report. Sound: it never
/// says no for a source that has one, so a file it rejects need not be parsed.
///
/// A finding needs either the attribute `forward` reached with a dot and then called
/// (`m.forward(`, `m . forward (`, `(m.forward)(`, `m.forward.__call__(`, with line breaks and
/// comments allowed where Python allows them), or a `getattr(...)` call that is itself called.
/// Identifiers spelled with non-ASCII characters that NFKC-normalise to ASCII (`ｆｏｒｗａｒｄ`)
/// are accounted for by normalising every word that holds one.
///
/// A file whose only such calls are `super().forward(...)` is parsed only when the tokens do
/// not prove them all the override chain, which no rule reports (see
/// [`super::forward_tokens::calls_only_override_chains`]).
pub fn could_contain_forward_call(source: &str) -> bool {
    let bytes = source.as_bytes();
    let calls_forward = has_called_forward_attribute(bytes);
    // Only the tokens can tell a call split across lines from none (`m.forward` at a line's
    // end); a call on the same line is either written as the chain or reported.
    let only_chain_shapes = calls_forward
        && called_attribute_occurrences(bytes, b"forward")
            .all(|start| !called_on_its_line(bytes, start) || follows_super(bytes, start));
    if calls_forward && !only_chain_shapes {
        return true;
    }
    let getattr = called_getattr(bytes);
    if getattr == Some(true) {
        return true;
    }
    if has_ascii_letter_lookalike(source)
        && normalized_words_mention(source, &["forward", "getattr"])
    {
        return true;
    }
    // Left to the tokens: calls of `forward` shaped as the chain, and `getattr(...)`s whose
    // arguments hold an f-string.
    (calls_forward || getattr.is_none()) && !calls_only_override_chains(source)
}

/// Whether the bytes may read the attribute `forward` without calling it (NMF004's prefilter,
/// before the tokens are asked; see [`may_read_forward_uncalled`]).
pub fn has_uncalled_forward_attribute(bytes: &[u8]) -> bool {
    occurrences(bytes, b"forward").any(|start| {
        let end = start + b"forward".len();
        if (start > 0 && is_identifier_byte(bytes[start - 1]))
            || bytes.get(end).is_some_and(|&byte| is_identifier_byte(byte))
        {
            return false;
        }
        let before = bytes[..start]
            .iter()
            .rposition(|&byte| !is_blank_across_lines(byte))
            .map_or(0, |at| at + 1);
        let attribute = before > 0 && bytes[before - 1] == b'.';
        // `m.  # note` then `forward` on the next line (inside brackets): the comment hides
        // the dot from this backwards scan, so such a file passes. The line before is only
        // searched then: searching it for every `.forward` of a long line took quadratic time.
        let after_comment = !attribute && bytes[before..start].contains(&b'\n') && {
            let line_start = bytes[..before].iter().rposition(|&byte| byte == b'\n');
            bytes[line_start.map_or(0, |at| at + 1)..before].contains(&b'#')
        };
        if !attribute && !after_comment {
            return false;
        }
        let next = bytes[end..]
            .iter()
            .find(|&&byte| !is_blank_across_lines(byte));
        next != Some(&b'(')
    })
}

/// [`super::forward_tokens::calls_only_override_chains`]. In the text being prefiltered, the
/// same pass also answers [`may_read_forward_uncalled`] for NMF004 when its bytes leave that
/// to the tokens, and the answer is kept for it.
fn calls_only_override_chains(source: &str) -> bool {
    if with_memo(source, |_| ()).is_none() {
        return super::forward_tokens::calls_only_override_chains(source);
    }
    let also_called = has_uncalled_forward_attribute(source.as_bytes());
    let proven =
        super::forward_tokens::override_chains_and_no_uncalled_forward(source, also_called);
    if also_called {
        with_memo(source, |memo| {
            memo.no_uncalled_forward = Some(proven.called)
        });
    }
    proven.chains
}

/// [`super::forward_tokens::may_read_forward_uncalled`], answered from the pass
/// [`calls_only_override_chains`] made of the same text, if it made one.
pub fn may_read_forward_uncalled(source: &str) -> bool {
    match with_memo(source, |memo| memo.no_uncalled_forward).flatten() {
        Some(called) => !called,
        None => super::forward_tokens::may_read_forward_uncalled(source),
    }
}

/// Whether the identifier at `start` is followed by `(` on its line.
fn called_on_its_line(bytes: &[u8], start: usize) -> bool {
    let rest = &bytes[start..];
    rest.iter()
        .position(|&byte| !is_identifier_byte(byte))
        .and_then(|end| rest[end..].iter().find(|&&byte| !is_blank(byte)))
        == Some(&b'(')
}

/// Whether the attribute name at `start` is written `super().name` on one line, as the
/// override chain writes it (the tokens decide the rest).
fn follows_super(bytes: &[u8], start: usize) -> bool {
    let skip_blanks_back = |end: usize| {
        bytes[..end]
            .iter()
            .rposition(|&byte| !is_blank(byte))
            .map_or(0, |at| at + 1)
    };
    let dot = skip_blanks_back(start);
    let Some(before_dot) = dot.checked_sub(1).filter(|&at| bytes[at] == b'.') else {
        return false;
    };
    let close = skip_blanks_back(before_dot);
    let Some(before_close) = close.checked_sub(1).filter(|&at| bytes[at] == b')') else {
        return false;
    };
    let open = skip_blanks_back(before_close);
    let Some(before_open) = open.checked_sub(1).filter(|&at| bytes[at] == b'(') else {
        return false;
    };
    let name_end = skip_blanks_back(before_open);
    bytes[..name_end].ends_with(b"super")
        && (name_end == 5 || !is_identifier_byte(bytes[name_end - 6]))
}

/// Whether `source` holds `word` as a whole identifier (not part of a longer one), spelled in
/// ASCII.
pub fn has_word(source: &str, word: &str) -> bool {
    let bytes = source.as_bytes();
    let is_identifier = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80;
    occurrences(bytes, word.as_bytes()).any(|start| {
        let end = start + word.len();
        let joined_before = start > 0 && is_identifier(bytes[start - 1]);
        let joined_after = bytes.get(end).is_some_and(|&byte| is_identifier(byte));
        !joined_before && !joined_after
    })
}

/// Whether `source` may spell the identifier `word` with non-ASCII characters that
/// NFKC-normalise to it (Python compares identifiers after NFKC normalisation).
pub fn could_spell(source: &str, word: &str) -> bool {
    could_spell_any(source, &[word])
}

/// Whether `source` may spell one of `words` with non-ASCII characters (see [`could_spell`]),
/// in one pass over the text.
pub fn could_spell_any(source: &str, words: &[&str]) -> bool {
    has_ascii_letter_lookalike(source) && normalized_words_mention(source, words)
}

/// Whether some non-ASCII character of `source` NFKC-normalises to text with an ASCII letter,
/// which is the only way a non-ASCII spelling can name `forward` or `getattr`: normalisation
/// never deletes a character, and composition only merges letters into non-ASCII ones.
fn has_ascii_letter_lookalike(source: &str) -> bool {
    with_memo(source, |memo| {
        *memo.lookalike.get_or_insert_with(|| scan_lookalike(source))
    })
    .unwrap_or_else(|| scan_lookalike(source))
}

fn scan_lookalike(source: &str) -> bool {
    let bytes = source.as_bytes();
    let mut index = 0;
    // The last character found not to be a look-alike: banners repeat one (transformers'
    // generated files open with eighty `🚨`, each decomposed afresh, outside the table).
    let mut cleared = None;
    while let Some(found) = next_non_ascii(bytes, index) {
        let Some(rest) = source.get(found..) else {
            return true;
        };
        // A run of non-ASCII characters is decoded in one go, up to the next ASCII one.
        index = bytes.len();
        for (offset, c) in rest.char_indices() {
            if c.is_ascii() {
                index = found + offset;
                break;
            }
            if cleared != Some(c) {
                if normalizes_to_ascii_letter(c) {
                    return true;
                }
                cleared = Some(c);
            }
        }
    }
    false
}

/// What the prefilters learn of one text's non-ASCII words, shared by all of them while the
/// text is being prefiltered (see [`with_shared_text_scans`]).
struct TextMemo {
    /// The address and length of the text: inside the scope the text is borrowed, so a text
    /// with both is the same text.
    start: usize,
    len: usize,
    lookalike: Option<bool>,
    /// The NFKC forms of the words that hold a non-ASCII character, in order.
    normalized_words: Option<Vec<String>>,
    /// Whether every `.forward` the text reads is called, as the tokens told
    /// [`calls_only_override_chains`].
    no_uncalled_forward: Option<bool>,
    /// Every offset of each of [`SHARED_NEEDLES`], once searched: several prefilters walk the
    /// occurrences of the same word (`forward`, `train`, `DP`), and each walk was a search.
    offsets: [Option<Vec<usize>>; SHARED_NEEDLES.len()],
}

/// The words several prefilters (and the index's facts) search the same text for, most of them
/// short ones whose absence rules out longer words holding them (`DP` in `DDP` and `FSDP`,
/// `DataParallel` in `DistributedDataParallel` and `FullyShardedDataParallel`, `train` in
/// `train_step`): where each first occurs is searched once per text while it is prefiltered
/// (see [`first_occurrence`]).
const SHARED_NEEDLES: [&[u8]; 6] = [
    b"forward",
    b"DP",
    b"DataParallel",
    b"train",
    b"prepare",
    b"setup",
];

thread_local! {
    static TEXT_MEMO: std::cell::RefCell<Option<TextMemo>> = const { std::cell::RefCell::new(None) };
}

/// Runs `scans` (the prefilters of one file, the facts the project index learns of it) with the
/// answers about `text`'s non-ASCII spellings computed at most once: each prefilter asks them
/// of the whole text, and a file with an accented letter in a comment would otherwise have
/// every word with one normalised once per rule.
pub fn with_shared_text_scans<R>(text: &str, scans: impl FnOnce() -> R) -> R {
    /// Puts back the memo of an enclosing scope, also when `scans` unwinds.
    struct Restore(Option<TextMemo>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            TEXT_MEMO.with(|memo| *memo.borrow_mut() = outer);
        }
    }
    if with_memo(text, |_| ()).is_some() {
        // An enclosing scope shares the text's answers already.
        return scans();
    }
    let memo = TextMemo {
        start: text.as_ptr() as usize,
        len: text.len(),
        lookalike: None,
        normalized_words: None,
        no_uncalled_forward: None,
        offsets: Default::default(),
    };
    let _restore = Restore(TEXT_MEMO.with(|slot| slot.borrow_mut().replace(memo)));
    scans()
}

/// `answer` applied to the memo of `text`, if `text` is the one being prefiltered.
fn with_memo<R>(text: &str, answer: impl FnOnce(&mut TextMemo) -> R) -> Option<R> {
    with_bytes_memo(text.as_bytes(), answer)
}

fn with_bytes_memo<R>(bytes: &[u8], answer: impl FnOnce(&mut TextMemo) -> R) -> Option<R> {
    TEXT_MEMO.with(|slot| {
        let mut slot = slot.try_borrow_mut().ok()?;
        let memo = slot.as_mut()?;
        (memo.start == bytes.as_ptr() as usize && memo.len == bytes.len()).then(|| answer(memo))
    })
}

/// The offset where `needle` first occurs in `bytes`. For one of [`SHARED_NEEDLES`] in the text
/// being prefiltered (see [`with_shared_text_scans`]), searched once and remembered.
pub fn first_occurrence(bytes: &[u8], needle: &[u8]) -> Option<usize> {
    shared_offsets(bytes, needle, |offsets| offsets.first().copied())
        .unwrap_or_else(|| memmem::find(bytes, needle))
}

/// `answer` applied to every offset of `needle` in `bytes`, when `needle` is one of
/// [`SHARED_NEEDLES`] and `bytes` the text being prefiltered: the offsets are searched once.
fn shared_offsets<R>(bytes: &[u8], needle: &[u8], answer: impl FnOnce(&[usize]) -> R) -> Option<R> {
    let shared = SHARED_NEEDLES.iter().position(|&known| known == needle)?;
    with_bytes_memo(bytes, |memo| {
        answer(
            memo.offsets[shared].get_or_insert_with(|| memmem::find_iter(bytes, needle).collect()),
        )
    })
}

/// Each offset where `needle` occurs in `bytes`, as `memmem::find_iter` gives them (in order,
/// not overlapping); for one of [`SHARED_NEEDLES`] in the text being prefiltered, from the
/// offsets searched once (see [`first_occurrence`]).
pub fn occurrences<'b>(bytes: &'b [u8], needle: &'b [u8]) -> Occurrences<'b> {
    match shared_offsets(bytes, needle, <[usize]>::to_vec) {
        Some(offsets) => Occurrences::Known(offsets.into_iter()),
        None => Occurrences::Searched(memmem::find_iter(bytes, needle)),
    }
}

/// Where `name` starts around an occurrence of `part` at `found`, `name` holding `part` at
/// `offset` (`FSDP` holds `DP` at 2), or `None` when the text there is not `name`. Longer names
/// are looked for where a shorter word they hold occurs, whose offsets other prefilters walk
/// too, rather than searched for again.
pub fn name_around(bytes: &[u8], found: usize, offset: usize, name: &[u8]) -> Option<usize> {
    let start = found.checked_sub(offset)?;
    bytes[start..].starts_with(name).then_some(start)
}

/// The offsets of a needle (see [`occurrences`]). Lives on the stack for one walk: the
/// searcher is kept inline rather than boxed once per search.
#[allow(clippy::large_enum_variant)]
pub enum Occurrences<'b> {
    Known(std::vec::IntoIter<usize>),
    Searched(memmem::FindIter<'b, 'b>),
}

impl Iterator for Occurrences<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Self::Known(offsets) => offsets.next(),
            Self::Searched(search) => search.next(),
        }
    }
}

/// Whether `c`'s NFKC decomposition holds an ASCII letter. Characters of the Basic
/// Multilingual Plane are looked up in a table computed once (texts full of CJK or
/// accented letters hold hundreds of thousands of them); others are decomposed.
fn normalizes_to_ascii_letter(c: char) -> bool {
    static TABLE: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    let decomposes = |c: char| {
        let mut lookalike = false;
        unicode_normalization::char::decompose_compatible(c, |part| {
            lookalike |= part.is_ascii_alphabetic();
        });
        lookalike
    };
    let code = u32::from(c) as usize;
    if code > 0xFFFF {
        return decomposes(c);
    }
    let table = TABLE.get_or_init(|| {
        let mut bits = vec![0u64; 0x10000 / 64];
        for code in 0x80..0x10000u32 {
            if let Some(c) = char::from_u32(code)
                && decomposes(c)
            {
                bits[code as usize / 64] |= 1 << (code % 64);
            }
        }
        bits
    });
    table[code / 64] & (1 << (code % 64)) != 0
}

/// The offset of the first byte at or after `from` that is not ASCII, a block at a time (the
/// loop over a block is one the compiler turns into vector instructions).
fn next_non_ascii(bytes: &[u8], from: usize) -> Option<usize> {
    const BLOCK: usize = 64;
    let rest = bytes.get(from..)?;
    let mut offset = 0;
    for block in rest.chunks(BLOCK) {
        if block.iter().fold(0u8, |any, &byte| any | byte) & 0x80 != 0 {
            return block
                .iter()
                .position(|byte| !byte.is_ascii())
                .map(|at| from + offset + at);
        }
        offset += block.len();
    }
    None
}

/// A byte of an identifier: ASCII letters, digits and `_`, and any byte of a non-ASCII
/// character (which the prefilters leave to NFKC checks rather than tell apart).
pub fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || !byte.is_ascii()
}

/// The identifier that holds `start..end` in `bytes`: its bounds, widened over identifier
/// bytes on both sides.
pub(crate) fn identifier_around(bytes: &[u8], start: usize, end: usize) -> (usize, usize) {
    let first = bytes[..start]
        .iter()
        .rposition(|&byte| !is_identifier_byte(byte))
        .map_or(0, |at| at + 1);
    let last = bytes[end..]
        .iter()
        .position(|&byte| !is_identifier_byte(byte))
        .map_or(bytes.len(), |at| end + at);
    (first, last)
}

/// Blanks inside a logical line: spaces, tabs and form feeds.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\x0c')
}

/// [`is_blank`], line breaks and backslashes: what may separate two tokens inside brackets or
/// across a continued line, as byte-level prefilters look past it.
pub fn is_blank_across_lines(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\\' | b'\x0c')
}

/// Each offset where `needle` occurs as a whole identifier.
fn identifier_occurrences<'b>(
    bytes: &'b [u8],
    needle: &'b [u8],
) -> impl Iterator<Item = usize> + 'b {
    occurrences(bytes, needle).filter(move |&start| {
        let end = start + needle.len();
        (start == 0 || !is_identifier_byte(bytes[start - 1]))
            && bytes.get(end).is_none_or(|&next| !is_identifier_byte(next))
    })
}

/// `forward` after a dot and before a call (see [`has_called_attribute`]).
fn has_called_forward_attribute(bytes: &[u8]) -> bool {
    called_attribute(bytes, b"forward")
}

/// Whether `source` may call the attribute `name`, spelled in ASCII: `name` after a dot and
/// before a call. Between the dot and the name, and between the name and the call, only blanks,
/// line breaks (inside brackets or after a backslash), comments and closing parentheses
/// (`(m.forward)(x)`) can stand; a line break or comment is taken as possibly leading to a
/// call, and so is a further attribute (`m.forward.__call__(x)`).
pub fn has_called_attribute(source: &str, name: &str) -> bool {
    called_attribute(source.as_bytes(), name.as_bytes())
}

fn called_attribute(bytes: &[u8], name: &[u8]) -> bool {
    called_attribute_occurrences(bytes, name).next().is_some()
}

/// Each offset where `name` may be an attribute that is called (see [`has_called_attribute`]).
fn called_attribute_occurrences<'b>(
    bytes: &'b [u8],
    name: &'b [u8],
) -> impl Iterator<Item = usize> + 'b {
    identifier_occurrences(bytes, name).filter(move |&start| {
        let after_dot = match bytes[..start].iter().rposition(|&byte| !is_blank(byte)) {
            None => true,
            Some(index) => matches!(bytes[index], b'.' | b'\n' | b'\r' | b'\\'),
        };
        if !after_dot {
            return false;
        }
        let rest = &bytes[start + name.len()..];
        match rest.iter().find(|&&byte| !is_blank(byte) && byte != b')') {
            None => true,
            Some(next) => matches!(next, b'(' | b'.' | b'\n' | b'\r' | b'\\' | b'#'),
        }
    })
}

/// A call of `getattr(...)` that is itself called, `getattr(m, name)(...)` or
/// `getattr(m, name).__call__(...)`. The arguments are skipped with a small lexer that knows
/// brackets, comments and string literals; anything it is unsure of counts as a call.
///
/// `Some(true)` for such a call, `Some(false)` when there is none, `None` when the arguments of
/// one are not plain enough to say (an f-string, whose fields may hold anything): the tokens
/// tell then (see [`super::forward_tokens::calls_only_override_chains`]).
fn called_getattr(bytes: &[u8]) -> Option<bool> {
    const NAME_LEN: usize = "getattr".len();
    let mut unsure = false;
    let called = identifier_occurrences(bytes, b"getattr").any(|start| {
        let open = skip_trivia(bytes, start + NAME_LEN);
        if bytes.get(open) != Some(&b'(') {
            return false;
        }
        match matching_parenthesis(bytes, open) {
            Some(close) => {
                let next = skip_trivia_and_closing(bytes, close + 1);
                let called = match bytes.get(next) {
                    Some(b'(') => true,
                    Some(b'.') => is_dunder_call(bytes, skip_trivia(bytes, next + 1)),
                    _ => false,
                };
                called && may_spell_forward(&bytes[open + 1..close])
            }
            None => {
                unsure = true;
                false
            }
        }
    });
    if called {
        Some(true)
    } else if unsure {
        None
    } else {
        Some(false)
    }
}

/// Whether the attribute name at `start` may be `__call__` (`getattr(m, "forward").__call__(x)`
/// calls it; `getattr(m, name).copy_(x)` does not): it is, or it has non-ASCII characters,
/// which may normalise to it.
fn is_dunder_call(bytes: &[u8], start: usize) -> bool {
    let rest = bytes.get(start..).unwrap_or_default();
    let end = rest
        .iter()
        .position(|&byte| !is_identifier_byte(byte))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    name == b"__call__" || !name.is_ascii()
}

/// Whether getattr's arguments, `arguments`, may hold the string literal `"forward"` (the
/// only attribute name NMF001 reads there): pieces of a literal concatenated
/// (`'for' 'ward'`) hold each of its letters, and any other spelling needs an escape
/// (`'\x66orward'`). Text without a backslash that lacks one of the letters cannot.
pub(crate) fn may_spell_forward(arguments: &[u8]) -> bool {
    arguments.contains(&b'\\')
        || b"forwad"
            .iter()
            .all(|letter| memchr::memchr(*letter, arguments).is_some())
}

/// Skips blanks, line breaks, backslash continuations and comments.
fn skip_trivia(bytes: &[u8], mut index: usize) -> usize {
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b' ' | b'\t' | b'\x0c' | b'\r' | b'\n' | b'\\' => index += 1,
            b'#' => index = line_end(bytes, index),
            _ => break,
        }
    }
    index
}

fn skip_trivia_and_closing(bytes: &[u8], mut index: usize) -> usize {
    loop {
        index = skip_trivia(bytes, index);
        if bytes.get(index) == Some(&b')') {
            index += 1;
        } else {
            return index;
        }
    }
}

fn line_end(bytes: &[u8], index: usize) -> usize {
    memchr::memchr2(b'\n', b'\r', &bytes[index..]).map_or(bytes.len(), |offset| index + offset)
}

/// The offset of the parenthesis closing the one at `open`, or `None` when the text is not
/// plain enough to be sure: an f-string or t-string (whose fields may hold anything), an
/// unterminated string, unbalanced brackets, or the end of the file.
fn matching_parenthesis(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut index = open;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index);
                }
            }
            b'#' => {
                index = line_end(bytes, index);
                continue;
            }
            b'\'' | b'"' => {
                index = string_end(bytes, index)?;
                continue;
            }
            _ => {}
        }
        index += 1;
    }
    None
}

/// The offset just past the string literal whose opening quote is at `quote`.
fn string_end(bytes: &[u8], quote: usize) -> Option<usize> {
    let has_field_prefix = bytes[..quote]
        .iter()
        .rev()
        .take_while(|byte| byte.is_ascii_alphabetic())
        .any(|byte| matches!(byte, b'f' | b'F' | b't' | b'T'));
    if has_field_prefix {
        return None;
    }
    let delimiter = bytes[quote];
    let is_delimiter_run = |at: usize| {
        bytes.get(at) == Some(&delimiter)
            && bytes.get(at + 1) == Some(&delimiter)
            && bytes.get(at + 2) == Some(&delimiter)
    };
    let triple = is_delimiter_run(quote);
    let mut index = quote + if triple { 3 } else { 1 };
    while let Some(&byte) = bytes.get(index) {
        match byte {
            // In raw strings too, a backslash keeps the next character from ending the string.
            b'\\' => index += 2,
            b'\n' | b'\r' if !triple => return None,
            _ if byte == delimiter && !triple => return Some(index + 1),
            _ if byte == delimiter && is_delimiter_run(index) => return Some(index + 3),
            _ => index += 1,
        }
    }
    None
}

/// Normalises every word that holds a non-ASCII character, as Python normalises identifiers,
/// and reports whether any mentions one of `words`.
fn normalized_words_mention(source: &str, words: &[&str]) -> bool {
    let mentions = |normalized: &str| words.iter().any(|wanted| normalized.contains(wanted));
    let shared = with_memo(source, |memo| {
        memo.normalized_words
            .get_or_insert_with(|| {
                non_ascii_words(source)
                    .map(|word| word.nfkc().collect())
                    .collect()
            })
            .iter()
            .any(|normalized| mentions(normalized))
    });
    shared.unwrap_or_else(|| {
        non_ascii_words(source).any(|word| {
            let normalized: String = word.nfkc().collect();
            mentions(&normalized)
        })
    })
}

/// The words (runs of identifier characters) of `source` that hold a non-ASCII character.
fn non_ascii_words(source: &str) -> impl Iterator<Item = &str> {
    source
        .split(|c: char| c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| !word.is_ascii())
}

/// `expr` is a call of the name `function`: `super()`, `type(x)`.
pub(crate) fn is_call_of(expr: &Expr, function: &str) -> bool {
    matches!(expr, Expr::Call(call)
        if matches!(call.func.as_ref(), Expr::Name(name) if name.id.as_str() == function))
}

/// `self` inside one of the class's own methods: calling it re-enters its own hooks, so a fix
/// that calls it instead of its `forward` is unsafe.
pub(crate) fn is_own_instance(receiver: &Expr, checker: &Checker<'_>) -> bool {
    let Expr::Name(name) = receiver else {
        return false;
    };
    checker
        .semantic()
        .enclosing_function()
        .filter(|function| function.class.is_some())
        .and_then(|function| function.first_parameter())
        .is_some_and(|first| first == name.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::could_contain_forward_call as could;

    #[test]
    fn definitions_prose_and_other_names_cannot_hold_a_finding() {
        assert!(!could(
            "class M:\n    def forward(self, x):\n        return x\n"
        ));
        assert!(!could("async def  forward(self): pass\n"));
        assert!(!could(
            "self._forward(x)\nself.forward_features(x)\nfeedforward(x)\n"
        ));
        assert!(!could("# Run the forward pass.\n'''The forward hook.'''\n"));
        assert!(!could(
            "fn = model.forward; sig = inspect.signature(self.forward); x = 1\n"
        ));
        assert!(!could("hooks = [m.forward, m.backward]\n"));
        // A line break outside brackets ends the statement: the tokens tell.
        assert!(!could("m.forward\r\n(x)\n"));
        assert!(!could("import os\nprint('hello')\n"));
        assert!(!could(
            "x = getattr(m, 'forward')\ny = getattr(m, 'forward', None)\n"
        ));
        assert!(!could("x = getattr(m, ')(')\n"));
        // Called, but with a name that is not the literal `"forward"`, which alone is reported.
        assert!(!could("y = getattr(m, name, default)(x)\n"));
        assert!(!could("getattr(m, 'forward').copy_(x)\n"));
        // An f-string is no string literal: NMF001 reads `getattr(m, "forward")` only.
        assert!(!could("y = getattr(m, f'{n}')(x)\n"));
        assert!(!could("getattr(m, 'forward') . weight\n"));
        assert!(!could("y = getattr(m, ')' '(')(x)\n"));
        assert!(!could("y = getattr(m, '''a)\n(b''')(x)\n"));
        assert!(!could(
            "d = getattr(getattr(t, 'backend_tokenizer', None), 'decoder', None)()\n"
        ));
        assert!(!could("x = getattr(m, r'\\\\')\n"));
    }

    #[test]
    fn every_spelling_of_a_call_is_kept() {
        let sources = [
            "model.forward(x)\n",
            "model . forward (x)\n",
            "m.\\\nforward(x)\n",
            "y = (m.  # comment\n    forward(x))\n",
            "y = (m.forward  # comment\n    (x))\n",
            "y = (model.forward)(x)\n",
            "y = ((model.forward) )(x)\n",
            "m.forward.__call__(x)\n",
            "y = (m.forward\r\n    (x))\n",
            "y = (m.forward\r(x))\n",
            "y = getattr(m, 'forward')(x)\n",
            "y = getattr(m, 'for' 'ward')(x)\n",
            "y = getattr(m, '\\x66orward')(x)\n",
            "y = getattr (m, \"forward\") . __call__(x)\n",
            "y = getattr(m, 'it\\'s')(x)\n",
            "y = getattr(m, 'forward'",
            "y = getattr(m, 'f' 'o' 'r' 'w' 'a' 'r' 'd')(x)\n",
            "y = getattr(m, '\\N{LATIN SMALL LETTER F}orward')(x)\n",
            "y = getattr(m, 'forward', default)(x)\n",
            "y = getattr(m, 'forward'). __call__(x)\n",
            "y = getattr(m, 'forward').\\\n__call__(x)\n",
            "y = getattr(m, 'forward')._\u{ff3f}call__(x)\n",
            "model.ｆｏｒｗａｒｄ(x)\n",
            "model.ｆorward(x)\n",
            "y = ｇｅｔａｔｔｒ(m, 'forward')(x)\n",
            "é.forward(x)\n",
        ];
        for source in sources {
            assert!(could(source), "{source:?} was ruled out");
        }
    }

    #[test]
    fn the_first_non_ascii_byte_is_found_at_any_offset() {
        for length in [0, 1, 7, 63, 64, 65, 200] {
            let ascii = "a".repeat(length);
            assert_eq!(super::next_non_ascii(ascii.as_bytes(), 0), None);
            for at in 0..length {
                let mut text = ascii.clone().into_bytes();
                text[at] = 0xC3;
                for from in [0, at / 2, at] {
                    assert_eq!(
                        super::next_non_ascii(&text, from),
                        Some(at),
                        "{length} {at}"
                    );
                }
                assert_eq!(super::next_non_ascii(&text, at + 1), None);
            }
        }
    }

    #[test]
    fn shared_answers_are_those_of_each_text_on_its_own() {
        use super::{could_spell_any, with_shared_text_scans};
        let texts = [
            "x = 1\n",
            "# 模型 — données\nx = '✓'\n",
            "model.ｆｏｒｗａｒｄ(x)\n",
            "é = m.module\n",
            "y = ｇｅｔａｔｔｒ(m, 'forward')(x)\n",
        ];
        let words: [&[&str]; 3] = [&["forward"], &["getattr", "module"], &["é", "train"]];
        for text in texts {
            let alone: Vec<bool> = words
                .iter()
                .map(|words| could_spell_any(text, words))
                .collect();
            let shared = with_shared_text_scans(text, || {
                // Another text asked inside the scope gets its own answers.
                let other = texts.map(|other| could_spell_any(other, &["forward"]));
                let answers: Vec<bool> = words
                    .iter()
                    .map(|words| could_spell_any(text, words))
                    .collect();
                (answers, other)
            });
            assert_eq!(shared.0, alone, "{text:?}");
            assert_eq!(
                shared.1,
                texts.map(|other| could_spell_any(other, &["forward"]))
            );
            // A part of the text is not the text.
            let part = &text[..text.len() - 1];
            let inside = with_shared_text_scans(text, || {
                could_spell_any(text, &["forward"]);
                could_spell_any(part, &["x"])
            });
            assert_eq!(inside, could_spell_any(part, &["x"]));
        }
    }

    #[test]
    fn occurrences_are_memmems_inside_and_outside_a_shared_scope() {
        use super::{first_occurrence, occurrences, with_shared_text_scans};
        let texts = [
            "",
            "DP",
            "DDP(m)\r\nFSDP(m)\tDPDP",
            "x = 1\n",
            "forward",
            "é\tforwardforward é\r\nm.forwar\nd(x)",
            "setup_module(m)\nprepare_model(m)\ntrain_step()",
            "DistributedDataParallel(m)\nDataParalle",
        ];
        // Shared needles, needles that hold them, and others.
        let needles: [&[u8]; 9] = [
            b"forward",
            b"DP",
            b"DDP",
            b"DataParallel",
            b"train",
            b"train_step",
            b"setup",
            b"getattr",
            b"d",
        ];
        let alone = |text: &str, needle: &[u8]| -> Vec<usize> {
            memchr::memmem::find_iter(text.as_bytes(), needle).collect()
        };
        for text in texts {
            for needle in needles {
                let expected = alone(text, needle);
                assert_eq!(
                    occurrences(text.as_bytes(), needle).collect::<Vec<_>>(),
                    expected
                );
                let (first, twice, part) = with_shared_text_scans(text, || {
                    let first: Vec<usize> = occurrences(text.as_bytes(), needle).collect();
                    let twice: Vec<usize> = occurrences(text.as_bytes(), needle).collect();
                    // A part of the text is not the text, nor is another text.
                    let part = text.get(1..).map(|part| {
                        (
                            occurrences(part.as_bytes(), needle).collect::<Vec<_>>(),
                            first_occurrence(texts[2].as_bytes(), needle),
                        )
                    });
                    (first, twice, part)
                });
                assert_eq!(first, expected, "{text:?} {needle:?}");
                assert_eq!(twice, expected, "{text:?} {needle:?}");
                if let Some((part_occurrences, other)) = part {
                    assert_eq!(part_occurrences, alone(&text[1..], needle));
                    assert_eq!(other, memchr::memmem::find(texts[2].as_bytes(), needle));
                }
            }
        }
    }

    #[test]
    fn prefilters_answer_alike_alone_and_asked_together() {
        use super::with_shared_text_scans;
        // Texts around the words whose absence spares searching longer ones (`DP` in `DDP`,
        // `train` in `train_step`, ...), at the start and the end of the text, next to
        // non-ASCII letters, after CRLF and tabs.
        let texts = [
            "DDP(m)",
            "x = DDP(m)\r\n",
            "éDDP(m)\n",
            "m = DistributedDataParallel(m)\r\nmodel = m.module\n",
            "FSDP(m)\n",
            "\tm = FullyShardedDataParallel(m)\n",
            "m.no_backward_sync()\n",
            "with m.no_sync():\r\n\tloss.backward()\n",
            "def training_step(self, batch):\n    return 1\n",
            "def train_step():\n    pass\ntrain",
            "setup_module(m)\nprepare_model(m)\n",
            "x = 1\n# DP train setup prepare\n",
            "ｔｒａｉｎ_step = 1\nｍｏｄｅｌ.ｎｏ_ｓｙｎｃ()\n",
        ];
        for text in texts {
            let alone: Vec<bool> = crate::registry::ALL_RULES
                .iter()
                .map(|rule| (rule.could_match)(text))
                .collect();
            let together: Vec<bool> = with_shared_text_scans(text, || {
                crate::registry::ALL_RULES
                    .iter()
                    .map(|rule| (rule.could_match)(text))
                    .collect()
            });
            let reversed: Vec<bool> = with_shared_text_scans(text, || {
                let mut answers: Vec<bool> = crate::registry::ALL_RULES
                    .iter()
                    .rev()
                    .map(|rule| (rule.could_match)(text))
                    .collect();
                answers.reverse();
                answers
            });
            assert_eq!(together, alone, "{text:?}");
            assert_eq!(reversed, alone, "{text:?}");
            // Each names a wrapper, a step or a call some rule looks for, but the comment.
            assert_eq!(alone.contains(&true), !text.contains('#'), "{text:?}");
        }
    }

    /// Runs of non-ASCII characters, repeated ones among them, are each looked at.
    #[test]
    fn look_alikes_are_found_in_runs_and_after_repeats() {
        use super::scan_lookalike;
        let banner = "🚨".repeat(80);
        assert!(!scan_lookalike(&format!(
            "# {banner}\nx = '—→'\n# {banner}\n"
        )));
        for text in [
            format!("# {banner}ｆ\n"),
            format!("# {banner}—ｆ—\n"),
            format!("# {banner}\nx = 1  # é\n"),
            format!("ｆ{banner}"),
            "a—🚨🚨a🚨𝐟".to_string(),
        ] {
            assert!(scan_lookalike(&text), "{text:?}");
        }
    }

    #[test]
    fn non_ascii_text_without_the_word_is_skipped() {
        assert!(!could("# 模型 — données\nx = '✓'\n"));
    }
}
