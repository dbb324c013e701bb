//! RFC 6455 conformance, section by section after the Autobahn|Testsuite (1 framing, 2
//! ping/pong, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling,
//! 9 limits; not 12/13, compression, which is never negotiated), plus the opening handshake.
//! Raw frames on a plain TCP socket: nothing on the sending side is a WebSocket library.
//! Where Autobahn's server echoes, ours answers JSON-RPC: an `echo` call's answer carries
//! the text's length, which proves the message arrived whole. docs/websocket-conformance.md
//! lists every case with what it expects.
//!
//! One file of ~1,000 lines: the conformance suite of docs/websocket-conformance.md, one test
//! per item in its order, sharing one client.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const NO_PAUSE: Duration = Duration::ZERO;
const PAUSE: Duration = Duration::from_millis(1);

async fn echo_answer(p: &mut Peer, id: u64, len: usize) {
    let a = p.answer().await;
    assert_eq!(a["id"], id, "{a}");
    assert_eq!(a["result"]["len"], len as u64, "{a}");
}

/// Runs `body` against a fresh server and peer.
macro_rules! case {
    ($name:ident, |$p:ident| $body:block) => {
        #[tokio::test]
        async fn $name() {
            let server = TestServer::start().await;
            let mut $p = server.peer().await;
            $body
            server.stop().await;
        }
    };
}

// ---- 0: the opening handshake (RFC 6455 §4) ----

const UPGRADE_HEADERS: &str = "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

