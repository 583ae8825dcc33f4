//! Our own unpacking of PNG-packed fields (data template 5.41).
//!
//! The grib crate (0.20.2) splits the decoded PNG into values of the bit
//! width section 5 declares. Producers do not always keep the two in step
//! (MRMS files declare 8, 16 or 24 bits), and a PNG whose real depth differs
//! from the declared one then decodes into garbage. The PNG header is the
//! authority on how its pixels are laid out, so we read the samples at the
//! PNG's own depth and apply the simple-packing formula
//! `(R + X·2^E) / 10^D` ourselves.

use grib::def::grib2::template::param_set::SimplePacking;

/// Unpacks `out.len()` values from the PNG stream `payload` (section 7
/// without its 5-octet header) into `out`.
///
/// Rows are unfiltered one at a time and converted straight into `out`:
/// no buffer of the whole decoded image (49 MB for a 16-bit MRMS field)
/// is allocated, written and read again. Interlaced PNGs (no producer
/// writes them) go through [`unpack_frame`].
pub(crate) fn unpack(
    payload: &[u8],
    simple: &SimplePacking,
    out: &mut [f32],
) -> Result<(), String> {
    let scale = Scale::new(simple);
    if simple.num_bits == 0 {
        // As wgrib2: a zero width means a constant field of the reference
        // value, whatever section 7 carries.
        out.fill(scale.apply(0));
        return Ok(());
    }
    let reader = read_header(payload, out.len())?;
    unpack_samples(payload, reader, out, |x| scale.apply(x))
}

/// The packed integers themselves (the X of `(R + X·2^E) / 10^D`) and the
/// value of each, when every sample fits 16 bits: `Ok(None)` for wider
/// samples and a zero width. `codes.len()` integers are written; the
/// table covers every integer up to the largest one written.
pub(crate) fn unpack_codes(
    payload: &[u8],
    simple: &SimplePacking,
    codes: &mut [u16],
) -> Result<Option<Vec<f32>>, String> {
    if simple.num_bits == 0 {
        return Ok(None);
    }
    let reader = read_header(payload, codes.len())?;
    let info = reader.info();
    if info.bit_depth as usize * channels(info.color_type)? > 16 {
        return Ok(None);
    }
    // At most 16 bits: the narrowing keeps every sample.
    unpack_samples(payload, reader, codes, |x| x as u16)?;
    let largest = codes.iter().copied().max().unwrap_or(0);
    let scale = Scale::new(simple);
    Ok(Some(
        (0..=u32::from(largest)).map(|x| scale.apply(x)).collect(),
    ))
}

/// Every sample of the PNG `payload` (its header already read and checked
/// by `reader`), `convert`ed, into `out`.
fn unpack_samples<T: Copy + Default>(
    payload: &[u8],
    mut reader: png::Reader<std::io::Cursor<&[u8]>>,
    out: &mut [T],
    convert: impl Fn(u32) -> T,
) -> Result<(), String> {
    let count = out.len();
    let info = reader.info();
    if info.interlaced {
        out.copy_from_slice(&unpack_frame(payload, count, &convert)?);
        return Ok(());
    }
    let width = info.width as usize;
    let bits = info.bit_depth as usize * channels(info.color_type)?;
    let mut done = 0;
    while done < count {
        let row = reader
            .next_row()
            .map_err(|e| format!("PNG data: {e}"))?
            .ok_or_else(|| format!("PNG yielded {done} of {count} values"))?;
        let need = (count - done).min(width);
        convert_row(row.data(), bits, &convert, &mut out[done..done + need]);
        done += need;
    }
    // Read on to the end of the image data, as a whole-frame read does:
    // a stream cut short after its last row is still refused. At most a
    // row is left (the header check), so this decodes nothing big.
    while reader
        .next_row()
        .map_err(|e| format!("PNG data: {e}"))?
        .is_some()
    {}
    Ok(())
}

/// Unpacks `count` samples as [`unpack_samples`] does, through a buffer
/// of the whole decoded image (the png crate deinterlaces into it).
fn unpack_frame<T: Copy + Default>(
    payload: &[u8],
    count: usize,
    convert: &impl Fn(u32) -> T,
) -> Result<Vec<T>, String> {
    let mut reader = read_header(payload, count)?;
    let info = reader.info();
    let (width, height) = (info.width as usize, info.height as usize);
    let bits = info.bit_depth as usize * channels(info.color_type)?;
    let mut buf = vec![0u8; reader.output_buffer_size().ok_or("PNG too large")?];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("PNG data: {e}"))?;
    let mut out = vec![T::default(); count];
    let mut done = 0;
    for row in buf.chunks_exact(frame.line_size.max(1)).take(height) {
        let need = (count - done).min(width);
        if need == 0 {
            break;
        }
        convert_row(row, bits, convert, &mut out[done..done + need]);
        done += need;
    }
    if done != count {
        return Err(format!("PNG yielded {done} of {count} values"));
    }
    Ok(out)
}

