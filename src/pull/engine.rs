//! One pull: plan what a run (or the newest observations) needs, skip what
//! the store already holds, fetch the rest concurrently, and ingest each
//! message through the normal ingest path, verified before it is stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use scheduler::{IngestReport, Ingestor, Scheduler};

use super::fetch::Bucket;
use super::idx::{self, MAX_IDX_BYTES};
use super::plan::{self, Message, Request};
use super::sources::{Source, SourceKind};

/// Largest whole object fetched (an MRMS `.gz` is ~1 MB, a GOES CONUS
/// NetCDF ~30 MB), and largest merged range request.
pub const MAX_WHOLE_OBJECT_BYTES: u64 = 256 << 20;
const MAX_REQUEST_BYTES: u64 = 64 << 20;

/// What to pull from one source.
#[derive(Debug, Clone)]
pub enum Want {
    /// A model run's forecast hours and fields.
    Run {
        run: RunSpec,
        forecasts: Vec<u32>,
        fields: Vec<String>,
    },
    /// The newest `count` objects (observations, satellites), of `bands`.
    Newest { count: usize, bands: Vec<u8> },
}

/// Which run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunSpec {
    Latest,
    At(DateTime<Utc>),
}

impl std::str::FromStr for RunSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "latest" {
            return Ok(RunSpec::Latest);
        }
        let t = NaiveDateTime::parse_from_str(&format!("{s}:00"), "%Y-%m-%dT%H:%M")
            .with_context(|| format!("--run {s:?}: use latest or YYYY-MM-DDTHH"))?;
        Ok(RunSpec::At(t.and_utc()))
    }
}

/// What a pull did.
#[derive(Debug, Default)]
pub struct Summary {
    /// The run pulled (models).
    pub run: Option<DateTime<Utc>>,
    pub messages_pulled: usize,
    pub messages_skipped: usize,
    pub objects_pulled: usize,
    pub bytes: u64,
    pub requests: usize,
    /// Errors, each naming its object.
    pub failures: Vec<String>,
    pub reports: Vec<IngestReport>,
}

/// Pulls from one source into one store.
pub struct Puller {
    pub bucket: Bucket,
    pub source: Source,
    pub ingestor: Ingestor,
    pub store: Arc<dyn ObjectStore>,
    pub concurrency: usize,
    /// When set, each file ingested is published and warmed by it (its
    /// ingestor must be `ingestor`).
    pub scheduler: Option<Arc<Scheduler>>,
    pub progress: bool,
}

/// A unit of fetching: a range request of a file, or a whole object.
enum Task {
    Range { key: String, req: Request },
    Whole { key: String, dest: String },
}

impl Puller {
    /// Where message `m` of source object `key` is stored: deterministic, so
    /// a message already pulled is recognised by its key.
    pub fn message_key(&self, key: &str, m: &Message) -> String {
        format!("{}/{key}.b{}-{}.grib2", self.bucket.name, m.start, m.end)
    }

    /// Pulls `want`; failures of single files are in the summary, a failure
    /// to find anything at all is an error.
    pub async fn pull(&self, want: &Want) -> Result<Summary> {
        let mut summary = Summary::default();
        let tasks = match want {
            Want::Run {
                run,
                forecasts,
                fields,
            } => {
                if self.source.kind != SourceKind::Model {
                    bail!(
                        "{} is not a model: use --count, not --run",
                        self.source.name
                    );
                }
                let run = match run {
                    RunSpec::At(t) => *t,
                    RunSpec::Latest => {
                        self.latest_run(forecasts.first().copied().unwrap_or(0))
                            .await?
                    }
                };
                summary.run = Some(run);
                self.plan_run(run, forecasts, fields, &mut summary).await
            }
            Want::Newest { count, bands } => {
                if self.source.kind == SourceKind::Model {
                    bail!("{} is a model: give --run", self.source.name);
                }
                self.plan_newest(*count, bands, &mut summary).await?
            }
        };
        self.execute(tasks, &mut summary).await;
        Ok(summary)
    }

    /// The newest run of today or yesterday (by the source's cycles, UTC)
    /// whose forecast hour `first` has its inventory.
    pub async fn latest_run(&self, first: u32) -> Result<DateTime<Utc>> {
        let today = Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .context("midnight")?
            .and_utc();
        for day in [today, today - ChronoDuration::days(1)] {
            let mut cycles = self.source.cycles.clone();
            cycles.sort_unstable_by(|a, b| b.cmp(a));
            for hour in cycles {
                let run = day + ChronoDuration::hours(hour.into());
                if run > Utc::now() {
                    continue;
                }
                let idx = self.idx_key(&self.source.model_key(run, first));
                if self.bucket.size(&idx).await?.is_some() {
                    return Ok(run);
                }
            }
        }
        bail!(
            "no run of {} found in s3://{} in the last two days",
            self.source.name,
            self.bucket.name
        )
    }

    fn idx_key(&self, key: &str) -> String {
        format!("{key}{}", self.source.idx_suffix)
    }

