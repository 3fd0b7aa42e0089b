//! One path grammar for `check` and `run`: what a PATH names, and why it names no file.
//!
//! Contract: a PATH is `-` (standard input: `check` only), a file, a directory (every regular file
//! directly in it, in name order; not recursive), or a glob (`*`, `?`, `[…]`, `**` for any depth of
//! directories; quote it so the shell leaves it to authwatch). `expand` turns one PATH into files, or
//! says why it yields none (`NoFile`): nothing is dropped without a reason a caller can name. Both the
//! follower's discovery (`tail`) and `check` call it, so both read the same files for the same PATH;
//! what they then do differs only where a one-shot read and a live follow must: `check` decompresses
//! gzip and reads any file it is given (a pipe from `<(zcat …)` too), the follower follows regular files
//! only and skips its source's `exclude` globs (compressed rotations by default). A gzip file named
//! explicitly to `run` is read once (`is_read_once`, `read_once`); another compression named explicitly
//! is refused (`refuse_compressed`) rather than skipped without a word.
//! `UnmatchedLog` decides when a PATH that still matches nothing is warned about again.

use std::collections::HashMap;
use std::fmt;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// The PATH that means standard input (`check` only).
pub const STDIN: &str = "-";

/// A PATH that still matches nothing is warned about again at most this often (per source and PATH).
pub const UNMATCHED_WARN_EVERY_MS: u64 = 5 * 60 * 1000;

/// File name endings of compressed files; `check` decompresses gzip only.
pub const COMPRESSED_EXTENSIONS: [&str; 5] = ["gz", "bz2", "xz", "zst", "zip"];

/// Whether a PATH is a glob (holds a wildcard), as opposed to a file or directory name.
pub fn is_glob(spec: &str) -> bool {
    spec.contains(['*', '?', '['])
}

/// Which files a PATH may yield.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Regular files only (the follower: a pipe or device has no offsets to resume).
    Follow,
    /// Regular files from directories and globs, and anything readable named explicitly (`check
    /// <(zcat x.gz)` names a pipe).
    ReadOnce,
}

/// Why a PATH yields no file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoFile {
    /// Neither a file nor a directory of that name exists.
    Missing,
    /// The glob matches no regular file.
    GlobNoMatch,
    /// The directory holds no regular file.
    EmptyDir,
    /// Every file it names is excluded by the source's `exclude` globs.
    AllExcluded(usize),
    /// It names something other than a regular file (a pipe, a socket, a device) and files are followed.
    NotRegular,
    /// It cannot be looked at (a directory that cannot be listed, a stat that failed): the error.
    Unreadable(String),
    /// Not a valid glob.
    BadGlob(String),
}

impl fmt::Display for NoFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoFile::Missing => f.write_str("no such file or directory"),
            NoFile::GlobNoMatch => f.write_str("the glob matches no file"),
            NoFile::EmptyDir => f.write_str("the directory holds no regular file"),
            NoFile::AllExcluded(1) => f.write_str("the one file it names is excluded (exclude globs)"),
            NoFile::AllExcluded(n) => write!(f, "all {n} files it names are excluded (exclude globs)"),
            NoFile::NotRegular => f.write_str("not a regular file"),
            NoFile::Unreadable(e) => write!(f, "cannot be read: {e}"),
            NoFile::BadGlob(e) => write!(f, "bad glob: {e}"),
        }
    }
}

/// What one PATH yields: its files (sorted by path), or why none.
#[derive(Debug, Default)]
pub struct Expansion {
    pub files: Vec<(PathBuf, Metadata)>,
    /// Files found but excluded.
    pub excluded: usize,
    /// Set exactly when `files` is empty.
    pub problem: Option<NoFile>,
}

/// Expands one PATH (never `-`: the caller reads standard input itself). `excluded` says whether a
/// found file is to be skipped (the follower's exclude globs; `check` excludes nothing).
pub fn expand(spec: &str, mode: Mode, excluded: &dyn Fn(&Path) -> bool) -> Expansion {
    let mut out = Expansion::default();
    let keep = |path: PathBuf, meta: Metadata, out: &mut Expansion| {
        if excluded(&path) {
            out.excluded += 1;
        } else {
            out.files.push((path, meta));
        }
    };
    let empty_reason;
    if is_glob(spec) {
        let paths = match glob::glob(spec) {
            Ok(paths) => paths,
            Err(e) => {
                out.problem = Some(NoFile::BadGlob(e.to_string()));
                return out;
            }
        };
        // Unreadable directories on the way are skipped by the glob walk; what it does find counts.
        for path in paths.filter_map(Result::ok) {
            if let Ok(meta) = std::fs::metadata(&path) {
                if meta.is_file() {
                    keep(path, meta, &mut out);
                }
            }
        }
        empty_reason = NoFile::GlobNoMatch;
    } else {
        let path = Path::new(spec);
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.problem = Some(NoFile::Missing);
                return out;
            }
            Err(e) => {
                out.problem = Some(NoFile::Unreadable(e.to_string()));
                return out;
            }
        };
        if meta.is_dir() {
            let entries = match std::fs::read_dir(path) {
                Ok(d) => d,
                Err(e) => {
                    out.problem = Some(NoFile::Unreadable(e.to_string()));
                    return out;
                }
            };
            for entry in entries.filter_map(Result::ok) {
                let p = entry.path();
                if let Ok(m) = std::fs::metadata(&p) {
                    if m.is_file() {
                        keep(p, m, &mut out);
                    }
                }
            }
            empty_reason = NoFile::EmptyDir;
        } else if meta.is_file() || mode == Mode::ReadOnce {
            keep(path.to_path_buf(), meta, &mut out);
            empty_reason = NoFile::Missing;
        } else {
            out.problem = Some(NoFile::NotRegular);
            return out;
        }
    }
    out.files.sort_by(|a, b| a.0.cmp(&b.0));
    if out.files.is_empty() {
        out.problem = Some(if out.excluded > 0 { NoFile::AllExcluded(out.excluded) } else { empty_reason });
    }
    out
}

