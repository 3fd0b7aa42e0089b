//! Read offsets on disk, like Vector's checkpoints: versioned JSON, written to a temporary file,
//! fsynced, renamed over the old one (and the directory fsynced), so a crash leaves either the old or
//! the new file, never a torn one.
//!
//! Contract: `load` returns `Ok(None)` when there is no file yet and an error for anything it cannot
//! trust (unreadable, not JSON, an unknown version); the caller starts fresh and says so. `save` is
//! atomic; the caller skips it when nothing changed.
//!
//! Versions: 2 adds `copy`, `copy_of` and `former_paths` (all optional); a version 1 file loads as version 2
//! with them absent, and is written back as version 2.
//!
//! Size: one compact JSON object per line per file, fields at their defaults left out (`skipping`,
//! `copy`…; readers of version 2 default them), about 200 bytes a file. `Writer` streams the entries
//! to the temporary file as they are encoded, so writing 100,000 files holds none of it in memory;
//! `Fnv` hashes the same stream so an unchanged checkpoint is not written at all.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 2;
/// The oldest version `load` still reads.
pub const OLDEST_VERSION: u32 = 1;
pub const FILE_NAME: &str = "checkpoints.json";

/// One file's identity and how far it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub source: String,
    pub path: String,
    pub dev: u64,
    pub ino: u64,
    /// FNV-1a of the file's first `fingerprint_bytes` bytes, hex.
    pub fingerprint: String,
    pub fingerprint_bytes: u32,
    /// Bytes consumed: the end of the last complete line counted.
    pub offset: u64,
    /// Inside a line that was cut for length: the rest up to its newline is skipped.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skipping: bool,
    /// Unix seconds when the file was let go (rotated away, deleted, truncated); absent while followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
    /// A copy of another file: `offset` may be beyond the size (bytes counted in the original that the
    /// copy has not received yet).
    #[serde(default, skip_serializing_if = "is_false")]
    pub copy: bool,
    /// The original a copy follows while that original still holds the copied bytes (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_of: Option<Origin>,
    /// The names the file had before it was renamed (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub former_paths: Vec<String>,
    /// Names what the file held (its content id): a record of truncated content and the copies read
    /// from it share one, so bytes one copy counted are not counted from another after a restart.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub content: u64,
    /// For a copy, the content id of what it copies.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub copy_content: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The identity of the original a copy follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub dev: u64,
    pub ino: u64,
    pub fingerprint: String,
    pub fingerprint_bytes: u32,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub version: u32,
    pub files: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not a checkpoint file: {source}")]
    Corrupt { path: String, source: serde_json::Error },
    #[error("{path}: checkpoint version {found}, this authwatch reads versions {OLDEST_VERSION} to {VERSION}")]
    Version { path: String, found: u32 },
}

pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

pub fn load(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
    let shown = path.display().to_string();
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CheckpointError::Io { path: shown, source }),
    };
    let c: Checkpoint =
        serde_json::from_slice(&bytes).map_err(|source| CheckpointError::Corrupt { path: shown.clone(), source })?;
    if !(OLDEST_VERSION..=VERSION).contains(&c.version) {
        return Err(CheckpointError::Version { path: shown, found: c.version });
    }
    Ok(Some(Checkpoint { version: VERSION, ..c }))
}

/// `load`, entry by entry: `each` gets every entry as it is parsed (from a buffered reader), so a
/// checkpoint of 100,000 files is never held whole in memory. Ok(false) when there is no file. On an
/// error, the entries already handed over are to be discarded (the file cannot be trusted).
pub fn load_each(path: &Path, mut each: impl FnMut(Entry)) -> Result<bool, CheckpointError> {
    let shown = path.display().to_string();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(CheckpointError::Io { path: shown, source }),
    };
    let corrupt = |source| CheckpointError::Corrupt { path: shown.clone(), source };
    let mut de = serde_json::Deserializer::from_reader(io::BufReader::with_capacity(256 * 1024, file));
    let version = serde::de::DeserializeSeed::deserialize(Stream { each: &mut each }, &mut de).map_err(corrupt)?;
    de.end().map_err(corrupt)?;
    if !(OLDEST_VERSION..=VERSION).contains(&version) {
        return Err(CheckpointError::Version { path: shown, found: version });
    }
    Ok(true)
}

