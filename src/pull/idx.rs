//! wgrib2 `.idx` inventories (`1:0:d=2026112900:TMP:2 m above ground:6
//! hour fcst:`), parsed within a budget, and the byte range of each message.

/// Largest `.idx` read (a GFS 0.25° inventory is ~60 KB).
pub const MAX_IDX_BYTES: u64 = 2 << 20;
/// Most lines an `.idx` may have.
pub const MAX_IDX_LINES: usize = 20_000;

/// Why an inventory is unusable; each names the object.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    #[error("{key}: inventory is {size} bytes, over the {MAX_IDX_BYTES}-byte budget")]
    TooLarge { key: String, size: u64 },
    #[error("{key}: malformed inventory line {line}: {text:?} ({why})")]
    Malformed {
        key: String,
        line: usize,
        text: String,
        why: &'static str,
    },
    #[error("{key}: inventory has more than {MAX_IDX_LINES} lines")]
    TooManyLines { key: String },
    #[error("{key}: inventory is empty")]
    Empty { key: String },
}

/// One line of an inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxEntry {
    /// Message number as written (`5`, or `5.2` for a submessage).
    pub number: String,
    /// Byte offset of the message in the GRIB file.
    pub offset: u64,
    /// `d=YYYYMMDDHH`.
    pub date: String,
    /// Parameter, e.g. `TMP`.
    pub name: String,
    /// Level, e.g. `2 m above ground`.
    pub level: String,
    /// Forecast, e.g. `6 hour fcst`.
    pub forecast: String,
}

impl IdxEntry {
    /// `NAME:level`, the form `--fields` names.
    pub fn field(&self) -> String {
        format!("{}:{}", self.name, self.level)
    }
}

/// Parses `text` (already within [`MAX_IDX_BYTES`]), naming `key` in errors.
/// Offsets must not decrease (submessages repeat their message's offset).
pub fn parse(key: &str, text: &str) -> Result<Vec<IdxEntry>, IdxError> {
    let mut out: Vec<IdxEntry> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if out.len() >= MAX_IDX_LINES {
            return Err(IdxError::TooManyLines { key: key.into() });
        }
        let bad = |why| IdxError::Malformed {
            key: key.into(),
            line: n + 1,
            text: line.chars().take(120).collect(),
            why,
        };
        let mut parts = line.splitn(7, ':');
        let mut next = || {
            parts
                .next()
                .ok_or_else(|| bad("fewer than 6 ':'-separated parts"))
        };
        let number = next()?.to_owned();
        let offset = next()?;
        let date = next()?.to_owned();
        let name = next()?.to_owned();
        let level = next()?.to_owned();
        let forecast = next()?.to_owned();
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(bad("message number is not a number"));
        }
        let offset: u64 = offset.parse().map_err(|_| bad("offset is not a number"))?;
        if !date.starts_with("d=") {
            return Err(bad("third part is not d=YYYYMMDDHH"));
        }
        if out.last().is_some_and(|prev| prev.offset > offset) {
            return Err(bad("offsets go backwards"));
        }
        out.push(IdxEntry {
            number,
            offset,
            date,
            name,
            level,
            forecast,
        });
    }
    if out.is_empty() {
        return Err(IdxError::Empty { key: key.into() });
    }
    Ok(out)
}

/// The byte range `[start, end)` of the message starting at `offset`: up to
/// the next message's offset, or to `object_size` for the last one.
pub fn message_range(entries: &[IdxEntry], offset: u64, object_size: u64) -> (u64, u64) {
    let end = entries
        .iter()
        .map(|e| e.offset)
        .find(|&o| o > offset)
        .unwrap_or(object_size);
    (offset, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDX: &str = "1:0:d=2026112900:PRMSL:mean sea level:anl:\n\
        2:1000:d=2026112900:TMP:2 m above ground:anl:\n\
        3:2500:d=2026112900:UGRD:10 m above ground:anl:\n\
        3.2:2500:d=2026112900:VGRD:10 m above ground:anl:\n";

    #[test]
    fn parses_and_ranges_messages() {
        let e = parse("k", IDX).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(e[1].field(), "TMP:2 m above ground");
        assert_eq!(message_range(&e, 1000, 4000), (1000, 2500));
        assert_eq!(message_range(&e, 2500, 4000), (2500, 4000));
    }

    #[test]
    fn malformed_lines_are_named() {
        let err = parse("gfs.f003.idx", "1:zero:d=2026112900:TMP:x:y:\n").unwrap_err();
        let s = err.to_string();
        assert!(s.contains("gfs.f003.idx") && s.contains("line 1"), "{s}");
        assert!(parse("k", "1:0:d=1:TMP\n").is_err());
        assert!(parse("k", "2:100:d=1:A:b:c:\n1:50:d=1:A:b:c:\n").is_err());
        assert!(matches!(parse("k", "\n"), Err(IdxError::Empty { .. })));
    }
}
