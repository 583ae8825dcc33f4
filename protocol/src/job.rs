//! Render jobs: what a worker needs to draw one tile, self-contained so a
//! worker never consults the catalog.

use serde::{Deserialize, Serialize};

use crate::{FieldRef, StyleSpec, TileKey};

/// Wire-format version of [`RenderJob`]; bumped on incompatible changes.
pub const JOB_VERSION: u16 = 1;

/// Scheduling class. Workers always drain `Interactive` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    /// A user is waiting.
    Interactive,
    /// Neighbours and next frames of what users look at.
    Prefetch,
    /// Low zooms of newly ingested data.
    Warm,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Self::Interactive, Self::Prefetch, Self::Warm];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interactive => "interactive",
            Self::Prefetch => "prefetch",
            Self::Warm => "warm",
        }
    }
}

/// One tile to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderJob {
    pub version: u16,
    pub key: TileKey,
    /// The fields to draw (one for scalar styles).
    pub sources: Vec<FieldRef>,
    pub style: StyleSpec,
    pub priority: Priority,
}

impl RenderJob {
    pub fn new(key: TileKey, sources: Vec<FieldRef>, style: StyleSpec, priority: Priority) -> Self {
        Self {
            version: JOB_VERSION,
            key,
            sources,
            style,
            priority,
        }
    }
}

/// Why a render did not produce a tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RenderError {
    /// The source data could not be fetched or decoded.
    #[error("source data unusable: {0}")]
    Data(String),
    /// The request cannot be drawn (e.g. a style the data does not allow).
    #[error("cannot render: {0}")]
    Invalid(String),
    /// The queue is full or the render farm is unreachable; retry later.
    #[error("render capacity exhausted: {0}")]
    Overloaded(String),
    /// No result arrived within the deadline.
    #[error("render timed out after {0} ms")]
    Timeout(u64),
    /// Unexpected failure inside the renderer.
    #[error("internal render failure: {0}")]
    Internal(String),
}
