//! The classifier: which of the catalogue's patterns, if any, a line is.
//!
//! Semantics, in the order they apply to a line:
//! 1. **Literals first.** `next_candidate` finds the next place in a buffer where any literal occurs:
//!    the patterns' own and the structural reading's failure words (`STRUCTURE_LITERALS`), in one
//!    Aho-Corasick pass over many lines. A line without one costs nothing more and is no error.
//! 2. **Parse.** A candidate line becomes a `Record` (CLS JSON, real-time item, or text).
//! 3. **Text about errors is never one** (`not_errors`): quoted source, source code, runbook / guide /
//!    help / config text, test-runner output, alert and recording rules, exposition lines. (Asked
//!    once a line is found to be an error, which gives the same answer: most candidates are nothing.)
//! 4. **The patterns' regexes**, on the message, in precedence order (lower `priority` first) over the
//!    patterns whose literals the line holds; then on each text inside a JSON message
//!    (`reported::json_texts`: an error tracker's `type` / `value`, a returned object's strings).
//! 5. **The structural reading** (`reported`): a code one of the patterns names in `[match] codes`,
//!    in any case or punctuation, where the line reports it, is that pattern; a failure whose code
//!    none of them names is the fallback (`unlisted`).
//! 6. **The fallback's own regexes and fields** (`levels`, `status_codes`), as before.
//!
//! A line gets at most one pattern. Signals (`login_attempt`) are confirmed by their regexes only and
//! never compete with the errors; a line only a signal's literal made a candidate is not read for
//! errors (steps 4 to 6), as it is not where signals are not read (`check` without `--timeline`).
//!
//! Word boundaries in the patterns' regexes are ASCII ones (`patterns::ascii_boundaries`).

pub mod ahead;
mod not_errors;
pub mod reported;

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, Input, MatchKind};

use crate::patterns::{Catalogue, Pattern};
use crate::record::{self, FormatChoice, Record};

use reported::{CodeMap, Reported};

/// Literals that make a line worth the structural reading: the failure words a report carries
/// (`reported`'s list, as few literals as cover it: `rror` is in error, Error, TypeError, errors…;
/// `ERROR` for levels) and the code keys (`ode"`, CLS-escaped `ode\"`, `ode=`, `ode:`: code and Code).
/// Lines with none of these and no pattern literal are never parsed, so keep to words that real error
/// lines print and normal ones do not. Every literal has at least 4 bytes: the scan's Teddy searcher
/// fingerprints as many bytes as the shortest literal has, and with 3 it was 1.7× slower on the bench
/// corpus (jscode2session's "ode" and random ids hit 3-byte fingerprints far more often).
pub const STRUCTURE_LITERALS: [&str; 14] = [
    "rror", "ERROR", "fail", "xception", "imeout", "denied", "annot ", "失败", "错误", "超时", "ode\"", "ode\\\"",
    "ode=", "ode:",
];
/// How many of `STRUCTURE_LITERALS`, from the start, are failure words (the rest are code keys).
const FAILURE_LITERALS: usize = 10;

/// Literal hits that say nothing, with the bytes that stand right before them then: `ode"` in CLS's
/// own field name `"SCF_StatusCode"`, on every record of a real export (the message's own quotes are
/// escaped there, so its code keys hit `ode\"`; the status is read from the field itself, and
/// `SCF_StatusCode":"43` is a literal of its own). Counted as hits, they made every CLS record a
/// candidate: 5x the time of `check` on an export with the field.
const FIELD_NAME_HITS: [(&str, &str); 1] = [("ode\"", "SCF_StatusC")];

