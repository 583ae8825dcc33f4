//! CCSDS (AEC) packing, template 5.42: the stream is decoded by libaec
//! (through the `aec` crate) into whole-byte samples, which are then
//! scaled in one pass.
//!
//! The `grib` crate decodes the same stream with the pure-Rust `rust-aec`
//! and reads each sample back through a bit iterator; the values are the
//! same (compared bit for bit in `identity`), only the work differs.

use grib::def::grib2::template::Template5_42;

use super::Fault;
use super::simple::Scale;

/// Unpacks a template 5.42 stream (`data` is section 7 after its 5-octet
/// header) into `out`, one value per encoded point. The sample buffer is
/// `out.len()` samples of at most 4 bytes: bounded by the caller's point
/// budget, never by the stream.
pub(crate) fn unpack(data: &[u8], t: &Template5_42, out: &mut [f32]) -> Result<(), Fault> {
    let scale = Scale::new(&t.simple);
    if t.simple.num_bits == 0 {
        out.fill(scale.constant());
        return Ok(());
    }
    if out.is_empty() {
        return Ok(());
    }
    let bits = u32::from(t.simple.num_bits);
    if bits > 32 {
        return Err(Fault::Corrupt(format!("{bits} bits per CCSDS sample")));
    }
    // Big-endian samples whatever the file's flag: the byte order of the
    // decoded samples is ours to choose and does not change the stream.
    let flags = u32::from(t.mask) | aec::DATA_MSB;
    let width = aec::bytes_per_sample(bits, flags);
    let mut samples = vec![0u8; out.len() * width];
    let written = aec::decode(
        data,
        bits,
        u32::from(t.block_size),
        u32::from(t.ref_sample_interval),
        flags,
        &mut samples,
    )
    .map_err(|e| Fault::Corrupt(format!("section 7: CCSDS: {e}")))?;
    if written != samples.len() {
        return Err(Fault::Corrupt(format!(
            "section 7: CCSDS stream holds {} of {} values",
            written / width,
            out.len()
        )));
    }
    // As the crate: each sample is read as an unsigned big-endian integer
    // of its whole bytes, converted to f32 once, then scaled.
    match width {
        1 => convert(&samples, out, |s| scale.apply(f32::from(s[0]))),
        2 => convert(&samples, out, |s| {
            scale.apply(f32::from(u16::from_be_bytes([s[0], s[1]])))
        }),
        // Below 2^31, so the signed conversion (which vectorises) is exact
        // where the unsigned one is and rounds the same elsewhere.
        3 => convert(&samples, out, |s| {
            scale.apply(i32::from_be_bytes([0, s[0], s[1], s[2]]) as f32)
        }),
        _ => convert(&samples, out, |s| {
            scale.apply(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as f32)
        }),
    }
    Ok(())
}

/// `out[k] = f(sample k)` over `width`-byte samples (`width` = the
/// samples' length over `out`'s).
#[inline(always)]
fn convert(samples: &[u8], out: &mut [f32], f: impl Fn(&[u8]) -> f32) {
    let width = samples.len() / out.len().max(1);
    for (o, s) in out.iter_mut().zip(samples.chunks_exact(width)) {
        *o = f(s);
    }
}
