//! What CPython refuses for nesting alone, found in one pass over the text before any tree is
//! built: a syntax tree nests as deep as the code, and costs about a kilobyte per level to
//! build, walk and drop, so two megabytes of `-` signs would take two gigabytes. CPython never
//! gets that far:
//!
//! - its tokenizer stops at the 201st bracket open at once (`MAXLEVEL`, 200: `SyntaxError: too
//!   many nested parentheses`), f-string replacement fields included;
//! - its tokenizer stops at the 100th level of indentation (`MAXINDENT`: `IndentationError: too
//!   many levels of indentation`, at the start of the line that opens it);
//! - its parser stops when its rules nest 6,000 calls deep (`MAXSTACK`: `MemoryError: Parser
//!   stack overflowed - Python source too complex to parse`).
//!
//! The first two are reproduced exactly. For the second, what the scan counts is a lower bound of the
//! parser's depth: each bracket, unary `-`/`+`/`~`, `not` and `**` on the way to a point of the
//! code is at least one rule call of CPython's parser; a binary operator or a delimiter ends the
//! operand those opened. A file is refused only when even that bound passes the limit, so
//! nothing CPython accepts is refused; what the bound misses (long chains of `lambda` or of
//! conditional expressions) is parsed as before. Anything the scan is unsure of (an unterminated
//! string) ends it without a verdict.

/// CPython's tokenizer: brackets open at once (`MAXLEVEL` in `Parser/lexer/state.h`).
const MAX_BRACKETS: usize = 200;

/// CPython's parser: rule calls nested (`MAXSTACK` in `Parser/parser.c`).
const MAX_PARSER_DEPTH: usize = 6_000;

/// CPython's tokenizer: indentation levels, the module's included (`MAXINDENT` in
/// `Parser/lexer/state.h`): the 100th level a line opens is refused.
const MAX_INDENTS: usize = 100;

/// CPython's tokenizer: a tab moves to the next multiple of 8 columns.
const TAB_SIZE: usize = 8;

pub const TOO_DEEP_INDENTATION: &str = "IndentationError: too many levels of indentation";
pub const TOO_MANY_BRACKETS: &str = "SyntaxError: too many nested parentheses";
pub const TOO_COMPLEX: &str =
    "MemoryError: Parser stack overflowed - Python source too complex to parse";

/// Why CPython refuses a text, and the byte offset where the scan knew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub message: &'static str,
    pub offset: usize,
}

/// Where the scan is.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// Code: the module's top level, inside brackets, or an f-string's replacement field
    /// (`field`). `base` is the parser depth where it starts; `run` what the current operand
    /// added (unary operators, `**`).
    Code {
        base: usize,
        run: usize,
        field: bool,
    },
    /// A string literal.
    Str {
        quote: u8,
        triple: bool,
        interpolated: bool,
        raw: bool,
        /// The depth of the code around it, where its fields start.
        base: usize,
    },
    /// A format spec, after `:` in a replacement field; ends with the field's `}`.
    Spec { base: usize },
}

/// Why the scan stopped early.
enum Stop {
    Refused(Refusal),
    /// The text is not what the scan understands (an unterminated string): no verdict.
    Unsure,
}

/// The refusal CPython would give `source` for its nesting, if any.
pub fn refusal(source: &str) -> Option<Refusal> {
    let mut scan = Scan {
        bytes: source.as_bytes(),
        stack: vec![Frame::Code {
            base: 0,
            run: 0,
            field: false,
        }],
        brackets: 0,
        after_operand: false,
        after_is: false,
        indents: vec![Indent::default()],
    };
    // The first line is indented like any other.
    let mut index = match scan.indentation(0) {
        Ok(index) => index,
        Err(Stop::Refused(refusal)) => return Some(refusal),
        Err(Stop::Unsure) => return None,
    };
    while index < scan.bytes.len() {
        let step = match scan.stack.last() {
            Some(&Frame::Code { .. }) => scan.code(index),
            Some(&Frame::Str {
                quote,
                triple,
                interpolated,
                raw,
                ..
            }) => scan.string(index, quote, triple, interpolated, raw),
            Some(&Frame::Spec { .. }) => scan.spec(index),
            None => Err(Stop::Unsure),
        };
        match step {
            Ok(next) => index = next,
            Err(Stop::Refused(refusal)) => return Some(refusal),
            Err(Stop::Unsure) => return None,
        }
    }
    None
}

