//! JPEG 2000 packing, template 5.40: the codestream is decoded by
//! OpenJPEG (the codec ecCodes uses, through the `jpeg2k` crate) into i32
//! samples, which are then scaled in one pass.
//!
//! The `grib` crate decodes with the pure-Rust `hayro-jpeg2000`, which
//! yields the same integers (JPEG 2000 as GRIB2 producers write it is
//! lossless or dequantised to integers by the standard's rules; compared
//! bit for bit on the real CMC file in `identity`), converts them to f32
//! and scales them one by one through iterators.
//!
//! The codestream's header is checked against the declared value count
//! before the decoder sees it ([`crate::j2k::check_header`], run by the
//! caller), since the decoder sizes its buffers from that header.

use grib::def::grib2::template::Template5_40;

use super::Fault;
use super::simple::Scale;

/// Unpacks a template 5.40 codestream (`data` is section 7 after its
/// 5-octet header) into `out`, one value per encoded point.
pub(crate) fn unpack(data: &[u8], t: &Template5_40, out: &mut [f32]) -> Result<(), Fault> {
    let scale = Scale::new(&t.simple);
    if t.simple.num_bits == 0 {
        out.fill(scale.constant());
        return Ok(());
    }
    if out.is_empty() {
        return Ok(());
    }
    let corrupt = |e: String| Fault::Corrupt(format!("section 7: JPEG 2000: {e}"));
    let image = jpeg2k::Image::from_bytes(data).map_err(|e| corrupt(e.to_string()))?;
    let [component] = image.components() else {
        return Err(corrupt(format!(
            "{} components, one expected",
            image.num_components()
        )));
    };
    let samples = component.data();
    if samples.len() < out.len() {
        return Err(corrupt(format!(
            "{} samples for {} values",
            samples.len(),
            out.len()
        )));
    }
    for (o, &s) in out.iter_mut().zip(samples) {
        *o = scale.apply(s as f32);
    }
    Ok(())
}