/// A code key's hit says nothing either where the code it gives is zero (`"errcode":0`,
/// `\"errCode\":0`, `code=0`): WeChat, wx.cloud, js-sdk and SCF all mean success by it, and none of
/// the ten is a zero code. On a load test's export every jscode2session success is such a line (one
/// per call): made candidates, each was parsed and asked every fallback regex for nothing (~40 % of
/// `check`'s judging). A line with another code, or a failure word beside the zero, is still one.
fn gives_zero(after: &[u8], has_sign: bool) -> bool {
    let quote = |b: &u8| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'\\');
    let mut rest = after;
    let skip = |r: &mut &[u8]| {
        let n = r.iter().take_while(|b| quote(b)).count();
        *r = &r[n..];
    };
    if !has_sign {
        skip(&mut rest);
        match rest.first() {
            Some(b':' | b'=') => rest = &rest[1..],
            _ => return false,
        }
    }
    skip(&mut rest);
    let zeros = rest.iter().take_while(|&&b| b == b'0').count();
    zeros > 0 && rest.get(zeros).is_none_or(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
}

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
    /// Leftmost-longest over every literal: the fast "is anything here" scan over a buffer, and on one
    /// candidate line, the walk that learns every pattern it may be (see `candidates`).
    scan: AhoCorasick,
    /// For each literal of the automaton, the patterns (bits by catalogue index) that own it or any
    /// literal it starts with: where the longest literal starting at a byte matches, those match too.
    owners: Vec<u128>,
    /// Catalogue indices in precedence order.
    order: Vec<usize>,
    /// The patterns' `[match] codes`, for the structural reading.
    codes: CodeMap,
    /// The fallback a failure with none of the patterns' codes is (`unlisted`), if loaded.
    fallback: Option<usize>,
    /// Candidate bits that make failure words worth looking for (`reported::read`'s `words`).
    words_mask: u128,
    /// `FIELD_NAME_HITS` by literal index.
    field_hits: Vec<(usize, &'static [u8])>,
    /// The code keys by literal index, and whether each ends with its `:` / `=` (`gives_zero`).
    code_keys: Vec<(usize, bool)>,
    /// Built with the signals (START lines are candidates): without them their bits belong to the
    /// structural reading's literals, and no line is asked for a signal.
    signals: bool,
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
        // The structural reading's literals take the bit after the signals' (fewer than 128 in all:
        // `patterns::MAX_PATTERNS` counts patterns and signals together and leaves the two bits).
        // Two bits: failure words, then code keys (`reported::read` looks for words only if a
        // pattern's literal or a failure word stands in the line).
        let words_bit = (catalogue.patterns().len() + signal_list.len()) as u32;
        for (k, lit) in STRUCTURE_LITERALS.iter().enumerate() {
            let bit = if k < FAILURE_LITERALS { words_bit } else { words_bit + 1 };
            for lit in with_json_escapes(lit) {
                let at = *index.entry(lit.clone()).or_insert_with(|| {
                    literals.push(lit);
                    owners.push(0);
                    owners.len() - 1
                });
                owners[at] |= 1u128 << bit;
            }
        }
        // Each literal's bits take those of the literals it starts with (see `candidates`).
        let owners: Vec<u128> = literals
            .iter()
            .map(|l| literals.iter().zip(&owners).filter(|(p, _)| l.starts_with(p.as_str())).fold(0, |m, (_, b)| m | b))
            .collect();
        let scan = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&literals)?;
        let field_hits = FIELD_NAME_HITS
            .iter()
            .filter_map(|(lit, before)| Some((literals.iter().position(|l| l == lit)?, before.as_bytes())))
            .collect();
        let code_keys = STRUCTURE_LITERALS[FAILURE_LITERALS..]
            .iter()
            .filter_map(|lit| Some((literals.iter().position(|l| l == lit)?, lit.ends_with([':', '=']))))
            .collect();
        let mut order: Vec<usize> = (0..catalogue.patterns().len()).collect();
        order.sort_by_key(|&i| {
            let p = catalogue.get(i);
            (p.fallback, p.priority, p.id.clone())
        });
        let codes =
            CodeMap::new(catalogue.patterns().iter().enumerate().map(|(i, p)| (i, p.priority, p.codes.as_slice())));
        let fallback = catalogue.index_of("unlisted").filter(|&i| catalogue.get(i).fallback);
        // Words are worth looking for where a failure word, or a literal of any pattern but the
        // fallback's, stands: every bit below `words_bit + 1` except the fallback's and the signals'.
        let mut words_mask: u128 = 1u128 << words_bit;
        for (i, p) in catalogue.patterns().iter().enumerate() {
            if !p.fallback {
                words_mask |= 1u128 << i;
            }
        }
        Ok(Classifier {
            catalogue,
            format,
            scan,
            owners,
            order,
            codes,
            fallback,
            words_mask,
            field_hits,
            code_keys,
            signals,
        })
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Whether lines are asked for signals: START lines are read (a call is seen at its start).
    pub fn reads_signals(&self) -> bool {
        self.signals
    }

    /// The start of the next literal at or after `from`.
    #[inline]
    pub fn next_candidate(&self, haystack: &[u8], from: usize) -> Option<usize> {
        let mut from = from;
        loop {
            let m = self.scan.find(Input::new(haystack).span(from..haystack.len()))?;
            if !self.says_nothing(haystack, &m) {
                return Some(m.start());
            }
            from = m.start() + 1;
        }
    }

    /// A hit of `FIELD_NAME_HITS`, or a code key giving zero (`gives_zero`).
    #[inline]
    fn says_nothing(&self, haystack: &[u8], m: &aho_corasick::Match) -> bool {
        let i = m.pattern().as_usize();
        self.field_hits.iter().any(|&(l, before)| l == i && haystack[..m.start()].ends_with(before))
            || self.code_keys.iter().any(|&(l, signed)| l == i && gives_zero(&haystack[m.end()..], signed))
    }

    /// Classifies one line (no newline). `None` when no literal occurs on it: the line was not parsed.
    pub fn classify<'a>(&self, line: &'a [u8]) -> Option<Classified<'a>> {
        self.classify_as(line, self.format)
    }

    /// As `classify`, reading the line in the given format (sources differ in format).
    pub fn classify_as<'a>(&self, line: &'a [u8], format: FormatChoice) -> Option<Classified<'a>> {
        if self.next_candidate(line, 0).is_none() {
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
        let mut candidates = self.candidates(raw.unwrap_or(&record.message));
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
        if candidates == 0 {
            return (None, None);
        }
        let first_signal = self.catalogue.patterns().len();
        let signals = if self.signals { self.catalogue.signals().len() } else { 0 };
        let signal_bits = ((1u128 << signals) - 1) << first_signal;
        let is_candidate = |i: usize| candidates & (1u128 << i) != 0;
        let by_regex = |fallback: bool| {
            self.order
                .iter()
                .copied()
                .filter(|&i| self.catalogue.get(i).fallback == fallback && is_candidate(i))
                .find(|&i| confirms(self.catalogue.get(i), record))
        };
        // A line only a signal's literal made a candidate (a START line) is read for errors no more
        // than it is without signals: as a plain `check` reads it (not at all).
        let errors = candidates & !signal_bits != 0;
        let pattern = errors
            .then(|| {
                by_regex(false)
                    .or_else(|| self.by_json_texts(m, candidates))
                    .or_else(|| {
                        match reported::read(
                            m,
                            record.level,
                            record.status_code,
                            &self.codes,
                            candidates & self.words_mask != 0,
                        ) {
                            Reported::Listed(i) => Some(i),
                            Reported::Failure => self.fallback,
                            Reported::Nothing => None,
                        }
                    })
                    .or_else(|| by_regex(true))
            })
            .flatten();
        let signal = (0..signals)
            .filter(|&j| candidates & (1u128 << (first_signal + j)) != 0)
            .find(|&j| confirms(&self.catalogue.signals()[j], record));
        // Step 3 is asked last, of lines that are an error, with the same answer as asked first: most
        // candidate lines are nothing, and its regexes cost more than the steps that say so. Signals
        // are their regexes' alone (a START line is text about no error; asking cost ~0.5 µs on each).
        let pattern = pattern.filter(|_| !not_errors::is_not_an_error(m));
        (pattern, signal)
    }
}

