//! IAM `Condition` blocks, decided against the request TiDB Cloud makes. Pure: the request is
//! described by a [`Context`], in which every key is known, known to be absent, or unknown.
//!
//! The rules are those of the IAM User Guide: "IAM JSON policy elements: Condition operators"
//! and "Conditions with multiple context keys or values".
//! - Operators are ANDed, keys under one operator are ANDed, the values of one key are ORed;
//!   under a negated operator (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`, …) they are NORed.
//! - A key absent from the request makes the condition false, except under a negated operator
//!   (true), `…IfExists` (true) and `Null` (which tests for absence).
//! - `ForAllValues:` holds when every value in the request matches (so, also when there are
//!   none); `ForAnyValue:` when at least one does.
//!
//! What cannot be known of TiDB Cloud's request (its source IP, SSE headers, tags) makes the
//! outcome [`Outcome::Unknown`], naming the keys, so that `verify` warns instead of guessing.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

/// What a condition block comes to for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Holds,
    Fails,
    /// It depends on these keys, whose values the request cannot be known to have.
    Unknown(Vec<String>),
}

impl Outcome {
    /// Both must hold: a failure decides, else what is unknown of either.
    pub(crate) fn and(self, other: Outcome) -> Outcome {
        match (self, other) {
            (Outcome::Fails, _) | (_, Outcome::Fails) => Outcome::Fails,
            (Outcome::Unknown(mut a), Outcome::Unknown(b)) => {
                for k in b {
                    if !a.contains(&k) {
                        a.push(k);
                    }
                }
                Outcome::Unknown(a)
            }
            (Outcome::Unknown(a), Outcome::Holds) | (Outcome::Holds, Outcome::Unknown(a)) => {
                Outcome::Unknown(a)
            }
            (Outcome::Holds, Outcome::Holds) => Outcome::Holds,
        }
    }
}

/// One key of the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Known {
    Values(Vec<String>),
    Absent,
    Unknown,
}

/// The request context: keys in lower case (IAM's keys ignore case). Keys not set are unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Context {
    keys: BTreeMap<String, Known>,
}

impl Context {
    pub(crate) fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.keys
            .insert(key.to_ascii_lowercase(), Known::Values(vec![value.into()]));
        self
    }

    pub(crate) fn absent(&mut self, key: &str) -> &mut Self {
        self.keys.insert(key.to_ascii_lowercase(), Known::Absent);
        self
    }

    pub(crate) fn get(&self, key: &str) -> Known {
        self.keys
            .get(&key.to_ascii_lowercase())
            .cloned()
            .unwrap_or(Known::Unknown)
    }
}

/// Decides a statement's `Condition` (an object of operators); none at all holds.
pub(crate) fn evaluate(condition: Option<&Value>, ctx: &Context) -> Outcome {
    let Some(Value::Object(operators)) = condition else {
        return Outcome::Holds;
    };
    let mut outcome = Outcome::Holds;
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return Outcome::Unknown(vec![format!("{operator} (malformed)")]);
        };
        for (key, wanted) in keys {
            let wanted: Vec<String> = match wanted {
                Value::Array(items) => items.iter().map(plain).collect(),
                one => vec![plain(one)],
            };
            outcome = outcome.and(one_key(operator, key, &wanted, ctx));
            if outcome == Outcome::Fails {
                return outcome;
            }
        }
    }
    outcome
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `ForAnyValue:StringLikeIfExists` → (set, base, if_exists).
fn parse_operator(operator: &str) -> (Option<&str>, &str, bool) {
    let (set, rest) = match operator.split_once(':') {
        Some((set @ ("ForAllValues" | "ForAnyValue"), rest)) => (Some(set), rest),
        _ => (None, operator),
    };
    match rest.strip_suffix("IfExists") {
        Some(base) => (set, base, true),
        None => (set, rest, false),
    }
}

