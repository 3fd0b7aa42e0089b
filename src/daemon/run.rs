//! The daemon's run: the tailer thread and its loop (wake-ups, polls, rescans, checkpoints), the
//! async side (HTTP, signals, reloads) and the order of a stop. See `daemon` for the contract.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use notify::event::{EventKind, ModifyKind, RenameMode};
use notify::{RecursiveMode, Watcher};
use tokio::signal::unix::{SignalKind, signal};

use crate::batches::Batches;
use crate::config::Config;
use crate::evaluator::{Evaluator, restore_history};
use crate::http::{self, HttpState};
use crate::metrics::Metrics;
use crate::observe::{Observed, Shared};
use crate::pipeline::Pipeline;
use crate::read_once::ReadOnce;
use crate::tail::{Clock, ManualClock, SystemClock, Tailer};
use crate::view::Published;

use super::options::{Reload, RunOptions, effective_config, setup_for};
use super::push::push_alerts;

/// What a signal tells `authwatch run`, told in process instead (`Control`).
pub(super) enum Signal {
    Hangup,
    Terminate,
}

pub(super) enum Wake {
    /// `written`: the files a data write was reported for (a closed quiet file among them is read
    /// at once, not at the next rescan).
    Fs {
        rescan: bool,
        written: Vec<PathBuf>,
        /// Files renamed into place: a batch among them is complete (no settling).
        renamed: Vec<PathBuf>,
    },
    Reload(Box<Reload>),
    Shutdown,
    /// The test clock moved: deadlines are looked at again. The sender hears once the poll at the new
    /// time is done (files looked at, Events evaluated), so a test's next step sees what it did.
    Tick(std::sync::mpsc::SyncSender<()>),
}

/// Time and wake-ups, injected the way mtail's tests inject a test waker: `Real` is the wall clock
/// with real timers (`authwatch run`); `Manual` is a clock that moves only when a test advances it
/// (`Control::advance`), and timers (poll interval, rescans, checkpoints, replay's idle time, the
/// evaluation clock) fire only then. A test drives them instead of sitting through them.
#[derive(Clone)]
pub enum Time {
    Real,
    Manual(Arc<ManualClock>),
}

impl Time {
    fn clock(&self) -> Arc<dyn Clock> {
        match self {
            Time::Real => Arc::new(SystemClock),
            Time::Manual(c) => c.clone(),
        }
    }

    fn now_ms(&self) -> u64 {
        match self {
            Time::Real => SystemClock.now_ms(),
            Time::Manual(c) => c.now_ms(),
        }
    }

    /// The next wake-up, or `Timeout` once the clock reaches `deadline_ms`.
    fn recv_until(&self, rx: &Receiver<Wake>, deadline_ms: u64) -> Result<Wake, RecvTimeoutError> {
        match self {
            Time::Real => rx.recv_timeout(Duration::from_millis(deadline_ms.saturating_sub(self.now_ms()))),
            Time::Manual(c) if c.now_ms() >= deadline_ms => Err(RecvTimeoutError::Timeout),
            // Only a message (a file event, a reload, a tick of the test clock) wakes it.
            Time::Manual(_) => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        }
    }
}

/// Runs until SIGTERM or SIGINT. `on_listening` gets the bound address (the demo prints it).
pub fn run(opts: RunOptions, on_listening: impl FnOnce(SocketAddr)) -> Result<(), String> {
    run_with(opts, Time::Real, None, |addr, _| on_listening(addr))
}

