//! RFC 6455 framing, server side, with no buffer of its own: the caller owns the bytes read
//! from the socket and hands them in; an idle connection therefore holds no buffer at all.
//!
//! Client frames must be masked; no extension is negotiated, so RSV bits must be clear.
//! A message over the size limit is skipped as it streams in (never buffered) and reported as
//! [`Event::TooBig`], so the connection survives it. Text is checked for UTF-8 as each
//! fragment arrives (a message invalid from its first fragment closes the connection then,
//! not at its end); binary messages are not part of the API and close the connection (1003);
//! a close frame must carry a code a peer may send and a UTF-8 reason (RFC 6455 §7.4).
//! The cases, section by section, are in docs/websocket-conformance.md.

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// Close codes (RFC 6455 §7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_GOING_AWAY: u16 = 1001;
pub const CLOSE_PROTOCOL: u16 = 1002;
/// Unsupported data: a binary message (the API is JSON text).
pub const CLOSE_UNSUPPORTED: u16 = 1003;
pub const CLOSE_INVALID_DATA: u16 = 1007;
/// Policy violation: used for a client that does not read its events.
pub const CLOSE_POLICY: u16 = 1008;

#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete text or binary message, unmasked.
    Message(Vec<u8>),
    /// A message over the limit was received and discarded.
    TooBig,
    Ping(Vec<u8>),
    Pong,
    /// The peer's close frame: its status code, if it gave one.
    Close(Option<u16>),
}

/// The peer broke the protocol: close with this code.
#[derive(Debug, PartialEq, Eq)]
pub struct ProtocolError(pub u16);

#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    /// Fragments of the open message.
    msg: Vec<u8>,
    in_message: bool,
    text: bool,
    /// The open message went over the limit: its frames are skipped.
    oversized: bool,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    /// The frame being skipped ends its message.
    skip_fin: bool,
    /// How much of `msg` is known to be whole, valid UTF-8 (text messages).
    utf8_valid: usize,
}

/// Whether a peer may send this close code (RFC 6455 §7.4.1, §7.4.2 and the IANA registry):
/// 1000-1003, 1007-1014 and 3000-4999. 1004 is reserved; 1005, 1006 and 1015 must never be
/// sent in a frame; the rest of 0-2999 is unassigned and 5000 and above do not exist.
pub fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

impl Decoder {
    pub fn new(max_message: usize) -> Decoder {
        Decoder {
            max_message,
            msg: Vec::new(),
            in_message: false,
            text: false,
            oversized: false,
            skip: 0,
            skip_fin: false,
            utf8_valid: 0,
        }
    }

