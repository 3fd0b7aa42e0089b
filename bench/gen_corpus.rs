//! Deterministic benchmark corpus: Cloud Function logs as SCF prints them (text) or as the CLS JSON
//! export writes them (cls), from `authwatch::synth`. Mostly normal invocations of a few functions, a
//! few percent error lines in the shapes real services print, the same bytes for the same seed.
//!
//! cargo run --release --example gen_corpus -- --format text|cls --mb 200 [--seed 1] [--error-permille 30]

use std::io::{self, BufWriter, Write};

use authwatch::synth::{ErrorChoice, START_MS, Synth};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let cls = match arg("--format").as_deref() {
        Some("cls") => true,
        Some("text") | None => false,
        Some(other) => return Err(io::Error::other(format!("--format text|cls, not {other}"))),
    };
    let parse =
        |name: &str, default: u64| arg(name).map_or(Ok(default), |v| v.parse::<u64>().map_err(io::Error::other));
    let target = parse("--mb", 200)? * 1_000_000;
    let mut synth = Synth::new(parse("--seed", 1)?, START_MS, cls, parse("--error-permille", 30)?);
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let (mut written, mut buf) = (0u64, Vec::with_capacity(1 << 16));
    while written < target {
        buf.clear();
        synth.invocation(&mut buf, None, ErrorChoice::Random);
        out.write_all(&buf)?;
        written += buf.len() as u64;
    }
    out.flush()
}
