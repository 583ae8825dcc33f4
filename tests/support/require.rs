//! What a test does when a tool or data set it needs is missing. Included
//! by path from every test crate (`#[path]`), so the rule is written once.
//!
//! With `WXFARM_REQUIRE_ALL` set (and not `0`), as `make test` and CI set
//! it, a missing prerequisite fails the test with its name: a green suite
//! then means every test really ran. Without it (a developer's partial
//! machine), the test says what it skips and returns.

/// Reports that `what` is missing: panics under `WXFARM_REQUIRE_ALL`,
/// otherwise prints a skip line for the caller to return after.
#[track_caller]
pub fn missing(what: &str) {
    if std::env::var_os("WXFARM_REQUIRE_ALL").is_some_and(|v| v != "0") {
        panic!(
            "WXFARM_REQUIRE_ALL is set and {what} is missing (scripts/setup.sh installs the tools; ../shared/data holds the data)"
        );
    }
    eprintln!("skipping: {what} is missing (set WXFARM_REQUIRE_ALL=1 to make this a failure)");
}
