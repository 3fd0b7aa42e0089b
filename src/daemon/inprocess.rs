//! The daemon in a thread of this process, on a clock a test moves (`Control::advance`, which returns
//! once the poll at the new time is done), told what signals would tell it: tests drive time instead
//! of sitting through real timers.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::tail::{Clock, ManualClock};

use super::options::RunOptions;
use super::run::{Signal, Time, Wake, run_with};

/// A daemon started in this process (`start_in_process`): its address, its clock, and how to stop it.
pub struct Control {
    pub addr: SocketAddr,
    tx: std::sync::mpsc::Sender<Wake>,
    clock: Arc<ManualClock>,
    ctl: tokio::sync::mpsc::UnboundedSender<Signal>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Control {
    /// Moves the daemon's clock on by `ms` and lets it look at its deadlines.
    pub fn advance(&self, ms: u64) {
        self.clock.advance(ms);
        // Synchronous, as mtail's test waker: return once the daemon has polled at the new time.
        // Bounded, so a daemon that has stopped does not hang the test.
        let (done, heard) = std::sync::mpsc::sync_channel(1);
        if self.tx.send(Wake::Tick(done)).is_ok() {
            let _ = heard.recv_timeout(std::time::Duration::from_secs(30));
        }
    }

    /// What the daemon's clock says, Unix ms.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Reloads configuration and patterns as SIGHUP does.
    pub fn reload(&self) {
        let _ = self.ctl.send(Signal::Hangup);
    }

    /// Stops it as SIGTERM does (drain, final checkpoint, stop HTTP) and waits for that.
    pub fn stop(mut self) -> Result<(), String> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), String> {
        let _ = self.ctl.send(Signal::Terminate);
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("the daemon thread panicked".into()),
            None => Ok(()),
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// `authwatch run` in a thread of this process, on a clock that starts at `start_ms` and moves only
/// when told to (`Control::advance`): for tests that drive time.
pub fn start_in_process(opts: RunOptions, start_ms: u64) -> Result<Control, String> {
    let clock = Arc::new(ManualClock::new(start_ms));
    let (ctl, signals) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let time = Time::Manual(clock.clone());
    let thread = std::thread::Builder::new()
        .name("daemon".into())
        .spawn(move || {
            let ready = ready_tx.clone();
            let r = run_with(opts, time, Some(signals), move |addr, tx| {
                let _ = ready.send(Ok((addr, tx)));
            });
            if let Err(e) = &r {
                let _ = ready_tx.send(Err(e.clone()));
            }
            r
        })
        .map_err(|e| format!("cannot start the daemon thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok((addr, tx))) => Ok(Control { addr, tx, clock, ctl, thread: Some(thread) }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("the daemon thread ended before listening".into()),
    }
}