/// The daemon on the time it is given. With `signals` (in process) it listens to no real signal:
/// what it is told there stands for them.
pub(super) fn run_with(
    opts: RunOptions,
    time: Time,
    signals: Option<tokio::sync::mpsc::UnboundedReceiver<Signal>>,
    on_listening: impl FnOnce(SocketAddr, std::sync::mpsc::Sender<Wake>),
) -> Result<(), String> {
    let clock = time.clock();
    let config = effective_config(&opts)?;
    if let Some(n) = config.limits.tail.max_files {
        tracing::warn!(
            max_files = n,
            max_open_files = config.limits.tail.open_files_bound(),
            "limits.max_files is deprecated: every matching file is followed; it is read as max_open_files (descriptors held at once)"
        );
    }
    let setup = setup_for(&config)?;
    let web = match &config.http.web_config_file {
        Some(path) => crate::web::WebWatch::load(path).map_err(|e| e.to_string())?,
        None => crate::web::WebWatch::none(),
    };
    std::fs::create_dir_all(&config.state_dir)
        .map_err(|e| format!("cannot create state directory {}: {e}", config.state_dir.display()))?;
    // Held until this function returns; a second daemon on the directory stops here.
    let _state_lock = crate::statelock::acquire(&config.state_dir).map_err(|e| e.to_string())?;
    let metrics = Arc::new(
        Metrics::with_labels(
            setup.classifier.catalogue(),
            &config.source_names(),
            &config.labels,
            config.limits.labels,
        )
        .map_err(|e| e.to_string())?,
    );
    metrics.add_alert_series(&config.alerts);
    let observed: Shared = Arc::new(std::sync::Mutex::new(
        Observed::new(
            setup.classifier.catalogue(),
            config.limits.window.retention_minutes as usize,
            &config.alerts,
            config.alerting.clock,
        )
        .map_err(|e| e.to_string())?,
    ));
    restore_history(&config, &observed, &metrics, clock.as_ref());
    // Late lines of restored windows were counted in the last run's metric already.
    let late_restored = observed.lock().map_or(0, |o| o.windows.late());
    let view = Published::default();
    let alert_changed = Arc::new(tokio::sync::Notify::new());
    let ready = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel::<Wake>();
    let fs_tx = tx.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Data written to a followed file needs a read only; anything else may be a new or renamed file.
        let rescan =
            !matches!(&event, Ok(e) if matches!(e.kind, EventKind::Modify(ModifyKind::Data(_)) | EventKind::Access(_)));
        let (written, renamed) = match event {
            Ok(e) if matches!(e.kind, EventKind::Modify(ModifyKind::Data(_))) => (e.paths, Vec::new()),
            Ok(e) if matches!(e.kind, EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))) => {
                (Vec::new(), e.paths.last().cloned().into_iter().collect())
            }
            _ => (Vec::new(), Vec::new()),
        };
        let _ = fs_tx.send(Wake::Fs { rescan, written, renamed });
    })
    .map_err(|e| {
        // fs.inotify.max_user_instances reached, or no inotify: the poll interval's rescan covers it.
        tracing::warn!(error = %e, poll_interval_ms = config.limits.tail.poll_interval_ms, "cannot start inotify; falling back to polling");
    })
    .ok();
    let (tailer, warning) = Tailer::new(setup.setup.clone(), &config.state_dir, clock.clone());
    if let Some(w) = warning {
        metrics.checkpoint_load_failures_total.inc();
        tracing::error!("{}", w.0);
    }
    let (once, warning) = ReadOnce::new(&config.state_dir, &config.sources, config.limits.tail.max_line_bytes as usize);
    if let Some(w) = warning {
        metrics.checkpoint_load_failures_total.inc();
        tracing::error!("{w}");
    }
    let (batches, warning) = Batches::new(
        &config.state_dir,
        &crate::config::batch_sources(&config.sources),
        config.limits.tail.max_line_bytes as usize,
    );
    if let Some(w) = warning {
        metrics.checkpoint_load_failures_total.inc();
        tracing::error!("{w}");
    }
    if let Ok(mut o) = observed.lock() {
        o.set_intervals(crate::config::batch_intervals(&config.sources));
    }
    let pipeline = Pipeline::new(
        setup.classifier.clone(),
        setup.stage.clone(),
        &config.sources,
        metrics.clone(),
        Some(observed.clone()),
    );
    let limits = config.limits.tail.clone();
    let tailer_ready = ready.clone();
    let checkpoints_ok = Arc::new(AtomicBool::new(true));
    let eval = Evaluator {
        observed: observed.clone(),
        metrics: metrics.clone(),
        changed: alert_changed.clone(),
        checkpoints_ok: checkpoints_ok.clone(),
        state_dir: config.state_dir.clone(),
        history: std::cell::RefCell::new(crate::history::Saver::default()),
        clock: clock.clone(),
        view: view.clone(),
        late_reported: std::cell::Cell::new(late_restored),
        open_minute: std::cell::Cell::new(None),
    };
    let tailer_thread = std::thread::Builder::new()
        .name("tailer".into())
        .spawn(move || {
            tailer_loop(tailer, (once, batches), pipeline, rx, watcher, &limits, &tailer_ready, &eval, &time)
        })
        .map_err(|e| format!("cannot start the tailer thread: {e}"))?;

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let scheme = if web.tls() { "https" } else { "http" };
        tracing::info!(addr = %addr, scheme, sources = config.sources.len(), state_dir = %config.state_dir.display(), "listening");
        on_listening(addr, tx.clone());
        let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
        let state = Arc::new(HttpState {
            metrics: metrics.clone(),
            ready,
            checkpoints_ok,
            view: view.clone(),
            web,
            limits: config.http.clone(),
            quota_per_minute: config.alerting.quota_per_minute,
        });
        let server = tokio::spawn(http::serve(listener, state, http_stopped.clone()));
        let pusher = config.alertmanager.clone().map(|am| {
            let generator = format!("{scheme}://{addr}/");
            tokio::spawn(push_alerts(am, observed.clone(), metrics.clone(), alert_changed.clone(), http_stopped.clone(), generator, clock.clone()))
        });
        let mut current = config;
        signals_loop(signals, &opts, &mut current, &metrics, &observed, &tx).await?;
        // Stop reading and write the final checkpoint, then stop HTTP.
        let _ = tx.send(Wake::Shutdown);
        let joined = tokio::task::spawn_blocking(move || tailer_thread.join()).await;
        // A last push, so Alertmanager hears of resolutions that happened during shutdown.
        alert_changed.notify_one();
        let _ = stop_http.send(true);
        let _ = server.await;
        if let Some(p) = pusher {
            let _ = p.await;
        }
        match joined {
            Ok(Ok(())) => Ok(()),
            _ => Err("the tailer thread failed".to_string()),
        }
    })
}