    async fn plan_run(
        &self,
        run: DateTime<Utc>,
        forecasts: &[u32],
        fields: &[String],
        summary: &mut Summary,
    ) -> Vec<Task> {
        let plans = futures::stream::iter(forecasts.iter().copied().map(|fh| {
            let key = self.source.model_key(run, fh);
            // Boxed as Send: the follow loop's task must be Send, which the
            // compiler cannot prove through an unboxed closure's future.
            let fut: futures::future::BoxFuture<'_, _> =
                Box::pin(async move { (key.clone(), self.plan_file(&key, fields).await) });
            fut
        }))
        .buffered(self.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
        let mut tasks = Vec::new();
        for (key, plan) in plans {
            match plan {
                Ok((todo, skipped)) => {
                    summary.messages_skipped += skipped;
                    tasks.extend(plan::merge(todo, MAX_REQUEST_BYTES).into_iter().map(|req| {
                        Task::Range {
                            key: key.clone(),
                            req,
                        }
                    }));
                }
                Err(e) => summary.failures.push(format!("{e:#}")),
            }
        }
        tasks
    }

    /// The wanted messages of one file not stored yet, and how many are.
    async fn plan_file(&self, key: &str, fields: &[String]) -> Result<(Vec<Message>, usize)> {
        let idx_key = self.idx_key(key);
        let size = self.bucket.size(&idx_key).await?.with_context(|| {
            format!(
                "s3://{}/{idx_key}: no inventory (.idx) for this file (not published yet, or the run/forecast hour does not exist)",
                self.bucket.name
            )
        })?;
        if size > MAX_IDX_BYTES {
            return Err(idx::IdxError::TooLarge { key: idx_key, size }.into());
        }
        let text = self.bucket.range(&idx_key, 0, size).await?;
        let text = std::str::from_utf8(&text)
            .with_context(|| format!("s3://{}/{idx_key}: not text", self.bucket.name))?;
        let entries = idx::parse(&format!("s3://{}/{idx_key}", self.bucket.name), text)?;
        // The object's size matters only when the last message is wanted.
        let last = entries.last().map(|e| e.offset);
        let wants_last = entries
            .iter()
            .any(|e| Some(e.offset) == last && fields.contains(&e.field()));
        let object_size = if wants_last {
            self.bucket.size(key).await?.with_context(|| {
                format!(
                    "s3://{}/{key}: inventory without its file",
                    self.bucket.name
                )
            })?
        } else {
            u64::MAX
        };
        let messages = plan::wanted_messages(
            &format!("s3://{}/{idx_key}", self.bucket.name),
            &entries,
            fields,
            object_size,
            protocol::limits::Limits::default().max_message_bytes,
        )?;
        let mut todo = Vec::new();
        let mut skipped = 0;
        for m in messages {
            if self.stored(&self.message_key(key, &m)).await? {
                skipped += 1;
            } else {
                todo.push(m);
            }
        }
        Ok((todo, skipped))
    }

    async fn stored(&self, dest: &str) -> Result<bool> {
        match self.store.head(&Path::from(dest)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e).with_context(|| format!("checking {dest} in the store")),
        }
    }

    async fn plan_newest(
        &self,
        count: usize,
        bands: &[u8],
        summary: &mut Summary,
    ) -> Result<Vec<Task>> {
        let bands = if bands.is_empty() {
            &self.source.bands[..]
        } else {
            bands
        };
        let now = Utc::now();
        let mut found: Vec<(DateTime<Utc>, String)> = Vec::new();
        // The prefix of each of the last 24 hours (hourly layouts) or the
        // last two days (daily ones), newest first, until enough are found.
        let mut prefixes: Vec<String> = (0..24)
            .map(|h| self.source.listing_prefix(now - ChronoDuration::hours(h)))
            .collect();
        prefixes.dedup();
        for prefix in prefixes {
            for (key, _) in self.bucket.list(&prefix).await? {
                if let Some(t) = self.source.observation_time(&key, bands) {
                    found.push((t, key));
                }
            }
            if found.len() >= count * bands.len().max(1) {
                break;
            }
        }
        if found.is_empty() {
            bail!(
                "no {} objects in s3://{} under {} in the last day",
                self.source.name,
                self.bucket.name,
                self.source.listing_prefix(now)
            );
        }
        found.sort();
        // The newest `count` of each band (satellites), or of all.
        let groups: Vec<Vec<u8>> = if self.source.kind == SourceKind::Satellite && !bands.is_empty()
        {
            bands.iter().map(|b| vec![*b]).collect()
        } else {
            vec![bands.to_vec()]
        };
        let mut chosen = Vec::new();
        for group in &groups {
            chosen.extend(
                found
                    .iter()
                    .rev()
                    .filter(|(_, key)| self.source.observation_time(key, group).is_some())
                    .take(count)
                    .map(|(_, key)| key.clone()),
            );
        }
        let mut tasks = Vec::new();
        for key in chosen {
            match self.whole_task(key).await? {
                Some(task) => tasks.push(task),
                None => summary.messages_skipped += 1,
            }
        }
        Ok(tasks)
    }

