//! supd's own messages (`web: started (pid 42)`): `tracing` events written through the
//! output writer, so they interleave with program output in order and never block the
//! owner loop. They take the console format of program output: `supd | message` lines on
//! stderr (`prefix`), `supd: message` (`raw`), or JSON objects with `"program":"supd"` on
//! stdout (`json`, where everything is one JSON stream).

use std::fmt;
use std::io;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::logplane::format::{self, ConsoleFormat};
use crate::logplane::output::{Output, Target};

/// Routes `tracing` output to the console. The level comes from `$SUPD_LOG`
/// (`error`, `warn`, `info` — the default —, `debug`, `trace`).
pub fn install(output: Output, fmt: ConsoleFormat, prefix: String) {
    let level = std::env::var("SUPD_LOG")
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let target = match fmt.kind {
        supd_config::LogFormat::Json => Target::Stdout,
        _ => Target::Stderr,
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .event_format(Lines { prefix, fmt })
        .with_writer(ConsoleWriter { output, target })
        .finish();
    // Only fails if a subscriber is already installed, which only a test could do.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct Lines {
    prefix: String,
    fmt: ConsoleFormat,
}

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = *event.metadata().level();
        let mut message = String::new();
        match level {
            Level::ERROR => message.push_str("error: "),
            Level::WARN => message.push_str("warning: "),
            _ => {}
        }
        ctx.field_format()
            .format_fields(Writer::new(&mut message), event)?;
        crate::mainlog::record(level.as_str(), &message);
        let ts = || format::timestamp(std::time::SystemTime::now());
        match self.fmt.kind {
            supd_config::LogFormat::Json => {
                let mut line = Vec::with_capacity(message.len() + 96);
                let level = level.as_str().to_ascii_lowercase();
                format::json_line(
                    &mut line,
                    &ts(),
                    "supd",
                    "stderr",
                    Some(&level),
                    message.as_bytes(),
                    true,
                );
                writeln!(writer, "{}", String::from_utf8_lossy(&line))
            }
            supd_config::LogFormat::Raw => writeln!(writer, "supd: {message}"),
            supd_config::LogFormat::Prefix if self.fmt.timestamps => {
                writeln!(writer, "{} {}{message}", ts(), self.prefix)
            }
            supd_config::LogFormat::Prefix => writeln!(writer, "{}{message}", self.prefix),
        }
    }
}

#[derive(Clone)]
struct ConsoleWriter {
    output: Output,
    target: Target,
}

impl io::Write for ConsoleWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write_now(self.target, buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for ConsoleWriter {
    type Writer = ConsoleWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
