//! wxfarm's distributed plumbing behind the seams of `protocol`:
//!
//! - [`jetstream_queue::JetStreamQueue`]: the gateway's [`protocol::RenderQueue`]
//!   over a NATS JetStream work-queue stream.
//! - [`job_loop::run_worker`]: the worker side, pulling jobs by priority and
//!   rendering them through a [`protocol::Renderer`].
//! - [`redis_store::RedisTileStore`]: the shared L2 [`protocol::TileStore`].
//! - [`catalog_kv`]: the catalog in a NATS KV bucket, written by the
//!   scheduler and watched by gateways.
//! - [`jobs_tool`]: what `wxfarm jobs` does (decode, list, get, replay).
//! - [`subjects`], [`topology`], [`wire`]: names, stream set-up, result format.
//!
//! # Result routing
//! A worker publishes each result on the core-NATS subject
//! [`subjects::result_subject`]`(key)`, derived from the tile key alone. A
//! gateway subscribes to that subject *before* publishing the job, so every
//! gateway waiting for a key receives the result even when JetStream dropped
//! its publish as a duplicate of another gateway's.

pub mod catalog_kv;
pub mod config;
pub mod demand;
pub mod error;
pub mod jetstream_queue;
pub mod job_loop;
pub mod jobs_tool;
pub mod point_query;
pub mod redis_store;
pub mod signing;
pub mod subjects;
pub mod topology;
pub mod trace_context;
pub mod wire;

pub use config::FarmConfig;
pub use error::FarmError;
pub use jetstream_queue::JetStreamQueue;
pub use job_loop::{WorkerOptions, WorkerStats, run_worker};
pub use redis_store::RedisTileStore;
pub use signing::SigningKey;
pub use wire::JobResult;
