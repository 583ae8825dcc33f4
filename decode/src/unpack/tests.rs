//! Hand-built fields for the edge cases, and randomised fields, each
//! decoded by [`super::unpack`] and by the `grib` crate: results must be
//! bit-identical (or both an error).

use super::sections::{
    BitWriter, Complex, Field, Packed, Simple, bitmap, complex_field, simple_field,
};
use super::{Fault, unpack};
use crate::DecodeError;
use crate::message::{unpack as unpack_fast, unpack_reference};

/// Decodes `f` both ways and asserts the same outcome: equal bits, or
/// both errors. Returns the values.
fn same(label: &str, f: &Field) -> Result<Vec<f32>, DecodeError> {
    let raw = f.raw();
    let fast = unpack_fast(&raw);
    let reference = unpack_reference(&raw);
    match (&fast, &reference) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.len(), b.len(), "{label}: lengths");
            for (k, (x, y)) in a.iter().zip(b).enumerate() {
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "{label}[{k}]: {x} vs the crate's {y}"
                );
            }
        }
        (Err(_), Err(_)) => {}
        _ => panic!("{label}: ours {fast:?}, the crate's {reference:?}"),
    }
    fast
}

fn plain(bits: u8) -> Simple {
    Simple {
        r: 0.0,
        e: 0,
        d: 0,
        bits,
    }
}

/// `values` as complex-packed integers.
fn ints(values: &[u32]) -> Vec<Packed> {
    values.iter().map(|&v| Packed::Value(v)).collect()
}

#[test]
fn zero_bits_is_a_constant_field() {
    let p = Simple {
        r: 273.15,
        e: 3,
        d: 1,
        bits: 0,
    };
    let v = same("5.0 N=0", &simple_field(11, p, &[0; 11], None)).unwrap();
    assert!(v.iter().all(|&x| x == 273.15f32 * 10f32.powi(-1)));
    // 5.2 with 0-bit references and one constant group.
    let c = Complex {
        splitting: 1,
        ..Complex::default()
    };
    let f = complex_field(9, p, c, &ints(&[0; 9]), &[9], (&[], 0), None);
    assert!(same("5.2 N=0", &f).unwrap().iter().all(|&x| x == 27.315));
}

#[test]
fn thirty_two_bits() {
    let values = [0, 1, u32::MAX, 0x8000_0000, 12345];
    let v = same("5.0 N=32", &simple_field(5, plain(32), &values, None)).unwrap();
    let want: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    assert_eq!(v, want);
}

#[test]
fn value_count_not_a_multiple_of_eight_bits() {
    // 13 values of 5 bits: 65 bits, 9 octets with 7 bits of padding.
    let values: Vec<u32> = (0..13).map(|k| (k * 7) % 32).collect();
    let v = same("5.0 13×5 bits", &simple_field(13, plain(5), &values, None)).unwrap();
    assert_eq!(v, values.iter().map(|&x| x as f32).collect::<Vec<_>>());
    // With a bit-map over 19 points (not a whole octet either).
    let present: Vec<bool> = (0..19).map(|k| k % 3 != 1).collect();
    let map = bitmap(&present);
    let v = same(
        "5.0 bit-map",
        &simple_field(19, plain(5), &values, Some(&map)),
    )
    .unwrap();
    let mut packed = values.iter();
    for (k, (&x, &p)) in v.iter().zip(&present).enumerate() {
        match p {
            true => assert_eq!(Some(&(x as u32)), packed.next(), "[{k}]"),
            false => assert!(x.is_nan(), "[{k}]"),
        }
    }
}

