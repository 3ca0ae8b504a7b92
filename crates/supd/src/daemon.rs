//! `supd run`: wiring the sources, the owner and the log plane together, then the event loop.
//!
//! Start-up order matters: PID-1/subreaper duties and signal handlers before any child
//! exists, the control socket before anything is started (so a second supd refuses early),
//! the console before the first message, the keeper (which stops the programs if supd is
//! killed) before the first program. Tear-down runs the other way: the owner reports
//! the exit code once no child is left, the socket file is removed, the pipes are drained to
//! their last byte, the streams (`supctl logs -f`, `supctl events`) get their last lines and
//! an `End`, the console is flushed.

use std::io::IsTerminal;
use std::rc::Rc;
use std::time::Duration;

use supd_config::Config;
use tokio::sync::mpsc;

use crate::control;
use crate::keeper::Keeper;
use crate::launch::Launcher;
use crate::logplane::output::Output;
use crate::logplane::{LogPlane, SUPD_COLOUR, Style, prefix};
use crate::names::Names;
use crate::owner::Owner;

/// Quiet time after a control request before supd gives back the memory it touched.
const SHED_AFTER_QUIET: Duration = Duration::from_secs(2);

/// After the last process is gone, how long output still in flight may take to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the streams may take to send their last lines and `End` at exit (a follower
/// that reads normally needs milliseconds; a stuck one is not waited for longer).
const STREAMS_END_TIMEOUT: Duration = Duration::from_secs(2);

/// Why supd could not start; printed as `supd: <message>`.
pub struct StartError {
    pub message: String,
    /// 2 when the user can fix it (socket in use, bad path), 1 for internal failures.
    pub code: i32,
}

impl StartError {
    fn user(message: String) -> Self {
        StartError {
            message,
            code: crate::exit::USAGE,
        }
    }

    fn internal(message: String) -> Self {
        StartError {
            message,
            code: crate::exit::INTERNAL,
        }
    }
}

/// Runs supd until it is told to exit; returns the exit code.
pub fn run(config: Config) -> Result<i32, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::internal(format!("cannot start the event loop: {e}")))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, run_async(config))
}

