//! What a GOES-R ABI product is: platform, sector, bands, scan time and
//! the fixed grid (scan angles on the `goes_imager_projection`), read from
//! the file's attributes and variables, never from its name.

use chrono::{DateTime, SubsecRound, Utc};
use netcdf::{File, Variable};
use protocol::grid::GridGeometry;
use protocol::grid::projection::{Geostationary, Projection};

use super::attrs::{err, global_text, required, var_text};
use crate::error::DecodeError;

/// Which ABI product a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKind {
    /// L1b radiances (`Rad`): converted to brightness temperature or
    /// reflectance factor with the file's own coefficients.
    L1bRadiance,
    /// L2 Cloud and Moisture Imagery, one band (`CMI`).
    L2Cmip,
    /// L2 Cloud and Moisture Imagery, all sixteen bands (`CMI_C01`…).
    L2Mcmip,
}

impl ProductKind {
    /// Short product name, as in NOAA's file names.
    pub fn label(self) -> &'static str {
        match self {
            Self::L1bRadiance => "L1b Rad",
            Self::L2Cmip => "L2 CMIP",
            Self::L2Mcmip => "L2 MCMIP",
        }
    }
}

/// The ABI scan sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sector {
    FullDisk,
    Conus,
    /// Mesoscale sector 1 or 2 (0 when the file does not say which).
    Meso(u8),
}

impl Sector {
    /// As in layer names: `fulldisk`, `conus`, `meso1`.
    pub fn slug(self) -> String {
        match self {
            Self::FullDisk => "fulldisk".into(),
            Self::Conus => "conus".into(),
            Self::Meso(0) => "meso".into(),
            Self::Meso(n) => format!("meso{n}"),
        }
    }

    /// As in layer titles: `Full Disk`, `CONUS`, `Mesoscale 1`.
    pub fn title(self) -> String {
        match self {
            Self::FullDisk => "Full Disk".into(),
            Self::Conus => "CONUS".into(),
            Self::Meso(0) => "Mesoscale".into(),
            Self::Meso(n) => format!("Mesoscale {n}"),
        }
    }
}

/// One band of a product and the variable that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct BandVar {
    /// ABI band number, 1–16.
    pub band: u8,
    /// Central wavelength, µm.
    pub wavelength_um: f32,
    /// The data variable (`Rad`, `CMI`, `CMI_C13`).
    pub data: String,
    /// Its quality flags (`DQF`, `DQF_C13`), when present.
    pub dqf: Option<String>,
}

/// Everything but the values.
#[derive(Debug, Clone)]
pub struct Product {
    pub kind: ProductKind,
    /// `platform_ID`, e.g. `G16`.
    pub platform: String,
    pub sector: Sector,
    pub bands: Vec<BandVar>,
    /// Scan start (`time_coverage_start`), whole seconds.
    pub start: DateTime<Utc>,
    /// Scan end (`time_coverage_end`), whole seconds.
    pub end: DateTime<Utc>,
    pub ni: usize,
    pub nj: usize,
    /// Scan-angle grid times the satellite height, on the geostationary
    /// projection.
    pub geometry: GridGeometry,
}

/// Reads a product's description.
pub fn describe(file: &File) -> Result<Product, DecodeError> {
    let (kind, bands) = if file.variable("Rad").is_some() {
        (ProductKind::L1bRadiance, vec![single_band(file, "Rad")?])
    } else if file.variable("CMI").is_some() {
        (ProductKind::L2Cmip, vec![single_band(file, "CMI")?])
    } else {
        let bands = multi_band(file)?;
        if bands.is_empty() {
            return Err(err(
                "no ABI data variable (Rad, CMI or CMI_Cnn): not a GOES-R ABI product",
            ));
        }
        (ProductKind::L2Mcmip, bands)
    };
    let platform = global_text(file, "platform_ID")
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
        .ok_or_else(|| err("global attribute platform_ID is missing"))?;
    let start = time(file, "time_coverage_start")?;
    let end = time(file, "time_coverage_end").unwrap_or(start);
    let (ni, x0, dx) = axis(file, "x")?;
    let (nj, y0, dy) = axis(file, "y")?;
    let projection = projection(file, &bands[0].data)?;
    let h = projection.height();
    Ok(Product {
        kind,
        platform,
        sector: sector(file),
        bands,
        start,
        end,
        ni,
        nj,
        geometry: GridGeometry::Projected {
            projection: Projection::Geostationary(projection),
            x0: x0 * h,
            y0: y0 * h,
            dx: dx * h,
            dy: dy * h,
        },
    })
}

fn single_band(file: &File, data: &str) -> Result<BandVar, DecodeError> {
    let band = first_number(file, "band_id").ok_or_else(|| err("variable band_id is missing"))?;
    let wavelength = first_number(file, "band_wavelength").unwrap_or(f64::NAN);
    band_var(band, wavelength, data.to_owned(), "DQF".to_owned(), file)
}