fn readable(version: u32) -> bool {
    (OLDEST_VERSION..=VERSION).contains(&version)
}

/// The checkpoint object, its entries handed to `each` as they are parsed (buffered only in a file
/// whose `version` comes after its `files`); its value is the version.
struct Stream<'a, F> {
    each: &'a mut F,
}

impl<'de, F: FnMut(Entry)> serde::de::DeserializeSeed<'de> for Stream<'_, F> {
    type Value = u32;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Entry)> serde::de::Visitor<'de> for Stream<'_, F> {
    type Value = u32;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a checkpoint object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<u32, A::Error> {
        use serde::de::Error;
        let (mut version, mut files, mut early) = (None, false, Vec::new());
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => version = Some(map.next_value::<u32>()?),
                "files" => {
                    let stream = version.is_some_and(readable);
                    let buffer = if stream { None } else { Some(&mut early) };
                    map.next_value_seed(Entries { each: &mut *self.each, buffer })?;
                    files = true;
                }
                other => return Err(A::Error::unknown_field(other, &["version", "files"])),
            }
        }
        let version = version.ok_or_else(|| A::Error::missing_field("version"))?;
        if !files {
            return Err(A::Error::missing_field("files"));
        }
        if readable(version) {
            early.into_iter().for_each(&mut *self.each);
        }
        Ok(version)
    }
}

struct Entries<'a, 'b, F> {
    each: &'a mut F,
    buffer: Option<&'b mut Vec<Entry>>,
}

impl<'de, F: FnMut(Entry)> serde::de::DeserializeSeed<'de> for Entries<'_, '_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Entry)> serde::de::Visitor<'de> for Entries<'_, '_, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of checkpoint entries")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(e) = seq.next_element::<Entry>()? {
            match &mut self.buffer {
                Some(b) => b.push(e),
                None => (self.each)(e),
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically (`statefile`: temp file, fsync, rename, fsync dir).
pub fn save_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    crate::statefile::write_atomic_bytes(path, bytes)
}

/// Writes a checkpoint atomically as `write` produces it (`statefile`).
pub fn save_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    crate::statefile::write_atomic(path, write)
}

/// Encodes a checkpoint entry by entry: `begin`, `entry`…, `end`. The same JSON `encode` gives, compact.
pub struct Writer<'a> {
    w: &'a mut dyn Write,
    first: bool,
}

impl<'a> Writer<'a> {
    pub fn begin(w: &'a mut dyn Write) -> io::Result<Writer<'a>> {
        write!(w, "{{\"version\":{VERSION},\"files\":[")?;
        Ok(Writer { w, first: true })
    }

    pub fn entry(&mut self, e: &Entry) -> io::Result<()> {
        self.w.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut *self.w, e).map_err(io::Error::other)
    }

    pub fn end(self) -> io::Result<()> {
        self.w.write_all(b"\n]}\n")
    }
}

