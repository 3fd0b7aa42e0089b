//! One stream's records: `RecordReader` detects the form from the stream's start and drives the
//! multi-line readers beside it (`cls_csv`, `tcb_log`); one-line forms are `record::parse`. It lives
//! here, not in `record`, so that `record` (the one type between stages) names no reader: the readers
//! import `record`, never the other way round.

use super::{BOM, cls_csv, tcb_log};
use crate::record::{Format, FormatChoice, Record, parse};

/// Lines a stream in Auto mode may start with before its form is known: blank lines and a `tcb fn log`
/// banner. After this many the stream is read per line.
const UNDECIDED_LINES: u64 = 8;

#[derive(Debug)]
enum ReaderState {
    /// Auto mode before the stream's first telling line.
    Undecided,
    PerLine(FormatChoice),
    Csv(cls_csv::CsvReader),
    Tcb(tcb_log::TcbReader),
}

/// One stream (a file or stdin): lines in, records out. Stateful for multi-line forms.
///
/// Detection in Auto mode, from the stream's first line (a UTF-8 BOM removed): a CSV header naming
/// `SCF_Message` or two `SCF_*` fields makes the stream a CLS CSV download; `请求时间：…` (a block's first
/// line) or the CLI's banner `✔ 函数：<name> 调用日志：` makes it `tcb fn log` output. Leading blank lines
/// keep it undecided (and give no records), for at most `UNDECIDED_LINES` lines. Anything else makes it
/// per-line as before: each line is `parse(line, Auto)` (text, CLS JSON or real-time item, decided per
/// line). A BOM on a stream's first line is dropped in every mode.
///
/// Records of the multi-line forms are given when they are complete: a CSV row when its quotes close,
/// a `tcb fn log` block when the next one starts or at `finish`. A pending record holds at most
/// `MAX_PENDING_BYTES` (1 MiB); beyond that it is cut and flagged `malformed`.
#[derive(Debug)]
pub struct RecordReader {
    state: ReaderState,
    lines_seen: u64,
    detected: Option<Format>,
    /// Why the form detected may be wrong (said on standard error by `check`).
    unsure: Option<&'static str>,
}

impl RecordReader {
    pub fn new(choice: FormatChoice) -> RecordReader {
        let (state, detected) = match choice {
            FormatChoice::Auto => (ReaderState::Undecided, None),
            FormatChoice::ClsCsv => (ReaderState::Csv(cls_csv::CsvReader::new()), Some(Format::ClsCsv)),
            FormatChoice::TcbLog => (ReaderState::Tcb(tcb_log::TcbReader::new()), Some(Format::TcbLog)),
            FormatChoice::Text => (ReaderState::PerLine(choice), Some(Format::Text)),
            FormatChoice::Cls => (ReaderState::PerLine(choice), Some(Format::Cls)),
            FormatChoice::Realtime => (ReaderState::PerLine(choice), Some(Format::Realtime)),
        };
        RecordReader { state, lines_seen: 0, detected, unsure: None }
    }

    /// A CSV stream written in `dialect` (a source's `[sources.csv]`): no detection.
    pub fn with_csv(dialect: std::sync::Arc<cls_csv::CsvDialect>) -> RecordReader {
        RecordReader {
            state: ReaderState::Csv(cls_csv::CsvReader::with(dialect)),
            lines_seen: 0,
            detected: Some(Format::ClsCsv),
            unsure: None,
        }
    }

    /// True while this stream needs every line rather than only lines holding a pattern literal:
    /// always for CSV and tcb fn log streams, and in Auto mode until the stream's form is decided
    /// (its first line, or its first non-blank line within the first few).
    pub fn wants_every_line(&self) -> bool {
        !matches!(self.state, ReaderState::PerLine(_))
    }

    /// The choice each line is read with, once the stream is read line by line (and past its first
    /// line, whose BOM is dropped): a line's record is then `parse(line, choice)`, which another
    /// thread may have made ahead of time (`push_parsed`).
    pub fn per_line_choice(&self) -> Option<FormatChoice> {
        match self.state {
            ReaderState::PerLine(choice) if self.lines_seen > 0 => Some(choice),
            _ => None,
        }
    }

