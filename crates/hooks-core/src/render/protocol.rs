//! What a daemon and its render workers say to each other over the worker's stdin and stdout: frames of a
//! 4-byte little-endian length and that many bytes of JSON, one request and one reply per render.

use std::io::{self, Read, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::RenderError;

/// One render, as the daemon sends it.
#[derive(Serialize)]
pub(super) struct Request<'a> {
    pub template: &'a Map<String, Value>,
    pub context: &'a Map<String, Value>,
    pub task_id: &'a str,
    pub now: DateTime<Utc>,
}

/// One render, as the worker reads it.
#[derive(Deserialize)]
pub(super) struct OwnedRequest {
    pub template: Map<String, Value>,
    pub context: Map<String, Value>,
    pub task_id: String,
    pub now: DateTime<Utc>,
}

/// The worker's answer: the task, `None` when the template declines, or why it could not be rendered.
pub(super) type Reply = Result<Option<Map<String, Value>>, RenderError>;

/// Writes one frame.
pub(super) fn write_frame(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)?;
    out.flush()
}

/// `value` as one whole frame, length included, so that it goes out in one write: a length written on its own
/// would wake the worker once for it and once more for the rest.
pub(super) fn encode_frame(value: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut frame = vec![0u8; 4];
    serde_json::to_writer(&mut frame, value)?;
    let len = u32::try_from(frame.len() - 4).map_err(serde::ser::Error::custom)?;
    frame[..4].copy_from_slice(&len.to_le_bytes());
    Ok(frame)
}

/// Reads one frame of at most `max` bytes; `None` at a clean end of input (before a frame starts).
pub(super) fn read_frame(input: &mut impl Read, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u64::from(u32::from_le_bytes(len));
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a frame of {len} bytes, more than {max}")));
    }
    let mut bytes = Vec::new();
    input.take(len).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the frame ended early"));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_refuse_what_is_too_large() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"{\"a\":1}").unwrap();
        write_frame(&mut buf, b"").unwrap();
        let mut input = buf.as_slice();
        assert_eq!(read_frame(&mut input, 100).unwrap().unwrap(), b"{\"a\":1}");
        assert_eq!(read_frame(&mut input, 100).unwrap().unwrap(), b"");
        assert!(read_frame(&mut input, 100).unwrap().is_none());

        let mut buf = Vec::new();
        write_frame(&mut buf, &[b'x'; 10]).unwrap();
        assert_eq!(read_frame(&mut buf.as_slice(), 9).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let frame = encode_frame(&serde_json::json!({"a": 1})).unwrap();
        assert_eq!(read_frame(&mut frame.as_slice(), 100).unwrap().unwrap(), b"{\"a\":1}");
        assert_eq!(read_frame(&mut &buf[..8], 100).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}
