//! Area strategies: uniform random, sequential sweep, fixed list.

use super::{Pick, TileStrategy};
use crate::rng::Rng;
use crate::tile::{BBox, Tile, TileMatrixSet, TileRange};

fn ranges(tms: TileMatrixSet, (min, max): (u8, u8), bbox: Option<BBox>) -> Vec<TileRange> {
    (min..=max.max(min))
        .map(|z| tms.range(z, bbox.as_ref()))
        .collect()
}

/// Uniform zoom level, then a uniform tile within that level's range.
#[derive(Debug, Clone)]
pub struct RandomTiles {
    ranges: Vec<TileRange>,
}

impl RandomTiles {
    /// Tiles of zooms `min..=max`, restricted to `bbox` when given.
    pub fn new(tms: TileMatrixSet, zoom: (u8, u8), bbox: Option<BBox>) -> Self {
        RandomTiles {
            ranges: ranges(tms, zoom, bbox),
        }
    }
}

impl TileStrategy for RandomTiles {
    fn next(&mut self, rng: &mut Rng) -> Pick {
        // Uniform zoom (not uniform tile over all zooms) so low zooms are not
        // drowned by the 4× larger level below, as in real map traffic.
        let r = &self.ranges[rng.below(self.ranges.len() as u64) as usize];
        Pick::tile(r.nth(rng.below(r.len())))
    }
}

/// Row-major sweep of every tile, lowest zoom first; wraps to the start.
#[derive(Debug, Clone)]
pub struct Sequential {
    ranges: Vec<TileRange>,
    level: usize,
    index: u64,
}

impl Sequential {
    /// Sweep zooms `min..=max`, restricted to `bbox` when given.
    pub fn new(tms: TileMatrixSet, zoom: (u8, u8), bbox: Option<BBox>) -> Self {
        Sequential {
            ranges: ranges(tms, zoom, bbox),
            level: 0,
            index: 0,
        }
    }
}

impl TileStrategy for Sequential {
    fn next(&mut self, _rng: &mut Rng) -> Pick {
        let r = self.ranges[self.level];
        let tile = r.nth(self.index);
        self.index += 1;
        if self.index >= r.len() {
            self.index = 0;
            self.level = (self.level + 1) % self.ranges.len();
        }
        Pick::tile(tile)
    }
}

/// A fixed tile list, cycled in order or drawn uniformly.
#[derive(Debug, Clone)]
pub struct Fixed {
    tiles: Vec<Tile>,
    shuffle: bool,
    index: usize,
}

impl Fixed {
    /// `tiles` must not be empty (an empty list yields tile 0/0/0).
    pub fn new(tiles: Vec<Tile>, shuffle: bool) -> Self {
        let tiles = if tiles.is_empty() {
            vec![Tile { z: 0, x: 0, y: 0 }]
        } else {
            tiles
        };
        Fixed {
            tiles,
            shuffle,
            index: 0,
        }
    }
}

impl TileStrategy for Fixed {
    fn next(&mut self, rng: &mut Rng) -> Pick {
        let i = if self.shuffle {
            rng.below(self.tiles.len() as u64) as usize
        } else {
            let i = self.index;
            self.index = (self.index + 1) % self.tiles.len();
            i
        };
        Pick::tile(self.tiles[i])
    }
}
