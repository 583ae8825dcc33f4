//! Section 3 (grid definition) into a [`GridGeometry`] plus what decoding
//! needs to normalise the scan order.

use grib::TryFromSlice as _;
use grib::def::grib2::template::param_set::{EarthShape, LatLonGrid};
use grib::def::grib2::{GridDefinitionTemplate, Section3};

use crate::error::{DecodeError, MessageId};
use protocol::grid::GridGeometry;
use protocol::grid::projection::{Earth, Lambert, PolarStereo, PoleRotation, Projection};

/// Grid templates we turn into geometry (GRIB2 code table 3.1).
const SUPPORTED: [u16; 5] = [0, 1, 20, 30, 40];
/// GRIB2's "missing" for 4-octet unsigned values.
const MISSING_U32: u32 = u32::MAX;

/// What section 3 says about the grid.
#[derive(Debug, Clone)]
pub(crate) struct GridSpec {
    pub ni: usize,
    pub nj: usize,
    /// Scanning mode, flag table 3.4.
    pub scan: u8,
    pub geometry: GridGeometry,
    pub winds_grid_relative: bool,
}

/// The number of data points section 3 declares.
pub(crate) fn num_points(sect3: &[u8]) -> Option<usize> {
    let b: [u8; 4] = sect3.get(6..10)?.try_into().ok()?;
    Some(u32::from_be_bytes(b) as usize)
}

/// Parses section 3 (`sect3` is the whole section, header included).
pub(crate) fn grid_spec(sect3: &[u8], id: MessageId) -> Result<GridSpec, DecodeError> {
    let corrupt = |reason: String| DecodeError::Corrupt {
        message: id,
        reason: format!("section 3: {reason}"),
    };
    let unsupported = |what: String| DecodeError::Unsupported { message: id, what };
    let template = sect3
        .get(12..14)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| corrupt("too short".into()))?;
    if !SUPPORTED.contains(&template) {
        return Err(DecodeError::UnsupportedGridTemplate {
            message: id,
            template,
        });
    }
    let s3 = Section3::try_from_slice(sect3, &mut 0).map_err(|e| corrupt(e.to_string()))?;
    if s3.payload.num_point_list_octets != 0 {
        return Err(unsupported(
            "a quasi-regular grid (list of row lengths)".into(),
        ));
    }
    let num_points = s3.payload.num_points as usize;
    let spec = match &s3.payload.template {
        GridDefinitionTemplate::_3_0(t) => lat_lon(&t.earth, &t.lat_lon, None, id)?,
        GridDefinitionTemplate::_3_1(t) => {
            let unit = angle_unit(&t.lat_lon.grid);
            let rotation = PoleRotation {
                south_pole_lat: f64::from(t.rotation.south_pole_lat) * unit,
                south_pole_lon: f64::from(t.rotation.south_pole_lon) * unit,
                angle: f64::from(t.rotation.rot_angle),
            };
            lat_lon(&t.earth, &t.lat_lon, Some(rotation), id)?
        }
        GridDefinitionTemplate::_3_40(t) => {
            let g = &t.gaussian;
            let mut spec = lat_lon(
                &t.earth,
                &LatLonGrid {
                    grid: g.grid.clone(),
                    i_direction_inc: g.i_direction_inc,
                    j_direction_inc: MISSING_U32,
                    scanning_mode: g.scanning_mode,
                },
                None,
                id,
            )?;
            let unit = angle_unit(&g.grid);
            let lat1 = f64::from(g.grid.first_point_lat) * unit;
            let lat2 = f64::from(g.grid.last_point_lat) * unit;
            let lats = gaussian_rows(g.n as usize, lat1, lat2, spec.nj).ok_or_else(|| {
                corrupt(format!("rows {lat1}..{lat2} are not on Gaussian N{}", g.n))
            })?;
            if let GridGeometry::LatLon { lon0, dlon, .. } = spec.geometry {
                spec.geometry = GridGeometry::Gaussian { lon0, dlon, lats };
            }
            spec
        }
        GridDefinitionTemplate::_3_20(t) => {
            let earth = earth(&t.earth_shape, id)?;
            let centre = t.projection_centre.0;
            if centre & 0x40 != 0 {
                return Err(unsupported("a bipolar polar stereographic grid".into()));
            }
            let south = centre & 0x80 != 0;
            let lat_ts = f64::from(t.lad) * 1e-6;
            let lov = f64::from(t.lov) * 1e-6;
            let p = PolarStereo::new(earth, south, lat_ts, lov)
                .ok_or_else(|| corrupt(format!("polar stereographic at LaD {lat_ts}")))?;
            projected(
                Projection::PolarStereographic(p),
                (t.ni, t.nj),
                (t.first_point_lon, t.first_point_lat),
                (t.dx, t.dy),
                t.scanning_mode.0,
                t.resolution_and_component_flags.0,
                id,
            )?
        }
        GridDefinitionTemplate::_3_30(t) => {
            let earth = earth(&t.earth_shape, id)?;
            if t.projection_centre.0 & 0x40 != 0 {
                return Err(unsupported("a bipolar Lambert conformal grid".into()));
            }
            let d = |v: i32| f64::from(v) * 1e-6;
            let (lat1, lat2, lad) = (d(t.latin1), d(t.latin2), d(t.lad));
            let lov = f64::from(t.lov) * 1e-6;
            let p = Lambert::new(earth, lat1, lat2, lad, lov)
                .ok_or_else(|| corrupt(format!("degenerate cone Latin1 {lat1} Latin2 {lat2}")))?;
            projected(
                Projection::LambertConformal(p),
                (t.ni, t.nj),
                (t.first_point_lon, t.first_point_lat),
                (t.dx, t.dy),
                t.scanning_mode.0,
                t.resolution_and_component_flags.0,
                id,
            )?
        }
        _ => {
            return Err(DecodeError::UnsupportedGridTemplate {
                message: id,
                template,
            });
        }
    };
    if spec.scan & 0x0f != 0 {
        return Err(unsupported(format!("scanning mode {:#010b}", spec.scan)));
    }
    if spec.ni.checked_mul(spec.nj) != Some(num_points) {
        return Err(corrupt(format!(
            "{}×{} grid but {num_points} points declared",
            spec.ni, spec.nj
        )));
    }
    Ok(spec)
}