/// Whether a source's `exclude` globs skip this file: a glob matches its path or its file name.
pub fn excluded_by(excludes: &[glob::Pattern], path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    excludes.iter().any(|p| p.matches_path(path) || p.matches(&name))
}

/// A source's `exclude` globs, compiled (a bad one was refused when the config was read).
pub fn compile_excludes(exclude: &[String]) -> Vec<glob::Pattern> {
    exclude.iter().filter_map(|e| glob::Pattern::new(e).ok()).collect()
}

/// The compression a file name says (`gz`, `xz`, …), if any.
pub fn compressed_extension(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?;
    COMPRESSED_EXTENSIONS.iter().copied().find(|c| c.eq_ignore_ascii_case(ext))
}

/// Whether `run` reads this PATH once (`read_once`) instead of following it: a file path (not a glob or
/// directory, where compressed rotations are excluded as copies of lines already read) ending in `.gz`.
pub fn is_read_once(spec: &str) -> bool {
    !is_glob(spec) && compressed_extension(Path::new(spec)) == Some("gz")
}

/// `run` reads gzip files named explicitly once (`is_read_once`); a file named explicitly with another
/// compression is refused, naming it and what to do, rather than skipped without a word.
pub fn refuse_compressed(source: &str, spec: &str) -> Result<(), String> {
    if is_glob(spec) || spec == STDIN || is_read_once(spec) {
        return Ok(());
    }
    match compressed_extension(Path::new(spec)) {
        Some(ext) => Err(format!(
            "source {source:?}: {spec} is compressed ({ext}), which authwatch does not decompress (gzip only): \
             decompress it, or pipe it into `authwatch check -`"
        )),
        None => Ok(()),
    }
}

/// For one source: the PATHs that yield no file now, and why.
pub fn unmatched(specs: &[String], excluded: &dyn Fn(&Path) -> bool) -> Vec<(String, NoFile)> {
    specs
        .iter()
        .filter_map(|s| {
            // A gzip file named explicitly is read once, whatever the exclude globs say.
            let excluded: &dyn Fn(&Path) -> bool = if is_read_once(s) { &|_| false } else { excluded };
            expand(s, Mode::Follow, excluded).problem.map(|why| (s.clone(), why))
        })
        .collect()
}

/// When to warn about PATHs that match nothing: at once the first time, then again at most every
/// `every_ms` while they still match nothing; and once when one matches again.
#[derive(Debug)]
pub struct UnmatchedLog {
    every_ms: u64,
    /// (source, PATH) → when it was last warned about.
    last: HashMap<(String, String), u64>,
}

/// What to log now for one source.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// Still (or newly) matching nothing, and due a warning: (PATH, why).
    pub warn: Vec<(String, NoFile)>,
    /// Matched nothing before, matches files now.
    pub resolved: Vec<String>,
}

impl UnmatchedLog {
    pub fn new(every_ms: u64) -> UnmatchedLog {
        UnmatchedLog { every_ms, last: HashMap::new() }
    }

    /// The source's PATHs that match nothing now (`unmatched`), at `now_ms`: which to warn about.
    pub fn due(&mut self, now_ms: u64, source: &str, unmatched: &[(String, NoFile)]) -> Due {
        let mut due = Due::default();
        for (spec, why) in unmatched {
            let key = (source.to_string(), spec.clone());
            let warn = self.last.get(&key).is_none_or(|&at| now_ms.saturating_sub(at) >= self.every_ms);
            if warn {
                self.last.insert(key, now_ms);
                due.warn.push((spec.clone(), why.clone()));
            }
        }
        let before = self.last.len();
        let mut resolved = Vec::new();
        self.last.retain(|(s, spec), _| {
            let keep = s != source || unmatched.iter().any(|(u, _)| u == spec);
            if !keep {
                resolved.push(spec.clone());
            }
            keep
        });
        debug_assert!(self.last.len() + resolved.len() == before);
        resolved.sort();
        due.resolved = resolved;
        due
    }