struct Scan<'a> {
    bytes: &'a [u8],
    stack: Vec<Frame>,
    /// Brackets open, CPython's `tok->level`.
    brackets: usize,
    /// The last token ends an operand (a name, number, string, closing bracket): a `-` after
    /// it is binary, a `**` a power.
    after_operand: bool,
    /// The last token is `is` (`is not` is one operator).
    after_is: bool,
    /// The indentation levels open, the module's first (CPython's `indstack`/`altindstack`).
    indents: Vec<Indent>,
}

/// The width of one level of indentation as CPython's tokenizer measures it: its column with
/// tabs to the next multiple of 8, and with tabs as one column (both must agree on the order
/// of levels, or the tokenizer refuses the mix of tabs and spaces).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Indent {
    column: usize,
    tabs_as_one: usize,
}

/// What a byte starts in code (see [`Scan::code`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A blank, or the backslash of a continued line.
    Blank,
    LineBreak,
    Comment,
    Quote,
    Open,
    Close,
    Colon,
    /// `-`, `+`, `~`.
    Sign,
    Star,
    Dot,
    Digit,
    /// A byte of a name (an ASCII letter, `_`, any byte of a non-ASCII character).
    Word,
    /// Any other operator or delimiter.
    Other,
}

/// Each byte's [`Class`], looked up once per byte instead of tested against each case.
static CLASSES: [Class; 256] = {
    let mut classes = [Class::Other; 256];
    let mut byte = 0;
    while byte < 256 {
        // `byte < 256`: the cast keeps every bit.
        #[allow(clippy::cast_possible_truncation)]
        let value = byte as u8;
        classes[byte] = match value {
            b' ' | b'\t' | b'\x0c' | b'\\' => Class::Blank,
            b'\n' | b'\r' => Class::LineBreak,
            b'#' => Class::Comment,
            b'\'' | b'"' => Class::Quote,
            b'(' | b'[' | b'{' => Class::Open,
            b')' | b']' | b'}' => Class::Close,
            b':' => Class::Colon,
            b'-' | b'+' | b'~' => Class::Sign,
            b'*' => Class::Star,
            b'.' => Class::Dot,
            b'0'..=b'9' => Class::Digit,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | 0x80..=0xff => Class::Word,
            _ => Class::Other,
        };
        byte += 1;
    }
    classes
};

/// Whether each byte continues a name ([`Class::Word`] or [`Class::Digit`]): names are most
/// of the bytes of code, and a test of one flag is the cheapest way through them.
static NAME_BYTES: [bool; 256] = {
    let mut names = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        names[byte] = matches!(CLASSES[byte], Class::Word | Class::Digit);
        byte += 1;
    }
    names
};

fn class_of(byte: u8) -> Class {
    CLASSES[usize::from(byte)]
}

/// What a word does to the operand being read.
enum WordEffect {
    /// `not`: a unary operator (unless it follows an operand or `is`).
    Not,
    /// `is`: ends the operand; a `not` after it is part of the operator.
    Is,
    /// `await`: part of the operand.
    Await,
    /// A keyword that ends the operand.
    Ends,
    /// A name or constant: an operand.
    Operand,
}

