//! The safety rails of work done ahead of users (prefetch and warming):
//! a rate budget in jobs per second, and a pause while users' own renders
//! are slow. Users never wait behind a guess: when interactive renders take
//! longer than the pause threshold, nothing new is queued ahead until they
//! are fast again, and nothing is queued ahead while users' own jobs wait
//! in the queue.
//!
//! One budget is shared by everything that queues ahead in a process (the
//! gateway's prefetch and, in `serve`, the scheduler's warming). Callers
//! count and log each [`Admission`]; this type only decides.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota};

/// What to do with one job planned ahead of demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Queue it.
    Queue,
    /// The jobs-per-second budget is spent for now.
    OverBudget,
    /// Users' renders are slow: queue nothing ahead.
    Paused,
    /// Users' own jobs are waiting in the queue: work ahead would only
    /// take render slots from them.
    UsersWaiting,
}

impl Admission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queue => "queued",
            Self::OverBudget => "over_budget",
            Self::Paused => "paused",
            Self::UsersWaiting => "users_waiting",
        }
    }
}

/// The budget's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarmBudgetConfig {
    /// Jobs queued ahead per second, at most (`None`: unlimited).
    pub jobs_per_sec: Option<NonZeroU32>,
    /// Pause while interactive renders (their average over the last few)
    /// take longer than this (`None`: never pause).
    pub pause_after: Option<Duration>,
    /// How long an interactive latency stays evidence: with no interactive
    /// render for this long, there is no queue to protect. Longer where
    /// latencies arrive in batches (the farm's scheduler hears gateways
    /// every few seconds).
    pub pressure_memory: Duration,
}

impl Default for WarmBudgetConfig {
    fn default() -> Self {
        Self {
            jobs_per_sec: NonZeroU32::new(2_000),
            pause_after: Some(Duration::from_millis(250)),
            pressure_memory: Duration::from_secs(2),
        }
    }
}
/// Weight of the newest interactive latency in the moving average.
const EWMA_WEIGHT: f64 = 0.2;

/// The shared rails; see the module docs.
pub struct WarmBudget {
    config: WarmBudgetConfig,
    limiter: Option<DefaultDirectRateLimiter>,
    /// Moving average of interactive render latency (seconds), and when
    /// the last one was seen.
    pressure: Mutex<Option<(f64, Instant)>>,
}

impl WarmBudget {
    pub fn new(config: WarmBudgetConfig) -> Self {
        let limiter = config
            .jobs_per_sec
            .map(|n| DefaultDirectRateLimiter::direct(Quota::per_second(n)));
        Self {
            config,
            limiter,
            pressure: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &WarmBudgetConfig {
        &self.config
    }

    /// Records how long one interactive render (queue wait included) took.
    pub fn observe_interactive(&self, took: Duration) {
        let mut p = self.lock();
        let now = Instant::now();
        let secs = took.as_secs_f64();
        *p = Some(match *p {
            Some((avg, seen)) if now.duration_since(seen) < self.config.pressure_memory => {
                (avg + EWMA_WEIGHT * (secs - avg), now)
            }
            _ => (secs, now),
        });
    }

    /// The recent average interactive render latency, if any was seen lately.
    pub fn interactive_latency(&self) -> Option<Duration> {
        let p = self.lock();
        p.filter(|(_, seen)| seen.elapsed() < self.config.pressure_memory)
            .map(|(avg, _)| Duration::from_secs_f64(avg))
    }

    /// Whether users' renders are slow enough to hold work back.
    pub fn paused(&self) -> bool {
        match (self.config.pause_after, self.interactive_latency()) {
            (Some(limit), Some(latency)) => latency > limit,
            _ => false,
        }
    }

    /// Decides about one job planned ahead; a [`Admission::Queue`] spends
    /// one job of the budget.
    pub fn admit(&self) -> Admission {
        if self.paused() {
            return Admission::Paused;
        }
        match &self.limiter {
            Some(l) if l.check().is_err() => Admission::OverBudget,
            _ => Admission::Queue,
        }
    }

    /// [`Self::admit`], after checking that no interactive job waits in
    /// `queue` (where the queue can tell): work ahead uses idle capacity
    /// only.
    pub fn admit_behind(&self, queue: &dyn crate::RenderQueue) -> Admission {
        if queue
            .depths()
            .is_some_and(|[interactive, _, _]| interactive > 0)
        {
            return Admission::UsersWaiting;
        }
        self.admit()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(f64, Instant)>> {
        self.pressure.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for WarmBudget {
    fn default() -> Self {
        Self::new(WarmBudgetConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_admits_its_rate_then_refuses() {
        let budget = WarmBudget::new(WarmBudgetConfig {
            jobs_per_sec: NonZeroU32::new(10),
            pause_after: None,
            ..Default::default()
        });
        let admitted = (0..100)
            .filter(|_| budget.admit() == Admission::Queue)
            .count();
        // A burst of one second's budget, not more.
        assert_eq!(admitted, 10);
        assert_eq!(budget.admit(), Admission::OverBudget);
        let unlimited = WarmBudget::new(WarmBudgetConfig {
            jobs_per_sec: None,
            pause_after: None,
            ..Default::default()
        });
        assert!((0..10_000).all(|_| unlimited.admit() == Admission::Queue));
    }

    #[test]
    fn slow_interactive_renders_pause_it_and_fast_ones_resume_it() {
        let budget = WarmBudget::new(WarmBudgetConfig {
            jobs_per_sec: None,
            pause_after: Some(Duration::from_millis(100)),
            ..Default::default()
        });
        assert_eq!(budget.admit(), Admission::Queue);
        budget.observe_interactive(Duration::from_millis(400));
        assert_eq!(budget.admit(), Admission::Paused);
        // One fast render does not undo a slow queue at once ...
        budget.observe_interactive(Duration::from_millis(5));
        assert!(budget.paused());
        // ... a run of them does.
        for _ in 0..20 {
            budget.observe_interactive(Duration::from_millis(5));
        }
        assert_eq!(budget.admit(), Admission::Queue);
        let latency = budget.interactive_latency().expect("seen lately");
        assert!(latency < Duration::from_millis(20), "{latency:?}");
    }

    #[test]
    fn without_a_pause_threshold_it_never_pauses() {
        let budget = WarmBudget::new(WarmBudgetConfig {
            jobs_per_sec: None,
            pause_after: None,
            ..Default::default()
        });
        budget.observe_interactive(Duration::from_secs(30));
        assert_eq!(budget.admit(), Admission::Queue);
    }
}
