//! authwatch: recognise, count and alert on the ten CloudBase Custom Login errors of WeChat Mini
//! Programs in Cloud Function and Mini Program logs.
//!
//! Stages and what flows between them: `tail` (daemon) or `lines` (one-shot) read bytes into lines
//! with a bounded buffer; `classify` turns candidate lines into `record::Record`s and pattern hits
//! using the `patterns` catalogue; `metrics` counts them and `http` / `check` present them. Each stage
//! owns its state: the tailer thread alone touches file state and checkpoints.

pub mod alerts;
pub mod check;
pub mod classify;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod event;
pub mod formats;
pub mod http;
pub mod lines;
pub mod metrics;
pub mod observe;
pub mod pattern_tests;
pub mod patterns;
pub mod pipeline;
pub mod record;
pub mod redact;
pub mod status;
pub mod synth;
pub mod tail;
pub mod timefmt;
pub mod tomlerr;
pub mod web;
pub mod window;