/// Until SIGTERM or SIGINT; SIGHUP reloads (a bad configuration is refused, the one in effect kept).
/// In process, `told` stands for the signals.
async fn signals_loop(
    told: Option<tokio::sync::mpsc::UnboundedReceiver<Signal>>,
    opts: &RunOptions,
    current: &mut Config,
    metrics: &Metrics,
    observed: &Shared,
    tx: &std::sync::mpsc::Sender<Wake>,
) -> Result<(), String> {
    let hangup = |current: &mut Config| match reload(opts, current, metrics, observed) {
        Ok((config, setup)) => {
            *current = config;
            let _ = tx.send(Wake::Reload(Box::new(setup)));
        }
        Err(e) => tracing::error!(error = %e, "reload refused; keeping the configuration in effect"),
    };
    if let Some(mut told) = told {
        while let Some(Signal::Hangup) = told.recv().await {
            hangup(current);
        }
        return Ok(());
    }
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); return Ok(()) }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); return Ok(()) }
            _ = hup.recv() => hangup(current),
        }
    }
}

fn reload(
    opts: &RunOptions,
    current: &Config,
    metrics: &Metrics,
    observed: &Shared,
) -> Result<(Config, Reload), String> {
    let attempt = effective_config(opts).and_then(|c| setup_for(&c).map(|s| (c, s))).and_then(|(c, s)| {
        let mut o = observed.lock().map_err(|_| "state lock poisoned".to_string())?;
        o.reload(s.classifier.catalogue(), &c.alerts, c.alerting.clock).map_err(|e| e.to_string())?;
        o.replay_idle_ms = c.alerting.replay_idle_secs as i64 * 1000;
        o.set_intervals(crate::config::batch_intervals(&c.sources));
        metrics.add_alert_series(&c.alerts);
        Ok((c, s))
    });
    match attempt {
        Ok((config, setup)) => {
            if config.listen != current.listen || config.state_dir != current.state_dir || config.http != current.http {
                // The web config file's content is re-read on change; which file, and the [http] bounds, are not.
                tracing::warn!("listen, state_dir and [http] changes take effect at the next restart");
            }
            metrics.set_caps(config.limits.labels);
            metrics.add_series(setup.classifier.catalogue(), &config.source_names());
            metrics.config_reloads_total.with_label_values(&["success"]).inc();
            metrics.config_last_reload_successful.set(1);
            tracing::info!(
                sources = config.sources.len(),
                patterns = setup.classifier.catalogue().patterns().len(),
                "configuration reloaded"
            );
            Ok((config, setup))
        }
        Err(e) => {
            metrics.config_reloads_total.with_label_values(&["failure"]).inc();
            metrics.config_last_reload_successful.set(0);
            Err(e)
        }
    }
}