impl Classifier {
    /// The patterns whose literals occur in `text` (bits by catalogue index; then the signals' and the
    /// structural reading's). Every literal occurrence is found without an overlapping search: the
    /// leftmost-longest literal is looked for from each byte after the last one found, so every start
    /// is visited, and at a start only the longest literal is reported, whose bits include those of
    /// every literal it begins with (the only others that can match there). Same answer as the
    /// overlapping walk, with the SIMD prefilter doing the skipping (measured 15 % of `check`'s time
    /// on a load test's export before).
    fn candidates(&self, text: &[u8]) -> u128 {
        let mut bits = 0u128;
        let mut from = 0;
        while let Some(m) = self.scan.find(Input::new(text).span(from..text.len())) {
            if !self.says_nothing(text, &m) {
                bits |= self.owners[m.pattern().as_usize()];
            }
            from = m.start() + 1;
        }
        bits
    }

    /// Step 4's second half: the candidate patterns' regexes on each text inside a JSON message. Only
    /// candidates: a text inside the line holds its pattern's literal only if the line does.
    fn by_json_texts(&self, message: &[u8], candidates: u128) -> Option<usize> {
        let listed = |i: usize| !self.catalogue.get(i).fallback && candidates & (1u128 << i) != 0;
        if !self.order.iter().any(|&i| listed(i)) {
            return None;
        }
        let texts = reported::json_texts(message);
        if texts.is_empty() {
            return None;
        }
        self.order.iter().copied().filter(|&i| listed(i)).find(|&i| {
            let p = self.catalogue.get(i);
            texts.iter().any(|t| {
                let t = t.as_bytes();
                p.regex_matches(t) && !p.exclude.iter().any(|r| r.is_match(t))
            })
        })
    }
}

