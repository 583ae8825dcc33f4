//! An inventory of the fields in a GRIB2 buffer, one line per field in the
//! style of `wgrib2 -s`.

use std::fmt;

use crate::error::{DecodeError, MessageId};
use crate::message::raw_fields;

/// One field of a buffer, as listed by [`list_messages`].
#[derive(Debug, Clone, PartialEq)]
pub struct MessageSummary {
    /// Which field this is (displays 1-based, like wgrib2).
    pub id: MessageId,
    /// 0-based index of the field among all fields of the buffer, as taken
    /// by [`super::decode_message`].
    pub index: usize,
    /// Byte offset of the field's message in the buffer.
    pub offset: u64,
    /// Reference time from section 1 (year, month, day, hour, minute,
    /// second).
    pub reference_time: [u16; 6],
    /// Originating centre (common code table C-11).
    pub centre: u16,
    pub discipline: u8,
    pub category: u8,
    pub number: u8,
    /// wgrib2-style abbreviation, or `var{discipline}_{category}_{number}`.
    pub short_name: String,
    /// Level description, e.g. `surface`, `500 mb`, `2 m above ground`.
    pub level: String,
    /// Forecast description, e.g. `anl`, `6 hour fcst`, `0-6 hour acc fcst`.
    pub forecast: String,
}

impl fmt::Display for MessageSummary {
    /// `1:0:d=2025091212:TMP:surface:anl:`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [y, mo, d, h, ..] = self.reference_time;
        write!(
            f,
            "{}:{}:d={y:04}{mo:02}{d:02}{h:02}:{}:{}:{}:",
            self.id, self.offset, self.short_name, self.level, self.forecast
        )
    }
}

/// Lists every field of `bytes` (one whole message or a whole file).
pub fn list_messages(bytes: &[u8]) -> Result<Vec<MessageSummary>, DecodeError> {
    raw_fields(bytes, None)?
        .into_iter()
        .enumerate()
        .map(|(index, field)| {
            let corrupt = |n: u8| DecodeError::Corrupt {
                message: field.id,
                reason: format!("section {n} is too short"),
            };
            let s1 = field.sect1;
            let s4 = field.sect4;
            if s1.len() < 19 {
                return Err(corrupt(1));
            }
            if s4.len() < 34 {
                return Err(corrupt(4));
            }
            let u16_at = |s: &[u8], k: usize| u16::from_be_bytes([s[k], s[k + 1]]);
            let centre = u16_at(s1, 5);
            let (category, number) = (s4[9], s4[10]);
            Ok(MessageSummary {
                id: field.id,
                index,
                offset: field.offset as u64,
                reference_time: [
                    u16_at(s1, 12),
                    s1[14].into(),
                    s1[15].into(),
                    s1[16].into(),
                    s1[17].into(),
                    s1[18].into(),
                ],
                centre,
                discipline: field.discipline,
                category,
                number,
                short_name: short_name(centre, field.discipline, category, number),
                level: level(s4),
                forecast: forecast(s4),
            })
        })
        .collect()
}

/// Common parameters by (discipline, category, number); names as wgrib2.
const NAMES: &[(u8, u8, u8, &str)] = &[
    (0, 0, 0, "TMP"),
    (0, 0, 2, "POT"),
    (0, 0, 4, "TMAX"),
    (0, 0, 5, "TMIN"),
    (0, 0, 6, "DPT"),
    (0, 1, 0, "SPFH"),
    (0, 1, 1, "RH"),
    (0, 1, 3, "PWAT"),
    (0, 1, 7, "PRATE"),
    (0, 1, 8, "APCP"),
    (0, 1, 11, "SNOD"),
    (0, 1, 13, "WEASD"),
    (0, 1, 52, "TPRATE"),
    (0, 2, 0, "WDIR"),
    (0, 2, 1, "WIND"),
    (0, 2, 2, "UGRD"),
    (0, 2, 3, "VGRD"),
    (0, 2, 8, "VVEL"),
    (0, 2, 22, "GUST"),
    (0, 3, 0, "PRES"),
    (0, 3, 1, "PRMSL"),
    (0, 3, 5, "HGT"),
    (0, 6, 1, "TCDC"),
    (0, 7, 6, "CAPE"),
    (0, 7, 7, "CIN"),
    (0, 15, 1, "BREF"),
    (0, 16, 4, "REFL"),
    (0, 16, 5, "REFD"),
    (0, 19, 0, "VIS"),
];

/// NCEP's local entries (centre 7; numbers ≥ 192 mean different things at
/// other centres).
const NCEP_NAMES: &[(u8, u8, u8, &str)] = &[
    (0, 2, 224, "VRATE"),
    (0, 3, 196, "HPBL"),
    (0, 16, 195, "REFD"),
    (0, 16, 196, "REFC"),
];

fn short_name(centre: u16, discipline: u8, category: u8, number: u8) -> String {
    let find = |table: &[(u8, u8, u8, &'static str)]| {
        table
            .iter()
            .find(|&&(d, c, n, _)| (d, c, n) == (discipline, category, number))
            .map(|e| e.3)
    };
    find(NAMES)
        .or_else(|| (centre == 7).then(|| find(NCEP_NAMES)).flatten())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("var{discipline}_{category}_{number}"))
}

/// A 4-octet sign-and-magnitude integer (GRIB2's signed encoding).
fn signed32(b: &[u8]) -> i64 {
    let u = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let mag = i64::from(u & 0x7fff_ffff);
    if u & 0x8000_0000 != 0 { -mag } else { mag }
}

