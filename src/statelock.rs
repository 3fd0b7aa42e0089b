//! One state directory, one daemon. Two daemons on one state directory would each restore the other's
//! history and checkpoints and add their own counts to them; so `run` takes an advisory lock first:
//! `flock(2)` (exclusive, non-blocking) on `authwatch.lock` in the state directory, held on an open
//! descriptor for the daemon's whole life. The kernel releases it when the process ends however it
//! ends (exit, a panic, `kill -9`): there is no stale lock to clean up. The file holds the holder's pid,
//! only so that a second daemon's error can name it; the lock, not the file, decides.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

pub const FILE_NAME: &str = "authwatch.lock";

/// The held lock: released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "state directory {dir} is in use by another authwatch (pid {pid}): one state directory, one daemon; stop that one or give this one another --state-dir"
    )]
    InUse { dir: String, pid: String },
    #[error("cannot lock state directory {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

/// Takes the state directory's lock, or says at once who holds it. The lock is held on a read-only
/// descriptor, so the state directory can still be remounted read-only under a running daemon (its
/// checkpoints then fail and are reported, as without the lock); the pid is written through another
/// descriptor, closed at once, and only after the lock is taken.
pub fn acquire(dir: &Path) -> Result<StateLock, LockError> {
    let io = |source| LockError::Io { dir: dir.display().to_string(), source };
    let path = dir.join(FILE_NAME);
    OpenOptions::new().append(true).create(true).open(&path).map_err(io)?;
    let mut file = File::open(&path).map_err(io)?;
    // SAFETY: flock on a descriptor this function owns; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let pid = if pid.is_empty() { "unknown".to_string() } else { pid.to_string() };
            return Err(LockError::InUse { dir: dir.display().to_string(), pid });
        }
        return Err(io(e));
    }
    // Only for a second daemon's message: a full disk must not stop this one from starting.
    if let Ok(mut w) = OpenOptions::new().write(true).truncate(true).open(&path) {
        let _ = writeln!(w, "{}", std::process::id());
    }
    Ok(StateLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_pid_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let held = acquire(dir.path()).unwrap();
        let e = acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&dir.path().display().to_string()) && e.contains(&std::process::id().to_string()), "{e}");
        drop(held);
        assert!(acquire(dir.path()).is_ok());
    }
}