/// The Earth of code table 3.2.
fn earth(shape: &EarthShape, id: MessageId) -> Result<Earth, DecodeError> {
    let scaled = |f: u8, v: u32| f64::from(v) / 10f64.powi(i32::from(f));
    let e = match shape.shape {
        0 => Earth::sphere(6_367_470.0),
        1 => {
            let r = &shape.spherical_earth_radius;
            Earth::sphere(scaled(r.scale_factor, r.scaled_value))
        }
        2 => Earth::from_inverse_flattening(6_378_160.0, 297.0),
        3 | 7 => {
            // 3 gives the axes in km, 7 in metres.
            let k = if shape.shape == 3 { 1000.0 } else { 1.0 };
            let (a, b) = (&shape.major_axis, &shape.minor_axis);
            Earth::from_axes(
                k * scaled(a.scale_factor, a.scaled_value),
                k * scaled(b.scale_factor, b.scaled_value),
            )
        }
        4 => Earth::from_inverse_flattening(6_378_137.0, 298.257_222_101),
        5 => Earth::from_inverse_flattening(6_378_137.0, 298.257_223_563),
        6 => Earth::sphere(6_371_229.0),
        8 => Earth::sphere(6_371_200.0),
        9 => Earth::from_axes(6_377_563.396, 6_356_256.909),
        n => {
            return Err(DecodeError::Unsupported {
                message: id,
                what: format!("shape of the Earth {n} (code table 3.2)"),
            });
        }
    };
    if e.a.is_finite() && e.a > 1.0 && e.e.is_finite() && e.e < 1.0 {
        Ok(e)
    } else {
        Err(DecodeError::Corrupt {
            message: id,
            reason: format!("section 3: Earth radius {} m", e.a),
        })
    }
}

