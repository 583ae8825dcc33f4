//! Legends, drawn from the same style objects the tiles use so a legend
//! always matches what is on the map: a colour bar for the palette styles
//! ([`bar`]), a key of sample symbols or lines for the others ([`keys`]).

pub mod bar;
pub mod keys;

use protocol::StyleSpec;
use protocol::style::StyleKind;

use super::Gradient;
use super::contour::filled::Bands;

/// The legend of `spec` as a PNG of at least 120×48 pixels.
pub fn legend_png(
    spec: &StyleSpec,
    title: &str,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, protocol::RenderError> {
    let (w, h) = (width.max(120) as usize, height.max(48) as usize);
    let png = match spec.kind {
        StyleKind::Gradient | StyleKind::GradientSqrt => {
            let gradient = Gradient::new(spec);
            bar::colour_bar(spec, title, (w, h), |v| gradient.color(v))
        }
        StyleKind::FilledContours => {
            let bands = Bands::new(spec);
            bar::colour_bar(spec, title, (w, h), |v| {
                bands.palette[usize::from(bands.index(v))]
            })
        }
        StyleKind::Isolines => return keys::isolines_key(spec, title, w, h),
        StyleKind::WindBarbs => return keys::barbs_key(spec, title, w, h),
        StyleKind::WindArrows => return keys::arrows_key(spec, title, w, h),
    };
    png.map_err(|e| protocol::RenderError::Internal(format!("legend: {e}")))
}

/// `title (units)`, shortened to `max_chars` keeping the units visible.
fn heading(title: &str, units: &str, max_chars: usize) -> String {
    if units.is_empty() {
        fit(title, max_chars)
    } else {
        format!(
            "{} ({units})",
            fit(title, max_chars.saturating_sub(units.chars().count() + 3))
        )
    }
}

fn fit(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A value as a legend prints it: integers bare, else one decimal.
fn format_value(v: f32) -> String {
    if (v - v.round()).abs() < 1e-4 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}
