//! The classifier: which of the catalogue's patterns, if any, a line is.
//!
//! Contract: `next_candidate` finds the next place in a buffer where any pattern's literal occurs
//! (one Aho-Corasick pass over many lines; lines without a literal cost nothing more). `classify`
//! takes one candidate line, parses it into a `Record` (JSON only now), and confirms the candidate
//! patterns' regexes on its message in precedence order: lower `priority` first, fallbacks last. A line
//! gets at most one pattern. A message that is quoted source (`//`, `/*`, `*`, `#`, `<!--` at its
//! start) is never an error: it is someone's comment about one. Nor is text that talks about errors
//! rather than reporting one (`help_text`: runbook and guide text, headings, config and policy
//! lines, source code, "no X in the last hour") or a Prometheus exposition line.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input, MatchKind};
use regex::bytes::Regex;

use crate::patterns::{Catalogue, Pattern};
use crate::record::{self, FormatChoice, Record};

#[derive(Debug, thiserror::Error)]
#[error("cannot build the literal prefilter: {0}")]
pub struct BuildError(#[from] aho_corasick::BuildError);

/// A candidate line, parsed, with the error pattern it is (by catalogue index) and the signal it
/// carries (by index in `Catalogue::signals`), if any.
#[derive(Debug)]
pub struct Classified<'a> {
    pub record: Record<'a>,
    pub pattern: Option<usize>,
    pub signal: Option<usize>,
}

pub struct Classifier {
    catalogue: Catalogue,
    format: FormatChoice,
    /// Leftmost-first over every literal: the fast "is anything here" scan.
    scan: AhoCorasick,
    /// Standard semantics, run overlapping on one candidate line to learn every pattern it may be.
    all: AhoCorasick,
    /// For each literal of the automata, the patterns (bits by catalogue index) that own it.
    owners: Vec<u128>,
    /// Catalogue indices in precedence order.
    order: Vec<usize>,
}

impl Classifier {
    pub fn new(catalogue: Catalogue, format: FormatChoice) -> Result<Classifier, BuildError> {
        Classifier::build(catalogue, format, true)
    }

    /// Without signals, lines that only carry one (every START line) are not even candidates: the
    /// one-shot check needs them only for `--timeline`.
    pub fn build(catalogue: Catalogue, format: FormatChoice, signals: bool) -> Result<Classifier, BuildError> {
        let mut literals: Vec<String> = Vec::new();
        let mut owners: Vec<u128> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        // Signals take the bits after the error patterns.
        let signal_list = if signals { catalogue.signals() } else { &[] };
        for (i, p) in catalogue.patterns().iter().chain(signal_list).enumerate() {
            for lit in p.literals.iter().flat_map(|l| with_json_escapes(l)) {
                let at = *index.entry(lit.clone()).or_insert_with(|| {
                    literals.push(lit);
                    owners.push(0);
                    owners.len() - 1
                });
                owners[at] |= 1u128 << i;
            }
        }
        let scan = AhoCorasick::builder().match_kind(MatchKind::LeftmostFirst).build(&literals)?;
        let all = AhoCorasick::builder().build(&literals)?;
        let mut order: Vec<usize> = (0..catalogue.patterns().len()).collect();
        order.sort_by_key(|&i| {
            let p = catalogue.get(i);
            (p.fallback, p.priority, p.id.clone())
        });
        Ok(Classifier { catalogue, format, scan, all, owners, order })
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The start of the next literal at or after `from`.
    #[inline]
    pub fn next_candidate(&self, haystack: &[u8], from: usize) -> Option<usize> {
        self.scan.find(Input::new(haystack).span(from..haystack.len())).map(|m| m.start())
    }

    /// Classifies one line (no newline). `None` when no literal occurs on it: the line was not parsed.
    pub fn classify<'a>(&self, line: &'a [u8]) -> Option<Classified<'a>> {
        self.classify_as(line, self.format)
    }

    /// As `classify`, reading the line in the given format (sources differ in format).
    pub fn classify_as<'a>(&self, line: &'a [u8], format: FormatChoice) -> Option<Classified<'a>> {
        if !self.all.is_match(line) {
            return None;
        }
        let record = record::parse(line, format);
        let (pattern, signal) = self.classify_record(Some(line), &record);
        Some(Classified { record, pattern, signal })
    }

    /// The error pattern and the signal a parsed record is, if any. `raw` is the line it came from
    /// where one line is one record: literals are looked for there, as exporters escape them. Records of
    /// multi-line forms (a CSV row, a `tcb fn log` block) have no such line: their message is searched,
    /// and their level and status code make the patterns that look at those fields candidates too.
    pub fn classify_record(&self, raw: Option<&[u8]>, record: &Record<'_>) -> (Option<usize>, Option<usize>) {
        let mut candidates = 0u128;
        for m in self.all.find_overlapping_iter(raw.unwrap_or(&record.message)) {
            candidates |= self.owners[m.pattern().as_usize()];
        }
        if raw.is_none() {
            for (i, p) in self.catalogue.patterns().iter().enumerate() {
                let by_field = record.level.is_some_and(|l| p.levels.contains(&l))
                    || record.status_code.is_some_and(|c| p.status_codes.contains(&c));
                if by_field {
                    candidates |= 1u128 << i;
                }
            }
        }
        let m = &record.message;
        if candidates == 0 || is_quoted_source(m) || is_exposition(m) || is_help_text(m) {
            return (None, None);
        }
        let pattern = self
            .order
            .iter()
            .copied()
            .filter(|&i| candidates & (1u128 << i) != 0)
            .find(|&i| confirms(self.catalogue.get(i), record));
        let first_signal = self.catalogue.patterns().len();
        let signal = (0..self.catalogue.signals().len())
            .filter(|&j| candidates & (1u128 << (first_signal + j)) != 0)
            .find(|&j| confirms(&self.catalogue.signals()[j], record));
        (pattern, signal)
    }
}