#[test]
fn bitmap_with_every_point_missing() {
    let map = bitmap(&[false; 21]);
    let v = same(
        "5.0 all missing",
        &simple_field(21, plain(8), &[], Some(&map)),
    )
    .unwrap();
    assert!(v.len() == 21 && v.iter().all(|x| x.is_nan()));
    let c = Complex {
        splitting: 1,
        ..Complex::default()
    };
    for order in [0, 1, 2] {
        let c = Complex {
            order,
            octets: 2,
            ..c.clone()
        };
        let f = complex_field(
            21,
            plain(4),
            c,
            &[],
            &[0],
            (&[0, 0][..usize::from(order)], 0),
            Some(&map),
        );
        let v = same(&format!("order {order} all missing"), &f).unwrap();
        assert!(v.len() == 21 && v.iter().all(|x| x.is_nan()));
    }
}

/// `f` with its section 7 payload cut by `by` octets.
fn truncated(f: &Field, by: usize) -> Field {
    let mut sect7 = f.sect7[..f.sect7.len() - by].to_vec();
    let len = sect7.len() as u32;
    sect7[..4].copy_from_slice(&len.to_be_bytes());
    Field {
        sect3: f.sect3.clone(),
        sect5: f.sect5.clone(),
        sect6: f.sect6.clone(),
        sect7,
    }
}

#[test]
fn truncated_data_is_an_error() {
    let values: Vec<u32> = (0..40).map(|k| k * 3 % 17).collect();
    let c = Complex {
        splitting: 1,
        ..Complex::default()
    };
    let fields = [
        simple_field(40, plain(5), &values, None),
        complex_field(
            40,
            plain(4),
            c.clone(),
            &ints(&values),
            &[10, 13, 17],
            (&[], 0),
            None,
        ),
        complex_field(
            40,
            plain(4),
            Complex {
                order: 2,
                octets: 2,
                ..c
            },
            &ints(&values),
            &[10, 13, 17],
            (&[3, 4], -2),
            None,
        ),
    ];
    for (k, f) in fields.iter().enumerate() {
        assert!(same("whole", f).is_ok());
        let payload = f.sect7.len() - 5;
        for by in 1..=payload {
            let cut = truncated(f, by);
            assert!(same(&format!("field {k} cut by {by}"), &cut).is_err());
            // Our own checks, without the header checks in front of them.
            let raw = cut.raw();
            let s5 = grib::TryFromSlice::try_from_slice(raw.sect5, &mut 0).unwrap();
            assert!(matches!(
                unpack(&s5, raw.sect6, raw.sect7, 40),
                Err(Fault::Corrupt(_))
            ));
        }
    }
}

#[test]
fn first_order_spatial_differencing() {
    let want = [10u32, 12, 11, 15, 15, 14, 20];
    // Differences 2 −1 4 0 −1 6; minimum −1; packed as difference + 1.
    let packed = ints(&[0, 3, 0, 5, 1, 0, 7]);
    let c = Complex {
        splitting: 1,
        order: 1,
        octets: 2,
        ..Complex::default()
    };
    let f = complex_field(7, plain(3), c, &packed, &[3, 4], (&[10], -1), None);
    let v = same("5.3 first order", &f).unwrap();
    assert_eq!(v, want.map(|x| x as f32));
}

#[test]
fn second_order_spatial_differencing() {
    let want = [5u32, 7, 10, 14, 17, 19, 20];
    // Second differences (from the third value) 1 1 −1 −1 −1; minimum −1.
    let packed = ints(&[0, 0, 2, 2, 0, 0, 0]);
    for octets in 1..=4 {
        let c = Complex {
            splitting: 1,
            order: 2,
            octets,
            ..Complex::default()
        };
        let f = complex_field(7, plain(2), c, &packed, &[2, 2, 3], (&[5, 7], -1), None);
        let v = same("5.3 second order", &f).unwrap();
        assert_eq!(v, want.map(|x| x as f32), "{octets} octets");
    }
}

