//! Tile selection strategies. Every strategy draws its randomness from the
//! [`Rng`] it is handed, so a scenario seed reproduces the exact sequence.

mod area;
mod hotspot;
mod pan;
mod zoom;

pub use area::{Fixed, RandomTiles, Sequential};
pub use hotspot::Hotspot;
pub use pan::{Animation, Pan};
pub use zoom::ZoomPath;

use crate::rng::Rng;
use crate::template::{Dim, UrlTemplate};
use crate::tile::{BBox, MAX_ZOOM, Tile, TileMatrixSet};
use serde::Deserialize;

/// One strategy step: a tile, plus the animation frame for strategies that animate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    /// Tile to request.
    pub tile: Tile,
    /// Frame counter (animation only); the generator maps it onto the dimension values.
    pub frame: Option<u64>,
}

impl Pick {
    fn tile(tile: Tile) -> Self {
        Pick { tile, frame: None }
    }
}

/// A tile sequence generator.
pub trait TileStrategy: Send {
    /// Next tile to request.
    fn next(&mut self, rng: &mut Rng) -> Pick;
}

/// A zoom level or an inclusive `[min, max]` range.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ZoomSpec {
    /// Single level.
    One(u8),
    /// Inclusive range.
    Range([u8; 2]),
}

impl ZoomSpec {
    /// (min, max).
    pub fn bounds(self) -> (u8, u8) {
        match self {
            ZoomSpec::One(z) => (z, z),
            ZoomSpec::Range([a, b]) => (a, b),
        }
    }

    fn validate(self) -> Result<(u8, u8), (String, String)> {
        let (a, b) = self.bounds();
        if a > b || b > MAX_ZOOM {
            return Err((
                "zoom".into(),
                format!("must be a level or [min, max] with min ≤ max ≤ {MAX_ZOOM}"),
            ));
        }
        Ok((a, b))
    }
}

fn default_viewport() -> [u32; 2] {
    [4, 3]
}
fn default_step() -> [i32; 2] {
    [1, 0]
}
fn default_radius() -> u32 {
    8
}
fn default_exponent() -> f64 {
    1.0
}
fn default_dimension() -> Dim {
    Dim::Forecast
}
fn default_true() -> bool {
    true
}

/// Strategy configuration as written in the scenario (`strategy: {kind: …}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StrategySpec {
    /// Uniform zoom, then uniform tile within the zoom's matrix (or the bbox).
    Random {
        /// Zoom level or range.
        zoom: ZoomSpec,
        /// Optional `[min_lon, min_lat, max_lon, max_lat]`.
        bbox: Option<[f64; 4]>,
    },
    /// Row-major sweep through each zoom, lowest zoom first, then wraps.
    Sequential {
        /// Zoom level or range.
        zoom: ZoomSpec,
        /// Optional bbox.
        bbox: Option<[f64; 4]>,
    },
    /// An explicit `[z, x, y]` list, cycled in order (or drawn at random).
    Fixed {
        /// Tiles as `[z, x, y]`.
        tiles: Vec<[u32; 3]>,
        /// Draw at random instead of cycling.
        #[serde(default)]
        shuffle: bool,
    },
    /// A W×H viewport panning across the map.
    Pan {
        /// Zoom level.
        zoom: u8,
        /// Viewport size in tiles `[w, h]`.
        #[serde(default = "default_viewport")]
        viewport: [u32; 2],
        /// Initial viewport centre `[lon, lat]` (random when absent).
        start: Option<[f64; 2]>,
        /// Tiles moved per step `[dx, dy]` (x wraps, y bounces).
        #[serde(default = "default_step")]
        step: [i32; 2],
        /// Request only tiles that became visible (a browser keeps the rest).
        #[serde(default = "default_true")]
        new_only: bool,
    },
    /// Zooming in through random children to the max zoom, then back out through parents.
    Zoom {
        /// `[min, max]` zoom.
        zoom: ZoomSpec,
        /// Start point `[lon, lat]` (random per cycle when absent).
        start: Option<[f64; 2]>,
        /// Area for random start points.
        bbox: Option<[f64; 4]>,
    },
    /// Tiles around a centre, with Zipf popularity by distance rank.
    Hotspot {
        /// Zoom level or range.
        zoom: ZoomSpec,
        /// Centre `[lon, lat]`.
        center: [f64; 2],
        /// Radius in tiles (Chebyshev).
        #[serde(default = "default_radius")]
        radius: u32,
        /// Zipf exponent (1.0 = classic Zipf; larger = hotter hotspot).
        #[serde(default = "default_exponent")]
        exponent: f64,
    },
    /// A viewport stepping through the values of one dimension, frame after frame.
    Animation {
        /// Zoom level.
        zoom: u8,
        /// Viewport centre `[lon, lat]`.
        center: [f64; 2],
        /// Viewport size in tiles `[w, h]`.
        #[serde(default = "default_viewport")]
        viewport: [u32; 2],
        /// Dimension animated (default `forecast`).
        #[serde(default = "default_dimension")]
        dimension: Dim,
    },
}

