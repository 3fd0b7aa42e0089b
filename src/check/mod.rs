//! `authwatch check`: the one-shot mode (like `mtail --one_shot`). Reads files, `.gz` files or stdin
//! to their end through the same splitter and Event stage as the daemon, and prints one report: the
//! tally is this mode's sink. Each input is one stream; overlapping inputs count once. PATHs follow
//! the one path grammar (`inputs`): files, directories, quoted globs, `-`.
//!
//! Contract: every input is accounted for in the report (`inputs` in JSON, the table's input lines):
//! read (with its lines, bytes, whether gzip, whether it looks binary), or not read and why. A PATH that
//! yields no file, or an input that cannot be opened or read to its end, is also named on stderr and
//! makes the exit code 2; the other inputs are still read and reported. `--fail-on` makes the exit code
//! 1 when a match of that severity or above was found (2 wins over 1). An input that looks binary is
//! read as text and warned about on stderr. Output goes to the writer given; nothing here prints a
//! matched line, so no secret it holds can leak through this mode. `--report` also writes an HTML page
//! (`crate::report`), which shows one line per pattern only redacted.
//!
//! Rooms: `options` (the command line's choices), `targets` (what the PATHs name, opened), `feed` (an
//! input's lines into the stage), `run` (every input, then the report), `output` (the report's forms).

mod feed;
mod options;
mod output;
mod run;
mod targets;

pub use crate::tally::{InputReport, PatternTally, Tally};
pub use options::{CheckOptions, Output, Sniffed, sniff, timeline_index};
pub use run::run;
