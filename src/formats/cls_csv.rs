//! The CLS console's CSV download: a header row naming the fields (`SCF_FunctionName`, `SCF_RequestId`,
//! `SCF_Message`, …, in any order, maybe with others such as `__TIMESTAMP__` / `__SOURCE__`), then one
//! record a row, RFC 4180 quoting: a quote inside a value is doubled, a value may hold newlines.
//!
//! Lines arrive one at a time, so a row is gathered until its quotes balance (an odd count of `"` so far
//! means a quoted value is still open), then the `csv` crate reads it. Each row becomes the record a CLS
//! JSON line with the same fields gives (`record::from_cls_fields`), with format `ClsCsv`. A row that the
//! header does not fit (another number of fields), one cut at the pending cap, or one still open at the
//! end of the stream becomes a text record flagged `malformed`: its words are still classified.

use std::borrow::Cow;

use csv::{ByteRecord, ReaderBuilder};

use super::{BOM, MAX_PENDING_BYTES, append_capped};
use crate::record::{self, Format, Record};

/// Reads the rows of one CSV stream; the first row is its header.
#[derive(Debug, Default)]
pub struct CsvReader {
    header: Option<Vec<String>>,
    pending: Vec<u8>,
    /// A quoted value is open at the end of `pending`.
    open_quote: bool,
    /// The pending row outgrew the cap: its tail is being skipped until its quotes close.
    cut: bool,
}

/// One CSV row read by the `csv` crate; `None` when `bytes` is not exactly one row.
fn one_row(bytes: &[u8]) -> Option<ByteRecord> {
    let mut reader = ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
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
    let Some(row) = one_row(line) else { return false };
    let names = header_names(&row);
    names.iter().any(|n| n == "SCF_Message") || names.iter().filter(|n| n.starts_with("SCF_")).count() >= 2
}

fn count_quotes(b: &[u8]) -> usize {
    memchr::memchr_iter(b'"', b).count()
}

impl CsvReader {
    pub fn new() -> CsvReader {
        CsvReader::default()
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
        if count_quotes(line) % 2 == 1 {
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
            match one_row(&self.pending) {
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
        let fitted = if broken || self.cut { None } else { self.header.as_ref().zip(one_row(&self.pending)) };
        match fitted {
            Some((header, row)) if row.len() == header.len() => {
                let get = |name: &str| -> Option<Cow<'_, str>> {
                    let i = header.iter().position(|h| h == name)?;
                    row.get(i).map(String::from_utf8_lossy)
                };
                out(record::from_cls_fields(get, Format::ClsCsv));
            }
            _ => out(Record { malformed: true, ..record::parse_text(&self.pending) }),
        }
    }
}