/// Converts the first `out.len()` pixels of one decoded row into `out`.
/// Samples are big-endian and pixels are packed MSB first, so each pixel
/// is one `bits`-wide big-endian integer.
fn convert_row<T>(row: &[u8], bits: usize, convert: impl Fn(u32) -> T, out: &mut [T]) {
    fn each<T, const N: usize>(row: &[u8], out: &mut [T], f: impl Fn([u8; N]) -> T) {
        for (o, p) in out.iter_mut().zip(row.chunks_exact(N)) {
            let mut b = [0u8; N];
            b.copy_from_slice(p);
            *o = f(b);
        }
    }
    match bits {
        8 => each::<T, 1>(row, out, |[b]| convert(u32::from(b))),
        16 => each::<T, 2>(row, out, |p| convert(u32::from(u16::from_be_bytes(p)))),
        24 => each::<T, 3>(row, out, |[a, b, c]| {
            convert(u32::from_be_bytes([0, a, b, c]))
        }),
        32 => each::<T, 4>(row, out, |p| convert(u32::from_be_bytes(p))),
        _ => {
            for (k, o) in out.iter_mut().enumerate() {
                *o = convert(read_bits(row, k * bits, bits));
            }
        }
    }
}

/// Checks the PNG header in `payload` against the `count` values section 5
/// declares, reading no pixels (ingest runs this on every PNG field).
pub(crate) fn check_header(payload: &[u8], count: usize) -> Result<(), String> {
    read_header(payload, count).map(drop)
}

/// Reads the PNG header and checks its size before any pixel is
/// allocated: the header is untrusted, and must fit the values section 5
/// declares. Producers write one pixel per value (`count`×1 or ni×nj); a
/// partly filled last row is allowed.
fn read_header(
    payload: &[u8],
    count: usize,
) -> Result<png::Reader<std::io::Cursor<&[u8]>>, String> {
    let reader = png::Decoder::new(std::io::Cursor::new(payload))
        .read_info()
        .map_err(|e| format!("PNG header: {e}"))?;
    let info = reader.info();
    let (width, height) = (info.width as usize, info.height as usize);
    let bits = info.bit_depth as usize * channels(info.color_type)?;
    if bits > 32 {
        return Err(format!(
            "PNG pixels of {bits} bits are wider than any packed value"
        ));
    }
    let pixels = width.checked_mul(height).ok_or("PNG size overflows")?;
    // A row no wider than the values (else a one-row image of any width
    // would pass: the decoder sizes its buffers from that width).
    if pixels < count || pixels - count >= width.max(1) || width > count.max(1) {
        return Err(format!(
            "PNG holds {width}×{height} pixels, section 5 declares {count} values"
        ));
    }
    Ok(reader)
}

fn channels(color: png::ColorType) -> Result<usize, String> {
    match color {
        png::ColorType::Grayscale => Ok(1),
        png::ColorType::GrayscaleAlpha => Ok(2),
        png::ColorType::Rgb => Ok(3),
        png::ColorType::Rgba => Ok(4),
        png::ColorType::Indexed => Err("PNG is palette-indexed".into()),
    }
}

/// The `width`-bit big-endian integer at bit `start` of `row` (widths up
/// to 32; bits past the end read as 0).
fn read_bits(row: &[u8], start: usize, width: usize) -> u32 {
    (start..start + width).fold(0u32, |acc, b| {
        let byte = row.get(b / 8).copied().unwrap_or(0);
        (acc << 1) | u32::from((byte >> (7 - b % 8)) & 1)
    })
}

/// The simple-packing formula, in f64 so that the only rounding is the
/// final one to f32.
struct Scale {
    reference: f64,
    binary: f64,
    decimal: f64,
}

impl Scale {
    fn new(s: &SimplePacking) -> Self {
        Self {
            reference: f64::from(s.ref_val),
            binary: 2f64.powi(i32::from(s.exp)),
            decimal: 10f64.powi(-i32::from(s.dec)),
        }
    }

    fn apply(&self, x: u32) -> f32 {
        ((self.reference + f64::from(x) * self.binary) * self.decimal) as f32
    }
}

