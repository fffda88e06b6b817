//! Lexical proofs about a file's `.forward` attributes, from its tokens, for the prefilters.
//!
//! Most of the files that spell a call of `forward` are models whose only such call is
//! `super().forward(...)` in their own `forward` (transformers: 185 of the 205 files NMF001's
//! byte scan alone admitted). That call runs after the hooks fired, so NMF001 and NMF002 report
//! nothing there (see [`super::forward_call::ForwardCall::is_override_chain`]). Most files
//! whose bytes read `.forward` without calling it do so in prose: `` [`Model.forward`] `` in
//! a docstring (NMF004). Proving either from the tokens spares parsing the file.

use crate::analysis::forward_call::is_identifier_byte;

/// Whether every `.forward` that `source` calls, or may call, is `super().forward(...)` written
/// in the body of a method named `forward` (a `def` directly in a class body; lambdas and
/// comprehensions inside it count as its body, as they do for the rule), and no `getattr(...)`
/// whose arguments may spell `"forward"` is called (see
/// [`super::forward_call::may_spell_forward`]). A small tokenizer
/// follows strings (f-strings and t-strings with their fields included), comments, brackets,
/// line continuations and indentation; anything it does not follow exactly, such as a tab in
/// an indentation, an unterminated string or a `def` with type parameters, answers `false`,
/// and so does a file that does not parse (it reports no finding anyway).
pub fn calls_only_override_chains(source: &str) -> bool {
    Scanner::new(source, Goals::CHAINS).run().chains
}

/// Whether the code of `source` (not its comments or string literals) may read an attribute
/// `forward` without calling it: a `.forward` whose next token is not `(`. Text the tokenizer
/// is unsure of (see [`calls_only_override_chains`]) counts as such a read.
pub fn may_read_forward_uncalled(source: &str) -> bool {
    !Scanner::new(source, Goals::CALLED).run().called
}

/// [`calls_only_override_chains`] and, unless `also_called` is false (then `false`), the
/// negation of [`may_read_forward_uncalled`], from one pass over the tokens: the files where
/// one is asked are mostly those where the other is (models that spell `super().forward(...)`
/// and `` `Model.forward` `` in their docstrings), and the pass costs as much as parsing.
pub fn override_chains_and_no_uncalled_forward(source: &str, also_called: bool) -> Goals {
    let goals = Goals {
        chains: true,
        called: also_called,
    };
    Scanner::new(source, goals).run()
}

/// What a scan sets out to prove and, once it has run, what it proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Goals {
    /// Every `.forward` called is the override chain (see [`calls_only_override_chains`]).
    pub chains: bool,
    /// Every `.forward` is called (see [`may_read_forward_uncalled`]).
    pub called: bool,
}

impl Goals {
    const CHAINS: Self = Self {
        chains: true,
        called: false,
    };
    const CALLED: Self = Self {
        chains: false,
        called: true,
    };
}

/// The proof failed: a call of `forward` that may be reported, or text the scanner is unsure of.
struct Unsure;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'s> {
    Name(&'s [u8]),
    Op(u8),
    /// A string or number.
    Literal,
    /// The start of a logical line.
    LineStart,
    /// One or more tokens read past without being told apart (see [`Scanner::skip_plain_code`]).
    Skipped,
}

/// Where a string's text is being read.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// The literal text of an f-string or t-string.
    Interpolated { quote: u8, triple: bool, raw: bool },
    /// An expression inside `{...}` of an f-string, with its own bracket depth.
    Field { brackets: usize },
    /// The format specification after `:` in a field.
    Spec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Class,
    Function {
        forward: bool,
    },
    /// A `def` or `class` with type parameters, whose scopes the proof does not model.
    Opaque,
}

/// A `def` or `class` and the indentation of its header: every later logical line indented
/// deeper is in its body.
#[derive(Debug, Clone, Copy)]
struct Scope {
    indent: usize,
    kind: ScopeKind,
    /// The header's `:` was read: what follows is the body.
    body: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    None,
    /// `async` began the logical line: `def` may follow.
    Async,
    /// `def` or `class` was read; its name follows.
    Name {
        class: bool,
    },
    /// The name was read; `[` would open type parameters.
    AfterName,
    /// Parameters or bases, until the `:` outside brackets.
    Rest,
}

struct Scanner<'s> {
    /// The proofs still standing: a goal that fails is dropped, and the scan stops when none
    /// is left.
    goals: Goals,
    bytes: &'s [u8],
    index: usize,
    frames: Vec<Frame>,
    /// Bracket depth outside strings.
    brackets: usize,
    at_line_start: bool,
    /// The indentation of the current logical line.
    line_indent: usize,
    scopes: Vec<Scope>,
    header: Header,
    /// The last five tokens, the most recent last.
    recent: [Token<'s>; 5],
    /// A `.forward` was just read: whether it is the override chain if called.
    pending_forward: Option<bool>,
    /// Open brackets, strings' fields included.
    nesting: usize,
    /// The `getattr(` calls open: the nesting outside each, and where its arguments start.
    getattr_opens: Vec<(usize, usize)>,
    /// A `getattr(...)` just closed, and then its `.`: where its arguments are.
    getattr_closed: Option<(usize, usize)>,
    getattr_dot: Option<(usize, usize)>,
    /// Where the next physical line holding `forward` starts, and `getattr`: tokens are
    /// told apart there (see [`Scanner::skip_plain_code`]).
    forward_lines: NextLine,
    getattr_lines: NextLine,
    /// Runs of plain code also read past brackets and header parameters (see
    /// [`Scanner::skip_plain_code`]); off, they stop at every bracket and line break, as
    /// they did before, for a test to compare the two.
    wide_skips: bool,
}

