//! Which files of a project can declare a subclass of a class, or import it under another
//! name: a lexical index built once per project, so that following a class's subclasses
//! through the project costs look-ups, not a pass over every file per generation of
//! subclasses.
//!
//! A file can derive from `C` only by writing `C` (or an alias of it) in a class header,
//! `class X(C):`; it can alias `C` in an import (`from m import C as D`) or in an assignment of
//! names (`D = m.C`, `D = A if flag else C`). The index records the identifiers of those
//! statements, continuation lines included; it errs towards more candidates (identifiers in
//! strings and comments of those lines count too). An assignment is recognised by its ` = `,
//! blanks included, as code is written: an alias written `D=C` is not followed.
//!
//! Every identifier of every import statement is recorded too, apart (see [`imported_word`]):
//! a file can call a function of another module only by importing the function or its module,
//! so the files that import either are where its callers can be.

use std::sync::LazyLock;

use memchr::memmem::{self, Finder, FinderRev};
use unicode_normalization::UnicodeNormalization;

/// The searchers of the words every file is scanned for, built once: a searcher is worth
/// building for a whole text, not for each of thousands.
static CLASS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("class"));
static IMPORT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("import"));
static ASSIGN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" = "));
static IF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" if "));
static ELSE: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(" else "));

/// A byte of an identifier: ASCII letters, digits and `_`, and any byte of a non-ASCII
/// character.
fn is_identifier(byte: u8) -> bool {
    IDENTIFIER_BYTES[usize::from(byte)]
}

/// [`is_identifier`] of each byte, looked up once per byte instead of tested against each
/// range: the scans test every byte of the statements they index.
static IDENTIFIER_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        // `byte < 256`: the cast keeps every bit.
        #[allow(clippy::cast_possible_truncation)]
        let value = byte as u8;
        table[byte] = value.is_ascii_alphanumeric() || value == b'_' || !value.is_ascii();
        byte += 1;
    }
    table
};

/// Lines followed after a statement whose brackets stay open.
const MAX_STATEMENT_LINES: usize = 400;

