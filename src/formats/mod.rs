//! Export forms whose records span lines or need a stream's context: the CLS console CSV download and
//! `tcb fn log` output. `RecordReader` (`reader.rs`) drives them; one-line forms stay in `record`
//! (the CLS JSON export's fields are read by `cls_json`).
//!
//! Both readers take lines as `lines.rs` splits them (no newline, a trailing `\r` removed) and hold at
//! most [`MAX_PENDING_BYTES`] of a pending record: beyond that the record is cut, flagged `malformed`,
//! and the rest of it is skipped.

pub mod cls_csv;
pub(crate) mod cls_json;
pub mod reader;
pub mod tcb_log;

/// Cap for one pending multi-line record (a CSV row with quoted newlines, a `tcb fn log` block).
pub const MAX_PENDING_BYTES: usize = 1 << 20;

/// The UTF-8 byte order mark some exporters (the CLS console's CSV among them) put first.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Appends `line` to `buf` (after a `\n` when `buf` holds something), up to [`MAX_PENDING_BYTES`].
/// Returns false when the line did not fit whole.
pub(crate) fn append_capped(buf: &mut Vec<u8>, line: &[u8], first: bool) -> bool {
    let sep = usize::from(!first);
    let room = MAX_PENDING_BYTES.saturating_sub(buf.len());
    if sep + line.len() <= room {
        if !first {
            buf.push(b'\n');
        }
        buf.extend_from_slice(line);
        return true;
    }
    if room > sep {
        if !first {
            buf.push(b'\n');
        }
        buf.extend_from_slice(&line[..room - sep]);
    }
    false
}
