//! What the PATHs name (files, directories, globs, standard input) and how each is opened.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use crate::inputs;

pub(super) const STDIN_NAME: &str = "(standard input)";

/// What one planned input is.
pub(super) enum Target {
    Stdin,
    File(std::path::PathBuf),
    /// A PATH that yielded nothing to read, and why.
    Nothing(String),
}

/// Every PATH expanded by the one path grammar, in order: (name, the PATH if a directory or glob, what).
pub(super) fn plan(paths: &[String], recursive: bool) -> Vec<(String, Option<String>, Target)> {
    let mut plan = Vec::new();
    for spec in paths {
        if spec == inputs::STDIN {
            plan.push((STDIN_NAME.to_string(), None, Target::Stdin));
            continue;
        }
        let files = match crate::batches::expand_for_check(spec, recursive) {
            Ok(files) => files,
            Err(why) => {
                plan.push((spec.clone(), None, Target::Nothing(why.to_string())));
                continue;
            }
        };
        for path in files {
            let name = path.display().to_string();
            let from = (name != *spec).then(|| spec.clone());
            plan.push((name, from, Target::File(path)));
        }
    }
    plan
}

/// Compressions recognised by their magic bytes that `check` does not decompress: (name, command).
pub(super) fn other_compression(head: &[u8]) -> Option<(&'static str, &'static str)> {
    if head.starts_with(b"BZh") && head.get(3).is_some_and(u8::is_ascii_digit) {
        Some(("bzip2", "bzip2 -dc"))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(("xz", "xz -dc"))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(("zstd", "zstd -dc"))
    } else if head.starts_with(b"PK\x03\x04") {
        Some(("zip", "unzip -p"))
    } else {
        None
    }
}

/// Opens an input; gzip, lzop and snappy are recognised by their magic bytes, whatever the name
/// (`batches::decompress`). Another compression is refused by name: its bytes are not lines.
/// Standard input begins with `stdin_head`, the bytes taken from it before (`options::sniff`), which
/// are given back once.
pub(super) fn open(
    target: &Target,
    stdin_head: &mut Vec<u8>,
) -> io::Result<(Box<dyn Read + Send>, crate::batches::decompress::Detected)> {
    let raw: Box<dyn Read + Send> = match target {
        Target::Stdin => Box::new(io::Cursor::new(std::mem::take(stdin_head)).chain(io::stdin())),
        Target::File(path) => Box::new(File::open(path)?),
        Target::Nothing(why) => return Err(io::Error::other(why.clone())),
    };
    open_bytes(raw)
}

/// An input's bytes, decompressed where their magic bytes say so (see `open`).
pub(super) fn open_bytes(
    raw: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn Read + Send>, crate::batches::decompress::Detected)> {
    let mut reader = BufReader::new(raw);
    let head = reader.fill_buf()?;
    if let Some((name, command)) = other_compression(head) {
        return Err(io::Error::other(format!(
            "compressed with {name}, which authwatch does not decompress: pipe it in ({command} FILE | authwatch check -)"
        )));
    }
    crate::batches::decompress::open(Box::new(reader))
}
