//! `wxfarm-loadgen`: a load generator for WMTS/XYZ tile servers.
//!
//! Scenarios (YAML) describe *what* to request (URL template, layers with
//! weights and dimension values, a seeded tile selection strategy) and *how*
//! (closed loop with N workers or open loop at a fixed rate with
//! coordinated-omission-correct latency). Results are HDR histograms split by
//! status, error kind and `X-Cache` tier, reported as a table, JSON or CSV.
//!
//! The crate is a library with a thin binary so that runs can also be driven
//! from tests and other tools: [`scenario::Scenario`] → [`runner::run`] →
//! [`report::RunReport`].

#![warn(missing_docs)]

pub mod cli;
pub mod generator;
pub mod progress;
pub mod report;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod stats;
pub mod strategy;
pub mod template;
pub mod tile;