/// Degrees per unit of a lat/lon grid's angles (basic angle / subdivisions,
/// 10⁻⁶ degree when not given).
fn angle_unit(g: &grib::def::grib2::template::param_set::Grid) -> f64 {
    let (basic, sub) = (
        g.initial_production_domain_basic_angle,
        g.basic_angle_subdivisions,
    );
    if basic == 0 || basic == MISSING_U32 || sub == 0 || sub == MISSING_U32 {
        1e-6
    } else {
        f64::from(basic) / f64::from(sub)
    }
}

fn lat_lon(
    earth_shape: &EarthShape,
    ll: &LatLonGrid,
    rotation: Option<PoleRotation>,
    id: MessageId,
) -> Result<GridSpec, DecodeError> {
    // Lat/lon grids do not need the Earth's shape, but an unknown shape is
    // still worth rejecting for consistency with projected grids.
    let _ = earth(earth_shape, id)?;
    let g = &ll.grid;
    let unit = angle_unit(g);
    let (ni, nj) = (g.ni as usize, g.nj as usize);
    let scan = ll.scanning_mode.0;
    let (lon1, lon2) = (
        f64::from(g.first_point_lon) * unit,
        f64::from(g.last_point_lon) * unit,
    );
    let (lat1, lat2) = (
        f64::from(g.first_point_lat) * unit,
        f64::from(g.last_point_lat) * unit,
    );
    let inc = |v: u32| (v != MISSING_U32 && v != 0).then(|| f64::from(v) * unit);
    let i_westward = scan & 0x80 != 0;
    let lon_span = if i_westward { lon1 - lon2 } else { lon2 - lon1 }.rem_euclid(360.0);
    let dlon = step(ni, lon_span, inc(ll.i_direction_inc), unit);
    let dlat = step(nj, (lat2 - lat1).abs(), inc(ll.j_direction_inc), unit);
    // Rows run the way the end points say; the scan flag only matters for
    // a single row.
    let dlat = match (nj > 1 && lat2 != lat1, lat2 > lat1, scan & 0x40 != 0) {
        (true, up, _) | (false, _, up) => {
            if up {
                dlat
            } else {
                -dlat
            }
        }
    };
    let lon0 = if i_westward {
        lon1 - (ni.saturating_sub(1)) as f64 * dlon
    } else {
        lon1
    };
    if !(dlon.is_finite() && dlat.is_finite() && dlon > 0.0) {
        return Err(DecodeError::Corrupt {
            message: id,
            reason: format!("section 3: increments {dlon}, {dlat}"),
        });
    }
    let geometry = match rotation {
        None => GridGeometry::LatLon {
            lon0,
            lat0: lat1,
            dlon,
            dlat,
        },
        Some(rotation) => GridGeometry::RotatedLatLon {
            lon0,
            lat0: lat1,
            dlon,
            dlat,
            rotation,
        },
    };
    Ok(GridSpec {
        ni,
        nj,
        scan,
        geometry,
        winds_grid_relative: g.resolution_and_component_flags.0 & 0x08 != 0,
    })
}

/// The step between `n` points spanning `span` degrees, given the coded
/// increment `inc` (if any) rounded to `unit`.
///
/// Both the increment and the end points are rounded to the angle unit.
/// A rounded increment drifts across wide grids (1/12° grids lose ~0.001°
/// by their last column), so a span that disagrees by more than a few units
/// wins; but some producers (MRMS) write an exact increment and a last
/// point a couple of units off, where the increment is the better value.
fn step(n: usize, span: f64, inc: Option<f64>, unit: f64) -> f64 {
    let from_span = (n > 1 && span > 0.0).then(|| span / (n - 1) as f64);
    match (from_span, inc) {
        (Some(_), Some(d)) if ((n - 1) as f64 * d - span).abs() <= 10.0 * unit => d,
        (Some(s), _) => s,
        (None, Some(d)) => d,
        (None, None) => 1.0, // a single point: any step locates it
    }
}

