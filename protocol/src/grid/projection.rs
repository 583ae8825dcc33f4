//! Closed-form map projections used by GRIB2 grids (Snyder, "Map
//! Projections: A Working Manual", USGS PP 1395, 1987), on the Earth shape a
//! message declares.
//!
//! All angles at the public boundary are degrees; projected coordinates are
//! metres on the projection plane, with no false easting/northing (the grid
//! carries its own origin).

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

/// The Earth model of a message (GRIB2 code table 3.2), as semi-major axis
/// and first eccentricity. A sphere has `e == 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Earth {
    /// Semi-major axis (equatorial radius), metres.
    pub a: f64,
    /// First eccentricity; 0 for a sphere.
    pub e: f64,
}

impl Earth {
    /// A sphere of radius `r` metres.
    pub fn sphere(r: f64) -> Self {
        Self { a: r, e: 0.0 }
    }

    /// An ellipsoid from its semi-major axis and inverse flattening.
    pub fn from_inverse_flattening(a: f64, rf: f64) -> Self {
        let f = 1.0 / rf;
        Self {
            a,
            e: (2.0 * f - f * f).sqrt(),
        }
    }

    /// An ellipsoid from its semi-major and semi-minor axes.
    pub fn from_axes(a: f64, b: f64) -> Self {
        Self {
            a,
            e: (1.0 - (b * b) / (a * a)).max(0.0).sqrt(),
        }
    }

    /// Snyder's m(φ) (eq. 14-15): radius of the parallel, in units of `a`.
    fn m(&self, phi: f64) -> f64 {
        let s = phi.sin();
        phi.cos() / (1.0 - self.e * self.e * s * s).sqrt()
    }

    /// Snyder's t(φ) (eq. 15-9): the isometric-latitude function.
    fn t(&self, phi: f64) -> f64 {
        let es = self.e * phi.sin();
        // At the poles tan(π/4 − φ/2) reaches 0 or ∞; clamping keeps the
        // powers finite for the conic, which is undefined there anyway.
        (FRAC_PI_4 - phi / 2.0).tan() / ((1.0 - es) / (1.0 + es)).powf(self.e / 2.0)
    }

    /// Inverse of [`Self::t`] by Snyder's fixed-point iteration (eq. 7-9),
    /// which converges to machine precision in a handful of steps for
    /// terrestrial eccentricities.
    fn phi_from_t(&self, t: f64) -> f64 {
        let mut phi = FRAC_PI_2 - 2.0 * t.atan();
        if self.e == 0.0 {
            return phi;
        }
        for _ in 0..15 {
            let es = self.e * phi.sin();
            let next = FRAC_PI_2 - 2.0 * (t * ((1.0 - es) / (1.0 + es)).powf(self.e / 2.0)).atan();
            let done = (next - phi).abs() < 1e-14;
            phi = next;
            if done {
                break;
            }
        }
        phi
    }
}

/// Wraps an angle in radians to [−π, π).
fn wrap_pi(x: f64) -> f64 {
    (x + PI).rem_euclid(2.0 * PI) - PI
}

/// A projection of the ellipsoid (or sphere) onto a plane.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// Lambert conformal conic, one (`lat1 == lat2`) or two standard
    /// parallels (GRIB2 template 3.30). Equivalent PROJ string:
    /// `+proj=lcc +lat_1=lat1 +lat_2=lat2 +lat_0=lat0 +lon_0=lon0`.
    LambertConformal(Lambert),
    /// Polar stereographic with true scale at `lat_ts` (GRIB2 template 3.20).
    /// Equivalent PROJ string: `+proj=stere +lat_0=±90 +lat_ts +lon_0`.
    PolarStereographic(PolarStereo),
    /// The view from a geostationary satellite (GOES-R ABI fixed grid,
    /// CF `geostationary`). Plane coordinates are scan angles times the
    /// satellite's height above the ellipsoid, as PROJ's
    /// `+proj=geos +h +a +b +lon_0 +sweep=x|y`.
    Geostationary(Geostationary),
}

/// Geostationary view constants (CGMS LRIT/HRIT Global Specification
/// §4.4, as PROJ's `geos` implements it).
#[derive(Debug, Clone, PartialEq)]
pub struct Geostationary {
    /// Semi-major axis, metres.
    a: f64,
    /// Sub-satellite longitude, radians.
    lon0: f64,
    /// Height above the ellipsoid, metres.
    h: f64,
    /// (b/a)², the flattening of geocentric latitude.
    rp2: f64,
    /// Distance from the Earth's centre to the satellite, in units of `a`.
    rg: f64,
    /// The x axis is the outer gimbal (GOES: `sweep_angle_axis = "x"`).
    sweep_x: bool,
}