/// The start of the next physical line that holds a needle, found as the scan moves on.
struct NextLine {
    needle: &'static [u8],
    /// The needle's next occurrence at or after where it was last asked, or `usize::MAX`.
    occurrence: usize,
    /// The start of the physical line holding `occurrence`, or where the search began when
    /// no line break stands between.
    line_start: usize,
}

impl NextLine {
    fn new(needle: &'static [u8]) -> Self {
        Self {
            needle,
            occurrence: 0,
            line_start: 0,
        }
    }

    /// The start of the line holding the needle's first occurrence at or after `index`
    /// (`index` itself when that is on `index`'s line), or `usize::MAX` when there is none.
    /// Each call searches only past the previous occurrence, so the whole scan is linear.
    fn line_start_from(&mut self, bytes: &[u8], index: usize) -> usize {
        if self.occurrence < index {
            self.occurrence = memchr::memmem::find(&bytes[index..], self.needle)
                .map_or(usize::MAX, |at| index + at);
            self.line_start = if self.occurrence == usize::MAX {
                usize::MAX
            } else {
                memchr::memrchr2(b'\n', b'\r', &bytes[index..self.occurrence])
                    .map_or(index, |at| index + at + 1)
            };
        }
        self.line_start
    }
}

/// Bytes that [`Scanner::skip_plain_code`] stops at or counts: strings, comments, brackets,
/// line breaks and continuations, which the scan follows everywhere.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut index = 0;
    let bytes = b"'\"#()[]{}\n\r\\";
    while index < bytes.len() {
        table[bytes[index] as usize] = true;
        index += 1;
    }
    table
};

impl<'s> Scanner<'s> {
    fn new(source: &'s str, goals: Goals) -> Self {
        let text = source.strip_prefix('\u{feff}').unwrap_or(source);
        Self {
            goals,
            bytes: text.as_bytes(),
            index: 0,
            frames: Vec::new(),
            brackets: 0,
            at_line_start: true,
            line_indent: 0,
            scopes: Vec::new(),
            header: Header::None,
            recent: [Token::LineStart; 5],
            pending_forward: None,
            nesting: 0,
            getattr_opens: Vec::new(),
            getattr_closed: None,
            getattr_dot: None,
            forward_lines: NextLine::new(b"forward"),
            getattr_lines: NextLine::new(b"getattr"),
            wide_skips: true,
        }
    }

    /// The goals proven: none when the text is not followed exactly.
    fn run(mut self) -> Goals {
        const NONE: Goals = Goals {
            chains: false,
            called: false,
        };
        if self.tokens().is_err() {
            return NONE;
        }
        // Brackets left open: the file does not parse; it is left to the parser to say so.
        if !self.frames.is_empty() || self.brackets != 0 {
            return NONE;
        }
        Goals {
            chains: self.goals.chains,
            called: self.goals.called && self.pending_forward.is_none(),
        }
    }

    fn tokens(&mut self) -> Result<(), Unsure> {
        while let Some(&byte) = self.bytes.get(self.index) {
            match self.frames.last().copied() {
                Some(Frame::Interpolated { quote, triple, raw }) => {
                    self.interpolated_text(byte, quote, triple, raw)?;
                }
                Some(Frame::Spec) => self.spec_text(byte),
                Some(Frame::Field { .. }) | None => self.code(byte)?,
            }
        }
        Ok(())
    }

