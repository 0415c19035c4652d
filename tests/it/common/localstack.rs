//! LocalStack, the second emulator, on a free loopback port: installed on first use into
//! target/tmp/ls-venv with a Python of 3.12 or newer, started once per test process. No
//! LocalStack, no test: a failure to find Python, install or start it panics with the reason.
//!
//! It runs CloudFormation with real state transitions and per-resource events, applies stack
//! updates, and makes buckets "Bucket owner enforced" as AWS does; moto does none of these.
//! Its account is 000000000000. It enforces no IAM policies (least privilege is proven with
//! moto), and its policy simulator is a stub (see `simulator_is_a_stub`).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::moto::{answers, free_port, tmp_dir, venv};

pub struct LocalStack {
    pub port: u16,
    _child: Child,
}

impl LocalStack {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn start() -> LocalStack {
        let python = venv(
            "ls-venv",
            "tests/support/localstack-requirements.txt",
            &host_python(),
            "LocalStack",
        );
        let port = free_port();
        let dir = tmp_dir().join(format!("localstack-{port}"));
        fs::create_dir_all(dir.join("vol")).unwrap();
        let log = File::create(dir.join("log")).expect("LocalStack log file");
        let launcher =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/localstack_launcher.py");
        let child = Command::new(&python)
            .arg(launcher)
            .current_dir(&dir)
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("LOCALSTACK_VOLUME_DIR", dir.join("vol"))
            .env("DISABLE_EVENTS", "1")
            // Nothing beyond loopback: no DNS server of its own, no certificate download.
            .env("DNS_ADDRESS", "0")
            .env("SKIP_SSL_CERT_DOWNLOAD", "1")
            .env("SERVICES", "iam,sts,s3,kms,cloudformation")
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start LocalStack with {}: {e}", python.display())
            });
        let stack = LocalStack {
            port,
            _child: child,
        };
        let ready = |body: &str| {
            ["iam", "sts", "s3", "cloudformation"].iter().all(|s| {
                body.contains(&format!("\"{s}\": \"available\""))
                    || body.contains(&format!("\"{s}\": \"running\""))
            })
        };
        if answers(port, "/_localstack/health", Duration::from_secs(180), ready) {
            return stack;
        }
        panic!(
            "LocalStack did not answer on port {port} within 180 s; see {}",
            dir.join("log").display()
        );
    }
}

/// A Python of 3.12 or newer, which localstack-core needs: `$LOCALSTACK_PYTHON`, else
/// python3.13 or python3.12 on PATH, else one that pyenv installed but does not put on PATH.
fn host_python() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("LOCALSTACK_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.extend(["python3.13", "python3.12", "python3"].map(PathBuf::from));
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    if let Some(Ok(versions)) = pyenv.map(|p| fs::read_dir(p.join("versions"))) {
        let mut found: Vec<PathBuf> = versions
            .flatten()
            .map(|e| e.path().join("bin/python3"))
            .collect();
        found.sort();
        candidates.extend(found.into_iter().rev());
    }
    let recent = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    candidates
        .iter()
        .find(|p| recent(p))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "LocalStack needs Python 3.12 or newer; none of {candidates:?} is (set LOCALSTACK_PYTHON)"
            )
        })
}
