//! Configuration parsing: the daemon's TOML config, pattern files and the exporter-toolkit web config
//! must turn any text into a value or an error that names a line, never a panic.
#![no_main]

use std::path::Path;

use authwatch::config::{Config, ConfigError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let line_ok = |line: usize| line >= 1 && line <= text.lines().count().max(1) + 1;
    match Config::from_toml("fuzz.toml", &text, None) {
        Err(ConfigError::Invalid { line, .. }) => assert!(line_ok(line), "line {line} outside the file"),
        _ => {}
    }
    let _ = authwatch::patterns::Pattern::from_toml("fuzz.toml", &text);
    match authwatch::web::WebConfig::parse("fuzz.yml", &text, Path::new("/nonexistent")) {
        Err(ConfigError::Invalid { line, .. }) => assert!(line_ok(line), "line {line} outside the file"),
        _ => {}
    }
});
