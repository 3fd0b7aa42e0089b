//! Every integration test in one binary (as ripgrep does): scenarios are modules, `common` their
//! helpers. One change in the library relinks this one test binary instead of one per scenario.
//! A single scenario: `cargo test --release --test it -- daemon_append::`.

mod common;

mod alertmanager;
mod alerts_e2e;
mod bad_input;
mod batches;
mod batches_bad;
mod cli;
mod corpus;
mod daemon_append;
mod daemon_cardinality;
mod daemon_clock;
mod daemon_config;
mod daemon_copytruncate;
mod daemon_delete_recreate;
mod daemon_dir_vanishes;
mod daemon_http;
mod daemon_invalid_utf8;
mod daemon_logrotate;
mod daemon_long_line;
mod daemon_partial_line;
mod daemon_permission_denied;
mod daemon_rename_rotation;
mod daemon_replaced_while_stopped;
mod daemon_restart_graceful;
mod daemon_restart_kill9;
mod demo;
mod deploy;
mod formats;
mod golden_outputs;
mod http_flood;
mod http_limits;
mod http_tls_auth;
mod inputs;
mod invocations;
mod many_files;
mod memory;
mod prometheus_e2e;
mod promtool;
mod readme;
mod redaction;
mod replay_alertmanager;
mod report;
mod restart_history;
mod soak;
mod src_layout;
mod state_faults;
mod status_page;
mod tail_layout;
mod tail_model;
mod tcb_last_block;
