//! Tile generator properties: bounds, determinism, coverage.

use std::collections::{BTreeSet, HashSet};
use wxfarm_loadgen::generator::RequestGenerator;
use wxfarm_loadgen::rng::Rng;
use wxfarm_loadgen::scenario::{Scenario, ScenarioSpec};
use wxfarm_loadgen::strategy::{StrategySpec, ZoomSpec};
use wxfarm_loadgen::template::{Dim, UrlTemplate};
use wxfarm_loadgen::tile::{BBox, Tile, TileMatrixSet};

const TMS: [TileMatrixSet; 2] = [
    TileMatrixSet::WebMercatorQuad,
    TileMatrixSet::WorldCRS84Quad,
];
const BBOX: [f64; 4] = [-20.0, 30.0, 40.0, 60.0];

fn specs() -> Vec<StrategySpec> {
    vec![
        StrategySpec::Random {
            zoom: ZoomSpec::Range([0, 9]),
            bbox: None,
        },
        StrategySpec::Random {
            zoom: ZoomSpec::Range([2, 9]),
            bbox: Some(BBOX),
        },
        StrategySpec::Sequential {
            zoom: ZoomSpec::Range([0, 5]),
            bbox: None,
        },
        StrategySpec::Sequential {
            zoom: ZoomSpec::Range([3, 6]),
            bbox: Some(BBOX),
        },
        StrategySpec::Fixed {
            tiles: vec![[0, 0, 0], [2, 1, 3], [3, 7, 7]],
            shuffle: true,
        },
        StrategySpec::Pan {
            zoom: 3,
            viewport: [5, 4],
            start: None,
            step: [1, 1],
            new_only: true,
        },
        StrategySpec::Pan {
            zoom: 1,
            viewport: [8, 8],
            start: Some([170.0, 80.0]),
            step: [-3, 2],
            new_only: false,
        },
        StrategySpec::Zoom {
            zoom: ZoomSpec::Range([1, 12]),
            start: None,
            bbox: Some(BBOX),
        },
        StrategySpec::Hotspot {
            zoom: ZoomSpec::Range([0, 10]),
            center: [179.9, -85.0],
            radius: 20,
            exponent: 1.0,
        },
        StrategySpec::Animation {
            zoom: 2,
            center: [-179.0, 0.0],
            viewport: [6, 6],
            dimension: Dim::Forecast,
        },
    ]
}

fn sequence(spec: &StrategySpec, tms: TileMatrixSet, seed: u64, n: usize) -> Vec<Tile> {
    let mut s = spec.build(tms);
    let mut rng = Rng::new(seed);
    (0..n).map(|_| s.next(&mut rng).tile).collect()
}

fn url() -> UrlTemplate {
    UrlTemplate::parse("/{z}/{x}/{y}?f={forecast}").unwrap()
}

#[test]
fn every_tile_is_inside_its_matrix() {
    for tms in TMS {
        for spec in specs() {
            spec.validate(tms, &url()).unwrap();
            for t in sequence(&spec, tms, 42, 3000) {
                assert!(tms.contains(&t), "{spec:?} {tms:?} produced {t}");
            }
        }
    }
}

#[test]
fn bbox_strategies_stay_inside_the_bbox() {
    let bbox = BBox::from_array(BBOX).unwrap();
    for tms in TMS {
        for spec in specs() {
            let has_bbox = matches!(
                spec,
                StrategySpec::Random { bbox: Some(_), .. }
                    | StrategySpec::Sequential { bbox: Some(_), .. }
            );
            if !has_bbox {
                continue;
            }
            for t in sequence(&spec, tms, 7, 5000) {
                assert!(
                    tms.range(t.z, Some(&bbox)).contains(&t),
                    "{spec:?} {tms:?}: {t} outside bbox"
                );
            }
        }
    }
}

