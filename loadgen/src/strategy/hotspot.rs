//! Hotspot strategy: most requests near a centre, Zipf-distributed.

use super::{Pick, TileStrategy};
use crate::rng::Rng;
use crate::tile::{Tile, TileMatrixSet};

/// Per zoom, the tiles within `radius` of the centre tile are ranked by
/// distance (nearest first) and drawn with probability ∝ 1 / rank^exponent,
/// which mimics the heavy-tailed popularity of real map tiles.
#[derive(Debug, Clone)]
pub struct Hotspot {
    levels: Vec<Level>,
}

#[derive(Debug, Clone)]
struct Level {
    tiles: Vec<Tile>,
    /// Cumulative weights, same length as `tiles`, last = total.
    cdf: Vec<f64>,
}

impl Hotspot {
    /// Hotspot at `center` ([lon, lat]) over zooms `min..=max`.
    pub fn new(
        tms: TileMatrixSet,
        (min, max): (u8, u8),
        center: [f64; 2],
        radius: u32,
        exponent: f64,
    ) -> Self {
        let levels = (min..=max.max(min))
            .map(|z| {
                let c = tms.tile_at(z, center[0], center[1]);
                let (cols, rows) = tms.matrix_size(z);
                let r = i64::from(radius);
                let mut cand: Vec<(i64, Tile)> = Vec::new();
                for dy in -r..=r {
                    let y = i64::from(c.y) + dy;
                    if y < 0 || y >= i64::from(rows) {
                        continue;
                    }
                    // At low zooms the radius can exceed the world width: clamp so
                    // wrapped columns are not counted twice.
                    let half = r.min((i64::from(cols) - 1) / 2);
                    for dx in -half..=half {
                        let x = (i64::from(c.x) + dx).rem_euclid(i64::from(cols));
                        cand.push((
                            dx * dx + dy * dy,
                            Tile {
                                z,
                                x: x as u32,
                                y: y as u32,
                            },
                        ));
                    }
                }
                // Deterministic order: by distance, then position.
                cand.sort_by_key(|(d, t)| (*d, t.y, t.x));
                let mut acc = 0.0;
                let cdf = (0..cand.len())
                    .map(|rank| {
                        acc += 1.0 / ((rank + 1) as f64).powf(exponent);
                        acc
                    })
                    .collect();
                Level {
                    tiles: cand.into_iter().map(|(_, t)| t).collect(),
                    cdf,
                }
            })
            .collect();
        Hotspot { levels }
    }
}

impl TileStrategy for Hotspot {
    fn next(&mut self, rng: &mut Rng) -> Pick {
        let level = &self.levels[rng.below(self.levels.len() as u64) as usize];
        let total = level.cdf.last().copied().unwrap_or(0.0);
        let u = rng.unit_f64() * total;
        let i = level
            .cdf
            .partition_point(|c| *c <= u)
            .min(level.tiles.len() - 1);
        Pick::tile(level.tiles[i])
    }
}
