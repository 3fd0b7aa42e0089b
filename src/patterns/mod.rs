//! The pattern catalogue: the guide's ten errors (plus the `unlisted` fallback) as data files.
//!
//! Contract: `Catalogue::load` reads the embedded files of `patterns/` and then each directory given,
//! where a file whose `id` is already known replaces that pattern and a new id extends the catalogue.
//! Every problem is a `PatternError` naming the file, the line and the field. A loaded catalogue is
//! valid: ids are label-safe and unique, every regex compiles, every pattern has literals for the
//! prefilter. Patterns are kept in display order (guide order, then user patterns, then fallbacks).

mod regexes;

use std::fmt;
use std::path::{Path, PathBuf};

use regex::bytes::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::record::Level;

/// The code tables moved to `crate::codes`; `explain` still finds them here.
pub use crate::codes::{UNLISTED_CODES, UnlistedCode, unlisted_code};
use crate::tomlerr::{self, line_col};
pub use regexes::{Regexes, ascii_boundaries, ascii_classes};

/// The files of `patterns/`, compiled in so the binary works with no files around it.
pub const BUILTIN: [(&str, &str); 12] = [
    ("mp_require_undefined.toml", include_str!("../../patterns/mp_require_undefined.toml")),
    ("wx_40029_invalid_code.toml", include_str!("../../patterns/wx_40029_invalid_code.toml")),
    ("wx_45011_minute_quota.toml", include_str!("../../patterns/wx_45011_minute_quota.toml")),
    ("ticket_invalid.toml", include_str!("../../patterns/ticket_invalid.toml")),
    ("custom_login_disabled.toml", include_str!("../../patterns/custom_login_disabled.toml")),
    ("custom_user_id_invalid.toml", include_str!("../../patterns/custom_user_id_invalid.toml")),
    ("domain_not_allowlisted.toml", include_str!("../../patterns/domain_not_allowlisted.toml")),
    ("sign_param_invalid.toml", include_str!("../../patterns/sign_param_invalid.toml")),
    ("sdk_version_mismatch.toml", include_str!("../../patterns/sdk_version_mismatch.toml")),
    ("unauthorized_after_login.toml", include_str!("../../patterns/unauthorized_after_login.toml")),
    ("unlisted.toml", include_str!("../../patterns/unlisted.toml")),
    ("login_attempt.toml", include_str!("../../patterns/login_attempt.toml")),
];

/// The prefilter keeps one bit per pattern (and signal) in a u128, and two for the structural reading.
pub const MAX_PATTERNS: usize = 126;

#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("{file}: cannot read: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{file}:{line}:{column}: {field}: {message}")]
    Invalid { file: String, line: usize, column: usize, field: String, message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// An error is counted and alerted on; a signal (login attempts) is counted beside the errors and
/// never competes with them for a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Error,
    Signal,
}

/// Where an error shows up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Miniprogram,
    CloudFunction,
    Any,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Miniprogram => "miniprogram",
            Side::CloudFunction => "cloud_function",
            Side::Any => "any",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternFile {
    id: Spanned<String>,
    guide_error: Option<u8>,
    title: String,
    side: Side,
    severity: Severity,
    #[serde(default = "default_priority")]
    priority: i64,
    #[serde(default)]
    fallback: bool,
    #[serde(default)]
    kind: Kind,
    #[serde(default)]
    keys: Vec<String>,
    summary: String,
    fix_summary: String,
    symptom: String,
    root_cause: String,
    fix: String,
    prevention: String,
    #[serde(rename = "match")]
    matching: MatchFile,
    #[serde(default)]
    tests: TestsFile,
}