/// FNV-1a over everything written to it: whether a checkpoint changed, without keeping it.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Write for Fnv {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn encode(c: &Checkpoint) -> Vec<u8> {
    // Serialising plain structs of strings and integers cannot fail.
    serde_json::to_vec_pretty(c).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_in(dir.path());
        assert!(load(&p).unwrap().is_none());
        let c = Checkpoint {
            version: VERSION,
            files: vec![Entry {
                source: "default".into(),
                path: "/x/app.log".into(),
                dev: 1,
                ino: 2,
                fingerprint: "00ff".into(),
                fingerprint_bytes: 256,
                offset: 1234,
                skipping: false,
                retired_at: None,
                copy: true,
                copy_of: Some(Origin { dev: 1, ino: 3, fingerprint: "0a".into(), fingerprint_bytes: 4096 }),
                former_paths: vec!["/x/app.log.0".into()],
                content: 7,
                copy_content: 5,
            }],
        };
        save_bytes(&p, &encode(&c)).unwrap();
        assert_eq!(load(&p).unwrap(), Some(c.clone()));
        // The streamed form reads back the same, with defaults left out.
        let streamed = |c: &Checkpoint| {
            let mut v = Vec::new();
            let mut w = Writer::begin(&mut v).unwrap();
            for e in &c.files {
                w.entry(e).unwrap();
            }
            w.end().unwrap();
            v
        };
        save_with(&p, |w| w.write_all(&streamed(&c))).unwrap();
        assert_eq!(load(&p).unwrap(), Some(c.clone()));
        let plain = Checkpoint {
            files: vec![Entry {
                copy: false,
                copy_of: None,
                copy_content: 0,
                former_paths: vec![],
                ..c.files[0].clone()
            }],
            ..c
        };
        let text = String::from_utf8(streamed(&plain)).unwrap();
        // `copy` and `copy_of` left out (`copy_content` is another field, kept).
        assert!(!text.contains("skipping") && !text.contains("\"copy\"") && !text.contains("copy_of"), "{text}");
        save_with(&p, |w| w.write_all(text.as_bytes())).unwrap();
        assert_eq!(load(&p).unwrap(), Some(plain.clone()));
        // Entry by entry, the same entries; with `version` last too.
        let each = |p: &Path| {
            let mut got = Vec::new();
            load_each(p, |e| got.push(e)).map(|found| (found, got))
        };
        assert_eq!(each(&p).unwrap(), (true, plain.files.clone()));
        let last = format!("{{\"files\":{},\"version\":1}}", serde_json::to_string(&plain.files).unwrap());
        fs::write(&p, last).unwrap();
        assert_eq!(each(&p).unwrap(), (true, plain.files.clone()));
        fs::write(&p, b"{\"version\": 9, \"files\": []}").unwrap();
        assert!(matches!(each(&p), Err(CheckpointError::Version { found: 9, .. })));
        fs::write(&p, b"{\"version\": 2, \"files\": [").unwrap();
        assert!(matches!(each(&p), Err(CheckpointError::Corrupt { .. })));
        fs::write(&p, b"{\"version\": 2, \"files\": [], \"extra\": 1}").unwrap();
        assert!(matches!(each(&p), Err(CheckpointError::Corrupt { .. })));
        fs::write(&p, b"{\"version\": 2}").unwrap();
        assert!(matches!(each(&p), Err(CheckpointError::Corrupt { .. })));
        assert_eq!(each(&dir.path().join("none.json")).unwrap(), (false, Vec::new()));
        assert!(!dir.path().join(format!(".{FILE_NAME}.tmp")).exists());
        fs::write(&p, b"{\"version\": 1, \"files\": [").unwrap();
        assert!(matches!(load(&p), Err(CheckpointError::Corrupt { .. })));
        fs::write(&p, b"{\"version\": 9, \"files\": []}").unwrap();
        assert!(matches!(load(&p), Err(CheckpointError::Version { found: 9, .. })));
    }

    #[test]
    fn version_1_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_in(dir.path());
        fs::write(
            &p,
            br#"{"version": 1, "files": [{"source": "default", "path": "/x/app.log", "dev": 1, "ino": 2,
                "fingerprint": "00ff", "fingerprint_bytes": 256, "offset": 10, "skipping": false}]}"#,
        )
        .unwrap();
        let c = load(&p).unwrap().unwrap();
        assert_eq!(c.version, VERSION);
        assert_eq!(c.files[0].offset, 10);
        assert!(!c.files[0].copy && c.files[0].copy_of.is_none() && c.files[0].former_paths.is_empty());
    }
}