/// The [`Word`]s of the identifiers a file writes in class headers and imports, sorted and
/// without repeats.
pub fn binding_words(text: &str) -> Vec<Word> {
    thread_local! {
        /// The words of the file being scanned, with repeats: kept from file to file, so that
        /// it grows only as far as the largest file needs.
        static COLLECTED: std::cell::RefCell<Vec<Word>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    COLLECTED.with_borrow_mut(|words| {
        words.clear();
        collect_binding_words(text.as_bytes(), words);
        words.sort_unstable();
        words.dedup();
        // Sized as the file's words, which the index keeps.
        words.to_vec()
    })
}

/// Adds the words of [`binding_words`] to `words`, with repeats.
fn collect_binding_words(bytes: &[u8], words: &mut Vec<Word>) {
    for (keyword, finder) in [("class", &*CLASS), ("import", &*IMPORT)] {
        for start in finder.find_iter(bytes) {
            let follows = bytes.get(start + keyword.len());
            if !matches!(follows, Some(b' ' | b'\t' | b'(' | b'\\')) {
                continue;
            }
            // `from m import (A as B)`: the statement starts at `from`.
            let start = if keyword == "import" {
                statement_start(bytes, start)
            } else {
                start
            };
            if !starts_statement(bytes, start) {
                continue;
            }
            let statement = &bytes[start..statement_end(bytes, start)];
            // An import matters to subclass searches only when it renames (`import C as D`):
            // a subclass written with the imported name itself is found by its class header.
            let renames = keyword == "import" && collect_imported(statement, words);
            if keyword == "class" || renames {
                collect_identifiers(statement, words);
            }
        }
    }
    for at in ASSIGN.find_iter(bytes) {
        // Cheap rejections first, without looking for the line's ends: the value must start
        // with a name and be no call or expression (most values are calls: this rejects them
        // before the target's line is walked back), and the target must be one name that
        // opens a statement.
        if !bytes.get(at + 3).is_some_and(|&byte| is_identifier(byte))
            || !may_be_dotted(&bytes[at + 3..])
        {
            continue;
        }
        let target_start = bytes[..at]
            .iter()
            .rposition(|&byte| !is_identifier(byte))
            .map_or(0, |before| before + 1);
        if target_start == at || !starts_statement(bytes, target_start) {
            continue;
        }
        let line_start = memchr::memrchr2(b'\n', b'\r', &bytes[..at]).map_or(0, |end| end + 1);
        let line_end =
            memchr::memchr2(b'\n', b'\r', &bytes[at..]).map_or(bytes.len(), |end| at + end);
        if is_name_assignment(&bytes[target_start..at], &bytes[at + 3..line_end]) {
            collect_identifiers(&bytes[line_start..line_end], words);
        }
    }
}

/// What the lexicon keeps of a word: 32 bits of its hash. A project's lexicon holds one per
/// word of each file (about 57 per file on transformers: 2.7 million on 16 copies of it), so
/// each byte counts. Two words with the same 32 bits (a search in a project of 100,000
/// distinct words meets one about once in 40,000) only add a file to the candidates a search
/// goes on to read, as any collision of hashes does (see [`Lexicon::files_writing`]).
pub type Word = u32;

/// The [`Word`] of a 64-bit hash: both halves folded, so that every bit of it counts.
fn narrow(hash: u64) -> Word {
    (hash ^ (hash >> 32)) as Word
}

/// A byte of a dotted name as [`is_name_assignment`] reads it: identifier bytes, `.`, and
/// the backslash of a continued line.
fn is_dotted_byte(byte: u8) -> bool {
    is_identifier(byte) || byte == b'.' || byte == b'\\'
}

/// Whether the value starting `rest` (up to its line's end) may pass
/// [`is_name_assignment`]: its first byte past a dotted name is a blank, a line break, a
/// comment's `#` or the end. Most values are calls or expressions (`x = f(y)`), rejected here
/// before the line's ends are looked for.
fn may_be_dotted(rest: &[u8]) -> bool {
    rest.iter()
        .find(|&&byte| !is_dotted_byte(byte))
        .is_none_or(|&byte| byte.is_ascii_whitespace() || byte == b'#')
}

/// Whether `target = value` can make an alias of a class: `Name = dotted.name`, or a
/// conditional choice between dotted names (`Name = A if cond else B`).
fn is_name_assignment(target: &[u8], value: &[u8]) -> bool {
    let target = target.trim_ascii();
    if target.is_empty()
        || target[0].is_ascii_digit()
        || !target.iter().all(|&byte| is_identifier(byte))
    {
        return false;
    }
    let value = &value[..memchr::memchr(b'#', value).unwrap_or(value.len())];
    let is_dotted = |part: &[u8]| {
        let part = part.trim_ascii();
        !part.is_empty() && part.iter().all(|&byte| is_dotted_byte(byte))
    };
    // Most values are calls or expressions (`x = f(y)`): the first byte past a dotted name that
    // is not a blank (`(`) is in what both forms below must find dotted, whose searches are
    // then spared.
    if value
        .iter()
        .find(|&&byte| !is_dotted_byte(byte))
        .is_some_and(|byte| !byte.is_ascii_whitespace())
    {
        return false;
    }
    // `A if cond else B`: the condition may be anything.
    // `else` is looked for only after an `if`: most values have neither.
    let choice = IF
        .find(value)
        .and_then(|if_at| Some((if_at, ELSE.rfind(value)?)));
    match choice {
        Some((if_at, else_at)) if if_at < else_at => {
            is_dotted(&value[..if_at]) && is_dotted(&value[else_at + " else ".len()..])
        }
        _ => is_dotted(value),
    }
}

/// Whether the text may install a function as a `forward`: `x.forward = f` (blanks may stand
/// around the dot and before `=`), or `setattr` with a `"forward"` string; a non-ASCII
/// spelling of `forward` counts too.
pub fn may_install_forward(text: &str) -> bool {
    let bytes = text.as_bytes();
    let is_blank = |byte: &u8| matches!(byte, b' ' | b'\t' | b'\\' | b'\n' | b'\r');
    // One pass over the occurrences of `forward` answers both of its questions: is it an
    // attribute assigned to, is it a string of its own.
    let mut quoted = false;
    for start in nmf_linter::analysis::forward_call::occurrences(bytes, b"forward") {
        let before = &bytes[..start];
        if before.ends_with(b".") || before.ends_with(b". ") {
            let after = &bytes[start + "forward".len()..];
            let next = after.iter().position(|byte| !is_blank(byte));
            if matches!(next, Some(at) if after[at] == b'=' && after.get(at + 1) != Some(&b'=')) {
                return true;
            }
        }
        let closing = bytes.get(start + "forward".len());
        quoted |= matches!(
            (before.last(), closing),
            (Some(b'"'), Some(b'"')) | (Some(b'\''), Some(b'\''))
        );
    }
    // `setattr(m, "forward", f)`, `monkeypatch.setattr(...)`, `patch.object(m, "forward", f)`.
    let set = || {
        quoted
            && (memmem::find(bytes, b"setattr").is_some()
                || memmem::find(bytes, b"patch").is_some())
    };
    set() || (!text.is_ascii() && nmf_linter::analysis::forward_call::could_spell(text, "forward"))
}

/// For `import` at `at`, the start of its statement: the `from` that opens the line, if one
/// does.
fn statement_start(bytes: &[u8], at: usize) -> usize {
    let line_start = memchr::memrchr2(b'\n', b'\r', &bytes[..at]).map_or(0, |end| end + 1);
    let line = &bytes[line_start..at];
    let indent = line
        .iter()
        .position(|byte| !matches!(byte, b' ' | b'\t' | b'\x0c'))
        .unwrap_or(line.len());
    if line[indent..].starts_with(b"from") {
        line_start + indent
    } else {
        at
    }
}

/// Whether the keyword at `start` begins a statement: at the start of its line (after
/// blanks), or after `;` or `:` (`if TYPE_CHECKING: import x`).
fn starts_statement(bytes: &[u8], start: usize) -> bool {
    let before = bytes[..start]
        .iter()
        .rev()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\x0c'));
    matches!(before, None | Some(b'\n' | b'\r' | b';' | b':'))
}

/// The end of the statement at `start`, through the lines its brackets or backslashes
/// continue it on.
fn statement_end(bytes: &[u8], start: usize) -> usize {
    let mut balance: i64 = 0;
    let mut line_start = start;
    let mut end = start;
    for _ in 0..MAX_STATEMENT_LINES {
        end = memchr::memchr2(b'\n', b'\r', &bytes[line_start..])
            .map_or(bytes.len(), |offset| line_start + offset);
        let line = &bytes[line_start..end];
        balance += line.iter().fold(0i64, |sum, byte| match byte {
            b'(' | b'[' | b'{' => sum + 1,
            b')' | b']' | b'}' => sum - 1,
            _ => sum,
        });
        let continued =
            line.iter().rev().find(|byte| !matches!(byte, b' ' | b'\t')) == Some(&b'\\');
        if (balance <= 0 && !continued) || end >= bytes.len() {
            break;
        }
        line_start = end + 1;
    }
    end
}

/// Adds the hash of every identifier of `code`, a non-ASCII one also in its NFKC form, as
/// Python reads it.
fn collect_identifiers(code: &[u8], words: &mut Vec<Word>) {
    collect_hashes(code, words, |hash| hash);
}

/// Adds the [`imported_word`] hash of every identifier of an import statement; says whether
/// the statement renames (one of its identifiers is `as`), found on the same pass.
fn collect_imported(statement: &[u8], words: &mut Vec<Word>) -> bool {
    collect_hashes(statement, words, imported_hash)
}

/// Adds `recorded(hash)` for the hash of every identifier of `code` (and of the NFKC form of a
/// non-ASCII one); says whether one of them is `as`.
fn collect_hashes(code: &[u8], words: &mut Vec<Word>, recorded: impl Fn(u64) -> u64) -> bool {
    let mut has_as = false;
    let mut at = 0;
    while at < code.len() {
        // The next identifier: past the bytes between, then through its own.
        while at < code.len() && !is_identifier(code[at]) {
            at += 1;
        }
        let start = at;
        while at < code.len() && is_identifier(code[at]) {
            at += 1;
        }
        let word = &code[start..at];
        if word.is_empty() || word[0].is_ascii_digit() {
            continue;
        }
        has_as |= word == b"as";
        words.push(narrow(recorded(word_hash(word))));
        if !word.is_ascii()
            && let Ok(word) = std::str::from_utf8(word)
        {
            let normalized: String = word.nfkc().collect();
            words.push(narrow(recorded(word_hash(normalized.as_bytes()))));
        }
    }
    has_as
}

/// The hash an identifier written in an import statement is recorded under, apart from the
/// words of class headers and aliases: searches for subclasses do not see imports that do not
/// rename, and searches for importers see nothing else.
fn imported_hash(word: u64) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one((b"import", word))
}