#[test]
fn missing_value_management_with_and_without_differencing() {
    use Packed::{Missing, Value};
    let packed = [
        Value(4),
        Missing(1),
        Value(6),
        Value(6),
        Missing(2),
        Missing(2),
        Missing(1),
        Value(1),
        Value(9),
        Missing(1),
    ];
    for mvm in [1u8, 2] {
        let packed: Vec<Packed> = packed
            .iter()
            .map(|p| match p {
                Missing(_) if mvm == 1 => Missing(1),
                p => *p,
            })
            .collect();
        for order in [0u8, 1, 2] {
            let c = Complex {
                splitting: 1,
                mvm,
                order,
                octets: 1,
                ..Complex::default()
            };
            let first = &[7, 3][..usize::from(order)];
            let f = complex_field(10, plain(1), c, &packed, &[2, 2, 3, 3], (first, 2), None);
            let v = same(&format!("mvm {mvm} order {order}"), &f).unwrap();
            for (k, p) in packed.iter().enumerate() {
                assert_eq!(
                    v[k].is_nan(),
                    matches!(p, Missing(_)),
                    "mvm {mvm} order {order} [{k}]"
                );
            }
        }
    }
    // Unsupported management and splitting are refused by both decoders.
    for (splitting, mvm) in [(1, 3), (0, 0)] {
        let c = Complex {
            splitting,
            mvm,
            ..Complex::default()
        };
        let f = complex_field(3, plain(2), c, &ints(&[1, 2, 3]), &[3], (&[], 0), None);
        assert!(matches!(
            same("unsupported", &f),
            Err(DecodeError::Unsupported { .. })
        ));
    }
}

#[test]
fn bit_writer_round_trip() {
    let mut w = BitWriter::default();
    w.push(0b101, 3);
    w.align();
    w.push(0xffff_ffff, 32);
    assert_eq!(w.bytes, [0b1010_0000, 0xff, 0xff, 0xff, 0xff]);
}

#[test]
fn extreme_scale_factors() {
    // 2^E and 10^−D out of f32's range: infinities, zeros and NaN alike.
    for e in [-300i16, -150, -128, -127, -126, 127, 128, 300] {
        for d in [-60i16, -39, 0, 38, 46] {
            let p = Simple {
                r: 1.5,
                e,
                d,
                bits: 3,
            };
            same(
                &format!("E={e} D={d}"),
                &simple_field(4, p, &[0, 1, 5, 7], None),
            )
            .unwrap();
        }
    }
}

/// A 16-bit grey PNG of `samples` in one row.
fn png16(samples: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, samples.len() as u32, 1);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Sixteen);
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_be_bytes()).collect();
    let mut w = enc.write_header().expect("png header");
    w.write_image_data(&data).expect("png data");
    w.finish().expect("png end");
    out
}

/// PNG samples kept as codes read exactly as the f32 unpacking, with the
/// bit-map's gaps as a code of their own; with every 16-bit code taken,
/// the field falls back to f32.
#[test]
fn png_codes_with_a_bitmap() {
    let present = [
        true, false, true, true, false, true, true, false, true, true,
    ];
    for (largest, keeps_codes) in [(40_000u16, true), (65_535, false)] {
        let samples = [0, 1, 300, largest, 7, 7, 2];
        let p = Simple {
            r: -10.0,
            e: 1,
            d: 1,
            bits: 16,
        };
        let mut params = p.bytes();
        params.push(0);
        let f = Field::new(
            10,
            7,
            41,
            &params,
            Some(&bitmap(&present)),
            &png16(&samples),
        );
        let values = same("5.41 bit-map", &f).expect("decodes");
        let codes = crate::message::unpack_codes(&f.raw()).expect("codes");
        let Some((codes, table)) = codes else {
            assert!(!keeps_codes, "largest {largest}: kept as codes");
            continue;
        };
        assert!(keeps_codes, "largest {largest}: no code left for the gaps");
        for (k, (&c, v)) in codes.iter().zip(&values).enumerate() {
            let got = table[usize::from(c)];
            assert_eq!(got.to_bits(), v.to_bits(), "[{k}] code {c}");
        }
        assert_eq!(values.iter().filter(|v| v.is_nan()).count(), 3);
        assert_eq!(values[3], ((-10.0 + 300.0 * 2.0) / 10.0) as f32);
    }
}