impl Geostationary {
    /// A view from height `h` metres above the ellipsoid with axes `a`
    /// and `b` metres, over longitude `lon0` degrees, sweeping the x axis
    /// (`sweep_x`, GOES) or the y axis (Meteosat). `None` for a view from
    /// inside the Earth or an ellipsoid that is not one.
    pub fn new(a: f64, b: f64, h: f64, lon0: f64, sweep_x: bool) -> Option<Self> {
        let ok = a.is_finite() && b.is_finite() && h.is_finite() && a > 0.0 && b > 0.0 && b <= a;
        (ok && h > 0.0 && lon0.is_finite()).then_some(Self {
            a,
            lon0: lon0.to_radians(),
            h,
            rp2: (b / a) * (b / a),
            rg: 1.0 + h / a,
            sweep_x,
        })
    }

    /// The height above the ellipsoid: plane metres ÷ this = scan angle.
    pub fn height(&self) -> f64 {
        self.h
    }

    /// The equivalent PROJ definition.
    pub fn proj_string(&self) -> String {
        format!(
            "+proj=geos +h={} +a={} +b={} +lon_0={} +sweep={}",
            self.h,
            self.a,
            self.a * self.rp2.sqrt(),
            self.lon0.to_degrees(),
            if self.sweep_x { "x" } else { "y" }
        )
    }

    fn forward(&self, lam: f64, phi: f64) -> Option<(f64, f64)> {
        let lam = wrap_pi(lam - self.lon0);
        // Geocentric latitude and the point's distance from the centre.
        let phi = (self.rp2 * phi.tan()).atan();
        let rp = self.rp2.sqrt();
        let r = rp / (rp * phi.cos()).hypot(phi.sin());
        let (vx, vy, vz) = (
            r * lam.cos() * phi.cos(),
            r * lam.sin() * phi.cos(),
            r * phi.sin(),
        );
        let tmp = self.rg - vx;
        // Behind the limb: the satellite does not see the point.
        if tmp * vx - vy * vy - vz * vz / self.rp2 < 0.0 {
            return None;
        }
        let (ax, ay) = if self.sweep_x {
            ((vy / vz.hypot(tmp)).atan(), (vz / tmp).atan())
        } else {
            ((vy / tmp).atan(), (vz / vy.hypot(tmp)).atan())
        };
        Some((ax * self.h, ay * self.h))
    }

    fn inverse(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (ax, ay) = (x / self.h, y / self.h);
        let (vy, vz) = if self.sweep_x {
            let vz = ay.tan();
            (ax.tan() * 1f64.hypot(vz), vz)
        } else {
            let vy = ax.tan();
            (vy, ay.tan() * 1f64.hypot(vy))
        };
        // The ray from the satellite along (−1, vy, vz) meets the ellipsoid
        // where k solves a quadratic; no root means it misses the Earth.
        let vx = -1.0;
        let qa = vy * vy + vz * vz / self.rp2 + vx * vx;
        let qb = 2.0 * self.rg * vx;
        let qc = self.rg * self.rg - 1.0;
        let det = qb * qb - 4.0 * qa * qc;
        if det.is_nan() || det < 0.0 {
            return None;
        }
        let k = (-qb - det.sqrt()) / (2.0 * qa);
        let (px, py, pz) = (self.rg + k * vx, k * vy, k * vz);
        let lam = py.atan2(px);
        let phi = (pz * lam.cos() / px).atan();
        let phi = (phi.tan() / self.rp2).atan();
        Some((lam + self.lon0, phi))
    }
}

/// Lambert conformal conic constants, precomputed from its definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Lambert {
    earth: Earth,
    lon0: f64,
    n: f64,
    af: f64,
    rho0: f64,
}

impl Lambert {
    /// Sets up the cone for standard parallels `lat1`, `lat2`, origin
    /// latitude `lat0` and central meridian `lon0` (degrees). `None` for a
    /// degenerate cone (standard parallels at a pole, or symmetric about the
    /// equator).
    pub fn new(earth: Earth, lat1: f64, lat2: f64, lat0: f64, lon0: f64) -> Option<Self> {
        let (p1, p2, p0) = (lat1.to_radians(), lat2.to_radians(), lat0.to_radians());
        let (m1, m2) = (earth.m(p1), earth.m(p2));
        let (t1, t2) = (earth.t(p1), earth.t(p2));
        let n = if (p1 - p2).abs() < 1e-10 {
            p1.sin()
        } else {
            (m1.ln() - m2.ln()) / (t1.ln() - t2.ln())
        };
        let af = earth.a * m1 / (n * t1.powf(n));
        let rho0 = af * earth.t(p0).powf(n);
        let ok = n.is_finite() && n.abs() > 1e-10 && af.is_finite() && rho0.is_finite();
        ok.then_some(Self {
            earth,
            lon0: lon0.to_radians(),
            n,
            af,
            rho0,
        })
    }
}

