//! The fuzz target: raw bytes → frame decoder → JSON-RPC parse → params, exactly the path a
//! peer's bytes take (without a socket). Used by `tests/fuzz.rs` and `scripts/fuzz.sh`.

use serde_json::Value;

use crate::rpc;
use crate::ws::{Decoder, Event};

/// Feeds `input` to a decoder in reads of `chunk` bytes, parses every message as JSON-RPC
/// and every call's params as the app would. Returns the messages decoded. Must never panic.
pub fn feed(max_message: usize, input: &[u8], chunk: usize) -> usize {
    let mut decoder = Decoder::new(max_message);
    let mut buf = Vec::new();
    let mut messages = 0;
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        let mut at = 0;
        loop {
            match decoder.decode(&buf[at..]) {
                Err(_) => return messages,
                Ok((used, event)) => {
                    at += used;
                    match event {
                        Some(Event::Message(m)) => {
                            messages += 1;
                            parse(&m);
                        }
                        Some(Event::Close(_)) => return messages,
                        Some(_) => {}
                        None if used == 0 => break,
                        None => {}
                    }
                }
            }
        }
        buf.drain(..at);
    }
    messages
}

fn parse(message: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(message) else {
        return;
    };
    let entries = match value {
        Value::Array(a) => a,
        v => vec![v],
    };
    for e in entries {
        if let Some((method, params)) = rpc::fuzz_entry(e) {
            if let Some(m) = domain::Method::parse(&method) {
                let _ = domain::Call::parse(m, params);
            }
        }
    }
}