/// The [`WordEffect`] of `word`; a keyword is 2 to 8 bytes long, so the length picks the few
/// it may be.
fn word_effect(word: &[u8]) -> WordEffect {
    match word.len() {
        2 => match word {
            b"is" => WordEffect::Is,
            b"or" | b"in" | b"if" | b"as" => WordEffect::Ends,
            _ => WordEffect::Operand,
        },
        3 => match word {
            b"not" => WordEffect::Not,
            b"and" | b"for" | b"del" | b"def" | b"try" => WordEffect::Ends,
            _ => WordEffect::Operand,
        },
        4 => match word {
            b"else" | b"from" | b"with" | b"elif" | b"pass" => WordEffect::Ends,
            _ => WordEffect::Operand,
        },
        5 => match word {
            b"await" => WordEffect::Await,
            b"async" | b"yield" | b"raise" | b"while" | b"class" | b"break" => WordEffect::Ends,
            _ => WordEffect::Operand,
        },
        6 => match word {
            b"lambda" | b"return" | b"import" | b"assert" | b"global" | b"except" => {
                WordEffect::Ends
            }
            _ => WordEffect::Operand,
        },
        7 => match word {
            b"finally" => WordEffect::Ends,
            _ => WordEffect::Operand,
        },
        8 => match word {
            b"nonlocal" | b"continue" => WordEffect::Ends,
            _ => WordEffect::Operand,
        },
        _ => WordEffect::Operand,
    }
}

/// Whether `word` may prefix a string literal (`rb`, `f`, `Rt`, ...).
fn is_string_prefix(word: &[u8]) -> bool {
    word.len() <= 2 && word.iter().all(|byte| b"rRbBuUfFtT".contains(byte))
}

