use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};

use std::net::{Shutdown, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use std::sync::Arc;

use crate::connection::Connection;
use crate::util::{IdleMark, ServerStats};
use crate::Limits;

use crate::common::{HTTPVersion, Method};
use crate::util::RefinedTcpStream;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // tgtrack patch: caps and deadline (see `Limits`).
    limits: Limits,

    // tgtrack patch: a handle on the socket, to half-close it when refusing a
    // request and to cut its read timeout to the request's deadline.
    control: Option<Arc<Connection>>,

    // tgtrack patch: the socket read timeout was cut below `limits.read_timeout`.
    timeout_cut: bool,

    // tgtrack patch: tells the accept thread when this connection is idle.
    mark: Option<IdleMark>,

    // tgtrack patch: counts the answers this connection produces itself.
    stats: Option<Arc<ServerStats>>,
}

/// tgtrack patch: why reading one line of the request head stopped.
enum LineError {
    /// The line exceeded its cap.
    TooLong,
    /// The peer closed, or stayed silent past the idle timeout, before the request began.
    Idle,
    /// The request began but did not arrive before its deadline.
    TimedOut,
    Io(IoError),
}

/// tgtrack patch: a `Read` that fails with `TimedOut` once the request deadline
/// has passed, and cuts the socket's read timeout to what is left of it before
/// each read, so a slow body cannot hold the connection thread past the deadline.
struct DeadlineReader<R> {
    inner: R,
    deadline: Option<Instant>,
    control: Option<Arc<Connection>>,
}