    /// Sources that are gone (a reload) are forgotten.
    pub fn retain_sources(&mut self, sources: &[&str]) {
        self.last.retain(|(s, _), _| sources.contains(&s.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &Path) -> bool {
        false
    }

    fn names(e: &Expansion) -> Vec<String> {
        e.files.iter().map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn files_directories_and_globs_yield_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in ["b.log", "a.log", "c.txt"] {
            std::fs::write(d.join(name), "x\n").unwrap();
        }
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/deep.log"), "x\n").unwrap();
        let ds = d.to_str().unwrap();
        // A directory: every regular file directly in it, sorted; not its subdirectories.
        assert_eq!(names(&expand(ds, Mode::Follow, &none)), ["a.log", "b.log", "c.txt"]);
        assert_eq!(names(&expand(&format!("{ds}/*.log"), Mode::ReadOnce, &none)), ["a.log", "b.log"]);
        assert_eq!(names(&expand(&format!("{ds}/**/*.log"), Mode::Follow, &none)), ["a.log", "b.log", "deep.log"]);
        assert_eq!(names(&expand(&format!("{ds}/a.log"), Mode::Follow, &none)), ["a.log"]);
        let txt = |p: &Path| p.extension().is_some_and(|e| e == "txt");
        let e = expand(ds, Mode::Follow, &txt);
        assert_eq!((names(&e), e.excluded), (vec!["a.log".to_string(), "b.log".to_string()], 1));
    }

    #[test]
    fn every_path_that_yields_nothing_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let problem = |spec: &str, mode| expand(spec, mode, &none).problem;
        assert_eq!(problem(&format!("{d}/nope.log"), Mode::Follow), Some(NoFile::Missing));
        assert_eq!(problem(&format!("{d}/nope/*.log"), Mode::Follow), Some(NoFile::GlobNoMatch));
        assert_eq!(problem(d, Mode::ReadOnce), Some(NoFile::EmptyDir));
        assert!(matches!(problem(&format!("{d}/[.log"), Mode::Follow), Some(NoFile::BadGlob(_))));
        std::fs::write(dir.path().join("x.gz"), "x").unwrap();
        let gz = |p: &Path| compressed_extension(p).is_some();
        assert_eq!(expand(d, Mode::Follow, &gz).problem, Some(NoFile::AllExcluded(1)));
        assert_eq!(NoFile::AllExcluded(1).to_string(), "the one file it names is excluded (exclude globs)");
        // A pipe is read by check, not followed by run.
        assert_eq!(problem("/dev/null", Mode::Follow), Some(NoFile::NotRegular));
        assert_eq!(problem("/dev/null", Mode::ReadOnce), None);
        assert_eq!(unmatched(&[format!("{d}/x.gz"), format!("{d}/y")], &none), [(format!("{d}/y"), NoFile::Missing)]);
    }

    #[test]
    fn gzip_named_to_run_is_read_once_other_compressions_refused_by_name() {
        assert!(refuse_compressed("default", "/var/log/app.log").is_ok());
        assert!(refuse_compressed("default", "/var/log/*.xz").is_ok(), "a glob: excluded, not refused");
        assert!(refuse_compressed("default", "/x/app.log.1.GZ").is_ok() && is_read_once("/x/app.log.1.GZ"));
        assert!(!is_read_once("/x/*.gz") && !is_read_once("/x/app.log"));
        let e = refuse_compressed("default", "/x/app.log.1.xz").unwrap_err();
        assert!(e.contains("/x/app.log.1.xz is compressed (xz)") && e.contains("authwatch check -"), "{e}");
        // Named explicitly and excluded by *.gz: still not unmatched (it is read once).
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("a.log.gz");
        std::fs::write(&gz, "x").unwrap();
        let all = |_: &Path| true;
        assert!(unmatched(&[gz.display().to_string()], &all).is_empty());
    }

    #[test]
    fn unmatched_paths_are_warned_at_once_then_rate_limited_and_resolved_once() {
        let mut log = UnmatchedLog::new(60_000);
        let missing = vec![("/a/*.log".to_string(), NoFile::GlobNoMatch)];
        assert_eq!(log.due(0, "s", &missing).warn, missing);
        assert!(log.due(1_000, "s", &missing).warn.is_empty(), "within the interval");
        assert!(log.due(59_999, "s", &missing).warn.is_empty());
        assert_eq!(log.due(60_000, "s", &missing).warn, missing, "due again");
        // Another source with the same PATH is its own entry.
        assert_eq!(log.due(60_001, "t", &missing).warn, missing);
        let d = log.due(70_000, "s", &[]);
        assert_eq!((d.warn.len(), d.resolved), (0, vec!["/a/*.log".to_string()]));
        assert!(log.due(71_000, "s", &[]).resolved.is_empty(), "resolved once");
        assert_eq!(log.due(72_000, "s", &missing).warn, missing, "unmatched again: warned at once");
        log.retain_sources(&["s"]);
        assert_eq!(log.due(72_001, "t", &missing).warn, missing, "t was forgotten");
    }
}
