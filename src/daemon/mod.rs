//! `authwatch run`: the long-running job. Wires the tailer thread, inotify, signals and HTTP.
//!
//! Contract: one thread owns the tailer (all file state) and the one-shot reader of gzip files named
//! explicitly (`read_once`, on every rescan); it wakes on inotify events, on the poll interval and on
//! control messages, and is the only writer of checkpoints; while it catches up, the candidate lines of
//! each large block are judged beside it on one helper thread (`classify::ahead`). The async side serves HTTP
//! and turns signals into messages. SIGHUP reloads config and patterns (a bad one is refused, the
//! last good one kept, the reason logged and counted). SIGTERM/SIGINT stop in a fixed order: stop
//! taking wake-ups, drain what the files hold now, final checkpoint, stop HTTP.

//!
//! Rooms: `options` (command line + config file → the setup), `run` (the tailer thread, the async side,
//! the stop), `push` (alerts to Alertmanager), `inprocess` (the daemon in a test's thread, on its clock).

mod inprocess;
mod options;
mod push;
mod run;

pub use inprocess::{Control, start_in_process};
pub use options::{Reload, RunOptions, effective_config, setup_for};
pub use run::{Time, run};
