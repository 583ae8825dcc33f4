//! Wind barbs and arrows checked by content: seamless across tiles, feathers
//! on the right side per hemisphere, grid-relative winds turned to north,
//! colouring by speed.

mod common;

use common::{decode_any, gfs_like, job, sized_job, stitch};
use protocol::grid::projection::{Earth, Lambert, Projection};
use protocol::style::{ColorMapName, StyleKind, Units};
use protocol::{Grid, GridGeometry};
use protocol::{MapArea, MapCrs, StyleSpec, TileMatrixSetId};
use render::render_tile;

const MERCATOR: TileMatrixSetId = TileMatrixSetId::WebMercatorQuad;

fn wind_style(kind: StyleKind) -> StyleSpec {
    StyleSpec::new(
        kind,
        ColorMapName::Wind,
        (0.0, 60.0),
        Units::MetresPerSecond,
        Units::Knots,
    )
}

/// u and v grids with smoothly varying speed and direction (m/s).
fn swirling_wind() -> (Grid, Grid) {
    let u = gfs_like(|lon, lat| {
        (18.0 * (lat.to_radians() * 3.0).cos() * (lon.to_radians() * 2.0).sin()) as f32
    });
    let v = gfs_like(|lon, lat| {
        (14.0 * (lon.to_radians() * 3.0).cos() + 4.0 * lat.to_radians().sin()) as f32
    });
    (u, v)
}

fn render_rgba(grids: &[&Grid], job: &protocol::RenderJob) -> Vec<u8> {
    let png = render_tile(grids, job).expect("render");
    let (_, px, stored) = decode_any(&png);
    assert_eq!(stored, png::ColorType::Rgba);
    px
}

/// Pixels whose any channel differs by more than `tol`.
fn differing(a: &[u8], b: &[u8], tol: u8) -> usize {
    a.chunks(4)
        .zip(b.chunks(4))
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > tol))
        .count()
}

/// Inked pixels on both sides of the vertical seam at column `n` of a 2n
/// wide image, in the same rows: symbols that straddle it.
fn straddling_rows(img: &[u8], n: usize) -> usize {
    (0..2 * n)
        .filter(|&y| {
            let a = img[(y * 2 * n + n - 1) * 4 + 3];
            let b = img[(y * 2 * n + n) * 4 + 3];
            a > 64 && b > 64
        })
        .count()
}

#[test]
fn a_two_by_two_block_matches_one_512_pixel_image_for_both_wind_styles() {
    let (u, v) = swirling_wind();
    for kind in [StyleKind::WindBarbs, StyleKind::WindArrows] {
        let mut style = wind_style(kind);
        // Stations a pixel from the seams, long arrows: symbols must cross.
        style.symbol_spacing = 48;
        style.range = (0.0, 30.0);
        // z3 tiles (4..5, 2..3) and their z2 parent drawn 512 px wide share
        // one pixel grid.
        let tiles: Vec<Vec<u8>> = [(4, 2), (5, 2), (4, 3), (5, 3)]
            .into_iter()
            .map(|(x, y)| render_rgba(&[&u, &v], &job(MERCATOR, 3, x, y, style.clone())))
            .collect();
        let stitched = stitch([&tiles[0], &tiles[1], &tiles[2], &tiles[3]], 256);
        let whole = render_rgba(
            &[&u, &v],
            &sized_job(MERCATOR, (2, 2, 1), 512, style.clone()),
        );
        assert_eq!(differing(&stitched, &whole, 0), 0, "{kind:?}");
        let inked = whole.chunks(4).filter(|p| p[3] > 0).count();
        assert!(inked > 5_000, "{kind:?}: symbols drawn ({inked} px)");
        let straddling = straddling_rows(&whole, 256);
        assert!(
            straddling > 2,
            "{kind:?}: symbols cross the seam ({straddling} rows)"
        );

        // The same block as a WMS map: the lattice is anchored to the world,
        // not the image.
        let (n0, w0) = (20037508.342789244 / 2.0, -20037508.342789244 / 2.0 * 0.0);
        let area = MapArea {
            crs: MapCrs::WebMercator,
            bbox: [w0, 0.0, n0, n0],
            width: 512,
            height: 512,
        };
        let mut map_job = sized_job(MERCATOR, (2, 2, 1), 512, style);
        map_job.area = Some(area);
        let map = render_rgba(&[&u, &v], &map_job);
        assert!(
            differing(&map, &whole, 8) < 200,
            "{kind:?}: WMS map matches the tiles"
        );
    }
}

