//! authwatch: recognise, count and alert on the ten CloudBase Custom Login errors of WeChat Mini
//! Programs in Cloud Function and Mini Program logs.
//!
//! The pipeline, one type between each pair of stages:
//! `tail` (follow files: identity, rotation, offsets) or `check` (read inputs once) → `lines` (the one
//! splitter and literal prefilter) → `record` (`RecordReader`: one Record per line, CSV row or `tcb fn
//! log` block) → `event` (classify with `classify`, then every domain rule: the call a record belongs
//! to, its time, login attempts, duplicates) → sinks: `pipeline` (Prometheus counters in `metrics`),
//! `observe` (minute windows in `window`, alerts in `alerts`), `check`'s tally. `http` answers from
//! copies. Each stage owns its state; nothing reaches into another's.

pub mod alerts;
pub mod chart;
pub mod check;
pub mod classify;
pub mod codes;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod event;
pub mod formats;
pub mod history;
pub mod http;
pub mod inputs;
pub mod lines;
pub mod metrics;
pub mod observe;
pub mod pattern_tests;
pub mod patterns;
pub mod pipeline;
pub mod read_once;
pub mod record;
pub mod redact;
pub mod report;
pub mod statefile;
pub mod status;
pub mod synth;
pub mod tail;
pub mod timefmt;
pub mod tomlerr;
pub mod web;
pub mod window;
