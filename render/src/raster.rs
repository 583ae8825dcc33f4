//! RGBA drawing shared by the symbol and contour styles: a premultiplied
//! [`Pixmap`] canvas, coverage masks composited in a colour, halo text,
//! and PNG encoding.

use protocol::RenderError;
use protocol::style::Rgba;
use tiny_skia::Pixmap;

use super::font;

/// A coverage mask (0 = none, 255 = full) with its own size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mask {
    pub width: usize,
    pub height: usize,
    pub alpha: Vec<u8>,
}

impl Mask {
    /// The alpha channel of a pixmap.
    pub fn from_pixmap(p: &Pixmap) -> Self {
        Self {
            width: p.width() as usize,
            height: p.height() as usize,
            alpha: p.pixels().iter().map(|c| c.alpha()).collect(),
        }
    }
}

/// A transparent canvas.
pub fn canvas(width: usize, height: usize) -> Result<Pixmap, RenderError> {
    Pixmap::new(width as u32, height as u32)
        .ok_or_else(|| RenderError::Invalid(format!("cannot draw a {width}×{height} image")))
}

/// Composites `mask` in `color` (its alpha scaled by the coverage) with its
/// top-left corner at (`x0`, `y0`), source-over, clipped to the canvas.
pub fn blit_mask(dst: &mut Pixmap, mask: &Mask, x0: i64, y0: i64, color: Rgba) {
    let (w, h) = (i64::from(dst.width()), i64::from(dst.height()));
    let data = dst.data_mut();
    for my in 0..mask.height as i64 {
        let y = y0 + my;
        if !(0..h).contains(&y) {
            continue;
        }
        for mx in 0..mask.width as i64 {
            let x = x0 + mx;
            let cover = mask.alpha[(my * mask.width as i64 + mx) as usize];
            if cover == 0 || !(0..w).contains(&x) {
                continue;
            }
            let o = ((y * w + x) * 4) as usize;
            blend(&mut data[o..o + 4], color, cover);
        }
    }
}

/// Source-over of `color` at `cover`/255 onto one premultiplied pixel.
#[inline]
fn blend(px: &mut [u8], color: Rgba, cover: u8) {
    let sa = mul(color[3], cover);
    let inv = 255 - sa;
    for k in 0..3 {
        px[k] = mul(color[k], sa) + mul(px[k], inv);
    }
    px[3] = sa + mul(px[3], inv);
}

/// `a·b/255`, rounded.
#[inline]
fn mul(a: u8, b: u8) -> u8 {
    let t = u16::from(a) * u16::from(b) + 128;
    ((t + (t >> 8)) >> 8) as u8
}

/// Writes `s` in the bitmap font with its top-left at (x, y), in `ink` over
/// a one-pixel `halo` so it reads on any background.
pub fn halo_text(dst: &mut Pixmap, s: &str, x: i64, y: i64, ink: Rgba, halo: Rgba) {
    let (w, h) = (font::text_width(s) + 2, font::GLYPH + 2);
    let mut ink_mask = Mask {
        width: w,
        height: h,
        alpha: vec![0; w * h],
    };
    font::for_each_pixel(s, 1, 1, |gx, gy| {
        ink_mask.alpha[gy as usize * w + gx as usize] = 255;
    });
    let mut halo_mask = ink_mask.clone();
    for gy in 0..h {
        for gx in 0..w {
            let near = (gy.saturating_sub(1)..(gy + 2).min(h)).any(|yy| {
                (gx.saturating_sub(1)..(gx + 2).min(w)).any(|xx| ink_mask.alpha[yy * w + xx] > 0)
            });
            halo_mask.alpha[gy * w + gx] = if near { 255 } else { 0 };
        }
    }
    blit_mask(dst, &halo_mask, x - 1, y - 1, halo);
    blit_mask(dst, &ink_mask, x - 1, y - 1, ink);
}

/// Encodes a premultiplied canvas as an RGBA PNG (fast deflate, `Sub`
/// filter, as for palette tiles).
pub fn encode_rgba_png(p: &Pixmap) -> Result<Vec<u8>, RenderError> {
    let rgba: Vec<u8> = p
        .pixels()
        .iter()
        .flat_map(|c| {
            let c = c.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    let mut out = Vec::with_capacity(rgba.len() / 8 + 1024);
    let mut enc = png::Encoder::new(&mut out, p.width(), p.height());
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::Filter::Sub);
    let encoded = enc
        .write_header()
        .and_then(|mut w| w.write_image_data(&rgba).and_then(|()| w.finish()));
    encoded.map_err(|e| RenderError::Internal(format!("png encode: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_composite_source_over_and_clip() {
        let mut p = canvas(4, 4).unwrap();
        let m = Mask {
            width: 2,
            height: 2,
            alpha: vec![255, 128, 0, 255],
        };
        blit_mask(&mut p, &m, 3, 3, [200, 0, 0, 255]);
        blit_mask(&mut p, &m, 0, 0, [200, 0, 0, 255]);
        let px = |x: usize, y: usize| p.pixels()[y * 4 + x];
        assert_eq!((px(0, 0).red(), px(0, 0).alpha()), (200, 255));
        assert_eq!(px(1, 0).alpha(), 128);
        assert_eq!(px(0, 1).alpha(), 0);
        assert_eq!(px(3, 3).alpha(), 255, "the clipped mask's corner");
        // Half-covered white over half-covered red: 128 + 128·127/255.
        blit_mask(&mut p, &m, 0, 0, [255, 255, 255, 255]);
        assert_eq!(p.pixels()[1].alpha(), 192);
    }

    #[test]
    fn halo_text_inks_inside_a_halo() {
        let mut p = canvas(40, 12).unwrap();
        halo_text(&mut p, "10", 2, 2, [0, 0, 0, 255], [255, 255, 255, 255]);
        let colours: std::collections::HashSet<(u8, u8)> = p
            .pixels()
            .iter()
            .filter(|c| c.alpha() > 0)
            .map(|c| (c.red(), c.alpha()))
            .collect();
        assert!(colours.contains(&(0, 255)) && colours.contains(&(255, 255)));
        assert_eq!(p.pixels()[0].alpha(), 0, "nothing outside the halo");
    }
}
