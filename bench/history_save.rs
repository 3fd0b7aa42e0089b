//! What history persistence and the event clock's minute-by-minute replay cost on a full 24-hour ring:
//! the size of `history.json`, the time of one snapshot + write (done at most once per checkpoint
//! interval, and skipped when unchanged), and the time to close 1,440 minutes under the default rules.
//!
//! `cargo run --release --example history_save`

use std::time::Instant;

use authwatch::alerts::{Engine, default_rules};
use authwatch::config::Clock;
use authwatch::history::{Saver, snapshot};
use authwatch::observe::Observed;
use authwatch::patterns::Catalogue;
use authwatch::window::MINUTE_MS;

fn main() {
    let catalogue = Catalogue::builtin().expect("built-in patterns");
    let mut o = Observed::new(&catalogue, 24 * 60, &default_rules(), Clock::Event).expect("default rules");
    let t0: i64 = 1_741_914_000_000;
    let patterns = catalogue.patterns().len();
    for m in 0..24 * 60 {
        for i in 0..200 {
            o.windows.add_attempt(t0 + m * MINUTE_MS + i * 250);
        }
        for p in 0..patterns {
            for _ in 0..(m as usize + p) % 7 {
                o.windows.add(p, t0 + m * MINUTE_MS + 1_000);
            }
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let runs = 50;
    let start = Instant::now();
    let mut bytes = 0;
    for k in 0..runs {
        let h = snapshot(&o, Some(format!("checkpoint {k}").as_bytes()));
        bytes = serde_json::to_vec(&h).map(|b| b.len()).unwrap_or(0);
        Saver::default().save(dir.path(), &h).expect("history written");
    }
    let per_save = start.elapsed() / runs;
    let start = Instant::now();
    let mut engine = Engine::new(&default_rules(), &catalogue).expect("default rules");
    let mut transitions = 0;
    for m in 0..24 * 60 {
        transitions += engine.close_minute(t0 + m * MINUTE_MS, &o.windows).len();
    }
    let replay = start.elapsed();
    println!("history.json for a full 24 h ring ({patterns} patterns): {bytes} bytes");
    println!("snapshot + write + fsync + rename: {per_save:?} per save (mean of {runs})");
    println!(
        "close 1,440 minutes under the {} default rules: {replay:?} ({transitions} transitions)",
        default_rules().len()
    );
}