    /// Drops the proof that only override chains are called; fails when no goal is left.
    fn drop_chains(&mut self) -> Result<(), Unsure> {
        self.goals.chains = false;
        // What only that proof follows must not keep the scan from skipping plain code.
        self.getattr_opens.clear();
        self.getattr_closed = None;
        self.getattr_dot = None;
        if self.goals.called {
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    /// Drops the proof that every `.forward` is called; fails when no goal is left.
    fn drop_called(&mut self) -> Result<(), Unsure> {
        self.goals.called = false;
        if self.goals.chains {
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    fn code(&mut self, byte: u8) -> Result<(), Unsure> {
        match byte {
            b' ' | b'\t' | b'\x0c' => {
                // Indentation is runs of spaces: skipped at once.
                self.index += 1;
                while self.bytes.get(self.index) == Some(&b' ') {
                    self.index += 1;
                }
            }
            b'\n' | b'\r' => {
                if self.frames.is_empty() && self.brackets == 0 {
                    self.at_line_start = true;
                }
                self.index += 1;
            }
            b'\\' => {
                self.index += 1;
                if self.bytes[self.index..].starts_with(b"\r\n") {
                    self.index += 2;
                } else if matches!(self.bytes.get(self.index), Some(b'\n' | b'\r')) {
                    self.index += 1;
                }
            }
            b'#' => {
                self.index = memchr::memchr2(b'\n', b'\r', &self.bytes[self.index..])
                    .map_or(self.bytes.len(), |offset| self.index + offset);
            }
            _ => {
                self.line_start()?;
                if !STRUCTURAL[usize::from(byte)]
                    && let Some(limit) = self.skip_limit()
                {
                    self.skip_plain_code(limit)?;
                } else {
                    self.code_token(byte)?;
                }
            }
        }
        Ok(())
    }

    /// How far the tokens from here may be read past without telling them apart, or `None`
    /// when the next one must be told apart: outside strings' fields, past the first token of
    /// a logical line, outside a `def` or `class` header (or inside its brackets), with no
    /// `.forward` or `getattr(...)` waiting for its next token, and up to the next physical
    /// line holding `forward` or `getattr` (the override chain is proven from the tokens of
    /// its line).
    fn skip_limit(&mut self) -> Option<usize> {
        let skippable = self.frames.is_empty()
            && (self.header == Header::None
                || (self.wide_skips && self.header == Header::Rest && self.brackets > 0))
            && self.recent[4] != Token::LineStart
            && self.pending_forward.is_none()
            && self.getattr_closed.is_none()
            && self.getattr_dot.is_none();
        if !skippable {
            return None;
        }
        let mut limit = self.forward_lines.line_start_from(self.bytes, self.index);
        if self.goals.chains {
            limit = limit.min(self.getattr_lines.line_start_from(self.bytes, self.index));
        }
        (self.index < limit).then_some(limit)
    }

    /// Reads past plain code (names, numbers, operators, and brackets with the line breaks
    /// inside them) up to the next string, comment, continuation, logical line break or
    /// `limit` (see [`Scanner::skip_limit`]), most of a file's code: what it held is one
    /// [`Token::Skipped`], and a `.` or `@` that ends it is its own token, as what a `forward`
    /// on a later line may follow (`(m.` then `forward)`, `@\` then `super().forward(x)`). A
    /// quote ends the run with the string's prefix, if any, before it. Brackets are counted as
    /// they pass; the run stops at one that closes more than are open, inside a `getattr(...)`
    /// (whose closing parenthesis is followed) and where a header's brackets close (its `:`
    /// is followed).
    fn skip_plain_code(&mut self, limit: usize) -> Result<(), Unsure> {
        let start = self.index;
        let limit = limit.min(self.bytes.len());
        let in_header = self.header != Header::None;
        let mut end = start;
        while end < limit {
            let byte = self.bytes[end];
            if !STRUCTURAL[usize::from(byte)] {
                end += 1;
                continue;
            }
            if !self.wide_skips {
                break;
            }
            match byte {
                b'(' | b'[' | b'{' if self.getattr_opens.is_empty() => {
                    self.brackets += 1;
                    self.nesting += 1;
                }
                b')' | b']' | b'}' if self.brackets > 0 && self.getattr_opens.is_empty() => {
                    self.brackets -= 1;
                    self.nesting = self.nesting.saturating_sub(1);
                    if in_header && self.brackets == 0 {
                        end += 1;
                        break;
                    }
                }
                b'\n' | b'\r' if self.brackets > 0 => {}
                _ => break,
            }
            end += 1;
        }
        let skipped = &self.bytes[start..end];
        if let Some(&quote @ (b'\'' | b'"')) = self.bytes.get(end) {
            let prefix_start = skipped
                .iter()
                .rposition(|&byte| !is_identifier_byte(byte))
                .map_or(0, |at| at + 1);
            let prefix = &skipped[prefix_start..];
            if is_string_prefix(prefix) {
                if prefix_start > 0 {
                    self.push(Token::Skipped, false)?;
                }
                self.index = end;
                return self.string(quote, prefix, false);
            }
        }
        self.index = end;
        self.push(Token::Skipped, false)?;
        match skipped
            .iter()
            .rev()
            .find(|&&byte| !matches!(byte, b' ' | b'\t' | b'\x0c' | b'\n' | b'\r'))
        {
            Some(&last @ (b'.' | b'@')) => self.push(Token::Op(last), false),
            _ => Ok(()),
        }
    }

    /// At the first token of a logical line: closes the scopes it is not indented into.
    fn line_start(&mut self) -> Result<(), Unsure> {
        if !self.at_line_start {
            return Ok(());
        }
        self.at_line_start = false;
        let line = self.bytes[..self.index]
            .iter()
            .rposition(|&byte| byte == b'\n' || byte == b'\r')
            .map_or(0, |at| at + 1);
        let indentation = &self.bytes[line..self.index];
        if indentation.iter().any(|&byte| byte != b' ') {
            return Err(Unsure);
        }
        let indent = indentation.len();
        while self
            .scopes
            .last()
            .is_some_and(|scope| scope.indent >= indent)
        {
            self.scopes.pop();
        }
        self.line_indent = indent;
        self.header = Header::None;
        // The next token learns it is the line's first from this one.
        self.push(Token::LineStart, false)
    }

    fn code_token(&mut self, byte: u8) -> Result<(), Unsure> {
        let bytes = self.bytes;
        let start = self.index;
        let first = self.recent[4] == Token::LineStart;
        if is_identifier_start(byte) {
            let mut end = start + 1;
            while end < bytes.len() && is_identifier_byte(bytes[end]) {
                end += 1;
            }
            let word = &bytes[start..end];
            if let Some(&quote @ (b'\'' | b'"')) = bytes.get(end)
                && is_string_prefix(word)
            {
                self.index = end;
                return self.string(quote, word, first);
            }
            self.index = end;
            return self.push(Token::Name(word), first);
        }
        let number = byte.is_ascii_digit()
            || (byte == b'.' && bytes.get(start + 1).is_some_and(u8::is_ascii_digit));
        if number {
            let mut end = start + 1;
            while let Some(&next) = bytes.get(end) {
                let decimal_point =
                    next == b'.' && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
                if !(next.is_ascii_alphanumeric() || next == b'_' || decimal_point) {
                    break;
                }
                end += 1;
            }
            self.index = end;
            return self.push(Token::Literal, first);
        }
        if byte == b'\'' || byte == b'"' {
            return self.string(byte, b"", first);
        }
        self.index += 1;
        let field = match self.frames.last_mut() {
            Some(Frame::Field { brackets }) => Some(brackets),
            _ => None,
        };
        match (byte, field) {
            (b'(' | b'[' | b'{', Some(brackets)) => *brackets += 1,
            (b'(' | b'[' | b'{', None) => self.brackets += 1,
            (b'}', Some(0)) => {
                self.frames.pop();
                return Ok(());
            }
            (b':', Some(0)) => {
                self.frames.push(Frame::Spec);
                return Ok(());
            }
            (b')' | b']' | b'}', Some(brackets)) => {
                *brackets = brackets.checked_sub(1).ok_or(Unsure)?;
            }
            (b')' | b']' | b'}', None) => {
                self.brackets = self.brackets.checked_sub(1).ok_or(Unsure)?;
            }
            _ => {}
        }
        self.push(Token::Op(byte), first)
    }

    /// A string literal whose opening quote is at the current index.
    fn string(&mut self, quote: u8, prefix: &[u8], first: bool) -> Result<(), Unsure> {
        let has = |letters: &[u8]| prefix.iter().any(|byte| letters.contains(byte));
        let triple = self.bytes[self.index..].starts_with(&[quote; 3]);
        let opening = if triple { 3 } else { 1 };
        if has(b"fFtT") {
            self.index += opening;
            self.frames.push(Frame::Interpolated {
                quote,
                triple,
                raw: has(b"rR"),
            });
            // The literal is a token of the code around it once it closes; for what follows a
            // `.forward`, it is one now.
            return self.push(Token::Literal, first);
        }
        let mut index = self.index + opening;
        if triple {
            // Docstrings are much of a file's text: jumped over to the next quote or backslash.
            loop {
                let rest = self.bytes.get(index..).ok_or(Unsure)?;
                let at = index + memchr::memchr2(quote, b'\\', rest).ok_or(Unsure)?;
                if self.bytes[at] == b'\\' {
                    // In raw strings too, a backslash keeps the next character from ending it.
                    index = at + 2;
                } else if self.bytes[at..].starts_with(&[quote; 3]) {
                    self.index = at + opening;
                    return self.push(Token::Literal, first);
                } else {
                    index = at + 1;
                }
            }
        }
        loop {
            let byte = *self.bytes.get(index).ok_or(Unsure)?;
            match byte {
                // In raw strings too, a backslash keeps the next character from ending it.
                b'\\' => index += 2,
                b'\n' | b'\r' if !triple => return Err(Unsure),
                _ if byte == quote && (!triple || self.bytes[index..].starts_with(&[quote; 3])) => {
                    self.index = index + opening;
                    return self.push(Token::Literal, first);
                }
                _ => index += 1,
            }
        }
    }

    fn interpolated_text(
        &mut self,
        byte: u8,
        quote: u8,
        triple: bool,
        raw: bool,
    ) -> Result<(), Unsure> {
        let next = self.bytes.get(self.index + 1).copied();
        match byte {
            b'\\' => match next {
                // `\{` is a backslash, then a field.
                Some(b'{' | b'}') => self.index += 1,
                Some(b'N') if !raw && self.bytes.get(self.index + 2) == Some(&b'{') => {
                    // `\N{NAME}` names a character: its braces open no field.
                    let close = memchr::memchr(b'}', &self.bytes[self.index..]).ok_or(Unsure)?;
                    self.index += close + 1;
                }
                _ => self.index += 2,
            },
            b'{' if next == Some(b'{') => self.index += 2,
            b'}' if next == Some(b'}') => self.index += 2,
            b'{' => {
                self.index += 1;
                self.frames.push(Frame::Field { brackets: 0 });
            }
            b'\n' | b'\r' if !triple => return Err(Unsure),
            _ if byte == quote
                && (!triple || self.bytes[self.index..].starts_with(&[quote; 3])) =>
            {
                self.index += if triple { 3 } else { 1 };
                self.frames.pop();
            }
            _ => self.index += 1,
        }
        Ok(())
    }

    fn spec_text(&mut self, byte: u8) {
        self.index += 1;
        match byte {
            b'{' => self.frames.push(Frame::Field { brackets: 0 }),
            b'}' => {
                // The end of the specification is the end of its field.
                self.frames.pop();
                self.frames.pop();
            }
            _ => {}
        }
    }

    /// Reads one token of code: follows `def` and `class` headers and checks each `.forward`.
    fn push(&mut self, token: Token<'s>, first: bool) -> Result<(), Unsure> {
        if let Some(chain) = self.pending_forward.take() {
            let may_call = matches!(token, Token::Op(b'(' | b')' | b'.'));
            if self.goals.chains && may_call && !(chain && token == Token::Op(b'(')) {
                self.drop_chains()?;
            }
            if self.goals.called && token != Token::Op(b'(') {
                self.drop_called()?;
            }
        }
        if token == Token::LineStart {
            self.recent.rotate_left(1);
            self.recent[4] = token;
            return Ok(());
        }
        self.header(token, first)?;
        if self.goals.chains && self.follow_getattr(token).is_err() {
            self.drop_chains()?;
        }
        if token == Token::Name(b"forward") && self.recent[4] == Token::Op(b'.') {
            let chain = matches!(
                self.recent,
                [before, Token::Name(b"super"), Token::Op(b'('), Token::Op(b')'), Token::Op(b'.')]
                    if !matches!(before, Token::Op(b'.' | b'@'))
            );
            self.pending_forward = Some(chain && self.in_forward_method_body());
        }
        self.recent.rotate_left(1);
        self.recent[4] = token;
        Ok(())
    }

    /// Fails at a call of `getattr(...)` (`getattr(...)(...)`, `getattr(...).__call__(...)`)
    /// whose arguments may spell `"forward"`.
    fn follow_getattr(&mut self, token: Token<'s>) -> Result<(), Unsure> {
        let may_spell = |(start, end): (usize, usize)| {
            super::forward_call::may_spell_forward(&self.bytes[start..end])
        };
        if let Some(arguments) = self.getattr_dot.take()
            && let Token::Name(name) = token
            && (name == b"__call__" || !name.is_ascii())
            && may_spell(arguments)
        {
            return Err(Unsure);
        }
        if let Some(arguments) = self.getattr_closed.take() {
            match token {
                Token::Op(b'(') if may_spell(arguments) => return Err(Unsure),
                Token::Op(b'.') => self.getattr_dot = Some(arguments),
                // `(getattr(m, "forward"))(x)`
                Token::Op(b')') => self.getattr_closed = Some(arguments),
                _ => {}
            }
        }
        match token {
            Token::Op(b'(' | b'[' | b'{') => {
                if token == Token::Op(b'(') && self.recent[4] == Token::Name(b"getattr") {
                    self.getattr_opens.push((self.nesting, self.index));
                }
                self.nesting += 1;
            }
            Token::Op(b')' | b']' | b'}') => {
                self.nesting = self.nesting.saturating_sub(1);
                if self
                    .getattr_opens
                    .last()
                    .is_some_and(|&(outside, _)| outside == self.nesting)
                    && let Some((_, start)) = self.getattr_opens.pop()
                    && token == Token::Op(b')')
                {
                    // The closing parenthesis was read: the arguments end before it.
                    self.getattr_closed = Some((start, self.index - 1));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn header(&mut self, token: Token<'s>, first: bool) -> Result<(), Unsure> {
        match (self.header, token) {
            (Header::None, Token::Name(b"async")) if first => self.header = Header::Async,
            (Header::None, Token::Name(keyword @ (b"def" | b"class"))) if first => {
                self.open_scope(keyword == b"class");
            }
            (Header::Async, Token::Name(b"def")) => self.open_scope(false),
            (Header::Async, _) => self.header = Header::None,
            (Header::Name { class }, Token::Name(name)) => {
                if let Some(scope) = self.scopes.last_mut() {
                    scope.kind = if class {
                        ScopeKind::Class
                    } else {
                        ScopeKind::Function {
                            forward: name == b"forward",
                        }
                    };
                }
                self.header = Header::AfterName;
            }
            (Header::Name { .. }, _) => return Err(Unsure),
            (Header::AfterName, Token::Op(b'[')) => {
                if let Some(scope) = self.scopes.last_mut() {
                    scope.kind = ScopeKind::Opaque;
                }
                self.header = Header::Rest;
            }
            (Header::AfterName, _) | (Header::Rest, _) => {
                self.header = Header::Rest;
                // The header's first token after the name may be its `:` (`class A:`).
                if self.brackets == 0 && self.frames.is_empty() {
                    match token {
                        Token::Op(b':') => {
                            if let Some(scope) = self.scopes.last_mut() {
                                scope.body = true;
                            }
                            self.header = Header::None;
                        }
                        // A lambda's `:` in a return annotation would end the header early.
                        Token::Name(b"lambda") => return Err(Unsure),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `def` or `class` began the logical line: its scope opens, its name comes next.
    fn open_scope(&mut self, class: bool) {
        self.scopes.push(Scope {
            indent: self.line_indent,
            kind: ScopeKind::Opaque,
            body: false,
        });
        self.header = Header::Name { class };
    }

    /// Inside the body of a `def forward` whose scope is directly a class body.
    fn in_forward_method_body(&self) -> bool {
        matches!(
            self.scopes.as_slice(),
            [
                ..,
                Scope {
                    kind: ScopeKind::Class,
                    body: true,
                    ..
                },
                Scope {
                    kind: ScopeKind::Function { forward: true },
                    body: true,
                    ..
                }
            ]
        )
    }
}

fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || !byte.is_ascii()
}

/// `r`, `b`, `u`, `f`, `t` and their pairs, in either case.
fn is_string_prefix(word: &[u8]) -> bool {
    word.len() <= 2
        && word
            .iter()
            .all(|byte| matches!(byte.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b't'))
}

#[cfg(test)]
mod tests {
    use super::{calls_only_override_chains as proven, may_read_forward_uncalled as reads};
    use crate::analysis::forward_call::could_contain_forward_call as could;

    /// A model whose `forward` continues its parent's, in the shapes transformers writes.
    const MODEL: &str = r#"
import torch


class Block(Base):
    """A block.

    def other(self):
        return super().forward(x)
    """

    @torch.no_grad()
    def forward(self, x: "T" = None, **super_kwargs) -> torch.Tensor:
        y = super().forward(x)  # the parent's forward
        z = f"{y!r:>{width}} {d["key"]} {'}'}" + rf"\{x}" + f"\N{BULLET}"
        w = [super().forward(v) for v in x] + (lambda: super().forward(x))()
        return super().forward(
            x,
            **super_kwargs,
        ) + \
            super(). forward (y)


class Wrapper(
    Base,
    metaclass=Meta,
):
    if TYPE_CHECKING:
        pass
    else:
        async def forward(self, x): return await super().forward(x)

    def other(self):
        return self.forward
"#;

    #[test]
    fn override_chains_in_forward_methods_are_proven() {
        assert!(proven(MODEL));
        assert!(!could(MODEL), "{MODEL}");
        assert!(proven(
            "\u{feff}class A(B):\n    def forward(self, x): return super().forward(x)\n"
        ));
        // `t"..."` template strings have fields too.
        assert!(proven(
            "class A(B):\n    def forward(self, x):\n        s = t'{x}'\n        return super().forward(x)\n"
        ));
    }

    #[test]
    fn chains_outside_a_forward_method_are_admitted() {
        let sources = [
            // Another method, a module-level function, a nested function or class.
            "class A(B):\n    def other(self, x):\n        return super().forward(x)\n",
            "def forward(x):\n    return super().forward(x)\n",
            "class A(B):\n    def forward(self, x):\n        def inner():\n            return super().forward(x)\n        return inner()\n",
            "class A(B):\n    def forward(self, x):\n        class C(D):\n            y = super().forward(x)\n",
            // After the method, dedented to the class body or the module.
            "class A(B):\n    def forward(self, x):\n        pass\n    y = super().forward(x)\n",
            "class A(B):\n    def forward(self, x):\n        pass\ny = super().forward(x)\n",
            // In the header: a default value or a decorator.
            "class A(B):\n    def forward(self, x=super().forward(1)):\n        pass\n",
            "class A(B):\n    def forward(self, x):\n        @super().forward(x)\n        def f(): pass\n",
            // Type parameters: the proof does not model their scope.
            "class A(B):\n    def forward[T](self, x):\n        return super().forward(x)\n",
            // Not the chain's shape.
            "class A(B):\n    def forward(self, x):\n        return super().forward.__call__(x)\n",
            "class A(B):\n    def forward(self, x):\n        return (super().forward)(x)\n",
            "class A(B):\n    def forward(self, x):\n        return m.super().forward(x)\n",
            "class A(B):\n    def forward(self, x):\n        return (m.\n            super().forward(x))\n",
            "class A(B):\n    def forward(self, x):\n        return m.\\\n            super().forward(x)\n",
            "class A(B):\n    def forward(self, x):\n        return super(A, self).forward(x)\n",
            "class A(B):\n    def forward(self, x):\n        return self.layer.forward(x)\n",
            "class A(B):\n    def forward(self, x):\n        return ｓuper().forward(x)\n",
            // Indented with a tab.
            "class A(B):\n\tdef forward(self, x):\n\t\treturn super().forward(x)\n",
            // Unterminated strings.
            "class A(B):\n    def forward(self, x):\n        return super().forward(x)\ns = '\n",
            "class A(B):\n    def forward(self, x):\n        return super().forward(x)\ns = f'{x\n",
        ];
        for source in sources {
            assert!(!proven(source), "{source:?} was proven");
            assert!(could(source), "{source:?} was ruled out");
        }
    }

    /// Text in strings that looks like code changes nothing: the tokens are followed exactly.
    #[test]
    fn strings_cannot_fake_a_forward_method() {
        let sources = [
            "class A(B):\n    def other(self):\n        s = \"\"\"\n    def forward(self):\n\"\"\"\n        return super().forward(x)\n",
            "class A(B):\n    def forward(self):\n        s = f\"{d[\"a\"]}\"\n        return super().forward(x)\n    def other(self):\n        s = f\"{d[\"b\"]}\"\n        return super().forward(x)\n",
            "class A(B):\n    def forward(self):\n        s = f'''{x:{'\"'}}\n    def forward(self):'''\n    def other(self):\n        return super().forward(x)\n",
            "class A(B):\n    def forward(self):\n        s = '\\'' # '\n    def other(self):\n        return super().forward(x)\n",
            "class A(B):\n    def forward(self):\n        s = f\"{{\" + \"}}\"\n    def other(self):\n        return super().forward(x)\n",
            // Triple-quoted strings, jumped over to their quotes and backslashes: a lone or
            // doubled quote, an escaped quote and an escaped backslash do not end them.
            "class A(B):\n    def other(self):\n        s = '''a ' '' \\''' \\\\\n    def forward(self):\n'''\n        return super().forward(x)\n",
            "class A(B):\n    def other(self):\n        s = r\"\"\"\\\"\"\"\n    def forward(self):\n\"\"\"\n        return super().forward(x)\n",
        ];
        for source in sources {
            assert!(!proven(source), "{source:?} was proven");
            assert!(could(source), "{source:?} was ruled out");
            // The same text with both methods named `forward` is proven: the strings were
            // followed, not given up on.
            let both_forward = source.replace("def other", "def forward");
            assert!(proven(&both_forward), "{both_forward:?} was not proven");
        }
    }

    /// `getattr(...)` with an f-string among its arguments: the tokens find where it closes.
    #[test]
    fn getattr_calls_with_f_strings_are_followed() {
        let silent = [
            "x = getattr(self, f\"{prefix}inv_freq\").copy_(y)\n",
            "x = getattr(self, f\"{p})(\")\nz = getattr(c, 'head_dim', None)\n",
            "x = getattr(self, f\"{a}_b\")(y)\n",
            "class A(B):\n    def forward(self, x):\n        y = getattr(self, f'{n}_proj')(x)\n        return super().forward(y)\n",
        ];
        for source in silent {
            assert!(proven(source), "{source:?} was not proven");
            assert!(!could(source), "{source:?} was admitted");
        }
        let called = [
            "x = getattr(m, f'{x}' + 'forward')(y)\n",
            "x = getattr(m, 'forward', f'{d}')(y)\n",
            "x = (getattr(m, 'forward', f'{d}'))(y)\n",
            "x = getattr(m, 'forward', f'{d}').__call__(y)\n",
            "x = getattr(m, 'forward', f'{d}')._\u{ff3f}call__(y)\n",
            "x = getattr(m, 'for\\x77ard', f'{d}')(y)\n",
            "x = [getattr(m, f'{d})' 'forward')(y)]\n",
        ];
        for source in called {
            assert!(!proven(source), "{source:?} was proven");
            assert!(could(source), "{source:?} was ruled out");
        }
    }

    /// Non-ASCII spellings that Python reads as `forward` are left to the parser.
    #[test]
    fn look_alikes_are_admitted() {
        let sources = [
            "class A(B):\n    def forward(self, x):\n        return super().ｆｏｒｗａｒｄ(x)\n",
            "class A(B):\n    def ｆｏｒｗａｒｄ(self, x):\n        return super().forward(x)\n",
            "class A(B):\n    def forward(self, x):\n        return super().forward(x)\n    def f(self):\n        return self.ｆorward(x)\n",
            "class A(B):\n    def forward(self, x):\n        return super().forward(x)\n    def f(self):\n        return getattr(self, 'forward')(x)\n",
        ];
        for source in sources {
            assert!(could(source), "{source:?} was ruled out");
        }
    }

    /// Plain code is read past a run at a time (see `Scanner::skip_plain_code`): what a
    /// `forward` or `getattr(...)` on a later line follows is still seen.
    #[test]
    fn what_a_later_line_continues_is_seen_past_plain_code() {
        let admitted = [
            // The dot, a decorator's `@` or a matrix product before `super` on the line before.
            "class A(B):\n    def forward(self, x):\n        return (m .  \n            super().forward(x))\n",
            "class A(B):\n    def forward(self, x):\n        return (m.  # note\n            super().forward(x))\n",
            "class A(B):\n    def forward(self, x):\n        @\\\n        super().forward(x)\n        def f(): pass\n",
            // A dot on the line before `forward`.
            "class A(B):\n    def other(self, x):\n        return (self.layer.\n            forward(x))\n",
            "y = self.layer.\\\n    forward(x)\n",
            // `getattr(...)` called on a line without the name.
            "x = (getattr(m, 'forward', f'{d}')\n     .__call__(y))\n",
            "x = getattr(m,\n    'forward', f'{d}')(y)\n",
            "x = [getattr(m, f'{d}',\n    'forward')\n    (y)]\n",
        ];
        for source in admitted {
            assert!(!proven(source), "{source:?} was proven");
            assert!(could(source), "{source:?} was ruled out");
        }
        let reads = [
            "y = (m.\n     forward)\n",
            "y = (m .  \n     forward)\n",
            "y = m.\\\n    forward\n",
            "y = [a, b, m.\n     forward]\n",
        ];
        for source in reads {
            assert!(super::may_read_forward_uncalled(source), "{source:?}");
        }
        // String prefixes read past with the code before them.
        let prefixed = [
            "class A(B):\n    def other(self):\n        s = x + rb'''\n    def forward(self):\n'''\n        return super().forward(x)\n",
            "class A(B):\n    def other(self):\n        s = x + Rf'''{y}\n    def forward(self):\n'''\n        return super().forward(x)\n",
        ];
        for source in prefixed {
            assert!(!proven(source), "{source:?} was proven");
            let both_forward = source.replace("def other", "def forward");
            assert!(proven(&both_forward), "{both_forward:?} was not proven");
        }
    }

    /// Texts where the two proofs part ways at different points, or fail together.
    const BOTH_WAYS: [&str; 14] = [
        MODEL,
        // The chain fails first, then a read of `forward` follows (or does not).
        "class A(B):\n    def other(self, x):\n        return super().forward(x)\n\nhook = m.forward\n",
        "class A(B):\n    def other(self, x):\n        return super().forward(x)\n\ny = m.forward(x)\n",
        // A read first, then a call that is not the chain (or is).
        "hook = m.forward\nclass A(B):\n    def other(self, x):\n        return super().forward(x)\n",
        "hook = m.forward\nclass A(B):\n    def forward(self, x):\n        return super().forward(x)\n",
        // `getattr(...)` calls fail the chain alone, on lines read token by token.
        "x = getattr(m, 'forward', f'{d}')(y)\nhook = m.forward\n",
        "x = getattr(m, 'forward', f'{d}')(y)\n",
        "x = (getattr(m,\n  'forward', f'{d}')\n  .__call__(y))\nz = [m.forward\n  (x)]\n",
        "x = getattr(m, f'{d}')\ny = x(1)\nz = (m.\n  forward)\n",
        // Text neither proof follows.
        "s = 'unterminated\nhook = m.forward\n",
        "class A(B):\n\tdef forward(self, x):\n\t\treturn super().forward(x)\n",
        "y = (m.forward\n",
        "y = m.forward",
        "",
    ];

    /// Snippets in the shapes model files take, for [`the_pass_answers_as_the_reference_does`].
    const DIFFERENTIAL_BASES: [&str; 5] = [
        MODEL,
        "x = getattr(m,\n    f'{d}' + x)(y)\nz = (getattr(m,\n    f'{d}' + a[b]).\n    __call__(y))\n",
        r#"class LlamaModel(LlamaPreTrainedModel):
    def __init__(self, config: LlamaConfig, layers: list[int] = [1, (2)]):
        super().__init__(config)
        self.layers = nn.ModuleList(
            [LlamaLayer(config, i) for i in range(config.num_layers)]
        )
        self.act = getattr(config, "act", None)

    @can_return_tuple
    def forward(
        self,
        input_ids: Optional[torch.LongTensor] = None,
        mask: dict[str, (int, int)] = {},
    ) -> tuple[torch.Tensor, ...] | BaseModelOutput:
        r"""
        Same as [`LlamaModel.forward`], see `m.forward(x)`.
        """
        h = self.embed(input_ids)
        for layer in self.layers[: self.config.n]:
            h = layer(h, mask={k: v for k, v in mask.items()})
        return super().forward(h)
"#,
        "def helper(x, *, f=lambda y: y):\n    y = (x.\n         forward)\n    z = [m.forward(a) for a in (x, y)]\n    return getattr(m, f\"{name}_proj\")(z)\n",
        "class A(B, metaclass=M):\n    x: int = {\"a\": (1, [2])}\n    async def forward(self, x, y=(1,\n            2)):\n        return await super().forward(x)\n\n    def other(self):\n        return self.forward\n",
    ];

    /// Pieces that make the tokens hard to follow, inserted into the snippets.
    const DIFFERENTIAL_PIECES: [&str; 46] = [
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "\n",
        "\r\n",
        "\\\n",
        " ",
        "    ",
        "\t",
        ".",
        "@",
        ":",
        "#",
        "# '\"(\n",
        "'",
        "\"",
        "'''",
        "\"\"\"",
        "f'{x}'",
        "f\"{d[\"k\"]!r:>{w}}\"",
        "rf'\\{x}'",
        "f'''{{}}\n{x:{'\"'}}'''",
        "'\\''",
        "b'x'",
        "t'{x}'",
        "super().forward(x)",
        ".forward",
        "forward",
        "m.forward",
        "super()",
        "getattr(",
        "getattr(m, 'forward')",
        "getattr(m, f'{d}')",
        "(x)",
        ".__call__(y)",
        "def ",
        "def forward(self, x):\n        ",
        "class C(D):\n    ",
        "async ",
        "lambda: ",
        "\n    ",
        "\n        ",
        "\u{ff46}",
    ];

    /// The pass answers what the same scan answers with narrow runs (`wide_skips` off: runs
    /// stop at every bracket and line break, as they did before they read brackets and header
    /// parameters past), on texts mutated from model-like snippets.
    #[test]
    fn the_pass_answers_as_the_reference_does() {
        use super::override_chains_and_no_uncalled_forward as pass;
        // The same scan with runs that stop at every bracket and line break.
        let reference = |source: &str, also_called: bool| {
            let mut scanner = super::Scanner::new(
                source,
                super::Goals {
                    chains: true,
                    called: also_called,
                },
            );
            scanner.wide_skips = false;
            scanner.run()
        };
        // A fixed xorshift sequence: the same texts on every run.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % bound as u64).unwrap_or(0)
        };
        let mut compared = 0;
        for base in DIFFERENTIAL_BASES.iter().chain(BOTH_WAYS.iter()) {
            for _ in 0..1500 {
                let mut text = (*base).to_owned();
                for _ in 0..=next(4) {
                    let mut at = next(text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    if next(3) == 0 {
                        let mut end = (at + next(12)).min(text.len());
                        while !text.is_char_boundary(end) {
                            end += 1;
                        }
                        text.replace_range(at..end, "");
                    } else {
                        text.insert_str(at, DIFFERENTIAL_PIECES[next(DIFFERENTIAL_PIECES.len())]);
                    }
                }
                for also_called in [true, false] {
                    assert_eq!(
                        pass(&text, also_called),
                        reference(&text, also_called),
                        "{text:?} {also_called}"
                    );
                }
                compared += 1;
            }
        }
        assert!(compared > 20_000);
    }

    /// One pass answers both questions as a pass for each does.
    #[test]
    fn one_pass_proves_what_two_do() {
        use super::{Goals, override_chains_and_no_uncalled_forward as both};
        for source in BOTH_WAYS {
            let alone = Goals {
                chains: proven(source),
                called: !reads(source),
            };
            assert_eq!(both(source, true), alone, "{source:?}");
            let chains_only = Goals {
                called: false,
                ..alone
            };
            assert_eq!(both(source, false), chains_only, "{source:?}");
        }
        // The texts part the proofs both ways.
        let answers: Vec<Goals> = BOTH_WAYS.iter().map(|source| both(source, true)).collect();
        for (chains, called) in [(true, false), (false, true), (false, false), (true, true)] {
            assert!(
                answers.contains(&Goals { chains, called }),
                "no text gives {chains} {called}"
            );
        }
    }

    /// NMF004 asked after NMF001 in the same scope is answered from NMF001's pass, as alone.
    #[test]
    fn prefilters_sharing_the_pass_answer_as_alone() {
        use crate::analysis::forward_call::{may_read_forward_uncalled, with_shared_text_scans};
        for source in BOTH_WAYS {
            let alone = (could(source), may_read_forward_uncalled(source));
            let together = with_shared_text_scans(source, || {
                (could(source), may_read_forward_uncalled(source))
            });
            assert_eq!(together, alone, "{source:?}");
            assert_eq!(alone.1, reads(source), "{source:?}");
        }
    }

    #[test]
    fn reads_of_forward_in_prose_are_not_code() {
        let prose = [
            "def f(x):\n    \"\"\"Same as [`Model.forward`], but faster.\"\"\"\n    return x\n",
            "# Overrides DFineModel.forward: ...\nx = 1\n",
            "x = 'see m.forward'\ny = f\"{m.forward(x)} and m.forward\"\n",
            "y = m.forward(x)\nz = (m.forward  # the call\n     (x))\n",
        ];
        for source in prose {
            assert!(!reads(source), "{source:?} reads forward");
        }
        let code = [
            "params = inspect.signature(self.forward).parameters\n",
            "hook = m.forward\n",
            "hook = m.forward",
            "y = (m.forward)(x)\n",
            "y = f\"{m.forward}\"\n",
            "y = (m.  # note\n     forward)\n",
            "y = m.forward.__self__\n",
            "s = 'unterminated\nhook = m.forward\n",
        ];
        for source in code {
            assert!(reads(source), "{source:?} does not read forward");
        }
    }
}