#[test]
fn barbs_continue_across_the_antimeridian() {
    let (u, v) = swirling_wind();
    let style = wind_style(StyleKind::WindBarbs);
    let crs84 = TileMatrixSetId::WorldCRS84Quad;
    // z1 CRS84 tiles x = 3 (90..180°E) and x = 0 (180..90°W), north row.
    let east = render_rgba(&[&u, &v], &job(crs84, 1, 3, 0, style.clone()));
    let west = render_rgba(&[&u, &v], &job(crs84, 1, 0, 0, style.clone()));
    // The same strip as one map over 90..270°E.
    let mut map_job = sized_job(crs84, (1, 3, 0), 256, style);
    map_job.area = Some(MapArea {
        crs: MapCrs::LonLat,
        bbox: [90.0, 0.0, 270.0, 90.0],
        width: 512,
        height: 256,
    });
    let map = render_rgba(&[&u, &v], &map_job);
    let mut stitched = Vec::with_capacity(map.len());
    for y in 0..256 {
        stitched.extend_from_slice(&east[y * 1024..(y + 1) * 1024]);
        stitched.extend_from_slice(&west[y * 1024..(y + 1) * 1024]);
    }
    assert_eq!(differing(&stitched, &map, 0), 0);
    let inked = map.chunks(4).filter(|p| p[3] > 0).count();
    assert!(inked > 3000, "barbs drawn: {inked}");
}

/// Image positions of the stations along one axis of a z2 256 px tile whose
/// world pixel origin is `origin`. The default 40 px spacing is bent to
/// divide the 1024 px world: step 1024/26, offset ⌊step/2⌋, rounded.
fn stations(origin: i64) -> Vec<i64> {
    let step = 1024.0 / 26.0;
    (0..26)
        .map(|k| (k as f64 * step + (step / 2.0).floor() + 0.5).floor() as i64 - origin)
        .filter(|p| (0..256).contains(p))
        .collect()
}

/// Dark ink in the box `dx × dy` (offsets from a station) summed over all
/// stations of z2 tile (x, y).
fn ink_near_stations(
    img: &[u8],
    (tx, ty): (i64, i64),
    dx: std::ops::Range<i64>,
    dy: std::ops::Range<i64>,
) -> u64 {
    let mut sum = 0u64;
    for &sy in &stations(ty * 256) {
        for &sx in &stations(tx * 256) {
            for y in dy.clone() {
                for x in dx.clone() {
                    let (px, py) = (sx + x, sy + y);
                    if (0..256).contains(&px) && (0..256).contains(&py) {
                        let p = &img[((py * 256 + px) * 4) as usize..][..4];
                        if p[0] < 100 {
                            sum += u64::from(p[3]);
                        }
                    }
                }
            }
        }
    }
    sum
}

#[test]
fn westerly_barbs_have_feathers_poleward_of_the_staff_in_each_hemisphere() {
    // 25 kt from the west everywhere.
    let u = gfs_like(|_, _| 12.86);
    let v = gfs_like(|_, _| 0.0);
    let style = wind_style(StyleKind::WindBarbs);
    let north = render_rgba(&[&u, &v], &job(MERCATOR, 2, 1, 1, style.clone()));
    let south = render_rgba(&[&u, &v], &job(MERCATOR, 2, 1, 2, style));
    // The staff runs west of the station; feathers sit at its outer end.
    let above = |img: &[u8], t| ink_near_stations(img, t, -30..-14, -11..-2);
    let below = |img: &[u8], t| ink_near_stations(img, t, -30..-14, 3..12);
    let (n, s) = ((1, 1), (1, 2));
    assert!(
        above(&north, n) > 20 * below(&north, n).max(1),
        "NH: {} vs {}",
        above(&north, n),
        below(&north, n)
    );
    assert!(
        below(&south, s) > 20 * above(&south, s).max(1),
        "SH: {} vs {}",
        below(&south, s),
        above(&south, s)
    );
    // Nothing east of the stations: the staff points into the wind.
    assert_eq!(ink_near_stations(&north, n, 4..16, -2..3), 0);
}

/// A Lambert grid over North America with HRRR's cone, `f(lon, lat)` giving
/// (u, v) at each grid point.
fn lambert(grid_relative: bool, f: impl Fn(f64, f64) -> (f32, f32)) -> (Grid, Grid) {
    let p = Lambert::new(Earth::sphere(6_371_229.0), 38.5, 38.5, 38.5, -97.5).expect("cone");
    let geometry = GridGeometry::Projected {
        projection: Projection::LambertConformal(p),
        x0: -2_700_000.0,
        y0: -1_600_000.0,
        dx: 30_000.0,
        dy: 30_000.0,
    };
    let (ni, nj) = (180, 106);
    let mut g = Grid {
        ni,
        nj,
        values: vec![0.0; ni * nj].into(),
        geometry,
        winds_grid_relative: grid_relative,
    };
    let (mut u, mut v) = (vec![0.0; ni * nj], vec![0.0; ni * nj]);
    for j in 0..nj {
        for i in 0..ni {
            let (lon, lat) = g.lonlat(i as f64, j as f64);
            (u[j * ni + i], v[j * ni + i]) = f(lon, lat);
        }
    }
    let mut h = g.clone();
    (g.values, h.values) = (u.into(), v.into());
    (g, h)
}

