//! The PROJ transform grid ([`render::crs::Mesh`]) against PROJ at every
//! pixel: how far its interpolated positions are from the exact ones, in
//! output pixels, and how wind symbols turn with grid north.

use protocol::{MapArea, MapCrs};
use render::crs::{MAX_MESH_ERROR_PX, Mesh, with_transformer};

/// The largest distance, in output pixels, between a pixel centre and
/// where its interpolated longitude/latitude projects back to.
fn worst_error_px(area: &MapArea) -> f64 {
    let mesh = Mesh::build(area, 0).expect("mesh");
    let res = (area.bbox[2] - area.bbox[0]) / f64::from(area.width);
    let code = match area.crs {
        MapCrs::Epsg(c) => c,
        _ => unreachable!(),
    };
    with_transformer(code, |t| {
        let mut worst: f64 = 0.0;
        let mut row = Vec::new();
        for r in 0..area.height {
            // The renderer's path: plain lon/lat interpolation where it
            // agrees, unit vectors elsewhere.
            mesh.row(r as usize, area.width as usize, &mut row);
            for c in 0..area.width {
                let (u, v) = (f64::from(c) + 0.5, f64::from(r) + 0.5);
                let (x, y) = area.crs_xy(u, v);
                let (lon, lat) = row[c as usize];
                if lon.is_nan() {
                    assert!(t.to_lonlat(x, y).is_none(), "({c}, {r}) lost");
                    continue;
                }
                let exact = mesh.lonlat(u, v).expect("a position");
                assert!(
                    ((lon - exact.0 + 540.0).rem_euclid(360.0) - 180.0).abs() < 1.0,
                    "({c}, {r}): {lon} vs {}",
                    exact.0
                );
                let (bx, by) = t.from_lonlat(lon, lat).expect("forward");
                worst = worst.max((bx - x).hypot(by - y) / res);
            }
        }
        worst
    })
    .expect("EPSG code")
}

#[test]
fn mesh_positions_stay_within_the_stated_error() {
    let cases = [
        // The whole Arctic in NSIDC polar stereographic, pole inside.
        MapArea {
            crs: MapCrs::Epsg(3413),
            bbox: [-5.0e6, -5.0e6, 5.0e6, 5.0e6],
            width: 1024,
            height: 1024,
        },
        // A hemisphere: the antimeridian and the equator in view.
        MapArea {
            crs: MapCrs::Epsg(3413),
            bbox: [-1.2e7, -1.2e7, 1.2e7, 1.2e7],
            width: 512,
            height: 512,
        },
        // UTM 33N over central Europe, and far from its central meridian.
        MapArea {
            crs: MapCrs::Epsg(32633),
            bbox: [-5.0e5, 4.0e6, 1.5e6, 6.5e6],
            width: 800,
            height: 1000,
        },
        MapArea {
            crs: MapCrs::Epsg(3031),
            bbox: [-4.0e6, -4.0e6, 4.0e6, 4.0e6],
            width: 700,
            height: 700,
        },
    ];
    for area in &cases {
        let worst = worst_error_px(area);
        eprintln!("{:?} {:?}: worst {worst:.4} px", area.crs, area.bbox);
        assert!(worst <= MAX_MESH_ERROR_PX, "{area:?}: {worst} px");
    }
}

#[test]
fn a_mesh_costs_a_transform_per_16_pixels() {
    let area = MapArea {
        crs: MapCrs::Epsg(3413),
        bbox: [-5.0e6, -5.0e6, 5.0e6, 5.0e6],
        width: 1024,
        height: 1024,
    };
    let mesh = Mesh::build(&area, 0).expect("mesh");
    assert_eq!(mesh.node_count(), 65 * 65);
    assert_eq!(mesh.node_count() as u64, area.transform_nodes(0));
}

#[test]
fn points_off_a_utm_zone_are_no_data() {
    // UTM 33N reaching 20,000 km east: PROJ has no inverse out there.
    let area = MapArea {
        crs: MapCrs::Epsg(32633),
        bbox: [0.0, 0.0, 2.0e7, 1.0e6],
        width: 200,
        height: 10,
    };
    let mesh = Mesh::build(&area, 0).expect("mesh");
    assert!(mesh.lonlat(5.0, 5.0).is_some(), "near the zone");
    assert!(mesh.lonlat(195.0, 5.0).is_none(), "half a world away");
}

/// In polar stereographic, meridians are straight lines through the pole:
/// a wind blowing due north must point at the pole's pixel wherever it
/// is, and due east at right angles to that, clockwise.
#[test]
fn wind_symbols_turn_with_grid_north() {
    let area = MapArea {
        crs: MapCrs::Epsg(3413),
        bbox: [-5.0e6, -5.0e6, 5.0e6, 5.0e6],
        width: 1000,
        height: 1000,
    };
    let mesh = std::sync::Arc::new(Mesh::build(&area, 144).expect("mesh"));
    let canvas = render::Canvas::for_area(&area, Some(mesh));
    let (ox, oy) = canvas.origin();
    let pole = (500.0, 500.0);
    for (px, py) in [
        (100.0, 500.0),
        (900.0, 500.0),
        (500.0, 950.0),
        (120.0, 130.0),
        (-60.0, 700.0),
    ] {
        let (lon, lat) = canvas.lonlat(ox + px, oy + py);
        let expected: f64 = (pole.0 - px).atan2(-(pole.1 - py));
        let north = canvas.screen_bearing((ox + px, oy + py), lat, 0.0, 1.0);
        let east = canvas.screen_bearing((ox + px, oy + py), lat, 1.0, 0.0);
        let diff = |a: f64, b: f64| {
            ((a - b + 3.0 * std::f64::consts::PI).rem_euclid(std::f64::consts::TAU)
                - std::f64::consts::PI)
                .abs()
        };
        assert!(
            diff(north, expected).to_degrees() < 0.5,
            "({px},{py}) at {lon:.1},{lat:.1}: north {:.2}° vs {:.2}°",
            north.to_degrees(),
            expected.to_degrees()
        );
        assert!(
            diff(east, expected + std::f64::consts::FRAC_PI_2).to_degrees() < 0.5,
            "({px},{py}): east"
        );
    }
}
