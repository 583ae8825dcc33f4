//! Size of the capabilities document for a realistic catalog. Run with
//! `CAPS_DUMP=/tmp/caps.xml` to keep the document for inspection.

mod common;

use common::*;
use gateway::ogc::wmts_capabilities;
use roxmltree::Document;

/// Size of a realistic document: 12 global model layers (4 runs × 121
/// leads), 4 regional model layers with 10 pressure levels (4 runs × 19
/// leads) and 4 regional observation layers (360 times, 2-minutely).
#[test]
fn document_size_for_twenty_layers_stays_reasonable() {
    use chrono::Duration;
    use protocol::catalog::LayerKind;
    use protocol::tms::LonLatBox;

    let conus = LonLatBox {
        west: -134.1,
        south: 21.1,
        east: -60.9,
        north: 52.6,
    };
    let mut c = protocol::Catalog::default();
    for i in 0..12 {
        let name = format!("gfs_P{i}");
        let li = info(&name, "global", LayerKind::Model, None);
        for r in 0..4 {
            let run = r0() + Duration::hours(6 * r);
            for h in 0..121 {
                c.insert(
                    &li,
                    field(
                        &name,
                        run,
                        run + Duration::hours(h),
                        None,
                        GLOBAL_0_360,
                        1440,
                    ),
                );
            }
        }
    }
    for i in 0..4 {
        let name = format!("hrrr_P{i}");
        let li = info(&name, "regional", LayerKind::Model, Some("hPa"));
        for r in 0..4 {
            let run = r0() + Duration::hours(r);
            for h in 0..19 {
                for e in [
                    "1000", "925", "850", "700", "600", "500", "400", "300", "250", "200",
                ] {
                    c.insert(
                        &li,
                        field(&name, run, run + Duration::hours(h), Some(e), conus, 1799),
                    );
                }
            }
        }
    }
    for i in 0..4 {
        let name = format!("mrms_P{i}");
        let li = info(&name, "observed", LayerKind::Observation, None);
        for m in 0..360 {
            let t = r0() + Duration::minutes(2 * m);
            c.insert(&li, field(&name, t, t, None, conus, 7000));
        }
    }
    let xml = wmts_capabilities(&c, BASE, now());
    let doc = Document::parse(&xml).unwrap();
    let layers = doc
        .descendants()
        .filter(|n| n.has_tag_name("Layer"))
        .count();
    assert_eq!(layers, 20);
    println!("capabilities for 20 layers: {} bytes", xml.len());
    if let Ok(p) = std::env::var("CAPS_DUMP") {
        std::fs::write(p, &xml).unwrap();
    }
    assert!(xml.len() < 1 << 20, "{} bytes", xml.len());
}
