//! A moto server on a free loopback port, installed on first use into target/tmp/venv.
//! No moto, no test: a failure to install or start it panics with the reason.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub port: u16,
    _child: Child,
}

impl Moto {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts a server. With `env`, e.g. `MOTO_ACCOUNT_ID`.
    pub fn start(env: &[(&str, &str)]) -> Moto {
        let python = venv_python();
        let port = free_port();
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_launcher.py");
        let log = File::create(tmp_dir().join(format!("moto-{port}.log"))).expect("moto log file");
        let mut cmd = Command::new(&python);
        cmd.arg(launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not start moto with {}: {e}", python.display()));
        let moto = Moto {
            port,
            _child: child,
        };
        if !answers(port, "/moto-api/", Duration::from_secs(60), |_| true) {
            panic!(
                "moto did not answer on port {port} within 60 s; see target/tmp/moto-{port}.log"
            );
        }
        moto
    }

    /// From now on every request must be signed by an access key created inside moto, and
    /// its policies are enforced.
    pub fn enforce_iam(&self) {
        let (status, body) =
            http(self.port, "POST", "/moto-api/reset-auth", Some("0")).expect("reset-auth");
        assert_eq!(status, 200, "reset-auth failed: {body}");
    }
}

/// Whether a GET of `path` on `port` answers 200, with a body that `ready` accepts, within
/// `limit`; asked again every 100 ms.
pub fn answers(port: u16, path: &str, limit: Duration, ready: impl Fn(&str) -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok((200, body)) = http(port, "GET", path, None) {
            if ready(&body) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// target/tmp: cargo's scratch folder for integration tests.
pub fn tmp_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The moto venv's python, creating the venv and installing the pinned requirements if
/// needed.
pub fn venv_python() -> PathBuf {
    let host = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    venv(
        "venv",
        "tests/support/requirements.txt",
        Path::new(&host),
        "moto",
    )
}

/// `target/tmp/NAME/bin/python`, the venv made with `host` and holding `requirements`
/// (relative to the crate). A marker holds the requirements it was made from, so a changed pin
/// installs again; a file lock keeps concurrent test processes from installing twice.
pub fn venv(name: &str, requirements: &str, host: &Path, what: &str) -> PathBuf {
    let venv = tmp_dir().join(name);
    let python = venv.join("bin/python");
    let marker = venv.join(".installed");
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join(requirements);
    let wanted = fs::read_to_string(&requirements)
        .unwrap_or_else(|e| panic!("{}: {e}", requirements.display()));
    if fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return python;
    }
    let lock = File::create(tmp_dir().join(format!("{name}.lock"))).unwrap();
    lock.lock().expect("lock the venv");
    if fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return python;
    }
    eprintln!(
        "installing {what} into {} (first run only) …",
        venv.display()
    );
    let status = Command::new(host)
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .unwrap_or_else(|e| panic!("the tests need {} to install {what}: {e}", host.display()));
    assert!(status.success(), "{} -m venv failed", host.display());
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements)
        .status()
        .expect("run pip");
    assert!(
        status.success(),
        "pip install -r {} failed",
        requirements.display()
    );
    fs::write(&marker, wanted).unwrap();
    python
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 request, for moto's control API.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, out))
}
