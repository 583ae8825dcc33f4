//! The gateway: OGC and XYZ tile endpoints in front of the render queue.

pub mod ogc;
