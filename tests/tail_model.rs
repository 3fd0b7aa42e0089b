//! Model-based test of the tailer: random sequences of append, poll, rename rotation, copytruncate,
//! truncate, delete and graceful restart, applied to real files; the lines counted (summed over every
//! restart) must equal the lines written, none lost, none twice. The tailer is driven in-process and
//! polled explicitly, so the test decides when it looks: no timing involved.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use authwatch::classify::Classifier;
use authwatch::config::{Limits, Source, StartAt};
use authwatch::metrics::Metrics;
use authwatch::patterns::Catalogue;
use authwatch::record::FormatChoice;
use authwatch::tail::{Setup, Tailer};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        file: usize,
        lines: usize,
    },
    Poll,
    RenameRotate {
        file: usize,
    },
    CopyTruncate {
        file: usize,
    },
    /// Truncation after the tailer has read everything: nothing is lost by it.
    PollThenTruncate {
        file: usize,
    },
    Delete {
        file: usize,
    },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 1..12usize).prop_map(|(file, lines)| Op::Append { file, lines }),
        3 => Just(Op::Poll),
        1 => (0..3usize).prop_map(|file| Op::RenameRotate { file }),
        1 => (0..3usize).prop_map(|file| Op::CopyTruncate { file }),
        1 => (0..3usize).prop_map(|file| Op::PollThenTruncate { file }),
        1 => (0..3usize).prop_map(|file| Op::Delete { file }),
        1 => Just(Op::Restart),
    ]
}

struct Instance {
    tailer: Tailer,
    metrics: Arc<Metrics>,
}

fn start(dir: &Path, glob: &str) -> Instance {
    let classifier = Arc::new(Classifier::new(Catalogue::builtin().unwrap(), FormatChoice::Auto).unwrap());
    let metrics = Arc::new(Metrics::new(classifier.catalogue(), &["m"]).unwrap());
    let source = Source {
        name: "m".into(),
        paths: vec![format!("{}/{glob}", dir.join("logs").display())],
        exclude: vec!["*.gz".into()],
        format: FormatChoice::Auto,
        start_at: StartAt::Beginning,
        function: None,
    };
    let limits = Limits { max_line_bytes: 4096, ..Limits::default() };
    let (tailer, warning) = Tailer::new(
        Setup { sources: vec![source], classifier, limits, login_function: "getLoginTicket".into(), observed: None },
        metrics.clone(),
        &dir.join("state"),
    );
    assert!(warning.is_none(), "{warning:?}");
    Instance { tailer, metrics }
}

fn counted(i: &Instance) -> u64 {
    i.metrics.lines_total.with_label_values(&["m"]).get()
}

fn run(ops: &[Op], glob: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("logs")).unwrap();
    fs::create_dir(dir.path().join("state")).unwrap();
    let log = |f: usize| dir.path().join("logs").join(format!("app{f}.log"));
    let mut inst = start(dir.path(), glob);
    let (mut written, mut before_restarts, mut seq) = (0u64, 0u64, 0u64);
    // Files created since the last poll: inotify reports a new file long before a logger rotates it,
    // so the model lets the tailer see a file once before it is renamed out of the watched set.
    let mut unseen = [false; 3];
    for op in ops {
        match op {
            Op::Append { file, lines } => {
                unseen[*file] |= !log(*file).exists();
                let mut f = OpenOptions::new().create(true).append(true).open(log(*file)).unwrap();
                for _ in 0..*lines {
                    seq += 1;
                    // Unique and longer than the copy-detection minimum, like real log lines.
                    writeln!(
                        f,
                        "2025-03-14T01:22:05.117Z\t8f4c0b5e-0a1b-4c2d-9e3f-123456789abc\tline {seq:08} of app{file}"
                    )
                    .unwrap();
                }
                written += *lines as u64;
            }
            Op::Poll => {
                inst.tailer.poll(true);
                unseen = [false; 3];
            }
            Op::RenameRotate { file } => {
                if unseen[*file] && glob != "*" {
                    inst.tailer.poll(true);
                    unseen = [false; 3];
                }
                if log(*file).exists() {
                    seq += 1;
                    fs::rename(log(*file), dir.path().join("logs").join(format!("app{file}.log.{seq}"))).unwrap();
                }
            }
            Op::CopyTruncate { file } => {
                // A copy outside the watched set cannot supply what was not read yet: there, as with
                // logrotate's copytruncate anywhere, only lines read before the truncation are safe.
                if glob != "*" {
                    inst.tailer.poll(true);
                    unseen = [false; 3];
                }
                if log(*file).exists() {
                    seq += 1;
                    fs::copy(log(*file), dir.path().join("logs").join(format!("app{file}.log-{seq}"))).unwrap();
                    OpenOptions::new().write(true).open(log(*file)).unwrap().set_len(0).unwrap();
                }
            }
            Op::PollThenTruncate { file } => {
                inst.tailer.poll(true);
                unseen = [false; 3];
                if log(*file).exists() {
                    OpenOptions::new().write(true).open(log(*file)).unwrap().set_len(0).unwrap();
                }
            }
            Op::Delete { file } => {
                // A delete loses what was not read yet; read first, as the model counts every line.
                inst.tailer.poll(true);
                unseen = [false; 3];
                let _ = fs::remove_file(log(*file));
            }
            Op::Restart => {
                // What SIGTERM does: drain, final checkpoint.
                inst.tailer.shutdown().unwrap();
                before_restarts += counted(&inst);
                drop(inst);
                inst = start(dir.path(), glob);
                // The daemon's initial scan.
                inst.tailer.poll(true);
                unseen = [false; 3];
            }
        }
    }
    inst.tailer.poll(true);
    inst.tailer.poll(true);
    let total = before_restarts + counted(&inst);
    prop_assert_eq!(total, written, "ops: {:?}", ops);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn rotated_names_inside_the_glob(ops in prop::collection::vec(op(), 1..40)) {
        run(&ops, "*")?;
    }

    #[test]
    fn rotated_names_outside_the_glob(ops in prop::collection::vec(op(), 1..40)) {
        run(&ops, "*.log")?;
    }
}
