//! Text about errors, never an error: the veto every pattern and the structural reading obey.
//!
//! Semantics: a message is not an error report, whatever codes it names, when it is
//! - quoted source: it starts with `//`, `/*`, `*`, `#` or `<!--`;
//! - source code: comparisons, declarations, switch cases, throw statements, constant tables and enum
//!   definitions (`CODE_45011(45011, "…"),`, `ErrorType["X"] = "x";`, `'-502003': '…',`);
//! - runbook, guide, help or configuration text: `Symptom:`/`Fix:`/`tip:`… prefixes, the guide's
//!   headings, markdown tables and code-span or changelog list items, explanations and absences,
//!   two codes in a list, configuration keys holding a list, command-line option help;
//! - test-runner output (jest/mocha marks, TAP `ok N -`, `PASS`/`FAIL` file lines, go test);
//! - monitoring rules and samples: Prometheus alerting / recording rule lines and PromQL, exposition
//!   lines (`name{errcode="45011"} 3`).
//!
//! Each shape is one no SDK, WeChat answer or runtime prints (tests/corpus holds both sides). Word
//! boundaries are ASCII ones: the words are English, and Unicode boundaries keep the regex off its fast
//! automaton on every candidate line.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// Whether a message only talks about errors (see the file's head).
pub fn is_not_an_error(message: &[u8]) -> bool {
    is_quoted_source(message) || is_exposition(message) || is_help_text(message)
}

pub(super) fn is_quoted_source(message: &[u8]) -> bool {
    let m = message.trim_ascii_start();
    [&b"//"[..], b"/*", b"* ", b"*/", b"#", b"<!--"].iter().any(|p| m.starts_with(p)) || m == b"*"
}

/// Text about errors, not an error, recognised by how the line starts: runbook, guide, help, config,
/// source-definition, test-runner, rule and changelog shapes.
const HELP_AT_START: &str = concat!(
    r"^\s*(?:",
    // Runbook, guide and config prefixes: "Symptom: …", "tip: …", "alert codes: …".
    // Also behind a bracketed tag: "[getLoginTicket] tip: …", "[runbook] Fix: …".
    r"(?i:(?:\[[^\]]*\]\s*)?(?:symptom|root cause|fix|prevention|usage|tips?|hints?|notes?|docs?|checklist|runbook|faq|",
    r"todo|fixme|alerts?|alert codes|alert on|retry policy|permission model|self-check|config|validate|rate limits|",
    r"panel|提示|说明|注意|排查|排障|解决方法|解决方案)\s*[:：])",
    // The guide's section headings, numbered or not, also as a table-of-contents item:
    // "Error 2 — WeChat returns errcode: 40029", "2. WeChat returns errcode: 45011".
    r"|(?:[-*]\s+)?Error \d{1,2} [—–-] |(?i:(?:\d{1,2}[.)]\s*)?WeChat returns errcode(?-u:\b))",
    // Markdown table rows and list items quoting a code; changelog entries (`- [Fixed] …`).
    r"|\||[-*]\s+`|[-*]\s+\[[A-Za-z ]{2,12}\]\s",
    // Conventional-commit changelog items and commit subjects: "- fix(auth): …", "feat!: …".
    r"|(?:[-*]\s+)?(?:fix|feat|chore|docs|refactor|perf|test|build|ci|revert)(?:\([\w./-]+\))?!?:\s",
    // Constant tables and enum definitions: `NAME: -502003,`, Java `CODE_45011(45011, "…"),`,
    // TypeScript's compiled enum `ErrorType["X"] = "x";`, a table keyed by codes `'-502003': '…',`.
    r"|[A-Z][A-Z0-9_]+\s*[:=]\s*(?:-?\d+|'[a-z_]+')\s*,?\s*$",
    r"|[A-Z][A-Z0-9_]*\s*\(\s*(?:-?\d+|\x22[^\x22]*\x22)\s*,.*\)\s*[,;]?\s*$",
    r"|[\w$.]+\[\s*[\x22'][A-Za-z_]+[\x22']\s*\]\s*=|[\x22']-?\d+[\x22']\s*:\s*[\x22']|#define\s",
    // Test-runner output: jest/mocha marks, TAP, `PASS`/`FAIL` file lines, go test, cargo/pytest.
    r"|(?:✓|✔|✕|✖|✗|×|√)\s|(?:not )?ok\s+\d+(?-u:\b)|(?:PASS|FAIL)\s+\S+\.(?:js|ts|mjs|cjs|jsx|tsx)(?-u:\b)",
    r"|---\s+(?:PASS|FAIL):|\[\s*(?:OK|FAILED|PASSED|RUN)\s*\]|test\s+\S+\s+\.\.\.\s",
    // Prometheus alerting and recording rules: their keys.
    r"|(?:-\s+)?(?:expr|alert|record|for|labels|annotations|summary|description|runbook_url)\s*:",
    // Configuration keys holding a list of codes.
    r"|(?i:[\x22']?[\w.-]*(?:codes?|errcodes?|errors|ignore\w*|retry\w*|alert\w*)[\x22']?\s*[:=]\s*\[)",
    // The SDKs' numbered help checklists ("  2 - 当前环境是否开启了自定义登录"), and stack frames
    // ("    at f (file:1:2)", DevTools' "errorReport @ WAServiceMainContext.js:1"): the error is the
    // line above them, not each frame.
    r"|\d{1,2}\s+-\s|at\s+\S.*:\d+(?::\d+)?\)?\s*$|[\w$.<>]+\s+@\s+\S+:\d+\s*$",
    r")",
    // Command-line help: an indented option and its description.
    r"|^\s+-{1,2}[a-z][\w-]*(?:[ =]<?[A-Z_]+>?)?\s{2,}\S",
);

