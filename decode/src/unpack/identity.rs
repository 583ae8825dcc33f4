//! Bit-identity of [`super::unpack`] with the `grib` crate on real data:
//! every template 5.0/5.2/5.3/5.40/5.41/5.42 field of every sample file in
//! `../shared/data/grib`, of the demo data set, and of any files in
//! `$WXFARM_IDENTITY_GRIB_DIR` (`scripts/bench-decode-peers.sh` writes
//! ecCodes-packed ones there); plus every field of the samples (whatever
//! its packing) re-packed by the crate's encoder as 5.0 and 5.2, with a
//! bit-map where values are missing.

#[path = "../../../tests/support/require.rs"]
mod require;

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use grib::encoder::{
    ComplexPackingStrategy, EncodingMethod, GpvEncoder, SimplePackingStrategy,
    SpatialDifferencingOption, WriteGrib2PointValues,
};

use super::sections::Field;
use crate::message::{RawField, raw_fields, unpack as unpack_fast, unpack_codes, unpack_reference};

/// Decodes `field` both ways; asserts equal bits (NaN at the same points)
/// or, for fields the crate cannot read either, two errors. Returns the
/// number of values compared.
fn assert_identical(label: &str, field: &RawField<'_>) -> usize {
    let fast = unpack_fast(field);
    let reference = unpack_reference(field);
    match (fast, reference) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.len(), b.len(), "{label}: lengths");
            let differ = a
                .iter()
                .zip(&b)
                .position(|(x, y)| x.to_bits() != y.to_bits());
            if let Some(k) = differ {
                panic!("{label}[{k}]: ours {} the crate's {}", a[k], b[k]);
            }
            assert_codes_identical(label, field, &a);
            a.len()
        }
        (Err(a), Err(b)) => {
            eprintln!("{label}: both refuse it ({a} / {b})");
            0
        }
        (a, b) => panic!(
            "{label}: ours {:?}, the crate's {:?}",
            a.map(|v| v.len()),
            b.map(|v| v.len())
        ),
    }
}

/// Where a field keeps its packed integers (PNG samples up to 16 bits),
/// each point's integer reads as exactly its f32 value.
fn assert_codes_identical(label: &str, field: &RawField<'_>, values: &[f32]) {
    let codes = unpack_codes(field).unwrap_or_else(|e| panic!("{label}: codes: {e}"));
    let Some((codes, table)) = codes else {
        return;
    };
    assert_eq!(codes.len(), values.len(), "{label}: code count");
    for (k, (&c, v)) in codes.iter().zip(values).enumerate() {
        let got = table[usize::from(c)];
        assert!(
            got.to_bits() == v.to_bits(),
            "{label}[{k}]: code {c} reads {got}, not {v}"
        );
    }
}

fn template(field: &RawField<'_>) -> u16 {
    field
        .sect5
        .get(9..11)
        .map_or(u16::MAX, |b| u16::from_be_bytes([b[0], b[1]]))
}

/// The templates [`super::unpack`] decodes itself.
const BULK: [u16; 6] = [0, 2, 3, 40, 41, 42];

/// Compares every field of `bytes` packed with one of [`BULK`]; returns
/// (fields, values).
fn compare_file(label: &str, bytes: &[u8]) -> (usize, usize) {
    let fields = raw_fields(bytes, None).unwrap_or_else(|e| panic!("{label}: {e}"));
    let mut counts = (0, 0);
    for f in fields.iter().filter(|f| BULK.contains(&template(f))) {
        counts.0 += 1;
        counts.1 += assert_identical(&format!("{label} field {} (5.{})", f.id, template(f)), f);
    }
    counts
}

fn read(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".xz") {
        xz2::read::XzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
    } else if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
    } else {
        out = raw;
    }
    out
}

/// The sample GRIB2 files (wgrib2 reference dumps excluded).
fn samples() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/grib");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        require::missing(&format!("the shared GRIB samples ({})", dir.display()));
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Some(files)
}

#[test]
fn sample_files_decode_bit_identically() {
    let Some(files) = samples() else { return };
    let (mut fields, mut values) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let (f, v) = compare_file(&name, &read(path));
        eprintln!("{name}: {f} fields, {v} values identical");
        (fields, values) = (fields + f, values + v);
    }
    // GDAS: two 5.3 fields; NDFD: four 5.2 fields with missing values;
    // CMC: one 5.40 field (1.13 M values); ECMWF: one 5.42 field (1.04 M);
    // MRMS: one 5.41 field (24.5 M).
    assert!(
        fields >= 9 && values >= 32_000_000,
        "{fields} fields, {values} values"
    );
}

