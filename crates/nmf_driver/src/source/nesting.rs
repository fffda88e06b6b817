//! What CPython refuses for nesting alone, found in one pass over the text before any tree is
//! built: a syntax tree nests as deep as the code, and costs about a kilobyte per level to
//! build, walk and drop, so two megabytes of `-` signs would take two gigabytes. CPython never
//! gets that far:
//!
//! - its tokenizer stops at the 201st bracket open at once (`MAXLEVEL`, 200: `SyntaxError: too
//!   many nested parentheses`), f-string replacement fields included;
//! - its parser stops when its rules nest 6,000 calls deep (`MAXSTACK`: `MemoryError: Parser
//!   stack overflowed - Python source too complex to parse`).
//!
//! The first is reproduced exactly. For the second, what the scan counts is a lower bound of the
//! parser's depth: each bracket, unary `-`/`+`/`~`, `not` and `**` on the way to a point of the
//! code is at least one rule call of CPython's parser; a binary operator or a delimiter ends the
//! operand those opened. A file is refused only when even that bound passes the limit, so
//! nothing CPython accepts is refused; what the bound misses (long chains of `lambda` or of
//! conditional expressions) is parsed as before. Anything the scan is unsure of (an unterminated
//! string) ends it without a verdict.

use nmf_linter::analysis::forward_call::is_identifier_byte;

/// CPython's tokenizer: brackets open at once (`MAXLEVEL` in `Parser/lexer/state.h`).
const MAX_BRACKETS: usize = 200;

/// CPython's parser: rule calls nested (`MAXSTACK` in `Parser/parser.c`).
const MAX_PARSER_DEPTH: usize = 6_000;

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
    };
    let mut index = 0;
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

    fn code(&mut self, index: usize) -> Result<usize, Stop> {
        let bytes = self.bytes;
        let byte = bytes[index];
        if matches!(byte, b' ' | b'\t' | b'\x0c' | b'\\') {
            // Blanks, and the backslash of a continued line (whose line break then counts as
            // the end of a logical line: the scan may only see less depth than there is).
            let end = bytes[index..]
                .iter()
                .position(|byte| !matches!(byte, b' ' | b'\t' | b'\x0c' | b'\\'))
                .map_or(bytes.len(), |offset| index + offset);
            return Ok(end);
        }
        let after_is = std::mem::take(&mut self.after_is);
        match byte {
            b'#' => Ok(memchr::memchr2(b'\n', b'\r', &bytes[index..])
                .map_or(bytes.len(), |offset| index + offset)),
            b'\n' | b'\r' => {
                // A logical line ends at the top level only.
                if self.stack.len() == 1 {
                    self.end_operand();
                }
                Ok(index + 1)
            }
            b'\'' | b'"' => self.open_string(index, b""),
            b'(' | b'[' | b'{' => {
                self.open(index, false)?;
                Ok(index + 1)
            }
            b')' | b']' | b'}' => {
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
                Ok(index + 1)
            }
            b':' if matches!(self.stack.last(), Some(Frame::Code { field: true, .. })) => {
                // A format spec: the field's `{` stays open until the spec's `}`.
                let base = self.depth();
                if let Some(top) = self.stack.last_mut() {
                    *top = Frame::Spec { base };
                }
                Ok(index + 1)
            }
            b'-' | b'+' | b'~' => {
                let assignment = bytes.get(index + 1) == Some(&b'=');
                if assignment || (self.after_operand && byte != b'~') {
                    self.end_operand();
                } else {
                    self.deeper(index)?;
                    self.after_operand = false;
                }
                Ok(index + 1)
            }
            b'*' if bytes.get(index + 1) == Some(&b'*') => {
                if self.after_operand && bytes.get(index + 2) != Some(&b'=') {
                    self.deeper(index)?;
                    self.after_operand = false;
                } else {
                    // `**kwargs`, `{**d}`, `**=`.
                    self.end_operand();
                }
                Ok(index + 2)
            }
            b'.' => {
                if bytes.get(index + 1).is_some_and(u8::is_ascii_digit) && !self.after_operand {
                    return Ok(self.number(index));
                }
                if bytes[index..].starts_with(b"...") {
                    self.after_operand = true;
                    return Ok(index + 3);
                }
                // An attribute: still the same operand.
                self.after_operand = false;
                Ok(index + 1)
            }
            b'0'..=b'9' => Ok(self.number(index)),
            _ if is_identifier_byte(byte) => {
                let end = bytes[index..]
                    .iter()
                    .position(|&byte| !is_identifier_byte(byte))
                    .map_or(bytes.len(), |offset| index + offset);
                let word = &bytes[index..end];
                if matches!(bytes.get(end), Some(b'\'' | b'"')) && is_string_prefix(word) {
                    return self.open_string(end, word);
                }
                match word {
                    b"not" if !self.after_operand && !after_is => {
                        self.deeper(index)?;
                        self.after_operand = false;
                    }
                    b"is" => {
                        self.end_operand();
                        self.after_is = true;
                    }
                    b"await" => self.after_operand = false,
                    b"None" | b"True" | b"False" => self.after_operand = true,
                    b"and" | b"or" | b"not" | b"in" | b"if" | b"else" | b"lambda" | b"for"
                    | b"async" | b"yield" | b"return" | b"from" | b"import" | b"as" | b"with"
                    | b"del" | b"assert" | b"raise" | b"global" | b"nonlocal" | b"while"
                    | b"elif" | b"def" | b"class" | b"try" | b"except" | b"finally" | b"pass"
                    | b"break" | b"continue" => self.end_operand(),
                    _ => self.after_operand = true,
                }
                Ok(end)
            }
            // Any other operator or delimiter ends the operand.
            _ => {
                self.end_operand();
                Ok(index + 1)
            }
        }
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
        let lower: Vec<u8> = prefix.iter().map(u8::to_ascii_lowercase).collect();
        self.stack.push(Frame::Str {
            quote: delimiter,
            triple,
            interpolated: lower.contains(&b'f') || lower.contains(&b't'),
            raw: lower.contains(&b'r'),
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

    #[test]
    fn text_the_scan_does_not_understand_gives_no_verdict() {
        let unterminated = format!("x = '{}\n", "(".repeat(300));
        assert_eq!(refused(&unterminated), None);
        assert_eq!(refused(")))\n"), None);
    }
}
