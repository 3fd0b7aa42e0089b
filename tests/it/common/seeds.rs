//! How every property test here is seeded, so `cargo test` is the same run every time.
//!
//! - **In CI and by default** (`fixed`): the committed regressions file is replayed first (every case
//!   ever found, kept), then `cases` cases from one fixed RNG seed. A new failure is printed with the
//!   line to add to the regressions file, never written to it: no test run touches a tracked file.
//! - **Exploring** (`explore`, from `#[ignore]`d tests run by hand): a random seed per run (or the one
//!   `PROPTEST_RNG_SEED` names), as many cases as asked; failures are printed the same way.

use std::any::Any;
use std::fmt;

use proptest::test_runner::{Config, FailurePersistence, FileFailurePersistence, PersistedSeed, RngSeed};

/// The one RNG seed of the fixed runs. Changing it changes which cases CI runs: keep it.
pub const FIXED_SEED: u64 = 0x6175_7468_7761_7463; // "authwatc"

/// Replays the committed regressions file; never writes to it.
#[derive(Debug, Clone, PartialEq)]
struct ReadOnly {
    file: FileFailurePersistence,
    path: &'static str,
}

impl FailurePersistence for ReadOnly {
    fn load_persisted_failures2(&self, source_file: Option<&'static str>) -> Vec<PersistedSeed> {
        self.file.load_persisted_failures2(source_file)
    }

    fn save_persisted_failure2(
        &mut self,
        _source_file: Option<&'static str>,
        seed: PersistedSeed,
        shrunken_value: &dyn fmt::Debug,
    ) {
        // Printed, not written: a test run leaves the checkout as it found it. Keeping the case is a
        // deliberate edit of the regressions file.
        eprintln!(
            "new failing case; to keep it, add this line to {}:\n{seed} # shrinks to {shrunken_value:?}",
            self.path
        );
    }

    fn box_clone(&self) -> Box<dyn FailurePersistence> {
        Box::new(self.clone())
    }

    fn eq(&self, other: &dyn FailurePersistence) -> bool {
        other.as_any().downcast_ref::<ReadOnly>().is_some_and(|o| o == self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn with(cases: u32, regressions: &'static str, rng_seed: RngSeed) -> Config {
    Config {
        cases,
        rng_seed,
        failure_persistence: Some(Box::new(ReadOnly {
            file: FileFailurePersistence::Direct(regressions),
            path: regressions,
        })),
        ..Config::default()
    }
}

/// The committed regressions (a path from the package root, where `cargo test` runs), then `cases`
/// cases from `FIXED_SEED`.
pub fn fixed(cases: u32, regressions: &'static str) -> Config {
    with(cases, regressions, RngSeed::Fixed(FIXED_SEED))
}

/// The committed regressions, then `cases` cases from a random seed (or `PROPTEST_RNG_SEED`).
pub fn explore(cases: u32, regressions: &'static str) -> Config {
    let seed = std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok());
    with(cases, regressions, seed.map_or(RngSeed::Random, RngSeed::Fixed))
}
