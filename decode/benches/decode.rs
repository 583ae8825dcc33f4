//! Decode throughput on real and demo fields, one per packing: the GFS
//! 0.25° field packed with complex packing and spatial differencing (5.3),
//! the NDFD field with complex packing and missing values (5.2), the demo
//! data's 0.25° 2 m temperature as written (5.2) and re-packed by the grib
//! crate's encoder with simple packing (5.0), the 7000×3500 MRMS PNG
//! field (5.41), the CMC 0.24° JPEG 2000 temperature (5.40) and the ECMWF
//! 0.25° CCSDS precipitation rate (5.42). Files are decompressed outside
//! the timed loop; the cases from the shared data folder are skipped when
//! it is absent.

use std::borrow::Cow;
use std::io::Read;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use decode::decode_message;
use grib::encoder::{EncodingMethod, GpvEncoder, SimplePackingStrategy, WriteGrib2PointValues};

fn load(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/grib")
        .join(name);
    let raw = std::fs::read(&path)
        .map_err(|e| eprintln!("skipping {}: {e}", path.display()))
        .ok()?;
    let mut out = Vec::new();
    if name.ends_with(".xz") {
        xz2::read::XzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .ok()?;
    } else if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .ok()?;
    } else {
        out = raw;
    }
    Some(out)
}

/// The first message of `bytes` (from "GRIB", section 0's total length).
fn first_message(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .windows(4)
        .position(|w| w == b"GRIB")
        .expect("a message");
    let bytes = &bytes[start..];
    let len = u64::from_be_bytes(bytes[8..16].try_into().expect("section 0")) as usize;
    bytes[..len].to_vec()
}

/// The demo data's f000 2 m temperature (0.25°, template 5.2).
fn demo_t2m() -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("wxfarm-bench-decode-{}", std::process::id()));
    let opts = demo::DemoOptions {
        hours: 0,
        radar_frames: 0,
        ..demo::DemoOptions::default()
    };
    let report = demo::write_demo_data(&dir, &opts).expect("demo data");
    let bytes = std::fs::read(&report.files[0].path).expect("demo f000");
    let _ = std::fs::remove_dir_all(&dir);
    first_message(&bytes)
}

/// `message` with sections 5–7 replaced by its values re-packed with
/// simple packing (template 5.0) at decimal scale `dec`.
fn repack_simple(message: &[u8], dec: i16) -> Vec<u8> {
    let values: Vec<f64> = decode::decode_raw(message, 0)
        .expect("decodes")
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let encoder = GpvEncoder::new(
        Cow::Borrowed(&values),
        EncodingMethod::SimplePacking(SimplePackingStrategy::Decimal(dec)),
    );
    let mut data = vec![0; encoder.data_sections_len()];
    let n = encoder.write_data_sections(&mut data).expect("encodes");
    data.truncate(n);
    // Sections 0–4 as they are, then the new 5–7 and "7777".
    let mut at = 16;
    while message[at + 4] != 5 {
        at += u32::from_be_bytes(message[at..at + 4].try_into().expect("section")) as usize;
    }
    let mut out = message[..at].to_vec();
    out.extend_from_slice(&data);
    out.extend_from_slice(b"7777");
    let total = out.len() as u64;
    out[8..16].copy_from_slice(&total.to_be_bytes());
    out
}

fn bench(c: &mut Criterion) {
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let t2m = demo_t2m();
    cases.push(("demo_t2m_0p25_template_5_0", repack_simple(&t2m, 2)));
    cases.push(("demo_t2m_0p25_template_5_2", t2m));
    for (label, file) in [
        ("gfs_0p25_template_5_3", "gdas.t12z.pgrb2.0p25.f000.12.xz"),
        ("ndfd_2145x1377_template_5_2_missing", "ds.critfireo.bin.xz"),
        (
            "mrms_7000x3500_template_5_41",
            "MRMS_ReflectivityAtLowestAltitude_00.50_20230406-120039.grib2.gz",
        ),
        (
            "cmc_0p24_template_5_40",
            "CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2",
        ),
        (
            "ecmwf_0p25_template_5_42",
            "20250912120000-0h-oper-fc.grib2.89.xz",
        ),
    ] {
        if let Some(bytes) = load(file) {
            cases.push((label, first_message(&bytes)));
        }
    }
    let mut group = c.benchmark_group("decode_message");
    group.sample_size(10);
    for (label, bytes) in &cases {
        group.bench_function(*label, |b| {
            b.iter(|| decode_message(std::hint::black_box(bytes), 0).map(|g| g.values.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
