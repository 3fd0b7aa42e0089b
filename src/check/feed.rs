//! One input's lines into the Event stage (the tally is the stage's sink), judged ahead where the
//! stream reads line by line (`classify::ahead`).

use std::sync::Arc;

use crate::classify::ahead::{self, Ahead, AheadSink};
use crate::event::Stage;
use crate::lines::LineSink;
use crate::tally::Tally;

/// One input's lines into the stage.
pub(super) struct Feed<'a> {
    pub(super) stage: &'a mut Stage,
    pub(super) tally: &'a mut Tally,
    pub(super) stream: u64,
    /// The input's first lines hold one delimiter as often each (`delimited`): a CSV without key line?
    pub(super) delimited: Option<(u8, usize)>,
}

impl LineSink for Feed<'_> {
    fn wants_every_line(&self) -> bool {
        self.stage.wants_every_line(self.stream)
    }
    fn line(&mut self, line_no: u64, line: &[u8], _cut: bool) {
        self.tally.at_line(line_no);
        self.stage.line(self.stream, line, self.tally);
    }
    fn ended(&mut self, head: &[u8], tail: &[u8]) {
        self.stage.input_edges(self.stream, head, tail, self.tally);
        self.delimited = delimited(head);
    }
    fn block(&mut self, block: &[u8], lines_before: u64, max: usize) -> Option<(u64, u64)> {
        if block.len() < ahead::MIN_BLOCK {
            return None;
        }
        let classifier = Arc::clone(self.stage.classifier());
        Some(ahead::walk(&classifier, block, lines_before, max, self, |f| f.stage.ahead_choice(f.stream)))
    }
}

impl AheadSink for Feed<'_> {
    fn line_ahead<'a>(&mut self, line_no: u64, line: &'a [u8], ahead: Ahead<'_, 'a>) {
        self.tally.at_line(line_no);
        self.stage.line_ahead(self.stream, line, ahead, self.tally);
    }
}

/// A delimiter (of those CLS shipping writes, not space) the first lines of `head` hold equally
/// often, at least 3 times each, in at least 3 lines: the shape of a CSV without key line.
pub(super) fn delimited(head: &[u8]) -> Option<(u8, usize)> {
    let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').filter(|l| !l.is_empty()).take(6).collect();
    if lines.len() < 3 {
        return None;
    }
    [b'|', b'\t', b';', b','].into_iter().find_map(|d| {
        let n = lines[0].iter().filter(|&&b| b == d).count();
        let alike = lines.iter().all(|l| l.iter().filter(|&&b| b == d).count() == n);
        (n >= 3 && alike && !lines[0].starts_with(b"{")).then_some((d, n))
    })
}
