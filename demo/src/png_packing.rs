//! GRIB2 data representation template 5.41: simple packing whose packed
//! integers are stored as a PNG image in section 7, as NOAA MRMS does.
//!
//! The `grib` crate decodes this template but its encoder only offers simple
//! and complex packing, so sections 5–7 are written here and plugged into its
//! message writer through [`WriteGrib2PointValues`].

use grib::WriteToBuffer;
use grib::def::grib2::template::{Template5_41, param_set};
use grib::def::grib2::{DataRepresentationTemplate, Section5Payload};
use grib::encoder::{WriteGrib2DataSections, WriteGrib2PointValues};

use super::DemoError;

/// Bits per packed value. MRMS writes 16-bit greyscale PNGs; declaring the
/// same depth in section 5 keeps readers that trust either one correct.
const BITS: u8 = 16;

/// A field packed as template 5.41, ready to be written.
#[derive(Debug)]
pub struct PngPacked {
    params: param_set::SimplePacking,
    num_points: u32,
    png: Vec<u8>,
}

/// Simple-packing parameters for `values` with decimal scale `dec`: the
/// reference value is the scaled minimum (so every code is ≥ 0) and the
/// binary scale the smallest that makes the largest code fit 16 bits.
/// Decoding gives `(R + X·2^E)·10^−D`.
pub fn packing_params(values: &[f32], dec: i16) -> param_set::SimplePacking {
    let scale = 10f64.powi(dec as i32);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in values {
        let s = v as f64 * scale;
        min = min.min(s);
        max = max.max(s);
    }
    if !min.is_finite() {
        (min, max) = (0.0, 0.0);
    }
    // Rounding the reference down keeps codes non-negative even after the
    // f32 conversion; for integral scaled minimums (MRMS: −9990) it is exact.
    let ref_val = min.floor() as f32;
    let mut exp = 0i16;
    while (max - ref_val as f64) / 2f64.powi(exp as i32) > u16::MAX as f64 {
        exp += 1;
    }
    param_set::SimplePacking {
        ref_val,
        exp,
        dec,
        num_bits: BITS,
    }
}

impl PngPacked {
    /// Packs `values` (row-major, `width` × `height`) with decimal scale
    /// `dec`, compressing the PNG with `compression`.
    pub fn encode(
        values: &[f32],
        width: u32,
        height: u32,
        dec: i16,
        compression: png::Compression,
    ) -> Result<Self, DemoError> {
        if values.len() != width as usize * height as usize {
            return Err(DemoError::Encode(format!(
                "{} values for a {width}×{height} image",
                values.len()
            )));
        }
        let params = packing_params(values, dec);
        let scale = 10f64.powi(dec as i32);
        let step = 2f64.powi(params.exp as i32);
        let r = params.ref_val as f64;
        // PNG stores 16-bit samples big-endian.
        let mut raw = Vec::with_capacity(values.len() * 2);
        for &v in values {
            let code = ((v as f64 * scale - r) / step).round().clamp(0.0, 65535.0) as u16;
            raw.extend_from_slice(&code.to_be_bytes());
        }
        let mut png = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png, width, height);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Sixteen);
            enc.set_compression(compression);
            let mut writer = enc.write_header()?;
            writer.write_image_data(&raw)?;
            writer.finish()?;
        }
        Ok(Self {
            params,
            num_points: values.len() as u32,
            png,
        })
    }

    /// The simple-packing parameters written to section 5.
    pub fn params(&self) -> &param_set::SimplePacking {
        &self.params
    }

    /// Size of the PNG image (section 7 payload) in bytes.
    pub fn png_len(&self) -> usize {
        self.png.len()
    }

    fn section5(&self) -> Section5Payload {
        Section5Payload {
            num_encoded_points: self.num_points,
            template_num: 41,
            template: DataRepresentationTemplate::_5_41(Template5_41 {
                simple: self.params.clone(),
                // Code table 5.1: floating point.
                orig_field_type: 0,
            }),
        }
    }
}

fn header(len: usize, num: u8, buf: &mut [u8]) -> Result<usize, &'static str> {
    if buf.len() < len {
        return Err("destination buffer is too small");
    }
    let len32 = u32::try_from(len).map_err(|_| "section longer than 4 GiB")?;
    let mut pos = len32.write_to_buffer(buf)?;
    pos += num.write_to_buffer(&mut buf[pos..])?;
    Ok(pos)
}

impl WriteGrib2DataSections for PngPacked {
    fn section5_len(&self) -> usize {
        5 + self.section5().num_bytes_required()
    }

    fn write_section5(&self, buf: &mut [u8]) -> Result<usize, &'static str> {
        let mut pos = header(self.section5_len(), 5, buf)?;
        pos += self.section5().write_to_buffer(&mut buf[pos..])?;
        Ok(pos)
    }

    fn section6_len(&self) -> usize {
        6
    }

    fn write_section6(&self, buf: &mut [u8]) -> Result<usize, &'static str> {
        let mut pos = header(6, 6, buf)?;
        // Code table 6.0: 255 = no bit-map; MRMS marks gaps with values.
        pos += 255u8.write_to_buffer(&mut buf[pos..])?;
        Ok(pos)
    }

    fn section7_len(&self) -> usize {
        5 + self.png.len()
    }

    fn write_section7(&self, buf: &mut [u8]) -> Result<usize, &'static str> {
        let len = self.section7_len();
        let pos = header(len, 7, buf)?;
        buf[pos..len].copy_from_slice(&self.png);
        Ok(len)
    }
}

impl WriteGrib2PointValues for PngPacked {
    fn data_sections_len(&self) -> usize {
        self.section5_len() + self.section6_len() + self.section7_len()
    }

    fn write_data_sections(&self, buf: &mut [u8]) -> Result<usize, &'static str> {
        let mut pos = self.write_section5(buf)?;
        pos += self.write_section6(&mut buf[pos..])?;
        pos += self.write_section7(&mut buf[pos..])?;
        Ok(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrms_like_values_get_mrms_parameters() {
        let v = [-999.0f32, -99.0, 12.5, 64.9];
        let p = packing_params(&v, 1);
        assert_eq!(p.ref_val, -9990.0);
        assert_eq!((p.exp, p.dec, p.num_bits), (0, 1, 16));
    }

    #[test]
    fn wide_ranges_use_a_binary_scale() {
        let p = packing_params(&[0.0, 1.0e6], 0);
        assert!(p.exp > 0);
        assert!(1.0e6 / 2f64.powi(p.exp as i32) <= 65535.0);
    }
}