fn one_key(operator: &str, key: &str, wanted: &[String], ctx: &Context) -> Outcome {
    let (set, base, if_exists) = parse_operator(operator);
    let unknown = || Outcome::Unknown(vec![key.to_string()]);
    let from = |b: bool| if b { Outcome::Holds } else { Outcome::Fails };
    if base == "Null" {
        let wants_absent = wanted.iter().any(|w| w.eq_ignore_ascii_case("true"));
        return match ctx.get(key) {
            Known::Unknown => unknown(),
            Known::Absent => from(wants_absent),
            Known::Values(_) => from(!wants_absent),
        };
    }
    let Some((matcher, negated)) = matcher(base) else {
        return Outcome::Unknown(vec![format!("{key} (operator {operator})")]);
    };
    let values = match ctx.get(key) {
        Known::Unknown if set.is_none() && only_private_sources(key, base, wanted) => {
            // TiDB Cloud's requests carry its public address in aws:SourceIp, or none at all
            // through a VPC endpoint (IAM User Guide, "AWS global condition context keys",
            // aws:SourceIp): never one in a private range. So `IpAddress` on private ranges
            // never matches (unless `…IfExists` and the key is absent), and `NotIpAddress`
            // always does.
            return match (negated, if_exists) {
                (true, _) => Outcome::Holds,
                (false, false) => Outcome::Fails,
                (false, true) => unknown(),
            };
        }
        Known::Unknown => return unknown(),
        Known::Absent => {
            return from(if_exists || negated || set == Some("ForAllValues"));
        }
        Known::Values(v) => v,
    };
    let hits = |value: &str| wanted.iter().any(|w| matcher(w, value));
    let result = match set {
        // Every value in the request matches (a negated one: matches none of the policy's).
        Some("ForAllValues") => values.iter().all(|v| hits(v) != negated),
        Some(_) => values.iter().any(|v| hits(v) != negated),
        None => {
            let any = values.iter().any(|v| hits(v));
            any != negated
        }
    };
    from(result)
}

type Matcher = fn(&str, &str) -> bool;

/// The comparison behind an operator, and whether the operator is negated.
fn matcher(base: &str) -> Option<(Matcher, bool)> {
    Some(match base {
        "StringEquals" => (|w, v| w == v, false),
        "StringNotEquals" => (|w, v| w == v, true),
        "StringEqualsIgnoreCase" => (|w, v| w.eq_ignore_ascii_case(v), false),
        "StringNotEqualsIgnoreCase" => (|w, v| w.eq_ignore_ascii_case(v), true),
        "StringLike" => (|w, v| glob(w, v), false),
        "StringNotLike" => (|w, v| glob(w, v), true),
        "ArnEquals" | "ArnLike" => (arn_like, false),
        "ArnNotEquals" | "ArnNotLike" => (arn_like, true),
        "Bool" => (|w, v| w.eq_ignore_ascii_case(v), false),
        "BinaryEquals" => (|w, v| w == v, false),
        "NumericEquals" => (|w, v| number(w, v, |a, b| a == b), false),
        "NumericNotEquals" => (|w, v| number(w, v, |a, b| a == b), true),
        "NumericLessThan" => (|w, v| number(w, v, |a, b| b < a), false),
        "NumericLessThanEquals" => (|w, v| number(w, v, |a, b| b <= a), false),
        "NumericGreaterThan" => (|w, v| number(w, v, |a, b| b > a), false),
        "NumericGreaterThanEquals" => (|w, v| number(w, v, |a, b| b >= a), false),
        "DateEquals" => (|w, v| date(w, v, |a, b| a == b), false),
        "DateNotEquals" => (|w, v| date(w, v, |a, b| a == b), true),
        "DateLessThan" => (|w, v| date(w, v, |a, b| b < a), false),
        "DateLessThanEquals" => (|w, v| date(w, v, |a, b| b <= a), false),
        "DateGreaterThan" => (|w, v| date(w, v, |a, b| b > a), false),
        "DateGreaterThanEquals" => (|w, v| date(w, v, |a, b| b >= a), false),
        "IpAddress" => (in_cidr, false),
        "NotIpAddress" => (in_cidr, true),
        _ => return None,
    })
}

/// `ArnLike`: each of the six colon-separated parts matched on its own, with wildcards.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| glob(p, a))
}

/// Compares `value` (the request's) with `wanted` (the policy's) as numbers.
fn number(wanted: &str, value: &str, cmp: fn(f64, f64) -> bool) -> bool {
    match (wanted.trim().parse::<f64>(), value.trim().parse::<f64>()) {
        (Ok(w), Ok(v)) => cmp(w, v),
        _ => false,
    }
}

/// Compares dates: ISO 8601 (`2026-11-28T20:00:00Z`, `2026-11-28`) or seconds since the epoch.
fn date(wanted: &str, value: &str, cmp: fn(i64, i64) -> bool) -> bool {
    match (epoch_seconds(wanted), epoch_seconds(value)) {
        (Some(w), Some(v)) => cmp(w, v),
        _ => false,
    }
}

