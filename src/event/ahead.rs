//! Lines that come with what was found ahead about them (`classify::ahead`): the stage reads them as
//! `line` does, taking the record and patterns made on the other thread where its reader would have
//! made the same (one line, one record, read with the same choice), and reading the line itself
//! otherwise.

use super::*;
use crate::classify::ahead::Ahead;
use crate::record::FormatChoice;

impl Stage {
    /// How `stream` reads each line now, where lines may be judged ahead: line by line, past its
    /// first line, with this choice (`RecordReader::per_line_choice`).
    pub fn ahead_choice(&self, stream: u64) -> Option<FormatChoice> {
        self.streams.get(&stream)?.reader.as_ref()?.per_line_choice()
    }

    /// As `line`, with what was found ahead about the line.
    pub fn line_ahead<'a>(&mut self, stream: u64, line: &'a [u8], ahead: Ahead<'_, 'a>, sink: &mut impl Sink) {
        self.precheck = self.wants_every_line(stream);
        let Some(mut reader) = self.streams.get_mut(&stream).and_then(|s| s.reader.take()) else { return };
        let single_line = matches!(reader.detected(), None | Some(Format::Text | Format::Cls | Format::Realtime));
        let raw = single_line.then_some(line);
        let per_line = single_line && reader.per_line_choice().is_some();
        match ahead {
            Ahead::Judged { record, pattern, signal, choice } if per_line => {
                self.verdict = Some((pattern, signal));
                if !reader.push_parsed(line, record, choice, &mut |rec| self.record(stream, raw, rec, sink)) {
                    self.verdict = None;
                    reader.push(line, &mut |rec| self.record(stream, raw, &rec, sink));
                }
            }
            // One line, one record: a line without a literal is nothing, as the prefilter would say.
            Ahead::NoLiteral if per_line => {
                self.verdict = Some((None, None));
                reader.push(line, &mut |rec| self.record(stream, raw, &rec, sink));
            }
            _ => reader.push(line, &mut |rec| self.record(stream, raw, &rec, sink)),
        }
        self.verdict = None;
        if reader.pending() {
            self.gathering.insert(stream);
        }
        if let Some(s) = self.streams.get_mut(&stream) {
            (s.reader, s.last_line_ms) = (Some(reader), self.now_ms);
        }
    }
}