    /// Decodes from `input`: how many bytes were used, and the event they completed, if any.
    /// `(0, None)` means more bytes are needed.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Option<Event>), ProtocolError> {
        if self.skip > 0 {
            let n = (self.skip.min(input.len() as u64)) as usize;
            self.skip -= n as u64;
            if self.skip == 0 && self.skip_fin {
                self.end_message();
                return Ok((n, Some(Event::TooBig)));
            }
            return Ok((n, None));
        }
        if input.len() < 2 {
            return Ok((0, None));
        }
        let (b0, b1) = (input[0], input[1]);
        let fin = b0 & 0x80 != 0;
        let op = b0 & 0x0F;
        if b0 & 0x70 != 0 || b1 & 0x80 == 0 {
            // RSV bits without an extension, or an unmasked client frame.
            return Err(ProtocolError(CLOSE_PROTOCOL));
        }
        let (len, mut header) = match b1 & 0x7F {
            126 => {
                if input.len() < 4 {
                    return Ok((0, None));
                }
                (u16::from_be_bytes([input[2], input[3]]) as u64, 4)
            }
            127 => {
                if input.len() < 10 {
                    return Ok((0, None));
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&input[2..10]);
                let len = u64::from_be_bytes(b);
                // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
                if len >> 63 != 0 {
                    return Err(ProtocolError(CLOSE_PROTOCOL));
                }
                (len, 10)
            }
            n => (n as u64, 2),
        };
        header += 4;
        if input.len() < header {
            return Ok((0, None));
        }
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&input[header - 4..header]);

        if op & 0x8 != 0 {
            if !fin || len > 125 || !matches!(op, OP_CLOSE | OP_PING | OP_PONG) {
                return Err(ProtocolError(CLOSE_PROTOCOL));
            }
            let end = header + len as usize;
            if input.len() < end {
                return Ok((0, None));
            }
            let mut payload = input[header..end].to_vec();
            unmask(&mut payload, mask, 0);
            let event = match op {
                OP_PING => Event::Ping(payload),
                OP_PONG => Event::Pong,
                _ => match payload.len() {
                    0 => Event::Close(None),
                    1 => return Err(ProtocolError(CLOSE_PROTOCOL)),
                    _ => {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        if !valid_close_code(code) {
                            return Err(ProtocolError(CLOSE_PROTOCOL));
                        }
                        if std::str::from_utf8(&payload[2..]).is_err() {
                            return Err(ProtocolError(CLOSE_INVALID_DATA));
                        }
                        Event::Close(Some(code))
                    }
                },
            };
            return Ok((end, Some(event)));
        }

        // State changes only once the bytes they depend on are here: a partial frame is
        // decoded again from its start when more bytes arrive.
        let starts = match op {
            OP_BINARY if !self.in_message => return Err(ProtocolError(CLOSE_UNSUPPORTED)),
            OP_TEXT if !self.in_message => true,
            OP_CONTINUATION if self.in_message => false,
            _ => return Err(ProtocolError(CLOSE_PROTOCOL)),
        };
        let so_far = if starts { 0 } else { self.msg.len() as u64 };
        if (!starts && self.oversized) || so_far.saturating_add(len) > self.max_message as u64 {
            self.in_message = true;
            self.oversized = true;
            self.msg = Vec::new();
            self.skip = len;
            self.skip_fin = fin;
            if len == 0 && fin {
                self.end_message();
                return Ok((header, Some(Event::TooBig)));
            }
            return Ok((header, None));
        }
        let end = header + len as usize;
        if input.len() < end {
            return Ok((0, None));
        }
        if starts {
            self.in_message = true;
            self.text = op == OP_TEXT;
            self.oversized = false;
            self.utf8_valid = 0;
        }
        let at = self.msg.len();
        self.msg.extend_from_slice(&input[header..end]);
        unmask(&mut self.msg[at..], mask, 0);
        if self.text {
            // Fail fast: only a code point cut at the fragment's end may wait for the next.
            match std::str::from_utf8(&self.msg[self.utf8_valid..]) {
                Ok(_) => self.utf8_valid = self.msg.len(),
                Err(e) if e.error_len().is_some() || fin => {
                    return Err(ProtocolError(CLOSE_INVALID_DATA));
                }
                Err(e) => self.utf8_valid += e.valid_up_to(),
            }
        }
        if !fin {
            return Ok((end, None));
        }
        let msg = std::mem::take(&mut self.msg);
        self.end_message();
        Ok((end, Some(Event::Message(msg))))
    }

    /// How many more bytes the frame being decoded needs at least (a read-size hint).
    pub fn wants(&self, input: &[u8]) -> usize {
        if self.skip > 0 || input.len() < 2 {
            return 0;
        }
        let len = match input[1] & 0x7F {
            126 if input.len() >= 4 => u16::from_be_bytes([input[2], input[3]]) as usize + 8,
            127 if input.len() >= 10 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&input[2..10]);
                usize::try_from(u64::from_be_bytes(b))
                    .unwrap_or(usize::MAX)
                    .saturating_add(14)
            }
            126 | 127 => 0,
            n => n as usize + 6,
        };
        len.min(self.max_message + 14).saturating_sub(input.len())
    }

    fn end_message(&mut self) {
        self.in_message = false;
        self.oversized = false;
        self.skip_fin = false;
        self.utf8_valid = 0;
        if self.msg.capacity() > 0 {
            self.msg = Vec::new();
        }
    }
}

fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[(i + offset) & 3];
    }
}

/// One unmasked server frame: header and payload, ready to write.
pub fn frame(op: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    frame_into(&mut out, op, payload);
    out
}