/// The [`Word`] of `word` as written in an import statement (see [`Lexicon::files_writing`]).
pub fn imported_word(word: &str) -> Word {
    narrow(imported_hash(word_hash(word.as_bytes())))
}

fn word_hash(word: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(word)
}

/// The files of a project by the words they write in binding statements.
///
/// Held packed, as a search reads it: each distinct word once, then the files that write it
/// as the gaps between their sorted indices, in as few bytes as each gap needs (LEB128). A
/// word is written by a file in about 57 places per file (2.7 million on 16 copies of
/// transformers): a list of (word, file) pairs took 8 bytes each, this takes about 2.
#[derive(Default, Clone)]
pub struct Lexicon {
    /// The distinct words, sorted.
    words: Box<[Word]>,
    /// Where the files of `words[i]` start in `files`; one more at the end.
    starts: Box<[u32]>,
    /// For each word, the gaps between the indices of the files that write it (the first
    /// from 0), each as LEB128.
    files: Box<[u8]>,
}

/// A word and the index of a file that writes it: the unpacked form of the lexicon, which
/// it is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    word: Word,
    file: u32,
}

impl Entry {
    fn new(word: Word, file: u32) -> Self {
        Self { word, file }
    }
}

/// Appends `value` as LEB128: seven bits a byte, low bits first, the high bit set on every
/// byte but the last.
fn push_varint(bytes: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        bytes.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// The values [`push_varint`] wrote one after another in `bytes`, read back.
fn varints(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let mut value = 0_u32;
        let mut shift = 0;
        loop {
            let byte = *bytes.get(at)?;
            at += 1;
            value |= u32::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            shift += 7;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
    })
}

