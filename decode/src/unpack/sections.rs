//! Test-only builders of sections 3 and 5–7: a bit writer, simple and
//! complex packers (templates 5.0, 5.2, 5.3 with every missing-value
//! management), and [`Field`], which owns the sections and lends them out
//! as the decoder's [`RawField`].

use crate::error::MessageId;
use crate::message::RawField;

/// Big-endian bit writer.
#[derive(Default)]
pub(crate) struct BitWriter {
    pub bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    pub fn push(&mut self, value: u64, width: u32) {
        for b in (0..width).rev() {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if (value >> b) & 1 == 1 {
                let last = self.bytes.len() - 1;
                self.bytes[last] |= 0x80 >> (self.bits % 8);
            }
            self.bits += 1;
        }
    }

    /// Pads to the next octet.
    pub fn align(&mut self) {
        self.bits = self.bytes.len() * 8;
    }
}

/// Bits needed for `v`.
pub(crate) fn bits_for(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// GRIB2 sign-and-magnitude integer in `octets` octets.
pub(crate) fn signed(v: i64, octets: usize) -> Vec<u8> {
    let mut out = v.unsigned_abs().to_be_bytes()[8 - octets..].to_vec();
    if v < 0 {
        out[0] |= 0x80;
    }
    out
}

fn section(num: u8, body: &[u8]) -> Vec<u8> {
    let mut s = ((body.len() + 5) as u32).to_be_bytes().to_vec();
    s.push(num);
    s.extend_from_slice(body);
    s
}

/// Simple packing parameters (section 5 octets 12–20).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Simple {
    pub r: f32,
    pub e: i16,
    pub d: i16,
    pub bits: u8,
}

impl Simple {
    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut b = self.r.to_bits().to_be_bytes().to_vec();
        b.extend(signed(self.e.into(), 2));
        b.extend(signed(self.d.into(), 2));
        b.push(self.bits);
        b
    }
}

/// Complex packing parameters (section 5 octets 22–47, and 48–49 for 5.3).
#[derive(Debug, Clone, Default)]
pub(crate) struct Complex {
    pub splitting: u8,
    pub mvm: u8,
    pub num_groups: u32,
    pub width_ref: u8,
    pub width_bits: u8,
    pub len_ref: u32,
    pub len_inc: u8,
    pub len_last: u32,
    pub len_bits: u8,
    /// Spatial differencing order (0: template 5.2) and descriptor octets.
    pub order: u8,
    pub octets: u8,
}

/// One field's sections, owned.
pub(crate) struct Field {
    pub sect3: Vec<u8>,
    pub sect5: Vec<u8>,
    pub sect6: Vec<u8>,
    pub sect7: Vec<u8>,
}

impl Field {
    /// Sections for `num_points` points, `encoded` of them packed as
    /// `template` (5.x) with parameters `params` (octets 12 on), `bitmap`
    /// (None: indicator 255) and section 7 payload `data`.
    pub fn new(
        num_points: usize,
        encoded: usize,
        template: u16,
        params: &[u8],
        bitmap: Option<&[u8]>,
        data: &[u8],
    ) -> Self {
        let mut s3 = vec![0u8];
        s3.extend((num_points as u32).to_be_bytes());
        s3.extend([0u8; 9]);
        let mut s5 = (encoded as u32).to_be_bytes().to_vec();
        s5.extend(template.to_be_bytes());
        s5.extend_from_slice(params);
        let mut s6 = vec![if bitmap.is_some() { 0 } else { 255 }];
        s6.extend_from_slice(bitmap.unwrap_or_default());
        Self {
            sect3: section(3, &s3),
            sect5: section(5, &s5),
            sect6: section(6, &s6),
            sect7: section(7, data),
        }
    }

    pub fn raw(&self) -> RawField<'_> {
        RawField {
            id: MessageId {
                message: 0,
                field: 0,
            },
            offset: 0,
            discipline: 0,
            sect1: &[],
            sect3: &self.sect3,
            sect4: &[],
            sect5: &self.sect5,
            sect6: &self.sect6,
            sect7: &self.sect7,
        }
    }
}

/// Bit-map bytes for `present`.
pub(crate) fn bitmap(present: &[bool]) -> Vec<u8> {
    let mut w = BitWriter::default();
    for &p in present {
        w.push(u64::from(p), 1);
    }
    w.bytes
}

/// A template 5.0 field: `ints` packed in `p.bits` bits.
pub(crate) fn simple_field(
    num_points: usize,
    p: Simple,
    ints: &[u32],
    map: Option<&[u8]>,
) -> Field {
    let mut w = BitWriter::default();
    for &i in ints {
        w.push(i.into(), p.bits.into());
    }
    let mut params = p.bytes();
    params.push(0);
    Field::new(num_points, ints.len(), 0, &params, map, &w.bytes)
}

/// A packed value of complex packing: `Some(integer)` or missing (1:
/// primary, 2: secondary).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Packed {
    Value(u32),
    Missing(u8),
}