fn confirms(p: &Pattern, rec: &Record<'_>) -> bool {
    let msg = &rec.message[..];
    let hit = p.regex_matches(msg)
        || rec.level.is_some_and(|l| p.levels.contains(&l))
        || rec.status_code.is_some_and(|c| p.status_codes.contains(&c));
    hit && !p.exclude.iter().any(|r| r.is_match(msg))
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

    /// Every literal of the scan with the bundled patterns (JSON-escaped variants included), once.
    fn bundled_literals() -> Vec<String> {
        let cat = Catalogue::builtin().unwrap();
        let mut all: Vec<String> = cat
            .patterns()
            .iter()
            .chain(cat.signals())
            .flat_map(|p| p.literals.iter().flat_map(|l| with_json_escapes(l)))
            .chain(STRUCTURE_LITERALS.iter().flat_map(|l| with_json_escapes(l)))
            .collect();
        all.sort();
        all.dedup();
        all
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

    /// The leftmost-longest walk finds the same patterns as every overlapping occurrence would, on
    /// texts made of the literals themselves (overlapping, nested, sharing starts) and filler.
    #[test]
    fn candidates_equal_the_overlapping_search() {
        use proptest::prelude::*;
        let c = classifier();
        let lits = bundled_literals();
        let overlapping = AhoCorasick::new(&lits).unwrap();
        let bits_of = |lit: &str| -> u128 {
            let m = c.scan.find(lit).unwrap();
            // The literal itself, found whole: its own bits are among its closure's.
            assert_eq!(m.start(), 0);
            c.owners[m.pattern().as_usize()]
        };
        let piece = prop_oneof![
            prop::sample::select(lits.clone()),
            // Cut literals: a prefix or a suffix of one, so occurrences overlap and nest.
            (prop::sample::select(lits.clone()), 1usize..6).prop_map(|(l, k)| l.chars().take(k).collect()),
            (prop::sample::select(lits.clone()), 1usize..6).prop_map(|(l, k)| {
                let n = l.chars().count();
                l.chars().skip(n.saturating_sub(k)).collect()
            }),
            "[a-z\\\":= ]{0,4}",
        ];
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        runner
            .run(&prop::collection::vec(piece, 0..12), |parts| {
                let text = parts.concat();
                let mut want = 0u128;
                for m in overlapping.find_overlapping_iter(&text) {
                    let lit = &lits[m.pattern().as_usize()];
                    let field_name = FIELD_NAME_HITS
                        .iter()
                        .any(|(l, before)| l == lit && text.as_bytes()[..m.start()].ends_with(before.as_bytes()));
                    let zero = STRUCTURE_LITERALS[FAILURE_LITERALS..].contains(&lit.as_str())
                        && gives_zero(&text.as_bytes()[m.end()..], lit.ends_with([':', '=']));
                    if !field_name && !zero {
                        want |= bits_of(lit);
                    }
                }
                prop_assert_eq!(c.candidates(text.as_bytes()), want, "{:?}", text);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn cls_status_field_name_is_no_candidate() {
        let c = classifier();
        let ok = br#"{"SCF_FunctionName":"getLoginTicket","SCF_RequestId":"8f4c0b5e","SCF_Message":"ticket length: 472","SCF_StatusCode":"200"}"#;
        assert_eq!(c.next_candidate(ok, 0), None);
        assert!(c.classify(ok).is_none());
        // A 43x status, and a code inside the message, still are.
        let timeout = br#"{"SCF_FunctionName":"getLoginTicket","SCF_Message":"Report RequestId: 8f4c0b5e","SCF_StatusCode":"433"}"#;
        assert_eq!(id_of(&c, std::str::from_utf8(timeout).unwrap()).as_deref(), Some("unlisted"));
        // A 43x status written as a number is one too, with a success in the message.
        let thrown = r#"{"SCF_Message":"{\"errcode\":0}","SCF_RequestId":"8f4c0b5e","SCF_StatusCode":430}"#;
        assert_eq!(id_of(&c, thrown).as_deref(), Some("unlisted"));
        let quota = r#"{"SCF_Message":"{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}","SCF_StatusCode":"200"}"#;
        assert_eq!(id_of(&c, quota).as_deref(), Some("wx_45011_minute_quota"));
    }

    #[test]
    fn a_zero_code_says_nothing() {
        let c = classifier();
        for ok in [
            r#"2025-11-25T08:00:00.105Z	f1fe9d67	{"errcode":0,"errmsg":"ok","session_key":"k==","openid":"o"}"#,
            r#"{"SCF_Message":"{\"errcode\":0,\"errmsg\":\"ok\"}","SCF_StatusCode":"200"}"#,
            r#"res: { errCode: 0, errMsg: "cloud.callFunction:ok" }"#,
            "jscode2session errcode=0 ok",
            r#"{"code":"0","data":{}}"#,
        ] {
            assert_eq!(c.next_candidate(ok.as_bytes(), 0), None, "{ok}");
        }
        for failed in [
            r#"{"errcode":40029,"errmsg":"invalid code"}"#,
            r#"{"errcode":0x1,"errmsg":"?"}"#,
            r#"{"errcode":-0}"#,
            r#"{"errcode":0.5}"#,
            r#"{"errcode":0,"errmsg":"ok"} then {"errcode":45011}"#,
            r#"{"code":0,"msg":"TypeError: x is not a function"}"#,
        ] {
            assert!(c.next_candidate(failed.as_bytes(), 0).is_some(), "{failed}");
        }
        assert_eq!(
            id_of(&c, r#"{"errcode":0,"errmsg":"ok"} then {"errcode":45011,"errmsg":"api minute-quota reach limit"}"#)
                .as_deref(),
            Some("wx_45011_minute_quota")
        );
    }

    #[test]
    fn next_candidate_walks_a_buffer() {
        let c = classifier();
        let buf = b"ok\nok {\"errcode\":45011}\nok\n";
        let at = c.next_candidate(buf, 0).unwrap();
        // The code key's literal ("ode\"", in errcode), then nothing after 45011.
        assert_eq!(&buf[at..at + 4], b"ode\"");
        assert_eq!(c.next_candidate(buf, at + 10), None);
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
        let all = bundled_literals();
        assert!(all.len() <= 64, "{} literals: {all:?}", all.len());
    }

    #[test]
    fn exposition_and_help_text_are_not_errors() {
        let c = classifier();
        assert_eq!(id_of(&c, r#"authwatch_errors_total{pattern="x",errcode="45011"} 3"#), None);
        assert_eq!(id_of(&c, r#"wx_errors{errcode="45011"} 3 1741915325117"#), None);
        assert!(!not_errors::is_exposition(br#"{"errcode":45011}"#));
        assert!(!not_errors::is_exposition(br#"x{"errcode":45011} then more"#));
        assert_eq!(id_of(&c, "Error 3 — WeChat returns errcode: 45011"), None);
        assert_eq!(id_of(&c, "retry policy: never retry INVALID_TICKET, TICKET_EXPIRED or SYSTEM_NOT_OPEN"), None);
        assert_eq!(id_of(&c, "if (res.errcode === 45011) return retry()"), None);
        assert_eq!(
            id_of(&c, "jscode2session failed 45011 api minute-quota reach limit").as_deref(),
            Some("wx_45011_minute_quota")
        );
    }
}