impl Lexicon {
    /// The index of files `0..n`, from each file's [`binding_words`].
    pub fn new<'w, Files>(files: Files) -> Self
    where
        Files: IntoIterator<Item = &'w [Word]>,
        Files::IntoIter: Clone,
    {
        let files = files.into_iter();
        // Sized once: grown by doubling, the list of a large project would hold up to twice
        // its entries at its peak.
        let mut entries = Vec::with_capacity(files.clone().map(<[Word]>::len).sum());
        for (index, words) in files.enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            entries.extend(words.iter().map(|&word| Entry::new(word, index)));
        }
        entries.sort_unstable();
        Self::packed(&entries)
    }

    /// The lexicon of `entries`, sorted.
    fn packed(entries: &[Entry]) -> Self {
        let mut words = Vec::new();
        let mut starts = Vec::new();
        // Most gaps take one or two bytes.
        let mut files = Vec::with_capacity(entries.len() + entries.len() / 2);
        let mut previous = 0;
        for (at, entry) in entries.iter().enumerate() {
            if at == 0 || entries[at - 1].word != entry.word {
                words.push(entry.word);
                starts.push(u32::try_from(files.len()).unwrap_or(u32::MAX));
                previous = 0;
            }
            push_varint(&mut files, entry.file - previous);
            previous = entry.file;
        }
        starts.push(u32::try_from(files.len()).unwrap_or(u32::MAX));
        Self {
            words: words.into_boxed_slice(),
            starts: starts.into_boxed_slice(),
            files: files.into_boxed_slice(),
        }
    }

    /// The files that write `words[at]`, in order.
    fn files_of(&self, at: usize) -> impl Iterator<Item = u32> + '_ {
        let bytes = &self.files[self.starts[at] as usize..self.starts[at + 1] as usize];
        varints(bytes).scan(0_u32, |file, gap| {
            *file += gap;
            Some(*file)
        })
    }

    /// Every (word, file) pair, sorted.
    fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.words
            .iter()
            .enumerate()
            .flat_map(move |(at, &word)| self.files_of(at).map(move |file| Entry::new(word, file)))
    }

    /// The same index with file `index`'s words replaced by `words` (an index past the last
    /// file adds one): one merge, no sort of the whole.
    pub fn with_file(&self, index: u32, words: &[Word]) -> Self {
        let mut added: Vec<Entry> = words.iter().map(|&word| Entry::new(word, index)).collect();
        added.sort_unstable();
        let kept = self.entries().filter(|entry| entry.file != index);
        let mut entries = Vec::with_capacity(self.files.len() + added.len());
        let mut added = added.into_iter().peekable();
        for entry in kept {
            while let Some(next) = added.next_if(|next| *next < entry) {
                entries.push(next);
            }
            entries.push(entry);
        }
        entries.extend(added);
        Self::packed(&entries)
    }

    /// The same index without file `index`: the files after it move down one.
    pub fn without_file(&self, index: u32) -> Self {
        let entries: Vec<Entry> = self
            .entries()
            .filter(|entry| entry.file != index)
            .map(|entry| Entry {
                file: if entry.file > index {
                    entry.file - 1
                } else {
                    entry.file
                },
                ..entry
            })
            .collect();
        Self::packed(&entries)
    }

    /// The indices of the files that write one of `words`, sorted. A collision of hashes
    /// adds a file, never loses one.
    pub fn files_writing(&self, words: &[&str]) -> Vec<u32> {
        let words: Vec<Word> = words
            .iter()
            .map(|word| narrow(word_hash(word.as_bytes())))
            .collect();
        self.files_with(&words)
    }

    /// The indices of the files that write one of `words` in an import statement, sorted.
    pub fn files_importing(&self, words: &[&str]) -> Vec<u32> {
        let words: Vec<Word> = words.iter().map(|word| imported_word(word)).collect();
        self.files_with(&words)
    }

    fn files_with(&self, words: &[Word]) -> Vec<u32> {
        let mut found = Vec::new();
        for word in words {
            if let Ok(at) = self.words.binary_search(word) {
                found.extend(self.files_of(at));
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(text: &str, name: &str) -> bool {
        binding_words(text).contains(&narrow(word_hash(name.as_bytes())))
    }

    #[test]
    fn replacing_a_files_words_gives_the_index_built_afresh() {
        let files: Vec<Vec<Word>> = vec![vec![5, 1, 9], vec![1, 2], vec![9, 9, 3]];
        let index = Lexicon::new(files.iter().map(Vec::as_slice));
        for (file, words) in [
            (0_u32, vec![2, 7]),
            (1, vec![]),
            (2, vec![1, 5, 11]),
            (3, vec![4]),
        ] {
            let mut expected = files.clone();
            match expected.get_mut(file as usize) {
                Some(slot) => *slot = words.clone(),
                None => expected.push(words.clone()),
            }
            assert_eq!(
                index.with_file(file, &words).entries().collect::<Vec<_>>(),
                Lexicon::new(expected.iter().map(Vec::as_slice))
                    .entries()
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn removing_a_file_gives_the_index_built_afresh() {
        let files: Vec<Vec<Word>> = vec![vec![5, 1, 9], vec![1, 2], vec![9, 9, 3], vec![2]];
        let index = Lexicon::new(files.iter().map(Vec::as_slice));
        for removed in 0..files.len() {
            let mut expected = files.clone();
            expected.remove(removed);
            assert_eq!(
                index
                    .without_file(u32::try_from(removed).unwrap_or(u32::MAX))
                    .entries()
                    .collect::<Vec<_>>(),
                Lexicon::new(expected.iter().map(Vec::as_slice))
                    .entries()
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn gaps_of_every_width_read_back() {
        let mut bytes = Vec::new();
        let values = [0, 1, 127, 128, 300, 16_383, 16_384, 2_097_152, u32::MAX];
        for value in values {
            push_varint(&mut bytes, value);
        }
        assert_eq!(varints(&bytes).collect::<Vec<_>>(), values);
    }

    #[test]
    fn the_packed_lexicon_answers_as_a_list_of_pairs_would() {
        // Files far apart (gaps of several bytes) and words shared by many of them.
        let files: Vec<Vec<Word>> = (0..20_000_u32)
            .map(|file| {
                let mut words = vec![file % 7, 1_000 + file % 1_500, u32::MAX - file / 9_000];
                if file % 4_999 == 0 {
                    words.push(77_777);
                }
                words.sort_unstable();
                words.dedup();
                words
            })
            .collect();
        let lexicon = Lexicon::new(files.iter().map(Vec::as_slice));
        for word in [0, 3, 1_000, 1_499, 77_777, u32::MAX, u32::MAX - 2, 5_000] {
            let expected: Vec<u32> = (0..20_000_u32)
                .filter(|&file| files[file as usize].contains(&word))
                .collect();
            assert_eq!(lexicon.files_with(&[word]), expected, "word {word}");
        }
        let either = (0..20_000_u32)
            .filter(|file| file % 7 == 6 || file % 4_999 == 0)
            .collect::<Vec<_>>();
        assert_eq!(lexicon.files_with(&[77_777, 6]), either);
    }

    #[test]
    fn class_headers_imports_and_aliases_are_indexed() {
        let text = "import os\n\
                    from pkg.base import (\n    Pipeline as Base,\n    Other,\n)\n\
                    class Text(\n    Base,\n    metaclass=Meta,\n):\n    x = compute(y)\n\
                    def run():\n    return helper(value)\n\
                    if TYPE_CHECKING: from typing_stuff import Checked\n\
                    x = 1; class Inline(Hidden2): pass\n\
                    try:\n    Alias = pkg.Thing if available() else Fallback\nexcept E:\n    Alias = Other2\n\
                    print(unrelated)  # Hidden = Nothing\n";
        for expected in [
            "pkg",
            "base",
            "Pipeline",
            "Base",
            "Other",
            "Text",
            "Meta",
            "metaclass",
            "Inline",
            "Hidden2",
            "Alias",
            "Thing",
            "Fallback",
            "Other2",
        ] {
            assert!(has(text, expected), "{expected} is missing");
        }
        // Imports that do not rename do not matter.
        for absent in [
            "helper",
            "value",
            "unrelated",
            "Hidden",
            "Nothing",
            "run",
            "compute",
            "os",
            "Checked",
        ] {
            assert!(!has(text, absent), "{absent} was indexed");
        }
    }

    #[test]
    fn only_dotted_names_and_choices_between_them_are_aliases() {
        // The values after `A = `.
        for alias in [
            "pkg.Thing",
            "pkg.Thing  # note",
            "pkg.Thing\t",
            "pkg.Thing if f(c) else Other",
            "pkg.Thing if c else Other  # Thing(x)",
            "Thing if c else x if d else Other",
            "pkg.\\\n",
            "1",
        ] {
            assert!(
                is_name_assignment(b"A", alias.as_bytes()),
                "{alias:?} is an alias"
            );
        }
        for not_alias in [
            "f(x)",
            "pkg.Thing(x) if c else Other",
            "Thing if c else Other(x)",
            "Thing if c",
            "Thing\tif c else Other",
            "Thing else Other if c",
            "[Thing]",
            "Thing + Other",
            "",
        ] {
            assert!(
                !is_name_assignment(b"A", not_alias.as_bytes()),
                "{not_alias:?} is not an alias"
            );
        }
    }

    #[test]
    fn a_file_indexes_an_assignment_exactly_when_its_value_is_an_alias() {
        // The scan rejects most values before it looks for the line's ends: it must agree
        // with the full check on every value, comments and continued lines included.
        for value in [
            "pkg.Thing",
            "pkg.Thing#note",
            "pkg.Thing  # f(x)",
            "pkg.Thing\t",
            "pkg.Thing if f(c) else Other",
            "Thing if c else Other(x)",
            "pkg.\\\n",
            "pkg.\\",
            "1",
            "f(x)",
            "Thing+Other",
            "Thing + Other",
            "[Thing]",
            "",
        ] {
            let text = format!("A = {value}\n");
            assert_eq!(
                has(&text, "A"),
                is_name_assignment(b"A", value.as_bytes()),
                "{text:?}"
            );
        }
        assert!(has("A = Thing#note", "A"));
    }

    #[test]
    fn an_import_renames_only_with_the_whole_word_as() {
        for text in [
            "from m import as_tensor, Basis\n",
            "from m import Basis  # alias\n",
            "import has, Basis\n",
        ] {
            assert!(!has(text, "Basis"), "{text:?}");
        }
        for text in [
            "from m import Basis as B\n",
            "from m import (\n    Basis,\n    Other as O,\n)\n",
            "import Basis as\\\n    B\n",
        ] {
            assert!(has(text, "Basis"), "{text:?}");
        }
    }

    #[test]
    fn installations_of_forward_are_spotted() {
        assert!(may_install_forward("m.forward = f\n"));
        assert!(may_install_forward(
            "m . forward\t= types.MethodType(f, m)\n"
        ));
        assert!(may_install_forward("setattr(m, \"forward\", f)\n"));
        assert!(!may_install_forward(
            "y = m.forward(x)\nif m.forward == f: pass\n"
        ));
        assert!(!may_install_forward("setattr(m, 'backward', f)\n"));
    }

    #[test]
    fn non_ascii_identifiers_are_indexed_as_python_reads_them() {
        assert!(has("class X(Ｐipeline): pass\n", "Pipeline"));
    }

    #[test]
    fn the_lexicon_finds_files_by_any_word() {
        let files = [
            binding_words("class A(Base): pass\n"),
            binding_words("x = 1\n"),
            binding_words("from m import Base as B\n"),
            binding_words("from m import Base\n"),
        ];
        let lexicon = Lexicon::new(files.iter().map(Vec::as_slice));
        assert_eq!(lexicon.files_writing(&["Base"]), [0, 2]);
        assert_eq!(lexicon.files_writing(&["B", "A"]), [0, 2]);
        assert!(lexicon.files_writing(&["Missing"]).is_empty());
    }

    #[test]
    fn every_import_is_indexed_apart_for_searches_of_callers() {
        let files = [
            binding_words("import lab.encode as enc\n"),
            binding_words("from lab import (\n    encode,\n)\n"),
            binding_words("from lab.encode import get_states\nclass get_states2(encode): pass\n"),
            binding_words("x = encode.get_states(y)\n"),
        ];
        let lexicon = Lexicon::new(files.iter().map(Vec::as_slice));
        assert_eq!(lexicon.files_importing(&["encode"]), [0, 1, 2]);
        assert_eq!(lexicon.files_importing(&["get_states"]), [2]);
        assert!(lexicon.files_importing(&["get_states2"]).is_empty());
        // Subclass searches see no import that does not rename.
        assert_eq!(lexicon.files_writing(&["get_states"]), Vec::<u32>::new());
        assert_eq!(lexicon.files_writing(&["encode"]), [0, 2]);
    }
}