    /// Fetching object `key` whole, unless the store has it already.
    async fn whole_task(&self, key: String) -> Result<Option<Task>> {
        let dest = format!("{}/{key}", self.bucket.name);
        let stored_as = scheduler::ingest::strip_compression(&dest);
        Ok((!self.stored(stored_as).await?).then_some(Task::Whole { key, dest }))
    }

    /// Pulls the one object a notification names: a model file (or its
    /// inventory), for the wanted fields, or an observation.
    pub async fn pull_object(&self, key: &str, want: &Want) -> Result<Summary> {
        let mut summary = Summary::default();
        let tasks = match want {
            Want::Run { fields, .. } => {
                let file = key.strip_suffix(&self.source.idx_suffix).unwrap_or(key);
                let (todo, skipped) = self.plan_file(file, fields).await?;
                summary.messages_skipped = skipped;
                plan::merge(todo, MAX_REQUEST_BYTES)
                    .into_iter()
                    .map(|req| Task::Range {
                        key: file.to_owned(),
                        req,
                    })
                    .collect()
            }
            Want::Newest { bands, .. } => {
                let bands = if bands.is_empty() {
                    &self.source.bands[..]
                } else {
                    bands
                };
                if self.source.observation_time(key, bands).is_none() {
                    bail!(
                        "s3://{}/{key}: not an object {} follows (name, product or band)",
                        self.bucket.name,
                        self.source.name
                    );
                }
                match self.whole_task(key.to_owned()).await? {
                    Some(task) => vec![task],
                    None => {
                        summary.messages_skipped = 1;
                        Vec::new()
                    }
                }
            }
        };
        self.execute(tasks, &mut summary).await;
        Ok(summary)
    }

    async fn execute(&self, tasks: Vec<Task>, summary: &mut Summary) {
        let total: u64 = tasks
            .iter()
            .map(|t| match t {
                Task::Range { req, .. } => req.end - req.start,
                Task::Whole { .. } => 0,
            })
            .sum();
        let bar = super::progress_bar(self.progress, total);
        let bytes = AtomicU64::new(0);
        let results = futures::stream::iter(tasks.into_iter().map(|task| {
            let (bar, bytes) = (&bar, &bytes);
            let fut: futures::future::BoxFuture<'_, _> = Box::pin(async move {
                let r = self.run_task(task, bytes).await;
                bar.set_position(bytes.load(Ordering::Relaxed));
                r
            });
            fut
        }))
        .buffer_unordered(self.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
        bar.finish_and_clear();
        summary.bytes = bytes.into_inner();
        for r in results {
            summary.requests += 1;
            match r {
                Ok((messages, reports)) => {
                    summary.messages_pulled += messages;
                    summary.objects_pulled += reports.len();
                    summary.reports.extend(reports);
                }
                Err(e) => summary.failures.push(format!("{e:#}")),
            }
        }
    }

    async fn run_task(&self, task: Task, bytes: &AtomicU64) -> Result<(usize, Vec<IngestReport>)> {
        match task {
            Task::Range { key, req } => {
                let body = self.bucket.range(&key, req.start, req.end).await?;
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                let mut reports = Vec::new();
                for m in &req.messages {
                    let (a, b) = ((m.start - req.start) as usize, (m.end - req.start) as usize);
                    let dest = self.message_key(&key, m);
                    reports.push(self.ingest(&dest, body.slice(a..b)).await.with_context(
                        || {
                            format!(
                                "s3://{}/{key} bytes {}-{}",
                                self.bucket.name,
                                m.start,
                                m.end - 1
                            )
                        },
                    )?);
                }
                Ok((req.messages.len(), reports))
            }
            Task::Whole { key, dest } => {
                let body = self.bucket.whole(&key, MAX_WHOLE_OBJECT_BYTES).await?;
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                let report = if self.source.kind == SourceKind::Satellite {
                    // NetCDF: stored as is; ingest reads it once a NetCDF
                    // reader is built in.
                    self.store
                        .put(&Path::from(dest.as_str()), body.into())
                        .await
                        .with_context(|| format!("storing {dest}"))?;
                    match self.ingestor.ingest_object(&dest).await {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(object = %dest, error = %e, "stored, not ingested");
                            IngestReport {
                                object_key: dest,
                                ..Default::default()
                            }
                        }
                    }
                } else {
                    self.ingest(&dest, body).await?
                };
                Ok((1, vec![report]))
            }
        }
    }

    /// Verifies and stores one object through the ingest path (which
    /// indexes it before it is stored: nothing undecodable is served).
    async fn ingest(&self, dest: &str, body: bytes::Bytes) -> Result<IngestReport> {
        let report = self.ingestor.ingest_bytes(dest, body).await?;
        if report.fields_added == 0 {
            tracing::warn!(object = %dest, rejected = ?report.rejected, "pulled, but no usable field");
        }
        if let Some(scheduler) = &self.scheduler {
            scheduler.ingested(report.clone()).await;
        }
        Ok(report)
    }
}
