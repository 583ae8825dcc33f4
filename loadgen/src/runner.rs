//! Executes a scenario: closed loop (N workers back to back) or open loop
//! (fixed schedule, latency measured from the scheduled send time).
//!
//! Both loops share one shape: `W` worker tasks repeatedly claim a *ticket*
//! (URL + scheduled time + whether it is measured) from a shared dispatcher.
//! Claiming under one lock keeps the URL sequence identical to the seeded
//! generator's order. In the open loop the scheduled time is fixed up front
//! (`start + i / rate`); a worker that is late — because the server stalled
//! and every worker was busy — still records latency from that scheduled
//! time, which is what corrects coordinated omission. (A worker that is early
//! sleeps and then measures from its actual send, so timer wake-up jitter is
//! not charged to the server.)

use crate::generator::RequestGenerator;
use crate::progress::LiveCounters;
use crate::scenario::{LoadModel, Scenario, StopCondition};
use crate::stats::{CacheTier, ErrorKind, Recorder, Sample};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// Result of one run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Measured-phase data.
    pub recorder: Recorder,
    /// Measured wall time (start of measurement → last measured completion).
    pub elapsed: Duration,
    /// Requests sent during warm-up (not in `recorder`).
    pub warmup_requests: u64,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Whether the run was interrupted via [`RunControl::stop`].
    pub interrupted: bool,
}

/// Handles to observe and stop a running scenario.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    /// Set once a stop was requested (see [`RunControl::request_stop`]).
    pub stop: Arc<AtomicBool>,
    /// Wakes open-loop workers sleeping until a scheduled send time.
    wake: Arc<tokio::sync::Notify>,
    /// Live counters for progress display.
    pub counters: Arc<LiveCounters>,
}

impl RunControl {
    /// Stops issuing new requests; in-flight ones still complete.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

struct Ticket {
    url: String,
    scheduled: Instant,
    measured: bool,
}

struct Dispatcher {
    generator: RequestGenerator,
    index: u64,
    measured_issued: u64,
}

struct Shared {
    dispatcher: Mutex<Dispatcher>,
    results: Mutex<(Recorder, Option<Instant>)>,
    control: RunControl,
    load: LoadModel,
    stop_at: StopCondition,
    start: Instant,
    measure_start: Instant,
}

impl Shared {
    fn claim(&self) -> Option<Ticket> {
        if self.control.stopped() {
            return None;
        }
        let mut d = self
            .dispatcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let scheduled = match self.load {
            LoadModel::Closed { .. } => Instant::now(),
            LoadModel::Open { rate, .. } => {
                self.start + Duration::from_secs_f64(d.index as f64 / rate)
            }
        };
        let measured = scheduled >= self.measure_start;
        match self.stop_at {
            StopCondition::Duration(dur) if scheduled >= self.measure_start + dur => return None,
            StopCondition::Requests(n) if measured && d.measured_issued >= n => return None,
            _ => {}
        }
        if measured {
            d.measured_issued += 1;
        }
        d.index += 1;
        let url = d.generator.next_request().url;
        Some(Ticket {
            url,
            scheduled,
            measured,
        })
    }

    fn complete(&self, measured: bool, sample: &Sample, done: Instant) {
        let c = &self.control.counters;
        if sample.error.is_some() {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        if !measured {
            c.warmup.fetch_add(1, Ordering::Relaxed);
            return;
        }
        c.done.fetch_add(1, Ordering::Relaxed);
        let mut r = self.results.lock().unwrap_or_else(PoisonError::into_inner);
        r.0.record(sample);
        r.1 = Some(r.1.map_or(done, |t| t.max(done)));
    }
}

fn classify(e: &reqwest::Error) -> ErrorKind {
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_body() || e.is_decode() {
        ErrorKind::Body
    } else {
        ErrorKind::Other
    }
}

/// Sends one GET and drains the body; returns (status, tier, bytes, error).
async fn fetch(
    client: &reqwest::Client,
    url: &str,
) -> (Option<u16>, CacheTier, u64, Option<ErrorKind>) {
    let mut resp = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => return (None, CacheTier::Unknown, 0, Some(classify(&e))),
    };
    let status = resp.status().as_u16();
    let tier = CacheTier::from_header(resp.headers().get("x-cache").and_then(|v| v.to_str().ok()));
    let mut bytes = 0u64;
    // Stream the body chunk by chunk: only its size matters, no need to buffer it.
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => bytes += c.len() as u64,
            Ok(None) => break,
            Err(e) => {
                let kind = if e.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Body
                };
                return (Some(status), tier, bytes, Some(kind));
            }
        }
    }
    let error = (status >= 400).then_some(ErrorKind::HttpStatus);
    (Some(status), tier, bytes, error)
}

