//! What a line reports: whether it says something failed, and which code it names as the failure.
//! The structural reading behind the ten's regexes: it generalises to shapes no pattern was tuned on.
//!
//! Semantics (the caller has already ruled out text about errors, `not_errors`):
//! - **A failure** is reported by the record's level (CLS `SCF_Level` ERROR, a real-time item's error
//!   bit), an SCF status code 430 / 433 / 434, or a failure word: English (`error`, `exception`,
//!   `fail…`, `ERR`, `denied`, `refused`, `rejected`, `forbidden`, `timeout`, `timed out`, `exceed…`,
//!   `not a function`,
//!   `is not defined`, `cannot`, `unable to`, `not found`, …; exception class names end in one) or
//!   Chinese (失败, 错误, 异常, 超时, 超限, 无效, 拒绝, 报错, 出错, 不合法, 非法, 失效, 过期, 无权, 无法).
//!   A word that is negated is none: `"error":null`, `error=0`, `no errors`, `0 failures`.
//! - **A code** stands in a code position: the value of a key (`errcode`, `errCode`, `err_code`,
//!   `error_code`, `errno`, `code`, `error`, `err`, `status`, `reason`, `错误码`, `错误代码`,
//!   `Error code`), in brackets (`[CODE]`), after an exception name (`Error: CODE`,
//!   `WeChatClientException(45011, …)`), in parentheses, or a number right after a failure word. In a
//!   line that reports a failure, any identifier shaped like a code (one with an `_`, or five or more
//!   capitals) counts too. Codes are compared normalised (`crate::codes::normalize`).
//! - **The verdict**: a code of one of the ten (the pattern files' `[match] codes`) gives that pattern,
//!   the lowest `priority` first when there are several; otherwise a failure, or a code position
//!   holding a known error code (`crate::codes::KNOWN`), a non-zero errcode or an error-shaped name
//!   (`…_ERROR`, `…_FAIL`, `INVALID_…`, `…_DENIED`, `…_EXCEEDED`, `…_LIMIT`, …), is `Failure`: the
//!   guide's "not listed above". Anything else is `Nothing`.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::codes;
use crate::patterns::ascii_classes;
use crate::record::Level;

/// What one message reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// A code of this pattern (catalogue index).
    Listed(usize),
    /// A failure whose code none of the patterns' codes covers.
    Failure,
    Nothing,
}

/// Normalised code → the catalogue index of the pattern it stands for (the lowest `priority` wins when
/// two patterns name one code).
#[derive(Debug, Default)]
pub struct CodeMap {
    codes: HashMap<String, (i64, usize)>,
}

impl CodeMap {
    pub fn new<'a>(patterns: impl Iterator<Item = (usize, i64, &'a [String])>) -> CodeMap {
        let mut codes: HashMap<String, (i64, usize)> = HashMap::new();
        for (index, priority, list) in patterns {
            for code in list {
                let entry = codes.entry(code.clone()).or_insert((priority, index));
                if priority < entry.0 {
                    *entry = (priority, index);
                }
            }
        }
        CodeMap { codes }
    }

    fn get(&self, code: &str) -> Option<(i64, usize)> {
        self.codes.get(code).copied()
    }
}

// Their `\s`, `\d` and `\w` are ASCII classes (`ascii_classes`): Unicode ones compile to automata
// of hundreds of KB that every candidate line runs through.
// A word starts after a non-alphanumeric character (so "login_failed" counts but "oFaIl9" inside an
// openid does not) or at a camelCase hump in its own case ("TypeError", "WxErrorException"). No
// Unicode word boundaries: they keep the regex engine off its fast automaton, and this runs on every
// candidate line. Group `w` is the word itself.
static FAILURE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&ascii_classes(concat!(
        r"(?:^|[^A-Za-z0-9])(?P<w>(?i:error|exception|fail|fatal|panic|denied|refused|rejected|forbidden|timeout|",
        r"timed out|unable to|exceed|cannot\s|can't\s|could not|not a function|is not defined|not found|",
        r"unauthori[sz]ed|unauthenticated|aborted)[A-Za-z]*)",
        r"|[a-z](?P<h>(?:Error|Exception|Fail|Timeout|Denied|Refused|Rejected|Forbidden)[A-Za-z]*)",
        r"|(?P<c>失败|错误|异常|超时|超限|无效|拒绝|报错|出错|不合法|非法|失效|过期|无权|无法)",
        // A bare ERR level or tag, not letters inside an id.
        r"|(?:^|[\s\[(])(?P<e>ERR)(?:[\s:\]]|$)",
    )))
    .expect("failure-word regex")
});