/// A fixed surface's value from its type, scale and scaled value octets;
/// `None` when missing.
fn surface_value(b: &[u8]) -> Option<f64> {
    if b[1] == 0xff || b[2..6] == [0xff; 4] {
        return None;
    }
    let scale = i32::from(b[1] & 0x7f) * if b[1] & 0x80 != 0 { -1 } else { 1 };
    Some(signed32(&b[2..6]) as f64 / 10f64.powi(scale))
}

/// A number as wgrib2 prints levels: no trailing zeros.
fn num(v: f64) -> String {
    format!("{}", (v * 1e6).round() / 1e6)
}

/// The level text of section 4's fixed surfaces (octets 23–34, common to
/// templates 4.0–4.15).
fn level(s4: &[u8]) -> String {
    let (t1, v1) = (s4[22], surface_value(&s4[22..28]));
    let (t2, v2) = (s4[28], surface_value(&s4[28..34]));
    // Units and words per surface type (code table 4.5).
    let layer = |t: u8| -> Option<(&str, f64)> {
        match t {
            100 => Some(("mb", 0.01)),
            102 => Some(("m above mean sea level", 1.0)),
            103 => Some(("m above ground", 1.0)),
            104 => Some(("sigma level", 1.0)),
            105 => Some(("hybrid level", 1.0)),
            106 => Some(("m below ground", 1.0)),
            108 => Some(("mb above ground", 0.01)),
            _ => None,
        }
    };
    let named = |t: u8| -> Option<&str> {
        Some(match t {
            1 => "surface",
            2 => "cloud base",
            3 => "cloud top",
            4 => "0C isotherm",
            6 => "max wind",
            7 => "tropopause",
            8 => "top of atmosphere",
            10 => "entire atmosphere",
            101 => "mean sea level",
            200 => "entire atmosphere (considered as a single layer)",
            220 => "planetary boundary layer",
            _ => return None,
        })
    };
    match (layer(t1), v1, t2, v2) {
        (Some((unit, k)), Some(a), t2, Some(b)) if t2 == t1 => {
            format!("{}-{} {unit}", num(a * k), num(b * k))
        }
        (Some((unit, k)), Some(a), 255, _) => format!("{} {unit}", num(a * k)),
        _ => match (named(t1), t2) {
            (Some(n), 255) => n.to_owned(),
            (Some(n), _) if t2 == t1 => n.to_owned(),
            _ => {
                let v = |v: Option<f64>| v.map(num).unwrap_or_else(|| "missing".into());
                if t2 == 255 {
                    format!("level {t1} {}", v(v1))
                } else {
                    format!("level {t1} {} - level {t2} {}", v(v1), v(v2))
                }
            }
        },
    }
}

/// The forecast text: forecast time (octets 18–22) and, for statistically
/// processed templates, the processing period.
fn forecast(s4: &[u8]) -> String {
    let unit = |u: u8| -> (&str, i64) {
        match u {
            0 => ("min", 1),
            1 => ("hour", 1),
            2 => ("day", 1),
            3 => ("month", 1),
            4 => ("year", 1),
            10 => ("hour", 3),
            11 => ("hour", 6),
            12 => ("hour", 12),
            13 => ("sec", 1),
            _ => ("units", 1),
        }
    };
    let template = u16::from_be_bytes([s4[7], s4[8]]);
    let (name, k) = unit(s4[17]);
    let ft = signed32(&s4[18..22]) * k;
    // Where the first time-range specification starts, per template:
    // 4.8 is 4.0 plus the interval block; the others insert their own
    // octets (probability 13, percentile 1, ensemble 3, derived 2) before it.
    let stat_at = match template {
        8 => Some(46),
        9 => Some(59),
        10 => Some(47),
        11 => Some(49),
        12 => Some(48),
        _ => None,
    };
    if let Some(r) = stat_at.and_then(|at| s4.get(at..at + 7)) {
        let stat = match r[0] {
            0 => "ave".to_owned(),
            1 => "acc".to_owned(),
            2 => "max".to_owned(),
            3 => "min".to_owned(),
            n => format!("stat{n}"),
        };
        let (name2, k2) = unit(r[2]);
        let len = i64::from(u32::from_be_bytes([r[3], r[4], r[5], r[6]])) * k2;
        if name2 == name {
            return format!("{ft}-{} {name} {stat} fcst", ft + len);
        }
        return format!("{ft} {name} + {len} {name2} {stat} fcst");
    }
    if ft == 0 {
        "anl".to_owned()
    } else {
        format!("{ft} {name} fcst")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_like_wgrib2() {
        let mut s4 = vec![0u8; 34];
        // Isobaric 500 hPa = 50000 Pa, scale 0; no second surface.
        s4[22] = 100;
        s4[24..28].copy_from_slice(&50000u32.to_be_bytes());
        s4[28] = 255;
        s4[29] = 0xff;
        s4[30..34].copy_from_slice(&[0xff; 4]);
        assert_eq!(level(&s4), "500 mb");
        // 2 m above ground.
        s4[22] = 103;
        s4[24..28].copy_from_slice(&2u32.to_be_bytes());
        assert_eq!(level(&s4), "2 m above ground");
        s4[22] = 1;
        assert_eq!(level(&s4), "surface");
        // Forecast 6 hours.
        s4[17] = 1;
        s4[18..22].copy_from_slice(&6u32.to_be_bytes());
        assert_eq!(forecast(&s4), "6 hour fcst");
        assert_eq!(short_name(7, 0, 2, 224), "VRATE");
        assert_eq!(short_name(98, 0, 2, 224), "var0_2_224");
    }
}
