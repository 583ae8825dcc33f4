//! `wxfarm inspect`: a `wgrib2 -s`-style listing, or one field's values as
//! raw little-endian f32 in file order (NaN for missing), like
//! `wgrib2 -d N -order raw -no_header -bin`. NetCDF satellite products
//! (told apart by content) list their variables and projection, and write
//! values as CSV with each pixel's position ([`crate::inspect_netcdf`]).

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Args)]
pub struct InspectArgs {
    /// A GRIB2 or NetCDF (GOES-R ABI) file (.gz and .xz are decompressed).
    file: PathBuf,
    /// Field number as listed (1-based, in file order; a NetCDF product's
    /// band).
    #[arg(long)]
    message: Option<usize>,
    /// Write the field's values here (requires --message): raw
    /// little-endian f32, or for NetCDF with a `.csv` name
    /// lon,lat,row,col,value,shown for every pixel.
    #[arg(long, requires = "message")]
    values: Option<PathBuf>,
    /// NetCDF: print lon,lat,row,col,value,shown of the pixel under this
    /// point (repeatable; band from --message, default 1).
    #[arg(long, value_name = "LON,LAT", value_parser = parse_point, allow_hyphen_values = true)]
    at: Vec<(f64, f64)>,
}

fn parse_point(s: &str) -> Result<(f64, f64), String> {
    let (lon, lat) = s.split_once(',').ok_or("expected LON,LAT")?;
    let num = |t: &str| t.trim().parse::<f64>().map_err(|e| format!("{t:?}: {e}"));
    Ok((num(lon)?, num(lat)?))
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let bytes = read_maybe_compressed(&args.file)?;
    let name = args.file.display();
    if decode::netcdf::is_netcdf(&bytes) {
        return run_netcdf(args, &bytes, &name.to_string());
    }
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

fn run_netcdf(args: &InspectArgs, bytes: &[u8], name: &str) -> Result<()> {
    let band = args
        .message
        .unwrap_or(1)
        .checked_sub(1)
        .context("--message counts from 1")?;
    let mut stdout = std::io::stdout().lock();
    if let Some(out) = &args.values {
        let n = crate::inspect_netcdf::write_values(bytes, name, band, out)?;
        eprintln!(
            "{name}: band {}: {n} values written to {}",
            band + 1,
            out.display()
        );
    } else if !args.at.is_empty() {
        crate::inspect_netcdf::values_at(bytes, name, band, &args.at, &mut stdout)?;
    } else {
        crate::inspect_netcdf::list(bytes, name, &mut stdout)?;
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