/// Seconds since the epoch of an ISO 8601 UTC time, or of a plain number.
pub(crate) fn epoch_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let (day, time) = text.split_once('T').unwrap_or((text, "00:00:00Z"));
    let mut d = day.splitn(3, '-').map(|p| p.parse::<i64>());
    let (y, m, dd) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '.']).next()?;
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().unwrap_or(0));
    let (h, mi, s) = (t.next()?, t.next().unwrap_or(0), t.next().unwrap_or(0));
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

/// Whether the condition is on `aws:SourceIp` with only private IPv4 ranges (RFC 1918:
/// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, or blocks inside them).
fn only_private_sources(key: &str, base: &str, wanted: &[String]) -> bool {
    const PRIVATE: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    key.eq_ignore_ascii_case("aws:SourceIp")
        && matches!(base, "IpAddress" | "NotIpAddress")
        && !wanted.is_empty()
        && wanted.iter().all(|w| {
            let (net, bits) = w.split_once('/').unwrap_or((w, "32"));
            let Ok(bits) = bits.parse::<u32>() else {
                return false;
            };
            PRIVATE.iter().any(|range| {
                let inside = range
                    .split_once('/')
                    .and_then(|(_, b)| b.parse::<u32>().ok());
                inside.is_some_and(|b| bits >= b) && in_cidr(range, net)
            })
        })
}

