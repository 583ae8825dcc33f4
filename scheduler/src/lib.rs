//! The scheduler: ingest (index files into the catalog) and the naming of
//! layers; sample data for the demo.

pub mod ingest;
pub mod naming;

pub use ingest::{IngestError, IngestReport, Ingestor};
