//! Nothing on NATS is trusted: the server takes credentials, and jobs,
//! results and point queries must carry the farm's signature. A client that
//! reaches NATS without the secret can neither queue work nor answer for a
//! worker.

mod common;

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use common::*;
use farm::{JobResult, SigningKey, subjects};
use protocol::{Priority, RenderQueue, codec};

fn signed(config: &mut farm::FarmConfig) {
    config.signing_key = Some(SigningKey::new("test farm secret, 32 bytes long!").unwrap());
}

#[tokio::test]
async fn a_forged_result_is_dropped_and_the_real_one_served() {
    let nats = Server::nats();
    let mut config = config(&nats);
    signed(&mut config);
    // Slow renders: the forger answers first.
    let renderer = FakeRenderer::with_delay(Duration::from_millis(600));
    let _worker = worker(&config, renderer.clone(), None, 1).await;
    let gateway = queue(&config).await;
    let job = job("gfs_TMP_2m", 3, 1, 2, Priority::Interactive);
    let key = job.key.cache_key();

    let forger = async_nats::connect(nats.nats_url()).await.unwrap();
    let evil = codec::encode(&JobResult::new(
        key.clone(),
        Ok(Bytes::from_static(b"\x89PNG evil")),
    ))
    .unwrap();
    let subject = subjects::result_subject(&key);
    let forge = async {
        // Keep forging while the render runs, with and without a bogus
        // signature header.
        for k in 0..10 {
            let mut headers = HeaderMap::new();
            if k % 2 == 0 {
                headers.insert(farm::signing::SIGNATURE_HEADER, "00".repeat(32).as_str());
            }
            forger
                .publish_with_headers(subject.clone(), headers, evil.clone().into())
                .await
                .unwrap();
            forger.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    };
    let (tile, ()) = tokio::join!(gateway.render(job.clone()), forge);
    assert_eq!(
        tile.unwrap(),
        tile_for(&job),
        "the worker's tile, not the forger's"
    );
    let forged = gateway
        .stats()
        .forged
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(forged >= 1, "forged results counted: {forged}");
}

#[tokio::test]
async fn an_unsigned_job_is_terminated_without_rendering() {
    let nats = Server::nats();
    let mut config = config(&nats);
    signed(&mut config);
    let renderer = std::sync::Arc::new(FakeRenderer::default());
    let worker = worker(&config, renderer.clone(), None, 1).await;

    // A forged job as the hostile report sent it: huge tiles, no signature.
    let mut forged = job("gfs_TMP_2m", 3, 1, 2, Priority::Interactive);
    forged.key.tile_size = 100_000;
    let client = async_nats::connect(nats.nats_url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    js.publish(
        subjects::job_subject(Priority::Interactive),
        codec::encode(&forged).unwrap().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let stats = worker.stats.clone();
    assert!(
        eventually(Duration::from_secs(10), || stats
            .forged
            .load(std::sync::atomic::Ordering::Relaxed)
            == 1)
        .await,
        "the worker saw and dropped the job"
    );
    assert_eq!(renderer.calls(), 0, "nothing rendered");
    let mut left = usize::MAX;
    for _ in 0..100 {
        left = stream_len(&config).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        left, 0,
        "the job is terminated, not left for the next worker"
    );

    // A signed job still renders.
    let gateway = queue(&config).await;
    let good = job("gfs_TMP_2m", 3, 1, 3, Priority::Interactive);
    assert_eq!(gateway.render(good.clone()).await.unwrap(), tile_for(&good));
}

#[tokio::test]
async fn nats_with_credentials_refuses_strangers_and_takes_url_credentials() {
    let nats = Server::nats_with_auth("wxfarm", "s3cret-pass");
    let port = nats.port;
    let stranger = async_nats::connect(format!("nats://127.0.0.1:{port}")).await;
    let err = stranger.expect_err("a client without credentials is refused");
    assert!(
        err.to_string().to_lowercase().contains("auth"),
        "refused for its credentials: {err}"
    );
    let client =
        farm::topology::connect_url(&format!("nats://wxfarm:s3cret-pass@127.0.0.1:{port}"))
            .await
            .expect("credentials from the URL");
    client
        .flush()
        .await
        .expect("authenticated connection works");
}
