//! hadoop-snappy: blocks of `u32 BE uncompressed length`, then chunks of `u32 BE compressed length`
//! + one raw snappy block each, until the chunks give the block's length. No magic bytes: a file is
//! taken for it when its first block's lengths agree with the first chunk's own preamble (a raw
//! snappy block starts with its uncompressed length as a varint). (The snappy framing format has a
//! stream identifier and is read by `snap::read::FrameDecoder`.)

use std::io::{self, BufRead, Read};

use super::framing::{be32, corrupt, read_exact_or_truncated};

const MAX_BLOCK: u32 = 64 * 1024 * 1024;

/// The varint a raw snappy block starts with.
fn varint(b: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, &x) in b.iter().take(5).enumerate() {
        v |= u64::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Whether `head` begins a hadoop-snappy block: block length, first chunk's length, and the chunk's
/// own preamble all agree (a text file's first 8 bytes almost never do).
pub fn looks_hadoop(head: &[u8]) -> bool {
    if head.len() < 9 {
        return false;
    }
    let block = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let chunk = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    let Some(raw) = varint(&head[8..]) else { return false };
    block > 0
        && block <= MAX_BLOCK
        && chunk > 0
        && raw > 0
        && raw <= u64::from(block)
        && (chunk as usize) <= snap::raw::max_compress_len(raw as usize).max(16)
}

pub struct HadoopReader<R> {
    inner: R,
    block: Vec<u8>,
    chunk: Vec<u8>,
    at: usize,
    decoder: snap::raw::Decoder,
}

impl<R: BufRead> HadoopReader<R> {
    pub fn new(inner: R) -> HadoopReader<R> {
        HadoopReader { inner, block: Vec::new(), chunk: Vec::new(), at: 0, decoder: snap::raw::Decoder::new() }
    }

    /// The next block; false at the end of the file (between blocks).
    fn next_block(&mut self) -> io::Result<bool> {
        if self.inner.fill_buf()?.is_empty() {
            return Ok(false);
        }
        let want = be32(&mut self.inner, "a hadoop-snappy block header")?;
        if want > MAX_BLOCK {
            return Err(corrupt(format!("hadoop-snappy block length {want} is impossible")));
        }
        self.block.clear();
        self.at = 0;
        while self.block.len() < want as usize {
            let n = be32(&mut self.inner, "a hadoop-snappy chunk header")?;
            if n > MAX_BLOCK {
                return Err(corrupt(format!("hadoop-snappy chunk length {n} is impossible")));
            }
            self.chunk.resize(n as usize, 0);
            read_exact_or_truncated(&mut self.inner, &mut self.chunk, "a hadoop-snappy chunk")?;
            let len =
                snap::raw::decompress_len(&self.chunk).map_err(|e| corrupt(format!("corrupt snappy chunk: {e}")))?;
            if self.block.len() + len > want as usize {
                return Err(corrupt("hadoop-snappy chunks longer than their block"));
            }
            let start = self.block.len();
            self.block.resize(start + len, 0);
            self.decoder
                .decompress(&self.chunk, &mut self.block[start..])
                .map_err(|e| corrupt(format!("corrupt snappy chunk: {e}")))?;
        }
        Ok(true)
    }
}

impl<R: BufRead> Read for HadoopReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