/// What stands right after a failure word that says there was none: `"error":null`, `errors: 0`.
static NEGATED_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&ascii_classes(
        r#"^[\s"'\\]*[:=]\s*[\s"'\\]*(?:null|none|nil|false|undefined|0(?:[^\d.]|$)|\[\]|\{\}|""|''|\\"\\")"#,
    ))
    .expect("negation regex")
});

/// What stands right before one that makes it no report of its own: `no errors`, `0 failures`,
/// `without error`; a level field's value (`"SCF_Level":"ERROR"`, `level=error`: a level counts only
/// from a parsed record, where the classifier passes it, never from a broken record's text); the
/// status field of a `tcb fn log` block (`调用状态：失败`), whose `返回结果：` line reports what failed.
static NEGATED_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&ascii_classes(
        r#"(?i:(?:^|\W)(?:no|0|zero|without|non)[\s-]*|level[\\"']*\s*[:=]\s*[\\"']*)$|调用状态\s*[:：]\s*$"#,
    ))
    .expect("negation regex")
});

/// Code positions: a key and its value, a bracketed code, what follows an exception name, a
/// parenthesised code, a number after a failure word. Each alternative ends with the code (or the code
/// and one closing character), which `read` takes as the span's last identifier.
static CODE_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&ascii_classes(concat!(
        r#"(?:(?:^|[^A-Za-z0-9_])(?P<key>(?i:err_?code|errcode|error_?code|errno|err_?no|code|error|err|status|reason)|错误码|错误代码|返回码|(?i:error code|err code))"#,
        r#"[\\"']*\s*[:=：]\s*[\\"'\[]*\s*(?P<v>-?[A-Za-z0-9][A-Za-z0-9_.-]*))"#,
        r"|\[(?P<b>[A-Za-z][A-Za-z0-9_-]{2,})\]",
        r#"|[A-Za-z](?:Error|Exception)\s*[:(]\s*[\\"'\[]*(?P<e>-?[A-Za-z0-9][A-Za-z0-9_-]*)"#,
        r#"|[(（【]\s*[\\"']*(?P<p>-?[A-Za-z0-9][A-Za-z0-9_-]*)[\\"']*\s*[)）】]"#,
        // A Chinese code label needs no separator, and may quote its code: 错误码“45011”, 错误码45011.
        r#"|(?:错误码|错误代码|返回码)\s*[:=：]?\s*[“"'「]?\s*(?P<z>-?[A-Za-z0-9][A-Za-z0-9_-]*)"#,
        r"|(?i:fail(?:ed|ure)?|error|err)\s*[:：]?\s*(?P<n>-?\d{2,7})(?:[^\w.]|$)|(?:失败|错误|异常)\s*[:：]?\s*(?P<cn>-?\d{2,7})(?:\D|$)",
    )))
    .expect("code-position regex")
});

/// Identifiers that may be codes anywhere in a failure line.
static TOKEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9][A-Za-z0-9_-]*").expect("token regex"));

const ERRORISH: [&str; 14] = [
    "ERROR",
    "FAIL",
    "INVALID",
    "DENIED",
    "EXCEED",
    "TIMEOUT",
    "FORBIDDEN",
    "NOT_FOUND",
    "NOT_EXIST",
    "EXPIRED",
    "UNAUTHORIZED",
    "REFUSED",
    "ABORT",
    "LIMIT",
];

