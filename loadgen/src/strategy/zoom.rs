//! Zoom strategy: a user zooming in through children, then back out.

use super::{Pick, TileStrategy};
use crate::rng::Rng;
use crate::tile::{BBox, Tile, TileMatrixSet};

/// Descends from `min` to `max` zoom through random children, climbs back
/// through parents, then starts a new cycle. Consecutive picks are always
/// parent/child except when a new cycle starts at a new random point.
#[derive(Debug, Clone)]
pub struct ZoomPath {
    tms: TileMatrixSet,
    min: u8,
    max: u8,
    start: Option<[f64; 2]>,
    bbox: Option<BBox>,
    current: Option<Tile>,
    descending: bool,
}

impl ZoomPath {
    /// Zoom path between `min` and `max`; fixed start point or random within `bbox`/world.
    pub fn new(
        tms: TileMatrixSet,
        (min, max): (u8, u8),
        start: Option<[f64; 2]>,
        bbox: Option<BBox>,
    ) -> Self {
        ZoomPath {
            tms,
            min,
            max: max.max(min),
            start,
            bbox,
            current: None,
            descending: true,
        }
    }

    fn start_tile(&self, rng: &mut Rng) -> Tile {
        match self.start {
            Some([lon, lat]) => self.tms.tile_at(self.min, lon, lat),
            None => {
                let r = self.tms.range(self.min, self.bbox.as_ref());
                r.nth(rng.below(r.len()))
            }
        }
    }
}

impl TileStrategy for ZoomPath {
    fn next(&mut self, rng: &mut Rng) -> Pick {
        let next = match self.current {
            None => {
                self.descending = true;
                self.start_tile(rng)
            }
            Some(t) if self.descending && t.z < self.max => t.children()[rng.below(4) as usize],
            Some(t) if t.z > self.min => {
                self.descending = false;
                t.parent().unwrap_or(t)
            }
            // Back at the top: begin a new cycle (same start tile, or a new random one).
            Some(_) => {
                self.descending = true;
                let s = self.start_tile(rng);
                if self.min == self.max {
                    s
                } else {
                    s.children()[rng.below(4) as usize]
                }
            }
        };
        self.current = Some(next);
        Pick::tile(next)
    }
}
