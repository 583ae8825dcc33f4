//! [`TileKey`]: every input that changes a tile's bytes, and nothing else.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{RENDER_VERSION, TileMatrixSetId};

/// Output image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageFormat {
    Png,
}

impl ImageFormat {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
        }
    }

    /// Parses a MIME type or file extension.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "image/png" | "png" | "image/png; mode=8bit" => Some(Self::Png),
            _ => None,
        }
    }
}

/// Identifies one rendered tile. Built by the gateway after resolving
/// dimensions against the catalog, so `run` and `valid` are concrete times:
/// a key never changes meaning when a new run arrives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TileKey {
    pub layer: String,
    pub style: String,
    /// Canonical form of per-request style parameters; empty for defaults.
    pub style_params: String,
    pub tms: TileMatrixSetId,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    /// Tile side in pixels (256 or 512).
    pub tile_size: u32,
    /// Forecast reference time (for observations: the observation time).
    pub run: DateTime<Utc>,
    /// Valid time of the field.
    pub valid: DateTime<Utc>,
    /// Level value for levelled layers (e.g. "500" hPa).
    pub elevation: Option<String>,
    pub format: ImageFormat,
}

/// A 64-bit FNV-1a hash of `bytes`: stable across releases and builds
/// (unlike `std`'s `DefaultHasher`), so ETags and NATS result subjects
/// survive upgrades and mixed-version farms agree on them.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// FNV-1a as a [`std::hash::Hasher`], for [`TileKey::id`].
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(PRIME);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl TileKey {
    /// A 64-bit identity of the key, the same in every process of a
    /// release (the gateways and the scheduler match warmed tiles by it),
    /// without building the [`cache_key`](Self::cache_key) string.
    pub fn id(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        self.hash(&mut h);
        h.finish()
    }

    /// The cache and de-duplication key: a flat string carrying every field
    /// and the render version. Layer and style names are validated
    /// identifiers, so the string needs no escaping.
    pub fn cache_key(&self) -> String {
        format!(
            "wx:v{}:{}:{}:{}:{}:{}:{}/{}/{}:{}:{}:{}.{}",
            RENDER_VERSION,
            self.layer,
            self.style,
            self.style_params,
            self.tms.as_str(),
            self.tile_size,
            self.z,
            self.x,
            self.y,
            self.run.format("%Y%m%dT%H%M%SZ"),
            self.valid.format("%Y%m%dT%H%M%SZ"),
            self.elevation.as_deref().unwrap_or("-"),
            self.format.extension(),
        )
    }

    /// Forecast lead time in hours (0 for observations).
    pub fn forecast_hours(&self) -> f64 {
        (self.valid - self.run).num_seconds() as f64 / 3600.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key() -> TileKey {
        let run = Utc.with_ymd_and_hms(2025, 1, 2, 12, 0, 0).unwrap();
        TileKey {
            layer: "gfs_TMP_2m".into(),
            style: "gradient".into(),
            style_params: String::new(),
            tms: TileMatrixSetId::WebMercatorQuad,
            z: 3,
            x: 4,
            y: 2,
            tile_size: 256,
            run,
            valid: run + chrono::Duration::hours(6),
            elevation: None,
            format: ImageFormat::Png,
        }
    }

    #[test]
    fn every_field_changes_the_cache_key() {
        let base = key();
        let variants = [
            TileKey {
                layer: "gfs_TMP_850".into(),
                ..base.clone()
            },
            TileKey {
                style_params: "range=0,1".into(),
                ..base.clone()
            },
            TileKey {
                tms: TileMatrixSetId::WorldCRS84Quad,
                ..base.clone()
            },
            TileKey {
                z: 4,
                ..base.clone()
            },
            TileKey {
                x: 5,
                ..base.clone()
            },
            TileKey {
                y: 3,
                ..base.clone()
            },
            TileKey {
                tile_size: 512,
                ..base.clone()
            },
            TileKey {
                run: base.run - chrono::Duration::hours(6),
                ..base.clone()
            },
            TileKey {
                valid: base.run,
                ..base.clone()
            },
            TileKey {
                elevation: Some("500".into()),
                ..base.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.cache_key(), base.cache_key(), "{v:?}");
        }
        assert_eq!(base.forecast_hours(), 6.0);
    }
}
