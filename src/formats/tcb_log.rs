//! `tcb fn log <name>` output (CloudBase CLI): one labelled block per invocation.
//!
//! Layout, from `@cloudbase/cli@2.12.10` (`dist/standalone/cli.js`, class `FunctionLog`): a banner
//! `log.success('函数：{{name}} 调用日志：\n')` (printed as `✔ 函数：<name> 调用日志：` and a blank line), then
//! for each log one `console.log` of
//!
//! ```text
//! 请求时间：<StartTime> ␠
//! 函数名称：<FunctionName> ␠
//! 运行时间(ms)：<Duration> ␠
//! 占用内存：<MemUsage / 1 MiB, 3 decimals> MB
//! 请求 Id：<RequestId> ␠
//! 调用状态：成功|失败
//! 返回结果：<RetMsg> ␠
//! 日志：
//!  <LogJson: the raw SCF log, many lines> ␠
//! (blank line)
//! ```
//!
//! Every label is followed by a full-width colon; most values by a space. `调用状态` is 成功 when
//! `RetCode` is 0, else 失败. The CLI in English (`tcb config set lang en`) prints `Request time`,
//! `Function name`, `Runtime(ms)`, `Memory usage`, `Request Id`, `Invocation status` (`Success` /
//! `Failed`), `Return result` with the same full-width colon, and `Log:` with an ASCII one. Times are
//! Beijing time (UTC+8) without a zone.
//!
//! `请求 Id` prints `RequestId` of the `GetFunctionLogDetail` API answer the CLI spreads into the log
//! object; that is the id of the API call, not necessarily the invocation's. So the invocation's id is
//! taken from the runtime lines inside the log (`START RequestId: …`, `END`, `Report`) when there are
//! some, then from `请求 Id` (unless it printed `undefined`), and else made up as `tcb:<function>:<time>`
//! so that one block is one invocation.
//!
//! A block ends where the next `请求时间：` line or banner starts (outputs of several `tcb fn log` runs
//! concatenated) or at the end of the stream, so the last block of a stream being followed is given
//! when the file is let go. Lines outside blocks (the banners) are read as text.

use std::borrow::Cow;

use super::{MAX_PENDING_BYTES, append_capped};
use crate::record::{self, Format, Level, Record};
use crate::timefmt;

const FULL_COLON: &str = "：";

/// (Chinese label, English label) of a field line; both end in a full-width colon.
const TIME: [&str; 2] = ["请求时间", "Request time"];
const FUNCTION: [&str; 2] = ["函数名称", "Function name"];
const DURATION: [&str; 2] = ["运行时间(ms)", "Runtime(ms)"];
const MEMORY: [&str; 2] = ["占用内存", "Memory usage"];
const REQUEST_ID: [&str; 2] = ["请求 Id", "Request Id"];
const STATUS: [&str; 2] = ["调用状态", "Invocation status"];
const RESULT: [&str; 2] = ["返回结果", "Return result"];
const FAILED: [&str; 2] = ["失败", "Failed"];
const SUCCEEDED: [&str; 2] = ["成功", "Success"];

/// The value after `label：` when `line` is that field line.
fn field<'l>(line: &'l [u8], labels: [&str; 2]) -> Option<&'l [u8]> {
    labels.iter().find_map(|label| line.strip_prefix(label.as_bytes())?.strip_prefix(FULL_COLON.as_bytes()))
}

/// True for the line that starts a block (`请求时间：…`).
pub fn starts_block(line: &[u8]) -> bool {
    field(line, TIME).is_some()
}

/// True for a line only `tcb fn log` prints: a block's time or its return value (`返回结果：`).
pub fn is_block_label(line: &[u8]) -> bool {
    starts_block(line) || field(line, RESULT).is_some()
}

/// True for the CLI's banner, `✔ 函数：<name> 调用日志：` (maybe coloured, maybe `√` on Windows), or
/// `✔ Function: <name> call log:` in English.
pub fn is_banner(line: &[u8]) -> bool {
    let has = |needle: &str| memchr::memmem::find(line, needle.as_bytes()).is_some();
    (has("函数：") && has(" 调用日志：")) || (has("Function: ") && has(" call log:"))
}

fn is_log_label(line: &[u8]) -> bool {
    matches!(line.trim_ascii_end(), b"Log:") || line.trim_ascii_end() == "日志：".as_bytes()
}

fn value(v: &[u8]) -> Option<String> {
    let v = String::from_utf8_lossy(v.trim_ascii()).into_owned();
    (!v.is_empty() && v != "undefined" && v != "null").then_some(v)
}

