//! What happens when data arrives: [`Ingestor`] indexes files into the
//! catalog (layer names from [`naming`]), and [`Scheduler`] runs ingest,
//! catalog publication and warming as one loop, the same in `wxfarm serve`
//! and in the farm's scheduler role. Warming is paced by the shared
//! [`protocol::warm_budget::WarmBudget`] and the hot set sized by
//! [`hot_set`].

pub mod hot_set;
pub mod ingest;
pub mod naming;
pub mod satellite;
mod scheduler;
mod warm_feed;

pub use ingest::{IngestError, IngestReport, Ingestor, ScanState};
pub use scheduler::{CatalogPublisher, Scheduler, WarmOptions};