#[tokio::test]
async fn case_0_1_only_get_upgrades() {
    let server = TestServer::start().await;
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let head = http_head(
            server.addr,
            &format!("{method} /ws HTTP/1.1\r\n{UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 405"), "{method}: {head}");
        assert!(
            head.to_ascii_lowercase().contains("allow: get"),
            "{method}: {head}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn case_0_2_http_1_0_does_not_upgrade() {
    let server = TestServer::start().await;
    let head = http_head(
        server.addr,
        &format!("GET /ws HTTP/1.0\r\n{UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n"),
    )
    .await;
    assert!(
        head.starts_with("HTTP/1.0 400") || head.starts_with("HTTP/1.1 400"),
        "{head}"
    );
    server.stop().await;
}

#[tokio::test]
async fn case_0_3_other_versions_get_426_naming_13() {
    let server = TestServer::start().await;
    for version in [
        "Sec-WebSocket-Version: 8\r\n",
        "Sec-WebSocket-Version: 14\r\n",
        "",
    ] {
        let head = http_head(
            server.addr,
            &format!("GET /ws HTTP/1.1\r\n{UPGRADE_HEADERS}{version}\r\n"),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 426"), "{version:?}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-version: 13"),
            "{version:?}: {head}"
        );
    }
    server.stop().await;
}

case!(
    case_0_4_a_good_handshake_gets_101_with_the_accept_key,
    |p| {
        // Peer::connect checks the status and Sec-WebSocket-Accept.
        p.expect_alive_then_close().await;
    }
);

// ---- 1: framing ----

case!(case_1_1_1_empty_text_is_answered_parse_error, |p| {
    p.send(&frame(OP_TEXT, b"")).await;
    let a = p.answer().await;
    assert_eq!(a["error"]["code"], -32700, "{a}");
    p.expect_alive_then_close().await;
});

async fn text_of_size(size: usize, chop: Option<usize>) {
    let server = TestServer::start().await;
    let mut p = server.peer().await;
    let req = echo_of_size(1, size);
    let f = frame(OP_TEXT, &req);
    match chop {
        Some(c) => p.send_chopped(&f, c, NO_PAUSE).await,
        None => p.send(&f).await,
    }
    let a = p.answer().await;
    assert_eq!(a["id"], 1, "{a}");
    assert_eq!(
        a["result"]["len"].as_u64().unwrap() as usize + echo_request(1, "").len(),
        size,
        "{a}"
    );
    p.expect_alive_then_close().await;
    server.stop().await;
}

#[tokio::test]
async fn case_1_1_2_text_125() {
    text_of_size(125, None).await;
}
#[tokio::test]
async fn case_1_1_3_text_126() {
    text_of_size(126, None).await;
}
#[tokio::test]
async fn case_1_1_4_text_127() {
    text_of_size(127, None).await;
}
#[tokio::test]
async fn case_1_1_5_text_128() {
    text_of_size(128, None).await;
}
#[tokio::test]
async fn case_1_1_6_text_65535() {
    text_of_size(65535, None).await;
}
#[tokio::test]
async fn case_1_1_7_text_65536() {
    text_of_size(65536, None).await;
}
#[tokio::test]
async fn case_1_1_8_text_65536_in_chops_of_997() {
    text_of_size(65536, Some(997)).await;
}

case!(case_1_2_1_binary_is_unsupported_data, |p| {
    p.send(&frame(OP_BINARY, b"")).await;
    p.expect_close(1003).await;
});

case!(case_1_2_2_binary_125_is_unsupported_data, |p| {
    p.send(&frame(OP_BINARY, &[0xFE; 125])).await;
    p.expect_close(1003).await;
});

case!(case_1_2_8_binary_65536_in_chops_is_unsupported_data, |p| {
    p.send_chopped(&frame(OP_BINARY, &[0xFE; 65536]), 997, NO_PAUSE)
        .await;
    p.expect_close(1003).await;
});

case!(
    case_1_3_1_a_64_bit_length_with_the_top_bit_set_is_a_protocol_error,
    |p| {
        let mut f = vec![0x81, 0x80 | 127];
        f.extend_from_slice(&(1u64 << 63 | 5).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(b"hello");
        p.send(&f).await;
        p.expect_close(1002).await;
    }
);

case!(
    case_1_3_2_an_unmasked_client_frame_is_a_protocol_error,
    |p| {
        let mut f = frame(OP_TEXT, &ping_request("x"));
        f[1] &= 0x7F;
        p.send(&f).await;
        p.expect_close(1002).await;
    }
);

// ---- 2: ping / pong ----

case!(case_2_1_ping_without_payload_gets_a_pong, |p| {
    p.send(&frame(OP_PING, b"")).await;
    assert_eq!(p.next().await, Got::Pong(vec![]));
    p.expect_alive_then_close().await;
});

case!(case_2_2_ping_with_text_payload_gets_it_back, |p| {
    p.send(&frame(OP_PING, b"Hello, world!")).await;
    assert_eq!(p.next().await, Got::Pong(b"Hello, world!".to_vec()));
    p.expect_alive_then_close().await;
});

case!(case_2_3_ping_with_binary_payload_gets_it_back, |p| {
    let payload = [0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff];
    p.send(&frame(OP_PING, &payload)).await;
    assert_eq!(p.next().await, Got::Pong(payload.to_vec()));
    p.expect_alive_then_close().await;
});

case!(case_2_4_ping_with_125_bytes_gets_them_back, |p| {
    p.send(&frame(OP_PING, &[0xfe; 125])).await;
    assert_eq!(p.next().await, Got::Pong(vec![0xfe; 125]));
    p.expect_alive_then_close().await;
});

case!(case_2_5_ping_with_126_bytes_is_a_protocol_error, |p| {
    p.send(&frame(OP_PING, &[0xfe; 126])).await;
    p.expect_close(1002).await;
});

case!(case_2_6_ping_125_sent_byte_by_byte_gets_its_pong, |p| {
    p.send_chopped(&frame(OP_PING, &[0xfe; 125]), 1, PAUSE)
        .await;
    assert_eq!(p.next().await, Got::Pong(vec![0xfe; 125]));
    p.expect_alive_then_close().await;
});

case!(case_2_7_unsolicited_pong_is_ignored, |p| {
    p.send(&frame(OP_PONG, b"")).await;
    p.expect_quiet().await;
    p.expect_alive_then_close().await;
});

case!(case_2_8_unsolicited_pong_with_payload_is_ignored, |p| {
    p.send(&frame(OP_PONG, b"unsolicited pong payload")).await;
    p.expect_quiet().await;
    p.expect_alive_then_close().await;
});

case!(
    case_2_9_unsolicited_pong_then_ping_gets_the_pings_pong,
    |p| {
        let mut both = frame(OP_PONG, b"unsolicited pong payload");
        both.extend(frame(OP_PING, b"ping payload"));
        p.send(&both).await;
        assert_eq!(p.next().await, Got::Pong(b"ping payload".to_vec()));
        p.expect_alive_then_close().await;
    }
);

case!(case_2_10_ten_pings_get_ten_pongs_in_order, |p| {
    let mut all = Vec::new();
    for i in 0..10u8 {
        all.extend(frame(OP_PING, format!("payload-{i}").as_bytes()));
    }
    p.send(&all).await;
    for i in 0..10u8 {
        assert_eq!(
            p.next().await,
            Got::Pong(format!("payload-{i}").into_bytes())
        );
    }
    p.expect_alive_then_close().await;
});

case!(case_2_11_ten_pings_chopped_get_ten_pongs_in_order, |p| {
    let mut all = Vec::new();
    for i in 0..10u8 {
        all.extend(frame(OP_PING, format!("payload-{i}").as_bytes()));
    }
    p.send_chopped(&all, 1, PAUSE).await;
    for i in 0..10u8 {
        assert_eq!(
            p.next().await,
            Got::Pong(format!("payload-{i}").into_bytes())
        );
    }
    p.expect_alive_then_close().await;
});

// ---- 3: reserved bits ----

case!(case_3_1_text_with_rsv1_is_a_protocol_error, |p| {
    p.send(&frame_bits(true, 1, OP_TEXT, &ping_request("x")))
        .await;
    p.expect_close(1002).await;
});

/// A valid request, then a frame with RSV bits, then a ping: the request is answered, the
/// connection closes 1002, the ping is never answered.
async fn valid_then_rsv(rsv: u8, chop: Option<usize>) {
    let server = TestServer::start().await;
    let mut p = server.peer().await;
    let mut all = frame(OP_TEXT, &echo_request(1, "first"));
    all.extend(frame_bits(true, rsv, OP_TEXT, &echo_request(2, "bad")));
    all.extend(frame(OP_PING, b""));
    match chop {
        Some(c) => p.send_chopped(&all, c, PAUSE).await,
        // One write: one TCP segment on loopback.
        None => p.send(&all).await,
    }
    let (code, before) = p.closed_with().await;
    assert_eq!(code, Some(1002), "{before:?}");
    assert_eq!(
        before.len(),
        1,
        "only the first request is answered: {before:?}"
    );
    let Got::Text(a) = &before[0] else {
        panic!("an answer: {before:?}");
    };
    assert_eq!(a["id"], 1, "{a}");
    server.stop().await;
}

#[tokio::test]
async fn case_3_2_valid_text_then_rsv2_in_one_segment_answers_then_closes() {
    valid_then_rsv(2, None).await;
}
#[tokio::test]
async fn case_3_3_valid_text_then_rsv3_in_one_segment_answers_then_closes() {
    valid_then_rsv(3, None).await;
}
#[tokio::test]
async fn case_3_4_valid_text_then_rsv4_chopped_answers_then_closes() {
    valid_then_rsv(4, Some(1)).await;
}

case!(case_3_5_binary_with_rsv5_is_a_protocol_error, |p| {
    p.send(&frame_bits(true, 5, OP_BINARY, &[0xff; 8])).await;
    p.expect_close(1002).await;
});

case!(case_3_6_ping_with_rsv6_is_a_protocol_error, |p| {
    p.send(&frame_bits(true, 6, OP_PING, b"ping")).await;
    p.expect_close(1002).await;
});

case!(case_3_7_close_with_rsv7_is_a_protocol_error, |p| {
    p.send(&frame_bits(true, 7, OP_CLOSE, &1000u16.to_be_bytes()))
        .await;
    p.expect_close(1002).await;
});

// ---- 4: opcodes ----

async fn reserved_opcode(op: u8, payload: &[u8], after_valid: bool, chop: bool) {
    let server = TestServer::start().await;
    let mut p = server.peer().await;
    let mut all = Vec::new();
    if after_valid {
        all.extend(frame(OP_TEXT, &echo_request(1, "first")));
    }
    all.extend(frame(op, payload));
    all.extend(frame(OP_PING, b""));
    if chop {
        p.send_chopped(&all, 1, PAUSE).await;
    } else {
        p.send(&all).await;
    }
    let (code, before) = p.closed_with().await;
    assert_eq!(code, Some(1002), "opcode {op}: {before:?}");
    assert_eq!(
        before.len(),
        usize::from(after_valid),
        "opcode {op}: {before:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn case_4_1_1_opcode_3_is_a_protocol_error() {
    reserved_opcode(3, b"", false, false).await;
}
#[tokio::test]
async fn case_4_1_2_opcode_4_with_payload_is_a_protocol_error() {
    reserved_opcode(4, b"reserved", false, false).await;
}
#[tokio::test]
async fn case_4_1_3_opcode_5_after_a_valid_message_answers_then_closes() {
    reserved_opcode(5, b"", true, false).await;
}
#[tokio::test]
async fn case_4_1_4_opcode_6_with_payload_after_a_valid_message_answers_then_closes() {
    reserved_opcode(6, b"reserved", true, false).await;
}
#[tokio::test]
async fn case_4_1_5_opcode_7_chopped_after_a_valid_message_answers_then_closes() {
    reserved_opcode(7, b"reserved", true, true).await;
}
#[tokio::test]
async fn case_4_2_1_opcode_11_is_a_protocol_error() {
    reserved_opcode(11, b"", false, false).await;
}
#[tokio::test]
async fn case_4_2_2_opcode_12_with_payload_is_a_protocol_error() {
    reserved_opcode(12, b"reserved", false, false).await;
}
#[tokio::test]
async fn case_4_2_3_opcode_13_after_a_valid_message_answers_then_closes() {
    reserved_opcode(13, b"", true, false).await;
}
#[tokio::test]
async fn case_4_2_4_opcode_14_with_payload_after_a_valid_message_answers_then_closes() {
    reserved_opcode(14, b"reserved", true, false).await;
}
#[tokio::test]
async fn case_4_2_5_opcode_15_chopped_after_a_valid_message_answers_then_closes() {
    reserved_opcode(15, b"reserved", true, true).await;
}

// ---- 5: fragmentation ----

case!(case_5_1_fragmented_ping_is_a_protocol_error, |p| {
    let mut all = fragment(false, OP_PING, b"frag");
    all.extend(fragment(true, OP_CONT, b"ment"));
    p.send(&all).await;
    p.expect_close(1002).await;
});

case!(case_5_2_fragmented_pong_is_a_protocol_error, |p| {
    let mut all = fragment(false, OP_PONG, b"frag");
    all.extend(fragment(true, OP_CONT, b"ment"));
    p.send(&all).await;
    p.expect_close(1002).await;
});

/// An echo request in two fragments, maybe with a ping between them.
async fn two_fragments(ping_between: bool, chop: Option<usize>, pause_between: bool) {
    let server = TestServer::start().await;
    let mut p = server.peer().await;
    let req = echo_request(1, "fragmented");
    let (a, b) = req.split_at(req.len() / 2);
    let first = fragment(false, OP_TEXT, a);
    let mut rest = Vec::new();
    if ping_between {
        rest.extend(frame(OP_PING, b"between"));
    }
    rest.extend(fragment(true, OP_CONT, b));
    match chop {
        Some(c) => {
            p.send_chopped(&first, c, PAUSE).await;
            p.send_chopped(&rest, c, PAUSE).await;
        }
        None => {
            p.send(&first).await;
            if pause_between {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            p.send(&rest).await;
        }
    }
    if ping_between {
        assert_eq!(p.next().await, Got::Pong(b"between".to_vec()));
    }
    echo_answer(&mut p, 1, "fragmented".len()).await;
    p.expect_alive_then_close().await;
    server.stop().await;
}

#[tokio::test]
async fn case_5_3_text_in_two_fragments() {
    two_fragments(false, None, false).await;
}
#[tokio::test]
async fn case_5_4_text_in_two_fragments_sent_apart() {
    two_fragments(false, None, true).await;
}
#[tokio::test]
async fn case_5_5_text_in_two_fragments_chopped() {
    two_fragments(false, Some(1), false).await;
}
#[tokio::test]
async fn case_5_6_text_fragments_with_a_ping_between() {
    two_fragments(true, None, false).await;
}
#[tokio::test]
async fn case_5_7_text_fragments_with_a_ping_between_sent_apart() {
    two_fragments(true, None, true).await;
}
#[tokio::test]
async fn case_5_8_text_fragments_with_a_ping_between_chopped() {
    two_fragments(true, Some(1), false).await;
}

async fn orphan_continuation(fin: bool, chop: bool) {
    let server = TestServer::start().await;
    let mut p = server.peer().await;
    let mut all = fragment(fin, OP_CONT, b"orphan");
    all.extend(frame(OP_TEXT, &echo_request(1, "after")));
    all.extend(frame(OP_PING, b""));
    if chop {
        p.send_chopped(&all, 1, PAUSE).await;
    } else {
        p.send(&all).await;
    }
    p.expect_close(1002).await;
    server.stop().await;
}

#[tokio::test]
async fn case_5_9_continuation_with_fin_and_no_message_is_a_protocol_error() {
    orphan_continuation(true, false).await;
}
#[tokio::test]
async fn case_5_11_continuation_with_fin_and_no_message_chopped() {
    orphan_continuation(true, true).await;
}
#[tokio::test]
async fn case_5_12_continuation_without_fin_and_no_message_is_a_protocol_error() {
    orphan_continuation(false, false).await;
}
#[tokio::test]
async fn case_5_14_continuation_without_fin_and_no_message_chopped() {
    orphan_continuation(false, true).await;
}

case!(
    case_5_15_a_second_message_of_continuations_only_answers_the_first_then_closes,
    |p| {
        let req = echo_request(1, "first");
        let (a, b) = req.split_at(10);
        let mut all = fragment(false, OP_TEXT, a);
        all.extend(fragment(true, OP_CONT, b));
        all.extend(fragment(false, OP_CONT, b"x"));
        all.extend(fragment(true, OP_CONT, b"y"));
        p.send(&all).await;
        let (code, before) = p.closed_with().await;
        assert_eq!(code, Some(1002));
        assert_eq!(before.len(), 1, "{before:?}");
    }
);

case!(
    case_5_18_a_new_text_frame_inside_a_message_is_a_protocol_error,
    |p| {
        let mut all = fragment(false, OP_TEXT, b"{\"jsonrpc\":");
        all.extend(fragment(true, OP_TEXT, b"\"2.0\"}"));
        p.send(&all).await;
        p.expect_close(1002).await;
    }
);

async fn five_fragments_with_pings(chop: bool) {
    let server = TestServer::start().await;
    let mut p = server.peer().await;
    let req = echo_request(1, "in five fragments");
    let step = req.len().div_ceil(5);
    let parts: Vec<&[u8]> = req.chunks(step).collect();
    assert_eq!(parts.len(), 5);
    for (i, part) in parts.iter().enumerate() {
        let op = if i == 0 { OP_TEXT } else { OP_CONT };
        let mut f = fragment(i == 4, op, part);
        if i == 1 || i == 3 {
            f.extend(frame(OP_PING, format!("pong-{i}").as_bytes()));
        }
        if chop {
            p.send_chopped(&f, 1, PAUSE).await;
        } else {
            p.send(&f).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(p.next().await, Got::Pong(b"pong-1".to_vec()));
    assert_eq!(p.next().await, Got::Pong(b"pong-3".to_vec()));
    echo_answer(&mut p, 1, "in five fragments".len()).await;
    p.expect_alive_then_close().await;
    server.stop().await;
}

#[tokio::test]
async fn case_5_19_five_fragments_with_pings_sent_apart() {
    five_fragments_with_pings(false).await;
}
#[tokio::test]
async fn case_5_20_five_fragments_with_pings_chopped() {
    five_fragments_with_pings(true).await;
}

// ---- 6: UTF-8 handling ----

case!(
    case_6_1_1_empty_text_then_empty_fragments_are_answered,
    |p| {
        let mut all = fragment(false, OP_TEXT, b"");
        all.extend(fragment(false, OP_CONT, b""));
        all.extend(fragment(true, OP_CONT, b""));
        p.send(&all).await;
        let a = p.answer().await;
        assert_eq!(a["error"]["code"], -32700, "{a}");
        p.expect_alive_then_close().await;
    }
);

case!(case_6_1_3_empty_fragments_around_a_request, |p| {
    let mut all = fragment(false, OP_TEXT, b"");
    all.extend(fragment(false, OP_CONT, &echo_request(1, "middle")));
    all.extend(fragment(true, OP_CONT, b""));
    p.send(&all).await;
    echo_answer(&mut p, 1, 6).await;
    p.expect_alive_then_close().await;
});

const HELLO: &str = "Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞 €";

case!(case_6_2_1_valid_utf8_in_one_frame, |p| {
    p.send(&frame(OP_TEXT, &echo_request(1, HELLO))).await;
    echo_answer(&mut p, 1, HELLO.len()).await;
    p.expect_alive_then_close().await;
});

/// A valid request in fragments of `size` bytes (cutting code points when `size` is small).
async fn valid_in_fragments(size: usize) {
    let server = TestServer::start().await;
    let mut p = server.peer().await;
    let req = echo_request(1, HELLO);
    let parts: Vec<&[u8]> = req.chunks(size).collect();
    let mut all = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let op = if i == 0 { OP_TEXT } else { OP_CONT };
        all.extend(fragment(i + 1 == parts.len(), op, part));
    }
    p.send(&all).await;
    echo_answer(&mut p, 1, HELLO.len()).await;
    p.expect_alive_then_close().await;
    server.stop().await;
}

#[tokio::test]
async fn case_6_2_2_valid_utf8_fragmented_in_sevens() {
    valid_in_fragments(7).await;
}
#[tokio::test]
async fn case_6_2_3_valid_utf8_fragmented_per_byte() {
    valid_in_fragments(1).await;
}

const KOSME_BAD: &[u8] =
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";

case!(case_6_3_1_invalid_utf8_in_one_frame_is_invalid_data, |p| {
    p.send(&frame(OP_TEXT, &echo_raw(1, KOSME_BAD))).await;
    p.expect_close(1007).await;
});

case!(
    case_6_3_2_invalid_utf8_per_byte_fragments_is_invalid_data,
    |p| {
        let req = echo_raw(1, KOSME_BAD);
        let mut all = Vec::new();
        for (i, b) in req.iter().enumerate() {
            let op = if i == 0 { OP_TEXT } else { OP_CONT };
            all.extend(fragment(i + 1 == req.len(), op, &[*b]));
        }
        p.send(&all).await;
        p.expect_close(1007).await;
    }
);

case!(case_6_4_1_invalid_utf8_fails_fast_at_its_fragment, |p| {
    // The message is never finished: the close must come from the invalid fragment alone.
    let mut first = echo_raw(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5");
    first.truncate(first.len() - 3);
    p.send(&fragment(false, OP_TEXT, &first)).await;
    p.send(&fragment(false, OP_CONT, b"\xf4\x90\x80\x80")).await;
    p.expect_close(1007).await;
});

case!(
    case_6_4_2_invalid_utf8_in_the_middle_of_a_first_fragment_fails_fast,
    |p| {
        p.send(&fragment(
            false,
            OP_TEXT,
            b"\"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80",
        ))
        .await;
        p.expect_close(1007).await;
    }
);

/// Autobahn 6.5-6.23: one connection per sequence; valid ones are answered (whole), invalid
/// ones close 1007.
#[tokio::test]
async fn case_6_5_to_6_23_utf8_sequences_one_by_one() {
    let valid: &[&[u8]] = &[
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", // 6.5 κόσμε
        b"\xc2\x80",                                     // 6.7 first 2-byte U+0080
        b"\xe0\xa0\x80",                                 // 6.7 first 3-byte U+0800
        b"\xf0\x90\x80\x80",                             // 6.7 first 4-byte U+10000
        b"\x7f",             // 6.8 last 1-byte (DEL: JSON need not escape it)
        b"\xdf\xbf",         // 6.8 last 2-byte U+07FF
        b"\xef\xbf\xbf",     // 6.8 last 3-byte U+FFFF
        b"\xf4\x8f\xbf\xbf", // 6.8 last 4-byte U+10FFFF
        b"\xed\x9f\xbf",     // 6.9 U+D7FF
        b"\xee\x80\x80",     // 6.9 U+E000
        b"\xef\xbf\xbd",     // 6.9 U+FFFD
        b"\xef\xbf\xbe",     // 6.23 noncharacter U+FFFE (valid UTF-8)
    ];
    let invalid: &[&[u8]] = &[
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", // 6.6 surrogate
        b"\xf8\x88\x80\x80\x80",                                     // 6.8 5-byte
        b"\xfc\x84\x80\x80\x80\x80",                                 // 6.8 6-byte
        b"\xf4\x90\x80\x80",                                         // 6.9 above U+10FFFF
        b"\x80",                                                     // 6.10 lone continuation
        b"\xbf",
        b"\x80\xbf\x80\xbf",
        b"\xc0\x20",     // 6.12 lonely start
        b"\xe0\x80",     // 6.13 truncated 3-byte
        b"\xf0\x80\x80", // 6.13 truncated 4-byte
        b"\xfe",         // 6.15 impossible bytes
        b"\xff",
        b"\xfe\xfe\xff\xff",
        b"\xc0\xaf", // 6.16 overlong /
        b"\xe0\x80\xaf",
        b"\xf0\x80\x80\xaf",
        b"\xc1\xbf", // 6.17 maximum overlongs
        b"\xe0\x9f\xbf",
        b"\xf0\x8f\xbf\xbf",
        b"\xc0\x80",     // 6.18 overlong NUL
        b"\xed\xa0\x80", // 6.19 single surrogates
        b"\xed\xad\xbf",
        b"\xed\xae\x80",
        b"\xed\xaf\xbf",
        b"\xed\xb0\x80",
        b"\xed\xbe\x80",
        b"\xed\xbf\xbf",
        b"\xed\xa0\x80\xed\xb0\x80", // 6.20 paired surrogates
        b"\xed\xaf\xbf\xed\xbf\xbf",
        b"\xc2", // truncated at message end
    ];
    let server = TestServer::start().await;
    for (i, seq) in valid.iter().enumerate() {
        let mut p = server.peer().await;
        p.send(&frame(OP_TEXT, &echo_raw(1, seq))).await;
        let a = p.answer().await;
        assert_eq!(a["result"]["len"], seq.len(), "valid #{i} {seq:x?}: {a}");
        p.expect_alive_then_close().await;
    }
    for (i, seq) in invalid.iter().enumerate() {
        let mut p = server.peer().await;
        p.send(&frame(OP_TEXT, &echo_raw(1, seq))).await;
        let (code, before) = p.closed_with().await;
        assert_eq!(code, Some(1007), "invalid #{i} {seq:x?}: {before:?}");
        assert!(before.is_empty(), "invalid #{i} {seq:x?}: {before:?}");
    }
    server.stop().await;
}

// ---- 7: close handling ----

case!(case_7_1_1_a_normal_close_is_echoed, |p| {
    p.send(&close(1000, b"")).await;
    p.expect_close(1000).await;
});

case!(case_7_1_2_a_second_close_gets_nothing_more, |p| {
    let mut both = close(1000, b"");
    both.extend(close(1000, b""));
    p.send(&both).await;
    assert_eq!(p.next().await, Got::Close(Some(1000), vec![]));
    assert_eq!(p.next().await, Got::Eof);
});

case!(case_7_1_3_a_ping_after_the_close_is_not_answered, |p| {
    let mut both = close(1000, b"");
    both.extend(frame(OP_PING, b"after"));
    p.send(&both).await;
    assert_eq!(p.next().await, Got::Close(Some(1000), vec![]));
    assert_eq!(p.next().await, Got::Eof);
});

case!(case_7_1_4_a_request_after_the_close_is_not_answered, |p| {
    let mut both = close(1000, b"");
    both.extend(frame(OP_TEXT, &ping_request("after")));
    p.send(&both).await;
    assert_eq!(p.next().await, Got::Close(Some(1000), vec![]));
    assert_eq!(p.next().await, Got::Eof);
});

case!(
    case_7_1_5_a_close_inside_a_fragmented_message_ends_it,
    |p| {
        let req = ping_request("never");
        let mut all = fragment(false, OP_TEXT, &req[..5]);
        all.extend(close(1000, b""));
        all.extend(fragment(true, OP_CONT, &req[5..]));
        p.send(&all).await;
        assert_eq!(p.next().await, Got::Close(Some(1000), vec![]));
        assert_eq!(p.next().await, Got::Eof);
    }
);

case!(
    case_7_1_6_a_large_request_then_close_is_answered_before_the_close,
    |p| {
        let mut all = frame(OP_TEXT, &echo_of_size(1, 256 * 1024));
        all.extend(close(1000, b""));
        all.extend(frame(OP_PING, b""));
        p.send(&all).await;
        let a = p.answer().await;
        assert_eq!(a["id"], 1, "{a}");
        assert_eq!(p.next().await, Got::Close(Some(1000), vec![]));
        assert_eq!(p.next().await, Got::Eof);
    }
);

case!(case_7_3_1_an_empty_close_is_answered_with_1000, |p| {
    p.send(&frame(OP_CLOSE, b"")).await;
    p.expect_close(1000).await;
});

case!(
    case_7_3_2_a_one_byte_close_payload_is_a_protocol_error,
    |p| {
        p.send(&frame(OP_CLOSE, b"\x03")).await;
        p.expect_close(1002).await;
    }
);

case!(case_7_3_3_close_1000_without_reason_is_echoed, |p| {
    p.send(&close(1000, b"")).await;
    p.expect_close(1000).await;
});

case!(case_7_3_4_close_1000_with_a_reason_is_echoed, |p| {
    p.send(&close(1000, b"Hello World!")).await;
    p.expect_close(1000).await;
});

case!(case_7_3_5_close_with_a_123_byte_reason_is_echoed, |p| {
    p.send(&close(1000, &[b'*'; 123])).await;
    p.expect_close(1000).await;
});

case!(
    case_7_3_6_close_with_a_124_byte_reason_is_a_protocol_error,
    |p| {
        p.send(&close(1000, &[b'*'; 124])).await;
        p.expect_close(1002).await;
    }
);

case!(
    case_7_5_1_close_with_an_invalid_utf8_reason_is_invalid_data,
    |p| {
        p.send(&close(1000, KOSME_BAD)).await;
        p.expect_close(1007).await;
    }
);

#[tokio::test]
async fn case_7_7_valid_close_codes_are_echoed() {
    let server = TestServer::start().await;
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        let mut p = server.peer().await;
        p.send(&close(code, b"")).await;
        let (got, before) = p.closed_with().await;
        assert_eq!(got, Some(code), "close {code}: {before:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn case_7_9_and_7_13_invalid_close_codes_are_protocol_errors() {
    let server = TestServer::start().await;
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let mut p = server.peer().await;
        p.send(&close(code, b"")).await;
        let (got, before) = p.closed_with().await;
        assert_eq!(got, Some(1002), "close {code}: {before:?}");
    }
    server.stop().await;
}

// ---- 9: limits ----

#[tokio::test]
async fn case_9_1_text_messages_up_to_16_mib_are_answered() {
    let server = TestServer::start().await;
    for size in [64 * 1024, 256 * 1024, 1 << 20, 4 << 20, 8 << 20, 16 << 20] {
        let mut p = server.peer().await;
        p.send(&frame(OP_TEXT, &echo_of_size(1, size))).await;
        let a = p.answer().await;
        assert_eq!(
            a["result"]["len"].as_u64().unwrap() as usize + echo_request(1, "").len(),
            size,
            "{size}: {a}"
        );
        p.expect_alive_then_close().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn case_9_3_a_4_mib_text_in_fragments_of_64_bytes_to_4_mib_is_answered() {
    let server = TestServer::start().await;
    let size = 4 << 20;
    let req = echo_of_size(1, size);
    for frag in [
        64,
        256,
        1024,
        4096,
        16 * 1024,
        64 * 1024,
        256 * 1024,
        1 << 20,
        4 << 20,
    ] {
        let mut p = server.peer().await;
        let parts: Vec<&[u8]> = req.chunks(frag).collect();
        let mut all = Vec::with_capacity(size + parts.len() * 14);
        for (i, part) in parts.iter().enumerate() {
            let op = if i == 0 { OP_TEXT } else { OP_CONT };
            all.extend(fragment(i + 1 == parts.len(), op, part));
        }
        p.send(&all).await;
        let a = p.answer().await;
        assert_eq!(a["id"], 1, "fragments of {frag}: {a}");
        assert!(a.get("result").is_some(), "fragments of {frag}: {a}");
        p.expect_alive_then_close().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn case_9_5_a_1_mib_text_sent_in_chops_of_64_to_4096_is_answered() {
    let server = TestServer::start().await;
    let f = frame(OP_TEXT, &echo_of_size(1, 1 << 20));
    for chop in [64, 128, 256, 512, 1024, 2048, 4096] {
        let mut p = server.peer().await;
        p.send_chopped(&f, chop, NO_PAUSE).await;
        let a = p.answer().await;
        assert_eq!(a["id"], 1, "chops of {chop}: {a}");
        p.expect_alive_then_close().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn case_9_7_a_thousand_pipelined_requests_are_each_answered_once() {
    let server = TestServer::start().await;
    for size in [0usize, 16, 64, 256, 1024, 4096] {
        let mut p = server.peer().await;
        let text = "x".repeat(size);
        let mut all = Vec::new();
        for id in 0..1000u64 {
            all.extend(frame(OP_TEXT, &echo_request(id, &text)));
        }
        p.send(&all).await;
        let mut seen = vec![false; 1000];
        for _ in 0..1000 {
            let a = p.answer().await;
            let id = a["id"].as_u64().expect("an id") as usize;
            assert_eq!(a["result"]["len"], size, "{a}");
            assert!(!seen[id], "answered twice: {id}");
            seen[id] = true;
        }
        p.expect_alive_then_close().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn case_9_9_a_message_over_the_limit_is_refused_and_the_connection_survives() {
    let server = TestServer::with(
        cs_jsonrpc::ServerOptions {
            max_message_bytes: 64 * 1024,
            ..Default::default()
        },
        true,
    )
    .await;
    let mut p = server.peer().await;
    // Over the limit in one frame, then over it in fragments: neither is held.
    p.send(&frame(OP_TEXT, &echo_of_size(1, 64 * 1024 + 1)))
        .await;
    let a: Value = p.answer().await;
    assert_eq!(a["error"]["code"], -32007, "{a}");
    let big = echo_of_size(2, 200 * 1024);
    let parts: Vec<&[u8]> = big.chunks(50 * 1024).collect();
    for (i, part) in parts.iter().enumerate() {
        let op = if i == 0 { OP_TEXT } else { OP_CONT };
        p.send(&fragment(i + 1 == parts.len(), op, part)).await;
    }
    let a: Value = p.answer().await;
    assert_eq!(a["error"]["code"], -32007, "{a}");
    p.send(&frame(OP_TEXT, &echo_of_size(3, 64 * 1024))).await;
    echo_answer(&mut p, 3, 64 * 1024 - echo_request(3, "").len()).await;
    p.expect_alive_then_close().await;
    server.stop().await;
}
