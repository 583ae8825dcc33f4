//! A structural check of GRIB2 framing, run before the grib crate parses a
//! buffer.
//!
//! The crate's section reader subtracts the 5-octet header from each
//! section's declared length unchecked: a corrupt length below 5 overflows
//! (a panic in debug builds, a giant allocation in release builds). Walking
//! the framing ourselves first means the crate only ever sees lengths that
//! fit the buffer.

/// Checks every message in `bytes`: edition 2, total length within the
/// buffer, sections of at least 5 octets that tile the message, numbered
/// 1–7, and the closing "7777".
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    let mut pos = 0;
    while let Some(k) = bytes
        .get(pos..)
        .and_then(|b| b.windows(4).position(|w| w == b"GRIB"))
    {
        let start = pos + k;
        let header = bytes
            .get(start..start + 16)
            .ok_or_else(|| format!("section 0 at byte {start} is cut short"))?;
        if header[7] != 2 {
            return Err(format!("GRIB edition {} at byte {start}", header[7]));
        }
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&header[8..16]);
        let total = usize::try_from(u64::from_be_bytes(len8)).unwrap_or(usize::MAX);
        let end = start
            .checked_add(total)
            .filter(|&e| e <= bytes.len() && total >= 20)
            .ok_or_else(|| format!("message at byte {start} is cut short"))?;
        let mut p = start + 16;
        while p + 4 < end {
            let head = bytes
                .get(p..p + 5)
                .filter(|_| p + 5 <= end - 4)
                .ok_or_else(|| format!("section header at byte {p} runs past the message"))?;
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            if len < 5 || p.saturating_add(len) > end - 4 || !(1..=7).contains(&head[4]) {
                return Err(format!(
                    "section {} at byte {p} has impossible length {len}",
                    head[4]
                ));
            }
            p += len;
        }
        if p != end - 4 || &bytes[end - 4..end] != b"7777" {
            return Err(format!("message at byte {start} does not end in 7777"));
        }
        pos = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    fn message(sections: &[&[u8]]) -> Vec<u8> {
        let body: Vec<u8> = sections.concat();
        let total = (16 + body.len() + 4) as u64;
        let mut m = b"GRIB\0\0\0\x02".to_vec();
        m.extend_from_slice(&total.to_be_bytes());
        m.extend_from_slice(&body);
        m.extend_from_slice(b"7777");
        m
    }

    #[test]
    fn accepts_well_framed_and_rejects_broken() {
        let ok = message(&[&[0, 0, 0, 6, 1, 9]]);
        assert!(check(&ok).is_ok());
        assert!(check(&[b"junk".as_slice(), &ok].concat()).is_ok());
        assert!(check(&message(&[&[0, 0, 0, 3, 1, 9, 9, 9]])).is_err());
        assert!(check(&message(&[&[0, 0, 0, 9, 1, 9]])).is_err());
        assert!(check(&ok[..ok.len() - 1]).is_err());
        let mut ed1 = ok.clone();
        ed1[7] = 1;
        assert!(check(&ed1).is_err());
    }
}