const RUNTIME_ID_PREFIXES: [&[u8]; 3] = [b"START RequestId:", b"END RequestId:", b"Report RequestId:"];

#[derive(Debug, Default)]
struct Block {
    time_ms: Option<i64>,
    function: Option<String>,
    printed_id: Option<String>,
    runtime_id: Option<String>,
    failed: Option<bool>,
    status_code: Option<u16>,
    /// `返回结果` then, after `日志：`, the log; joined with `\n`.
    text: Vec<u8>,
    in_log: bool,
    /// Lines of the log so far.
    log_lines: usize,
    cut: bool,
}

/// Reads the blocks of one `tcb fn log` stream.
#[derive(Debug, Default)]
pub struct TcbReader {
    block: Option<Block>,
}

impl TcbReader {
    pub fn new() -> TcbReader {
        TcbReader::default()
    }

    /// A block is gathered, waiting for the next one (or the end) to be complete.
    pub fn pending(&self) -> bool {
        self.block.is_some()
    }

    pub fn push(&mut self, line: &[u8], out: &mut dyn FnMut(Record<'_>)) {
        if let Some(time) = field(line, TIME) {
            self.finish(out);
            let time_ms = timefmt::parse_local_prefix(time.trim_ascii(), timefmt::BEIJING).map(|(ms, _)| ms);
            self.block = Some(Block { time_ms, ..Block::default() });
            return;
        }
        if is_banner(line) {
            // The next command's output (`tcb fn log a; tcb fn log b`): the block before it is done.
            self.finish(out);
        }
        let Some(b) = self.block.as_mut() else {
            // The banner and blank lines before the first block.
            if !line.trim_ascii().is_empty() {
                out(record::parse_text(line));
            }
            return;
        };
        if !b.in_log {
            if let Some(v) = field(line, FUNCTION) {
                b.function = value(v);
            } else if let Some(v) = field(line, REQUEST_ID) {
                b.printed_id = value(v);
            } else if let Some(v) = field(line, STATUS) {
                let v = v.trim_ascii();
                b.failed = if FAILED.iter().any(|f| v == f.as_bytes()) {
                    Some(true)
                } else {
                    SUCCEEDED.iter().any(|s| v == s.as_bytes()).then_some(false)
                };
            } else if let Some(v) = field(line, RESULT) {
                let v = v.trim_ascii();
                if v.first() == Some(&b'{') && memchr::memmem::find(v, b"\"requestId\"").is_some() {
                    b.status_code = record::scf_exception(v).1;
                }
                b.append(v);
            } else if is_log_label(line) {
                b.in_log = true;
            } else if field(line, DURATION).is_none() && field(line, MEMORY).is_none() {
                // A return value printed over several lines.
                b.append(line);
            }
            return;
        }
        // The log: its first line carries the template's leading space.
        let line = if b.log_lines == 0 { line.strip_prefix(b" ").unwrap_or(line) } else { line };
        b.log_lines += 1;
        if b.runtime_id.is_none() && RUNTIME_ID_PREFIXES.iter().any(|p| line.starts_with(p)) {
            b.runtime_id = record::parse_text(line).request_id.map(std::borrow::Cow::into_owned);
        }
        b.append(line);
    }

    /// Gives the pending block, if any.
    pub fn finish(&mut self, out: &mut dyn FnMut(Record<'_>)) {
        let Some(b) = self.block.take() else { return };
        let mut text = b.text;
        // The template's trailing space and blank line after the log.
        let keep = text.trim_ascii_end().len();
        text.truncate(keep);
        let request_id = b.runtime_id.or(b.printed_id).or_else(|| {
            Some(format!(
                "tcb:{}:{}",
                b.function.as_deref().unwrap_or(""),
                b.time_ms.map_or_else(String::new, |t| t.to_string())
            ))
        });
        out(Record {
            format: Format::TcbLog,
            message: Cow::Owned(text),
            time_ms: b.time_ms,
            function: b.function,
            request_id: request_id.map(Cow::Owned),
            level: b.failed.map(|f| if f { Level::Error } else { Level::Info }),
            status_code: b.status_code,
            version: None,
            malformed: b.cut,
            call_start_ms: None,
        });
    }
}

impl Block {
    fn append(&mut self, line: &[u8]) {
        if self.cut {
            return;
        }
        let first = self.text.is_empty();
        if !append_capped(&mut self.text, line, first) {
            self.cut = true;
        }
        debug_assert!(self.text.len() <= MAX_PENDING_BYTES);
    }
}
