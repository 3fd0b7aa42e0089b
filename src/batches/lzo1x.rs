//! LZO1X decompression of one block (what `lzop` blocks hold), every read and every back-reference
//! bounds-checked: a corrupt block is an `Err`, never a panic or bytes from outside the block.
//!
//! The instruction set, as lzokay and liblzo's `lzo1x_d.ch` decode it: a first byte ≥ 18 is a literal
//! run; then each instruction is one of M1 (`0000DDSS`, 2-3 bytes within 3 kB, only after literals),
//! a literal run (`0000LLLL` right after a match with no trailing literals), M2 (`01LDDDSS`/`1LLDDDSS`,
//! 3-8 bytes within 2 kB), M3 (`001LLLLL` + LE16, within 16 kB) or M4 (`0001HLLL` + LE16, 16-48 kB;
//! distance 16384 exactly ends the stream). Each match is followed by 0-3 literals (its `SS` bits).

/// Decompresses `src` into `out` (cleared first), which must come to exactly `expected` bytes.
pub fn decompress(src: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), &'static str> {
    out.clear();
    out.reserve(expected);
    let mut ip = 0usize;
    let byte = |ip: &mut usize| -> Result<usize, &'static str> {
        let b = *src.get(*ip).ok_or("input overrun")?;
        *ip += 1;
        Ok(usize::from(b))
    };
    let literals = |ip: &mut usize, n: usize, out: &mut Vec<u8>| -> Result<(), &'static str> {
        let end = ip.checked_add(n).ok_or("input overrun")?;
        let run = src.get(*ip..end).ok_or("input overrun")?;
        if out.len() + n > expected {
            return Err("output overrun");
        }
        out.extend_from_slice(run);
        *ip = end;
        Ok(())
    };
    // A run length whose base field was zero: 255 per zero byte, then the last byte and the base.
    let long_len = |ip: &mut usize, base: usize| -> Result<usize, &'static str> {
        let mut n = base;
        loop {
            let b = byte(ip)?;
            if b != 0 {
                return Ok(n + b);
            }
            n += 255;
            if n > expected + 255 {
                return Err("length overrun");
            }
        }
    };
    let mut state = 0usize;
    match src.first().copied().map(usize::from) {
        None => return Err("empty block"),
        Some(b) if b >= 22 => {
            ip = 1;
            literals(&mut ip, b - 17, out)?;
            state = 4;
        }
        Some(b) if b >= 18 => {
            ip = 1;
            state = b - 17;
            literals(&mut ip, state, out)?;
        }
        Some(_) => {}
    }
    loop {
        let inst = byte(&mut ip)?;
        let (distance, len, next);
        if inst >= 64 {
            let h = byte(&mut ip)?;
            distance = (h << 3) + ((inst >> 2) & 7) + 1;
            len = (inst >> 5) + 1;
            next = inst & 3;
        } else if inst >= 32 {
            let mut l = (inst & 31) + 2;
            if l == 2 {
                l = long_len(&mut ip, 31 + 2)?;
            }
            let le16 = byte(&mut ip)? | byte(&mut ip)? << 8;
            distance = (le16 >> 2) + 1;
            len = l;
            next = le16 & 3;
        } else if inst >= 16 {
            let mut l = (inst & 7) + 2;
            if l == 2 {
                l = long_len(&mut ip, 7 + 2)?;
            }
            let le16 = byte(&mut ip)? | byte(&mut ip)? << 8;
            let d = ((inst & 8) << 11) + (le16 >> 2);
            if d == 0 {
                // Distance 16384: the end-of-stream marker.
                break;
            }
            distance = d + 16384;
            len = l;
            next = le16 & 3;
        } else if state == 0 {
            let mut n = inst + 3;
            if n == 3 {
                n = long_len(&mut ip, 15 + 3)?;
            }
            literals(&mut ip, n, out)?;
            state = 4;
            continue;
        } else if state != 4 {
            let h = byte(&mut ip)?;
            distance = (inst >> 2) + (h << 2) + 1;
            len = 2;
            next = inst & 3;
        } else {
            let h = byte(&mut ip)?;
            distance = (inst >> 2) + (h << 2) + 2049;
            len = 3;
            next = inst & 3;
        }
        let from = out.len().checked_sub(distance).ok_or("lookbehind overrun")?;
        if out.len() + len > expected {
            return Err("output overrun");
        }
        if distance >= len {
            out.extend_from_within(from..from + len);
        } else {
            // Overlapping: a run that repeats what it is writing.
            for k in 0..len {
                let b = out[from + k];
                out.push(b);
            }
        }
        literals(&mut ip, next, out)?;
        state = next;
    }
    if out.len() != expected {
        return Err("block shorter than its header says");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_streams_decode_and_broken_ones_fail() {
        // 5 literals "hello", then M2 copying 4 bytes from distance 5 ("hell"), end.
        // First byte 17+5=22 → literal run of 5; M2 01LDDDSS: L=1 (len 3+1=4)? M2 64..127: len=(inst>>5)+1=3 for
        // 64..95, 4 for 96..127. distance=(H<<3)+D+1 = 5 → H=0, D=4.
        let inst = 96 | (4 << 2);
        let src = [22, b'h', b'e', b'l', b'l', b'o', inst, 0, 0x11, 0, 0];
        let mut out = Vec::new();
        decompress(&src, 9, &mut out).unwrap();
        assert_eq!(out, b"hellohell");
        assert!(decompress(&src, 8, &mut out).is_err(), "longer than promised");
        assert!(decompress(&src[..7], 9, &mut out).is_err(), "truncated");
        // A match reaching before the start.
        let bad = [22, b'h', b'e', b'l', b'l', b'o', 96 | (7 << 2), 9, 0x11, 0, 0];
        assert_eq!(decompress(&bad, 9, &mut out), Err("lookbehind overrun"));
        assert!(decompress(&[], 1, &mut out).is_err());
    }
}