async fn worker(shared: Arc<Shared>, client: reqwest::Client) {
    while let Some(t) = shared.claim() {
        // Latency origin. Open loop: the scheduled time when this worker is
        // already late for it (every worker was busy, e.g. during a server
        // stall) — that queueing is what users feel. When the worker is early
        // it sleeps, and the timer's own wake-up jitter (~1 ms in tokio) is
        // the generator's fault, not the server's: count from the actual send.
        let mut origin = t.scheduled;
        if matches!(shared.load, LoadModel::Open { .. }) && Instant::now() < t.scheduled {
            // At low rates with many workers a ticket can lie minutes ahead:
            // a stop request must not wait for it.
            let woken = shared.control.wake.notified();
            // `woken` is registered from creation on; a stop that raced the claim is caught here.
            if shared.control.stopped() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(t.scheduled.into()) => {}
                _ = woken => {}
            }
            if shared.control.stopped() {
                break;
            }
            origin = Instant::now();
        }
        let sent = Instant::now();
        let (status, tier, bytes, error) = fetch(&client, &t.url).await;
        let done = Instant::now();
        let sample = Sample {
            latency: done.saturating_duration_since(origin),
            service_time: done.saturating_duration_since(sent),
            status,
            tier,
            bytes,
            error,
        };
        shared.complete(t.measured, &sample, done);
    }
}

/// Builds the HTTP client used for a scenario.
pub fn build_client(scenario: &Scenario, workers: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("wxfarm-loadgen/", env!("CARGO_PKG_VERSION")))
        .timeout(scenario.timeout)
        .connect_timeout(scenario.timeout)
        .pool_max_idle_per_host(workers)
        .tcp_nodelay(true)
        .build()?)
}

/// Runs `scenario` to completion (or until `control.stop` is set).
pub async fn run(scenario: &Scenario, control: RunControl) -> anyhow::Result<RunOutput> {
    let workers = match scenario.load {
        LoadModel::Closed { concurrency } => concurrency,
        LoadModel::Open { max_in_flight, .. } => max_in_flight,
    };
    let client = build_client(scenario, workers)?;
    let started_at = SystemTime::now();
    let start = Instant::now();
    let shared = Arc::new(Shared {
        dispatcher: Mutex::new(Dispatcher {
            generator: RequestGenerator::new(scenario),
            index: 0,
            measured_issued: 0,
        }),
        results: Mutex::new((Recorder::new(), None)),
        control: control.clone(),
        load: scenario.load,
        stop_at: scenario.stop,
        start,
        measure_start: start + scenario.warmup,
    });
    let handles: Vec<_> = (0..workers)
        .map(|_| tokio::spawn(worker(shared.clone(), client.clone())))
        .collect();
    for h in handles {
        h.await?;
    }
    let (recorder, last) = {
        let mut r = shared
            .results
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (std::mem::take(&mut r.0), r.1)
    };
    let elapsed = last.map_or(Duration::ZERO, |t| {
        t.saturating_duration_since(shared.measure_start)
    });
    Ok(RunOutput {
        recorder,
        elapsed,
        warmup_requests: control.counters.warmup.load(Ordering::Relaxed),
        started_at,
        interrupted: control.stopped(),
    })
}
