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
    ///
    /// Built on every tile request (cache hits included), so it is written
    /// into one exactly sized buffer, times without `strftime` (whose format
    /// string chrono parses on every call).
    pub fn cache_key(&self) -> String {
        use std::fmt::Write as _;
        let elevation = self.elevation.as_deref().unwrap_or("-");
        // 2 × 16 for the times, 10 per number, separators and the version.
        let len = 64
            + self.layer.len()
            + self.style.len()
            + self.style_params.len()
            + elevation.len()
            + self.tms.as_str().len();
        let mut k = String::with_capacity(len);
        // Writing into a String cannot fail.
        let _ = write!(
            k,
            "wx:v{}:{}:{}:{}:{}:{}:{}/{}/{}:",
            RENDER_VERSION,
            self.layer,
            self.style,
            self.style_params,
            self.tms.as_str(),
            self.tile_size,
            self.z,
            self.x,
            self.y,
        );
        push_compact_time(&mut k, self.run);
        k.push(':');
        push_compact_time(&mut k, self.valid);
        k.push(':');
        k.push_str(elevation);
        k.push('.');
        k.push_str(self.format.extension());
        k
    }

    /// Forecast lead time in hours (0 for observations).
    pub fn forecast_hours(&self) -> f64 {
        (self.valid - self.run).num_seconds() as f64 / 3600.0
    }
}

/// Appends `t` as `%Y%m%dT%H%M%SZ` (the cache key's time format), without
/// chrono's format-string machinery; years outside 0..=9999, which chrono
/// writes with a sign, go through chrono.
fn push_compact_time(out: &mut String, t: DateTime<Utc>) {
    use chrono::{Datelike as _, Timelike as _};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        use std::fmt::Write as _;
        let _ = write!(out, "{}", t.format("%Y%m%dT%H%M%SZ"));
        return;
    }
    let mut buf = [0u8; 16];
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u32);
    put(4, 2, t.month());
    put(6, 2, t.day());
    put(9, 2, t.hour());
    put(11, 2, t.minute());
    // A leap second (second 59 with nanoseconds ≥ 1e9) prints as 60, as
    // chrono's %S does.
    put(
        13,
        2,
        t.second() + u32::from(t.nanosecond() >= 1_000_000_000),
    );
    buf[8] = b'T';
    buf[15] = b'Z';
    // Only ASCII digits and letters were written.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
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

    /// The fast time formatting writes what chrono's `strftime` writes,
    /// over ordinary and edge instants (the key must not change, or every
    /// cache and L2 entry would go cold on upgrade).
    #[test]
    fn cache_key_times_match_strftime() {
        let mut instants = vec![
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 12, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 999_999_999).unwrap(),
            // A leap second.
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(),
        ];
        let mut t = Utc.with_ymd_and_hms(1999, 12, 31, 17, 3, 9).unwrap();
        for _ in 0..2_000 {
            instants.push(t);
            t += chrono::Duration::seconds(3_601 * 24 + 7);
        }
        for t in instants {
            let mut fast = String::new();
            push_compact_time(&mut fast, t);
            assert_eq!(fast, t.format("%Y%m%dT%H%M%SZ").to_string(), "{t:?}");
        }
    }

    #[test]
    fn cache_key_layout() {
        let mut k = key();
        k.style_params = "range=0,1".into();
        k.elevation = Some("500".into());
        assert_eq!(
            k.cache_key(),
            format!(
                "wx:v{RENDER_VERSION}:gfs_TMP_2m:gradient:range=0,1:WebMercatorQuad:256:3/4/2:\
                 20250102T120000Z:20250102T180000Z:500.png"
            )
        );
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