#[test]
fn same_seed_same_sequence_different_seed_different() {
    for spec in specs() {
        let a = sequence(&spec, TileMatrixSet::WebMercatorQuad, 1, 500);
        let b = sequence(&spec, TileMatrixSet::WebMercatorQuad, 1, 500);
        assert_eq!(a, b, "{spec:?} not deterministic");
        let random = matches!(
            spec,
            StrategySpec::Random { .. }
                | StrategySpec::Hotspot { .. }
                | StrategySpec::Zoom { .. }
                | StrategySpec::Fixed { shuffle: true, .. }
                | StrategySpec::Pan { start: None, .. }
        );
        if random {
            let c = sequence(&spec, TileMatrixSet::WebMercatorQuad, 2, 500);
            assert_ne!(a, c, "{spec:?} ignores the seed");
        }
    }
}

#[test]
fn generator_urls_are_reproducible() {
    let yaml = r#"
name: t
url: "/tiles/{layer}/{style}/{z}/{x}/{y}.png?forecast={forecast}"
requests: 10
layers:
  - {name: a, weight: 3, dimensions: {forecast: [0, 6]}}
  - {name: b, dimensions: {forecast: {from: 0, to: 24, step: 3}}}
strategy: {kind: random, zoom: [0, 8]}
"#;
    let mk = |seed: u64| {
        let mut spec = ScenarioSpec::from_yaml(yaml, "t.yaml").unwrap();
        spec.seed = Some(seed);
        let s = Scenario::from_spec(spec, "t.yaml").unwrap();
        RequestGenerator::new(&s)
            .take(300)
            .map(|r| r.url)
            .collect::<Vec<_>>()
    };
    assert_eq!(mk(5), mk(5));
    assert_ne!(mk(5), mk(6));
    // Weights 3:1 → layer a about three quarters of the time.
    let a = mk(5).iter().filter(|u| u.contains("/tiles/a/")).count();
    assert!((180..=270).contains(&a), "layer a drawn {a}/300 times");
}

