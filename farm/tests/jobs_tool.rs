//! `wxfarm jobs`: decode, list, get, replay.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Server, config, job, queue};
use farm::{JobResult, jobs_tool, topology};
use protocol::{Priority, RenderError, RenderQueue, codec};

#[test]
fn jobs_and_results_decode_to_json() {
    let j = job("gfs_TMP_2m", 3, 4, 2, Priority::Warm);
    let v = jobs_tool::decode_stdin_to_json(&codec::encode(&j).unwrap()).unwrap();
    assert_eq!(v["job"]["key"]["layer"], "gfs_TMP_2m");
    assert_eq!(v["job"]["priority"], "Warm");
    assert_eq!(v["job"]["cache_key"], j.key.cache_key());

    let ok = JobResult::new("k".into(), Ok(Bytes::from_static(b"12345")));
    let v = jobs_tool::decode_stdin_to_json(&codec::encode(&ok).unwrap()).unwrap();
    assert_eq!(v["result"]["key"], "k");
    assert_eq!(v["result"]["outcome"]["ok"]["bytes"], 5);

    let err = JobResult::new("k".into(), Err(RenderError::Data("gone".into())));
    let v = jobs_tool::decode_stdin_to_json(&codec::encode(&err).unwrap()).unwrap();
    assert_eq!(v["result"]["outcome"]["error"]["Data"], "gone");

    let other = codec::encode(&serde_json::json!({"a": 1})).unwrap();
    assert_eq!(
        jobs_tool::decode_stdin_to_json(&other).unwrap(),
        serde_json::json!({"a": 1})
    );
    assert!(jobs_tool::decode_stdin_to_json(b"\xc1").is_err());
    // `echo hello | wxfarm jobs decode`: a fixint then trailing bytes.
    assert!(jobs_tool::decode_stdin_to_json(b"hello\n").is_err());
    assert!(jobs_tool::decode_stdin_to_json(&codec::encode(&7u8).unwrap()).is_err());
    let mut trailing = codec::encode(&j).unwrap();
    trailing.push(0);
    assert!(jobs_tool::decode_stdin_to_json(&trailing).is_err());
}

#[tokio::test]
async fn list_get_and_replay_waiting_jobs() {
    let nats = Server::nats();
    let cfg = config(&nats);
    let q = queue(&cfg).await;
    let jobs = [
        job("a", 1, 0, 0, Priority::Warm),
        job("b", 1, 0, 0, Priority::Prefetch),
        job("c", 1, 0, 0, Priority::Warm),
    ];
    for j in &jobs {
        assert!(q.enqueue(j.clone()));
    }
    let client = topology::connect(&cfg).await.unwrap();
    let js = topology::jetstream(client, Duration::from_secs(2));
    let until = Instant::now() + Duration::from_secs(5);
    let listed = loop {
        let l = jobs_tool::list(&js, 100).await.unwrap();
        if l.len() == 3 {
            break l;
        }
        assert!(Instant::now() < until, "{l:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut keys: Vec<_> = listed.iter().filter_map(|s| s.key.clone()).collect();
    keys.sort();
    let mut want: Vec<_> = jobs.iter().map(|j| j.key.cache_key()).collect();
    want.sort();
    assert_eq!(keys, want);
    assert!(listed.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(listed.iter().all(|s| s.age < Duration::from_secs(10)));
    assert_eq!(jobs_tool::list(&js, 2).await.unwrap().len(), 2);

    let b = listed
        .iter()
        .find(|s| s.priority == Some(Priority::Prefetch))
        .unwrap();
    let detail = jobs_tool::get(&js, b.seq).await.unwrap();
    assert_eq!(detail.job, jobs[1]);
    assert!(matches!(
        jobs_tool::get(&js, 999).await,
        Err(farm::FarmError::NotFound(_))
    ));

    let new_seq = jobs_tool::replay(&js, b.seq).await.unwrap();
    assert!(new_seq > listed[2].seq);
    let after = jobs_tool::list(&js, 100).await.unwrap();
    assert_eq!(after.len(), 4);
    assert_eq!(jobs_tool::get(&js, new_seq).await.unwrap().job, jobs[1]);

    // Rendered jobs leave the stream (work queue).
    let r = std::sync::Arc::new(common::FakeRenderer::default());
    let _w = common::worker(&cfg, r.clone(), None, 2).await;
    let j = job("d", 1, 0, 0, Priority::Interactive);
    q.render(j).await.unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while !jobs_tool::list(&js, 100).await.unwrap().is_empty() {
        assert!(Instant::now() < until);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(r.calls(), 5);
}
