//! The two ways a compressed batch goes wrong, worded once for every decoder: it ends inside what
//! its framing promised (truncated), or its bytes contradict their framing (corrupt).

use std::io::{self, Read};

/// Reads exactly `buf.len()` bytes, or says the batch ended inside `what`.
pub(super) fn read_exact_or_truncated(r: &mut impl Read, buf: &mut [u8], what: &str) -> io::Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(io::ErrorKind::UnexpectedEof, format!("truncated: the file ends inside {what}"))
        } else {
            e
        }
    })
}

pub(super) fn corrupt(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// A big-endian u32, or truncated inside `what`.
pub(super) fn be32(r: &mut impl Read, what: &str) -> io::Result<u32> {
    let mut b = [0u8; 4];
    read_exact_or_truncated(r, &mut b, what)?;
    Ok(u32::from_be_bytes(b))
}
