//! Runs arriving hour by hour: which are complete, and which one requests
//! without a run default to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::FieldEntry;

/// Where a model run stands while its forecast hours arrive one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Fewer valid times than the last run of its cycle had: more are on
    /// their way.
    Arriving,
    /// As many valid times as the layer's rule expects for its cycle, or
    /// else as the last run of its cycle (a run with neither counts as
    /// complete as it is).
    Complete,
    /// Older than the default run: still served when named, no longer
    /// what requests without a run get.
    Expired,
}

/// One run of a layer and how far it has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStatus {
    pub run: DateTime<Utc>,
    /// Distinct valid times ingested.
    pub valid_times: usize,
    pub state: RunState,
}

/// [`LayerEntry::run_status`] over `fields`. A run is measured against the
/// latest earlier run of the same cycle (hour of day): cycles may differ in
/// length (HRRR's 00/06/12/18Z runs reach 48 h, the others 18 h), a cycle
/// from one day to the next does not. A run with no earlier run of its
/// cycle counts as complete, as it is.
pub(super) fn run_status<'a>(
    fields: impl Iterator<Item = &'a FieldEntry>,
    expected: &Expected,
) -> Vec<RunStatus> {
    let mut out = Vec::new();
    for_each_run(fields, expected, |status| out.push(status));
    let default = out
        .iter()
        .rev()
        .find(|s| s.state == RunState::Complete)
        .map(|s| s.run);
    for status in &mut out {
        if default.is_some_and(|d| status.run < d) {
            status.state = RunState::Expired;
        }
    }
    out
}

/// Valid times a complete run has, by cycle: `"00"`…`"23"` (the run's UTC
/// hour) or `"default"` (see [`super::LayerInfo::expected_valid_times`]).
pub type Expected = std::collections::BTreeMap<String, u32>;

/// What `expected` says for a run at `hour`, if anything. No allocation:
/// tile requests without a run come through here.
fn expected_for(expected: &Expected, hour: u32) -> Option<usize> {
    expected
        .iter()
        .find(|(k, _)| k.parse::<u32>() == Ok(hour))
        .or_else(|| expected.get_key_value("default"))
        .map(|(_, n)| *n as usize)
}

/// [`LayerEntry::default_run`] over `fields`.
pub(super) fn default_run<'a>(
    fields: impl Iterator<Item = &'a FieldEntry>,
    expected: &Expected,
) -> Option<DateTime<Utc>> {
    let mut newest_complete = None;
    for_each_run(fields, expected, |status| {
        if status.state == RunState::Complete {
            newest_complete = Some(status.run);
        }
    });
    newest_complete
}

/// Calls `f` with each run's status, oldest first. `fields` must come in
/// catalog order (by run, then valid time, as [`FieldId`] sorts): one pass,
/// no allocation but a list of the cycles seen, since tile requests
/// without a run call this.
fn for_each_run<'a>(
    fields: impl Iterator<Item = &'a FieldEntry>,
    configured: &Expected,
    mut f: impl FnMut(RunStatus),
) {
    use chrono::Timelike;
    // (cycle, valid times of its latest run); a few entries at most.
    let mut cycles: Vec<((u32, u32), usize)> = Vec::new();
    let mut finish = |run: DateTime<Utc>, valid_times: usize| {
        let cycle = (run.hour(), run.minute());
        let previous = match cycles.iter_mut().find(|(c, _)| *c == cycle) {
            Some((_, last)) => std::mem::replace(last, valid_times),
            None => {
                cycles.push((cycle, valid_times));
                0
            }
        };
        let expected = expected_for(configured, run.hour()).unwrap_or(previous);
        f(RunStatus {
            run,
            valid_times,
            state: if valid_times >= expected {
                RunState::Complete
            } else {
                RunState::Arriving
            },
        });
    };
    // (run, last valid time, distinct valid times so far)
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>, usize)> = None;
    for field in fields {
        match &mut current {
            Some((run, last, count)) if *run == field.run => {
                if field.valid != *last {
                    *last = field.valid;
                    *count += 1;
                }
            }
            _ => {
                if let Some((run, _, count)) = current.take() {
                    finish(run, count);
                }
                current = Some((field.run, field.valid, 1));
            }
        }
    }
    if let Some((run, _, count)) = current {
        finish(run, count);
    }
}

/// The newest observation time whose set of fields is whole: as many
/// fields (levels) as the fullest time has. A time still arriving level by
/// level is never the default. `fields` must come in catalog order (by
/// time, then level), so each time's fields are consecutive.
pub(super) fn newest_whole_time<'a, I>(fields: impl Fn() -> I) -> Option<DateTime<Utc>>
where
    I: Iterator<Item = &'a FieldEntry>,
{
    // Field counts per time, without collecting: first the fullest ...
    let mut fullest = 0;
    for_each_time(fields(), |_, n| fullest = fullest.max(n));
    // ... then the newest time that has that many.
    let mut newest = None;
    for_each_time(fields(), |t, n| {
        if n == fullest {
            newest = Some(t);
        }
    });
    newest
}

fn for_each_time<'a>(
    fields: impl Iterator<Item = &'a FieldEntry>,
    mut f: impl FnMut(DateTime<Utc>, usize),
) {
    let mut current: Option<(DateTime<Utc>, usize)> = None;
    for field in fields {
        match &mut current {
            Some((t, n)) if *t == field.valid => *n += 1,
            _ => {
                if let Some((t, n)) = current.take() {
                    f(t, n);
                }
                current = Some((field.valid, 1));
            }
        }
    }
    if let Some((t, n)) = current {
        f(t, n);
    }
}