impl<R: Read> Read for DeadlineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(1) {
                return Err(IoError::new(ErrorKind::TimedOut, "request deadline passed"));
            }
            if let Some(c) = &self.control {
                let _ = c.set_read_timeout(Some(left));
            }
        }
        self.inner.read(buf)
    }
}

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    ReadIoError(IoError),
    /// tgtrack patch: answer with this status and reason, then close.
    Refused(HTTPVersion, u16, &'static str),
    /// tgtrack patch: the connection ended quietly between requests.
    Closed,
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
        limits: Limits,
        mark: Option<IdleMark>,
        stats: Option<Arc<ServerStats>>,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();
        let control = read_socket.control();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            limits,
            control,
            timeout_cut: false,
            mark,
            stats,
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// tgtrack patch: reads one line of the request head, at most `limit` bytes
    /// without its line ending (CRLF, or a bare LF as RFC 9112 allows).
    ///
    /// Searches each buffer for the line end instead of reading byte by byte.
    /// `deadline` is set when the first byte of the request arrives and checked
    /// before every read that may block; the socket read timeout bounds each read.
    fn read_line(&mut self, limit: usize, deadline: &mut Option<Instant>) -> Result<Vec<u8>, LineError> {
        let mut line = Vec::new();
        loop {
            // tgtrack patch (issue 11): the deadline is checked before every
            // buffer, not only after a partial line, and a read that may block
            // waits no longer than what is left of it; so a head sent one line
            // at a time, at any pace, ends at the deadline.
            if let Some(d) = *deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left < Duration::from_millis(1) {
                    return Err(LineError::TimedOut);
                }
                if self.next_header_source.buffered() == 0 {
                    if let Some(c) = &self.control {
                        let _ = c.set_read_timeout(Some(left));
                        self.timeout_cut = true;
                    }
                }
            }
            let buf = match self.next_header_source.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(if deadline.is_some() { LineError::TimedOut } else { LineError::Idle });
                }
                Err(e) if deadline.is_none() => {
                    // A reset or abort between requests is an ordinary end of a connection.
                    let _ = e;
                    return Err(LineError::Idle);
                }
                Err(e) => return Err(LineError::Io(e)),
            };
            if buf.is_empty() {
                return Err(if deadline.is_some() {
                    LineError::Io(IoError::new(ErrorKind::ConnectionAborted, "Unexpected EOF"))
                } else {
                    LineError::Idle
                });
            }
            if deadline.is_none() {
                *deadline = self.limits.read_timeout.map(|t| Instant::now() + t);
                if let Some(mark) = &self.mark {
                    mark.busy();
                }
            }
            let available = buf.len();
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    if line.len() + i > limit + 1 {
                        return Err(LineError::TooLong);
                    }
                    line.extend_from_slice(&buf[..i]);
                    self.next_header_source.consume(i + 1);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if line.len() > limit {
                        return Err(LineError::TooLong);
                    }
                    return Ok(line);
                }
                None => {
                    line.extend_from_slice(buf);
                    self.next_header_source.consume(available);
                    // One byte of slack: the CR of a CRLF split across reads.
                    if line.len() > limit + 1 {
                        return Err(LineError::TooLong);
                    }
                }
            }
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        // tgtrack patch: the head is read under `Limits` (line caps, header count,
        // deadline); a violation becomes `Refused` with a status and a reason.
        let mut deadline = None;
        // Between requests the socket waits the whole idle timeout again.
        if self.timeout_cut {
            if let Some(c) = &self.control {
                let _ = c.set_read_timeout(self.limits.read_timeout);
            }
            self.timeout_cut = false;
        }
        if let Some(mark) = &self.mark {
            mark.idle();
        }
        let (method, path, version, mut headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = match self.read_line(self.limits.max_request_line, &mut deadline) {
                    Ok(line) => line,
                    Err(LineError::TooLong) => {
                        return Err(ReadError::Refused(HTTPVersion(1, 1), 414, "request line too long"))
                    }
                    Err(LineError::Idle) => return Err(ReadError::Closed),
                    Err(LineError::TimedOut) => {
                        return Err(ReadError::Refused(HTTPVersion(1, 1), 408, "request not received in time"))
                    }
                    Err(LineError::Io(e)) => return Err(ReadError::ReadIoError(e)),
                };
                let line = AsciiString::from_ascii(line).map_err(|_| ReadError::WrongRequestLine)?;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // getting all headers
            let headers = {
                let mut headers: Vec<crate::Header> = Vec::new();
                let mut budget = self.limits.max_header_bytes;
                loop {
                    let line = match self.read_line(budget, &mut deadline) {
                        Ok(line) => line,
                        Err(LineError::TooLong) => {
                            return Err(ReadError::Refused(version, 431, "request headers too large"))
                        }
                        Err(LineError::Idle) => return Err(ReadError::Closed),
                        Err(LineError::TimedOut) => {
                            return Err(ReadError::Refused(version, 408, "request not received in time"))
                        }
                        Err(LineError::Io(e)) => return Err(ReadError::ReadIoError(e)),
                    };

                    if line.is_empty() {
                        break;
                    };
                    budget -= line.len();
                    if headers.len() == self.limits.max_headers {
                        return Err(ReadError::Refused(version, 431, "too many request headers"));
                    }
                    let line = AsciiString::from_ascii(line).map_err(|_| ReadError::WrongHeader(version.clone()))?;
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader(version)),
                    });
                }

                headers
            };

            (method, path, version, headers)
        };

        // tgtrack patch (issue 11): HTTP/1.1 requires exactly one Host header (RFC 9112 3.2).
        if version == HTTPVersion(1, 1) && headers.iter().filter(|h| h.field.equiv("Host")).count() != 1 {
            return Err(ReadError::Refused(version, 400, "an HTTP/1.1 request needs exactly one Host header"));
        }

        // tgtrack patch: body framing. Only a Content-Length body within the cap is
        // accepted, and it is read here in full (request.rs), so no other thread
        // ever waits on this socket.
        if headers.iter().any(|h| h.field.equiv("Transfer-Encoding")) {
            return Err(ReadError::Refused(version, 411, "chunked request bodies are not accepted; send Content-Length"));
        }
        let mut content_length: Option<usize> = None;
        for h in headers.iter().filter(|h| h.field.equiv("Content-Length")) {
            let v = h.value.as_str();
            let n = if !v.is_empty() && v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()) {
                v.parse::<u64>().ok()
            } else {
                None
            };
            match (n, content_length) {
                (None, _) => return Err(ReadError::Refused(version, 400, "invalid Content-Length")),
                (Some(n), Some(prev)) if prev as u64 != n => {
                    return Err(ReadError::Refused(version, 400, "conflicting Content-Length headers"))
                }
                (Some(n), _) if n > self.limits.max_body as u64 => {
                    return Err(ReadError::Refused(version, 413, "request body too large"))
                }
                (Some(n), _) => content_length = Some(n as usize),
            }
        }
        let expects_continue = headers
            .iter()
            .any(|h| h.field.equiv("Expect") && h.value.as_str().eq_ignore_ascii_case("100-continue"));

        // building the writer for the request
        let mut writer = self.sink.next().unwrap();

        // tgtrack patch: answer `Expect: 100-continue` here, so the body is read
        // below like any other; the request then carries no pending expectation.
        if expects_continue {
            if content_length.unwrap_or(0) > 0 {
                let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
                let _ = writer.flush();
            }
            headers.retain(|h| !h.field.equiv("Expect"));
        }

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);
        let has_body = content_length.unwrap_or(0) > 0;
        let data_source = DeadlineReader {
            inner: data_source,
            deadline,
            control: if has_body { self.control.clone() } else { None },
        };
        if has_body {
            self.timeout_cut = true;
        }
        let Ok(remote_addr) = self.remote_addr.as_ref().map(|a| *a) else {
            // tgtrack patch: the peer was gone before we could ask its address.
            return Err(ReadError::Closed);
        };

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            remote_addr,
            data_source,
            writer,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
            }
        })?;

        // return the request
        Ok(request)
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        use crate::{Response, StatusCode};

        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        loop {
            let rq = match self.read() {
                // tgtrack patch: malformed heads and timeouts get a reason and a drained close.
                Err(ReadError::WrongRequestLine) => {
                    self.refuse(HTTPVersion(1, 1), 400, "malformed request line");
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::WrongHeader(ver)) => {
                    self.refuse(ver, 400, "malformed request header");
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                // tgtrack patch: a socket read timeout is WouldBlock on Unix, TimedOut elsewhere.
                Err(ReadError::ReadIoError(ref err))
                    if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
                {
                    self.refuse(HTTPVersion(1, 1), 408, "request not received in time");
                    return None; // closing the connection
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    if let Some(stats) = &self.stats {
                        stats.count_refusal(417);
                    }
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(417));
                    response.raw_print(writer, ver, &[], true, None).ok();
                    return None; // TODO: should be recoverable, but needs handling in case of body
                }

                // tgtrack patch: a refused request gets its status and reason, then close.
                Err(ReadError::Refused(ver, code, reason)) => {
                    self.refuse(ver, code, reason);
                    return None;
                }

                Err(ReadError::Closed) => return None,

                Err(ReadError::ReadIoError(_)) => return None,

                Ok(rq) => rq,
            };

            // checking HTTP version
            if *rq.http_version() > (1, 1) {
                if let Some(stats) = &self.stats {
                    stats.count_refusal(505);
                }
                let writer = self.sink.next().unwrap();
                let response = Response::from_string(
                    "This server only supports HTTP versions 1.0 and 1.1".to_owned(),
                )
                .with_status_code(StatusCode(505));
                response
                    .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                    .ok();
                continue;
            }

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

impl ClientConnection {
    /// tgtrack patch: answers a request we will not serve, then closes politely.
    ///
    /// Closing a socket that still has unread input makes the kernel send a reset,
    /// which can destroy the answer before the client reads it. So: send the answer,
    /// half-close, and discard what the client still sends (bounded in bytes and time).
    fn refuse(&mut self, version: HTTPVersion, code: u16, reason: &'static str) {
        use crate::{Response, StatusCode};
        if let Some(stats) = &self.stats {
            stats.count_refusal(code);
        }
        let mut writer = self.sink.next().unwrap();
        let response = Response::from_string(format!("{reason}\n")).with_status_code(StatusCode(code));
        let _ = response.raw_print(&mut writer, version, &[], false, None);
        let _ = writer.flush();
        drop(writer);
        if let Some(control) = &self.control {
            let _ = control.shutdown(Shutdown::Write);
            let _ = control.set_read_timeout(Some(Duration::from_millis(500)));
            let mut drained = 0usize;
            let mut buf = [0u8; 4096];
            let until = Instant::now() + Duration::from_secs(1);
            while drained < 256 * 1024 && Instant::now() < until {
                match self.next_header_source.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        }
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
