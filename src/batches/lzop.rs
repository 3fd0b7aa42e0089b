//! The `lzop` file format (lzop 1.0x): a header, then blocks, read as one stream of bytes.
//!
//! Header, big-endian: magic (9), version (2), library version (2), version needed (2, from 0x0940),
//! method (1: 1-3 are LZO1X), level (1, from 0x0940), flags (4), filter (4, with `F_H_FILTER`), mode
//! (4), mtime low (4), mtime high (4, from 0x0940), name length (1) and name, header checksum (4),
//! then with `F_H_EXTRA_FIELD` an extra field (length, bytes, checksum). Blocks: uncompressed length
//! (4; 0 ends the file), compressed length (4), the decompressed bytes' Adler-32 and/or CRC-32 (per
//! `F_ADLER32_D` / `F_CRC32_D`), the compressed bytes' when they are shorter (`F_ADLER32_C` /
//! `F_CRC32_C`), then the data: stored when both lengths are equal, else LZO1X. Blocks are at most
//! 64 MiB (lzop's own limit), so a corrupt length cannot make us allocate without bound. Filters
//! (`F_H_FILTER`, never set by CLS or lzop's defaults) are refused.

use std::io::{self, BufRead, Read};

use super::framing::{be32, corrupt, read_exact_or_truncated};
use super::lzo1x;

/// The lzop file's first bytes.
pub const MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];

const F_ADLER32_D: u32 = 0x0000_0001;
const F_ADLER32_C: u32 = 0x0000_0002;
const F_H_EXTRA_FIELD: u32 = 0x0000_0040;
const F_CRC32_D: u32 = 0x0000_0100;
const F_CRC32_C: u32 = 0x0000_0200;
const F_H_FILTER: u32 = 0x0000_0800;
const MAX_BLOCK: u32 = 64 * 1024 * 1024;

pub struct Reader<R> {
    inner: R,
    flags: Option<u32>,
    block: Vec<u8>,
    compressed: Vec<u8>,
    at: usize,
    done: bool,
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes keep both sums below 2^32 between reductions (zlib's NMAX).
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

impl<R: BufRead> Reader<R> {
    pub fn new(inner: R) -> Reader<R> {
        Reader { inner, flags: None, block: Vec::new(), compressed: Vec::new(), at: 0, done: false }
    }

    fn header(&mut self) -> io::Result<u32> {
        let r = &mut self.inner;
        let mut magic = [0u8; 9];
        read_exact_or_truncated(r, &mut magic, "the lzop header")?;
        if magic != MAGIC {
            return Err(corrupt("not an lzop file"));
        }
        let mut two = [0u8; 2];
        read_exact_or_truncated(r, &mut two, "the lzop header")?;
        let version = u16::from_be_bytes(two);
        read_exact_or_truncated(r, &mut two, "the lzop header")?; // library version
        if version >= 0x0940 {
            read_exact_or_truncated(r, &mut two, "the lzop header")?; // version needed
        }
        let mut one = [0u8; 1];
        read_exact_or_truncated(r, &mut one, "the lzop header")?;
        if !(1..=3).contains(&one[0]) {
            return Err(corrupt(format!("lzop method {} is not LZO1X", one[0])));
        }
        if version >= 0x0940 {
            read_exact_or_truncated(r, &mut one, "the lzop header")?; // level
        }
        let flags = be32(r, "the lzop header")?;
        if flags & F_H_FILTER != 0 {
            return Err(corrupt("lzop filters are not supported"));
        }
        be32(r, "the lzop header")?; // mode
        be32(r, "the lzop header")?; // mtime low
        if version >= 0x0940 {
            be32(r, "the lzop header")?; // mtime high
        }
        read_exact_or_truncated(r, &mut one, "the lzop header")?;
        let mut name = vec![0u8; usize::from(one[0])];
        read_exact_or_truncated(r, &mut name, "the lzop header")?;
        be32(r, "the lzop header")?; // header checksum
        if flags & F_H_EXTRA_FIELD != 0 {
            let n = be32(r, "the lzop header")?;
            if n > MAX_BLOCK {
                return Err(corrupt("lzop extra field too long"));
            }
            io::copy(&mut r.take(u64::from(n)), &mut io::sink())?;
            be32(r, "the lzop header")?;
        }
        Ok(flags)
    }

    /// The next block into `self.block`; false at the end marker.
    fn next_block(&mut self, flags: u32) -> io::Result<bool> {
        let r = &mut self.inner;
        let dst_len = be32(r, "an lzop block header")?;
        if dst_len == 0 {
            return Ok(false);
        }
        let src_len = be32(r, "an lzop block header")?;
        if dst_len > MAX_BLOCK || src_len > dst_len {
            return Err(corrupt(format!("lzop block lengths {src_len}/{dst_len} are impossible")));
        }
        let sum_d_adler = if flags & F_ADLER32_D != 0 { Some(be32(r, "an lzop block header")?) } else { None };
        let sum_d_crc = if flags & F_CRC32_D != 0 { Some(be32(r, "an lzop block header")?) } else { None };
        if src_len < dst_len {
            if flags & F_ADLER32_C != 0 {
                be32(r, "an lzop block header")?;
            }
            if flags & F_CRC32_C != 0 {
                be32(r, "an lzop block header")?;
            }
        }
        self.compressed.resize(src_len as usize, 0);
        read_exact_or_truncated(r, &mut self.compressed, "an lzop block")?;
        if src_len == dst_len {
            std::mem::swap(&mut self.block, &mut self.compressed);
        } else {
            lzo1x::decompress(&self.compressed, dst_len as usize, &mut self.block)
                .map_err(|why| corrupt(format!("corrupt lzop block: {why}")))?;
        }
        if sum_d_adler.is_some_and(|s| s != adler32(&self.block)) || sum_d_crc.is_some_and(|s| s != crc32(&self.block))
        {
            return Err(corrupt("corrupt lzop block: checksum mismatch"));
        }
        self.at = 0;
        Ok(true)
    }
}

impl<R: BufRead> Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.block.len() {
            if self.done {
                return Ok(0);
            }
            let flags = match self.flags {
                Some(f) => f,
                None => {
                    let f = self.header()?;
                    self.flags = Some(f);
                    f
                }
            };
            if !self.next_block(flags)? {
                self.done = true;
                self.block.clear();
                self.at = 0;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn adler32_matches_zlib() {
        assert_eq!(super::adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(super::adler32(b""), 1);
    }
}
