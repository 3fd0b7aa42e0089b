//! The CLS console's CSV download: a header row naming the fields (`SCF_FunctionName`, `SCF_RequestId`,
//! `SCF_Message`, …, in any order, maybe with others such as `__TIMESTAMP__` / `__SOURCE__`), then one
//! record a row, RFC 4180 quoting: a quote inside a value is doubled, a value may hold newlines.
//!
//! Lines arrive one at a time, so a row is gathered until its quotes balance (an odd count of `"` so far
//! means a quoted value is still open), then the `csv` crate reads it. Each row becomes the record a CLS
//! JSON line with the same fields gives (`record::from_cls_fields`), with format `ClsCsv`. A row that the
//! header does not fit (another number of fields), one cut at the pending cap, or one still open at the
//! end of the stream becomes a text record flagged `malformed`: its words are still classified.
//!
//! CLS's shipping to COS writes CSV too, with the task's options (`CsvDialect`, a source's
//! `[sources.csv]`): a delimiter (space, tab, comma, semicolon or `|`), a key line or not (without one
//! the columns are named in the config, in the task's order), an "escape character" (CLS's name for
//! the character that encloses a value holding the delimiter: `"` or `'`, or none, in which case a row
//! is one line), and a fill text written for fields a record lacks (read as absent). A row whose only
//! column is `__CONTENT__` (raw shipping through CSV) is that text, read as a plain text line.

use std::borrow::Cow;
use std::sync::Arc;

use csv::{ByteRecord, ReaderBuilder};

use super::{BOM, MAX_PENDING_BYTES, append_capped};
use crate::record::{self, Format, Record};

/// How a CSV stream is written: the console download's RFC 4180 by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvDialect {
    pub delimiter: u8,
    /// The first row names the columns.
    pub header: bool,
    /// The columns' names when there is no key line.
    pub columns: Vec<String>,
    /// Encloses a value holding the delimiter; None: values are never enclosed.
    pub quote: Option<u8>,
    /// Written for a field a record lacks: read as absent.
    pub fill: Option<String>,
}

impl Default for CsvDialect {
    fn default() -> Self {
        CsvDialect { delimiter: b',', header: true, columns: Vec::new(), quote: Some(b'"'), fill: None }
    }
}

/// `[sources.csv]` as written in the config file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// One of " ", "\t", ",", ";", "|" (or "space", "tab").
    pub delimiter: Option<String>,
    /// Whether the first line names the columns (CLS: "key in first line").
    pub header: Option<bool>,
    #[serde(default)]
    pub columns: Vec<String>,
    /// The enclosing character: "\"", "'" or "" (none).
    pub escape: Option<String>,
    pub fill: Option<String>,
}

impl CsvOptions {
    /// The dialect, or why these options are not one.
    pub fn dialect(&self) -> Result<CsvDialect, String> {
        let delimiter = match self.delimiter.as_deref().unwrap_or(",") {
            " " | "space" => b' ',
            "\t" | "tab" => b'\t',
            "," => b',',
            ";" => b';',
            "|" => b'|',
            other => {
                return Err(format!("delimiter {other:?}: one of \" \", \"\\t\", \",\", \";\", \"|\" (CLS's five)"));
            }
        };
        let quote = match self.escape.as_deref().unwrap_or("\"") {
            "\"" => Some(b'"'),
            "'" => Some(b'\''),
            "" => None,
            other => return Err(format!("escape {other:?}: \"\\\"\", \"'\" or \"\" (none)")),
        };
        let header = self.header.unwrap_or(self.columns.is_empty());
        if !header && self.columns.is_empty() {
            return Err("header = false needs columns = [...] (the task's keys, in order)".into());
        }
        let fill = self.fill.clone().filter(|f| !f.is_empty());
        Ok(CsvDialect { delimiter, header, columns: self.columns.clone(), quote, fill })
    }
}

/// Reads the rows of one CSV stream; the first row is its header.
#[derive(Debug, Default)]
pub struct CsvReader {
    dialect: Arc<CsvDialect>,
    header: Option<Vec<String>>,
    pending: Vec<u8>,
    /// A quoted value is open at the end of `pending`.
    open_quote: bool,
    /// The pending row outgrew the cap: its tail is being skipped until its quotes close.
    cut: bool,
}