/// Polar stereographic constants.
#[derive(Debug, Clone, PartialEq)]
pub struct PolarStereo {
    earth: Earth,
    lon0: f64,
    south: bool,
    /// ρ = k·t(φ): the factor between radius on the plane and t.
    k: f64,
}

impl PolarStereo {
    /// Sets up the projection centred on the north (or `south`) pole with
    /// true scale at latitude `lat_ts` and `lon0` pointing down (north
    /// polar) or up (south polar) the plane, degrees.
    pub fn new(earth: Earth, south: bool, lat_ts: f64, lon0: f64) -> Option<Self> {
        // Work in the north-polar frame; the south case mirrors it (Snyder
        // p. 161: replace φ, λ, x, y by their negatives).
        let pc = if south { -lat_ts } else { lat_ts }.to_radians();
        let e = earth.e;
        let k = if (pc - FRAC_PI_2).abs() < 1e-10 {
            // True scale at the pole: Snyder eq. 21-33 with k0 = 1.
            2.0 * earth.a / ((1.0 + e).powf(1.0 + e) * (1.0 - e).powf(1.0 - e)).sqrt()
        } else {
            earth.a * earth.m(pc) / earth.t(pc)
        };
        (k.is_finite() && k > 0.0).then_some(Self {
            earth,
            lon0: lon0.to_radians(),
            south,
            k,
        })
    }
}

impl Projection {
    /// Geographic (lon, lat) degrees to plane (x, y) metres; `None` where
    /// the projection is undefined (e.g. the opposite pole).
    pub fn forward(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let (lam, phi) = (lon.to_radians(), lat.to_radians());
        let xy = match self {
            Self::LambertConformal(p) => {
                let t = p.earth.t(phi);
                let rho = p.af * t.powf(p.n);
                let theta = p.n * wrap_pi(lam - p.lon0);
                (rho * theta.sin(), p.rho0 - rho * theta.cos())
            }
            Self::PolarStereographic(p) => {
                let s = if p.south { -1.0 } else { 1.0 };
                let rho = p.k * p.earth.t(s * phi);
                let dl = s * wrap_pi(lam - p.lon0);
                (s * rho * dl.sin(), -s * rho * dl.cos())
            }
            Self::Geostationary(g) => g.forward(lam, phi)?,
        };
        (xy.0.is_finite() && xy.1.is_finite()).then_some(xy)
    }

    /// Plane (x, y) metres to geographic (lon, lat) degrees, longitude in
    /// [−180, 180); NaN where no point of the Earth projects there (off
    /// the disk of a geostationary view).
    pub fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        let (lam, phi) = match self {
            Self::LambertConformal(p) => {
                let sn = p.n.signum();
                let dy = p.rho0 - y;
                let rho = sn * x.hypot(dy);
                let theta = (sn * x).atan2(sn * dy);
                let phi = if rho == 0.0 {
                    sn * FRAC_PI_2
                } else {
                    p.earth.phi_from_t((rho / p.af).powf(1.0 / p.n))
                };
                (theta / p.n + p.lon0, phi)
            }
            Self::PolarStereographic(p) => {
                let s = if p.south { -1.0 } else { 1.0 };
                let (x, y) = (s * x, s * y);
                let rho = x.hypot(y);
                let phi = p.earth.phi_from_t(rho / p.k);
                (s * x.atan2(-y) + p.lon0, s * phi)
            }
            Self::Geostationary(g) => match g.inverse(x, y) {
                Some(lp) => lp,
                None => return (f64::NAN, f64::NAN),
            },
        };
        (wrap_pi(lam).to_degrees(), phi.to_degrees())
    }
}