/// User patterns without a priority are tried after the bundled ten.
fn default_priority() -> i64 {
    1000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchFile {
    literals: Spanned<Vec<Spanned<String>>>,
    regex: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    levels: Vec<Spanned<String>>,
    #[serde(default)]
    status_codes: Vec<u16>,
    #[serde(default)]
    codes: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TestsFile {
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    near_misses: Vec<String>,
}

/// One compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub id: String,
    pub guide_error: Option<u8>,
    pub title: String,
    pub side: Side,
    pub severity: Severity,
    /// Lower wins when two patterns match one line.
    pub priority: i64,
    /// Considered only when no other pattern matched.
    pub fallback: bool,
    pub kind: Kind,
    pub keys: Vec<String>,
    pub summary: String,
    pub fix_summary: String,
    pub symptom: String,
    pub root_cause: String,
    pub fix: String,
    pub prevention: String,
    pub literals: Vec<String>,
    pub regex: Regexes,
    pub exclude: Vec<Regex>,
    pub levels: Vec<Level>,
    pub status_codes: Vec<u16>,
    /// Codes that stand for this pattern wherever a line reports them as its failure (`[match] codes`),
    /// normalised by `codes::normalize`: case and punctuation do not matter.
    pub codes: Vec<String>,
    pub examples: Vec<String>,
    pub near_misses: Vec<String>,
    /// The file it came from (`builtin:NAME` for embedded ones).
    pub origin: String,
}

impl Pattern {
    /// Parses and validates one pattern file's text.
    pub fn from_toml(origin: &str, text: &str) -> Result<Pattern, PatternError> {
        let at = |span: std::ops::Range<usize>, field: &str, message: String| {
            let (line, column) = line_col(text, span.start);
            PatternError::Invalid { file: origin.to_string(), line, column, field: field.to_string(), message }
        };
        let file: PatternFile = toml::from_str(text).map_err(|e| {
            let at = tomlerr::locate(text, &e);
            PatternError::Invalid {
                file: origin.to_string(),
                line: at.line,
                column: at.column,
                field: at.field,
                message: at.message,
            }
        })?;
        let id = file.id.get_ref();
        let label_safe = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && id.len() <= 64;
        if !label_safe {
            return Err(at(file.id.span(), "id", format!("{id:?} must match [a-z][a-z0-9_]{{0,63}}")));
        }
        if file.matching.literals.get_ref().is_empty() {
            return Err(at(
                file.matching.literals.span(),
                "match.literals",
                "at least one literal is needed: lines without one are never looked at".into(),
            ));
        }
        let mut literals = Vec::new();
        for (i, lit) in file.matching.literals.get_ref().iter().enumerate() {
            if lit.get_ref().is_empty() || lit.get_ref().contains('\n') {
                return Err(at(
                    lit.span(),
                    &format!("match.literals[{i}]"),
                    "a literal must be non-empty and on one line".into(),
                ));
            }
            literals.push(lit.get_ref().clone());
        }
        if file.matching.regex.get_ref().is_empty()
            && file.matching.levels.is_empty()
            && file.matching.status_codes.is_empty()
            && file.matching.codes.is_empty()
        {
            return Err(at(file.matching.regex.span(), "match.regex", "at least one regex is needed".into()));
        }
        let written = file.matching.regex.get_ref();
        let regex = Regexes::new(written.iter().map(|r| r.get_ref().as_str()))
            .map_err(|(i, why)| at(written[i].span(), &format!("match.regex[{i}]"), why))?;
        let exclude = (file.matching.exclude.iter().enumerate())
            .map(|(i, r)| {
                regexes::compile(r.get_ref())
                    .map_err(|e| at(r.span(), &format!("match.exclude[{i}]"), format!("regex does not compile: {e}")))
            })
            .collect::<Result<Vec<Regex>, PatternError>>()?;
        let mut levels = Vec::new();
        for (i, l) in file.matching.levels.iter().enumerate() {
            let level = Level::parse(l.get_ref()).ok_or_else(|| {
                at(
                    l.span(),
                    &format!("match.levels[{i}]"),
                    format!("unknown level {:?} (debug, info, warn, error)", l.get_ref()),
                )
            })?;
            levels.push(level);
        }
        let mut codes = Vec::new();
        for (i, c) in file.matching.codes.iter().enumerate() {
            let norm = crate::codes::normalize(c.get_ref());
            if norm.is_empty() {
                return Err(at(c.span(), &format!("match.codes[{i}]"), "a code needs a letter or a digit".into()));
            }
            codes.push(norm);
        }
        Ok(Pattern {
            id: id.clone(),
            guide_error: file.guide_error,
            title: file.title,
            side: file.side,
            severity: file.severity,
            priority: file.priority,
            fallback: file.fallback,
            kind: file.kind,
            keys: file.keys,
            summary: one_line(&file.summary),
            fix_summary: one_line(&file.fix_summary),
            symptom: one_line(&file.symptom),
            root_cause: one_line(&file.root_cause),
            fix: one_line(&file.fix),
            prevention: one_line(&file.prevention),
            literals,
            regex,
            exclude,
            levels,
            status_codes: file.matching.status_codes,
            codes,
            examples: file.tests.examples,
            near_misses: file.tests.near_misses,
            origin: origin.to_string(),
        })
    }

    /// Whether any of the pattern's regexes matches `text`.
    pub fn regex_matches(&self, text: &[u8]) -> bool {
        self.regex.is_match(text)
    }

    /// Whether `key` names this pattern: its id, or one of its keys (an errcode, an SDK code), any case.
    pub fn answers_to(&self, key: &str) -> bool {
        let key = key.trim();
        self.id.eq_ignore_ascii_case(key) || self.keys.iter().any(|k| k.eq_ignore_ascii_case(key))
    }
}

/// Texts are wrapped in the files for reading; one space between words is what people and JSON get.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// All patterns in effect.
#[derive(Debug, Clone)]
pub struct Catalogue {
    patterns: Vec<Pattern>,
    signals: Vec<Pattern>,
}

impl Catalogue {
    /// The embedded files.
    pub fn builtin() -> Result<Catalogue, PatternError> {
        Catalogue::load(&[], true)
    }

    /// The embedded files (unless `builtin` is false), then every `*.toml` of each directory in turn.
    pub fn load(dirs: &[PathBuf], builtin: bool) -> Result<Catalogue, PatternError> {
        let mut patterns: Vec<Pattern> = Vec::new();
        if builtin {
            for (name, text) in BUILTIN {
                patterns.push(Pattern::from_toml(&format!("builtin:{name}"), text)?);
            }
        }
        for dir in dirs {
            let mut seen: Vec<(String, String)> = Vec::new();
            for path in toml_files(dir)? {
                let origin = path.display().to_string();
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| PatternError::Io { file: origin.clone(), source })?;
                let p = Pattern::from_toml(&origin, &text)?;
                if let Some((_, other)) = seen.iter().find(|(id, _)| *id == p.id) {
                    return Err(PatternError::Invalid {
                        file: origin,
                        line: 1,
                        column: 1,
                        field: "id".into(),
                        message: format!("id {:?} is also defined in {other}", p.id),
                    });
                }
                seen.push((p.id.clone(), origin));
                match patterns.iter_mut().find(|q| q.id == p.id) {
                    Some(q) => *q = p,
                    None => patterns.push(p),
                }
            }
        }
        if patterns.len() >= MAX_PATTERNS {
            return Err(PatternError::Invalid {
                file: dirs.last().map_or_else(|| "-".into(), |d| d.display().to_string()),
                line: 1,
                column: 1,
                field: "id".into(),
                message: format!("{} patterns, at most {MAX_PATTERNS} are supported", patterns.len()),
            });
        }
        patterns.sort_by(|a, b| {
            (a.fallback, a.guide_error.is_none(), a.guide_error, &a.id).cmp(&(
                b.fallback,
                b.guide_error.is_none(),
                b.guide_error,
                &b.id,
            ))
        });
        let (signals, patterns) = patterns.into_iter().partition(|p| p.kind == Kind::Signal);
        Ok(Catalogue { patterns, signals })
    }

    /// The error patterns, in display order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The signal patterns (`login_attempt`).
    pub fn signals(&self) -> &[Pattern] {
        &self.signals
    }

    pub fn signal_index(&self, id: &str) -> Option<usize> {
        self.signals.iter().position(|p| p.id == id)
    }

    pub fn get(&self, i: usize) -> &Pattern {
        &self.patterns[i]
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.patterns.iter().position(|p| p.id == id)
    }

    pub fn find(&self, key: &str) -> Option<&Pattern> {
        self.patterns.iter().chain(&self.signals).find(|p| p.answers_to(key))
    }
}

