//! Randomised fields of templates 5.0, 5.2 and 5.3 (every missing-value
//! management, both orders of differencing, 1–4 descriptor octets, bit-maps
//! from empty to full, widths 0–32), then the same fields with their data
//! and bit-map bytes flipped: [`super::unpack`] and the `grib` crate must
//! agree bit for bit, or both refuse the field.

use super::sections::{Complex, Field, Packed, Simple, bitmap, complex_field, simple_field};
use crate::message::{unpack as unpack_fast, unpack_reference};

/// A reference value: special ones (−0, 0, large, tiny) or random.
fn reference(rng: &mut fastrand::Rng) -> f32 {
    match rng.u8(0..6) {
        0 => -0.0,
        1 => 0.0,
        2 => -12_345.678,
        3 => 273.15,
        4 => 1.0e-7,
        _ => (rng.f32() - 0.5) * 2.0e4,
    }
}

/// Random points present in a bit-map (None: no bit-map).
fn presence(rng: &mut fastrand::Rng, n: usize) -> Option<Vec<bool>> {
    let p = match rng.u8(0..5) {
        0 => return None,
        1 => 0.0,
        2 => 1.0,
        _ => rng.f32(),
    };
    Some((0..n).map(|_| rng.f32() < p).collect())
}

fn simple_case(rng: &mut fastrand::Rng) -> Field {
    let n = rng.usize(0..1500);
    let present = presence(rng, n);
    let encoded = present
        .as_ref()
        .map_or(n, |p| p.iter().filter(|&&x| x).count());
    let bits = rng.u8(0..=32);
    let ints: Vec<u32> = (0..encoded)
        .map(|_| rng.u32(..).checked_shr(32 - u32::from(bits)).unwrap_or(0))
        .collect();
    let p = Simple {
        r: reference(rng),
        e: rng.i16(-40..=40),
        d: rng.i16(-8..=8),
        bits,
    };
    let map = present.map(|p| bitmap(&p));
    simple_field(n, p, &ints, map.as_deref())
}

fn complex_case(rng: &mut fastrand::Rng) -> Field {
    let n = rng.usize(0..1500);
    let present = presence(rng, n);
    let encoded = present
        .as_ref()
        .map_or(n, |p| p.iter().filter(|&&x| x).count());
    let mvm = rng.u8(0..=2);
    let order = rng.u8(0..=2);
    let octets = rng.u8(1..=4);
    let spread = rng.u32(0..=20);
    let gone = if mvm > 0 { rng.f32() * 0.5 } else { 0.0 };
    let values: Vec<Packed> = (0..encoded)
        .map(|_| {
            if rng.f32() < gone {
                Packed::Missing(if mvm == 2 { rng.u8(1..=2) } else { 1 })
            } else if rng.f32() < 0.3 {
                // Runs of one value make constant groups.
                Packed::Value(7)
            } else {
                Packed::Value(rng.u32(..) >> (32 - spread.max(1)) >> u32::from(spread == 0))
            }
        })
        .collect();
    let mut lens = Vec::new();
    let mut left = encoded;
    while left > 0 {
        let len = rng.usize(1..=40).min(left);
        lens.push(len as u32);
        left -= len;
    }
    if lens.is_empty() {
        lens.push(0);
    }
    let max_first = (1u64 << (8 * u32::from(octets))) - 1;
    let first: Vec<u32> = (0..order)
        .map(|_| rng.u64(0..=max_first.min(u64::from(u32::MAX))) as u32)
        .collect();
    let max_min = (1i64 << (8 * i64::from(octets) - 1)) - 1;
    let z_min = rng.i64(-max_min.min(1 << 20)..=max_min.min(1 << 20));
    let c = Complex {
        splitting: 1,
        mvm,
        order,
        octets,
        ..Complex::default()
    };
    let p = Simple {
        r: reference(rng),
        e: rng.i16(-40..=40),
        d: rng.i16(-8..=8),
        bits: rng.u8(0..=4),
    };
    let map = present.map(|p| bitmap(&p));
    complex_field(n, p, c, &values, &lens, (&first, z_min), map.as_deref())
}

/// Decodes `f` both ways. `Some(values)` when both agree on a result,
/// `None` when both refuse it; panics when they disagree.
fn agree(label: &str, f: &Field) -> Option<usize> {
    let raw = f.raw();
    match (unpack_fast(&raw), unpack_reference(&raw)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.len(), b.len(), "{label}");
            for (k, (x, y)) in a.iter().zip(&b).enumerate() {
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "{label}[{k}]: {x} vs the crate's {y}"
                );
            }
            Some(a.len())
        }
        (Err(_), Err(_)) => None,
        (a, b) => panic!(
            "{label}: ours {:?}, the crate's {:?}",
            a.map(|v| v.len()),
            b.map(|v| v.len())
        ),
    }
}

#[test]
fn random_fields_decode_bit_identically() {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let (mut ok, mut values) = (0, 0);
    for case in 0..1500 {
        let (label, f) = if case % 2 == 0 {
            (format!("simple case {case}"), simple_case(&mut rng))
        } else {
            (format!("complex case {case}"), complex_case(&mut rng))
        };
        let raw = f.raw();
        let n = agree(&label, &f).unwrap_or_else(|| {
            panic!(
                "{label}: both refused a valid field: {:?}",
                unpack_fast(&raw)
            )
        });
        ok += 1;
        values += n;
    }
    eprintln!("{ok} random fields, {values} values identical");
}

#[test]
fn flipped_bytes_give_the_same_result_or_two_errors() {
    let mut rng = fastrand::Rng::with_seed(0xf11b);
    let (mut same, mut refused) = (0, 0);
    for case in 0..600 {
        let mut f = if case % 2 == 0 {
            simple_case(&mut rng)
        } else {
            complex_case(&mut rng)
        };
        // Data and bit-map bytes only: section 5's counts could make the
        // crate allocate without bound (a constant group of 2^32 values).
        for _ in 0..rng.usize(1..4) {
            let sect = if rng.bool() {
                &mut f.sect7
            } else {
                &mut f.sect6
            };
            if sect.len() > 6 {
                let k = rng.usize(6..sect.len());
                sect[k] ^= 1 << rng.u8(0..8);
            }
        }
        match agree(&format!("flipped case {case}"), &f) {
            Some(_) => same += 1,
            None => refused += 1,
        }
    }
    eprintln!("{same} flipped fields decoded identically, {refused} refused by both");
}