/// Directory watches (never one per file). When `fs.inotify.max_user_watches` is exhausted this says
/// so once (`warned`) and the poll interval's rescan covers those directories.
fn watch_all(tailer: &Tailer, batches: &Batches, watcher: Option<&mut impl Watcher>, warned: &mut bool) {
    let Some(watcher) = watcher else { return };
    let trees = batches.watch_dirs().into_iter().map(|d| (d, true));
    for (dir, recursive) in tailer.watch_dirs().into_iter().chain(trees) {
        let mode = if recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
        match watcher.watch(Path::new(&dir), mode) {
            Ok(()) => {}
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                if !std::mem::replace(warned, true) {
                    tracing::warn!(dir = %dir.display(), "inotify watch limit reached (fs.inotify.max_user_watches); these directories are polled every poll_interval_ms instead");
                }
            }
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "cannot watch directory yet; polling covers it")
            }
        }
    }
}

/// The longest rescans are spaced, whatever one cost, ms.
const MAX_RESCAN_GAP_MS: u64 = 10_000;

/// One poll: whether a file had more to read than the poll's rounds took (poll again at once), and
/// how long the rescan's discovery took.
fn poll(
    tailer: &mut Tailer,
    (once, batches): &mut (ReadOnce, Batches),
    pipeline: &mut Pipeline,
    rescan: bool,
    now_ms: u64,
) -> (bool, Duration) {
    let classifier = pipeline.classifier();
    let find = |h: &[u8], from: usize| classifier.next_candidate(h, from);
    pipeline.set_now(now_ms as i64);
    let stats = tailer.poll(rescan, &find, pipeline);
    if rescan {
        // Gzip files named explicitly: read once, when first found (or at start).
        once.poll(now_ms, &find, pipeline);
        // Batches that settled or were renamed into place: read once each.
        batches.poll(now_ms, &find, pipeline);
    }
    (stats.backlog, stats.scan_time)
}