    /// As `push`, with the line's record made ahead as `parse(line, choice)`: taken where the stream
    /// reads that line with `choice` (`per_line_choice`), else `false` (the caller `push`es). The
    /// record is lent, not moved: it is ~140 bytes, and each move was a copy.
    pub fn push_parsed<'a>(
        &mut self,
        line: &[u8],
        rec: &Record<'a>,
        choice: FormatChoice,
        out: &mut dyn FnMut(&Record<'a>),
    ) -> bool {
        if self.per_line_choice() != Some(choice) {
            return false;
        }
        self.lines_seen += 1;
        self.note_per_line(line, rec.format, choice);
        out(rec);
        true
    }

    /// What a line read line by line says of the stream's form.
    fn note_per_line(&mut self, line: &[u8], format: Format, choice: FormatChoice) {
        // Detected as text from its first line, yet a line only `tcb fn log` prints: a capture that
        // begins with something other than the CLI's banner (its blocks read as text lines).
        if choice == FormatChoice::Auto && self.unsure.is_none() && tcb_log::is_block_label(line) {
            self.unsure = Some(
                "it holds `tcb fn log` block lines (请求时间： / 返回结果：) after a first line that is not the CLI's banner",
            );
        }
        if self.detected.is_none() || (format != Format::Text && self.detected == Some(Format::Text)) {
            self.detected = Some(format);
        }
    }

    /// One line, without its newline (a trailing \r already removed). Calls `out` with every record
    /// completed by this line (zero or more). In plain modes this is `parse(line, choice)` at once.
    pub fn push(&mut self, line: &[u8], out: &mut dyn FnMut(Record<'_>)) {
        let first = self.lines_seen == 0;
        self.lines_seen += 1;
        let line = if first { line.strip_prefix(BOM).unwrap_or(line) } else { line };
        if matches!(self.state, ReaderState::Undecided) {
            self.decide(line, first);
        }
        match &mut self.state {
            // Still undecided, so blank: nothing to classify in it.
            ReaderState::Undecided => {}
            ReaderState::PerLine(choice) => {
                let choice = *choice;
                let rec = parse(line, choice);
                self.note_per_line(line, rec.format, choice);
                out(rec);
            }
            ReaderState::Csv(csv) => csv.push(line, out),
            ReaderState::Tcb(tcb) => tcb.push(line, out),
        }
    }

    fn decide(&mut self, line: &[u8], first: bool) {
        if first && cls_csv::is_header(line) {
            self.state = ReaderState::Csv(cls_csv::CsvReader::new());
            self.detected = Some(Format::ClsCsv);
        } else if tcb_log::starts_block(line) || tcb_log::is_banner(line) {
            self.state = ReaderState::Tcb(tcb_log::TcbReader::new());
            self.detected = Some(Format::TcbLog);
        } else if !line.trim_ascii().is_empty() || self.lines_seen >= UNDECIDED_LINES {
            self.state = ReaderState::PerLine(FormatChoice::Auto);
        }
    }

    /// Whether a multi-line record is gathered and not given yet (a `tcb fn log` block waits for the
    /// next block's first line: the last block of a file only for `finish`).
    pub fn pending(&self) -> bool {
        match &self.state {
            ReaderState::Csv(csv) => csv.pending(),
            ReaderState::Tcb(tcb) => tcb.pending(),
            ReaderState::Undecided | ReaderState::PerLine(_) => false,
        }
    }

    /// End of stream (or the file is let go): flush a pending multi-line record.
    pub fn finish(&mut self, out: &mut dyn FnMut(Record<'_>)) {
        match &mut self.state {
            ReaderState::Csv(csv) => csv.finish(out),
            ReaderState::Tcb(tcb) => tcb.finish(out),
            ReaderState::Undecided | ReaderState::PerLine(_) => {}
        }
    }

    /// Why the form detected may be wrong, if something in the stream says so.
    pub fn unsure(&self) -> Option<&'static str> {
        self.unsure
    }

    /// The format this stream was detected as so far (for reports). Per-line Auto streams say `Text`
    /// until a structured line (CLS JSON, real-time item) is seen, then that line's format.
    pub fn detected(&self) -> Option<Format> {
        self.detected
    }
}