/// Appends one unmasked server frame to `out`.
pub fn frame_into(out: &mut Vec<u8>, op: u8, payload: &[u8]) {
    out.reserve(payload.len() + 10);
    out.push(0x80 | op);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= u16::MAX as usize => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// Where the server frame that starts at `at` in `frames` (our own frames, back to back)
/// ends.
pub fn frame_end(frames: &[u8], at: usize) -> usize {
    let (len, header) = match frames[at + 1] & 0x7F {
        126 => (
            u16::from_be_bytes([frames[at + 2], frames[at + 3]]) as usize,
            4,
        ),
        127 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&frames[at + 2..at + 10]);
            (u64::from_be_bytes(b) as usize, 10)
        }
        n => (n as usize, 2),
    };
    at + header + len
}

/// A close frame with a reason (cut to the 123 bytes a control frame leaves for it).
pub fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..cut]);
    frame(OP_CLOSE, &payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_frame(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x12, 0x34, 0x56, 0x78];
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

    /// Feeds `input` in chunks of `step` bytes, the way reads arrive, collecting events.
    fn events(dec: &mut Decoder, input: &[u8], step: usize) -> Result<Vec<Event>, ProtocolError> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for chunk in input.chunks(step) {
            buf.extend_from_slice(chunk);
            let mut at = 0;
            loop {
                let (used, ev) = dec.decode(&buf[at..])?;
                at += used;
                match ev {
                    Some(e) => out.push(e),
                    None if used == 0 => break,
                    None => {}
                }
            }
            buf.drain(..at);
        }
        Ok(out)
    }

    #[test]
    fn masked_text_frames_decode_whatever_the_read_sizes() {
        let mut input = client_frame(true, OP_TEXT, b"{\"a\":1}");
        input.extend(client_frame(true, OP_TEXT, &[b'x'; 300]));
        input.extend(client_frame(true, OP_PING, b"hi"));
        for step in [1, 3, 7, 1000] {
            let got = events(&mut Decoder::new(1024), &input, step).unwrap();
            assert_eq!(
                got,
                vec![
                    Event::Message(b"{\"a\":1}".to_vec()),
                    Event::Message(vec![b'x'; 300]),
                    Event::Ping(b"hi".to_vec())
                ],
                "step {step}"
            );
        }
    }

    #[test]
    fn fragments_join_and_control_frames_may_interleave() {
        let mut input = client_frame(false, OP_TEXT, b"ab");
        input.extend(client_frame(true, OP_PONG, b""));
        input.extend(client_frame(true, OP_CONTINUATION, b"cd"));
        let got = events(&mut Decoder::new(1024), &input, 2).unwrap();
        assert_eq!(got, vec![Event::Pong, Event::Message(b"abcd".to_vec())]);
    }

    #[test]
    fn oversized_messages_are_skipped_and_the_next_one_decodes() {
        let mut input = client_frame(false, OP_TEXT, &[b'a'; 600]);
        input.extend(client_frame(true, OP_CONTINUATION, &[b'b'; 70_000]));
        input.extend(client_frame(true, OP_TEXT, b"ok"));
        for step in [5, 4096] {
            let got = events(&mut Decoder::new(1000), &input, step).unwrap();
            assert_eq!(
                got,
                vec![Event::TooBig, Event::Message(b"ok".to_vec())],
                "step {step}"
            );
        }
    }

    #[test]
    fn protocol_violations_close_the_connection() {
        let mut unmasked = client_frame(true, OP_TEXT, b"x");
        unmasked[1] &= 0x7F;
        assert_eq!(
            events(&mut Decoder::new(64), &unmasked, 64),
            Err(ProtocolError(CLOSE_PROTOCOL))
        );
        let orphan = client_frame(true, OP_CONTINUATION, b"x");
        assert_eq!(
            events(&mut Decoder::new(64), &orphan, 64),
            Err(ProtocolError(CLOSE_PROTOCOL))
        );
        let bad_utf8 = client_frame(true, OP_TEXT, &[0xFF, 0xFE]);
        assert_eq!(
            events(&mut Decoder::new(64), &bad_utf8, 64),
            Err(ProtocolError(CLOSE_INVALID_DATA))
        );
        let close = client_frame(true, OP_CLOSE, &1000u16.to_be_bytes());
        assert_eq!(
            events(&mut Decoder::new(64), &close, 64).unwrap(),
            vec![Event::Close(Some(1000))]
        );
    }

    #[test]
    fn close_codes_a_peer_may_not_send_are_protocol_errors() {
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 3999, 4000, 4999,
        ] {
            let close = client_frame(true, OP_CLOSE, &code.to_be_bytes());
            assert_eq!(
                events(&mut Decoder::new(64), &close, 64),
                Ok(vec![Event::Close(Some(code))]),
                "{code}"
            );
        }
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            let close = client_frame(true, OP_CLOSE, &code.to_be_bytes());
            assert_eq!(
                events(&mut Decoder::new(64), &close, 64),
                Err(ProtocolError(CLOSE_PROTOCOL)),
                "{code}"
            );
        }
        let mut bad_reason = 1000u16.to_be_bytes().to_vec();
        bad_reason.extend_from_slice(&[
            0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80,
        ]);
        assert_eq!(
            events(
                &mut Decoder::new(64),
                &client_frame(true, OP_CLOSE, &bad_reason),
                64
            ),
            Err(ProtocolError(CLOSE_INVALID_DATA))
        );
    }

    #[test]
    fn a_64_bit_length_with_the_top_bit_set_is_a_protocol_error() {
        let mut f = vec![0x81, 0x80 | 127];
        f.extend_from_slice(&(1u64 << 63 | 5).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(b"hello");
        assert_eq!(
            events(&mut Decoder::new(64), &f, 64),
            Err(ProtocolError(CLOSE_PROTOCOL))
        );
    }

    #[test]
    fn binary_messages_are_unsupported_data() {
        let f = client_frame(true, OP_BINARY, b"{}");
        assert_eq!(
            events(&mut Decoder::new(64), &f, 64),
            Err(ProtocolError(CLOSE_UNSUPPORTED))
        );
    }

    #[test]
    fn invalid_utf8_fails_at_the_fragment_that_holds_it() {
        // A first fragment already invalid: refused before the message ends.
        let f = client_frame(false, OP_TEXT, &[b'a', 0xC0, 0xAF]);
        assert_eq!(
            events(&mut Decoder::new(64), &f, 64),
            Err(ProtocolError(CLOSE_INVALID_DATA))
        );
        // A code point cut between fragments is whole once joined.
        let mut ok = client_frame(false, OP_TEXT, &[b'"', 0xE2, 0x82]);
        ok.extend(client_frame(true, OP_CONTINUATION, &[0xAC, b'"']));
        assert_eq!(
            events(&mut Decoder::new(64), &ok, 3).unwrap(),
            vec![Event::Message("\"€\"".as_bytes().to_vec())]
        );
        // ... but not when the message ends inside it.
        let cut = client_frame(true, OP_TEXT, &[b'"', 0xE2, 0x82]);
        assert_eq!(
            events(&mut Decoder::new(64), &cut, 64),
            Err(ProtocolError(CLOSE_INVALID_DATA))
        );
    }

    #[test]
    fn server_frames_use_the_shortest_length() {
        assert_eq!(frame(OP_TEXT, b"hi"), vec![0x81, 2, b'h', b'i']);
        assert_eq!(&frame(OP_TEXT, &[0; 300])[..4], &[0x81, 126, 1, 44]);
        assert_eq!(&frame(OP_TEXT, &[0; 70_000])[..2], &[0x81, 127]);
    }

    #[test]
    fn frame_ends_are_found_from_the_headers() {
        let mut frames = frame(OP_TEXT, b"hi");
        frames.extend(frame(OP_TEXT, &[0; 300]));
        frames.extend(frame(OP_TEXT, &[0; 70_000]));
        assert_eq!(frame_end(&frames, 0), 4);
        assert_eq!(frame_end(&frames, 4), 4 + 304);
        assert_eq!(frame_end(&frames, 308), frames.len());
    }

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let f = close_frame(CLOSE_POLICY, &"é".repeat(100));
        assert_eq!(&f[..4], &[0x88, 124, 0x03, 0xF0]);
        assert!(std::str::from_utf8(&f[4..]).is_ok());
    }
}
