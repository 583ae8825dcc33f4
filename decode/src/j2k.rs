//! The JPEG 2000 codestream header of template 5.40 fields, read before
//! the decoder sees the stream: the decoder sizes its buffers from the
//! header's image and tile sizes, which are untrusted.

/// Checks the codestream's image size (SIZ marker) against the `count`
/// values section 5 declares, reading no image data. Producers write one
/// component of one sample per value (`count`×1 or ni×nj; a partly
/// filled last row is allowed).
pub(crate) fn check_header(codestream: &[u8], count: usize) -> Result<(), String> {
    // SOC, then SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz
    // YTOsiz Csiz, then 3 bytes per component.
    let u16_at = |at: usize| {
        codestream
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let u32_at = |at: usize| {
        codestream
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if codestream.get(..4) != Some(&[0xFF, 0x4F, 0xFF, 0x51][..]) {
        return Err("not a JPEG 2000 codestream (no SOC and SIZ markers)".into());
    }
    let field = |k: usize| u32_at(8 + 4 * k).ok_or("JPEG 2000 header truncated");
    let (x, y, x0, y0) = (field(0)?, field(1)?, field(2)?, field(3)?);
    let (tile_w, tile_h, tile_x0, tile_y0) = (field(4)?, field(5)?, field(6)?, field(7)?);
    let components = u16_at(40).ok_or("JPEG 2000 header truncated")?;
    if components != 1 {
        return Err(format!("JPEG 2000 image of {components} components"));
    }
    let (Some(width), Some(height)) = (x.checked_sub(x0), y.checked_sub(y0)) else {
        return Err("JPEG 2000 image offset beyond its size".into());
    };
    let pixels = width
        .checked_mul(height)
        .ok_or("JPEG 2000 size overflows")?;
    // A row no wider than the values (else a one-row image of any width
    // would pass: the decoder sizes its buffers from that width).
    if pixels < count || pixels - count >= width.max(1) || width > count.max(1) {
        return Err(format!(
            "JPEG 2000 image of {width}×{height} samples, section 5 declares {count} values"
        ));
    }
    // Each tile costs bookkeeping; the standard allows at most 65535.
    if tile_w == 0 || tile_h == 0 || tile_x0 > x0 || tile_y0 > y0 {
        return Err("JPEG 2000 tiling invalid".into());
    }
    let tiles = (x - tile_x0).div_ceil(tile_w) * (y - tile_y0).div_ceil(tile_h);
    if tiles > 65_535 {
        return Err(format!("JPEG 2000 image in {tiles} tiles"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_header;

    fn siz(x: u32, y: u32, tile: u32, components: u16) -> Vec<u8> {
        let mut s = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
        for v in [x, y, 0, 0, tile, tile, 0, 0] {
            s.extend(v.to_be_bytes());
        }
        s.extend(components.to_be_bytes());
        s.extend([7, 1, 1]);
        s
    }

    #[test]
    fn the_image_must_hold_the_declared_values_and_no_more() {
        assert!(check_header(&siz(1440, 721, 1440, 1), 1440 * 721).is_ok());
        assert!(check_header(&siz(1440, 721, 1440, 1), 1440 * 720 + 1).is_ok());
        for (bytes, why) in [
            (siz(60_000, 60_000, 60_000, 1), "giant"),
            (siz(1440, 721, 1440, 3), "three components"),
            (siz(1440, 721, 1, 1), "a million tiles"),
            (siz(1440, 721, 0, 1), "zero tile size"),
            (siz(100, 100, 100, 1)[..20].to_vec(), "truncated"),
            (vec![0; 64], "not a codestream"),
        ] {
            assert!(check_header(&bytes, 1440 * 721).is_err(), "{why}");
        }
    }

    /// One row can hold the values too, but not a row wider than them:
    /// one declared value must not buy a 4-gigapixel row.
    #[test]
    fn a_single_row_is_no_wider_than_the_values() {
        assert!(check_header(&siz(1000, 1, 1000, 1), 1000).is_ok());
        assert!(check_header(&siz(u32::MAX, 1, 65_536, 1), 1).is_err());
        assert!(check_header(&siz(1001, 1, 1001, 1), 1000).is_err());
    }
}