/// Text about errors anywhere in the line: explanations and absences, two codes in a list, source code,
/// PromQL.
const HELP_ANYWHERE: &str = concat!(
    // Explaining or reporting the absence of an error.
    r"(?i:(?-u:\b)(?:means|would mean|(?:if|when) you see|retryable|cleared)(?-u:\b)|(?-u:\b)no\s+\S+\s+(?:since|in the last)(?-u:\b))",
    r"|如果|意味着",
    // authwatch's own words about a pattern ("wx_45011_minute_quota (guide error 3): …").
    r"|(?i:(?-u:\b)guide error \d{1,2}(?-u:\b))",
    // Two codes in a list: "INVALID_TICKET, TICKET_EXPIRED or SYSTEM_NOT_OPEN", "40029, 40163".
    r"|(?-u:\b)[A-Z][A-Z0-9_]{3,}\s*(?:,|/|、|(?-u:\b)or(?-u:\b)|(?-u:\b)and(?-u:\b))\s*[A-Z][A-Z0-9_]{3,}(?-u:\b)",
    r"|(?-u:\b)\d{5}\s*(?:,|/|、)\s*\d{5}(?-u:\b)",
    // Source code: comparisons, declarations, switch cases, throw statements, `static final int X =`.
    r"|[\w)\]'\x22]\s*[!=]==\s*[\w'\x22(-]|(?-u:\b)(?:const|let|var)\s+[\w$]+\s*=|(?-u:\b)case\s*[\x22']|(?-u:\b)throw\s+(?:new\s+)?[\w$.]+\(",
    r"|(?-u:\b)final\s+[\w<>]+\s+\w+\s*=",
    // PromQL: a regex label matcher, or an aggregation over a metric selector.
    r"|\{[^}]*=~\s*\x22|(?-u:\b)(?:increase|rate|irate|sum|count|histogram_quantile)\s*(?:by\s*\([^)]*\)\s*)?\(\s*[a-z_:]+(?:\{|\[)",
);

/// Both as one regex: one pass of the automaton per candidate line (every one passes through here).
/// Its classes ASCII ones (`patterns::ascii_classes`): with Unicode `\w` and `\s` it was 641 KB.
static HELP_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&crate::patterns::ascii_classes(&format!("{HELP_AT_START}|{HELP_ANYWHERE}"))).expect("help-text regex")
});

fn is_help_text(message: &[u8]) -> bool {
    HELP_TEXT.is_match(message)
}

/// A Prometheus / OpenMetrics sample: `name{label="…",…} value [timestamp]`. Its labels may name an
/// errcode; the line counts errors, it is not one.
pub(super) fn is_exposition(message: &[u8]) -> bool {
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
