//! The harness speaking supd's control protocol itself (NDJSON over the Unix socket, see
//! `supd-proto`): one [`Conn`] is one connection, hello first. Used where a `supctl` process
//! per request would be the bottleneck or cannot misbehave on purpose (the chaos driver,
//! the hostile clients).
//!
//! Every failure is a sentence; supd closing the connection is an ordinary outcome here.

use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use supd_proto::{
    ClientMessage, Hello, LineReader, PROTOCOL_VERSION, ProgramStatus, Reply, Request,
    ServerMessage, encode,
};

use crate::Res;

/// Our hello line.
pub fn hello_line() -> Vec<u8> {
    encode(&ClientMessage::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        software: "supd-bench".into(),
        pid: None,
    }))
}

/// One request as a line.
pub fn request_line(id: u64, request: Request) -> Vec<u8> {
    encode(&ClientMessage::Request { id, request })
}

/// One connection to supd, hellos exchanged. supd answers one request per connection (then
/// hangs up), as `supctl` uses it.
pub struct Conn {
    pub write: UnixStream,
    read: LineReader<BufReader<UnixStream>>,
    next_id: u64,
}

impl Conn {
    /// Connects and exchanges the hellos; every read waits at most `timeout`.
    pub fn open(socket: &Path, timeout: Duration) -> Res<Conn> {
        let stream = UnixStream::connect(socket)
            .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| format!("cannot set socket timeouts: {e}"))?;
        let read = stream
            .try_clone()
            .map_err(|e| format!("cannot clone the socket: {e}"))?;
        let mut conn = Conn {
            write: stream,
            read: LineReader::new(BufReader::new(read)),
            next_id: 1,
        };
        conn.write
            .write_all(&hello_line())
            .map_err(|e| format!("cannot send the hello: {e}"))?;
        match conn.next()? {
            ServerMessage::Hello(_) => Ok(conn),
            other => Err(format!("supd answered the hello with {other:?}")),
        }
    }

    /// The next message from supd.
    pub fn next(&mut self) -> Res<ServerMessage> {
        self.read
            .read()
            .map_err(|e| format!("reading from supd: {e}"))
    }

    /// Sends `request` and returns its one answer.
    pub fn ask(&mut self, request: Request) -> Res<ServerMessage> {
        let id = self.next_id;
        self.next_id += 1;
        self.write
            .write_all(&request_line(id, request))
            .map_err(|e| format!("sending a request: {e}"))?;
        self.next()
    }

    /// Every program's status.
    pub fn status(&mut self) -> Res<Vec<ProgramStatus>> {
        match self.ask(Request::Status {
            names: Vec::new(),
            resources: false,
        })? {
            ServerMessage::Reply {
                reply: Reply::Status { programs },
                ..
            } => Ok(programs),
            other => Err(format!("status answered with {other:?}")),
        }
    }
}

/// One request on a new connection; the connection stays open for the rest of a stream.
pub fn ask(socket: &Path, request: Request) -> Res<(Conn, ServerMessage)> {
    let mut conn = Conn::open(socket, Duration::from_secs(10))?;
    let answer = conn.ask(request)?;
    Ok((conn, answer))
}

/// Every program's status, on a new connection.
pub fn status(socket: &Path) -> Res<Vec<ProgramStatus>> {
    Conn::open(socket, Duration::from_secs(10))?.status()
}