#[test]
fn sequential_covers_every_tile_of_a_zoom_once_per_sweep() {
    for tms in TMS {
        let (cols, rows) = tms.matrix_size(4);
        let n = (cols * rows) as usize;
        let spec = StrategySpec::Sequential {
            zoom: ZoomSpec::One(4),
            bbox: None,
        };
        let seq = sequence(&spec, tms, 1, 2 * n);
        let first: HashSet<Tile> = seq[..n].iter().copied().collect();
        assert_eq!(first.len(), n, "{tms:?}: sweep repeats a tile");
        assert_eq!(&seq[..n], &seq[n..], "{tms:?}: second sweep differs");
    }
    // Multi-zoom: zoom 0..=2 in order, 1 + 4 + 16 tiles.
    let spec = StrategySpec::Sequential {
        zoom: ZoomSpec::Range([0, 2]),
        bbox: None,
    };
    let seq = sequence(&spec, TileMatrixSet::WebMercatorQuad, 1, 21);
    let zooms: Vec<u8> = seq.iter().map(|t| t.z).collect();
    assert!(zooms.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(seq.iter().collect::<HashSet<_>>().len(), 21);
}

#[test]
fn hotspot_concentrates_near_the_centre() {
    let center = [10.0, 50.0];
    let spec = StrategySpec::Hotspot {
        zoom: ZoomSpec::One(8),
        center,
        radius: 10,
        exponent: 1.0,
    };
    let tms = TileMatrixSet::WebMercatorQuad;
    let c = tms.tile_at(8, center[0], center[1]);
    let seq = sequence(&spec, tms, 3, 10_000);
    let dist = |t: &Tile| {
        (t.x as i64 - c.x as i64)
            .abs()
            .max((t.y as i64 - c.y as i64).abs())
    };
    assert!(seq.iter().all(|t| dist(t) <= 10), "tile beyond radius");
    let near = seq.iter().filter(|t| dist(t) <= 2).count();
    // 25 of 441 tiles (5.7 %) hold the top Zipf ranks: well over a third of the draws.
    assert!(
        near > 4_000,
        "only {near}/10000 within 2 tiles of the centre"
    );
    let at_centre = seq.iter().filter(|t| **t == c).count();
    let far = seq.iter().filter(|t| dist(t) == 10).count() as f64 / 80.0;
    assert!(
        at_centre as f64 > 20.0 * far,
        "centre {at_centre} vs far ring avg {far}"
    );
}

#[test]
fn zoom_moves_between_parents_and_children() {
    let spec = StrategySpec::Zoom {
        zoom: ZoomSpec::Range([2, 9]),
        start: Some([2.35, 48.85]),
        bbox: None,
    };
    let seq = sequence(&spec, TileMatrixSet::WebMercatorQuad, 11, 200);
    assert_eq!(seq[0].z, 2);
    for w in seq.windows(2) {
        let (a, b) = (w[0], w[1]);
        let related = b.parent() == Some(a) || a.parent() == Some(b);
        assert!(related, "{a} → {b} is not a parent/child step");
    }
    let zooms: BTreeSet<u8> = seq.iter().map(|t| t.z).collect();
    assert_eq!(zooms, (2..=9).collect());
    // Random starts: every step is still parent/child except new cycles at the top.
    let spec = StrategySpec::Zoom {
        zoom: ZoomSpec::Range([3, 6]),
        start: None,
        bbox: None,
    };
    let seq = sequence(&spec, TileMatrixSet::WorldCRS84Quad, 11, 200);
    for w in seq.windows(2) {
        let related = w[1].parent() == Some(w[0]) || w[0].parent() == Some(w[1]);
        assert!(
            related || (w[0].z == 3 && w[1].z == 4),
            "{} → {}",
            w[0],
            w[1]
        );
    }
}

#[test]
fn pan_moves_the_viewport_and_requests_new_tiles_only() {
    let spec = StrategySpec::Pan {
        zoom: 5,
        viewport: [4, 3],
        start: Some([0.0, 0.0]),
        step: [1, 0],
        new_only: true,
    };
    let seq = sequence(&spec, TileMatrixSet::WebMercatorQuad, 1, 12 + 3 * 10);
    let first: HashSet<u32> = seq[..12].iter().map(|t| t.x).collect();
    assert_eq!(first.len(), 4);
    // After the first full viewport, each step reveals exactly one new column of 3 tiles.
    for (i, chunk) in seq[12..].chunks(3).enumerate() {
        let xs: HashSet<u32> = chunk.iter().map(|t| t.x).collect();
        assert_eq!(xs.len(), 1, "step {i} is not a single column");
        assert_eq!(chunk.iter().map(|t| t.y).collect::<HashSet<_>>().len(), 3);
    }
}

#[test]
fn animation_steps_through_every_forecast_value_in_order() {
    let yaml = r#"
name: anim
url: "/tiles/{layer}/{style}/{z}/{x}/{y}.png?forecast={forecast}"
requests: 10
layers:
  - name: gfs_TMP_2m
    dimensions: {forecast: {from: 0, to: 24, step: 3}}
strategy: {kind: animation, zoom: 4, center: [0, 45], viewport: [3, 2]}
"#;
    let s =
        Scenario::from_spec(ScenarioSpec::from_yaml(yaml, "a.yaml").unwrap(), "a.yaml").unwrap();
    let reqs: Vec<_> = RequestGenerator::new(&s).take(6 * 9 * 2).collect();
    let forecast = |u: &str| u.rsplit('=').next().unwrap().parse::<u32>().unwrap();
    let frames: Vec<Vec<_>> = reqs.chunks(6).map(|c| c.to_vec()).collect();
    let expected: Vec<u32> = (0..=24).step_by(3).collect();
    for (i, frame) in frames.iter().enumerate() {
        let f: HashSet<u32> = frame.iter().map(|r| forecast(&r.url)).collect();
        assert_eq!(f, HashSet::from([expected[i % 9]]), "frame {i}");
        let tiles: HashSet<Tile> = frame.iter().map(|r| r.tile).collect();
        assert_eq!(tiles.len(), 6, "frame {i} is not the full 3×2 viewport");
        let first: HashSet<Tile> = frames[0].iter().map(|r| r.tile).collect();
        assert_eq!(tiles, first, "viewport moved");
    }
}
