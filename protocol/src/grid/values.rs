//! [`GridValues`]: a grid's values, as f32 or as integer codes with one
//! value per code.

use std::borrow::Cow;

/// A grid's values, row-major; NaN where missing.
#[derive(Debug, Clone, PartialEq)]
pub enum GridValues {
    /// One f32 per point.
    Floats(Vec<f32>),
    /// One 16-bit code per point and the value of each code: how an
    /// instrument stores its counts (GOES ABI radiances). Half the memory
    /// of f32, and a renderer that shows the point's own value (imagery)
    /// can colour each code once instead of each pixel.
    Coded(Coded),
}

/// Integer codes and their values: point `k` is `table[codes[k]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Coded {
    codes: Vec<u16>,
    table: Vec<f32>,
}

impl Coded {
    /// `None` when a code has no entry in `table`.
    pub fn new(codes: Vec<u16>, table: Vec<f32>) -> Option<Self> {
        let fits = codes
            .iter()
            .max()
            .is_none_or(|&m| usize::from(m) < table.len());
        fits.then_some(Self { codes, table })
    }

    /// Every point's code.
    pub fn codes(&self) -> &[u16] {
        &self.codes
    }

    /// The value of each code (at least one entry past the largest code
    /// used).
    pub fn table(&self) -> &[f32] {
        &self.table
    }

    /// The value of point `k`, `None` past the end.
    #[inline]
    pub fn get(&self, k: usize) -> Option<f32> {
        // `new` checked that every code indexes the table.
        self.codes.get(k).map(|&c| self.table[usize::from(c)])
    }
}

impl GridValues {
    /// Number of points.
    pub fn len(&self) -> usize {
        match self {
            Self::Floats(v) => v.len(),
            Self::Coded(c) => c.codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of point `k`, `None` past the end.
    #[inline]
    pub fn get(&self, k: usize) -> Option<f32> {
        match self {
            Self::Floats(v) => v.get(k).copied(),
            Self::Coded(c) => c.get(k),
        }
    }

    /// Every value in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = f32> + '_ {
        // One of the two halves is empty, so the chain is the values.
        let (floats, coded): (&[f32], Option<&Coded>) = match self {
            Self::Floats(v) => (v, None),
            Self::Coded(c) => (&[], Some(c)),
        };
        let codes = coded.map_or(&[][..], |c| &c.codes[..]);
        let table = coded.map_or(&[][..], |c| &c.table[..]);
        Values {
            floats: floats.iter(),
            codes: codes.iter(),
            table,
        }
    }

    /// The values as f32, borrowed when they are f32 already.
    pub fn as_floats(&self) -> Option<&[f32]> {
        match self {
            Self::Floats(v) => Some(v),
            Self::Coded(_) => None,
        }
    }

    /// The values for writing, when they are f32.
    pub fn as_floats_mut(&mut self) -> Option<&mut [f32]> {
        match self {
            Self::Floats(v) => Some(v),
            Self::Coded(_) => None,
        }
    }

    /// The values as f32, converting codes when needed.
    pub fn to_floats(&self) -> Cow<'_, [f32]> {
        match self {
            Self::Floats(v) => Cow::Borrowed(v),
            Self::Coded(_) => Cow::Owned(self.iter().collect()),
        }
    }

    /// Bytes held, for the cache's weigher.
    pub fn size_bytes(&self) -> usize {
        match self {
            Self::Floats(v) => std::mem::size_of_val(v.as_slice()),
            Self::Coded(c) => {
                std::mem::size_of_val(c.codes.as_slice())
                    + std::mem::size_of_val(c.table.as_slice())
            }
        }
    }
}

impl From<Vec<f32>> for GridValues {
    fn from(v: Vec<f32>) -> Self {
        Self::Floats(v)
    }
}

impl std::ops::Index<usize> for GridValues {
    type Output = f32;

    fn index(&self, k: usize) -> &f32 {
        match self {
            Self::Floats(v) => &v[k],
            Self::Coded(c) => &c.table[usize::from(c.codes[k])],
        }
    }
}

/// [`GridValues::iter`].
struct Values<'a> {
    floats: std::slice::Iter<'a, f32>,
    codes: std::slice::Iter<'a, u16>,
    table: &'a [f32],
}

impl Iterator for Values<'_> {
    type Item = f32;

    #[inline]
    fn next(&mut self) -> Option<f32> {
        match self.floats.next() {
            Some(&v) => Some(v),
            None => self.codes.next().map(|&c| self.table[usize::from(c)]),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.floats.len() + self.codes.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Values<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_through_their_table() {
        let coded = Coded::new(vec![2, 0, 1, 2], vec![10.0, f32::NAN, 30.5]).expect("valid");
        let v = GridValues::Coded(coded);
        assert_eq!(v.len(), 4);
        assert_eq!(v[0], 30.5);
        assert_eq!(v.get(2).map(f32::is_nan), Some(true));
        assert_eq!(v.get(4), None);
        let all: Vec<f32> = v.iter().collect();
        assert_eq!(all[..2], [30.5, 10.0]);
        assert_eq!(v.iter().len(), 4);
        assert_eq!(v.to_floats().len(), 4);
        assert_eq!(v.size_bytes(), 4 * 2 + 3 * 4);
    }

    #[test]
    fn a_code_past_the_table_is_refused() {
        assert!(Coded::new(vec![0, 3], vec![1.0, 2.0, 3.0]).is_none());
        assert!(Coded::new(vec![], vec![]).is_some());
    }

    #[test]
    fn floats_are_borrowed() {
        let v = GridValues::from(vec![1.0, 2.0]);
        assert_eq!(v.as_floats(), Some(&[1.0, 2.0][..]));
        assert!(matches!(v.to_floats(), Cow::Borrowed(_)));
        assert_eq!(v.iter().collect::<Vec<_>>(), [1.0, 2.0]);
    }
}
