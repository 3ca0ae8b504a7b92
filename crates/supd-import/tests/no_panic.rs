//! `convert` never panics: every prefix of every fixture, and lines of random garbage, give
//! `Ok` or `Err`. Whatever converts is valid TOML; what converts from a fixture prefix is
//! also accepted by supd.

mod common;

use std::path::Path;

use common::{fixture, import};

const FIXTURES: &[&str] = &[
    "supervisord.dev.conf",
    "supervisord.prod.conf",
    "supervisord-celery.conf",
    "sample.conf",
];

fn is_valid_toml(text: &str) -> bool {
    toml::de::DeTable::parse(text).is_ok()
}

#[test]
fn every_prefix_of_every_fixture() {
    for name in FIXTURES {
        let text = fixture(name);
        for (end, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let prefix = &text[..end];
            if let Ok(c) = import(prefix) {
                assert!(is_valid_toml(&c.toml), "{name}[..{end}]:\n{}", c.toml);
                if let Err(problems) =
                    supd_config::parse_str(&c.toml, Path::new(common::TOML_PATH), &common::env)
                {
                    panic!(
                        "{name}[..{end}]: supd rejects:\n{problems}\n---\n{}",
                        c.toml
                    );
                }
            }
        }
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "[",
    "]",
    "[program:",
    "[program:x]",
    "[group:g]",
    "[supervisord]",
    "[include]",
    "[unix_http_server]",
    "[eventlistener:e]",
    "command",
    "command=",
    "=",
    ":",
    ";",
    " ;",
    "#",
    " #",
    "%",
    "%%",
    "%(",
    ")s",
    "%(ENV_PATH)s",
    "%(ENV_",
    "%(process_num)02d",
    "%(here)s",
    "%(program_name)s",
    "%(group_name)s",
    "%(bogus)s",
    "%(process_num)999d",
    "\"",
    "'",
    "\\",
    " ",
    "  ",
    "\t",
    "\n",
    "\n  ",
    "\r\n",
    "gosu",
    "su-exec",
    "appuser",
    "entr",
    "|",
    "find",
    "-name",
    "*.py",
    "supervisorctl",
    "restart",
    "x",
    "bash -c",
    "numprocs=",
    "numprocs_start=",
    "process_name=",
    "environment=",
    "A=\"1\"",
    ",",
    "user=",
    "directory=",
    "stdout_logfile=",
    "/dev/fd/1",
    "NONE",
    "AUTO",
    "redirect_stderr=",
    "true",
    "false",
    "unexpected",
    "99999999999999999999",
    "-1",
    "0",
    "3",
    "é",
    "\u{0}",
    "\u{7f}",
    "\u{feff}",
    "$",
    "${",
    "$$",
    "}",
    "{",
    "files=",
    "programs=",
    "chmod=0777",
    "chown=a:b",
    "stopsignal=",
    "HUP",
    "exitcodes=",
    "0,2",
    "umask=",
    "022",
];

const SECTIONS: &[&str] = &[
    "[supervisord]",
    "[unix_http_server]",
    "[inet_http_server]",
    "[supervisorctl]",
    "[include]",
    "[program:web]",
    "[program:worker]",
    "[program:w-%]",
    "[group:g]",
    "[eventlistener:e]",
    "[rpcinterface:supervisor]",
    "[fcgi-program:f]",
    "[foo]",
];

const KEYS: &[&str] = &[
    "command",
    "command",
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stderr_logfile",
    "stdout_logfile_maxbytes",
    "environment",
    "environment",
    "directory",
    "umask",
    "serverurl",
    "file",
    "chmod",
    "chown",
    "files",
    "programs",
    "nodaemon",
    "logfile",
    "bogus",
];

/// A few characters of junk from [`PIECES`].
fn junk(rng: &mut Rng, max: usize) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(max + 1) {
        out.push_str(PIECES[rng.below(PIECES.len())]);
    }
    out
}