/// Reads one message. `words`: whether to look for failure words at all. The classifier passes false
/// for a line that only its code-key literals (`code":`, `code=`) made a candidate, where no failure
/// word of the prefilter stands: the commonest such line is WeChat's success answer (`"errcode":0`),
/// and skipping the word scan there keeps the structural reading within the throughput budget.
pub fn read(message: &[u8], level: Option<Level>, status: Option<u16>, map: &CodeMap, words: bool) -> Reported {
    let text = match std::str::from_utf8(message) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(message),
    };
    let text = ascii_digits(text);
    let failure =
        level == Some(Level::Error) || matches!(status, Some(430 | 433 | 434)) || (words && says_failure(&text));
    let mut best: Option<(i64, usize)> = None;
    let mut consider = |code: &str| {
        if let Some(hit) = map.get(code)
            && best.is_none_or(|b| hit.0 < b.0)
        {
            best = Some(hit);
        }
    };
    let mut error_code = false;
    // Spans only (the fast automaton, no capture engine): the code is the last identifier of a span,
    // and whether its key names an error is read from the span's text.
    // Where no failure word is looked for, a line whose every code key holds 0 and that has no
    // bracket or parenthesis has no code position worth the regex: WeChat's success answer.
    let spans = if words || !only_zero_codes(&text) { CODE_AT.find_iter(&text).collect() } else { Vec::new() };
    for span in spans {
        let s = span.as_str();
        let raw = last_identifier(s);
        // Zero is success ("errcode":0, "code":0), never a code: the commonest span, settled first.
        if raw.is_empty() || raw.bytes().all(|b| b == b'0') {
            continue;
        }
        let code = codes::normalize(raw);
        if code.is_empty() {
            continue;
        }
        consider(&code);
        let number = code.trim_start_matches('-');
        let numeric = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
        error_code |= if numeric {
            // Whether the key names an error (errcode, error code, 错误码, a failure word before it).
            let errish =
                s.as_bytes().windows(3).any(|w| w.eq_ignore_ascii_case(b"err") || w.eq_ignore_ascii_case(b"fai"))
                    || s.contains(['码', '败', '误', '常']);
            errish && number.bytes().any(|b| b != b'0')
        } else {
            codes::is_known(&code) || ERRORISH.iter().any(|w| code.contains(w))
        };
    }
    if failure {
        for t in TOKEN.find_iter(&text) {
            let t = t.as_str();
            let shaped = t.contains(['_', '-']) || (t.len() >= 5 && t.bytes().all(|b| b.is_ascii_uppercase()));
            if shaped {
                consider(&codes::normalize(t));
            }
        }
    }
    match best {
        Some((_, index)) => Reported::Listed(index),
        None if failure || error_code => Reported::Failure,
        None => Reported::Nothing,
    }
}

