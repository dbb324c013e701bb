//! A mutational fuzz harness over the whole input path (raw bytes → frame decoder →
//! JSON-RPC → params; `cs_jsonrpc::fuzz::feed`). Stable Rust, no cargo-fuzz: seeds are valid
//! frames carrying a request for every method; each input is a seed mutated (bit flips,
//! byte insertions/removals, length-field edits, splices) and fed in a random read size.
//! `CS_FUZZ_INPUTS` sets the count (default 20,000 for the test command; `scripts/fuzz.sh`
//! runs ≥ 10^6), `CS_FUZZ_SEED` the seed. A panic prints the input in hex: make it a test below.

use std::panic::{catch_unwind, AssertUnwindSafe};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn frame(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1, 2, 3, 4];
    let mut out = vec![(if fin { 0x80 } else { 0 }) | op];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn seeds() -> Vec<Vec<u8>> {
    let calls = [
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"authenticate","params":{"auth_token":"eyJ.x.y"}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"take_snapshot","params":{"device":"camera0","format":"png","quality":85,"filename":"a.png"}}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"start_recording","params":{"device":"camera1","duration":10,"format":"mkv"}}"#,
        r#"{"jsonrpc":"2.0","id":5,"method":"list_recordings","params":{"limit":10,"offset":0,"device":"camera0"}}"#,
        r#"{"jsonrpc":"2.0","id":6,"method":"subscribe_events","params":{"topics":["camera.*"],"filters":{"device":"camera0"}}}"#,
        r#"{"jsonrpc":"2.0","id":7,"method":"set_retention_policy","params":{"enabled":true,"max_age_days":3,"max_size_gb":1.5}}"#,
        r#"[{"jsonrpc":"2.0","id":8,"method":"get_camera_status","params":{"device":"camera9"}},{"jsonrpc":"2.0","method":"ping"}]"#,
        r#"{"jsonrpc":"2.0","id":9,"method":"delete_snapshot","params":{"filename":"../etc/passwd"}}"#,
        r#"{"jsonrpc":"2.0","id":"s","method":"cleanup_old_files","params":{"dry_run":true}}"#,
    ];
    let mut out: Vec<Vec<u8>> = calls.iter().map(|c| frame(true, 1, c.as_bytes())).collect();
    let req = calls[3].as_bytes();
    let mut fragmented = frame(false, 1, &req[..20]);
    fragmented.extend(frame(true, 9, b"ping"));
    fragmented.extend(frame(true, 0, &req[20..]));
    out.push(fragmented);
    out.push(frame(true, 8, &[0x03, 0xe8, b'o', b'k']));
    out.push(frame(true, 1, &vec![b' '; 300]));
    out
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        if v.is_empty() {
            v.push(rng.next() as u8);
        }
        let at = rng.below(v.len());
        match rng.below(7) {
            0 => v[at] ^= 1 << rng.below(8),
            1 => v[at] = rng.next() as u8,
            2 => v.insert(at, rng.next() as u8),
            3 => {
                v.remove(at);
            }
            // The length and header bytes are where decoders break.
            4 => {
                let head = rng.below(v.len().min(10));
                v[head] = rng.next() as u8;
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                v.splice(at..at, other[from..].iter().copied().take(64));
            }
            _ => v.truncate(at),
        }
    }
    v
}

#[test]
fn fuzz_the_input_path_without_a_panic() {
    let inputs: u64 = std::env::var("CS_FUZZ_INPUTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("CS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_CAFE);
    let seeds = seeds();
    let mut rng = Rng(seed | 1);
    let mut messages = 0usize;
    for _ in 0..inputs {
        let input = mutate(&mut rng, &seeds);
        let chunk = 1 + rng.below(input.len().max(1));
        let max = [64, 1024, 65536][rng.below(3)];
        match catch_unwind(AssertUnwindSafe(|| {
            cs_jsonrpc::fuzz::feed(max, &input, chunk)
        })) {
            Ok(n) => messages += n,
            Err(_) => panic!(
                "panic on input (max {max}, reads of {chunk}): {}",
                input.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
        }
    }
    println!("fuzz: {inputs} inputs, {messages} messages decoded, 0 panics (seed {seed})");
}
