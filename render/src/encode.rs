//! PNG encoding of palette images.

use protocol::style::Rgba;

/// Encodes `indices` (row-major, `width`×`height`) with `palette` as an
/// 8-bit indexed PNG with transparency.
///
/// Measured on a real temperature tile: fdeflate with the `Sub` filter
/// gives 13 KB in ~140 µs; no filter 67 KB at the same speed; zlib level 6
/// 10 KB but 15× slower. Ramp indices vary smoothly along rows, so `Sub`
/// residuals are small.
pub fn encode_indexed_png(
    indices: &[u8],
    width: u32,
    height: u32,
    palette: &[Rgba],
) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::with_capacity(indices.len() / 4 + 1024);
    let rgb: Vec<u8> = palette.iter().flat_map(|c| [c[0], c[1], c[2]]).collect();
    // tRNS may stop at the last non-opaque entry.
    let last_translucent = palette
        .iter()
        .rposition(|c| c[3] != 255)
        .map_or(0, |p| p + 1);
    let alpha: Vec<u8> = palette[..last_translucent].iter().map(|c| c[3]).collect();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(rgb);
    if !alpha.is_empty() {
        enc.set_trns(alpha);
    }
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::Filter::Sub);
    let mut writer = enc.write_header()?;
    writer.write_image_data(indices)?;
    writer.finish()?;
    Ok(out)
}