async fn run_async(config: Config) -> Result<i32, StartError> {
    supd_sys::process::cloexec_inherited_fds();
    let pid1 = std::process::id() == 1;
    if !pid1 {
        supd_sys::process::become_subreaper()
            .map_err(|e| StartError::internal(format!("cannot become a child subreaper: {e}")))?;
    }
    let open_files = supd_sys::limits::raise_open_files_limit();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    crate::signals::install(&events_tx)
        .map_err(|e| StartError::internal(format!("cannot install signal handlers: {e}")))?;
    let socket = control::bind(&config.supd).map_err(|e| StartError::user(e.0))?;
    let http_listeners = match &config.supd.http {
        Some(spec) => Some(Rc::new(
            crate::http::bind(spec).map_err(|e| StartError::user(e.0))?,
        )),
        None => None,
    };
    // As root, before any program drops its privileges: a `user` program may serve port 80.
    let sockets =
        crate::sockets::Sockets::bind(&config.programs).map_err(|e| StartError::user(e.0))?;

    let (output, output_thread) = Output::start();
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let style = Style {
        names: config.programs.iter().map(|p| p.name.clone()).collect(),
        colour_stdout: !no_colour && std::io::stdout().is_terminal(),
        colour_stderr: !no_colour && std::io::stderr().is_terminal(),
        format: crate::logplane::format::ConsoleFormat {
            kind: config.supd.log_format,
            timestamps: config.supd.log_timestamps,
        },
    };
    let supd_prefix = prefix(
        "supd",
        style.width(),
        style.colour_stderr.then_some(SUPD_COLOUR),
    );
    crate::logging::install(output.clone(), style.format, supd_prefix);
    match open_files {
        Ok(limit) => tracing::debug!(
            "open files limit raised from {} to {} (programs get {})",
            limit.before,
            limit.after,
            limit.before
        ),
        Err(e) => tracing::debug!(
            "cannot raise the open files limit: {}",
            supd_sys::describe(&e)
        ),
    }
    tracing::info!(
        "supd {} starting {} program{} from {} (pid {}{}, control socket {})",
        env!("CARGO_PKG_VERSION"),
        config.programs.len(),
        if config.programs.len() == 1 { "" } else { "s" },
        config.path.display(),
        std::process::id(),
        if pid1 { ", PID 1" } else { "" },
        config.supd.socket.display(),
    );
    if let Some(http) = &config.supd.http {
        let addresses: Vec<String> = http.listen.iter().map(|l| l.address.to_string()).collect();
        tracing::info!(
            "HTTP interface (supervisord's XML-RPC) on {}",
            addresses.join(", ")
        );
    }

    for p in config.programs.iter().filter(|p| !p.sockets.is_empty()) {
        let urls: Vec<String> = p.sockets.iter().map(|s| s.address.url()).collect();
        tracing::info!("{}: holding {}", p.name, urls.join(", "));
    }

    let plane = LogPlane::new(output.clone(), &style);
    let names = Rc::new(Names::new(style.names.clone(), config.groups.clone()));
    let listener = socket.listener.clone();
    let bulletin = Rc::new(crate::bulletin::Bulletin::default());
    let streams = control::Streams::new();
    let served = Rc::new(control::Served {
        events: events_tx.clone(),
        plane: plane.clone(),
        names: names.clone(),
        bulletin: bulletin.clone(),
        streams: streams.clone(),
        usage: crate::usage::Sampler::default(),
    });
    let server = tokio::task::spawn_local(control::serve(
        listener,
        socket.access.clone(),
        served.clone(),
    ));
    let http_server = http_listeners
        .clone()
        .map(|l| tokio::task::spawn_local(crate::http::serve(l, served.clone())));
    drop(served);

    let notify = match crate::notify::open(events_tx.clone()) {
        Ok(socket) => Some(socket.env_value),
        Err(e) => {
            tracing::warn!(
                "cannot open the sd_notify socket ({e}); programs with ready = \"notify\" will never be ready"
            );
            None
        }
    };
    // Before any program starts: from the first spawn on, supd's death stops them all.
    let keeper = if pid1 {
        Keeper::none(events_tx.clone())
    } else {
        Keeper::start(events_tx.clone())
    };
    let mut owner = Owner::new(
        &config,
        keeper,
        Launcher::new(
            plane.clone(),
            notify,
            crate::listeners::server_env(&config),
            sockets,
        ),
        names,
        plane.clone(),
        bulletin,
        events_tx.clone(),
    );
    let watched: Vec<_> = config.programs.iter().enumerate().collect();
    // In place before anything starts; the owner keeps them in step with reloads.
    match crate::watch::start(&watched, events_tx.clone()) {
        Ok(watchers) => owner.set_watchers(watchers),
        Err(message) => {
            server.abort();
            drop(socket);
            drop(http_listeners);
            output_thread.finish(output);
            return Err(StartError::user(message));
        }
    }
    owner.boot();
    // Everything start-up needed is done: give back its memory (an idle supd stays small).
    supd_sys::memory::shed_startup_pages();
    // After a burst of control requests, shed again once things are quiet. This is a one-off
    // timer armed by work, never a periodic one: an idle supd does not wake up.
    let mut shed_at: Option<std::time::Instant> = None;
    let code = loop {
        if let Some(code) = owner.exit_code() {
            break code;
        }
        let wake = owner.next_wakeup();
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    if matches!(event, crate::event::Event::Control { .. }) {
                        shed_at = Some(std::time::Instant::now() + SHED_AFTER_QUIET);
                    }
                    owner.on_event(event);
                }
                None => break 1,
            },
            _ = sleep_until(wake) => owner.on_timers(),
            _ = sleep_until(shed_at) => {
                shed_at = None;
                supd_sys::memory::shed_startup_pages();
            }
        }
    };

    server.abort();
    drop(socket);
    if let Some(task) = http_server {
        task.abort();
    }
    drop(http_listeners);
    // Let connection tasks that were just handed an answer (the `shutdown` reply) write it.
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, plane.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            "some program output was still unread {}s after the last process ended",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    // Every line and state change is out of the pipes now: followers get them, then End.
    if !streams.end(STREAMS_END_TIMEOUT).await {
        tracing::info!(
            "a follower had not taken the end of its stream within {}s; exiting without it",
            STREAMS_END_TIMEOUT.as_secs()
        );
    }
    tracing::info!("exiting with code {code}");
    drop(plane);
    drop(owner);
    output_thread.finish(output);
    Ok(code)
}

async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
