//! The scheduler: ingest (index files into the catalog), the naming of
//! layers, and the sample data for the demo.

pub mod demo;
pub mod ingest;
pub mod naming;

pub use ingest::{IngestError, IngestReport, Ingestor};
