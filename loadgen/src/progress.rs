//! Live progress: atomic counters fed by the runner, drawn by indicatif on a TTY.

use crate::scenario::StopCondition;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters updated by workers as requests complete.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Measured requests completed.
    pub done: AtomicU64,
    /// Failed requests (warm-up included).
    pub errors: AtomicU64,
    /// Warm-up requests completed.
    pub warmup: AtomicU64,
}

/// Whether a progress bar should be drawn (stderr is a terminal).
pub fn is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// A running progress bar; call [`ProgressHandle::finish`] to remove it.
pub struct ProgressHandle {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl ProgressHandle {
    /// Stops updating and clears the bar so the report prints cleanly.
    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

/// Draws a progress bar on stderr, updated four times a second.
pub fn spawn(counters: Arc<LiveCounters>, stop: StopCondition, warmup: Duration) -> ProgressHandle {
    let (len, template) = match stop {
        StopCondition::Requests(n) => (n, "{bar:40} {pos}/{len} req {msg}"),
        // Duration runs track elapsed milliseconds of the measured phase.
        StopCondition::Duration(d) => (
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            "{bar:40} {elapsed} {msg}",
        ),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let handle_bar = bar.clone();
    let task = tokio::spawn(async move {
        let start = Instant::now();
        let mut last = (start, 0u64);
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = Instant::now();
            let done = counters.done.load(Ordering::Relaxed);
            let errors = counters.errors.load(Ordering::Relaxed);
            let rps = (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-3);
            last = (now, done);
            let phase = if now.duration_since(start) < warmup {
                "warm-up · "
            } else {
                ""
            };
            bar.set_message(format!(
                "{phase}{done} done · {rps:.0} req/s · {errors} errors"
            ));
            match stop {
                StopCondition::Requests(_) => bar.set_position(done),
                StopCondition::Duration(_) => {
                    let ms = now.duration_since(start).saturating_sub(warmup).as_millis();
                    bar.set_position(u64::try_from(ms).unwrap_or(u64::MAX).min(len));
                }
            }
        }
    });
    ProgressHandle {
        bar: handle_bar,
        task,
    }
}
