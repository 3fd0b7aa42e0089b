//! What of the follower goes in the checkpoint: every followed file, every file let go or truncated
//! away that is still remembered, and what the checkpoint named that was not found again. Written
//! entry by entry, and not at all when its hash is unchanged (`checkpoint.rs` is the format).

use std::io;

use super::Tailer;
use super::checkpoint::{self, Entry};
use super::files::{Origin, Retired, Tracked};
use super::identity::Fingerprint;

impl Tailer {
    /// Writes the checkpoint if anything changed since the last write. Ok(true) when written.
    pub fn checkpoint(&mut self) -> io::Result<bool> {
        // Written as it is encoded, one entry at a time: 100,000 files never sit in memory twice.
        // Encoded once into a hash first: an unchanged checkpoint is not written (nor fsynced).
        let mut hash = checkpoint::Fnv::default();
        self.encode_checkpoint(&mut hash)?;
        if self.last_saved == Some(hash.0) {
            return Ok(false);
        }
        checkpoint::save_with(&self.state_path, |w| self.encode_checkpoint(w))?;
        self.last_saved = Some(hash.0);
        Ok(true)
    }

    pub(super) fn encode_checkpoint(&self, w: &mut dyn io::Write) -> io::Result<()> {
        let entry = |r: &Retired, retired_at: Option<u64>| Entry {
            source: r.source.clone(),
            path: r.path.display().to_string(),
            dev: r.dev,
            ino: r.ino,
            fingerprint: format!("{:016x}", r.fp.hash),
            fingerprint_bytes: r.fp.len,
            offset: r.offset,
            skipping: r.skipping,
            retired_at,
            copy: r.copy,
            copy_of: r.copy_of.map(|(dev, ino, fp)| checkpoint::Origin {
                dev,
                ino,
                fingerprint: format!("{:016x}", fp.hash),
                fingerprint_bytes: fp.len,
            }),
            former_paths: r.former.iter().map(|p| p.display().to_string()).collect(),
            content: r.content,
            copy_content: r.copy_content,
        };
        let now_secs = self.clock.now_ms() / 1000;
        let mut out = checkpoint::Writer::begin(w)?;
        for f in &self.files {
            let mut r = f.as_retired(self.sources[f.source].config.name.clone(), now_secs);
            r.copy_of = self.origin_of(f);
            out.entry(&entry(&r, None))?;
        }
        for r in self.retired.iter().chain(self.resume.values().flatten()) {
            out.entry(&entry(r, Some(r.at)))?;
        }
        out.end()
    }

    /// The original a copy follows, as the checkpoint names it.
    pub(super) fn origin_of(&self, f: &Tracked) -> Option<(u64, u64, Fingerprint)> {
        match f.copy?.origin? {
            Origin::Id(id) => self.files.iter().find(|o| o.id == id).map(|o| (o.dev, o.ino, o.fp)),
            Origin::Inode { dev, ino, fp } => Some((dev, ino, fp)),
        }
    }
}
