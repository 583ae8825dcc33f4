//! Decode throughput on real fields: the GFS 0.25° field packed with
//! complex packing and spatial differencing (5.3), and the 7000×3500 MRMS
//! PNG field (5.41). Files are decompressed outside the timed loop; the
//! bench does nothing when the shared data folder is absent.

use std::io::Read;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use decode::decode_message;

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
    } else {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .ok()?;
    }
    Some(out)
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("gfs_0p25_template_5_3", "gdas.t12z.pgrb2.0p25.f000.12.xz"),
        (
            "mrms_7000x3500_template_5_41",
            "MRMS_ReflectivityAtLowestAltitude_00.50_20230406-120039.grib2.gz",
        ),
    ];
    let mut group = c.benchmark_group("decode_message");
    group.sample_size(10);
    for (label, file) in cases {
        let Some(bytes) = load(file) else { continue };
        group.bench_function(label, |b| {
            b.iter(|| decode_message(std::hint::black_box(&bytes), 0).map(|g| g.values.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
