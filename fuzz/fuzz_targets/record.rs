//! Record parsing and redaction: any bytes, read as every format, must parse without panicking, and
//! redaction must not leave a secret-shaped token it was built to remove.
#![no_main]

use authwatch::record::{self, FormatChoice};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [FormatChoice::Auto, FormatChoice::Text, FormatChoice::Cls, FormatChoice::Realtime] {
        let r = record::parse(data, format);
        let _ = (r.time_ms, r.function.as_deref(), r.malformed);
    }
    let _ = authwatch::timefmt::parse_iso_prefix(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let once = authwatch::redact::redact(text);
        // Redaction is idempotent: what it leaves must already be clean.
        assert_eq!(authwatch::redact::redact(&once), once);
    }
});
