//! Viewport strategies: panning and animation.

use super::{Pick, TileStrategy};
use crate::rng::Rng;
use crate::tile::{Tile, TileMatrixSet};

/// A viewport of tiles: top-left corner plus size, x wrapping around the world.
#[derive(Debug, Clone, Copy)]
struct Viewport {
    z: u8,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    cols: u32,
}

impl Viewport {
    fn centred(tms: TileMatrixSet, z: u8, lon: f64, lat: f64, [w, h]: [u32; 2]) -> Self {
        let (cols, rows) = tms.matrix_size(z);
        // A viewport larger than the world shows the world once.
        let (w, h) = (w.clamp(1, cols), h.clamp(1, rows));
        let c = tms.tile_at(z, lon, lat);
        let x = (i64::from(c.x) - i64::from(w / 2)).rem_euclid(i64::from(cols)) as u32;
        let y = c.y.saturating_sub(h / 2).min(rows - h);
        Viewport {
            z,
            x,
            y,
            w,
            h,
            cols,
        }
    }

    fn tile(&self, i: u32) -> Tile {
        Tile {
            z: self.z,
            x: (self.x + i % self.w) % self.cols,
            y: self.y + i / self.w,
        }
    }

    fn contains(&self, t: &Tile) -> bool {
        let dx = (t.x + self.cols - self.x) % self.cols;
        t.z == self.z && dx < self.w && t.y >= self.y && t.y < self.y + self.h
    }
}

/// A viewport moving `step` tiles per frame: x wraps, y bounces off the poles.
#[derive(Debug, Clone)]
pub struct Pan {
    tms: TileMatrixSet,
    zoom: u8,
    size: [u32; 2],
    start: Option<[f64; 2]>,
    step: [i32; 2],
    new_only: bool,
    view: Option<Viewport>,
    prev: Option<Viewport>,
    queue: Vec<Tile>,
}

impl Pan {
    /// Panning viewport of `size` tiles at `zoom`.
    pub fn new(
        tms: TileMatrixSet,
        zoom: u8,
        size: [u32; 2],
        start: Option<[f64; 2]>,
        step: [i32; 2],
        new_only: bool,
    ) -> Self {
        Pan {
            tms,
            zoom,
            size,
            start,
            step,
            new_only,
            view: None,
            prev: None,
            queue: Vec::new(),
        }
    }

    fn advance(&mut self, rng: &mut Rng) {
        let view = match self.view {
            None => {
                let [lon, lat] = self.start.unwrap_or_else(|| {
                    [
                        rng.unit_f64() * 360.0 - 180.0,
                        rng.unit_f64() * 140.0 - 70.0,
                    ]
                });
                Viewport::centred(self.tms, self.zoom, lon, lat, self.size)
            }
            Some(mut v) => {
                let rows = self.tms.matrix_size(self.zoom).1;
                v.x =
                    (i64::from(v.x) + i64::from(self.step[0])).rem_euclid(i64::from(v.cols)) as u32;
                let max_y = i64::from(rows - v.h);
                let mut y = i64::from(v.y) + i64::from(self.step[1]);
                if y < 0 || y > max_y {
                    self.step[1] = -self.step[1];
                    y = y.clamp(0, max_y);
                }
                v.y = y as u32;
                v
            }
        };
        self.prev = self.view;
        self.view = Some(view);
        // Pushed in reverse so `pop` yields row-major order.
        for i in (0..view.w * view.h).rev() {
            let t = view.tile(i);
            let seen = self.new_only && self.prev.is_some_and(|p| p.contains(&t));
            if !seen {
                self.queue.push(t);
            }
        }
    }
}

impl TileStrategy for Pan {
    fn next(&mut self, rng: &mut Rng) -> Pick {
        // A zero step with new_only would never yield a tile: bound the loop.
        for _ in 0..4 {
            if let Some(t) = self.queue.pop() {
                return Pick::tile(t);
            }
            self.advance(rng);
            if self.queue.is_empty() {
                // Nothing new became visible (step 0): re-request the viewport.
                self.new_only = false;
            }
        }
        let v = self
            .view
            .unwrap_or_else(|| Viewport::centred(self.tms, self.zoom, 0.0, 0.0, self.size));
        Pick::tile(v.tile(0))
    }
}

/// A fixed viewport requested frame after frame; the frame counter selects the
/// animated dimension's value (the generator wraps it over the value list).
#[derive(Debug, Clone)]
pub struct Animation {
    view: Viewport,
    frame: u64,
    index: u32,
}

impl Animation {
    /// Animation viewport of `size` tiles centred on `center` at `zoom`.
    pub fn new(tms: TileMatrixSet, zoom: u8, center: [f64; 2], size: [u32; 2]) -> Self {
        Animation {
            view: Viewport::centred(tms, zoom, center[0], center[1], size),
            frame: 0,
            index: 0,
        }
    }
}

impl TileStrategy for Animation {
    fn next(&mut self, _rng: &mut Rng) -> Pick {
        let pick = Pick {
            tile: self.view.tile(self.index),
            frame: Some(self.frame),
        };
        self.index += 1;
        if self.index >= self.view.w * self.view.h {
            self.index = 0;
            self.frame += 1;
        }
        pick
    }
}