fn multi_band(file: &File) -> Result<Vec<BandVar>, DecodeError> {
    let mut out = Vec::new();
    for n in 1..=16u8 {
        let data = format!("CMI_C{n:02}");
        if file.variable(&data).is_none() {
            continue;
        }
        let band = first_number(file, &format!("band_id_C{n:02}")).unwrap_or(f64::from(n));
        let wavelength =
            first_number(file, &format!("band_wavelength_C{n:02}")).unwrap_or(f64::NAN);
        out.push(band_var(
            band,
            wavelength,
            data,
            format!("DQF_C{n:02}"),
            file,
        )?);
    }
    Ok(out)
}

fn band_var(
    band: f64,
    wavelength: f64,
    data: String,
    dqf: String,
    file: &File,
) -> Result<BandVar, DecodeError> {
    if !(1.0..=16.0).contains(&band) || band.fract() != 0.0 {
        return Err(err(format!("band_id {band} is not an ABI band (1-16)")));
    }
    Ok(BandVar {
        band: band as u8,
        wavelength_um: wavelength as f32,
        data,
        dqf: file.variable(&dqf).is_some().then_some(dqf),
    })
}

/// The first value of a (one-element) variable.
fn first_number(file: &File, name: &str) -> Option<f64> {
    let var = file.variable(name)?;
    let v = var.get_values::<f64, _>(..).ok()?;
    v.first().copied().filter(|v| v.is_finite())
}

fn time(file: &File, name: &str) -> Result<DateTime<Utc>, DecodeError> {
    let text = global_text(file, name).ok_or_else(|| err(format!("{name} is missing")))?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|e| err(format!("{name} {text:?}: {e}")))
}

/// The sector from the product name in `dataset_name` (`…-RadM1-…`,
/// `…-CMIPC-…`), else from `scene_id`.
fn sector(file: &File) -> Sector {
    let from_name = global_text(file, "dataset_name").and_then(|n| {
        let product = n.split('-').nth(2)?;
        let tail = ["MCMIP", "CMIP", "Rad"]
            .iter()
            .find_map(|p| product.strip_prefix(p))?;
        Some(match tail {
            "F" => Sector::FullDisk,
            "C" => Sector::Conus,
            "M1" => Sector::Meso(1),
            "M2" => Sector::Meso(2),
            _ => return None,
        })
    });
    from_name.unwrap_or_else(
        || match global_text(file, "scene_id").as_deref().unwrap_or("") {
            "Full Disk" => Sector::FullDisk,
            "CONUS" => Sector::Conus,
            _ => Sector::Meso(0),
        },
    )
}

/// A scan-angle axis: length, first angle and step (radians), from the
/// packed coordinate variable. The axis must be regular.
fn axis(file: &File, name: &str) -> Result<(usize, f64, f64), DecodeError> {
    let var = file
        .variable(name)
        .ok_or_else(|| err(format!("coordinate variable {name} is missing")))?;
    let n = var.len();
    if !(2..=crate::MAX_POINTS).contains(&n) {
        return Err(err(format!("{name} has {n} points")));
    }
    let angles = unpack_coordinate(&var)?;
    let (first, last) = (angles[0], angles[n - 1]);
    let step = (last - first) / (n - 1) as f64;
    let regular = step != 0.0
        && angles
            .iter()
            .enumerate()
            .all(|(k, a)| (a - (first + k as f64 * step)).abs() <= step.abs() * 0.01);
    if !regular || !step.is_finite() {
        return Err(err(format!("{name} is not a regular scan-angle axis")));
    }
    Ok((n, first, step))
}

fn unpack_coordinate(var: &Variable<'_>) -> Result<Vec<f64>, DecodeError> {
    let raw = var
        .get_values::<f64, _>(..)
        .map_err(|e| err(format!("{}: {e}", var.name())))?;
    let scale = super::attrs::var_number(var, "scale_factor").unwrap_or(1.0);
    let offset = super::attrs::var_number(var, "add_offset").unwrap_or(0.0);
    Ok(raw.into_iter().map(|r| r * scale + offset).collect())
}

/// The geostationary projection the data variable's `grid_mapping` names.
fn projection(file: &File, data: &str) -> Result<Geostationary, DecodeError> {
    let name = file
        .variable(data)
        .and_then(|v| var_text(&v, "grid_mapping"))
        .unwrap_or_else(|| "goes_imager_projection".to_owned());
    let var = file
        .variable(&name)
        .ok_or_else(|| err(format!("grid mapping variable {name} is missing")))?;
    let mapping = var_text(&var, "grid_mapping_name").unwrap_or_default();
    if mapping != "geostationary" {
        return Err(err(format!(
            "{name}: grid_mapping_name {mapping:?} is not supported (geostationary only)"
        )));
    }
    let sweep_x = match var_text(&var, "sweep_angle_axis").as_deref() {
        Some("x") => true,
        Some("y") => false,
        other => return Err(err(format!("{name}: sweep_angle_axis {other:?}"))),
    };
    let h = required(&var, "perspective_point_height")?;
    let a = required(&var, "semi_major_axis")?;
    let b = required(&var, "semi_minor_axis")?;
    let lon0 = required(&var, "longitude_of_projection_origin")?;
    Geostationary::new(a, b, h, lon0, sweep_x)
        .ok_or_else(|| err(format!("{name}: not a usable geostationary view")))
}
