//! `wxfarm inspect` on a NetCDF satellite product: its variables and
//! projection, and a band's values with each pixel's position (CSV:
//! lon, lat, row, col, value, shown) or as raw little-endian f32.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use decode::netcdf::{Quantity, decode_band, describe_netcdf};
use protocol::grid::GridGeometry;
use protocol::grid::projection::Projection;

/// Lists the product, its projection, bands and variables.
pub fn list(bytes: &[u8], name: &str, out: &mut impl Write) -> Result<()> {
    let (p, variables) = describe_netcdf(bytes).with_context(|| name.to_owned())?;
    writeln!(
        out,
        "{name}: GOES-R ABI {} {} {}, scan {} to {}",
        p.kind.label(),
        p.platform,
        p.sector.title(),
        p.start.format("%Y-%m-%dT%H:%M:%SZ"),
        p.end.format("%Y-%m-%dT%H:%M:%SZ")
    )?;
    if let GridGeometry::Projected {
        projection: Projection::Geostationary(g),
        x0,
        y0,
        dx,
        dy,
    } = &p.geometry
    {
        let h = g.height();
        writeln!(
            out,
            "grid: {} x {} scan angles, x from {:.6} step {:.6} rad, y from {:.6} step {:.6} rad; {}",
            p.ni,
            p.nj,
            x0 / h,
            dx / h,
            y0 / h,
            dy / h,
            g.proj_string()
        )?;
    }
    for (k, b) in p.bands.iter().enumerate() {
        let quantity = match Quantity::of_band(b.band) {
            Quantity::BrightnessTemperature => "brightness temperature, K",
            Quantity::ReflectanceFactor => "reflectance factor",
        };
        writeln!(
            out,
            "{}: band {} ({} µm) from {}: {quantity}",
            k + 1,
            b.band,
            b.wavelength_um,
            b.data
        )?;
    }
    writeln!(out, "variables:")?;
    for v in variables {
        writeln!(out, "  {v}")?;
    }
    Ok(())
}

/// Writes band `index` (0-based): CSV (`.csv`: lon, lat, row, col, value
/// as stored, shown value) or raw little-endian f32 of the shown values.
pub fn write_values(bytes: &[u8], name: &str, index: usize, path: &Path) -> Result<usize> {
    let (grid, stored) = decode_band(bytes, index, true).with_context(|| name.to_owned())?;
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    if path.extension().is_some_and(|e| e == "csv") {
        writeln!(w, "lon,lat,row,col,value,shown")?;
        for row in 0..grid.nj {
            for col in 0..grid.ni {
                let (lon, lat) = grid.lonlat(col as f64, row as f64);
                let k = row * grid.ni + col;
                writeln!(
                    w,
                    "{lon:.5},{lat:.5},{row},{col},{},{}",
                    stored[k], grid.values[k]
                )?;
            }
        }
    } else {
        for v in grid.values.iter() {
            w.write_all(&v.to_le_bytes())?;
        }
    }
    w.flush()?;
    Ok(grid.values.len())
}

/// Prints `lon,lat,row,col,value,shown` for the pixel under each point
/// (row and column -1 and values NaN outside the grid or off the disk).
pub fn values_at(
    bytes: &[u8],
    name: &str,
    index: usize,
    points: &[(f64, f64)],
    out: &mut impl Write,
) -> Result<()> {
    let (grid, stored) = decode_band(bytes, index, true).with_context(|| name.to_owned())?;
    writeln!(out, "lon,lat,row,col,value,shown")?;
    for &(lon, lat) in points {
        match grid.locate(lon, lat) {
            Some((i, j)) => {
                let col = (i.round().max(0.0) as usize).min(grid.ni - 1);
                let row = (j.round().max(0.0) as usize).min(grid.nj - 1);
                let k = row * grid.ni + col;
                writeln!(
                    out,
                    "{lon},{lat},{row},{col},{},{}",
                    stored[k], grid.values[k]
                )?;
            }
            None => writeln!(out, "{lon},{lat},-1,-1,NaN,NaN")?,
        }
    }
    Ok(())
}
