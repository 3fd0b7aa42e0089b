//! A pattern's regexes: matched as written but with ASCII word boundaries (`ascii_boundaries`), all
//! of them as one union (one pass of the fast automaton on every candidate line), each on its own only
//! where the union passes the size limit or a tool asks which one matched.
//!
//! Semantics: each regex is parsed on its own when loaded (a union can parse where one of its parts
//! does not: `a)|(b`), so the first that does not is named by its index. The union is compiled at
//! load; the parts are compiled then only where there is no union, else at their first use (half the
//! regexes' memory and start-up time).

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

/// Regexes run on whole messages of up to `max_line_bytes`; this bounds a hostile pattern's memory.
const SIZE_LIMIT: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct Regexes {
    /// As written, word boundaries made ASCII: what is matched and exported.
    sources: Vec<String>,
    /// All as one alternation; None when it would pass the size limit (then each is run in turn).
    union: Option<Regex>,
    parts: OnceLock<Vec<Regex>>,
}

impl Regexes {
    /// The regexes as written; the error names the first that does not parse or compile (its index,
    /// and why).
    pub fn new<'a>(written: impl IntoIterator<Item = &'a str>) -> Result<Regexes, (usize, String)> {
        let sources: Vec<String> = written.into_iter().map(ascii_boundaries).collect();
        for (i, src) in sources.iter().enumerate() {
            if let Err(e) = regex_syntax::ParserBuilder::new().build().parse(src) {
                return Err((i, format!("regex does not compile: {e}")));
            }
        }
        let union = (sources.len() > 1)
            .then(|| {
                let union: Vec<String> = sources.iter().map(|r| format!("(?:{r})")).collect();
                build(&union.join("|")).ok()
            })
            .flatten();
        let parts = OnceLock::new();
        if union.is_none() {
            let compiled: Result<Vec<Regex>, (usize, String)> = (sources.iter().enumerate())
                .map(|(i, r)| build(r).map_err(|e| (i, format!("regex does not compile: {e}"))))
                .collect();
            let _ = parts.set(compiled?);
        }
        Ok(Regexes { sources, union, parts })
    }

    /// As matched (word boundaries ASCII).
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Whether any of them matches `text`.
    pub fn is_match(&self, text: &[u8]) -> bool {
        match &self.union {
            Some(union) => union.is_match(text),
            None => self.parts().iter().any(|r| r.is_match(text)),
        }
    }

    /// Each on its own (compiled at the first call where the union matches).
    pub fn parts(&self) -> &[Regex] {
        // They compiled as parts of the union, within its size limit, and parsed on their own.
        self.parts.get_or_init(|| self.sources.iter().filter_map(|r| build(r).ok()).collect())
    }

    /// Whether they match as one union (not each in turn).
    pub fn is_union(&self) -> bool {
        self.union.is_some()
    }
}

/// One regex as written, word boundaries made ASCII, within the size limit.
pub fn compile(written: &str) -> Result<Regex, regex::Error> {
    build(&ascii_boundaries(written))
}

fn build(source: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(source).size_limit(SIZE_LIMIT).build()
}

/// `\b` and `\B` as ASCII word boundaries (`(?-u:\b)`), as RE2 and so mtail read them. Unicode
/// boundaries keep the regex engine off its fast automata on any line holding a non-ASCII byte: on
/// CloudBase's messages, which mix Chinese into English (`refresh access_token failed：…`), every pattern
/// then ran the slow engines, 10 to 50 µs a line. Written words are English and codes ASCII; a boundary
/// beside a Chinese character now counts as one (`失败INVALID_PARAM`), as it reads.
pub fn ascii_boundaries(regex: &str) -> String {
    rewrite_escapes(regex, |c, in_class, next| match c {
        // `\b{start}` and its kin are their own assertions; inside a class nothing is a boundary.
        'b' if !in_class && next != Some('{') => Some(r"(?-u:\b)"),
        'B' if !in_class && next != Some('{') => Some(r"(?-u:\B)"),
        _ => None,
    })
}

/// `\d`, `\s`, `\w` (and `\D`, `\S`, `\W`) as their ASCII classes, as RE2 reads them, for the
/// classifier's own regexes (read on every candidate line): a Unicode `\w` or `\s` compiles to a
/// large automaton (the help-text regex's was 641 KB of the daemon's heap). Inside a class they
/// become a nested class (`[\w$]` → `[[0-9A-Za-z_]$]`); escaped backslashes are left as written.
pub fn ascii_classes(regex: &str) -> String {
    rewrite_escapes(regex, |c, _, _| match c {
        'd' => Some("[0-9]"),
        'D' => Some("[^0-9]"),
        'w' => Some("[0-9A-Za-z_]"),
        'W' => Some("[^0-9A-Za-z_]"),
        's' => Some(r"[\t\n\x0B\x0C\r ]"),
        'S' => Some(r"[^\t\n\x0B\x0C\r ]"),
        _ => None,
    })
}

/// `regex` with each escape `\c` that `replace` answers for (given whether it stands inside a class,
/// `[…]` nested or not, and the character after it) written as the answer; everything else as is,
/// escaped backslashes included.
fn rewrite_escapes(regex: &str, replace: impl Fn(char, bool, Option<char>) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(regex.len() + 64);
    let mut chars = regex.chars().peekable();
    let mut class = 0usize;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            if c == '[' {
                class += 1;
                // A `]` first in a class (after an optional `^`) is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            } else if c == ']' && class > 0 {
                class -= 1;
            }
            continue;
        }
        let Some(n) = chars.next() else {
            out.push('\\');
            break;
        };
        match replace(n, class > 0, chars.peek().copied()) {
            Some(r) => out.push_str(r),
            None => {
                out.push('\\');
                out.push(n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_ones() {
        assert_eq!(ascii_classes(r"\d+\s\w"), r"[0-9]+[\t\n\x0B\x0C\r ][0-9A-Za-z_]");
        assert_eq!(ascii_classes(r"[\w$.]\S\\s"), r"[[0-9A-Za-z_]$.][^\t\n\x0B\x0C\r ]\\s");
        let re = Regex::new(&ascii_classes(r"^[\w-]+\s+\d\S*$")).unwrap();
        assert!(re.is_match(b"a-b_9  7x") && !re.is_match("a\u{3000}7".as_bytes()) && !re.is_match("名 7".as_bytes()));
    }

    #[test]
    fn boundaries_are_ascii_ones() {
        assert_eq!(ascii_boundaries(r"\berr\B"), r"(?-u:\b)err(?-u:\B)");
        // Escapes, classes and the `\b{…}` assertions are left as written.
        assert_eq!(ascii_boundaries(r"\\b[\b]\b{start}[]\b]\b"), r"\\b[\b]\b{start}[]\b](?-u:\b)");
        assert_eq!(ascii_boundaries(r"[[:alpha:]\b]x\b"), r"[[:alpha:]\b]x(?-u:\b)");
    }
}
