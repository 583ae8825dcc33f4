//! The CRS of a WMS request: which codes are served, which are advertised,
//! and the axis order a client writes a `BBOX` in.
//!
//! EPSG:3857, EPSG:4326 and CRS:84 have closed forms; every other EPSG code
//! PROJ knows as a 2-D projected or geographic CRS is drawn through PROJ
//! (`render::crs`). WMS 1.3.0 writes a `BBOX` in the CRS's authority axis
//! order (EPSG:4326 and EPSG:3035 northing/latitude first, EPSG:3413 and
//! UTM easting first, as `proj.db` registers them); WMS 1.1.1's `SRS` is
//! always x (easting or longitude) first. A [`protocol::MapArea`] is always
//! easting first.

use protocol::MapCrs;

/// Codes listed in capabilities besides the closed-form three: polar
/// stereographic north (NSIDC) and south, Europe's LAEA, France's
/// Lambert-93, the British National Grid, and every WGS 84 UTM zone.
/// Any other EPSG code PROJ knows is served, unlisted.
pub fn advertised() -> impl Iterator<Item = String> {
    ["EPSG:3857", "EPSG:4326", "CRS:84"]
        .into_iter()
        .map(str::to_owned)
        .chain(
            [3413, 3031, 3035, 2154, 27700]
                .into_iter()
                .chain(32601..=32660)
                .chain(32701..=32760)
                .map(|c| format!("EPSG:{c}")),
        )
}

/// A request's CRS parameter, parsed but not yet looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedCrs {
    /// A closed-form CRS; `swap`: the box comes y first.
    Fixed { crs: MapCrs, swap: bool },
    /// Any other EPSG code, for PROJ.
    Epsg(u32),
}

/// Parses `EPSG:n`, `urn:ogc:def:crs:EPSG::n`,
/// `http://www.opengis.net/def/crs/EPSG/0/n` and `CRS:84`; `None` for
/// anything else (another authority, `AUTO2:…`, garbage). `lat_first_4326`
/// is WMS 1.3.0's EPSG:4326 axis order.
pub fn parse(crs: &str, lat_first_4326: bool) -> Option<RequestedCrs> {
    let upper = crs.trim().to_ascii_uppercase();
    if matches!(upper.as_str(), "CRS:84" | "OGC:CRS84") {
        return Some(RequestedCrs::Fixed {
            crs: MapCrs::LonLat,
            swap: false,
        });
    }
    let code = [
        "EPSG:",
        "URN:OGC:DEF:CRS:EPSG::",
        "HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/",
    ]
    .iter()
    .find_map(|p| upper.strip_prefix(p))?;
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match code.parse::<u32>().ok()? {
        3857 | 900913 => RequestedCrs::Fixed {
            crs: MapCrs::WebMercator,
            swap: false,
        },
        4326 => RequestedCrs::Fixed {
            crs: MapCrs::LonLat,
            swap: lat_first_4326,
        },
        n => RequestedCrs::Epsg(n),
    })
}

/// Looks `code` up in PROJ (on a blocking thread: the first look-up of a
/// code reads `proj.db`; later ones are remembered) and says whether a WMS
/// 1.3.0 box in it comes northing first.
pub async fn resolve(code: u32) -> Result<bool, String> {
    tokio::task::spawn_blocking(move || render::crs::info(code))
        .await
        .map_err(|e| format!("CRS look-up failed: {e}"))?
        .map(|a| a.northing_first)
        .map_err(|e| e.to_string())
}

/// Longitude/latitude of a CRS position, exactly (GetFeatureInfo), on a
/// blocking thread with that thread's transformer.
pub async fn to_lonlat(code: u32, x: f64, y: f64) -> Option<(f64, f64)> {
    tokio::task::spawn_blocking(move || {
        render::crs::with_transformer(code, |t| t.to_lonlat(x, y)).ok()?
    })
    .await
    .ok()?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_their_spellings() {
        assert_eq!(parse("EPSG:3413", true), Some(RequestedCrs::Epsg(3413)));
        assert_eq!(parse("epsg:32633", true), Some(RequestedCrs::Epsg(32633)));
        assert_eq!(
            parse("urn:ogc:def:crs:EPSG::3035", true),
            Some(RequestedCrs::Epsg(3035))
        );
        assert_eq!(
            parse("EPSG:4326", true),
            Some(RequestedCrs::Fixed {
                crs: MapCrs::LonLat,
                swap: true
            })
        );
        assert_eq!(
            parse("EPSG:4326", false),
            Some(RequestedCrs::Fixed {
                crs: MapCrs::LonLat,
                swap: false
            })
        );
        for bad in [
            "FOO:1",
            "AUTO2:42001,1,0,0",
            "EPSG:",
            "EPSG:12a",
            "EPSG:-5",
            "EPSG:99999999999",
        ] {
            assert_eq!(parse(bad, true), None, "{bad}");
        }
    }

    #[test]
    fn the_advertised_list_stays_short() {
        let all: Vec<String> = advertised().collect();
        assert_eq!(all.len(), 3 + 5 + 120);
        assert!(all.contains(&"EPSG:32760".to_owned()));
    }
}
