//! How far an input read to its end reaches in time (`Stage::input_edges`).

use super::*;

impl Stage {
    /// An input read to its end (`check`): how far in time it reaches, told to the sink
    /// (`Sink::input_reaches`) so that a minute the input covers whole is not taken for one its start
    /// or end cut. The records the stage saw say most; the first and last lines of the input (`head`,
    /// `tail`: lines the prefilter passed over, an END or a console line after the last counted one)
    /// say the rest, for forms of one record a line. Untrusted (future) times say nothing.
    pub fn input_edges(&mut self, stream: u64, head: &[u8], tail: &[u8], sink: &mut impl Sink) {
        /// Lines looked at from each edge.
        const EDGE_LINES: usize = 64;
        let Some(s) = self.streams.get(&stream).filter(|s| s.cut) else { return };
        let limit = self.now_ms + self.config.future_tolerance_ms;
        let mut reach: Vec<i64> = s.oldest_ms.into_iter().chain(s.neighbour_ms).collect();
        let configured = self.config.source_formats.get(s.source).copied().unwrap_or_default();
        let choice = match s.reader.as_ref().and_then(RecordReader::detected) {
            None => Some(configured)
                .filter(|c| !matches!(c, crate::record::FormatChoice::ClsCsv | crate::record::FormatChoice::TcbLog)),
            Some(Format::Text) => Some(crate::record::FormatChoice::Text),
            Some(Format::Cls) => Some(crate::record::FormatChoice::Cls),
            Some(Format::Realtime) => Some(crate::record::FormatChoice::Realtime),
            // Rows and blocks span lines: their records were all seen.
            Some(_) => None,
        };
        if let Some(choice) = choice {
            // An input longer than the edges: the head ends inside a line and the tail begins inside
            // one; those parts are left out. A shorter input is whole in both, and both are read.
            let cut = head.len() >= crate::lines::EDGE_BYTES;
            let mut first: Vec<&[u8]> = head.split(|&c| c == b'\n').collect();
            let mut last: Vec<&[u8]> = tail.split(|&c| c == b'\n').collect();
            if cut {
                first.pop();
                last.remove(0);
            }
            for line in first.iter().take(EDGE_LINES).chain(last.iter().rev().take(EDGE_LINES)) {
                if let Some(t) = crate::record::parse(line.trim_ascii_end(), choice).time_ms.filter(|&t| t <= limit) {
                    reach.push(t);
                }
            }
        }
        let (Some(&from), Some(&to)) = (reach.iter().min(), reach.iter().max()) else { return };
        sink.input_reaches(stream, from);
        sink.input_reaches(stream, to);
    }
}