/// The text with full-width digits (０–９, typed with a Chinese input method: 错误码：４５０１１) as ASCII
/// ones, so a code in them is read as the code it is. Most text has none and is not copied.
fn ascii_digits(text: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, str> {
    // U+FF10..U+FF19 are EF BC 90..99 in UTF-8.
    let b = text.as_bytes();
    let full_width = memchr::memchr_iter(0xEF, b)
        .any(|i| b.get(i + 1) == Some(&0xBC) && b.get(i + 2).is_some_and(|c| (0x90..=0x99).contains(c)));
    if !full_width {
        return text;
    }
    let ascii = |c: char| ('０'..='９').contains(&c).then(|| char::from(b'0' + (c as u32 - '０' as u32) as u8));
    text.chars().map(|c| ascii(c).unwrap_or(c)).collect()
}

/// Whether every `code` / `Code` key of the text holds 0 (`"errcode":0`, `code=0`) and the text has no
/// bracket or parenthesis: then no code position of `CODE_AT` can hold a code.
fn only_zero_codes(text: &str) -> bool {
    let b = text.as_bytes();
    if b.iter().any(|c| matches!(c, b'[' | b'(')) || text.contains(['（', '【']) {
        return false;
    }
    memchr::memmem::find_iter(b, b"ode").all(|at| {
        let mut i = at + 3;
        let skip = |i: &mut usize, set: &[u8]| {
            while *i < b.len() && set.contains(&b[*i]) {
                *i += 1;
            }
        };
        skip(&mut i, b"\"' ");
        if i >= b.len() || !matches!(b[i], b':' | b'=') {
            // Not a key ("jscode2session", "node"): nothing to check.
            return true;
        }
        i += 1;
        skip(&mut i, b"\"' ");
        i < b.len() && b[i] == b'0' && !b.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
    })
}

/// A code position's code: the last identifier of its span (a leading `-` kept: wx-server-sdk's
/// -502003), without the closing bracket, parenthesis or quote that may end the span.
fn last_identifier(span: &str) -> &str {
    let b = span.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut end = b.len();
    while end > 0 && !b[end - 1].is_ascii_alphanumeric() {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && ident(b[start - 1]) {
        start -= 1;
    }
    // Only a sign is kept of leading dashes ("--x" is not a code).
    while start + 1 < end && b[start] == b'-' && b[start + 1] == b'-' {
        start += 1;
    }
    if start < end && b[start] == b'-' && !b.get(start + 1).is_some_and(u8::is_ascii_digit) {
        start += 1;
    }
    &span[start..end]
}

fn says_failure(text: &str) -> bool {
    let said = FAILURE_WORD.captures_iter(text).any(|c| {
        let Some(m) = c.name("w").or(c.name("h")).or(c.name("c")).or(c.name("e")) else { return false };
        let after = &text[m.end()..];
        let negated = NEGATED_AFTER.is_match(after) || NEGATED_BEFORE.is_match(&text[..m.start()]);
        // A header whose message is on the next line ("app.js错误:", "MiniProgramError"), and a count
        // ("errors: { INVALID_TICKET: 3 }", "failures=2"): neither reports a failure itself.
        let word = m.as_str().to_ascii_lowercase();
        let header = (word == "error" || word == "错误") && after.trim_start_matches([':', '：', ' ']).is_empty();
        let count = matches!(word.as_str(), "errors" | "failures" | "fails") && COUNT_AFTER.is_match(after);
        !(negated || header || count)
    });
    // "login attempt 3/5 failed, retrying": the attempt that finally fails reports it.
    said && !RETRYING.is_match(text)
}

static RETRYING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i:(?-u:\b)retrying(?-u:\b))|正在重试").expect("retrying regex"));

static COUNT_AFTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&ascii_classes(r"^\s*[:=]\s*[\d{]")).expect("count regex"));

