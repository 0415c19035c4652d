//! A fault-injecting HTTP proxy between the binary and moto. It forwards every request, or
//! answers chosen ones with a fault, and records what it saw so a test can count requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 InternalFailure.
    Internal,
    /// HTTP 503 Throttling (SlowDown for S3).
    Throttle,
    /// HTTP 403 AccessDenied.
    Denied,
    /// Close the connection without answering.
    Drop,
    /// Forward the request, so that moto acts on it, then close without answering: the
    /// answer is lost on the way back.
    DropAnswer,
    /// Any status with any error code, e.g. 400 `ExpiredToken`.
    Code(u16, &'static str),
    /// Hold the request this long, then forward it.
    Delay(u64),
    /// Hold the request until the proxy has answered a request with this action, then
    /// forward it: AWS serializes what the emulator may not (two CreateStacks of one name).
    AfterAnswered(&'static str),
    /// HTTP 200 with this body: a scripted answer, for what the emulator does not implement
    /// (IAM's policy simulator).
    Respond(&'static str),
    /// HTTP 403 AccessDenied with this message, as AWS words a denial by an organisation's
    /// service control policy or a permissions boundary.
    DeniedWith(&'static str),
    /// This status with an HTML page and no AWS error: what a server that is not AWS answers
    /// (e.g. 501 from a web server that takes no POST).
    NotAws(u16),
    /// S3's answer from outside a bucket's home: this status (301 from another region, 403
    /// from a bucket policy) with the `x-amz-bucket-region` header naming the region.
    Region(u16, &'static str),
}

#[derive(Debug, Clone)]
pub enum Match {
    /// The request's action: `CreateRole`, or `s3:GET?location` for S3.
    Action(String),
    /// The Nth request (1-based) the proxy sees.
    Nth(usize),
    /// The Nth request (1-based) with this action.
    NthOf(String, usize),
    /// Requests with this action whose body lacks this text, e.g. a `CreateRole` without a
    /// `PermissionsBoundary`, as an organisation's guardrail sees them.
    ActionWithout(String, String),
    /// Requests with this action whose request line (method, path and query) holds this
    /// text: one S3 object among several asked at once.
    ActionOn(String, String),
    /// The Nth request (1-based), and every retry of it (the same request line and body):
    /// the call fails, not just one attempt.
    NthCall(usize),
}

#[derive(Debug, Clone)]
struct Rule {
    matcher: Match,
    fault: Fault,
    /// How many more times it fires.
    left: usize,
    /// For `NthCall`: the request it fired on, so that its retries fail too.
    sticky: Option<Vec<u8>>,
}

#[derive(Default)]
struct State {
    seen: Vec<String>,
    /// The body of each request, in the order of `seen`.
    bodies: Vec<Vec<u8>>,
    /// The Authorization header of each request, in the order of `seen`.
    authorizations: Vec<String>,
    rules: Vec<Rule>,
    /// Added to every forwarded request: a far-away AWS, where requests sent together overlap.
    latency: Option<Duration>,
    /// Each forwarded request: when it was read, when its answer was written, its action.
    spans: Vec<(Instant, Instant, String)>,
}

#[derive(Clone)]
pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let state = shared.clone();
                thread::spawn(move || {
                    let _ = serve(conn, upstream, &state);
                });
            }
        });
        Proxy { port, state }
    }

    /// A proxy that holds every request `ms` milliseconds before forwarding it, as a distant
    /// AWS would; requests sent together overlap.
    pub fn with_latency(upstream: u16, ms: u64) -> Proxy {
        let proxy = Proxy::start(upstream);
        proxy.state.lock().unwrap().latency = Some(Duration::from_millis(ms));
        proxy
    }

    /// Each forwarded request's round: 1, or one more than the last round among the requests
    /// answered before it was sent. Requests sent together share a round; one that had to wait
    /// for an answer comes in the next. In the order the requests were sent, with their actions.
    pub fn rounds(&self) -> Vec<(usize, String)> {
        let mut spans = self.state.lock().unwrap().spans.clone();
        spans.sort_by_key(|(start, _, _)| *start);
        let mut rounds: Vec<usize> = Vec::new();
        for (i, (start, _, _)) in spans.iter().enumerate() {
            let after = spans[..i]
                .iter()
                .zip(&rounds)
                .filter(|((_, end, _), _)| end <= start)
                .map(|(_, r)| *r)
                .max()
                .unwrap_or(0);
            rounds.push(after + 1);
        }
        rounds
            .into_iter()
            .zip(spans)
            .map(|(r, (_, _, action))| (r, action))
            .collect()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Fails matching requests `times` times with `fault`.
    pub fn fail(&self, matcher: Match, fault: Fault, times: usize) {
        self.state.lock().unwrap().rules.push(Rule {
            matcher,
            fault,
            left: times,
            sticky: None,
        });
    }

    pub fn fail_action(&self, action: &str, fault: Fault) {
        self.fail(Match::Action(action.into()), fault, usize::MAX);
    }

    /// The actions of every request seen so far, in order.
    pub fn seen(&self) -> Vec<String> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many requests with this action it has seen so far.
    pub fn count(&self, action: &str) -> usize {
        self.seen().iter().filter(|a| *a == action).count()
    }

    /// Waits until the proxy has seen `n` requests with `action` (a held one counts as soon as
    /// it comes); fails after 20 seconds.
    pub fn wait_for(&self, action: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count(action) < n {
            assert!(
                Instant::now() < deadline,
                "{n} {action} never came: {:?}",
                self.seen()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Each request's action with its body, form-decoded for the query protocols (IAM, STS,
    /// CloudFormation): `(action, [(name, value)])`.
    pub fn requests(&self) -> Vec<(String, Vec<(String, String)>)> {
        let s = self.state.lock().unwrap();
        s.seen
            .iter()
            .zip(&s.bodies)
            .map(|(action, body)| (action.clone(), form_decode(body)))
            .collect()
    }

    /// The Authorization header of each request: which access key signed it.
    pub fn authorizations(&self) -> Vec<String> {
        self.state.lock().unwrap().authorizations.clone()
    }

    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap();
        s.seen.clear();
        s.bodies.clear();
        s.authorizations.clear();
        s.rules.clear();
        s.spans.clear();
    }
}

fn serve(mut client: TcpStream, upstream: u16, state: &Mutex<State>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut chunked = false;
    let mut request_line = String::new();
    let mut target = None;
    let mut authorization = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if request_line.is_empty() {
            request_line = line.trim_end().to_string();
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if let Some(v) = lower.strip_prefix("x-amz-target:") {
            // JSON protocols (KMS): `TrentService.DescribeKey`.
            target = line[line.len() - v.len()..]
                .trim()
                .rsplit('.')
                .next()
                .map(str::to_string);
        }
        if lower.starts_with("authorization:") {
            authorization = line.trim().to_string();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        if lower.starts_with("connection:") {
            continue;
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        head.extend_from_slice(line.as_bytes());
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            body.extend_from_slice(size.as_bytes());
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            if n == 0 {
                break;
            }
        }
    } else {
        body.resize(content_length, 0);
        reader.read_exact(&mut body)?;
    }

    let start = Instant::now();
    let action = target.unwrap_or_else(|| action_of(&request_line, &body));
    let identity: Vec<u8> = request_line.bytes().chain(body.iter().copied()).collect();
    let fault = {
        let mut s = state.lock().unwrap();
        s.seen.push(action.clone());
        s.bodies.push(body.clone());
        s.authorizations.push(authorization);
        let n = s.seen.len();
        let nth_of_action = s.seen.iter().filter(|a| **a == action).count();
        let rule = s.rules.iter_mut().find(|r| {
            r.left > 0
                && match &r.matcher {
                    Match::Action(a) => *a == action,
                    Match::ActionWithout(a, needle) => {
                        *a == action && !String::from_utf8_lossy(&body).contains(needle.as_str())
                    }
                    Match::ActionOn(a, needle) => {
                        *a == action && request_line.contains(needle.as_str())
                    }
                    Match::Nth(k) => *k == n,
                    Match::NthOf(a, k) => *a == action && *k == nth_of_action,
                    Match::NthCall(k) => *k == n || r.sticky.as_ref() == Some(&identity),
                }
        });
        rule.map(|r| {
            r.left -= 1;
            if let Match::NthCall(_) = r.matcher {
                r.sticky = Some(identity.clone());
            }
            r.fault
        })
    };
    if let Some(Fault::Delay(ms)) = fault {
        thread::sleep(Duration::from_millis(ms));
    } else if let Some(Fault::AfterAnswered(first)) = fault {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !state
            .lock()
            .unwrap()
            .spans
            .iter()
            .any(|(_, _, a)| a == first)
        {
            assert!(Instant::now() < deadline, "{first} was never answered");
            thread::sleep(Duration::from_millis(10));
        }
    } else if let Some(Fault::DropAnswer) = fault {
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        up.write_all(&head)?;
        up.write_all(&body)?;
        let mut response = Vec::new();
        up.read_to_end(&mut response)?;
        client.shutdown(Shutdown::Both)?;
        return Ok(());
    } else if let Some(Fault::NotAws(status)) = fault {
        let body = "<html><body><h1>Not Implemented</h1></body></html>";
        write!(
            client,
            "HTTP/1.1 {}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            status_line(status),
            body.len()
        )?;
        return client.flush();
    } else if let Some(Fault::Respond(body)) = fault {
        write!(
            client,
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        return client.flush();
    } else if let Some(fault) = fault {
        let s3 = action.starts_with("s3:");
        let mut extra = String::new();
        let mut message = "injected by the test proxy";
        let (status, code) = match fault {
            Fault::DeniedWith(text) => {
                message = text;
                ("403 Forbidden", "AccessDenied")
            }
            Fault::Region(status, region) => {
                extra = format!("x-amz-bucket-region: {region}\r\n");
                match status {
                    301 => ("301 Moved Permanently", "PermanentRedirect"),
                    _ => (status_line(status), "AccessDenied"),
                }
            }
            Fault::Drop => {
                client.shutdown(Shutdown::Both)?;
                return Ok(());
            }
            Fault::Internal => ("500 Internal Server Error", "InternalFailure"),
            Fault::Throttle => (
                "503 Service Unavailable",
                if s3 { "SlowDown" } else { "Throttling" },
            ),
            Fault::Denied => ("403 Forbidden", "AccessDenied"),
            Fault::Code(status, code) => (status_line(status), code),
            Fault::Delay(_)
            | Fault::AfterAnswered(_)
            | Fault::Respond(_)
            | Fault::DropAnswer
            | Fault::NotAws(_) => {
                unreachable!("handled above")
            }
        };
        let body = if s3 {
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>")
        } else {
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>")
        };
        write!(
            client,
            "HTTP/1.1 {status}\r\n{extra}Content-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        return client.flush();
    }

    let latency = state.lock().unwrap().latency;
    if let Some(latency) = latency {
        thread::sleep(latency);
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(&head)?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    client.write_all(&close_response(response))?;
    client.flush()?;
    state
        .lock()
        .unwrap()
        .spans
        .push((start, Instant::now(), action));
    Ok(())
}

fn status_line(status: u16) -> &'static str {
    match status {
        301 => "301 Moved Permanently",
        400 => "400 Bad Request",
        403 => "403 Forbidden",
        404 => "404 Not Found",
        409 => "409 Conflict",
        500 => "500 Internal Server Error",
        501 => "501 Not Implemented",
        502 => "502 Bad Gateway",
        503 => "503 Service Unavailable",
        _ => "500 Internal Server Error",
    }
}

/// Makes the response say `Connection: close`, so that the client never reuses a connection
/// this proxy is about to close.
fn close_response(response: Vec<u8>) -> Vec<u8> {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response;
    };
    let head = String::from_utf8_lossy(&response[..end]);
    let mut out: Vec<u8> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes();
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(&response[end + 4..]);
    out
}

/// `a=b&c=d%20e` as pairs, percent- and plus-decoded.
fn form_decode(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body).replace('+', " ");
    text.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// `CreateRole` for the query protocols (IAM, STS, CloudFormation); `s3:GET?location` for S3.
fn action_of(request_line: &str, body: &[u8]) -> String {
    let body = String::from_utf8_lossy(body);
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return action.to_string();
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let query: Vec<&str> = target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .map(|kv| kv.split('=').next().unwrap_or(""))
                .filter(|k| *k != "x-id")
                .collect()
        })
        .unwrap_or_default();
    format!("s3:{method}?{}", query.join("&"))
}