impl Scan<'_> {
    /// The depth of the innermost code frame, and its run, for changing.
    fn code_frame(&mut self) -> Option<(&mut usize, &mut usize)> {
        match self.stack.last_mut() {
            Some(Frame::Code { base, run, .. }) => Some((base, run)),
            _ => None,
        }
    }

    fn depth(&self) -> usize {
        match self.stack.last() {
            Some(Frame::Code { base, run, .. }) => base + run,
            Some(Frame::Str { base, .. } | Frame::Spec { base }) => *base,
            None => 0,
        }
    }

    /// One more level on the way to the current operand: a unary operator or `**`.
    fn deeper(&mut self, at: usize) -> Result<(), Stop> {
        if let Some((base, run)) = self.code_frame() {
            *run += 1;
            if *base + *run > MAX_PARSER_DEPTH {
                return Err(Stop::Refused(Refusal {
                    message: TOO_COMPLEX,
                    offset: at,
                }));
            }
        }
        Ok(())
    }

    /// An operator that ends the current operand: what unary operators opened is closed.
    fn end_operand(&mut self) {
        if let Some((_, run)) = self.code_frame() {
            *run = 0;
        }
        self.after_operand = false;
    }

    /// A bracket (or a replacement field's `{`) opens at `at`.
    fn open(&mut self, at: usize, field: bool) -> Result<(), Stop> {
        if self.brackets >= MAX_BRACKETS {
            return Err(Stop::Refused(Refusal {
                message: TOO_MANY_BRACKETS,
                offset: at,
            }));
        }
        self.brackets += 1;
        let base = self.depth() + 1;
        if base > MAX_PARSER_DEPTH {
            return Err(Stop::Refused(Refusal {
                message: TOO_COMPLEX,
                offset: at,
            }));
        }
        self.stack.push(Frame::Code {
            base,
            run: 0,
            field,
        });
        self.after_operand = false;
        Ok(())
    }

    /// The line break at `at` (`\r\n` is one), in code; `continued` when a backslash before
    /// it continues the line. Returns where the scan goes on: past the next line's
    /// indentation when a logical line ended here.
    fn line_break(&mut self, at: usize, continued: bool) -> Result<usize, Stop> {
        let bytes = self.bytes;
        let next = at
            + if bytes[at..].starts_with(b"\r\n") {
                2
            } else {
                1
            };
        // A logical line ends at the top level only (inside brackets, or a replacement
        // field, lines join).
        if self.stack.len() > 1 {
            return Ok(next);
        }
        // The break of a continued line counts as the end of a logical line too: the scan
        // may only see less depth than there is. Its next line has no indentation.
        self.end_operand();
        if continued {
            Ok(next)
        } else {
            self.indentation(next)
        }
    }

    /// The indentation of the line starting at `line`, as CPython's tokenizer measures and
    /// stacks it; returns where the line's code starts. A line of blanks or a comment does not
    /// count. What CPython refuses for other reasons (a dedent to no outer level, tabs and
    /// spaces that order the levels differently) ends the scan without a verdict: the parser
    /// reports it.
    fn indentation(&mut self, line: usize) -> Result<usize, Stop> {
        let bytes = self.bytes;
        let mut width = Indent::default();
        // The column of the first backslash that continues the line, which then is the
        // line's indentation (CPython's `cont_line_col`, 0 for none).
        let mut continued_column = 0;
        let mut at = line;
        loop {
            match bytes.get(at) {
                Some(b' ') => {
                    width.column += 1;
                    width.tabs_as_one += 1;
                    at += 1;
                }
                Some(b'\t') => {
                    width.column = (width.column / TAB_SIZE + 1) * TAB_SIZE;
                    width.tabs_as_one += 1;
                    at += 1;
                }
                Some(b'\x0c') => {
                    width = Indent::default();
                    at += 1;
                }
                Some(b'\\') => {
                    let after = &bytes[at + 1..];
                    let length = if after.starts_with(b"\r\n") {
                        2
                    } else if after.starts_with(b"\n") || after.starts_with(b"\r") {
                        1
                    } else {
                        // A backslash not at the end of its line: a syntax error of its own.
                        return Err(Stop::Unsure);
                    };
                    if continued_column == 0 {
                        continued_column = width.column;
                    }
                    at += 1 + length;
                }
                // A blank line, or a comment: its indentation does not count.
                None | Some(b'#' | b'\n' | b'\r') => return Ok(at),
                Some(_) => break,
            }
        }
        if continued_column != 0 {
            width = Indent {
                column: continued_column,
                tabs_as_one: continued_column,
            };
        }
        let Some(&current) = self.indents.last() else {
            return Err(Stop::Unsure);
        };
        if width.column > current.column {
            if self.indents.len() >= MAX_INDENTS {
                return Err(Stop::Refused(Refusal {
                    message: TOO_DEEP_INDENTATION,
                    offset: line,
                }));
            }
            if width.tabs_as_one <= current.tabs_as_one {
                return Err(Stop::Unsure);
            }
            self.indents.push(width);
        } else {
            while self.indents.len() > 1
                && self
                    .indents
                    .last()
                    .is_some_and(|level| width.column < level.column)
            {
                self.indents.pop();
            }
            if self.indents.last() != Some(&width) {
                return Err(Stop::Unsure);
            }
        }
        Ok(at)
    }

    /// Code from `index` on, up to where a string literal or a format spec starts or a
    /// replacement field ends (or the text does).
    fn code(&mut self, mut index: usize) -> Result<usize, Stop> {
        let bytes = self.bytes;
        while let Some(&byte) = bytes.get(index) {
            let class = class_of(byte);
            if class == Class::Blank {
                // Blanks, and the backslash of a continued line.
                index = bytes[index..]
                    .iter()
                    .position(|&byte| class_of(byte) != Class::Blank)
                    .map_or(bytes.len(), |offset| index + offset);
                continue;
            }
            let after_is = std::mem::take(&mut self.after_is);
            index = match class {
                // (Skipped above with the blanks after it.)
                Class::Blank => index + 1,
                Class::Comment => {
                    match memchr::memchr2(b'\n', b'\r', &bytes[index..]) {
                        // A backslash that ends a comment continues nothing.
                        Some(offset) => self.line_break(index + offset, false)?,
                        None => bytes.len(),
                    }
                }
                Class::LineBreak => {
                    let continued = index > 0 && bytes[index - 1] == b'\\';
                    self.line_break(index, continued)?
                }
                Class::Quote => return self.open_string(index, b""),
                Class::Open => {
                    self.open(index, false)?;
                    index + 1
                }
                Class::Close => {
                    match self.stack.last() {
                        Some(Frame::Code { field: false, .. }) if self.stack.len() > 1 => {
                            self.stack.pop();
                            self.brackets -= 1;
                        }
                        // The end of a replacement field: back to its string.
                        Some(Frame::Code { field: true, .. }) if byte == b'}' => {
                            self.stack.pop();
                            self.brackets -= 1;
                            return Ok(index + 1);
                        }
                        // An unmatched closing bracket: a syntax error of its own.
                        _ => return Err(Stop::Unsure),
                    }
                    self.after_operand = true;
                    index + 1
                }
                Class::Colon
                    if matches!(self.stack.last(), Some(Frame::Code { field: true, .. })) =>
                {
                    // A format spec: the field's `{` stays open until the spec's `}`.
                    let base = self.depth();
                    if let Some(top) = self.stack.last_mut() {
                        *top = Frame::Spec { base };
                    }
                    return Ok(index + 1);
                }
                Class::Sign => {
                    let assignment = bytes.get(index + 1) == Some(&b'=');
                    if assignment || (self.after_operand && byte != b'~') {
                        self.end_operand();
                    } else {
                        self.deeper(index)?;
                        self.after_operand = false;
                    }
                    index + 1
                }
                Class::Star if bytes.get(index + 1) == Some(&b'*') => {
                    if self.after_operand && bytes.get(index + 2) != Some(&b'=') {
                        self.deeper(index)?;
                        self.after_operand = false;
                    } else {
                        // `**kwargs`, `{**d}`, `**=`.
                        self.end_operand();
                    }
                    index + 2
                }
                Class::Dot => {
                    if bytes.get(index + 1).is_some_and(u8::is_ascii_digit) && !self.after_operand {
                        self.number(index)
                    } else if bytes[index..].starts_with(b"...") {
                        self.after_operand = true;
                        index + 3
                    } else {
                        // An attribute: still the same operand.
                        self.after_operand = false;
                        index + 1
                    }
                }
                Class::Digit => self.number(index),
                Class::Word => {
                    let mut end = index + 1;
                    while end < bytes.len() && NAME_BYTES[usize::from(bytes[end])] {
                        end += 1;
                    }
                    let word = &bytes[index..end];
                    if matches!(bytes.get(end), Some(b'\'' | b'"')) && is_string_prefix(word) {
                        return self.open_string(end, word);
                    }
                    match word_effect(word) {
                        WordEffect::Not if !self.after_operand && !after_is => {
                            self.deeper(index)?;
                            self.after_operand = false;
                        }
                        WordEffect::Is => {
                            self.end_operand();
                            self.after_is = true;
                        }
                        WordEffect::Await => self.after_operand = false,
                        WordEffect::Not | WordEffect::Ends => self.end_operand(),
                        WordEffect::Operand => self.after_operand = true,
                    }
                    end
                }
                // Any other operator or delimiter ends the operand.
                Class::Colon | Class::Star | Class::Other => {
                    self.end_operand();
                    index + 1
                }
            };
        }
        Ok(index)
    }

    /// A number starting at `index`: digits, `_`, `.`, a base prefix and its digits, an
    /// exponent with its sign, `j`.
    fn number(&mut self, index: usize) -> usize {
        let bytes = self.bytes;
        let mut end = index;
        let based = bytes[index] == b'0'
            && bytes
                .get(index + 1)
                .is_some_and(|byte| b"xXoObB".contains(byte));
        if based {
            end += 2;
            while bytes
                .get(end)
                .is_some_and(|byte| byte.is_ascii_hexdigit() || *byte == b'_')
            {
                end += 1;
            }
        } else {
            while bytes
                .get(end)
                .is_some_and(|byte| byte.is_ascii_digit() || matches!(byte, b'_' | b'.'))
            {
                end += 1;
            }
            if bytes
                .get(end)
                .is_some_and(|byte| matches!(byte, b'e' | b'E'))
            {
                let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
                if bytes.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
                    end += 1 + sign;
                    while bytes
                        .get(end)
                        .is_some_and(|byte| byte.is_ascii_digit() || *byte == b'_')
                    {
                        end += 1;
                    }
                }
            }
            if bytes
                .get(end)
                .is_some_and(|byte| matches!(byte, b'j' | b'J'))
            {
                end += 1;
            }
        }
        self.after_operand = true;
        end
    }

    /// A string literal whose opening quote is at `quote`, after `prefix`.
    fn open_string(&mut self, quote: usize, prefix: &[u8]) -> Result<usize, Stop> {
        let delimiter = self.bytes[quote];
        let triple = self.bytes[quote..].starts_with(&[delimiter; 3]);
        let has = |letter: u8| prefix.iter().any(|byte| byte.eq_ignore_ascii_case(&letter));
        self.stack.push(Frame::Str {
            quote: delimiter,
            triple,
            interpolated: has(b'f') || has(b't'),
            raw: has(b'r'),
            base: self.depth(),
        });
        Ok(quote + if triple { 3 } else { 1 })
    }

    /// Inside a string literal, at `index`.
    fn string(
        &mut self,
        index: usize,
        quote: u8,
        triple: bool,
        interpolated: bool,
        raw: bool,
    ) -> Result<usize, Stop> {
        let bytes = self.bytes;
        let mut at = index;
        while let Some(&byte) = bytes.get(at) {
            match byte {
                b'\\' => {
                    // `\N{NAME}` in an f-string that is not raw is an escape, not a field.
                    if interpolated && !raw && bytes[at + 1..].starts_with(b"N{") {
                        let close = memchr::memchr(b'}', &bytes[at..]).ok_or(Stop::Unsure)?;
                        at += close + 1;
                    } else {
                        at += 2;
                    }
                }
                b'\n' | b'\r' if !triple => return Err(Stop::Unsure),
                _ if byte == quote && (!triple || bytes[at..].starts_with(&[quote; 3])) => {
                    self.stack.pop();
                    self.after_operand = true;
                    return Ok(at + if triple { 3 } else { 1 });
                }
                b'{' if interpolated => {
                    if bytes.get(at + 1) == Some(&b'{') {
                        at += 2;
                    } else {
                        self.open(at, true)?;
                        return Ok(at + 1);
                    }
                }
                _ => {
                    // Up to the next byte that may matter.
                    at += 1;
                    let rest = &bytes[at..];
                    let next = if interpolated {
                        rest.iter().position(|byte| {
                            matches!(byte, b'\\' | b'\n' | b'\r' | b'{' | b'\'' | b'"')
                        })
                    } else {
                        memchr::memchr3(b'\\', quote, if triple { quote } else { b'\n' }, rest).map(
                            |offset| {
                                // A carriage return ends a line too.
                                memchr::memchr(b'\r', &rest[..offset]).unwrap_or(offset)
                            },
                        )
                    };
                    at = next.map_or(bytes.len(), |offset| at + offset);
                }
            }
        }
        Err(Stop::Unsure)
    }

    /// Inside a format spec: text until a nested field's `{` or the field's closing `}`.
    fn spec(&mut self, index: usize) -> Result<usize, Stop> {
        let bytes = self.bytes;
        let mut at = index;
        while let Some(&byte) = bytes.get(at) {
            match byte {
                b'{' => {
                    self.open(at, true)?;
                    return Ok(at + 1);
                }
                b'}' => {
                    self.stack.pop();
                    self.brackets -= 1;
                    return Ok(at + 1);
                }
                b'\n' | b'\r' | b'\'' | b'"' => {
                    // A spec never holds quotes; a line break only in a triple-quoted string,
                    // which the scan does not follow.
                    return Err(Stop::Unsure);
                }
                _ => at += 1,
            }
        }
        Err(Stop::Unsure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(source: &str) -> Option<&'static str> {
        refusal(source).map(|refusal| refusal.message)
    }

    #[test]
    fn two_hundred_brackets_pass_and_the_next_one_is_refused_where_it_opens() {
        let deep = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert_eq!(refused(&deep(200)), None);
        assert_eq!(
            refusal(&deep(201)),
            Some(Refusal {
                message: TOO_MANY_BRACKETS,
                offset: 4 + 200
            })
        );
        // Any kind of bracket, one after another: only what is open at once counts.
        let mixed = format!("x = {}1{}\n", "([{".repeat(67), "}])".repeat(67));
        assert_eq!(refused(&mixed), Some(TOO_MANY_BRACKETS));
        assert_eq!(refused(&"f(x)\n".repeat(1_000)), None);
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count_but_fields_do() {
        let text = format!("x = '{0}' + \"\"\"{0}\"\"\"  # {0}\n", "(".repeat(300));
        assert_eq!(refused(&text), None);
        let escaped = format!("x = '\\'{}'\n", "(".repeat(300));
        assert_eq!(refused(&escaped), None);
        let field = format!("x = f'{{{}1{}}}'\n", "(".repeat(199), ")".repeat(199));
        assert_eq!(refused(&field), None);
        let too_deep_field = format!("x = (f'{{{}1{}}}')\n", "(".repeat(199), ")".repeat(199));
        assert_eq!(refused(&too_deep_field), Some(TOO_MANY_BRACKETS));
        // Literal braces, escapes, specs and nested quotes (Python 3.12) of f-strings.
        let literal = format!(
            "x = f'{{{{{}' + rf'\\N{{x}}' + f\"{{x:>{{w}}}}{{d[\"k\"]}}\"\n",
            "(".repeat(300)
        );
        assert_eq!(refused(&literal), None);
    }

    #[test]
    fn unary_operators_refuse_past_cpythons_parser_depth() {
        let minus = |n: usize| format!("x = {}1\n", "-".repeat(n));
        assert_eq!(refused(&minus(5_000)), None);
        assert_eq!(refused(&minus(6_001)), Some(TOO_COMPLEX));
        assert_eq!(
            refused(&format!("x = {}y\n", "not ".repeat(6_001))),
            Some(TOO_COMPLEX)
        );
        assert_eq!(
            refused(&format!("x = {}y\n", "- ~+".repeat(2_001))),
            Some(TOO_COMPLEX)
        );
        // Through brackets: each holds part of the run.
        let nested = format!("x = {}1{}\n", "-(-".repeat(150), ")".repeat(150));
        assert_eq!(refused(&nested), None);
        let deeper = format!(
            "x = {}1{}\n",
            format!("{}(", "-".repeat(40)).repeat(150),
            ")".repeat(150)
        );
        assert_eq!(refused(&deeper), Some(TOO_COMPLEX));
        // `**` nests to the right.
        assert_eq!(
            refused(&format!("x = 2{}\n", "**2".repeat(6_001))),
            Some(TOO_COMPLEX)
        );
    }

    #[test]
    fn binary_operators_and_statements_end_what_unary_ones_opened() {
        assert_eq!(refused(&"x = -1 - -1 * ~2 ** -3\n".repeat(10_000)), None);
        assert_eq!(refused(&format!("x = {}\n", "-1 + ".repeat(10_000))), None);
        assert_eq!(refused(&format!("x = [{}]\n", "-1, ".repeat(10_000))), None);
        assert_eq!(refused(&format!("f({})\n", "**a, ".repeat(10_000))), None);
        assert_eq!(
            refused(&"if x is not -y: z = 1e-5 - 0x1f\n".repeat(10_000)),
            None
        );
        assert_eq!(refused(&"a = -b\n".repeat(10_000)), None);
    }

    /// `n` nested `if`s, indented with `unit` per level, and a body one level deeper.
    fn nested_ifs(n: usize, unit: &str, newline: &str) -> String {
        let mut text: String = (0..n)
            .map(|level| format!("{}if x:{newline}", unit.repeat(level)))
            .collect();
        text.push_str(&format!("{}pass{newline}", unit.repeat(n)));
        text
    }

    #[test]
    fn the_hundredth_level_of_indentation_is_refused_at_its_line_start() {
        // As CPython 3.11 to 3.13: 99 nested blocks compile, 100 do not (line 101, column 1).
        for unit in [" ", "\t", "  \t"] {
            for newline in ["\n", "\r\n", "\r", "\n\x0c"] {
                // (A form feed at a line's start sets its column back to 0.)
                assert_eq!(refused(&nested_ifs(99, unit, newline)), None, "{unit:?}");
                let text = nested_ifs(150, unit, newline);
                let line_101 = text
                    .match_indices(newline)
                    .nth(99)
                    .map(|(at, _)| at + newline.trim_end_matches('\x0c').len());
                assert_eq!(
                    refusal(&text),
                    line_101.map(|offset| Refusal {
                        message: TOO_DEEP_INDENTATION,
                        offset
                    }),
                    "{unit:?} {newline:?}"
                );
            }
        }
        // Thousands of levels: refused at the same line, no deeper.
        assert_eq!(
            refused(&nested_ifs(3_000, " ", "\n")),
            Some(TOO_DEEP_INDENTATION)
        );
        // Only the levels open at once count.
        assert_eq!(refused(&nested_ifs(99, " ", "\n").repeat(3)), None);
    }

    #[test]
    fn lines_that_open_no_level_of_indentation_do_not_count() {
        let deep = nested_ifs(99, " ", "\n");
        let wide = " ".repeat(300);
        let body = " ".repeat(99);
        for tail in [
            // Blank lines and comments.
            format!("{wide}\n{wide}# comment\n{wide}"),
            // Lines inside brackets or replacement fields, continued lines, string literals.
            format!("{body}x = (\n{wide}1,\n{wide}f'''{{\n{wide}2}}''')\n"),
            format!("{body}x = 1 + \\\n{wide}2\n"),
            format!("{body}x = 1 + \\\r\n{wide}2\n"),
            format!("{body}x = '''\n{wide}2'''\n"),
        ] {
            assert_eq!(refused(&format!("{deep}{tail}")), None, "{tail:?}");
        }
        // A comment's last backslash continues nothing: the next line is indented.
        let text = format!("{deep}{body}# \\\n{body} pass\n");
        assert_eq!(refused(&text), Some(TOO_DEEP_INDENTATION));
    }

    #[test]
    fn indentation_cpython_refuses_otherwise_is_left_to_the_parser() {
        // A dedent to no outer level, or tabs and spaces that order the levels differently:
        // no verdict, even with too many brackets later.
        let brackets = format!("x = {}1{}\n", "(".repeat(201), ")".repeat(201));
        for text in [
            format!("if x:\n    y\n  z\n{brackets}"),
            format!("if x:\n        y\n\tz\n{brackets}"),
        ] {
            assert_eq!(refused(&text), None, "{text:?}");
        }
        assert_eq!(
            refused(&format!("if x:\n    y\nz\n{brackets}")),
            Some(TOO_MANY_BRACKETS)
        );
    }

    #[test]
    fn keywords_are_whole_words_and_prefixes_any_case() {
        // A keyword's letters inside a longer name, ASCII or not, are a name.
        for word in ["notà", "ànot", "not_", "not1", "Not"] {
            let text = format!("x = {}y\n", format!("{word} ").repeat(6_001));
            assert_eq!(refused(&text), None, "{word}");
        }
        // Raw f-strings in any case: `\N{` opens a replacement field, which is not an escape.
        let field = |prefix: &str| {
            format!(
                "x = {prefix}'\\N{{{}1{}}}'\n",
                "(".repeat(200),
                ")".repeat(200)
            )
        };
        for prefix in ["rf", "RF", "fR", "Rt"] {
            assert_eq!(refused(&field(prefix)), Some(TOO_MANY_BRACKETS), "{prefix}");
        }
        for prefix in ["f", "F", "b", "Rb"] {
            assert_eq!(refused(&field(prefix)), None, "{prefix}");
        }
    }

    #[test]
    fn text_the_scan_does_not_understand_gives_no_verdict() {
        let unterminated = format!("x = '{}\n", "(".repeat(300));
        assert_eq!(refused(&unterminated), None);
        assert_eq!(refused(")))\n"), None);
    }
}
