//! `wxfarm warm` against a running `serve`: the admin API exists only with
//! a token and checks it; an estimate counts tiles; a warm run renders them
//! into L1, so the first request for each is a hit; a second run finds them
//! all cached; bad specs exit 2.

mod support;

use std::process::{Command, Output};

use support::{Server, demo_data, get};

const TOKEN: &str = "test-admin-token-0123456789";

fn warm(url: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(["warm", "--url", url, "--token", token])
        .args(args)
        .output()
        .expect("wxfarm warm")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn warm_estimates_renders_into_l1_and_checks_its_token() {
    let server = Server::start(demo_data(), &["--admin-token", TOKEN]);
    let url = server.url.clone();
    let spec = ["--layers", "gfs_TMP_2m", "--zooms", "0-2"];

    let refused = warm(&url, "wrong-token-0123456789", &spec);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));

    let estimate = warm(&url, TOKEN, &[&spec[..], &["--estimate"]].concat());
    assert_eq!(estimate.status.code(), Some(0));
    // z0-2 of a global layer: 1 + 4 + 16 tiles, none cached yet.
    assert!(
        stdout(&estimate).starts_with("21 tiles, 0 already in L1"),
        "{}",
        stdout(&estimate)
    );

    let first = warm(&url, TOKEN, &spec);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    assert!(
        stdout(&first).contains("warmed 21 tiles") && stdout(&first).contains("21 rendered"),
        "{}",
        stdout(&first)
    );
    for tile in ["0/0/0", "1/1/0", "2/3/3"] {
        let (status, headers, _) =
            get(&format!("{url}/tiles/gfs_TMP_2m/gradient/{tile}.png")).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-cache"], "L1", "{tile} was warmed");
    }
    let (_, headers, _) = get(&format!("{url}/tiles/gfs_TMP_2m/gradient/3/0/0.png")).await;
    assert_eq!(headers["x-cache"], "MISS", "z3 was not in the spec");

    let again = warm(&url, TOKEN, &spec);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).contains("0 rendered, 21 already cached"),
        "{}",
        stdout(&again)
    );

    // The first run measured the render rate: estimates now give a time.
    assert!(
        stdout(&estimate).contains("time: not measured yet"),
        "{}",
        stdout(&estimate)
    );
    let timed = warm(
        &url,
        TOKEN,
        &["--layers", "gfs_TMP_2m", "--zooms", "3-3", "--estimate"],
    );
    let line = stdout(&timed);
    let secs: f64 = line
        .split("about ")
        .nth(2)
        .and_then(|t| t.split(" s at ").next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a time in {line}"));
    let rate: f64 = line
        .split(" s at ")
        .nth(1)
        .and_then(|t| t.split(" tiles/s").next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a rate in {line}"));
    // 64 z3 tiles, one of them (3/0/0) asked for above, at the measured rate.
    assert!(line.starts_with("64 tiles, 1 already in L1"), "{line}");
    assert!(rate > 0.0, "{line}");
    assert!((secs - 63.0 / rate).abs() <= 0.05 + 0.01 * secs, "{line}");

    let stats = warm(&url, TOKEN, &["--stats"]);
    assert_eq!(stats.status.code(), Some(0));
    let l1_tiles: u64 = stdout(&stats)
        .lines()
        .find_map(|l| l.strip_prefix("L1 tiles"))
        .and_then(|v| v.trim().parse().ok())
        .expect("an L1 line");
    assert!(l1_tiles >= 22, "{}", stdout(&stats));
    assert!(
        stdout(&stats).contains("warmed static"),
        "{}",
        stdout(&stats)
    );
    // One request above had to render (3/0/0); nothing was warmed ahead.
    assert!(
        stdout(&stats).contains("requests rendered 1 (recall of work ahead 0.00)"),
        "{}",
        stdout(&stats)
    );

    let unknown = warm(&url, TOKEN, &["--layers", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown layer nope"));
}

#[tokio::test]
async fn without_a_token_there_is_no_admin_api() {
    let server = Server::start(demo_data(), &[]);
    let out = warm(&server.url, TOKEN, &["--zooms", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
}
