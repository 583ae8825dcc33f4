//! Every flag of every subcommand says what it does in `--help`.

use std::process::Command;

/// Flags of `args --help` whose description is empty (metadata such as
/// `[env: …]` or `[default: …]` alone does not count).
fn undocumented(args: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_wxfarm"))
        .args(args)
        .arg("--help")
        .output()
        .expect("wxfarm --help");
    assert!(out.status.success(), "{args:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let is_flag = |l: &str| {
        let t = l.trim_start();
        l.starts_with(' ')
            && (t.starts_with("--") || (t.starts_with('-') && t.get(2..4) == Some(", ")))
    };
    let strip_meta = |s: &str| {
        let mut s = s.to_owned();
        while let (Some(a), Some(b)) = (s.find('['), s.find(']')) {
            if a > b {
                break;
            }
            s.replace_range(a..=b, "");
        }
        s.trim().to_owned()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut missing = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        if !is_flag(line) {
            continue;
        }
        let spec_end = line
            .trim_start()
            .find("  ")
            .map(|i| i + line.len() - line.trim_start().len());
        let mut description = spec_end.map(|i| strip_meta(&line[i..])).unwrap_or_default();
        for next in &lines[k + 1..] {
            if next.trim().is_empty() || is_flag(next) {
                break;
            }
            description.push_str(&strip_meta(next));
        }
        if description.is_empty() {
            missing.push(line.trim().to_owned());
        }
    }
    missing
}

#[test]
fn every_flag_has_help_text() {
    let mut missing = Vec::new();
    for sub in [
        &["serve"][..],
        &["gateway"],
        &["worker"],
        &["scheduler"],
        &["ingest"],
        &["pull"],
        &["inspect"],
        &["warm"],
        &["demo-data"],
        &["farm", "up"],
        &["farm", "down"],
        &["jobs", "decode"],
        &["jobs", "ls"],
        &["jobs", "get"],
        &["jobs", "replay"],
    ] {
        for flag in undocumented(sub) {
            missing.push(format!("{}: {flag}", sub.join(" ")));
        }
    }
    assert!(
        missing.is_empty(),
        "flags without help text:\n{}",
        missing.join("\n")
    );
}
