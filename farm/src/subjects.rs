//! Names shared by every farm process: the job stream, its subjects and
//! consumers, result subjects, ingest events and KV buckets. Keeping them in
//! one place is what lets a gateway, a worker and `wxfarm jobs` agree.

use protocol::Priority;

/// The JetStream stream holding render jobs (work-queue retention: a job
/// is removed once a worker acks or terminates it).
pub const JOB_STREAM: &str = "WXFARM_JOBS";

/// Prefix of the per-priority job subjects.
pub const JOB_SUBJECT_PREFIX: &str = "wxfarm.jobs";

/// Wildcard matching every job subject.
pub const JOB_SUBJECTS_ALL: &str = "wxfarm.jobs.*";

/// Prefix of result subjects (core NATS, not stored).
pub const RESULT_SUBJECT_PREFIX: &str = "wxfarm.results";

/// Prefix of ingest events; the model name follows.
pub const INGEST_SUBJECT_PREFIX: &str = "wxfarm.ingest";

/// New-object notices ([`protocol::events::PullNotice`]) from the
/// gateways' `POST /admin/pull/notify` webhook, for a following scheduler.
pub const PULL_NOTIFY_SUBJECT: &str = "wxfarm.pull.notify";

/// KV bucket holding the catalog, one key per layer.
pub const CATALOG_BUCKET: &str = "wxfarm_catalog";

/// KV bucket for scheduler state (hot-tile counts, warming progress).
pub const SCHEDULER_BUCKET: &str = "wxfarm_scheduler";

/// Header carrying the tile cache key of a job, so tools can list jobs
/// without decoding them.
pub const KEY_HEADER: &str = "wxfarm-key";

/// Header naming the subject a job's result is published on (informative:
/// workers derive it from the key, see [`result_subject`]).
pub const REPLY_HEADER: &str = "wxfarm-reply";

/// The subject jobs of `priority` are published on.
pub fn job_subject(priority: Priority) -> String {
    format!("{JOB_SUBJECT_PREFIX}.{}", priority.as_str())
}

/// The durable pull consumer for `priority`, shared by all workers.
pub fn consumer_name(priority: Priority) -> String {
    format!("wxfarm-worker-{}", priority.as_str())
}

/// The priority a job subject stands for.
pub fn priority_of_subject(subject: &str) -> Option<Priority> {
    let name = subject
        .strip_prefix(JOB_SUBJECT_PREFIX)?
        .strip_prefix('.')?;
    Priority::ALL.into_iter().find(|p| p.as_str() == name)
}

/// The subject a tile's result is published on.
///
/// Cache keys contain `.` (a subject token separator) and may be long, so
/// the subject carries a 64-bit FNV-1a hash of the key instead
/// ([`protocol::stable_hash`]: it must not change between releases, since
/// gateways and workers of different builds must agree); a collision only makes a
/// gateway see a foreign result, which it discards by comparing keys.
pub fn result_subject(cache_key: &str) -> String {
    format!(
        "{RESULT_SUBJECT_PREFIX}.{:016x}",
        protocol::stable_hash(cache_key.as_bytes())
    )
}

/// The subject ingest events of `model` are published on.
pub fn ingest_subject(model: &str) -> String {
    format!("{INGEST_SUBJECT_PREFIX}.{model}")
}

/// The de-duplication id of a job: its cache key, scoped by priority so an
/// interactive request is never swallowed as a duplicate of a warm job
/// still waiting behind thousands of others.
pub fn msg_id(priority: Priority, cache_key: &str) -> String {
    format!("{}:{cache_key}", priority.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip_and_are_stable() {
        for p in Priority::ALL {
            assert_eq!(priority_of_subject(&job_subject(p)), Some(p));
        }
        assert_eq!(priority_of_subject("wxfarm.jobs.other"), None);
        assert_eq!(priority_of_subject("wxfarm.jobsinteractive"), None);
        // Known FNV-1a test vector: a change here breaks mixed-version farms.
        assert_eq!(protocol::stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        let s = result_subject("wx:v1:a:b::WebMercatorQuad:256:1/2/3:x.png");
        assert!(s.starts_with("wxfarm.results."));
        assert_eq!(s.split('.').count(), 3);
        assert_ne!(
            s,
            result_subject("wx:v1:a:b::WebMercatorQuad:256:1/2/4:x.png")
        );
    }
}