/// Whether `value` is an address inside the CIDR block `wanted` (or equal to an address).
fn in_cidr(wanted: &str, value: &str) -> bool {
    let (net, bits) = wanted.split_once('/').unwrap_or((wanted, ""));
    let (Ok(net), Ok(ip)) = (net.parse::<IpAddr>(), value.parse::<IpAddr>()) else {
        return false;
    };
    let (net, ip, width) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        _ => return false,
    };
    let bits: u32 = match bits {
        "" => width,
        b => match b.parse() {
            Ok(b) if b <= width => b,
            _ => return false,
        },
    };
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (net >> shift) == (ip >> shift)
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || same_char(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A `*` and a `?` that a policy spells `${*}` and `${?}`: literal characters, not wildcards
/// (IAM User Guide, "IAM policy elements: Variables and tags", special characters). They stand
/// in a pattern as these private-use characters, which no ARN holds, so that the matchers take
/// them for the one character they are.
pub(crate) const LITERAL_STAR: char = '\u{E000}';
pub(crate) const LITERAL_QUESTION: char = '\u{E001}';

/// Whether a pattern's character stands for the text's: itself, or a literal `*` or `?`.
pub(crate) fn same_char(pattern: char, text: char) -> bool {
    pattern == text
        || (pattern == LITERAL_STAR && text == '*')
        || (pattern == LITERAL_QUESTION && text == '?')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        let mut c = Context::default();
        c.set("aws:SecureTransport", "true")
            .set("aws:PrincipalArn", "arn:aws:iam::123456789012:role/tidb")
            .set("aws:PrincipalAccount", "123456789012")
            .set("aws:RequestedRegion", "us-east-1")
            .set("aws:CurrentTime", "2026-11-28T20:00:00Z")
            .absent("aws:SourceVpce")
            .absent("aws:MultiFactorAuthPresent");
        c
    }

    fn eval(c: Value) -> Outcome {
        evaluate(Some(&c), &ctx())
    }

    #[test]
    fn operators_against_known_values() {
        assert_eq!(
            eval(json!({"Bool": {"aws:SecureTransport": "false"}})),
            Outcome::Fails
        );
        assert_eq!(
            eval(json!({"Bool": {"aws:SecureTransport": "true"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}})),
            Outcome::Fails,
            "a negated operator NORs its values"
        );
        assert_eq!(
            eval(json!({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/tid*"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role*tidb"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})),
            Outcome::Fails
        );
        assert_eq!(
            eval(json!({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"StringEqualsIgnoreCase": {"aws:RequestedRegion": "US-EAST-1"}})),
            Outcome::Holds
        );
        let mut c = ctx();
        c.set("s3:max-keys", "10")
            .set("aws:SourceIp", "203.0.113.7");
        let n = json!({"NumericLessThanEquals": {"s3:max-keys": "10"}});
        assert_eq!(evaluate(Some(&n), &c), Outcome::Holds);
        let ip = json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}});
        assert_eq!(evaluate(Some(&ip), &c), Outcome::Holds);
        let not_ip = json!({"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}});
        assert_eq!(evaluate(Some(&not_ip), &c), Outcome::Fails);
    }

    #[test]
    fn absent_keys_follow_the_documented_rules() {
        // Absent: false, but true for negated operators, IfExists and Null: true.
        assert_eq!(
            eval(json!({"StringEquals": {"aws:SourceVpce": "vpce-1"}})),
            Outcome::Fails
        );
        assert_eq!(
            eval(json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"Null": {"aws:SourceVpce": "true"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"Null": {"aws:SourceVpce": "false"}})),
            Outcome::Fails
        );
        assert_eq!(
            eval(json!({"Null": {"aws:SecureTransport": "false"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"Bool": {"aws:MultiFactorAuthPresent": "false"}})),
            Outcome::Fails,
            "an absent key is not false"
        );
        assert_eq!(
            eval(json!({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})),
            Outcome::Holds
        );
        assert_eq!(
            eval(json!({"ForAllValues:StringEquals": {"aws:SourceVpce": ["a"]}})),
            Outcome::Holds,
            "ForAllValues holds over no values"
        );
        assert_eq!(
            eval(json!({"ForAnyValue:StringEquals": {"aws:SourceVpce": ["a"]}})),
            Outcome::Fails
        );
    }

    #[test]
    fn unknown_keys_are_named_and_blocks_are_anded() {
        assert_eq!(
            eval(json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
            Outcome::Unknown(vec!["aws:SourceIp".into()])
        );
        // A known failure decides, whatever else is unknown.
        assert_eq!(
            eval(
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": "false"}})
            ),
            Outcome::Fails
        );
        assert_eq!(
            eval(
                json!({"StringEquals": {"aws:SecureTransport": "true", "aws:PrincipalAccount": "123456789012"}})
            ),
            Outcome::Holds
        );
        assert_eq!(evaluate(None, &ctx()), Outcome::Holds);
        assert!(matches!(
            eval(json!({"SomeNewOperator": {"k": "v"}})),
            Outcome::Unknown(_)
        ));
    }

    /// TiDB Cloud's address is public, or absent through a VPC endpoint: never private.
    #[test]
    fn private_source_ranges_are_decided() {
        let private = json!(["10.0.0.0/8", "192.168.1.0/24", "172.20.0.0/16"]);
        assert_eq!(
            eval(json!({"IpAddress": {"aws:SourceIp": private}})),
            Outcome::Fails,
            "an Allow on private sources never applies"
        );
        assert_eq!(
            eval(json!({"NotIpAddress": {"aws:SourceIp": private}})),
            Outcome::Holds,
            "a Deny outside private sources always applies"
        );
        assert_eq!(
            eval(json!({"NotIpAddressIfExists": {"aws:SourceIp": private}})),
            Outcome::Holds
        );
        // …IfExists holds when the key is absent, which it may be.
        assert_eq!(
            eval(json!({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}})),
            Outcome::Unknown(vec!["aws:SourceIp".into()])
        );
        // A public range, or one reaching past the private blocks, stays unknown.
        for wanted in ["203.0.113.0/24", "172.0.0.0/8", "0.0.0.0/0"] {
            assert_eq!(
                eval(json!({"NotIpAddress": {"aws:SourceIp": [wanted, "10.0.0.0/8"]}})),
                Outcome::Unknown(vec!["aws:SourceIp".into()]),
                "{wanted}"
            );
        }
    }

    #[test]
    fn multivalued_keys() {
        let mut c = ctx();
        c.keys.insert(
            "aws:tagkeys".into(),
            Known::Values(vec!["team".into(), "cost".into()]),
        );
        let all = json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost", "env"]}});
        assert_eq!(evaluate(Some(&all), &c), Outcome::Holds);
        let all = json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}});
        assert_eq!(evaluate(Some(&all), &c), Outcome::Fails);
        let any = json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "cost"]}});
        assert_eq!(evaluate(Some(&any), &c), Outcome::Holds);
    }

    #[test]
    fn dates_and_addresses() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(epoch_seconds("1700000000"), Some(1_700_000_000));
        assert_eq!(epoch_seconds("yesterday"), None);
        assert!(in_cidr("2001:db8::/32", "2001:db8::1"));
        assert!(!in_cidr("2001:db8::/32", "2001:db9::1"));
        assert!(in_cidr("0.0.0.0/0", "8.8.8.8"));
        assert!(!in_cidr("10.0.0.0/8", "2001:db8::1"));
    }
}