fn confirms(p: &Pattern, rec: &Record<'_>) -> bool {
    let msg = &rec.message[..];
    let hit = p.regex.iter().any(|r| r.is_match(msg))
        || rec.level.is_some_and(|l| p.levels.contains(&l))
        || rec.status_code.is_some_and(|c| p.status_codes.contains(&c));
    hit && !p.exclude.iter().any(|r| r.is_match(msg))
}

fn is_quoted_source(message: &[u8]) -> bool {
    let m = message.trim_ascii_start();
    [&b"//"[..], b"/*", b"* ", b"*/", b"#", b"<!--"].iter().any(|p| m.starts_with(p)) || m == b"*"
}

/// Text about errors, not an error: someone explaining, listing, configuring or quoting codes. Kept to
/// shapes no SDK, WeChat answer or runtime prints (tests/corpus holds both sides). Word boundaries are
/// ASCII ones: the words are English, and Unicode boundaries keep the regex off its fast automaton on
/// every candidate line.
static HELP_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // Runbook, guide and config prefixes: "Symptom: …", "tip: …", "alert codes: …".
        // Also behind a bracketed tag: "[getLoginTicket] tip: …", "[runbook] Fix: …".
        r"(?i:^\s*(?:\[[^\]]*\]\s*)?(?:symptom|root cause|fix|prevention|usage|tips?|hints?|notes?|docs?|checklist|runbook|faq|",
        r"todo|fixme|alerts?|alert codes|alert on|retry policy|permission model|self-check|config|validate|rate limits|",
        r"panel|提示|说明|注意)\s*[:：])",
        // The guide's section headings, numbered or not, also as a table-of-contents item:
        // "Error 2 — WeChat returns errcode: 40029", "2. WeChat returns errcode: 45011".
        r"|^\s*(?:[-*]\s+)?Error \d{1,2} [—–-] |(?i:^\s*(?:\d{1,2}[.)]\s*)?WeChat returns errcode(?-u:\b))",
        // Markdown table rows and list items quoting a code.
        r"|^\s*\||^\s*[-*]\s+`",
        // Explaining or reporting the absence of an error.
        r"|(?i:(?-u:\b)(?:means|would mean|(?:if|when) you see|retryable|cleared)(?-u:\b)|(?-u:\b)no\s+\S+\s+(?:since|in the last)(?-u:\b))",
        r"|如果|意味着",
        // authwatch's own words about a pattern ("wx_45011_minute_quota (guide error 3): …").
        r"|(?i:(?-u:\b)guide error \d{1,2}(?-u:\b))",
        // Two codes in a list: "INVALID_TICKET, TICKET_EXPIRED or SYSTEM_NOT_OPEN", "40029, 40163".
        r"|(?-u:\b)[A-Z][A-Z0-9_]{3,}\s*(?:,|/|、|(?-u:\b)or(?-u:\b)|(?-u:\b)and(?-u:\b))\s*[A-Z][A-Z0-9_]{3,}(?-u:\b)",
        r"|(?-u:\b)\d{5}\s*(?:,|/|、)\s*\d{5}(?-u:\b)",
        // Source code: comparisons, declarations, switch cases, throw statements, constant tables.
        r"|[\w)\]'\x22]\s*[!=]==\s*[\w'\x22(-]|(?-u:\b)(?:const|let|var)\s+[\w$]+\s*=|(?-u:\b)case\s*[\x22']|(?-u:\b)throw\s+(?:new\s+)?[\w$.]+\(",
        r"|^\s*[A-Z][A-Z0-9_]+\s*[:=]\s*(?:-?\d+|'[a-z_]+')\s*,?\s*$",
    ))
    .expect("help-text regex")
});

