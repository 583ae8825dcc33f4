//! Tiny deterministic randomness: a splitmix64 generator for seeded choices
//! and lattice value noise for smooth fields.
//!
//! Hand-rolled rather than `rand` so the output depends on nothing but this
//! file: a dependency upgrade can never change the sample data's bytes.

/// Finalising mix of splitmix64: a good 64-bit hash of one word.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64: tiny, fast, and plenty good for choosing storm positions.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for one purpose (`stream`) of one seed, so adding draws to
    /// one purpose does not shift every other purpose's sequence.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        Self(mix64(seed ^ mix64(stream.wrapping_add(GOLDEN))))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Hash of integer coordinates to [-1, 1].
pub(crate) fn hash_unit(seed: u64, x: i64, y: i64, z: i64) -> f64 {
    let h = mix64(
        seed ^ (x as u64).wrapping_mul(0x8CB9_2BA7_2F3D_8DD7)
            ^ (y as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93)
            ^ (z as u64).wrapping_mul(0xA076_1D64_78BD_642F),
    );
    (h >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
}

/// 3-D value noise. Sampled on the unit sphere it has no seam at the date
/// line and no singularity at the poles, which a lon/lat noise would have
/// (and the wind, a derivative of pressure, would show it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueNoise {
    seed: u64,
}

impl ValueNoise {
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        Self {
            seed: Rng::new(seed, stream).next_u64(),
        }
    }

    /// One octave, in [-1, 1], smooth (C2: quintic fade).
    pub(crate) fn sample(&self, x: f64, y: f64, z: f64) -> f64 {
        let (xf, yf, zf) = (x.floor(), y.floor(), z.floor());
        let (xi, yi, zi) = (xf as i64, yf as i64, zf as i64);
        let (u, v, w) = (fade(x - xf), fade(y - yf), fade(z - zf));
        let h = |dx: i64, dy: i64, dz: i64| hash_unit(self.seed, xi + dx, yi + dy, zi + dz);
        let x00 = lerp(h(0, 0, 0), h(1, 0, 0), u);
        let x10 = lerp(h(0, 1, 0), h(1, 1, 0), u);
        let x01 = lerp(h(0, 0, 1), h(1, 0, 1), u);
        let x11 = lerp(h(0, 1, 1), h(1, 1, 1), u);
        lerp(lerp(x00, x10, v), lerp(x01, x11, v), w)
    }

    /// Fractal sum of `octaves` octaves, each twice the frequency and half
    /// the amplitude of the previous; normalised to about [-1, 1].
    pub(crate) fn fbm(&self, x: f64, y: f64, z: f64, octaves: u32) -> f64 {
        let (mut sum, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0);
        for o in 0..octaves {
            // Offsetting each octave decorrelates the lattices.
            let off = o as f64 * 17.31;
            sum += amp * self.sample(x * f + off, y * f - off, z * f + off * 0.5);
            norm += amp;
            amp *= 0.5;
            f *= 2.0;
        }
        sum / norm
    }
}

fn fade(t: f64) -> f64 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// Hermite smoothstep of `x` between `e0` and `e1`.
pub(crate) fn smoothstep(e0: f64, e1: f64, x: f64) -> f64 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Unit vector of a point on the sphere.
pub(crate) fn unit_vector(lat_deg: f64, lon_deg: f64) -> [f64; 3] {
    let (sl, cl) = lat_deg.to_radians().sin_cos();
    let (so, co) = lon_deg.to_radians().sin_cos();
    [cl * co, cl * so, sl]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_uniform_enough() {
        let mut a = Rng::new(7, 1);
        let mut b = Rng::new(7, 1);
        let xs: Vec<f64> = (0..1000).map(|_| a.unit()).collect();
        let ys: Vec<f64> = (0..1000).map(|_| b.unit()).collect();
        assert_eq!(xs, ys);
        let mean = xs.iter().sum::<f64>() / 1000.0;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
        assert_ne!(Rng::new(7, 2).next_u64(), Rng::new(7, 1).next_u64());
    }

    #[test]
    fn noise_is_bounded_and_continuous() {
        let n = ValueNoise::new(3, 0);
        let mut prev = n.fbm(0.0, 0.3, 0.7, 4);
        for k in 1..2000 {
            let x = k as f64 * 0.001;
            let v = n.fbm(x, 0.3, 0.7, 4);
            assert!((-1.0..=1.0).contains(&v));
            assert!((v - prev).abs() < 0.05, "jump at {x}");
            prev = v;
        }
    }
}
