//! Mutation fuzzing of GRIB2 decoding: real producers' messages (every
//! packing we read) with corrupted headers, extreme size fields, flipped
//! data bytes and truncations. Whatever the bytes, indexing (what ingest
//! runs) and decoding (what a worker runs on bytes it fetched, which may
//! have been swapped since ingest) return `Ok` or `Err`: no panic, no
//! abort, and no grid beyond [`decode::MAX_POINTS`].
//!
//! A short run is part of `make test`; `WXFARM_FUZZ_ITERS=20000 cargo test
//! -p wxfarm-decode --release --test fuzz_decode` runs longer. A failure
//! prints the seed and mutation that reproduce it.

#[path = "../../tests/support/require.rs"]
mod require;

use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

/// Seeds: one message of each packing (5.0 in ECMWF's file is CCSDS 5.42).
const SEEDS: [&str; 5] = [
    "CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2", // JPEG 2000
    "gdas.t12z.pgrb2.0p25.f000.12.xz",                        // complex + spatial differencing
    "20250912120000-0h-oper-fc.grib2.89.xz",                  // CCSDS
    "ds.critfireo.bin.xz",                                    // NDFD, Lambert
    "MRMS_ReflectivityAtLowestAltitude_00.50_20230406-120039.grib2.gz", // PNG
];

/// Random choices, reproducible from the printed seed.
struct Rng(fastrand::Rng);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n.max(1))
    }
}

/// One message's bytes from a sample file (the first, decompressed).
fn first_message(name: &str) -> Option<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/grib");
    let raw = std::fs::read(dir.join(name)).ok()?;
    let mut bytes = Vec::new();
    if name.ends_with(".xz") {
        xz2::read::XzDecoder::new(&raw[..])
            .read_to_end(&mut bytes)
            .ok()?;
    } else if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut bytes)
            .ok()?;
    } else {
        bytes = raw;
    }
    let len = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?) as usize;
    bytes.truncate(len);
    Some(bytes)
}

/// Offsets where each section starts (sections 1 to 7, then "7777").
fn section_starts(m: &[u8]) -> Vec<usize> {
    let mut at = 16;
    let mut out = Vec::new();
    while at + 5 <= m.len() && &m[at..at + 4] != b"7777" {
        out.push(at);
        let len = u32::from_be_bytes([m[at], m[at + 1], m[at + 2], m[at + 3]]) as usize;
        if len < 5 {
            break;
        }
        at += len;
    }
    out
}

/// Mutates `m` in place and says how, for the failure message.
fn mutate(m: &mut Vec<u8>, rng: &mut Rng) -> String {
    let starts = section_starts(m);
    if starts.is_empty() || m.is_empty() {
        // An earlier mutation cut the message before its sections.
        m.push(rng.next() as u8);
        return "one byte appended".into();
    }
    // Mostly within a section's first 64 bytes: lengths, grid sizes,
    // packing parameters, the embedded image's header.
    let header_offset = |rng: &mut Rng| {
        let s = starts[rng.below(starts.len())];
        s + rng.below(64)
    };
    match rng.below(6) {
        0 => {
            let at = header_offset(rng).min(m.len() - 1);
            let v = rng.next() as u8;
            m[at] = v;
            format!("byte {at} = {v}")
        }
        1 | 2 => {
            let at = header_offset(rng).min(m.len().saturating_sub(4));
            let v: u32 = [0, 1, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, rng.next() as u32][rng.below(6)];
            let width = [2, 4][rng.below(2)];
            let bytes = v.to_be_bytes();
            m[at..at + width].copy_from_slice(&bytes[4 - width..]);
            format!("{width} bytes at {at} = {v:#x}")
        }
        3 => {
            let at = rng.below(m.len());
            m[at] ^= 1 << rng.below(8);
            format!("bit flip at {at}")
        }
        4 => {
            let len = rng.below(m.len());
            m.truncate(len);
            format!("truncated to {len}")
        }
        _ => {
            // A section's length pointing past the end or into the next.
            let s = starts[rng.below(starts.len())];
            let v = (rng.next() as u32) % (m.len() as u32 * 2);
            m[s..s + 4].copy_from_slice(&v.to_be_bytes());
            format!("section at {s} length = {v}")
        }
    }
}

/// Indexes and decodes `m` as ingest and a worker would; panics (caught
/// by the caller) on a broken promise.
fn exercise(m: &[u8]) {
    if let Ok(fields) = decode::index_fields(m) {
        for field in fields.into_iter().flatten() {
            let _ = field;
        }
    }
    for submessage in 0..2 {
        if let Ok(grid) = decode::decode_message(m, submessage) {
            let points = grid.ni * grid.nj;
            assert!(points <= decode::MAX_POINTS, "{points} points decoded");
            assert_eq!(grid.values.len(), points, "values match the grid");
        }
    }
}

#[test]
fn mutated_messages_are_refused_or_decoded_never_crash() {
    let iterations: usize = std::env::var("WXFARM_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mut tried = 0;
    for (k, name) in SEEDS.iter().enumerate() {
        let Some(seed_message) = first_message(name) else {
            require::missing(&format!("the shared GRIB sample {name}"));
            continue;
        };
        // The unmutated message decodes: the harness exercises real paths.
        assert!(decode::decode_message(&seed_message, 0).is_ok(), "{name}");
        for i in 0..iterations {
            let seed = 0x9e37_79b9_7f4a_7c15 ^ ((k as u64) << 32 | i as u64);
            let mut rng = Rng::new(seed);
            let mut m = seed_message.clone();
            let how: Vec<String> = (0..1 + rng.below(3))
                .map(|_| mutate(&mut m, &mut rng))
                .collect();
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| exercise(&m)));
            assert!(
                outcome.is_ok(),
                "{name}, seed {seed:#x}: {} made decoding panic",
                how.join(", ")
            );
            tried += 1;
        }
    }
    eprintln!("{tried} mutated messages indexed and decoded");
}
