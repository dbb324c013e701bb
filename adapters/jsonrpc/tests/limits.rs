//! The transport's limits on peers (issue #11): the unauthenticated quota below
//! `max_connections`, the authentication deadline, keepalive pings that drop dead peers.

mod common;

use std::time::Duration;

use common::*;
use cs_jsonrpc::ServerOptions;

fn opts() -> ServerOptions {
    ServerOptions {
        max_connections: 10,
        max_unauthenticated: 4,
        max_unauthenticated_per_ip: 3,
        ..Default::default()
    }
}

#[tokio::test]
async fn filling_the_unauthenticated_quota_still_lets_an_admin_connect() {
    let server = TestServer::with(opts(), false).await;
    // One source address holds at most 3 unauthenticated connections.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(server.peer().await);
    }
    let refused = Peer::try_connect(server.addr, "")
        .await
        .err()
        .expect("refused");
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(refused.len() < 4096);

    // A client with a credential on the upgrade is not counted against the quota.
    let mut admin = Peer::try_connect(server.addr, "Authorization: Bearer admin-token\r\n")
        .await
        .expect("an authenticated client connects while the quota is full");
    admin.expect_alive_then_close().await;

    // Authenticating frees the connection's place for another.
    silent[0]
        .send(&frame(
            OP_TEXT,
            br#"{"jsonrpc":"2.0","id":1,"method":"authenticate","params":{}}"#,
        ))
        .await;
    let a = silent[0].answer().await;
    assert_eq!(a["result"]["authenticated"], true, "{a}");
    let mut next = None;
    for _ in 0..200 {
        if let Ok(p) = Peer::try_connect(server.addr, "").await {
            next = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(next.is_some(), "a place was freed by the authentication");
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_does_not_authenticate_in_time_is_closed_1008() {
    let server = TestServer::with(
        ServerOptions {
            auth_timeout: Duration::from_secs(1),
            ..opts()
        },
        false,
    )
    .await;
    let mut p = server.peer().await;
    let (code, before) = p.closed_with().await;
    assert_eq!(code, Some(1008), "{before:?}");
    // Its place is free again: three more fit.
    for _ in 0..3 {
        let _ = server.peer().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_peer_that_does_not_answer_pings_is_dropped_and_one_that_does_stays() {
    let server = TestServer::with(
        ServerOptions {
            ping_interval: Duration::from_secs(1),
            ..opts()
        },
        true,
    )
    .await;
    let mut dead = server.peer().await;
    let mut alive = server.peer().await;
    // The live peer answers each ping for a few intervals.
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    let mut pings = 0;
    while tokio::time::Instant::now() < until {
        match alive.next_within(Duration::from_millis(200)).await {
            Some(Got::Ping(p)) => {
                pings += 1;
                alive.send(&frame(OP_PONG, &p)).await;
            }
            None => {}
            other => panic!("only pings, not {other:?}"),
        }
    }
    assert!(pings >= 1, "the silent live peer was pinged");
    // The dead one got a ping, never answered, and was closed.
    assert_eq!(dead.next().await, Got::Ping(vec![]));
    let (code, _) = dead.closed_with().await;
    assert_eq!(code, Some(1008));
    alive.expect_alive_then_close().await;
    server.stop().await;
}