/// Lines that look like a supervisord file: headers, known keys with junk values,
/// continuation lines, comments, and plain junk.
fn garbage(rng: &mut Rng) -> String {
    let mut out = String::new();
    if rng.below(3) > 0 {
        out.push_str(SECTIONS[rng.below(SECTIONS.len())]);
        out.push('\n');
    }
    for _ in 0..rng.below(12) {
        let line = match rng.below(10) {
            0 => SECTIONS[rng.below(SECTIONS.len())].to_string(),
            1 => format!("  {}", junk(rng, 4)),
            2 => format!("; {}", junk(rng, 3)),
            3 => junk(rng, 6),
            _ => {
                let sep = if rng.below(4) == 0 { ": " } else { "=" };
                format!("{}{sep}{}", KEYS[rng.below(KEYS.len())], junk(rng, 5))
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn random_garbage_lines() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut ok = 0;
    for _ in 0..4000 {
        let text = garbage(&mut rng);
        if let Ok(c) = import(&text) {
            ok += 1;
            assert!(is_valid_toml(&c.toml), "{text:?}:\n{}", c.toml);
        }
    }
    assert!(ok > 0, "some garbage should convert");
}

#[test]
fn fixtures_with_garbage_lines_inserted() {
    let mut rng = Rng(0x0ddb_a11c_afe5_0001);
    for name in FIXTURES {
        let lines: Vec<String> = fixture(name).lines().map(str::to_string).collect();
        for _ in 0..300 {
            let mut mutated = lines.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(mutated.len() + 1);
                let junk = garbage(&mut rng);
                mutated.insert(at, junk);
            }
            let text = mutated.join("\n");
            if let Ok(c) = import(&text) {
                assert!(is_valid_toml(&c.toml), "{text:?}:\n{}", c.toml);
            }
        }
    }
}

/// A program section with every option set to a valid value.
const TEMPLATE: &str = "[supervisord]
user=app
environment=G=\"1\"
[unix_http_server]
file=%(here)s/s.sock
chmod=0770
chown=app:ops
[group:g]
programs=web,watch
[program:web]
command=gosu app %(here)s/run --n %(process_num)02d %(ENV_G)s
process_name=%(program_name)s_%(process_num)s
numprocs=2
numprocs_start=1
priority=5
autostart=true
startsecs=3
startretries=4
autorestart=unexpected
exitcodes=0,2
stopsignal=INT
stopwaitsecs=7
stopasgroup=true
killasgroup=true
user=root
redirect_stderr=false
stdout_logfile=/var/log/%(program_name)s.log
stderr_logfile=/dev/fd/2
stdout_logfile_maxbytes=1MB
environment=A=\"x\",B=\"%(ENV_A)s\"
directory=/srv
umask=022
[program:watch]
directory=/srv
command=bash -c 'find src -name \"*.py\" | entr -n supervisorctl restart g:*'
";

#[test]
fn template_with_one_or_two_values_replaced() {
    assert!(import(TEMPLATE).is_ok(), "{:?}", import(TEMPLATE).err());
    let lines: Vec<&str> = TEMPLATE.lines().collect();
    let mut rng = Rng(0xfeed_face_cafe_beef);
    let mut ok = 0;
    for _ in 0..3000 {
        let mut mutated: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for _ in 0..1 + rng.below(2) {
            let at = rng.below(mutated.len());
            let Some((key, _)) = mutated[at].split_once('=') else {
                continue;
            };
            mutated[at] = format!("{key}={}", junk(&mut rng, 3));
        }
        let text = mutated.join("\n");
        if let Ok(c) = import(&text) {
            ok += 1;
            assert!(is_valid_toml(&c.toml), "{text:?}:\n{}", c.toml);
            // supd may refuse values only it can check (an unset ${VAR}, a bad glob), but
            // it must not be handed broken TOML or panic.
            let _ = supd_config::parse_str(&c.toml, Path::new(common::TOML_PATH), &common::env);
        }
    }
    assert!(ok > 300, "only {ok} mutations converted");
}