/// The texts inside a JSON message (an error tracker's event, a pino line, a returned object): every
/// string value, and `type: value` / `name: message` of an object that has both, as runtimes print an
/// exception. The ten's regexes anchored at a message's start or end then see them as messages.
pub fn json_texts(message: &[u8]) -> Vec<String> {
    let start = message.trim_ascii_start();
    if !(start.starts_with(b"{") || start.starts_with(b"[")) {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(message) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    collect(&value, &mut out, 0);
    out
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>, depth: usize) {
    use serde_json::Value;
    // Deeper than any log shape we read: a hostile line cannot make this walk long.
    if depth > 16 || out.len() > 256 {
        return;
    }
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect(i, out, depth + 1)),
        Value::Object(map) => {
            for (kind, text) in [("type", "value"), ("name", "message")] {
                if let (Some(Value::String(k)), Some(Value::String(t))) = (map.get(kind), map.get(text)) {
                    out.push(format!("{k}: {t}"));
                }
            }
            map.values().for_each(|i| collect(i, out, depth + 1));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> CodeMap {
        let ticket = vec!["INVALID_TICKET".to_string(), "TICKET_EXPIRED".to_string()];
        let quota = vec!["45011".to_string()];
        let denied = vec!["PERMISSION_DENIED".to_string(), "UNAUTHORIZED".to_string()];
        CodeMap::new([(3, 30, &ticket[..]), (2, 40, &quota[..]), (9, 90, &denied[..])].into_iter())
    }

    fn read_text(s: &str) -> Reported {
        read(s.as_bytes(), None, None, &map(), true)
    }

    #[test]
    fn a_code_of_the_ten_in_any_case_or_punctuation() {
        assert_eq!(read_text("level=error event=custom_login code=ticket_expired"), Reported::Listed(3));
        assert_eq!(read_text("登录失败：Ticket-Expired"), Reported::Listed(3));
        assert_eq!(read_text("WeChatClientException(45011, api limit)"), Reported::Listed(2));
        assert_eq!(read_text("[db] get failed: permission_denied (uid=2f0c)"), Reported::Listed(9));
        // Two codes: the lower priority wins.
        assert_eq!(read_text("rejected [INVALID_TICKET] then [UNAUTHORIZED]"), Reported::Listed(3));
        // Typed with a Chinese input method: full-width digits, quotes, brackets, no separator.
        assert_eq!(read_text("登录失败，错误码：４５０１１"), Reported::Listed(2));
        assert_eq!(read_text("错误码“45011”"), Reported::Listed(2));
        assert_eq!(read_text("错误码45011，请稍后再试"), Reported::Listed(2));
        assert_eq!(read(b"\xe3\x80\x9045011\xe3\x80\x91", None, None, &map(), false), Reported::Listed(2));
        assert_eq!(read_text("耗时４５０１１ms"), Reported::Nothing);
    }

    #[test]
    fn a_failure_with_another_code_is_unlisted() {
        assert_eq!(read_text("Error: [EXCEED_REQUEST_LIMIT] 请求次数超限"), Reported::Failure);
        assert_eq!(read_text("请求超时"), Reported::Failure);
        assert_eq!(read_text("code=EXCEED_REQUEST_LIMIT"), Reported::Failure);
        assert_eq!(read_text("wx errcode=40125 invalid appsecret"), Reported::Failure);
        assert_eq!(read(b"db write", Some(Level::Error), None, &map(), true), Reported::Failure);
        assert_eq!(read(b"Report RequestId: x", None, Some(433), &map(), true), Reported::Failure);
    }

    #[test]
    fn no_failure_is_nothing() {
        for s in [
            r#"{"errcode":0,"errmsg":"ok"}"#,
            r#"{"error":null,"data":{"ticket":"x"}}"#,
            "signInWithCustomTicket ok, no errors",
            "Report RequestId: 45011c0d-40a2 Duration:45011ms",
            "[getLoginTicket] ticket length: 612 INVALID_TICKET_HINT",
            "[login] will retry on INVALID_TICKET",
            "app.js错误:",
            "VM190:1 MiniProgramError",
            "[stats] errors: { INVALID_TICKET: 3, SYSTEM_NOT_OPEN: 1 }",
            "login attempt 3/5 failed, retrying",
            r#"{"SCF_Level":"ERROR","SCF_Message":"x""#,
            "调用状态：失败",
        ] {
            assert_eq!(read_text(s), Reported::Nothing, "{s}");
        }
    }

    #[test]
    fn success_answers_skip_the_code_scan() {
        assert!(only_zero_codes(r#"{"errcode":0,"errmsg":"ok","openid":"o9MzbvFaIl9Pfx"}"#));
        assert!(only_zero_codes("jscode2session ok code=0"));
        assert!(!only_zero_codes(r#"{"errcode":40125}"#));
        assert!(!only_zero_codes(r#"{"code":"system_not_open"}"#));
        assert!(!only_zero_codes(r#"{"errCode":-503004}"#));
        assert!(!only_zero_codes("code=0 [EXCEED_REQUEST_LIMIT]"));
        assert!(!only_zero_codes("errcode: 0.5"));
        // Read without failure words, a success answer is nothing and a real code still counts.
        assert_eq!(read(br#"{"errcode":0,"errmsg":"ok"}"#, None, None, &map(), false), Reported::Nothing);
        assert_eq!(read(br#"{"code":"ticket_expired"}"#, None, None, &map(), false), Reported::Listed(3));
    }

    #[test]
    fn the_code_is_the_spans_last_identifier() {
        assert_eq!(last_identifier(r#""errcode":45011"#), "45011");
        assert_eq!(last_identifier("errCode: -502003"), "-502003");
        assert_eq!(last_identifier("[INVALID_TICKET]"), "INVALID_TICKET");
        assert_eq!(last_identifier(r#"code: 'ticket-expired')"#), "ticket-expired");
        assert_eq!(last_identifier("(--x)"), "x");
        assert_eq!(last_identifier("[]"), "");
    }

    #[test]
    fn json_texts_pair_type_and_value() {
        let t = json_texts(br#"{"exception":{"values":[{"type":"ReferenceError","value":"require is not defined"}]}}"#);
        assert!(t.contains(&"ReferenceError: require is not defined".to_string()), "{t:?}");
        assert!(t.contains(&"require is not defined".to_string()), "{t:?}");
        assert!(json_texts(b"plain text").is_empty());
    }
}
