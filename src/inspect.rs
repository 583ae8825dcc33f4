//! `wxfarm inspect`: a `wgrib2 -s`-style listing, or one field's values as
//! raw little-endian f32 in file order (NaN for missing), like
//! `wgrib2 -d N -order raw -no_header -bin`.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Args)]
pub struct InspectArgs {
    /// A GRIB2 file (.gz and .xz are decompressed).
    file: PathBuf,
    /// Field number as listed (1-based, in file order).
    #[arg(long)]
    message: Option<usize>,
    /// Write the field's values here (requires --message).
    #[arg(long, requires = "message")]
    values: Option<PathBuf>,
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let bytes = read_maybe_compressed(&args.file)?;
    let name = args.file.display();
    match (args.message, &args.values) {
        (Some(n), Some(out)) => {
            let index = n.checked_sub(1).context("--message counts from 1")?;
            let values = decode::decode_raw(&bytes, index).with_context(|| format!("{name}"))?;
            let mut raw = Vec::with_capacity(values.len() * 4);
            for v in &values {
                raw.extend_from_slice(&v.to_le_bytes());
            }
            std::fs::write(out, raw).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "{name}: field {n}: {} values written to {}",
                values.len(),
                out.display()
            );
        }
        (message, _) => {
            let list = decode::list_messages(&bytes).with_context(|| format!("{name}"))?;
            let mut stdout = std::io::stdout().lock();
            for (k, m) in list.iter().enumerate() {
                if message.is_none_or(|n| n == k + 1) {
                    writeln!(stdout, "{m}")?;
                }
            }
            if message.is_some_and(|n| n == 0 || n > list.len()) {
                bail!(
                    "{name}: no field {} (the file has {})",
                    message.unwrap_or(0),
                    list.len()
                );
            }
        }
    }
    Ok(())
}

/// Reads a file, decompressing `.gz` and `.xz`.
pub fn read_maybe_compressed(path: &std::path::Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => {
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .with_context(|| format!("{}: gunzip", path.display()))?;
        }
        Some("xz") => {
            xz2::read::XzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .with_context(|| format!("{}: unxz", path.display()))?;
        }
        _ => return Ok(raw),
    }
    Ok(out)
}