fn is_help_text(message: &[u8]) -> bool {
    HELP_TEXT.is_match(message)
}

/// A Prometheus / OpenMetrics sample: `name{label="…",…} value [timestamp]`. Its labels may name an
/// errcode; the line counts errors, it is not one.
fn is_exposition(message: &[u8]) -> bool {
    let m = message.trim_ascii();
    let name_len = m.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b':').count();
    if name_len == 0 || m[0].is_ascii_digit() || m.get(name_len) != Some(&b'{') {
        return false;
    }
    let Some(close) = m.iter().rposition(|c| *c == b'}') else {
        return false;
    };
    let rest = std::str::from_utf8(&m[close + 1..]).unwrap_or("");
    let mut fields = rest.split_ascii_whitespace();
    let value_ok = fields.next().is_some_and(|v| v.parse::<f64>().is_ok() || matches!(v, "NaN" | "+Inf" | "-Inf"));
    let ts_ok = fields.next().is_none_or(|t| t.parse::<i64>().is_ok());
    value_ok && ts_ok && fields.next().is_none() && rest.starts_with([' ', '\t'])
}

/// A literal as it may stand in the raw line: as is, and for non-ASCII text also as JSON `\uXXXX`
/// escapes (lower and upper case hex), since exporters may escape what the message decodes to.
pub fn with_json_escapes(lit: &str) -> Vec<String> {
    let mut out = vec![lit.to_string()];
    if !lit.is_ascii() {
        for upper in [false, true] {
            let mut s = String::new();
            for c in lit.chars() {
                if c.is_ascii() {
                    s.push(c);
                } else {
                    for unit in c.encode_utf16(&mut [0; 2]) {
                        s.push_str(&if upper { format!("\\u{unit:04X}") } else { format!("\\u{unit:04x}") });
                    }
                }
            }
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> Classifier {
        Classifier::new(Catalogue::builtin().unwrap(), FormatChoice::Auto).unwrap()
    }

    fn id_of(c: &Classifier, line: &str) -> Option<String> {
        c.classify(line.as_bytes()).and_then(|x| x.pattern).map(|i| c.catalogue().get(i).id.clone())
    }

    #[test]
    fn lines_without_literals_are_not_parsed() {
        let c = classifier();
        assert!(c.classify(b"END RequestId: 8f4c0b5e-0a1b-4c2d-9e3f-123456789abc").is_none());
        assert!(c.classify(br#"{"SCF_Message":"broken"#).is_none());
    }

    #[test]
    fn the_more_specific_root_cause_wins() {
        let c = classifier();
        // NETWORK_ERROR wraps a signature failure: sign_param_invalid, not the network.
        assert_eq!(
            id_of(&c, r#"[@cloudbase/js-sdk][NETWORK_ERROR]:{"code":"NETWORK_ERROR","msg":"refresh access_token failed：SIGN_PARAM_INVALID"}"#).as_deref(),
            Some("sign_param_invalid")
        );
        // A WeChat errcode explains the invalid uid that follows from it.
        assert_eq!(
            id_of(&c, r#"createTicket failed: Invalid uid: "undefined" after {"errcode":45011,"errmsg":"api minute-quota reach limit"}"#).as_deref(),
            Some("wx_45011_minute_quota")
        );
        // An SCF user-code exception whose stack names a known error is that error, not unlisted.
        assert_eq!(
            id_of(&c, r#"{"errorCode":-1,"errorMessage":"user code exception caught","stackTrace":"TypeError: app.auth is not a function\n    at x","statusCode":430}"#).as_deref(),
            Some("sdk_version_mismatch")
        );
        // Login disabled explains why the ticket was refused.
        assert_eq!(
            id_of(&c, "[INVALID_TICKET] [LOGIN_MANNER_UNREGISTED] rejected").as_deref(),
            Some("custom_login_disabled")
        );
    }

    #[test]
    fn next_candidate_walks_a_buffer() {
        let c = classifier();
        let buf = b"ok\nok {\"errcode\":45011}\nok\n";
        let at = c.next_candidate(buf, 0).unwrap();
        assert_eq!(&buf[at..at + 7], b"errcode");
        assert_eq!(c.next_candidate(buf, at + 14), None);
    }

    #[test]
    fn escaped_unicode_in_json_is_found() {
        let c = classifier();
        let line = r#"{"SCF_FunctionName":"getLoginTicket","SCF_Message":"Error: \u5f53\u524d\u79c1\u94a5\u6240\u5c5e\u73af\u5883\u4e0e init \u6307\u5b9a\u73af\u5883\u4e0d\u4e00\u81f4\uff01"}"#;
        assert_eq!(id_of(&c, line).as_deref(), Some("sign_param_invalid"));
    }

    #[test]
    fn quoted_source_is_not_an_error() {
        let c = classifier();
        assert_eq!(id_of(&c, r#"   // {"errcode":45011}"#), None);
        assert_eq!(id_of(&c, r#" * {"errcode":45011}"#), None);
        assert_eq!(id_of(&c, r#"{"errcode":45011} // real"#).as_deref(), Some("wx_45011_minute_quota"));
    }

    /// aho-corasick's Teddy, the SIMD prefilter that keeps the scan at ripgrep speed, takes at most 64
    /// literals; past that the scan falls back to a much slower automaton (measured: 2× the time on
    /// the bench text corpus). Count the JSON-escaped variants too: they are literals of the scan.
    #[test]
    fn bundled_literals_fit_the_fast_prefilter() {
        let cat = Catalogue::builtin().unwrap();
        let mut all: Vec<String> = cat
            .patterns()
            .iter()
            .chain(cat.signals())
            .flat_map(|p| p.literals.iter().flat_map(|l| with_json_escapes(l)))
            .collect();
        all.sort();
        all.dedup();
        assert!(all.len() <= 64, "{} literals: {all:?}", all.len());
    }

    #[test]
    fn exposition_and_help_text_are_not_errors() {
        let c = classifier();
        assert_eq!(id_of(&c, r#"authwatch_errors_total{pattern="x",errcode="45011"} 3"#), None);
        assert_eq!(id_of(&c, r#"wx_errors{errcode="45011"} 3 1741915325117"#), None);
        assert!(!is_exposition(br#"{"errcode":45011}"#));
        assert!(!is_exposition(br#"x{"errcode":45011} then more"#));
        assert_eq!(id_of(&c, "Error 3 — WeChat returns errcode: 45011"), None);
        assert_eq!(id_of(&c, "retry policy: never retry INVALID_TICKET, TICKET_EXPIRED or SYSTEM_NOT_OPEN"), None);
        assert_eq!(id_of(&c, "if (res.errcode === 45011) return retry()"), None);
        assert_eq!(
            id_of(&c, "jscode2session failed 45011 api minute-quota reach limit").as_deref(),
            Some("wx_45011_minute_quota")
        );
    }
}
