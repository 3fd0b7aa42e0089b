//! Batches the way they go wrong and the way real encoders write them: truncated gzip, corrupt lzop,
//! garbage after a snappy stream identifier are counted, skipped (the daemon reads on), and never
//! crash it; a batch written in place is read only once it has stopped changing for `settle_secs`;
//! snappy's framing format, hadoop-snappy and `lzop -9` (LZO1X-999, several blocks) decode to
//! exactly their lines.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::common::daemon::*;
use crate::common::forms::{Call, Outcome, cls_json};
use crate::common::{external_tool, gzip};

const T0: i64 = 1_741_914_000_000;

fn calls(n: usize, minute: i64) -> Vec<Call> {
    (0..n)
        .map(|i| Call {
            request_id: format!("{minute:08x}-0a1b-4c2d-9e3f-{i:012x}"),
            function: "getLoginTicket".into(),
            start_ms: T0 + minute * 60_000 + (i as i64 * 59_000) / n as i64,
            duration_ms: 80,
            outcome: if i % 4 == 0 { Outcome::Returned { errcode: 45011 } } else { Outcome::Ok },
        })
        .collect()
}

fn line_count(b: &[u8]) -> u64 {
    b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count() as u64
}

/// hadoop-snappy as Hadoop's `SnappyCodec` writes it: blocks of `u32 BE uncompressed length`, each
/// made of chunks of `u32 BE compressed length` + a raw snappy block (64 KiB of input a chunk).
fn hadoop_snappy(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for block in bytes.chunks(256 * 1024) {
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        for chunk in block.chunks(64 * 1024) {
            let c = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            out.extend_from_slice(&(c.len() as u32).to_be_bytes());
            out.extend_from_slice(&c);
        }
    }
    out
}

fn snappy_framing(bytes: &[u8]) -> Vec<u8> {
    let mut e = snap::write::FrameEncoder::new(Vec::new());
    e.write_all(bytes).unwrap();
    e.into_inner().unwrap()
}

fn run_tool(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn land(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

fn metric(d: &Daemon, name: &str, source: &str) -> f64 {
    d.metric(&format!("{name}{{source=\"{source}\"}}")).unwrap_or(-1.0)
}

#[test]
fn bad_batches_are_counted_skips_real_encoders_decode_and_a_batch_written_in_place_waits_to_settle() {
    let test = "bad_batches_are_counted_skips_real_encoders_decode_and_a_batch_written_in_place_waits_to_settle";
    let Some(lzop) = external_tool("lzop", test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("good"), dir.path().join("bad"));
    std::fs::create_dir_all(good.join("2025/3/14/1")).unwrap();
    std::fs::create_dir_all(bad.join("2025/3/14/1")).unwrap();
    let cfg = dir.path().join("authwatch.toml");
    let toml = format!(
        "[[sources]]\nname = \"good\"\nmode = \"batches\"\npaths = [\"{}\"]\nformat = \"cls\"\n\
         [[sources]]\nname = \"bad\"\nmode = \"batches\"\npaths = [\"{}\"]\nformat = \"cls\"\n",
        good.display(),
        bad.display()
    );
    std::fs::write(&cfg, toml).unwrap();
    let d = Daemon::in_process(&[], Some(&cfg), &dir.path().join("state"), (T0 + 3_600_000) as u64);
    let hour = |root: &Path| root.join("2025/3/14/1");

    // Snappy's framing format and hadoop-snappy (the snap crate's encoders: Debian's python3-snappy
    // fails to write framing on Python 3.11), and the real lzop -9 over more than one block.
    let plain = |minute: i64, n: usize| cls_json(&calls(n, minute));
    let scratch = dir.path().join("plain");
    let mut want_lines = 0;
    let mut want_45011 = 0;
    for (minute, n, kind) in [(0, 400, "framing"), (1, 3000, "hadoop_snappy"), (2, 3000, "lzop-9")] {
        let text = plain(minute, n);
        std::fs::write(&scratch, &text).unwrap();
        let bytes = match kind {
            "lzop-9" => run_tool(Command::new(&lzop).args(["-9", "-c"]).arg(&scratch)),
            "framing" => snappy_framing(&text),
            _ => hadoop_snappy(&text),
        };
        assert!(text.len() > 256 * 1024 || kind != "lzop-9", "several lzop blocks");
        land(&hour(&good), &format!("2025031401{minute:02}_000_{minute}.gz"), &bytes);
        want_lines += line_count(&text);
        want_45011 += calls(n, minute).iter().filter(|c| c.outcome != Outcome::Ok).count() as u64;
    }
    d.advance(1_000);
    wait_until("the real encoders' batches read", || metric(&d, "authwatch_lines_total", "good") >= want_lines as f64);
    assert_eq!(metric(&d, "authwatch_lines_total", "good"), want_lines as f64);
    let q = "authwatch_errors_total{pattern=\"wx_45011_minute_quota\",source=\"good\"}";
    wait_until("their 45011", || d.metric(q) == Some(want_45011 as f64));

    // Bad batches: truncated gzip, lzop with a corrupt block, garbage after a snappy stream identifier.
    let text = plain(3, 400);
    let gz = gzip(&text);
    std::fs::write(&scratch, &text).unwrap();
    let mut lz = run_tool(Command::new(&lzop).arg("-c").arg(&scratch));
    let n = lz.len();
    for b in &mut lz[n / 2..n / 2 + 64] {
        *b ^= 0xa5;
    }
    let mut sn = b"\xff\x06\x00\x00sNaPpY".to_vec();
    sn.extend_from_slice(&[0x00, 0x40, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]);
    land(&hour(&bad), "202503140103_000_1.gz", &gz[..gz.len() / 2]);
    land(&hour(&bad), "202503140103_000_2.lzo", &lz);
    land(&hour(&bad), "202503140103_000_3.snappy", &sn);
    d.advance(1_000);
    wait_until("three bad batches counted", || metric(&d, "authwatch_read_errors_total", "bad") >= 3.0);
    d.advance(1_000);
    assert_eq!(metric(&d, "authwatch_read_errors_total", "bad"), 3.0, "each counted once, not retried");
    assert_eq!(d.get("/readyz").0, 200, "still serving");

    // Written in place, in two halves: not read while it changes, read once quiet for settle_secs (5).
    // When it was read is the daemon's clock at its last line (`authwatch_last_line_timestamp_seconds`).
    let text = plain(4, 400);
    let gz = gzip(&text);
    let path = hour(&good).join("202503140104_000_4.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    d.advance(1_000);
    wait_until("the half-written batch seen", || metric(&d, "authwatch_files_watched", "good") == 1.0);
    d.advance(3_000);
    let appended_ms = d.inproc_now();
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&gz[gz.len() / 2..]).unwrap();
    drop(f);
    want_lines += line_count(&text);
    // The clock on a second at a time until it is read (the daemon may see the append some ticks late).
    wait_until("the settled batch read", || {
        let read = metric(&d, "authwatch_lines_total", "good") >= want_lines as f64;
        if !read && d.inproc_now() < appended_ms + 30_000 {
            d.advance(1_000);
        }
        read
    });
    assert_eq!(metric(&d, "authwatch_lines_total", "good"), want_lines as f64);
    let read_at = metric(&d, "authwatch_last_line_timestamp_seconds", "good") * 1000.0;
    assert!(read_at >= (appended_ms + 5_000) as f64, "read {} ms after its last change", read_at - appended_ms as f64);
    assert_eq!(metric(&d, "authwatch_read_errors_total", "good"), 0.0, "no batch of the good source read half-written");
    d.stop();
}
