//! How a run goes rather than what it makes: how long to wait for a stack (`--timeout`), where
//! to send requests (`--endpoint-url`), and where to write a new secret (`--secret-file`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::{invalid, quoted, Invalid};

/// How long to wait for a stack: `90s`, `10m`, `1h`, `1h30m`, or plain seconds; from 1 second
/// to 24 hours. Units go from hours to seconds, each at most once, as Go's and systemd's
/// durations read (`1h30m`, `2m30s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(Duration);

impl Timeout {
    const MAX_SECS: u64 = 24 * 3600;

    pub(crate) fn get(self) -> Duration {
        self.0
    }
}

impl FromStr for Timeout {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let rule = || {
            Invalid(format!(
                "must be a duration such as 90s, 10m, 1h or 1h30m (1 second to 24 hours), not {}",
                quoted(text)
            ))
        };
        let secs = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse::<u64>().map_err(|_| rule())?
        } else {
            let mut total = 0u64;
            let mut rest = text;
            let mut previous = u64::MAX;
            while !rest.is_empty() {
                let end = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(rule)?;
                let n: u64 = rest[..end].parse().map_err(|_| rule())?;
                let unit = rest[end..].chars().next().ok_or_else(rule)?;
                let scale = match unit {
                    'h' => 3600,
                    'm' => 60,
                    's' => 1,
                    _ => return Err(rule()),
                };
                if scale >= previous {
                    return Err(rule());
                }
                previous = scale;
                total = total.saturating_add(n.saturating_mul(scale));
                rest = &rest[end + unit.len_utf8()..];
            }
            total
        };
        if !(1..=Self::MAX_SECS).contains(&secs) {
            return Err(rule());
        }
        Ok(Timeout(Duration::from_secs(secs)))
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

checked_string! {
    /// Where to send every AWS request: `http://` or `https://`, a host, an optional port and
    /// path. No user name or password: requests are signed with AWS credentials, never with
    /// these, and the URL may show in the SDK's `-vv` lines.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EndpointUrl;
}

impl FromStr for EndpointUrl {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let Some(rest) = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
        else {
            return invalid(format!(
                "must start with http:// or https://, not {}",
                quoted(s)
            ));
        };
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid(format!("must not contain spaces, not {}", quoted(s)));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return invalid(
                "must not carry a user name or password: requests are signed with AWS credentials (--profile or the AWS_* environment variables), and the URL may show in -vv output",
            );
        }
        if rest.contains(['?', '#']) {
            return invalid(format!(
                "must not have a query or a fragment, not {}",
                quoted(s)
            ));
        }
        let (host, port) = match authority.strip_prefix('[') {
            // An IPv6 address: `[::1]` or `[::1]:5000`.
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, port)) => (host, Some(port.strip_prefix(':').unwrap_or(port))),
                None => ("", None),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return invalid(format!("has no host in {}", quoted(s)));
        }
        if let Some(port) = port {
            if !port.parse::<u16>().is_ok_and(|p| p > 0) {
                return invalid(format!(
                    "has port {}; a port is a number from 1 to 65535",
                    quoted(port)
                ));
            }
        }
        Ok(EndpointUrl(s.to_string()))
    }
}

/// `--secret-file`: a new file in a folder that exists. A secret is never written over a file,
/// so a path that exists (a file, a link or a folder) is refused before anything else happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPath(PathBuf);

impl SecretPath {
    pub fn new(path: PathBuf) -> Result<SecretPath, Invalid> {
        if path.as_os_str().is_empty() {
            return invalid("must be a file path, not empty");
        }
        if path.is_dir() {
            return invalid(format!(
                "{} is a directory; name a new file in it",
                path.display()
            ));
        }
        if path.symlink_metadata().is_ok() {
            return invalid(format!(
                "{} already exists, and a secret is never written over a file; name a new file",
                path.display()
            ));
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            return invalid(format!("folder {} does not exist", parent.display()));
        }
        Ok(SecretPath(path))
    }

    pub(crate) fn into_path(self) -> PathBuf {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Result<u64, Invalid> {
        text.parse::<Timeout>().map(|t| t.get().as_secs())
    }

    #[test]
    fn timeouts() {
        for (text, want) in [
            ("90s", 90),
            ("10m", 600),
            ("1h", 3600),
            ("45", 45),
            ("1h30m", 5400),
            ("2m30s", 150),
            ("1h0m5s", 3605),
            ("24h", 86_400),
        ] {
            assert_eq!(secs(text), Ok(want), "{text}");
        }
        for bad in [
            "", "0s", "m", "10x", "-5s", "25h", "1.5m", "1h30", "30m1h", "1m1m", "5µs", "1 h",
            "24h1s",
        ] {
            let err = secs(bad).unwrap_err();
            assert!(
                err.0.contains("such as 90s, 10m, 1h or 1h30m"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn a_timeout_prints_as_it_is_written() {
        for text in ["90s", "1m30s", "10m", "1h", "1h30m", "1h0m5s"] {
            let t: Timeout = text.parse().unwrap();
            assert_eq!(t.to_string().parse::<Timeout>(), Ok(t), "{text}");
        }
        assert_eq!("5400".parse::<Timeout>().unwrap().to_string(), "1h30m");
        assert_eq!("3605".parse::<Timeout>().unwrap().to_string(), "1h5s");
    }

    #[test]
    fn endpoint_urls() {
        for ok in [
            "http://127.0.0.1:5000",
            "https://s3.example.com",
            "http://localhost:4566/",
            "http://[::1]:5000",
            "https://vpce-1.iam.us-east-1.vpce.amazonaws.com/path",
        ] {
            assert_eq!(
                ok.parse::<EndpointUrl>().map(|u| u.to_string()),
                Ok(ok.into())
            );
        }
        for (bad, rule) in [
            ("ftp://127.0.0.1", "http:// or https://"),
            ("localhost:4566", "http:// or https://"),
            ("http://", "no host"),
            ("http://:5000", "no host"),
            ("http://host:0", "port"),
            ("http://host:99999", "port"),
            ("http://host:port", "port"),
            ("http://[::1]x", "port"),
            ("http://a b", "spaces"),
            ("http://user:pw@host", "password"),
            ("http://host/?x=1", "query"),
        ] {
            let err = bad.parse::<EndpointUrl>().unwrap_err();
            assert!(err.0.contains(rule), "{bad:?}: {err}");
        }
        // The password itself is never echoed.
        let err = "http://u:hunter2@h".parse::<EndpointUrl>().unwrap_err();
        assert!(!err.0.contains("hunter2"), "{err}");
    }
}