fn projected(
    projection: Projection,
    (ni, nj): (u32, u32),
    (lon1, lat1): (u32, i32),
    (dx, dy): (u32, u32),
    scan: u8,
    flags: u8,
    id: MessageId,
) -> Result<GridSpec, DecodeError> {
    let (lon1, lat1) = (f64::from(lon1) * 1e-6, f64::from(lat1) * 1e-6);
    let (x1, y1) = projection
        .forward(lon1, lat1)
        .ok_or_else(|| DecodeError::Corrupt {
            message: id,
            reason: format!("section 3: first point ({lon1}, {lat1}) is off the projection"),
        })?;
    // Dx and Dy are in millimetres.
    let (dx, dy) = (f64::from(dx) * 1e-3, f64::from(dy) * 1e-3);
    let (ni, nj) = (ni as usize, nj as usize);
    let x0 = if scan & 0x80 != 0 {
        x1 - ni.saturating_sub(1) as f64 * dx
    } else {
        x1
    };
    let dy = if scan & 0x40 != 0 { dy } else { -dy };
    if dx <= 0.0 || dy == 0.0 {
        return Err(DecodeError::Corrupt {
            message: id,
            reason: format!("section 3: grid lengths {dx} m × {dy} m"),
        });
    }
    Ok(GridSpec {
        ni,
        nj,
        scan,
        geometry: GridGeometry::Projected {
            projection,
            x0,
            y0: y1,
            dx,
            dy,
        },
        winds_grid_relative: flags & 0x08 != 0,
    })
}

/// Latitudes (degrees, north to south) of the 2n rows of a global Gaussian
/// grid: arcsines of the roots of the Legendre polynomial P₂ₙ, by Newton's
/// method from the classic cosine first guess.
pub fn gaussian_latitudes(n: usize) -> Vec<f64> {
    let nlat = 2 * n;
    let mut lats = Vec::with_capacity(nlat);
    for k in 0..nlat {
        let mut x = (std::f64::consts::PI * (k as f64 + 0.75) / (nlat as f64 + 0.5)).cos();
        for _ in 0..100 {
            // P_nlat(x) and its derivative by the three-term recurrence.
            let (mut p0, mut p1) = (1.0, x);
            for l in 2..=nlat {
                let l = l as f64;
                let p2 = ((2.0 * l - 1.0) * x * p1 - (l - 1.0) * p0) / l;
                p0 = p1;
                p1 = p2;
            }
            let dp = nlat as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-15 {
                break;
            }
        }
        lats.push(x.asin().to_degrees());
    }
    lats
}

/// The `nj` rows of Gaussian grid N`n` from `lat1` towards `lat2`; `None`
/// when they are not on the grid.
fn gaussian_rows(n: usize, lat1: f64, lat2: f64, nj: usize) -> Option<Vec<f64>> {
    // Real N tops out in the low thousands; refusing absurd values keeps a
    // corrupt header from costing minutes of root finding.
    if n == 0 || n > 8000 {
        return None;
    }
    let all = gaussian_latitudes(n);
    let start = all
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1 - lat1).abs().total_cmp(&(b.1 - lat1).abs()))
        .map(|(k, _)| k)?;
    // Coded latitudes are rounded to the angle unit (10⁻⁶ degree, or coarser
    // in old files); allow for that, well under half a row.
    let tolerance = 90.0 / (4.0 * n as f64);
    if (all[start] - lat1).abs() > tolerance.min(0.01) {
        return None;
    }
    let rows: Vec<f64> = if lat2 <= lat1 {
        all.get(start..start.checked_add(nj)?)?.to_vec()
    } else {
        let first = (start + 1).checked_sub(nj)?;
        all.get(first..=start)?.iter().rev().copied().collect()
    };
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_latitudes_are_legendre_roots() {
        // N1: the roots of P2 are ±1/√3.
        let l = gaussian_latitudes(1);
        let want = (1.0f64 / 3.0).sqrt().asin().to_degrees();
        assert!((l[0] - want).abs() < 1e-12 && (l[1] + want).abs() < 1e-12);
        // Symmetric, descending, within the poles.
        let l = gaussian_latitudes(80);
        assert_eq!(l.len(), 160);
        assert!(l.windows(2).all(|w| w[0] > w[1]));
        assert!((l[0] + l[159]).abs() < 1e-10 && l[0] < 90.0);
        // A regional subset read south to north.
        let rows = gaussian_rows(80, l[100], l[90], 11).unwrap();
        assert_eq!(rows.first(), Some(&l[100]));
        assert_eq!(rows.last(), Some(&l[90]));
    }
}
