//! The sample satellite scans `wxfarm demo-data` writes: they read the
//! same in python netCDF4 (an independent NetCDF reader) as in ours, and
//! `serve` shows them as a satellite layer with its scan times.

#[path = "support/goes_reference.rs"]
mod goes_reference;
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use goes_reference::close;
use support::{Server, get, rgba};

fn grid(file: &std::path::Path) -> decode::Grid {
    decode::decode_field(&std::fs::read(file).expect("read"), 0).expect("decodes")
}

fn demo_scans() -> &'static (tempfile::TempDir, Vec<PathBuf>) {
    static DIR: OnceLock<(tempfile::TempDir, Vec<PathBuf>)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = demo::DemoOptions {
            run: support::run_time(),
            ..Default::default()
        };
        let files = demo::satellite::write_scans(dir.path(), &opts, 2).expect("scans");
        (dir, files)
    })
}

#[test]
fn demo_scans_read_the_same_in_python_netcdf4() {
    let ok = Command::new("python3")
        .args(["-c", "import netCDF4"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        support::require::missing("python3 module netCDF4 (python3 -m pip install netCDF4)");
        return;
    }
    let (_, files) = demo_scans();
    assert_eq!(files.len(), 2);
    // netCDF4 applies _Unsigned, _FillValue, scale and offset itself.
    let script = "import sys, netCDF4\n\
        d = netCDF4.Dataset(sys.argv[1])\n\
        c = d['CMI'][:]\n\
        print(d.time_coverage_start, d.platform_ID, int(d['band_id'][0]))\n\
        for j in range(0, c.shape[0], 7):\n\
        \x20   print(' '.join('nan' if c.mask[j, i] else repr(float(c[j, i])) for i in range(0, c.shape[1], 5)))\n";
    for file in files {
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(file)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        let head = lines.next().unwrap();
        let g = grid(file);
        let bytes = std::fs::read(file).unwrap();
        let s = match &decode::index_file(&bytes).unwrap()[0] {
            Ok(decode::IndexedField::Satellite(s)) => s.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            head,
            format!("{}.0Z G16 13", s.start.format("%Y-%m-%dT%H:%M:%S"))
        );
        let (mut nan, mut values) = (0, 0);
        for (r, line) in lines.enumerate() {
            for (c, t) in line.split(' ').enumerate() {
                let ours = g.value(c * 5, r * 7);
                if t == "nan" {
                    nan += 1;
                    assert!(ours.is_nan(), "({}, {}): {ours}", c * 5, r * 7);
                } else {
                    values += 1;
                    let theirs: f64 = t.parse().unwrap();
                    assert!(close(f64::from(ours), theirs, 1e-6), "{ours} vs {theirs}");
                }
            }
        }
        assert!(
            nan > 0 && values > 1000,
            "{nan} off the disk, {values} values"
        );
    }
}

#[tokio::test]
async fn demo_scans_serve_as_a_satellite_layer() {
    let (dir, _) = demo_scans();
    let server = Server::start(dir.path(), &[]);
    let (_, _, body) = get(&format!("{}/api/layers", server.url)).await;
    let text = String::from_utf8_lossy(&body).into_owned();
    assert!(text.contains("goes16_C13_conus"), "{text}");
    assert!(text.contains("GOES-16 ABI band 13 clean longwave IR (10.3 µm), CONUS"));
    for k in 0..2 {
        let t = demo::satellite::scan_time(
            &demo::DemoOptions {
                run: support::run_time(),
                ..Default::default()
            },
            k,
        );
        assert!(
            text.contains(&t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            "{t}: {text}"
        );
    }
    let (status, _, tile) = get(&format!(
        "{}/tiles/goes16_C13_conus/gradient/4/3/6.png",
        server.url
    ))
    .await;
    assert_eq!(status, 200);
    let (_, _, px) = rgba(&tile);
    assert!(
        px.chunks(4).all(|p| p[3] == 255),
        "the central US is all on the disk"
    );
}
