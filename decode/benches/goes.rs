//! NetCDF4 decode time per band on the real GOES-R ABI files
//! (`../shared/data/goes/`): open from memory, unpack, quality-mask and
//! convert to brightness temperature or reflectance factor. Compare with
//! `scripts/bench-netcdf.py` (python netCDF4 doing the same work).

use std::path::PathBuf;

use criterion::{Criterion, black_box, criterion_group, criterion_main};

fn goes(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/goes");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: {} is absent", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "nc"))
        .collect();
    files.sort();
    let mut group = c.benchmark_group("goes decode");
    group.sample_size(10);
    for f in files {
        let bytes = std::fs::read(&f).expect("readable");
        let name = f.file_name().unwrap_or_default().to_string_lossy();
        let label = name.split("_s").next().unwrap_or(&name).to_owned();
        group.bench_function(label, |b| {
            b.iter(|| decode::decode_field(black_box(&bytes), 0).expect("decodes"))
        });
    }
    group.finish();
}

criterion_group!(benches, goes);
criterion_main!(benches);
