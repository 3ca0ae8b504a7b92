//! Finding supd's socket and holding one conversation with it (blocking I/O: one request per
//! process, nothing to overlap).

use std::io::{self, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use supd_proto::{
    ClientMessage, FrameError, Hello, LineReader, PROTOCOL_VERSION, Reply, Request, ServerMessage,
    encode,
};

/// Why supctl gives up: the exit code and one line for the user.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    fn unreachable(socket: &Path, why: String) -> Self {
        Failure {
            code: crate::exit::UNREACHABLE,
            message: format!("cannot reach supd at {}: {why}", socket.display()),
        }
    }
}

/// `--socket`, else `$SUPD_SOCKET`, else the `socket` key of `--config`/`$SUPD_CONFIG`, else
/// the default.
pub fn socket_path(socket: Option<PathBuf>, config: Option<PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(s) = socket.or_else(|| std::env::var_os("SUPD_SOCKET").map(PathBuf::from)) {
        return Ok(s);
    }
    let Some(config) = config.or_else(|| std::env::var_os("SUPD_CONFIG").map(PathBuf::from)) else {
        return Ok(PathBuf::from(supd_config::DEFAULT_SOCKET));
    };
    let unusable = |why: String| Failure {
        code: crate::exit::USAGE,
        message: format!("cannot find the control socket in the config: {why}"),
    };
    if supd_import::is_supervisord(&config) {
        // supd runs supervisord files converted; find the socket the same way.
        let env = |name: &str| std::env::var(name).ok();
        let converted =
            supd_import::convert_file(&config, &env).map_err(|e| unusable(e.to_string()))?;
        return supd_config::socket_path_in(&converted.toml, &config)
            .map_err(|d| unusable(d.to_string()));
    }
    supd_config::socket_path(&config).map_err(|d| unusable(d.to_string()))
}

pub struct Client {
    socket: PathBuf,
    write: UnixStream,
    read: LineReader<BufReader<UnixStream>>,
    /// Our hello, held back so it leaves in the same write as the request; supd's hello is
    /// checked when the first answer is read. One round trip per command instead of two.
    hello: Option<Vec<u8>>,
    /// supd's hello, once the first answer has been read.
    server: Option<Hello>,
}

impl Client {
    /// Connects; the hellos are exchanged with the first request.
    pub fn connect(socket: &Path) -> Result<Client, Failure> {
        let stream = UnixStream::connect(socket).map_err(|e| {
            let why = match e.kind() {
                io::ErrorKind::NotFound => {
                    "no such socket (is supd running? set --socket, $SUPD_SOCKET or --config)".into()
                }
                io::ErrorKind::ConnectionRefused => {
                    "connection refused (supd is not running; the socket file is left over)".into()
                }
                io::ErrorKind::PermissionDenied => {
                    "permission denied (run as the socket's owner, or widen [supd] socket_mode / socket_group)".into()
                }
                _ => supd_sys::describe(&e),
            };
            Failure::unreachable(socket, why)
        })?;
        let read = stream
            .try_clone()
            .map_err(|e| Failure::unreachable(socket, supd_sys::describe(&e)))?;
        let hello = encode(&ClientMessage::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            software: format!("supctl {}", env!("CARGO_PKG_VERSION")),
            pid: None,
        }));
        Ok(Client {
            socket: socket.to_path_buf(),
            write: stream,
            read: LineReader::new(BufReader::new(read)),
            hello: Some(hello),
            server: None,
        })
    }

    pub fn send(&mut self, request: Request) -> Result<(), Failure> {
        let mut bytes = self.hello.take().unwrap_or_default();
        bytes.extend_from_slice(&encode(&ClientMessage::Request { id: 1, request }));
        self.write
            .write_all(&bytes)
            .map_err(|e| Failure::unreachable(&self.socket, supd_sys::describe(&e)))
    }

    /// Sends `request` and returns the one answer.
    pub fn request(&mut self, request: Request) -> Result<ServerMessage, Failure> {
        self.send(request)?;
        self.next()
    }

    /// The next message after supd's hello (which is checked on the first call).
    pub fn next(&mut self) -> Result<ServerMessage, Failure> {
        self.next_or("supd closed the connection without answering (it may be exiting)")
    }

    /// The next message of a stream (`logs`, `events`), which supd ends with `End` or an
    /// error; a stream that just stops says so.
    pub fn next_in_stream(&mut self) -> Result<ServerMessage, Failure> {
        self.next_or(
            "supd ended the stream without a word (it was killed, or it cut this follower off \
             and the reason could not be delivered in time)",
        )
    }

    /// Gives up on an answer that takes longer than `limit` (a live view must not freeze on
    /// a stuck supd).
    pub fn answer_within(&self, limit: std::time::Duration) -> Result<(), Failure> {
        self.write
            .set_read_timeout(Some(limit))
            .map_err(|e| Failure::unreachable(&self.socket, supd_sys::describe(&e)))
    }

    /// supd's hello: its version and pid (known once an answer has been read).
    pub fn server(&self) -> Option<&Hello> {
        self.server.as_ref()
    }

    /// The next message; `closed` says what it means when supd hangs up instead.
    fn next_or(&mut self, closed: &str) -> Result<ServerMessage, Failure> {
        if self.server.is_none() {
            match self.read_message(closed)? {
                ServerMessage::Hello(hello) => self.server = Some(hello),
                // A refusal (protocol version, say) comes instead of the hello.
                ServerMessage::Error { error, .. } => {
                    return Err(Failure {
                        code: crate::exit::UNREACHABLE,
                        message: error.message,
                    });
                }
                other => {
                    return Err(Failure::unreachable(
                        &self.socket,
                        format!("unexpected hello: {other:?}"),
                    ));
                }
            }
        }
        self.read_message(closed)
    }

    fn read_message(&mut self, closed: &str) -> Result<ServerMessage, Failure> {
        self.read.read().map_err(|e| match e {
            FrameError::Closed => Failure {
                code: crate::exit::FAILED,
                message: closed.into(),
            },
            FrameError::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Failure::unreachable(&self.socket, "no answer in time (supd may be stuck)".into())
            }
            other => Failure::unreachable(&self.socket, other.to_string()),
        })
    }

    /// Blocks until supd closes the connection.
    pub fn wait_closed(self) {
        let mut stream = self.read.into_inner();
        let mut sink = [0u8; 256];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    }
}

/// The names of the programs `names` selects (all when empty), asking supd.
pub fn program_names(socket: &Path, names: &[String]) -> Result<Vec<String>, Failure> {
    let request = Request::Status {
        names: names.to_vec(),
        resources: false,
    };
    match Client::connect(socket)?.request(request)? {
        ServerMessage::Reply {
            reply: Reply::Status { programs },
            ..
        } => Ok(programs.into_iter().map(|p| p.name).collect()),
        ServerMessage::Error { error, .. } => Err(Failure {
            code: crate::exit::USAGE,
            message: error.message,
        }),
        other => Err(Failure {
            code: crate::exit::FAILED,
            message: format!("unexpected answer from supd: {other:?}"),
        }),
    }
}
