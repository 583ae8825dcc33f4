//! A band's values in the units users expect: the packed integers
//! (`_Unsigned`, `_FillValue` on the raw value, `scale_factor` and
//! `add_offset` in f64), then, for L1b radiances, brightness temperature
//! (Planck, bands 7–16) or reflectance factor (`kappa0`, bands 1–6).
//! Fill, off-disk and poor-quality pixels (DQF 2 and up) are NaN.

use netcdf::{File, Variable};
use protocol::grid::{Coded, GridValues};

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
        (!self.is_fill(raw)).then_some(self.integer(raw) as f64 * self.scale + self.offset)
    }

    /// Whether a raw integer is the fill value.
    pub(crate) fn is_fill(&self, raw: i16) -> bool {
        self.fill == Some(self.integer(raw))
    }

    fn integer(&self, raw: i16) -> i64 {
        if self.unsigned {
            i64::from(raw as u16)
        } else {
            i64::from(raw)
        }
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
    /// raw · scale + offset (NaN for fill, off-disk or bad quality); empty
    /// unless asked for.
    pub stored: Vec<f32>,
    /// The shown values, as the raw integers with one shown value per
    /// integer: exact (each raw value converts to one value either way) in
    /// half the memory of f32, and the conversion runs once per integer
    /// instead of once per pixel.
    pub shown: GridValues,
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
    // DQF 0 good, 1 conditionally usable; 2 out of range, 3 no value,
    // 4 (L1b) focal plane too warm; 255 (fill) off the disk.
    let good = |k: usize| dqf.as_ref().is_none_or(|q| (q[k] as u8) <= 1);
    let stored = if keep_stored {
        (0..raw.len())
            .map(|k| {
                let v = packing.unpack(raw[k]).filter(|_| good(k));
                v.map_or(f32::NAN, |v| v as f32)
            })
            .collect()
    } else {
        Vec::new()
    };
    let shown_of = |r: i16| {
        let v = packing.unpack(r).unwrap_or(f64::NAN);
        conversion.apply(v) as f32
    };
    Ok(Unpacked {
        stored,
        shown: shown_values(&raw, |k| good(k) && !packing.is_fill(raw[k]), shown_of),
    })
}

/// The raw integers as codes (their 16 bits), with `shown(raw)` per code
/// and one code past the largest good one for pixels that are not `good`;
/// f32 values in the rare case that no code is left for them.
fn shown_values(
    raw: &[i16],
    good: impl Fn(usize) -> bool,
    shown: impl Fn(i16) -> f32,
) -> GridValues {
    let largest_good = (0..raw.len())
        .filter(|&k| good(k))
        .map(|k| raw[k] as u16)
        .max()
        .unwrap_or(0);
    let Some(no_value) = largest_good.checked_add(1) else {
        let floats = (0..raw.len())
            .map(|k| if good(k) { shown(raw[k]) } else { f32::NAN })
            .collect();
        return GridValues::Floats(floats);
    };
    let codes: Vec<u16> = (0..raw.len())
        .map(|k| if good(k) { raw[k] as u16 } else { no_value })
        .collect();
    let mut table: Vec<f32> = (0..no_value).map(|c| shown(c as i16)).collect();
    table.push(f32::NAN);
    match Coded::new(codes, table) {
        Some(coded) => GridValues::Coded(coded),
        // Unreachable: every code is at most `no_value`.
        None => GridValues::Floats(raw.iter().map(|&r| shown(r)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes keep every pixel's shown value and quality: each good pixel
    /// reads the same value as converting it directly; the others NaN.
    #[test]
    fn shown_values_are_exact_codes() {
        let raw: Vec<i16> = vec![5, -1, 4095, 0, 17, 4095, 3];
        let good = |k: usize| k != 4 && raw[k] != -1;
        let shown = |r: i16| (f64::from(r as u16) * 0.25 + 3.0).sqrt() as f32;
        let values = shown_values(&raw, good, shown);
        let GridValues::Coded(coded) = &values else {
            panic!("expected codes");
        };
        assert_eq!(
            coded.table().len(),
            4097,
            "codes up to the largest good one, plus no-value"
        );
        for (k, &r) in raw.iter().enumerate() {
            let v = values[k];
            if good(k) {
                assert_eq!(v.to_bits(), shown(r).to_bits(), "pixel {k}");
            } else {
                assert!(v.is_nan(), "pixel {k}");
            }
        }
        // No code left for "no value": plain f32.
        let full: Vec<i16> = vec![-1, 2];
        let values = shown_values(&full, |_| true, shown);
        assert!(matches!(values, GridValues::Floats(_)));
        assert_eq!(values[1], shown(2));
    }

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