#[allow(clippy::too_many_arguments)]
fn tailer_loop(
    mut tailer: Tailer,
    mut once: (ReadOnce, Batches),
    mut pipeline: Pipeline,
    rx: Receiver<Wake>,
    mut watcher: Option<impl Watcher>,
    limits: &crate::tail::Limits,
    ready: &AtomicBool,
    eval: &Evaluator,
    time: &Time,
) {
    // Every deadline is on the injected clock (`Time`): real time in `authwatch run`, a test's own
    // clock in process, where nothing here fires until the test moves it.
    let manual = matches!(time, Time::Manual(_));
    let poll_every = limits.poll_interval_ms;
    let mut checkpoint_every = limits.checkpoint_interval_ms;
    let mut watch_warned = false;
    watch_all(&tailer, &once.1, watcher.as_mut(), &mut watch_warned);
    let (mut backlog, _) = poll(&mut tailer, &mut once, &mut pipeline, true, time.now_ms());
    eval.run(&mut tailer, &mut once.0, &mut pipeline, &mut once.1);
    save_batches(&mut once.1);
    eval.save(&mut tailer);
    ready.store(true, Ordering::Release);
    tracing::info!(files = tailer.files().len(), "initial scan done");
    let (mut last_rescan, mut last_checkpoint) = (time.now_ms(), time.now_ms());
    // A rescan stats every matching file (0.3 s for 100,000 here): rescans are kept ten times their
    // own duration apart, so they take at most a tenth of the thread whatever the directory holds.
    // Growth of a quiet file does not wait for them: inotify names the file written. The cost is
    // discovery's alone (not the reading that follows it), and the gap is capped so one rescan that
    // met a burst of new files does not hold the next one back for long. On a test's clock discovery
    // takes no time.
    let (mut rescan_cost, mut rescan_wanted) = (0u64, false);
    loop {
        let gap = rescan_cost.saturating_mul(10).min(MAX_RESCAN_GAP_MS.max(poll_every));
        let periodic = last_rescan + poll_every.max(gap);
        let next_rescan = if rescan_wanted { last_rescan + gap } else { periodic };
        // A file with more to read than one poll takes: read on at once (after the wake-ups waiting).
        let due = if backlog { time.now_ms() } else { next_rescan.min(last_checkpoint + checkpoint_every) };
        let mut stop = false;
        // Test clock moves handled in this turn: told once its poll is done.
        let mut ticks: Vec<std::sync::mpsc::SyncSender<()>> = Vec::new();
        let mut handle = |w: Wake, tailer: &mut Tailer, once: &mut (ReadOnce, Batches), pipeline: &mut Pipeline| match w
        {
            Wake::Fs { rescan: r, written, renamed } => {
                rescan_wanted |= r;
                tailer.touched(written);
                once.1.renamed(renamed);
            }
            Wake::Shutdown => stop = true,
            Wake::Tick(done) => ticks.push(done),
            Wake::Reload(r) => {
                checkpoint_every = checkpoint_every.min(r.setup.limits.checkpoint_interval_ms);
                pipeline.reload(r.classifier, r.stage, &r.setup.sources);
                once.0.reload(&r.setup.sources, r.setup.limits.max_line_bytes as usize);
                once.1.reload(&crate::config::batch_sources(&r.setup.sources), r.setup.limits.max_line_bytes as usize);
                tailer.reload(r.setup);
                rescan_wanted = true;
            }
        };
        let disconnected = match time.recv_until(&rx, due) {
            Ok(w) => {
                handle(w, &mut tailer, &mut once, &mut pipeline);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        // Coalesce a burst of inotify events into one read.
        while let Ok(w) = rx.try_recv() {
            handle(w, &mut tailer, &mut once, &mut pipeline);
        }
        if stop || disconnected {
            break;
        }
        let now = time.now_ms();
        let since_rescan = now.saturating_sub(last_rescan);
        if since_rescan >= poll_every.max(gap) {
            rescan_wanted = true;
        }
        let rescan = rescan_wanted && since_rescan >= gap;
        if rescan {
            rescan_wanted = false;
            last_rescan = now;
            watch_all(&tailer, &once.1, watcher.as_mut(), &mut watch_warned);
        }
        let (more, scan_time) = poll(&mut tailer, &mut once, &mut pipeline, rescan, now);
        backlog = more;
        if rescan {
            rescan_cost = if manual { 0 } else { scan_time.as_millis() as u64 };
        }
        eval.run(&mut tailer, &mut once.0, &mut pipeline, &mut once.1);
        // Offsets may only cover counted lines: while Events wait for their call's time (at most
        // hold_ms), the checkpoint waits too.
        if now.saturating_sub(last_checkpoint) >= checkpoint_every && !pipeline.holding() {
            save_batches(&mut once.1);
            eval.save(&mut tailer);
            last_checkpoint = now;
        }
        for done in ticks {
            let _ = done.try_send(());
        }
    }
    // Drain what the files hold now, release what waits for a time, then the final checkpoint.
    let classifier = pipeline.classifier();
    let find = |h: &[u8], from: usize| classifier.next_candidate(h, from);
    pipeline.set_now(time.now_ms() as i64);
    let done = tailer.shutdown(&find, &mut pipeline);
    pipeline.flush();
    save_batches(&mut once.1);
    eval.run(&mut tailer, &mut once.0, &mut pipeline, &mut once.1);
    match eval.saved(done) {
        Ok(_) => {
            eval.save_history(tailer.checkpoint_path());
            tracing::info!("final checkpoint written; tailer stopped");
        }
        Err(e) => {
            tracing::error!(path = %tailer.checkpoint_path().display(), error = %e, "cannot write the final checkpoint");
        }
    }
}

/// The batches read, written down with the follower's checkpoint (never while Events wait: then
/// a batch written down could still have uncounted lines).
fn save_batches(batches: &mut Batches) {
    if let Err(e) = batches.save() {
        tracing::error!(error = %e, "cannot write the ledger of batches read; a restart reads the newest again");
    }
}