/// A template 5.2 (`c.order == 0`) or 5.3 field holding `values` split into
/// groups of `lens` (which must add up to `values.len()`). For 5.3, the
/// values are the differences (already shifted by `z_min`) and `first`
/// the first values: `(first, z_min)`, unused for 5.2. Fills in `c.num_groups`, the widths, lengths and
/// their bit counts, and widens `p.bits` to hold the references; the
/// caller sets splitting, mvm, order and octets.
pub(crate) fn complex_field(
    num_points: usize,
    p: Simple,
    mut c: Complex,
    values: &[Packed],
    lens: &[u32],
    (first, z_min): (&[u32], i64),
    map: Option<&[u8]>,
) -> Field {
    let mut groups = Vec::new();
    let mut at = 0;
    for &len in lens {
        let g = &values[at..at + len as usize];
        at += len as usize;
        let present: Vec<u32> = g
            .iter()
            .filter_map(|v| match v {
                Packed::Value(x) => Some(*x),
                Packed::Missing(_) => None,
            })
            .collect();
        let min = present.iter().copied().min();
        let max = present.iter().copied().max().unwrap_or(0);
        let gone = present.len() < g.len();
        let (reference, width) = match min {
            Some(min) if !gone && min == max => (min, 0),
            // All missing: a constant group whose reference is the code.
            None if g.iter().all(|v| *v == Packed::Missing(1)) || c.mvm == 1 => (u32::MAX, 0),
            None if g.iter().all(|v| *v == Packed::Missing(2)) => (u32::MAX - 1, 0),
            _ => {
                let min = min.unwrap_or(0);
                let extra = u64::from(c.mvm);
                (min, bits_for(u64::from(max - min) + extra))
            }
        };
        groups.push((reference, width, len, g, min.unwrap_or(0)));
    }
    let max_ref = groups
        .iter()
        .map(|g| g.0)
        .filter(|&r| r < u32::MAX - 1)
        .max()
        .unwrap_or(0);
    let room = if c.mvm > 0 { 2 } else { 0 };
    let ref_bits = u32::from(p.bits).max(bits_for(u64::from(max_ref) + room));
    let p = Simple {
        bits: ref_bits as u8,
        ..p
    };
    let primary_ref = (1u64 << ref_bits) - 1;
    let min_width = groups.iter().map(|g| g.1).min().unwrap_or(0);
    let max_width = groups.iter().map(|g| g.1).max().unwrap_or(0);
    c.num_groups = groups.len() as u32;
    c.width_ref = min_width as u8;
    c.width_bits = bits_for(u64::from(max_width - min_width)) as u8;
    let non_last = &lens[..lens.len().saturating_sub(1)];
    c.len_ref = non_last.iter().copied().min().unwrap_or(0);
    c.len_inc = 1;
    c.len_last = lens.last().copied().unwrap_or(0);
    let max_len = non_last.iter().copied().max().unwrap_or(0);
    c.len_bits = bits_for(u64::from(max_len - c.len_ref)) as u8;

    let mut w = BitWriter::default();
    if c.order > 0 {
        for &f in first {
            w.push(f.into(), u32::from(c.octets) * 8);
        }
        for b in signed(z_min, c.octets.into()) {
            w.push(b.into(), 8);
        }
    }
    for g in &groups {
        let r = match g.0 {
            u32::MAX => primary_ref,
            r if r == u32::MAX - 1 => primary_ref - 1,
            r => u64::from(r),
        };
        w.push(r, ref_bits);
    }
    w.align();
    for g in &groups {
        w.push(u64::from(g.1 - min_width), c.width_bits.into());
    }
    w.align();
    // NG scaled lengths are reserved; the last group's is unused (0).
    for (k, g) in groups.iter().enumerate() {
        let scaled = if k + 1 < groups.len() {
            g.2 - c.len_ref
        } else {
            0
        };
        w.push(u64::from(scaled), c.len_bits.into());
    }
    w.align();
    for g in &groups {
        let primary = (1u64 << g.1).wrapping_sub(1);
        for v in g.3.iter().filter(|_| g.1 > 0) {
            let code = match v {
                Packed::Value(x) => u64::from(x - g.4),
                Packed::Missing(1) => primary,
                Packed::Missing(_) => primary - 1,
            };
            w.push(code, g.1);
        }
    }
    let mut params = p.bytes();
    params.push(0);
    params.extend([c.splitting, c.mvm]);
    params.extend([0u8; 8]);
    params.extend(c.num_groups.to_be_bytes());
    params.extend([c.width_ref, c.width_bits]);
    params.extend(c.len_ref.to_be_bytes());
    params.push(c.len_inc);
    params.extend(c.len_last.to_be_bytes());
    params.push(c.len_bits);
    let template = if c.order > 0 {
        params.extend([c.order, c.octets]);
        3
    } else {
        2
    };
    Field::new(num_points, values.len(), template, &params, map, &w.bytes)
}