fn check_lonlat(field: &str, p: [f64; 2]) -> Result<(), (String, String)> {
    let [lon, lat] = p;
    if !(lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat))
    {
        return Err((
            field.into(),
            "must be [lon, lat] within [-180, 180] × [-90, 90]".into(),
        ));
    }
    Ok(())
}

fn check_bbox(b: Option<[f64; 4]>) -> Result<Option<BBox>, (String, String)> {
    b.map(|a| BBox::from_array(a).map_err(|m| ("bbox".to_string(), m)))
        .transpose()
}

fn check_viewport(v: [u32; 2]) -> Result<(), (String, String)> {
    if v[0] == 0 || v[1] == 0 || v[0] > 64 || v[1] > 64 {
        return Err((
            "viewport".into(),
            "must be [w, h] with 1 ≤ w, h ≤ 64".into(),
        ));
    }
    Ok(())
}

impl StrategySpec {
    /// The dimension this strategy animates, if any.
    pub fn animated_dim(&self) -> Option<Dim> {
        match self {
            StrategySpec::Animation { dimension, .. } => Some(*dimension),
            _ => None,
        }
    }

    /// Checks the configuration; errors are `(field, message)` relative to `strategy`.
    pub fn validate(&self, tms: TileMatrixSet, url: &UrlTemplate) -> Result<(), (String, String)> {
        match self {
            StrategySpec::Random { zoom, bbox } | StrategySpec::Sequential { zoom, bbox } => {
                zoom.validate()?;
                check_bbox(*bbox)?;
            }
            StrategySpec::Fixed { tiles, .. } => {
                if tiles.is_empty() {
                    return Err(("tiles".into(), "must list at least one [z, x, y]".into()));
                }
                for (i, [z, x, y]) in tiles.iter().enumerate() {
                    let ok = u8::try_from(*z)
                        .ok()
                        .filter(|z| *z <= MAX_ZOOM)
                        .is_some_and(|z| tms.contains(&Tile { z, x: *x, y: *y }));
                    if !ok {
                        return Err((
                            format!("tiles[{i}]"),
                            format!("[{z}, {x}, {y}] is outside the {} matrix", tms.id()),
                        ));
                    }
                }
            }
            StrategySpec::Pan {
                zoom,
                viewport,
                start,
                ..
            } => {
                ZoomSpec::One(*zoom).validate()?;
                check_viewport(*viewport)?;
                if let Some(s) = start {
                    check_lonlat("start", *s)?;
                }
            }
            StrategySpec::Zoom { zoom, start, bbox } => {
                zoom.validate()?;
                check_bbox(*bbox)?;
                if let Some(s) = start {
                    check_lonlat("start", *s)?;
                }
            }
            StrategySpec::Hotspot {
                zoom,
                center,
                radius,
                exponent,
            } => {
                zoom.validate()?;
                check_lonlat("center", *center)?;
                if *radius > 200 {
                    return Err(("radius".into(), "must be ≤ 200 tiles".into()));
                }
                if !(exponent.is_finite() && *exponent > 0.0) {
                    return Err(("exponent".into(), "must be > 0".into()));
                }
            }
            StrategySpec::Animation {
                zoom,
                center,
                viewport,
                dimension,
            } => {
                ZoomSpec::One(*zoom).validate()?;
                check_lonlat("center", *center)?;
                check_viewport(*viewport)?;
                if !url.dims().contains(dimension) {
                    return Err((
                        "dimension".into(),
                        format!(
                            "animates {{{}}} but `url` does not use it",
                            dimension.name()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Builds the strategy (call [`StrategySpec::validate`] first; invalid
    /// values are clamped rather than panicking).
    pub fn build(&self, tms: TileMatrixSet) -> Box<dyn TileStrategy> {
        let bbox = |b: &Option<[f64; 4]>| b.and_then(|a| BBox::from_array(a).ok());
        match self {
            StrategySpec::Random { zoom, bbox: b } => {
                Box::new(RandomTiles::new(tms, zoom.bounds(), bbox(b)))
            }
            StrategySpec::Sequential { zoom, bbox: b } => {
                Box::new(Sequential::new(tms, zoom.bounds(), bbox(b)))
            }
            StrategySpec::Fixed { tiles, shuffle } => Box::new(Fixed::new(
                tiles
                    .iter()
                    .map(|[z, x, y]| Tile {
                        z: (*z).min(u32::from(MAX_ZOOM)) as u8,
                        x: *x,
                        y: *y,
                    })
                    .collect(),
                *shuffle,
            )),
            StrategySpec::Pan {
                zoom,
                viewport,
                start,
                step,
                new_only,
            } => Box::new(Pan::new(tms, *zoom, *viewport, *start, *step, *new_only)),
            StrategySpec::Zoom {
                zoom,
                start,
                bbox: b,
            } => Box::new(ZoomPath::new(tms, zoom.bounds(), *start, bbox(b))),
            StrategySpec::Hotspot {
                zoom,
                center,
                radius,
                exponent,
            } => Box::new(Hotspot::new(
                tms,
                zoom.bounds(),
                *center,
                *radius,
                *exponent,
            )),
            StrategySpec::Animation {
                zoom,
                center,
                viewport,
                ..
            } => Box::new(Animation::new(tms, *zoom, *center, *viewport)),
        }
    }
}
