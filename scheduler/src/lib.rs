//! The scheduler: ingest (scan files into the catalog) and sample data.

pub mod demo;
