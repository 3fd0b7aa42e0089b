//! authwatch: recognise, count and alert on the ten CloudBase Custom Login errors of WeChat Mini
//! Programs in Cloud Function and Mini Program logs.
//!
//! The pipeline, one type between each pair of stages:
//! `tail` (follow files: identity, rotation, offsets) or `check` (read inputs once) → `lines` (the one
//! splitter and literal prefilter) → `record` + `formats` (`formats::reader::RecordReader`: one Record
//! per line, CSV row or `tcb fn log` block) → `event` (classify with `classify`, then every domain
//! rule: the call a record belongs to, its time, login attempts, duplicates) → sinks: `pipeline`
//! (Prometheus counters in `metrics`, bumped from Events), `observe` (state: minute windows in
//! `window`, alerts in `alerts`), `check`'s `tally` → `view`, the read model: every number users read,
//! decided once (counts, complete and partial minutes, the last complete minute, onset, peak, alert
//! rows) → outputs that only format it: `gauges` (the windowed gauges of `/metrics`), `api`, `status`,
//! `check`'s outputs, `report`. The daemon publishes a view after each evaluation (`evaluator`);
//! `http` answers from it. Each stage owns its state; nothing reaches into another's, and no two files
//! import each other (`tests/it/src_layout.rs`).

pub mod alerts;
pub mod api;
pub mod batch_options;
pub mod batches;
pub mod chart;
pub mod check;
pub mod classify;
pub mod codes;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod evaluator;
pub mod event;
pub mod formats;
pub mod gauges;
pub mod history;
pub mod http;
pub mod inputs;
pub mod lines;
pub mod metrics;
pub mod observe;
pub mod openmetrics;
pub mod pattern_tests;
pub mod patterns;
pub mod pipeline;
pub mod read_once;
pub mod record;
pub mod redact;
pub mod refusal;
pub mod report;
pub mod source;
pub mod statefile;
pub mod statelock;
pub mod status;
pub mod synth;
pub mod tail;
pub mod tally;
pub mod timefmt;
pub mod tomlerr;
pub mod version_metrics;
pub mod version_outputs;
pub mod versions;
pub mod view;
pub mod web;
pub mod window;