/// A rotation of the sphere that moves the south pole to
/// (`south_pole_lon`, `south_pole_lat`) (GRIB2 templates 3.1/3.41), then
/// turns `angle` degrees about the new polar axis.
#[derive(Debug, Clone, PartialEq)]
pub struct PoleRotation {
    /// Longitude of the rotated grid's south pole, degrees.
    pub south_pole_lon: f64,
    /// Latitude of the rotated grid's south pole, degrees.
    pub south_pole_lat: f64,
    /// Rotation about the new polar axis, degrees (added to rotated
    /// longitudes; 0 in every producer's data we know of).
    pub angle: f64,
}

impl PoleRotation {
    /// Geographic (lon, lat) to rotated (lon, lat), degrees.
    pub fn to_rotated(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (lam, phi) = ((lon - self.south_pole_lon).to_radians(), lat.to_radians());
        // Rotate about the y axis by θ = 90° + φp, which carries the given
        // south pole (at longitude 0 after the shift above) to (0, 0, −1).
        let theta = (90.0 + self.south_pole_lat).to_radians();
        let (x, y, z) = (phi.cos() * lam.cos(), phi.cos() * lam.sin(), phi.sin());
        let xr = x * theta.cos() + z * theta.sin();
        let zr = -x * theta.sin() + z * theta.cos();
        let lon_r = y.atan2(xr).to_degrees() + self.angle;
        let lat_r = zr.clamp(-1.0, 1.0).asin().to_degrees();
        (lon_r, lat_r)
    }

    /// Rotated (lon, lat) to geographic (lon, lat), degrees, longitude in
    /// [−180, 180).
    pub fn to_geographic(&self, lon_r: f64, lat_r: f64) -> (f64, f64) {
        let (lam, phi) = ((lon_r - self.angle).to_radians(), lat_r.to_radians());
        let theta = (90.0 + self.south_pole_lat).to_radians();
        let (xr, y, zr) = (phi.cos() * lam.cos(), phi.cos() * lam.sin(), phi.sin());
        let x = xr * theta.cos() - zr * theta.sin();
        let z = xr * theta.sin() + zr * theta.cos();
        let lon = y.atan2(x).to_degrees() + self.south_pole_lon;
        let lat = z.clamp(-1.0, 1.0).asin().to_degrees();
        ((lon + 180.0).rem_euclid(360.0) - 180.0, lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let wgs84 = Earth::from_inverse_flattening(6_378_137.0, 298.257_223_563);
        let projections = [
            Projection::LambertConformal(
                Lambert::new(Earth::sphere(6_371_200.0), 25.0, 25.0, 25.0, 265.0).unwrap(),
            ),
            Projection::LambertConformal(Lambert::new(wgs84, 33.0, 45.0, 40.0, -97.0).unwrap()),
            Projection::LambertConformal(Lambert::new(wgs84, -30.0, -50.0, -40.0, 140.0).unwrap()),
            Projection::PolarStereographic(PolarStereo::new(wgs84, false, 60.0, -105.0).unwrap()),
            Projection::PolarStereographic(PolarStereo::new(wgs84, true, -71.0, 0.0).unwrap()),
            Projection::PolarStereographic(
                PolarStereo::new(Earth::sphere(6_371_229.0), false, 90.0, 10.0).unwrap(),
            ),
        ];
        for p in &projections {
            for (lon, lat) in [
                (-100.0_f64, 40.0_f64),
                (-60.0, 20.0),
                (150.0, -45.0),
                (10.0, 75.0),
            ] {
                let south = matches!(p, Projection::PolarStereographic(s) if s.south);
                let lat = if south { -lat.abs() } else { lat };
                let (x, y) = p.forward(lon, lat).unwrap();
                let (lon2, lat2) = p.inverse(x, y);
                let dlon = ((lon2 - lon + 180.0_f64).rem_euclid(360.0) - 180.0).abs();
                assert!(
                    dlon < 1e-9 && (lat2 - lat).abs() < 1e-9,
                    "{p:?} {lon} {lat}"
                );
            }
        }
    }

    #[test]
    fn rotation_round_trip_and_pole() {
        let r = PoleRotation {
            south_pole_lon: 10.0,
            south_pole_lat: -40.0,
            angle: 0.0,
        };
        // The rotated south pole is at the given geographic point.
        let (_, lat) = r.to_rotated(10.0, -40.0);
        assert!((lat + 90.0).abs() < 1e-9);
        for (lon, lat) in [(0.0, 50.0), (-30.0, 10.0), (120.0, -60.0)] {
            let (lr, pr) = r.to_rotated(lon, lat);
            let (lon2, lat2) = r.to_geographic(lr, pr);
            assert!((lon2 - lon).abs() < 1e-9 && (lat2 - lat).abs() < 1e-9);
        }
    }
}
