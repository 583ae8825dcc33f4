//! A band's values in the units users expect: the packed integers
//! (`_Unsigned`, `_FillValue` on the raw value, `scale_factor` and
//! `add_offset` in f64), then, for L1b radiances, brightness temperature
//! (Planck, bands 7–16) or reflectance factor (`kappa0`, bands 1–6).
//! Fill, off-disk and poor-quality pixels (DQF 2 and up) are NaN.

use netcdf::{File, Variable};

use super::abi::{BandVar, ProductKind};
use super::attrs::{err, scalar, var_number, var_text};
use crate::error::DecodeError;

/// What a band's values mean once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Brightness temperature, K (IR bands 7–16).
    BrightnessTemperature,
    /// Reflectance factor, 0–1 (visible and near-IR bands 1–6).
    ReflectanceFactor,
}

impl Quantity {
    /// The quantity ABI band `band` is shown as.
    pub fn of_band(band: u8) -> Self {
        if band <= 6 {
            Self::ReflectanceFactor
        } else {
            Self::BrightnessTemperature
        }
    }
}

/// How packed values unpack: raw → (raw · scale + offset), with the fill
/// compared on the raw value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Packing {
    pub unsigned: bool,
    pub fill: Option<i64>,
    pub scale: f64,
    pub offset: f64,
}

impl Packing {
    pub(crate) fn of(var: &Variable<'_>) -> Self {
        let unsigned = var_text(var, "_Unsigned").is_some_and(|u| u.eq_ignore_ascii_case("true"));
        let fill = var_number(var, "_FillValue").map(|f| {
            let f = f as i64;
            // A 16-bit fill of -1 is 65535 once the type is unsigned.
            if unsigned && f < 0 { f + 65536 } else { f }
        });
        Self {
            unsigned,
            fill,
            scale: var_number(var, "scale_factor").unwrap_or(1.0),
            offset: var_number(var, "add_offset").unwrap_or(0.0),
        }
    }

    /// The physical value of one raw 16-bit integer; `None` for fill.
    pub(crate) fn unpack(&self, raw: i16) -> Option<f64> {
        let r = if self.unsigned {
            i64::from(raw as u16)
        } else {
            i64::from(raw)
        };
        (self.fill != Some(r)).then_some(r as f64 * self.scale + self.offset)
    }
}

/// The conversion from the stored value to the [`Quantity`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Conversion {
    /// Stored as shown (L2 CMI).
    None,
    /// Reflectance factor = kappa0 · radiance.
    Kappa0(f64),
    /// BT = (fk2 / ln(fk1 / L + 1) − bc1) / bc2.
    Planck {
        fk1: f64,
        fk2: f64,
        bc1: f64,
        bc2: f64,
    },
}

impl Conversion {
    pub(crate) fn of(file: &File, kind: ProductKind, band: u8) -> Result<Self, DecodeError> {
        if kind != ProductKind::L1bRadiance {
            return Ok(Self::None);
        }
        let need = |name: &str| {
            scalar(file, name)
                .ok_or_else(|| err(format!("L1b band {band}: {name} is missing or fill")))
        };
        Ok(match Quantity::of_band(band) {
            Quantity::ReflectanceFactor => Self::Kappa0(need("kappa0")?),
            Quantity::BrightnessTemperature => Self::Planck {
                fk1: need("planck_fk1")?,
                fk2: need("planck_fk2")?,
                bc1: need("planck_bc1")?,
                bc2: need("planck_bc2")?,
            },
        })
    }

    /// The shown value of a stored one; NaN where undefined (a radiance at
    /// or below zero has no brightness temperature).
    pub(crate) fn apply(&self, v: f64) -> f64 {
        match *self {
            Self::None => v,
            Self::Kappa0(k) => k * v,
            Self::Planck { fk1, fk2, bc1, bc2 } => {
                if v <= 0.0 {
                    f64::NAN
                } else {
                    (fk2 / (fk1 / v + 1.0).ln() - bc1) / bc2
                }
            }
        }
    }
}

/// One band, unpacked: the stored physical values (radiance for L1b) and
/// the shown ones, row-major from the file's first row (north).
pub(crate) struct Unpacked {
    /// raw · scale + offset (NaN for fill, off-disk or bad quality).
    pub stored: Vec<f32>,
    pub shown: Vec<f32>,
}

/// Reads and unpacks `band` of a product of `n` points. `keep_stored`
/// keeps the scaled values too (for inspection).
pub(crate) fn read_band(
    file: &File,
    kind: ProductKind,
    band: &BandVar,
    n: usize,
    keep_stored: bool,
) -> Result<Unpacked, DecodeError> {
    let var = file
        .variable(&band.data)
        .ok_or_else(|| err(format!("variable {} is missing", band.data)))?;
    if var.len() != n {
        return Err(err(format!(
            "{} has {} values for a {n}-point grid",
            band.data,
            var.len()
        )));
    }
    let packing = Packing::of(&var);
    let conversion = Conversion::of(file, kind, band.band)?;
    let raw = var
        .get_values::<i16, _>(..)
        .map_err(|e| err(format!("{}: {e}", band.data)))?;
    let dqf = match &band.dqf {
        Some(name) => {
            let q = file
                .variable(name)
                .map(|v| v.get_values::<i8, _>(..))
                .transpose()
                .map_err(|e| err(format!("{name}: {e}")))?
                .unwrap_or_default();
            (q.len() == n).then_some(q)
        }
        None => None,
    };
    let mut stored = Vec::with_capacity(if keep_stored { n } else { 0 });
    let mut shown = Vec::with_capacity(n);
    for (k, &r) in raw.iter().enumerate() {
        // DQF 0 good, 1 conditionally usable; 2 out of range, 3 no value,
        // 4 (L1b) focal plane too warm; 255 (fill) off the disk.
        let good = dqf.as_ref().is_none_or(|q| (q[k] as u8) <= 1);
        let v = packing.unpack(r).filter(|_| good).unwrap_or(f64::NAN);
        if keep_stored {
            stored.push(v as f32);
        }
        shown.push(conversion.apply(v) as f32);
    }
    Ok(Unpacked { stored, shown })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_fill_is_compared_on_the_raw_value() {
        let p = Packing {
            unsigned: true,
            fill: Some(65535),
            scale: 0.5,
            offset: -1.0,
        };
        assert_eq!(p.unpack(-1), None);
        // -2 as an unsigned short is 65534.
        assert_eq!(p.unpack(-2), Some(65534.0 * 0.5 - 1.0));
        let signed = Packing {
            unsigned: false,
            ..p
        };
        assert_eq!(signed.unpack(-2), Some(-2.0));
    }
}
