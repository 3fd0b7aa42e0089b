//! Every config error in one run: a file with three mistakes says all three, in file order, each with
//! file:line:column and the key, instead of one per run.
//!
//! Contract: `parse_all` deserializes the file; on an error it records where, blanks the offending line
//! (spaces, so every other offset, line and column stays as written) and tries again, until the file
//! parses or a further error could be a consequence of the blanking (a syntax error, a missing field,
//! the same line again): those stop the collection, and only errors of the file as written are kept.
//! Errors come in file order. The caller then checks the values of what parsed, adds those errors and
//! puts them all in file order. `alert_key_at` finds a key of the n-th `[[alerts]]` table, for the rule checks that
//! need the pattern catalogue (a bad `pattern`).

use serde::de::DeserializeOwned;

use crate::alerts::{Engine, RuleConfig};
use crate::patterns::Catalogue;
use crate::tomlerr::{self, Location};

/// At most this many errors from deserializing (a file of nothing but errors stops here).
const MAX_PARSE_ERRORS: usize = 50;

/// The file deserialized (None when some line could not be), and every error found on the way.
pub fn parse_all<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<Location>) {
    let mut doc = text.to_string();
    let mut errors: Vec<Location> = Vec::new();
    let mut blanked: Vec<usize> = Vec::new();
    loop {
        let e = match toml::from_str::<T>(&doc) {
            Ok(v) => return (Some(v), sorted(errors)),
            Err(e) => e,
        };
        let l = tomlerr::locate(text, &e);
        let syntax = doc.parse::<toml::Table>().is_err();
        let missing = l.message.starts_with("missing field");
        if !errors.is_empty() && missing && !syntax {
            // A key blanked for its own error left its table without a required one: not reported,
            // and the whole table goes, so the tables after it are still looked at.
            if let Some(header) = table_of(&doc, &blanked) {
                if !blanked.contains(&header) {
                    blank_line(&mut doc, header);
                    blanked.push(header);
                    continue;
                }
            }
        }
        if !errors.is_empty() && (syntax || missing || blanked.contains(&l.line)) {
            // Possibly of the blanking's making: not reported.
            return (None, sorted(errors));
        }
        let line = l.line;
        errors.push(l);
        if syntax || missing || errors.len() >= MAX_PARSE_ERRORS || e.span().is_none() {
            return (None, sorted(errors));
        }
        blank_line(&mut doc, line);
        blanked.push(line);
    }
}

/// The header line of the last table that holds a blanked line and whose header is not blanked yet.
fn table_of(doc: &str, blanked: &[usize]) -> Option<usize> {
    let mut header = None;
    let mut found = None;
    for (i, l) in doc.split('\n').enumerate() {
        let line = i + 1;
        if l.trim_start().starts_with('[') {
            header = Some(line);
        }
        if blanked.contains(&line) && header.is_some_and(|h| !blanked.contains(&h)) {
            found = header;
        }
    }
    found
}

fn sorted(mut errors: Vec<Location>) -> Vec<Location> {
    errors.sort_by_key(|l| (l.line, l.column));
    errors
}

/// Replaces line `line` (1-based) with spaces, its length kept; a table header with its whole table
/// (its keys would otherwise land in the table above and be reported as unknown there).
fn blank_line(doc: &mut String, line: usize) {
    let mut out = String::with_capacity(doc.len());
    let mut in_table = false;
    for (i, l) in doc.split_inclusive('\n').enumerate() {
        let header = l.trim_start().starts_with('[');
        if i + 1 == line {
            in_table = header;
        } else if header {
            in_table = false;
        }
        if i + 1 == line || in_table {
            let body = l.trim_end_matches(['\n', '\r']);
            out.push_str(&" ".repeat(body.len()));
            out.push_str(&l[body.len()..]);
        } else {
            out.push_str(l);
        }
    }
    *doc = out;
}

/// (line, column) of `key` in the `index`-th `[[alerts]]` table of `text` (its header when the key is
/// not written there; line 1 when there is no such table).
pub fn alert_key_at(text: &str, index: usize, key: &str) -> (usize, usize) {
    let mut offset = 0;
    let mut seen = 0;
    let mut header = None;
    for l in text.split_inclusive('\n') {
        let t = l.trim_start();
        if t.starts_with('[') {
            if header.is_some() {
                break;
            }
            if t.starts_with("[[alerts]]") {
                if seen == index {
                    header = Some(offset + (l.len() - t.len()));
                }
                seen += 1;
            }
        } else if header.is_some() {
            let name: String = t.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name == key && t[name.len()..].trim_start().starts_with('=') {
                return tomlerr::line_col(text, offset + (l.len() - t.len()));
            }
        }
        offset += l.len();
    }
    header.map_or((1, 1), |h| tomlerr::line_col(text, h))
}

/// (line, column, key, message) of every alert rule the catalogue refuses (a pattern it lacks, a
/// threshold, a window) or named twice, at its `[[alerts]]` table's key in `text`.
pub fn rule_errors(rules: &[RuleConfig], catalogue: &Catalogue, text: &str) -> Vec<(usize, usize, String, String)> {
    let mut errors = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let twice = || rules[..i].iter().any(|e| e.alert == rule.alert).then(|| "defined twice".to_string());
        let Some(message) = Engine::new(std::slice::from_ref(rule), catalogue).err().map(|e| e.message).or_else(twice)
        else {
            continue;
        };
        let key = ["pattern", "threshold", "window_secs"].into_iter().find(|k| message.contains(k)).unwrap_or("alert");
        let (line, column) = alert_key_at(text, i, key);
        errors.push((line, column, format!("alerts[{i}].{key}"), format!("{}: {message}", rule.alert)));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct F {
        a: Option<u32>,
        b: Option<u32>,
        t: Option<T>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        c: Option<bool>,
    }

    #[test]
    fn independent_mistakes_all_come_out_and_the_file_parses_without_them() {
        let text = "a = \"x\"\nzz = 1\nb = 2\n[t]\nc = 3\n";
        let (v, errors) = parse_all::<F>(text);
        let at: Vec<(usize, usize)> = errors.iter().map(|l| (l.line, l.column)).collect();
        assert_eq!(at, [(1, 5), (2, 1), (5, 5)], "{:?}", errors.iter().map(|l| &l.message).collect::<Vec<_>>());
        assert_eq!(v.unwrap().b, Some(2));
        // An unknown table goes with its keys: they are not reported again where they would land.
        let (v, errors) = parse_all::<F>("b = 1\n[nope]\nx = 1\ny = 2\n[t]\nc = true\n");
        assert_eq!(errors.len(), 1, "{:?}", errors.iter().map(|l| &l.message).collect::<Vec<_>>());
        assert_eq!((errors[0].line, v.unwrap().t.unwrap().c), (2, Some(true)));
        // A syntax error is one error: nothing after it can be trusted.
        let (v, errors) = parse_all::<F>("a = [\nb = 2\n");
        assert!(v.is_none() && errors.len() == 1);
    }

    #[test]
    fn a_key_of_the_nth_alert() {
        let text =
            "[[alerts]]\nalert = \"a\"\npattern = \"x\"\n\n[[alerts]]\nalert = \"b\"\n  pattern = \"nope\"\n[limits]\n";
        assert_eq!(alert_key_at(text, 1, "pattern"), (7, 3));
        assert_eq!(alert_key_at(text, 0, "threshold"), (1, 1));
        assert_eq!(alert_key_at(text, 5, "pattern"), (1, 1));
    }
}
