//! The token pass of `forward_tokens` as it was before it read brackets and header parameters
//! past in runs: the reference the differential test compares the pass with.

use crate::analysis::forward_call::is_identifier_byte;
use crate::analysis::forward_tokens::Goals;

/// [`calls_only_override_chains`] and, unless `also_called` is false (then `false`), the
/// negation of [`may_read_forward_uncalled`], from one pass over the tokens: the files where
/// one is asked are mostly those where the other is (models that spell `super().forward(...)`
/// and `` `Model.forward` `` in their docstrings), and the pass costs as much as parsing.
pub(super) fn override_chains_and_no_uncalled_forward(source: &str, also_called: bool) -> Goals {
    let goals = Goals {
        chains: true,
        called: also_called,
    };
    Scanner::new(source, goals).run()
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

/// Bytes that [`Scanner::skip_plain_code`] stops at: strings, comments, brackets, line breaks
/// and continuations, which the scan follows token by token everywhere.
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
                if !STRUCTURAL[usize::from(byte)] && self.may_skip() {
                    self.skip_plain_code()?;
                } else {
                    self.code_token(byte)?;
                }
            }
        }
        Ok(())
    }

    /// Whether the tokens from here to the next string, comment, bracket or line break may
    /// be read past without telling them apart: outside strings' fields, past the first token
    /// of a logical line, outside a `def` or `class` header, with no `.forward` or
    /// `getattr(...)` waiting for its next token, and on a physical line holding neither
    /// `forward` nor `getattr` (the override chain is proven from the tokens of its line).
    fn may_skip(&mut self) -> bool {
        self.frames.is_empty()
            && self.header == Header::None
            && self.recent[4] != Token::LineStart
            && self.pending_forward.is_none()
            && self.getattr_closed.is_none()
            && self.getattr_dot.is_none()
            && self.index < self.forward_lines.line_start_from(self.bytes, self.index)
            && (!self.goals.chains
                || self.index < self.getattr_lines.line_start_from(self.bytes, self.index))
    }

    /// Reads past plain code (names, numbers, operators) up to the next byte the scan follows
    /// (see [`STRUCTURAL`]), most of a file's code: what it held is one [`Token::Skipped`], and
    /// a `.` or `@` that ends it is its own token, as what a `forward` on a later line may
    /// follow (`(m.` then `forward)`, `@\` then `super().forward(x)`). A quote ends the run
    /// with the string's prefix, if any, before it.
    fn skip_plain_code(&mut self) -> Result<(), Unsure> {
        let start = self.index;
        let mut end = start;
        while end < self.bytes.len() && !STRUCTURAL[usize::from(self.bytes[end])] {
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
            .find(|&&byte| !matches!(byte, b' ' | b'\t' | b'\x0c'))
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