#[test]
fn extra_files_decode_bit_identically() {
    let Some(dir) = std::env::var_os("WXFARM_IDENTITY_GRIB_DIR") else {
        eprintln!("WXFARM_IDENTITY_GRIB_DIR is not set: no extra files");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.to_string_lossy()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let (f, v) = compare_file(&name, &read(path));
        eprintln!("{name}: {f} fields, {v} values identical");
    }
}

#[test]
fn demo_data_decodes_bit_identically() {
    let dir = std::env::temp_dir().join(format!("wxfarm-identity-{}", std::process::id()));
    let opts = demo::DemoOptions {
        hours: 1,
        radar_frames: 1,
        grid_coarsening: 2,
        ..demo::DemoOptions::default()
    };
    let report = demo::write_demo_data(&dir, &opts).unwrap();
    let mut fields = 0;
    for file in &report.files {
        let bytes = read(&file.path);
        let name = file.path.file_name().unwrap_or_default().to_string_lossy();
        let (f, v) = compare_file(&name, &bytes);
        eprintln!("{name}: {f} fields, {v} values identical");
        fields += f;
        // Re-packed too: the radar frame is PNG-packed.
        if matches!(file.kind, demo::DemoFileKind::Radar) {
            for field in raw_fields(&bytes, None).unwrap() {
                fields += repack_and_compare("demo radar", &field);
            }
        }
        assert!(f == 0 || v > 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(fields >= 10, "{fields} fields compared");
}

/// Sections 5–7 from the crate's encoder for `values` (NaN: missing).
fn encode(values: &[f64], method: EncodingMethod) -> Field {
    let encoder = GpvEncoder::new(Cow::Borrowed(values), method);
    let mut buf = vec![0; encoder.data_sections_len()];
    let n = encoder.write_data_sections(&mut buf).unwrap();
    buf.truncate(n);
    let mut sections = Vec::new();
    let mut at = 0;
    while let Some(h) = buf.get(at..at + 4) {
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        sections.push(buf[at..at + len].to_vec());
        at += len;
    }
    let mut field = Field::new(values.len(), 0, 0, &[], None, &[]);
    let [s5, s6, s7] = <[Vec<u8>; 3]>::try_from(sections).unwrap();
    (field.sect5, field.sect6, field.sect7) = (s5, s6, s7);
    field
}

/// The values of `field` (any packing, decoded by the crate or by our PNG
/// code), at most `CAP` of them, re-packed as 5.0 and 5.2 at four decimal
/// scales; each compared both ways. Returns the number of fields compared.
fn repack_and_compare(label: &str, field: &RawField<'_>) -> usize {
    const CAP: usize = 2_000_000;
    let values = unpack_reference(field).unwrap_or_else(|e| panic!("{label}: {e}"));
    // MRMS writes −999 and −99 as values: make them missing as
    // decode_message does, so the re-packed field has a bit-map.
    let values: Vec<f64> = values
        .iter()
        .take(CAP)
        .map(|&v| {
            if v <= -99.0 && field.discipline == 209 {
                f64::NAN
            } else {
                f64::from(v)
            }
        })
        .collect();
    let mut compared = 0;
    for dec in [0, 2, 4, 6] {
        let simple = EncodingMethod::SimplePacking(SimplePackingStrategy::Decimal(dec));
        let complex = EncodingMethod::ComplexPacking(
            SimplePackingStrategy::Decimal(dec),
            ComplexPackingStrategy::LookAhead(4),
            SpatialDifferencingOption::None,
        );
        for (name, method) in [("5.0", simple), ("5.2", complex)] {
            let f = encode(&values, method);
            let label = format!("{label} as {name} D={dec}");
            let n = assert_identical(&label, &f.raw());
            let bitmap = f.sect6.get(5) == Some(&0);
            eprintln!(
                "{label}: {n} values identical, N = {}, bit-map {bitmap}",
                f.sect5[19]
            );
            assert_eq!(n, values.len(), "{label} as {name}");
            compared += 1;
        }
    }
    compared
}

#[test]
fn sample_fields_repacked_decode_bit_identically() {
    let Some(files) = samples() else { return };
    let mut compared = 0;
    for path in &files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let bytes = read(path);
        for field in raw_fields(&bytes, None).unwrap() {
            compared += repack_and_compare(&format!("{name} field {}", field.id), &field);
        }
    }
    assert!(compared >= 72, "{compared} re-packed fields");
}