/// One CSV row read by the `csv` crate; `None` when `bytes` is not exactly one row.
fn one_row(bytes: &[u8], d: &CsvDialect) -> Option<ByteRecord> {
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(d.delimiter)
        .quote(d.quote.unwrap_or(b'"'))
        .quoting(d.quote.is_some())
        .from_reader(bytes);
    let mut row = ByteRecord::new();
    match reader.read_byte_record(&mut row) {
        Ok(true) => {}
        _ => return None,
    }
    let mut extra = ByteRecord::new();
    match reader.read_byte_record(&mut extra) {
        Ok(false) => Some(row),
        _ => None,
    }
}

fn header_names(row: &ByteRecord) -> Vec<String> {
    row.iter().map(|f| String::from_utf8_lossy(f.strip_prefix(BOM).unwrap_or(f)).trim().to_string()).collect()
}

/// True when `line` is a CLS CSV header row: comma-separated names, `SCF_Message` or at least two
/// `SCF_*` among them. Checked on a stream's first line only (a leading BOM already removed).
pub fn is_header(line: &[u8]) -> bool {
    let line = line.strip_prefix(BOM).unwrap_or(line);
    if line.first() == Some(&b'{')
        || memchr::memchr(b',', line).is_none()
        || memchr::memmem::find(line, b"SCF_").is_none()
    {
        return false;
    }
    let Some(row) = one_row(line, &CsvDialect::default()) else { return false };
    let names = header_names(&row);
    names.iter().any(|n| n == "SCF_Message") || names.iter().filter(|n| n.starts_with("SCF_")).count() >= 2
}

fn count_quotes(b: &[u8], quote: Option<u8>) -> usize {
    quote.map_or(0, |q| memchr::memchr_iter(q, b).count())
}

impl CsvReader {
    pub fn new() -> CsvReader {
        CsvReader::default()
    }

    /// A stream written in `dialect`; without a key line its columns are the dialect's.
    pub fn with(dialect: Arc<CsvDialect>) -> CsvReader {
        let header = (!dialect.header).then(|| dialect.columns.clone());
        CsvReader { dialect, header, ..CsvReader::default() }
    }

    /// A row is gathered, waiting for its quotes to close.
    pub fn pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// True until the header row has been read.
    pub fn header_pending(&self) -> bool {
        self.header.is_none()
    }

