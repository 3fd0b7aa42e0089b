//! A batch's compression, told by its first bytes (never by its name), and a reader of its lines.
//!
//! What CLS's shipping to COS writes, and what is read:
//! - **gzip** (`1f 8b`): `flate2`'s multi-member decoder (a batch may be several members).
//! - **lzop** (`89 4c 5a 4f 00 0d 0a 1a 0a`, the `lzop` tool's file format): the header (version,
//!   method, flags, optional filter, mode, mtimes, name, header checksum, optional extra field) then
//!   blocks of `uncompressed length, compressed length, checksums, data` up to a zero length; a block
//!   whose two lengths are equal is stored. Methods 1-3 (LZO1X-1, LZO1X-1(15), LZO1X-999) all
//!   decompress with LZO1X, decoded here (`lzo1x`); the Adler-32 / CRC-32 of each block's
//!   decompressed bytes is checked when the header asks for it, so a corrupt block is an error, not
//!   wrong lines. Why hand-written: the LZO1X crates are GPL (`lzo1x`, `rust-lzo`, `minilzo-rs`;
//!   authwatch is Apache-2.0), and the MIT one (`lzokay-native` 0.1.0) subtracts match distances
//!   without a bound check, so a corrupt batch would panic the reader.
//! - **snappy**, two framings, both with the `snap` crate's raw decoder underneath:
//!   the snappy *framing format* (stream identifier chunk `ff 06 00 00 73 4e 61 50 70 59`, what
//!   python-snappy's `stream_compress` and `snap::write::FrameEncoder` write; CRC-32C checked), and
//!   *hadoop-snappy* (blocks of `u32 BE uncompressed length` then chunks of `u32 BE compressed length`
//!   + raw snappy), which has no magic: it is taken when the first block's three lengths agree (the
//!   raw chunk's own length preamble fits the block), and said to be a guess (`Detected::sure`).
//!   CLS does not document its snappy framing; both are read so either works.
//! - anything else: **none** (plain text).
//!
//! A corrupt or truncated batch gives an `io::Error` from the reader after the lines that decoded:
//! the caller counts and logs the skip.

use std::io::{self, BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::{lzop, snappy};

/// The compressions a batch may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Lzop,
    /// The snappy framing format.
    Snappy,
    /// hadoop-snappy blocks (no magic bytes: detected by its lengths agreeing).
    HadoopSnappy,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Lzop => "lzop",
            Compression::Snappy => "snappy",
            Compression::HadoopSnappy => "hadoop-snappy",
        }
    }
}

/// What the first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detected {
    pub compression: Compression,
    /// False when the form was guessed (hadoop-snappy has no magic bytes).
    pub sure: bool,
}

pub use super::lzop::MAGIC as LZOP_MAGIC;
pub const SNAPPY_STREAM: [u8; 10] = [0xff, 0x06, 0x00, 0x00, b's', b'N', b'a', b'P', b'p', b'Y'];

/// The compression `head` (a file's first bytes, as many as are at hand, 64 are plenty) begins.
pub fn detect(head: &[u8]) -> Detected {
    let sure = |compression| Detected { compression, sure: true };
    if head.starts_with(&[0x1f, 0x8b]) {
        sure(Compression::Gzip)
    } else if head.starts_with(&LZOP_MAGIC) {
        sure(Compression::Lzop)
    } else if head.starts_with(&SNAPPY_STREAM) {
        sure(Compression::Snappy)
    } else if snappy::looks_hadoop(head) {
        Detected { compression: Compression::HadoopSnappy, sure: false }
    } else {
        sure(Compression::None)
    }
}

/// The decompressed bytes of `raw`, its compression detected from its first bytes.
pub fn open<'a>(raw: Box<dyn Read + Send + 'a>) -> io::Result<(Box<dyn Read + Send + 'a>, Detected)> {
    let mut reader = BufReader::with_capacity(256 * 1024, raw);
    let head = reader.fill_buf()?;
    let detected = detect(head);
    let out: Box<dyn Read + Send + 'a> = match detected.compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(MultiGzDecoder::new(reader)),
        Compression::Lzop => Box::new(lzop::Reader::new(reader)),
        Compression::Snappy => Box::new(snap::read::FrameDecoder::new(reader)),
        Compression::HadoopSnappy => Box::new(snappy::HadoopReader::new(reader)),
    };
    Ok((out, detected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn all(bytes: Vec<u8>) -> (io::Result<Vec<u8>>, Detected) {
        let (mut r, d) = open(Box::new(io::Cursor::new(bytes))).unwrap();
        let mut out = Vec::new();
        (r.read_to_end(&mut out).map(|_| out), d)
    }

    #[test]
    fn magic_bytes_decide_not_names() {
        let text = b"2021-12-27T03:53:59.192Z\tabc\thello\n".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let (out, d) = all(gz.finish().unwrap());
        assert_eq!((out.unwrap(), d.compression), (text.clone(), Compression::Gzip));
        let mut sn = snap::write::FrameEncoder::new(Vec::new());
        sn.write_all(&text).unwrap();
        let (out, d) = all(sn.into_inner().unwrap());
        assert_eq!((out.unwrap(), d.compression, d.sure), (text.clone(), Compression::Snappy, true));
        let (out, d) = all(text.clone());
        assert_eq!((out.unwrap(), d.compression), (text, Compression::None));
        assert_eq!(detect(b"").compression, Compression::None);
    }

    #[test]
    fn hadoop_snappy_is_read_and_flagged_a_guess() {
        let text = b"{\"SCF_Message\":\"x\"}\n".repeat(500);
        let chunk = snap::raw::Encoder::new().compress_vec(&text).unwrap();
        let mut file = Vec::new();
        file.extend_from_slice(&(text.len() as u32).to_be_bytes());
        file.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        file.extend_from_slice(&chunk);
        let (out, d) = all(file.clone());
        assert_eq!((out.unwrap(), d.compression, d.sure), (text.clone(), Compression::HadoopSnappy, false));
        file.truncate(file.len() - 3);
        assert!(all(file).0.is_err(), "truncated");
    }

    #[test]
    fn corrupt_and_truncated_batches_are_errors_not_panics() {
        let text = b"some line of a log\n".repeat(1000);
        let mut sn = snap::write::FrameEncoder::new(Vec::new());
        sn.write_all(&text).unwrap();
        let mut bytes = sn.into_inner().unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0x55;
        assert!(all(bytes.clone()).0.is_err());
        bytes.truncate(n / 3);
        assert!(all(bytes).0.is_err());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let mut bytes = gz.finish().unwrap();
        bytes.truncate(bytes.len() / 2);
        assert!(all(bytes).0.is_err());
        // Garbage after each magic: an error, whatever the bytes.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for magic in [&LZOP_MAGIC[..], &SNAPPY_STREAM[..], &[0x1f, 0x8b][..]] {
            for len in [0, 1, 7, 40, 300] {
                let mut b = magic.to_vec();
                for _ in 0..len {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    b.push(seed as u8);
                }
                let _ = all(b);
            }
        }
    }
}