/// The whole-frame unpacking as it was before rows were streamed (commit
/// 5eff204), kept verbatim as the reference that [`unpack`] must match bit
/// for bit.
#[cfg(test)]
pub(crate) fn unpack_before(
    payload: &[u8],
    simple: &SimplePacking,
    count: usize,
) -> Result<Vec<f32>, String> {
    let scale = Scale::new(simple);
    if simple.num_bits == 0 {
        // As wgrib2: a zero width means a constant field of the reference
        // value, whatever section 7 carries.
        return Ok(vec![scale.apply(0); count]);
    }
    let mut reader = read_header(payload, count)?;
    let info = reader.info();
    let (width, height) = (info.width as usize, info.height as usize);
    let bits = info.bit_depth as usize * channels(info.color_type)?;
    let mut buf = vec![0u8; reader.output_buffer_size().ok_or("PNG too large")?];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("PNG data: {e}"))?;
    let mut out = Vec::with_capacity(count);
    for row in buf.chunks_exact(frame.line_size.max(1)).take(height) {
        let need = (count - out.len()).min(width);
        if need == 0 {
            break;
        }
        // Samples are big-endian and pixels are packed MSB first, so each
        // pixel is one `bits`-wide big-endian integer.
        match bits {
            8 => out.extend(row.iter().take(need).map(|&b| scale.apply(u32::from(b)))),
            16 => out.extend(
                row.chunks_exact(2)
                    .take(need)
                    .map(|p| scale.apply(u32::from(u16::from_be_bytes([p[0], p[1]])))),
            ),
            24 => out.extend(
                row.chunks_exact(3)
                    .take(need)
                    .map(|p| scale.apply(u32::from_be_bytes([0, p[0], p[1], p[2]]))),
            ),
            32 => out.extend(
                row.chunks_exact(4)
                    .take(need)
                    .map(|p| scale.apply(u32::from_be_bytes([p[0], p[1], p[2], p[3]]))),
            ),
            _ => out.extend((0..need).map(|k| scale.apply(read_bits(row, k * bits, bits)))),
        }
    }
    if out.len() != count {
        return Err(format!("PNG yielded {} of {count} values", out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`super::unpack`] into a fresh vector, asserting that it matches
    /// [`unpack_before`] bit for bit (or that both fail).
    fn unpack(payload: &[u8], simple: &SimplePacking, count: usize) -> Result<Vec<f32>, String> {
        let mut out = vec![0f32; count];
        let now = super::unpack(payload, simple, &mut out).map(|()| out);
        match (&now, unpack_before(payload, simple, count)) {
            (Ok(a), Ok(b)) => assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            ),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("streamed {a:?}, whole frame {b:?}"),
        }
        now
    }

    fn encode(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    fn packing(num_bits: u8) -> SimplePacking {
        SimplePacking {
            ref_val: -10.0,
            exp: 1,
            dec: 1,
            num_bits,
        }
    }

    #[test]
    fn reads_at_the_png_depth_not_the_declared_one() {
        // A 24-bit RGB image declared as 16 bits, and an 8-bit one declared
        // as 24: both must read at the PNG's depth.
        let rgb = encode(
            2,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &[0, 1, 2, 1, 0, 0],
        );
        let v = unpack(&rgb[..], &packing(16), 2).unwrap();
        assert_eq!(
            v,
            vec![
                ((-10.0 + 258.0 * 2.0) / 10.0) as f32,
                ((-10.0 + 65536.0 * 2.0) / 10.0) as f32
            ]
        );
        let grey = encode(
            3,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[0, 5, 255],
        );
        let v = unpack(&grey[..], &packing(24), 3).unwrap();
        assert_eq!(v, vec![-1.0, 0.0, 50.0]);
    }

    #[test]
    fn sub_byte_depths_respect_row_padding() {
        // 3 pixels of 4 bits per row: each row is padded to 2 bytes.
        let img = encode(
            3,
            2,
            png::ColorType::Grayscale,
            png::BitDepth::Four,
            &[0x12, 0x30, 0x45, 0x60],
        );
        let v = unpack(&img[..], &packing(4), 6).unwrap();
        let want: Vec<f32> = [1u32, 2, 3, 4, 5, 6]
            .iter()
            .map(|&x| ((-10.0 + x as f64 * 2.0) / 10.0) as f32)
            .collect();
        assert_eq!(v, want);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(unpack(b"not a png", &packing(8), 4).is_err());
        let grey = encode(
            2,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[0, 5],
        );
        assert!(unpack(&grey[..], &packing(8), 3).is_err());
        assert!(unpack(&grey[..grey.len() - 20], &packing(8), 2).is_err());
    }

    /// A PNG that only claims to be huge: a valid signature and IHDR, then
    /// a tiny IDAT, as a hostile GRIB file would carry.
    fn claiming(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend((data.len() as u32).to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            out.extend(kind);
            out.extend(data);
            out.extend(crc.sum().to_be_bytes());
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([depth, color, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(
            &mut out,
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        );
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn a_png_larger_than_the_field_is_refused_before_allocating() {
        // 60000×60000 RGBA16 (28.8 GB decoded) for a 100-value field.
        let err = unpack(&claiming(60_000, 60_000, 16, 6), &packing(16), 100).unwrap_err();
        assert!(err.contains("64 bits"), "{err}");
        // Same size at a plausible depth: refused for its pixel count.
        let err = unpack(&claiming(60_000, 60_000, 8, 0), &packing(8), 100).unwrap_err();
        assert!(err.contains("60000×60000 pixels"), "{err}");
        // One pixel per value, or a partly filled last row, still decodes.
        let grey = encode(
            3,
            2,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[1, 2, 3, 4, 5, 6],
        );
        assert_eq!(unpack(&grey[..], &packing(8), 5).unwrap().len(), 5);
        assert!(
            unpack(&grey[..], &packing(8), 3).is_err(),
            "a whole spare row"
        );
    }
}
