//! What happens when data arrives: [`Ingestor`] indexes files into the
//! catalog (layer names from [`naming`]), and [`Scheduler`] runs ingest,
//! catalog publication and warming as one loop, the same in `wxfarm serve`
//! and in the farm's scheduler role.

pub mod ingest;
pub mod naming;
mod scheduler;

pub use ingest::{IngestError, IngestReport, Ingestor, ScanState};
pub use scheduler::{CatalogPublisher, Scheduler, WarmOptions};