    /// One line of the stream. Calls `out` with the row this line completes, if any.
    pub fn push(&mut self, line: &[u8], out: &mut dyn FnMut(Record<'_>)) {
        let first = self.pending.is_empty() && !self.open_quote && !self.cut;
        if first && line.iter().all(u8::is_ascii_whitespace) {
            // A blank line between rows holds no record (the csv crate skips them too).
            return;
        }
        if count_quotes(line, self.dialect.quote) % 2 == 1 {
            self.open_quote = !self.open_quote;
        }
        if !self.cut && !append_capped(&mut self.pending, line, first) {
            self.cut = true;
        }
        if !self.open_quote {
            self.complete(out);
        }
    }

    /// End of stream: a row still open (an unclosed quote) is given as a malformed text record.
    pub fn finish(&mut self, out: &mut dyn FnMut(Record<'_>)) {
        if !self.pending.is_empty() || self.cut {
            let broken = self.open_quote;
            self.emit(broken, out);
        }
        self.reset();
    }

    fn reset(&mut self) {
        self.pending.clear();
        self.open_quote = false;
        self.cut = false;
        if self.pending.capacity() > 64 * 1024 {
            self.pending.shrink_to(64 * 1024);
        }
    }

    fn complete(&mut self, out: &mut dyn FnMut(Record<'_>)) {
        if self.header.is_none() && !self.cut {
            match one_row(&self.pending, &self.dialect) {
                Some(row) => self.header = Some(header_names(&row)),
                None => self.emit(true, out),
            }
            self.reset();
            return;
        }
        self.emit(false, out);
        self.reset();
    }

    fn emit(&mut self, broken: bool, out: &mut dyn FnMut(Record<'_>)) {
        debug_assert!(self.pending.len() <= MAX_PENDING_BYTES);
        let d = &self.dialect;
        let whole = self.header.as_ref().is_some_and(|h| h.len() == 1) && d.quote.is_none();
        if whole && !broken && !self.cut {
            // One column, never enclosed: the line is the value, delimiters and all.
            let mut row = ByteRecord::new();
            row.push_field(&self.pending);
            let header = self.header.as_deref().unwrap_or_default();
            return self.emit_row(header, &row, out);
        }
        let fitted = if broken || self.cut { None } else { self.header.as_ref().zip(one_row(&self.pending, d)) };
        match fitted {
            Some((header, row)) if row.len() == header.len() => self.emit_row(header, &row, out),
            _ => out(Record { malformed: true, ..record::parse_text(&self.pending) }),
        }
    }

    /// A row that fits its header: the record a CLS JSON line with these fields gives; the raw
    /// shipping's lone `__CONTENT__` is a plain text line.
    fn emit_row(&self, header: &[String], row: &ByteRecord, out: &mut dyn FnMut(Record<'_>)) {
        if header.len() == 1 && header[0] == "__CONTENT__" {
            return out(record::parse_text(row.get(0).unwrap_or_default()));
        }
        let fill = self.dialect.fill.as_deref().map(str::as_bytes);
        let get = |name: &str| -> Option<Cow<'_, str>> {
            let i = header.iter().position(|h| h == name)?;
            row.get(i).filter(|v| Some(*v) != fill).map(String::from_utf8_lossy)
        };
        out(record::from_cls_fields(get, Format::ClsCsv));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(d: CsvDialect, lines: &[&[u8]]) -> Vec<(Option<String>, String, bool)> {
        let mut r = CsvReader::with(Arc::new(d));
        let mut out = Vec::new();
        for l in lines {
            r.push(l, &mut |rec| {
                out.push((
                    rec.request_id.as_deref().map(str::to_string),
                    String::from_utf8_lossy(&rec.message).into_owned(),
                    rec.malformed,
                ))
            });
        }
        r.finish(&mut |rec| {
            out.push((
                rec.request_id.as_deref().map(str::to_string),
                String::from_utf8_lossy(&rec.message).into_owned(),
                rec.malformed,
            ))
        });
        out
    }

    #[test]
    fn shipping_dialects_read_their_rows() {
        let cols = vec!["SCF_RequestId".to_string(), "SCF_Level".to_string(), "SCF_Message".to_string()];
        // `|`, no key line, `'` encloses a value holding the delimiter, "null" fills a missing field.
        let d = CsvDialect {
            delimiter: b'|',
            header: false,
            columns: cols.clone(),
            quote: Some(b'\''),
            fill: Some("null".into()),
        };
        let got = rows(d, &[b"r1|null|'a|b {\"errcode\":45011}'", b"r2|INFO|'two", b"lines'"]);
        assert_eq!(got[0], (Some("r1".into()), "a|b {\"errcode\":45011}".into(), false));
        assert_eq!(got[1], (Some("r2".into()), "two\nlines".into(), false));
        // No enclosing character: a row is a line; the lone __CONTENT__ column is the whole line.
        let raw =
            CsvDialect { delimiter: b' ', header: false, columns: vec!["__CONTENT__".into()], quote: None, fill: None };
        let got = rows(raw, &[b"2021-12-27T03:53:59.192Z\tabc\tjscode2session \"x y\""]);
        assert_eq!(got.len(), 1);
        assert!(got[0].1.contains("jscode2session \"x y\"") && !got[0].2, "{got:?}");
        // A key line in another delimiter.
        let semi = CsvDialect { delimiter: b';', ..CsvDialect::default() };
        let got = rows(semi, &[b"SCF_RequestId;SCF_Message", b"r9;hello; world"]);
        assert_eq!(got, [(None, "r9;hello; world".into(), true)], "a row the header does not fit is malformed text");
        let tab = CsvDialect { delimiter: b'\t', ..CsvDialect::default() };
        let got = rows(tab, &[b"SCF_RequestId\tSCF_Message", b"r9\thello"]);
        assert_eq!(got, [(Some("r9".into()), "hello".into(), false)]);
    }

    #[test]
    fn options_become_dialects_or_say_why_not() {
        let o = |d: &str, e: &str, h: Option<bool>, cols: &[&str]| CsvOptions {
            delimiter: Some(d.into()),
            header: h,
            columns: cols.iter().map(|c| c.to_string()).collect(),
            escape: Some(e.into()),
            fill: None,
        };
        for (name, byte) in
            [(" ", b' '), ("space", b' '), ("\t", b'\t'), ("tab", b'\t'), (",", b','), (";", b';'), ("|", b'|')]
        {
            assert_eq!(o(name, "\"", None, &[]).dialect().unwrap().delimiter, byte, "{name:?}");
        }
        assert_eq!(o(",", "'", None, &[]).dialect().unwrap().quote, Some(b'\''));
        assert_eq!(o(",", "", None, &[]).dialect().unwrap().quote, None);
        assert!(!o(",", "\"", None, &["SCF_Message"]).dialect().unwrap().header, "columns given: no key line");
        assert!(o(",", "\"", Some(false), &[]).dialect().is_err());
        assert!(o("#", "\"", None, &[]).dialect().is_err());
        assert!(o(",", "x", None, &[]).dialect().is_err());
    }
}
