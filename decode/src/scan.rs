//! Reordering values from a message's scanning mode (flag table 3.4) into
//! [`super::Grid`]'s row-major, i-eastward layout.

/// Bit 1: points of a row run in the −i (westward / −x) direction.
const I_NEGATIVE: u8 = 0x80;
/// Bit 3: adjacent points in j are consecutive (column-major storage).
const J_CONSECUTIVE: u8 = 0x20;
/// Bit 4: every other row runs in the opposite direction (boustrophedon).
const ALTERNATING: u8 = 0x10;
const ALTERNATING_I_NEGATIVE: u8 = ALTERNATING | I_NEGATIVE;

/// Puts file-order `values` of an `ni`×`nj` grid with scanning mode `scan`
/// into `values[j * ni + i]` order with i increasing in +i. The j order is
/// kept as stored: the geometry's signed row step describes it.
pub(crate) fn normalise<T: Copy + Default>(
    values: Vec<T>,
    ni: usize,
    nj: usize,
    scan: u8,
) -> Vec<T> {
    let mut values = values;
    if ni == 0 || values.len() != ni * nj {
        return values;
    }
    match scan & (I_NEGATIVE | J_CONSECUTIVE | ALTERNATING) {
        // By far the common cases: already in order, or rows reversed.
        0 => values,
        I_NEGATIVE => {
            values.chunks_exact_mut(ni).for_each(<[T]>::reverse);
            values
        }
        // Rows stored whole, every other one reversed (NDFD's 0x50): row j
        // runs westward when its parity and the −i flag disagree.
        flags @ (ALTERNATING | ALTERNATING_I_NEGATIVE) => {
            let negative = flags & I_NEGATIVE != 0;
            for (j, row) in values.chunks_exact_mut(ni).enumerate() {
                if (j % 2 == 1) != negative {
                    row.reverse();
                }
            }
            values
        }
        flags => {
            let fast = if flags & J_CONSECUTIVE != 0 { nj } else { ni };
            // Every point is written: the fill is never seen.
            let mut out = vec![T::default(); values.len()];
            for (k, v) in values.into_iter().enumerate() {
                let (slow, mut pos) = (k / fast, k % fast);
                if flags & ALTERNATING != 0 && slow % 2 == 1 {
                    pos = fast - 1 - pos;
                }
                let (i, j) = if flags & J_CONSECUTIVE != 0 {
                    (slow, pos)
                } else {
                    (pos, slow)
                };
                let i = if flags & I_NEGATIVE != 0 {
                    ni - 1 - i
                } else {
                    i
                };
                out[j * ni + i] = v;
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    // A 3×2 grid whose normalised order is 0 1 2 / 3 4 5.
    #[test]
    fn every_scan_flag_combination() {
        let want = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let cases: [(u8, [f32; 6]); 7] = [
            (0x00, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
            (0x40, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
            (0x80, [2.0, 1.0, 0.0, 5.0, 4.0, 3.0]),
            (0x20, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]),
            (0x10, [0.0, 1.0, 2.0, 5.0, 4.0, 3.0]),
            (0x90, [2.0, 1.0, 0.0, 3.0, 4.0, 5.0]),
            (0xb0, [2.0, 5.0, 4.0, 1.0, 0.0, 3.0]),
        ];
        for (scan, stored) in cases {
            assert_eq!(
                normalise(stored.to_vec(), 3, 2, scan),
                want,
                "scan {scan:#x}"
            );
        }
    }
}