#[test]
fn grid_relative_lambert_winds_are_drawn_turned_to_true_north() {
    let n = 38.5f64.to_radians().sin();
    // 30 kt along the grid's +x axis, which is not east away from 97.5W.
    let (gu, gv) = lambert(true, |_, _| (15.4, 0.0));
    // The same wind given earth-relative, turned by the cone's convergence
    // (wgrib2's formula: u = cos(a)·ug, v = −sin(a)·ug, a = n·(λ − λ0)).
    let (eu, ev) = lambert(false, |lon, _| {
        let a = n * (lon + 97.5).to_radians();
        ((15.4 * a.cos()) as f32, (-15.4 * a.sin()) as f32)
    });
    // Unrotated: +x taken for east.
    let (nu, nv) = lambert(false, |_, _| (15.4, 0.0));
    let style = wind_style(StyleKind::WindArrows);
    // z4 tile over the US east coast (about 78W..67W), where a ≈ 12°.
    let tile = job(MERCATOR, 4, 4, 6, style);
    let rotated = render_rgba(&[&gu, &gv], &tile);
    let expected = render_rgba(&[&eu, &ev], &tile);
    let naive = render_rgba(&[&nu, &nv], &tile);
    let inked = rotated.chunks(4).filter(|p| p[3] > 0).count();
    assert!(inked > 2_000, "arrows drawn: {inked}");
    assert!(
        differing(&rotated, &expected, 0) < inked / 50,
        "rotated like wgrib2"
    );
    assert!(
        differing(&rotated, &naive, 0) > inked / 4,
        "and not left grid-relative"
    );
}

#[test]
fn colour_by_speed_takes_the_ramp_colour_and_calm_is_a_ring() {
    // Calm east of Greenwich (tile x = 2 at z2), 30 m/s west of it (x = 1).
    let u = gfs_like(|lon, _| if lon < 180.0 { 0.3 } else { 30.0 });
    let v = gfs_like(|_, _| 0.0);
    let mut style = wind_style(StyleKind::WindBarbs);
    style.color_by_speed = true;
    // 30 m/s ≈ 58 kt on a 0..60 kt ramp: a filled pennant in that colour.
    let ramp = render::Gradient::new(&style).color(30.0);
    let windy = render_rgba(&[&u, &v], &job(MERCATOR, 2, 1, 1, style.clone()));
    let opaque_ramp = windy
        .chunks(4)
        .filter(|p| p[3] == 255 && p[..3] == ramp[..3])
        .count();
    assert!(
        opaque_ramp > 200,
        "barb ink in the ramp colour: {opaque_ramp}"
    );
    // Calm: a hollow ring, so the station pixel itself stays clear of ink.
    style.color_by_speed = false;
    let calm = render_rgba(&[&u, &v], &job(MERCATOR, 2, 2, 1, style));
    let (sx, sy) = (stations(512)[0], stations(256)[0]);
    let at = |x: i64, y: i64| &calm[((y * 256 + x) * 4) as usize..][..4];
    let station = at(sx, sy);
    assert!(station[3] == 0 || station[0] > 200, "hollow: {station:?}");
    let ring = at(sx + 4, sy);
    assert!(
        ring[3] > 100 && ring[0] < 150,
        "ring ink 4 px out: {ring:?}"
    );
}

#[test]
fn light_winds_are_arrows_not_smudges() {
    // A uniform 10 kt westerly (5.14 m/s) on a 0..60 kt range: with arrow
    // length growing as √speed it is about 40 % of a full arrow (linear
    // growth made it a 17 % stub).
    let light = (gfs_like(|_, _| 5.144), gfs_like(|_, _| 0.0));
    let full = (gfs_like(|_, _| 40.0), gfs_like(|_, _| 0.0));
    let style = wind_style(StyleKind::WindArrows);
    let tile = job(MERCATOR, 2, 1, 1, style);
    let ink = |px: &[u8]| px.chunks(4).filter(|p| p[3] > 0).count();
    let light = ink(&render_rgba(&[&light.0, &light.1], &tile));
    let full = ink(&render_rgba(&[&full.0, &full.1], &tile));
    assert!(full > 0);
    // Ink grows with length (a shaft and a head of fixed size).
    assert!(
        light * 100 > full * 35,
        "10 kt arrows: {light} inked px, 60 kt: {full}"
    );
}