/// The bundled pattern set's name: `bundled-` and a hash (FNV-1a, 32 bits shown) of every bundled
/// file's name and text, so two builds with the same patterns say the same.
pub fn builtin_set_id() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, text) in BUILTIN {
        for b in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("bundled-{:08x}", h >> 32)
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, PatternError> {
    let io = |source| PatternError::Io { file: dir.display().to_string(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_character_beside_a_word_is_a_boundary() {
        let p = Pattern::from_toml("t", &MINIMAL.replace(r"regex = ['boom \d+']", r"regex = ['\bINVALID_PARAM\b']"))
            .unwrap();
        // As it reads; ASCII letters are not (`regexes::ascii_boundaries`).
        assert!(p.regex_matches("失败INVALID_PARAM：x".as_bytes()));
        assert!(!p.regex_matches(b"xINVALID_PARAM"));
    }

    #[test]
    fn builtin_set_id_names_the_bundle() {
        assert!(builtin_set_id().starts_with("bundled-") && builtin_set_id().len() == 16);
    }

    const MINIMAL: &str = r#"
id = "my_error"
title = "t"
side = "cloud_function"
severity = "warning"
summary = "s"
fix_summary = "f"
symptom = "s"
root_cause = "r"
fix = "f"
prevention = "p"
[match]
literals = ["boom"]
regex = ['boom \d+']
"#;

    fn err(text: &str) -> String {
        Pattern::from_toml("x.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn builtin_catalogue_loads_in_guide_order() {
        let c = Catalogue::builtin().unwrap();
        let ids: Vec<_> = c.patterns().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "mp_require_undefined",
                "wx_40029_invalid_code",
                "wx_45011_minute_quota",
                "ticket_invalid",
                "custom_login_disabled",
                "custom_user_id_invalid",
                "domain_not_allowlisted",
                "sign_param_invalid",
                "sdk_version_mismatch",
                "unauthorized_after_login",
                "unlisted"
            ]
        );
        for p in c.patterns() {
            assert!(p.examples.len() >= 3 && p.near_misses.len() >= 3, "{} needs ≥3 examples and near-misses", p.id);
        }
    }

    #[test]
    fn every_file_in_patterns_dir_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("patterns");
        let on_disk: Vec<String> =
            toml_files(&dir).unwrap().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        let mut embedded: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        assert!(Pattern::from_toml("x.toml", MINIMAL).is_ok());
        let bad_regex = MINIMAL.replace(r"'boom \d+'", "'boom (unclosed'");
        let e = err(&bad_regex);
        assert!(e.starts_with("x.toml:14:"), "{e}");
        assert!(e.contains("match.regex[0]: regex does not compile"), "{e}");
        // A part that only parses inside the union (`(?:a)|(b)`) is still named.
        let e = err(&MINIMAL.replace(r"['boom \d+']", r"['boom \d+', 'a)|(b']"));
        assert!(e.contains("match.regex[1]: regex does not compile"), "{e}");
        // The union matches; each regex is there on its own when asked.
        let p = Pattern::from_toml("x.toml", &MINIMAL.replace(r"['boom \d+']", r"['boom \d+', '\bbang\b']")).unwrap();
        assert!(p.regex.is_union() && p.regex_matches(b"a bang!"));
        assert_eq!(p.regex.parts().len(), 2);
        assert!(p.regex.parts()[1].is_match(b"bang") && !p.regex.parts()[0].is_match(b"bang"));
        let unknown = MINIMAL.replace("title = \"t\"", "title = \"t\"\ncolour = \"red\"");
        let e = err(&unknown);
        assert!(e.starts_with("x.toml:4:") && e.contains(": colour: unknown field"), "{e}");
        let e = err(&MINIMAL.replace("severity = \"warning\"", "severity = \"fatal\""));
        assert!(e.starts_with("x.toml:5:") && e.contains(": severity: ") && e.contains("fatal"), "{e}");
        let e = err(&MINIMAL.replace("literals = [\"boom\"]", "literals = \"boom\""));
        assert!(e.starts_with("x.toml:13:") && e.contains(": match.literals: "), "{e}");
        let e = err(&MINIMAL.replace("id = \"my_error\"", "id = \"My Error\""));
        assert!(e.starts_with("x.toml:2:") && e.contains(": id:"), "{e}");
        let e = err(&MINIMAL.replace("fix = \"f\"\n", ""));
        assert!(e.contains(": fix: missing field"), "{e}");
        let e = err(&MINIMAL.replace("literals = [\"boom\"]", "literals = []"));
        assert!(e.starts_with("x.toml:13:") && e.contains("match.literals"), "{e}");
    }

    #[test]
    fn a_directory_replaces_and_extends() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mine.toml"), MINIMAL).unwrap();
        let replaced = Catalogue::builtin().unwrap().get(2).clone();
        let text = BUILTIN[2].1.replace("severity = \"warning\"", "severity = \"critical\"");
        std::fs::write(dir.path().join("override.toml"), text).unwrap();
        let c = Catalogue::load(&[dir.path().to_path_buf()], true).unwrap();
        assert_eq!(c.patterns().len(), 12);
        assert_eq!(c.signals().len(), 1);
        assert_eq!(c.patterns()[10].id, "my_error");
        assert_eq!(c.patterns()[11].id, "unlisted");
        let p = &c.patterns()[c.index_of(&replaced.id).unwrap()];
        assert_eq!(p.severity, Severity::Critical);
        assert!(p.origin.ends_with("override.toml"));
        let only = Catalogue::load(&[dir.path().to_path_buf()], false).unwrap();
        assert_eq!(only.patterns().len(), 2);
    }

    #[test]
    fn explain_keys_find_patterns() {
        let c = Catalogue::builtin().unwrap();
        assert_eq!(c.find("45011").unwrap().id, "wx_45011_minute_quota");
        assert_eq!(c.find("sign_param_invalid").unwrap().id, "sign_param_invalid");
        assert_eq!(c.find("SIGN_PARAM_INVALID").unwrap().id, "sign_param_invalid");
        assert_eq!(c.find("40163").unwrap().id, "wx_40029_invalid_code");
        assert!(c.find("12345").is_none());
    }
}
