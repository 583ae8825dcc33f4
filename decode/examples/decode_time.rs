//! Times [`decode::decode_message`] on every field of the GRIB2 files
//! given as arguments (plain, `.gz` or `.xz`), each message decoded from
//! its own bytes as a worker does after a ranged read. Prints one line per
//! field: file, 1-based message number, data template, points, the
//! median CPU milliseconds of `--runs` decodes (default 15; the decoding
//! thread's CPU clock, as ecCodes is timed with its process CPU clock, so
//! that other work on the machine does not count), and the median wall
//! milliseconds.
//!
//! `--templates 0,2,3` keeps only fields packed with those templates.
//! `--write-demo DIR` writes the demo data's f000 (GFS-like, 0.25°, five
//! 5.2 fields) under DIR first, for the benchmark script to re-pack.
//! `scripts/bench-decode-peers.sh` runs this beside ecCodes.

use std::io::Read;
use std::time::{Duration, Instant};

use rustix::time::{ClockId, clock_gettime};

/// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID: exact, unlike
/// /proc's per-thread counters, which advance only at scheduler ticks).
fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(f64::NAN)
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    let raw = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    if path.ends_with(".xz") {
        xz2::read::XzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| format!("{path}: {e}"))?;
    } else if path.ends_with(".gz") {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| format!("{path}: {e}"))?;
    } else {
        out = raw;
    }
    Ok(out)
}

/// Each message's bytes (section 0's total length) and its data template
/// (octets 10–11 of section 5).
fn messages(bytes: &[u8]) -> Vec<(&[u8], u16)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(k) = bytes
        .get(pos..)
        .and_then(|b| b.windows(4).position(|w| w == b"GRIB"))
    {
        let start = pos + k;
        let Some(len) = bytes
            .get(start + 8..start + 16)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
        else {
            break;
        };
        let Some(msg) = bytes.get(start..start + len as usize) else {
            break;
        };
        let mut p = 16;
        let mut template = u16::MAX;
        while let Some(h) = msg.get(p..p + 11) {
            let slen = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
            if h[4] == 5 {
                template = u16::from_be_bytes([h[9], h[10]]);
                break;
            }
            if slen < 5 {
                break;
            }
            p += slen;
        }
        out.push((msg, template));
        pos = start + len.max(1) as usize;
    }
    out
}

fn main() -> Result<(), String> {
    let mut runs = 15usize;
    let mut templates: Option<Vec<u16>> = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).ok_or("--runs N")?,
            "--write-demo" => {
                let dir = args.next().ok_or("--write-demo DIR")?;
                let opts = demo::DemoOptions {
                    hours: 0,
                    radar_frames: 0,
                    ..demo::DemoOptions::default()
                };
                let report = demo::write_demo_data(std::path::Path::new(&dir), &opts)
                    .map_err(|e| e.to_string())?;
                for f in report.files {
                    eprintln!("wrote {}", f.path.display());
                }
            }
            "--templates" => {
                templates = Some(
                    args.next()
                        .ok_or("--templates 0,2,3")?
                        .split(',')
                        .filter_map(|t| t.parse().ok())
                        .collect(),
                )
            }
            _ => files.push(a),
        }
    }
    println!("file\tmessage\ttemplate\tpoints\tmedian_ms\twall_ms");
    for path in &files {
        let bytes = read(path)?;
        let name = path.rsplit('/').next().unwrap_or(path);
        for (k, (msg, template)) in messages(&bytes).into_iter().enumerate() {
            if templates.as_ref().is_some_and(|t| !t.contains(&template)) {
                continue;
            }
            // One thread decodes; its CPU time is what the decode costs
            // (the grid's allocation and page faults included), whatever
            // else the machine runs.
            let (mut cpu, mut wall) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
            let mut points = 0;
            for _ in 0..runs.max(1) {
                let (start, start_cpu) = (Instant::now(), thread_cpu());
                let grid = decode::decode_message(std::hint::black_box(msg), 0)
                    .map_err(|e| format!("{name} message {}: {e}", k + 1))?;
                let (elapsed, elapsed_cpu) = (start.elapsed(), thread_cpu() - start_cpu);
                points = std::hint::black_box(grid).values.len();
                cpu.push(elapsed_cpu.as_secs_f64() * 1e3);
                wall.push(elapsed.as_secs_f64() * 1e3);
            }
            let (cpu, wall) = (median(cpu), median(wall));
            println!(
                "{name}\t{}\t5.{template}\t{points}\t{cpu:.3}\t{wall:.3}",
                k + 1
            );
        }
    }
    Ok(())
}
