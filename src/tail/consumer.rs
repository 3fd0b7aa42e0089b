//! Where the follower's lines go: one stream per followed file.

use crate::lines::LineSink;

/// Where the follower's lines go: one stream per followed file.
pub trait Consumer {
    /// A new stream of `source` begins (a file followed from its offset, or read again after a
    /// truncation). `cut`: what it holds may begin in the middle of what happened (any file found;
    /// not the new content of a file truncated under us, which continues what was read).
    fn open(&mut self, stream: u64, source: usize, cut: bool);
    /// The file a stream just opened reads (a source may take its calls' version from it).
    fn path(&mut self, _stream: u64, _path: &std::path::Path) {}
    /// The stream's file now belongs to the source at this index (a reload reordered sources).
    fn moved(&mut self, stream: u64, source: usize);
    /// While true, the stream gets every line, not only prefilter candidates.
    fn wants_every_line(&self, stream: u64) -> bool;
    fn line(&mut self, stream: u64, line: &[u8]);
    /// A block of the stream's complete lines, for a consumer that walks blocks itself
    /// (`LineSink::block`); `None` leaves the walk to the splitter.
    fn block(&mut self, _stream: u64, _block: &[u8], _lines_before: u64, _max: usize) -> Option<(u64, u64)> {
        None
    }
    /// The stream ends: the file was let go, or truncated.
    fn close(&mut self, stream: u64);
}

/// The splitter's view of a consumer: one stream.
/// The splitter's lines into one stream of a consumer (also `read_once`'s, for gzip files).
pub struct StreamLines<'a, C> {
    pub consumer: &'a mut C,
    pub stream: u64,
}

impl<C: Consumer> LineSink for StreamLines<'_, C> {
    fn wants_every_line(&self) -> bool {
        self.consumer.wants_every_line(self.stream)
    }
    fn line(&mut self, _line_no: u64, line: &[u8], _cut: bool) {
        self.consumer.line(self.stream, line);
    }
    fn block(&mut self, block: &[u8], lines_before: u64, max: usize) -> Option<(u64, u64)> {
        self.consumer.block(self.stream, block, lines_before, max)
    }
}
