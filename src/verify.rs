//! `verify`: names the exact broken item of a setup, made by this tool or by hand, following
//! TiDB Cloud's own troubleshooting list, and gives the fix for each.

use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::iam::{self, PrincipalKind};
use crate::aws::Clients;
use crate::condition::Context as RequestContext;
use crate::detect::{self, BucketFacts};
use crate::error::Error;
use crate::evaluate::{self, Decision, Statement};
use crate::inputs::{Access, AccountId, ExternalId, Partition, S3Location, UserName};
use crate::policy;
use crate::Context;

/// Whose access to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Role { arn: String, name: String },
    User { name: UserName },
}

impl Subject {
    /// Parses `--role-arn`: `arn:PARTITION:iam::ACCOUNT:role/[path/]NAME`.
    pub fn role(arn: &str) -> Result<Subject, crate::inputs::Invalid> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let rule = || {
            crate::inputs::Invalid(format!(
                "must be a role ARN such as arn:aws:iam::123456789012:role/NAME, not {arn:?}"
            ))
        };
        if parts.len() != 6
            || parts[0] != "arn"
            || Partition::of_arn(arn).is_none()
            || parts[2] != "iam"
            || !parts[3].is_empty()
            || parts[4].parse::<AccountId>().is_err()
        {
            return Err(rule());
        }
        let path = parts[5].strip_prefix("role/").ok_or_else(rule)?;
        let name = path.rsplit('/').next().unwrap_or_default();
        name.parse::<crate::inputs::RoleName>()
            .map_err(|_| rule())?;
        Ok(Subject::Role {
            arn: arn.to_string(),
            name: name.to_string(),
        })
    }

    fn label(&self) -> String {
        match self {
            Subject::Role { name, .. } => format!("role {name}"),
            Subject::User { name } => format!("user {name}"),
        }
    }
}

/// What the setup is for, and, for a role, whom it must trust.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub location: S3Location,
    pub access: Access,
    pub tidb_account: Option<AccountId>,
    /// `None` with `--no-external-id`.
    pub external_id: Option<ExternalId>,
    /// Whether TiDB Cloud also reads the bucket's location (Dedicated, and access keys).
    pub bucket_location: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub finding: String,
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, finding: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Pass,
            finding: finding.into(),
            fix: None,
        }
    }
    fn warn(name: &'static str, finding: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            finding: finding.into(),
            fix,
        }
    }
    fn fail(name: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            finding: finding.into(),
            fix: Some(fix.into()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
    /// Whether the checks judged what AWS holds, read back; `false` when they could only
    /// judge the documents a setup wrote (AWS did not show them in time).
    pub read_back: bool,
}

impl Report {
    fn new(checks: Vec<Check>) -> Report {
        Report {
            ok: checks.iter().all(|c| c.status != Status::Fail),
            checks,
            read_back: true,
        }
    }

    /// No checks: what a setup reports before it has run them.
    pub fn pending() -> Report {
        Report {
            ok: true,
            checks: Vec::new(),
            read_back: false,
        }
    }
}

/// Everything read from AWS that the checks judge. The checks themselves are pure.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub partition: Partition,
    /// The principal's ARN as IAM has it; `None` when it does not exist.
    pub principal_arn: Option<String>,
    pub created: Option<i64>,
    pub trust: Option<Value>,
    /// Every identity policy that applies, labelled.
    pub policies: Vec<(String, Value)>,
    pub bucket: BucketFacts,
    /// What IAM's simulator said for each required (action, resource), where it answered.
    pub simulated: Option<Vec<iam::Simulated>>,
    /// The bucket's customer-managed key as KMS has it; `None` when not read.
    pub key: Option<KeyFacts>,
    /// The permissions boundary (ARN, document): it caps what the policies allow.
    pub boundary: Option<(String, Value)>,
    /// The principal's tags, among them the access this tool recorded on it.
    pub tags: Vec<(String, String)>,
    /// Whether the bucket is in the principal's account, where its bucket policy alone may
    /// grant; `None` when not read.
    pub bucket_in_account: Option<bool>,
    /// A user's unique ID (`AIDA…`), its requests' `aws:userid`.
    pub user_id: Option<String>,
}

/// What KMS says of the bucket's customer-managed key.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    /// `Enabled`, `Disabled`, `PendingDeletion`, …; `None` when DescribeKey was refused.
    pub state: Option<String>,
    pub account: Option<String>,
    /// The key policy, or why it could not be read.
    pub policy: Result<Option<Value>, String>,
}

impl Evidence {
    /// What a setup knows right after it wrote the documents: those documents, what it read of
    /// the bucket, and the boundary it set.
    pub fn written(
        partition: Partition,
        principal_arn: String,
        trust: Option<Value>,
        permissions: Value,
        bucket: BucketFacts,
        boundary: Option<(String, Value)>,
    ) -> Evidence {
        Evidence {
            partition,
            principal_arn: Some(principal_arn),
            trust,
            policies: vec![("the policy just written".into(), permissions)],
            bucket,
            boundary,
            ..Evidence::default()
        }
    }
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            partition: Partition::Aws,
            principal_arn: None,
            created: None,
            trust: None,
            policies: Vec::new(),
            bucket: BucketFacts::default(),
            simulated: None,
            key: None,
            boundary: None,
            tags: Vec::new(),
            bucket_in_account: None,
            user_id: None,
        }
    }
}

/// The actions the access needs, each on the resource pattern it needs them on.
pub fn required(
    partition: Partition,
    e: &Expectations,
    kms: Option<&str>,
) -> Vec<(String, String)> {
    let objects = objects_read(partition, e);
    let bucket = policy::bucket_arn(partition, &e.location);
    let mut out: Vec<(String, String)> = policy::object_actions(e.access)
        .into_iter()
        .map(|a| (a.to_string(), objects.clone()))
        .chain(
            policy::bucket_actions(e.bucket_location)
                .into_iter()
                .map(|a| (a.to_string(), bucket.clone())),
        )
        .collect();
    if let Some(key) = kms {
        out.extend(
            policy::kms_actions(e.access)
                .into_iter()
                .map(|a| (a.to_string(), key.to_string())),
        );
    }
    out
}

/// The objects TiDB Cloud reads and writes: every key under the directory but the directory's
/// own zero-byte folder key (`dir/`), which TiDB's storage layer skips. So a grant on
/// `dir/?*` serves as well as one on `dir/*`.
fn objects_read(partition: Partition, e: &Expectations) -> String {
    let objects = policy::objects_arn(partition, &e.location);
    format!("{}?*", objects.trim_end_matches('*'))
}

/// Concrete sample requests for IAM's simulator, one per requirement: an object under the
/// directory (`dir/tidb-verify-sample.csv`) for a pattern, with the context TiDB Cloud's request
/// carries as far as it is known.
pub fn samples(request: &TidbRequest, needed: &[(String, String)]) -> Vec<iam::Sample> {
    needed
        .iter()
        .map(|(action, resource)| {
            let resource = match resource.strip_suffix("?*") {
                Some(dir) => format!("{dir}tidb-verify-sample.csv"),
                None => resource.clone(),
            };
            let context = request.context(action);
            let mut entries = vec![(
                "aws:SecureTransport".to_string(),
                "boolean",
                "true".to_string(),
            )];
            for key in [
                "aws:RequestedRegion",
                "s3:prefix",
                "kms:ViaService",
                "kms:CallerAccount",
            ] {
                if let crate::condition::Known::Values(v) = context.get(key) {
                    entries.push((key.to_string(), "string", v[0].clone()));
                }
            }
            iam::Sample {
                action: action.clone(),
                resource,
                context: entries,
            }
        })
        .collect()
}

/// `…/dir/?*` as people write it: `…/dir/*`.
fn shown(resource: &str) -> String {
    resource.replace("/?*", "/*")
}

/// Runs every check on the evidence.
pub fn checks(subject: &Subject, e: &Expectations, ev: &Evidence, rerun: &str) -> Report {
    let mut checks = Vec::new();
    let Some(arn) = &ev.principal_arn else {
        checks.push(Check::fail(
            "exists",
            format!("{} does not exist", subject.label()),
            format!("create it: {rerun}"),
        ));
        checks.extend(bucket_checks(
            subject,
            e,
            ev,
            None,
            &TidbRequest::new(subject, e, ev),
        ));
        return Report::new(checks);
    };
    checks.push(exists(subject, arn, ev.created));
    if let Subject::Role { .. } = subject {
        checks.push(trust(e, ev, rerun));
    }
    let statements: Vec<Statement> = ev
        .policies
        .iter()
        .flat_map(|(_, d)| evaluate::statements(d))
        .collect();
    let request = TidbRequest::new(subject, e, ev);
    checks.push(permissions(subject, e, ev, &statements, rerun, &request));
    checks.extend(bucket_checks(
        subject,
        e,
        ev,
        Some((arn, &statements)),
        &request,
    ));
    checks.push(extra(e, ev, &statements, &request));
    Report::new(checks)
}

/// What TiDB Cloud's requests carry, as far as it can be known, for deciding conditions the
/// way AWS will (IAM User Guide, "AWS global condition context keys"; AWS KMS Developer Guide,
/// "kms:ViaService"). Keys that cannot be known (`aws:SourceIp`, `aws:userid`, SSE headers,
/// tags) are left unknown, so that a condition on them is a warning that names them.
pub struct TidbRequest {
    base: RequestContext,
    prefix: String,
    region: Option<String>,
    account: String,
}

impl TidbRequest {
    pub fn new(subject: &Subject, e: &Expectations, ev: &Evidence) -> TidbRequest {
        let mut base = RequestContext::default();
        // TiDB Cloud reaches S3 over HTTPS only.
        base.set("aws:SecureTransport", "true");
        let arn = ev.principal_arn.clone().unwrap_or_default();
        let account = arn.split(':').nth(4).unwrap_or_default().to_string();
        base.set("aws:PrincipalArn", &arn)
            .set("aws:PrincipalAccount", &account);
        match subject {
            Subject::Role { .. } => {
                base.set("aws:PrincipalType", "AssumedRole")
                    .absent("aws:username");
            }
            Subject::User { name } => {
                base.set("aws:PrincipalType", "User")
                    .set("aws:username", name.as_str());
                // A user's requests carry its unique ID; a role session's carries the role's
                // ID and a session name TiDB Cloud chooses, which cannot be known.
                if let Some(id) = &ev.user_id {
                    base.set("aws:userid", id);
                }
            }
        }
        // Neither an assumed role nor a long-term access key carries MFA: the key is absent,
        // not false ("The aws:MultiFactorAuthPresent key is not present in requests made using
        // long-term credentials", AWS Knowledge Center, "mfa-iam-user-aws-cli"; IAM User Guide,
        // aws:MultiFactorAuthPresent). So `Bool … false` does not match them and
        // `BoolIfExists … false` does.
        base.absent("aws:MultiFactorAuthPresent")
            .absent("aws:MultiFactorAuthAge");
        // TiDB Cloud does not come through the customer's VPC endpoints.
        for key in ["aws:SourceVpce", "aws:SourceVpc", "aws:VpcSourceIp"] {
            base.absent(key);
        }
        if let Some(region) = &ev.bucket.region {
            base.set("aws:RequestedRegion", region);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        base.set("aws:EpochTime", now.to_string()).set(
            "aws:CurrentTime",
            aws_smithy_types::DateTime::from_secs(now as i64)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default(),
        );
        TidbRequest {
            base,
            prefix: match e.location.prefix() {
                "" => String::new(),
                p => format!("{p}/"),
            },
            region: ev.bucket.region.clone(),
            account,
        }
    }

    /// The context of one action: `s3:prefix` on the listing of the directory, and for the
    /// KMS calls S3 makes for TiDB Cloud, `kms:ViaService` and `kms:CallerAccount`.
    pub fn context(&self, action: &str) -> RequestContext {
        let mut c = self.base.clone();
        if action.eq_ignore_ascii_case("s3:ListBucket") {
            c.set("s3:prefix", &self.prefix);
        } else {
            c.absent("s3:prefix");
        }
        if action.to_ascii_lowercase().starts_with("kms:") {
            if let Some(region) = &self.region {
                c.set("kms:ViaService", format!("s3.{region}.amazonaws.com"));
            }
            c.set("kms:CallerAccount", &self.account);
        } else {
            c.absent("kms:ViaService").absent("kms:CallerAccount");
        }
        c
    }

    fn decide(
        &self,
        statements: &[Statement],
        action: &str,
        resource: &str,
        principal: Option<(&str, &str)>,
    ) -> Decision {
        evaluate::decide_in(
            statements,
            action,
            resource,
            principal,
            Some(&self.context(action)),
        )
    }
}

fn exists(subject: &Subject, arn: &str, created: Option<i64>) -> Check {
    let when = created
        .map(|secs| format!(", created {}", aws_smithy_types::DateTime::from_secs(secs)))
        .unwrap_or_default();
    match subject {
        Subject::Role { arn: given, .. } if given != arn => Check::fail(
            "exists",
            format!("the role's ARN is {arn}, not {given}{when}"),
            format!("paste {arn} into the TiDB Cloud console; a role that was deleted and recreated breaks the old trust link, so set it up again in the console"),
        ),
        _ => Check::pass("exists", format!("{} exists ({arn}{when})", subject.label())),
    }
}

fn trust(e: &Expectations, ev: &Evidence, rerun: &str) -> Check {
    let Some(doc) = &ev.trust else {
        return Check::fail(
            "trust",
            "the trust policy could not be read",
            format!("set it again: {rerun}"),
        );
    };
    let Some(account) = &e.tidb_account else {
        return Check::warn(
            "trust",
            "not checked: pass --tidb-account-id and --external-id to check it",
            None,
        );
    };
    let expected = policy::trust(
        ev.partition,
        account,
        &e.external_id.iter().cloned().collect::<Vec<_>>(),
    );
    let fix = format!(
        "bring the role up to date with `{rerun}`, or set its trust policy to {}",
        policy::to_wire(&expected)
    );
    let root = policy::account_root(ev.partition, account);
    let assume: Vec<&Value> = doc
        .get("Statement")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
                .filter(|s| {
                    let actions = match s.get("Action") {
                        Some(Value::String(a)) => vec![a.as_str()],
                        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    actions
                        .iter()
                        .any(|a| evaluate::glob(&a.to_ascii_lowercase(), "sts:assumerole"))
                })
                .collect()
        })
        .unwrap_or_default();
    let principals = |s: &Value| -> Vec<String> {
        match s.get("Principal") {
            Some(Value::String(p)) => vec![p.clone()],
            Some(Value::Object(m)) => m
                .get("AWS")
                .map(|v| match v {
                    Value::String(p) => vec![p.clone()],
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    _ => vec![],
                })
                .unwrap_or_default(),
            _ => vec![],
        }
    };
    if assume
        .iter()
        .any(|s| principals(s).iter().any(|p| p == "*"))
    {
        return Check::fail(
            "trust",
            "the trust policy lets anyone (`*`) assume the role",
            fix,
        );
    }
    let Some(ours) = assume.iter().find(|s| {
        principals(s)
            .iter()
            .any(|p| *p == root || p == account.as_str())
    }) else {
        let trusted: Vec<String> = assume.iter().flat_map(|s| principals(s)).collect();
        return Check::fail(
            "trust",
            format!(
                "the role trusts {}, not TiDB Cloud's account {account} ({root})",
                if trusted.is_empty() {
                    "no AWS account".to_string()
                } else {
                    trusted.join(", ")
                }
            ),
            fix,
        );
    };
    let external = ours
        .get("Condition")
        .and_then(|c| c.get("StringEquals"))
        .and_then(|c| c.get("sts:ExternalId"))
        .and_then(|v| match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            ),
            _ => None,
        });
    match (&e.external_id, external) {
        (Some(want), Some(have)) if have.iter().any(|h| h == want.as_str()) => {
            let others: Vec<&str> = have
                .iter()
                .map(String::as_str)
                .filter(|h| *h != want.as_str())
                .collect();
            Check::pass(
                "trust",
                match others.is_empty() {
                    true => format!("trusts {root} with external ID {want}"),
                    false => format!(
                        "trusts {root} with external ID {want}, and also the clusters with {}",
                        others.join(", ")
                    ),
                },
            )
        }
        (Some(want), Some(have)) => Check::fail(
            "trust",
            format!("the sts:ExternalId condition is {}, but the console shows {want}", have.join(", ")),
            fix,
        ),
        (Some(_), None) => Check::fail(
            "trust",
            "the trust policy has no sts:ExternalId condition: every cluster of the TiDB Cloud project could use this role",
            fix,
        ),
        (None, None) => Check::warn(
            "trust",
            format!("trusts {root} without an external ID (--no-external-id): every cluster of the project can use it"),
            None,
        ),
        (None, Some(have)) => Check::pass(
            "trust",
            format!("trusts {root} with external ID {}", have.join(", ")),
        ),
    }
}

fn permissions(
    subject: &Subject,
    e: &Expectations,
    ev: &Evidence,
    statements: &[Statement],
    rerun: &str,
    request: &TidbRequest,
) -> Check {
    let needed = required(ev.partition, e, None);
    let mut missing = Vec::new();
    let mut conditional = Vec::new();
    let bucket_policy: Vec<Statement> = match &ev.bucket.policy {
        Ok(Some(doc)) => evaluate::statements(doc),
        _ => Vec::new(),
    };
    let principal = ev.principal_arn.as_deref().unwrap_or_default();
    let account = request.account.as_str();
    let mut by_bucket = Vec::new();
    let mut disagreements: Vec<String> = Vec::new();
    for (i, (action, resource)) in needed.iter().enumerate() {
        let mut local = request.decide(statements, action, resource, None);
        let mut bucket_note = None;
        if local == Decision::ImplicitDeny {
            let granted = request
                .decide(&bucket_policy, action, resource, Some((principal, account)))
                .allowed();
            match (granted, ev.bucket_in_account) {
                (true, Some(true)) => {
                    by_bucket.push(format!("{action} on {}", shown(resource)));
                    local = Decision::Allowed { unknown: vec![] };
                }
                (true, None) => {
                    bucket_note = Some(format!(
                        "{action} on {} is granted only by the bucket policy, which is enough only if bucket {} is in account {account}, and that could not be read",
                        shown(resource),
                        e.location.bucket()
                    ))
                }
                (true, Some(false)) => {
                    bucket_note = Some(format!(
                        "{action} on {} is granted by the bucket policy, but bucket {} is in another account, where the role's own policy must grant it too",
                        shown(resource),
                        e.location.bucket()
                    ))
                }
                _ => {}
            }
        }
        let bounded = within_boundary(ev, action, resource, request);
        let allowed = local.allowed() && bounded.is_none();
        // IAM's simulator only confirms or refutes: where it disagrees, both are named.
        if let Some(sim) = ev.simulated.as_ref().and_then(|r| r.get(i)) {
            if sim.allowed != allowed {
                let sample = samples(request, &[(action.clone(), resource.clone())]);
                let what = |yes: bool| if yes { "allows" } else { "denies" };
                let missing = match sim.missing_context.is_empty() {
                    true => String::new(),
                    false => format!(" (it lacked {})", sim.missing_context.join(", ")),
                };
                disagreements.push(format!(
                    "IAM's policy simulator {} {action} on {}{missing}, where the local evaluation {} it",
                    what(sim.allowed),
                    sample[0].resource,
                    what(allowed),
                ));
            }
        }
        if let Decision::Allowed { unknown } = &local {
            if !unknown.is_empty() {
                conditional.push(format!(
                    "{action} on {resource} (depends on {})",
                    unknown.join(", ")
                ));
            }
        }
        if !allowed {
            missing.push(match (bounded, bucket_note) {
                (Some(why), _) if local.allowed() => why,
                (_, Some(note)) => note,
                _ => explain_missing(statements, action, resource, &local, e),
            });
        }
    }
    let how = match &ev.boundary {
        None => "local evaluation of every attached, inline and group policy".to_string(),
        Some((arn, _)) => format!(
            "local evaluation of every attached, inline and group policy, within the permissions boundary {arn}"
        ),
    };
    let how = match &ev.simulated {
        Some(_) if disagreements.is_empty() => {
            format!("{how}, confirmed by IAM's policy simulator")
        }
        _ => how,
    };

    let how = match by_bucket.is_empty() {
        true => how,
        false => format!("{how}; by the bucket policy: {}", by_bucket.join(", ")),
    };
    if missing.is_empty() {
        let found = format!(
            "{} allows {} ({how})",
            subject.label(),
            needed
                .iter()
                .map(|(a, r)| format!("{a} on {}", shown(r)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut doubts = Vec::new();
        if !conditional.is_empty() {
            doubts.push(format!(
                "what TiDB Cloud's request cannot be known to carry decides {}",
                conditional.join(", ")
            ));
        }
        doubts.extend(disagreements);
        return match doubts.is_empty() {
            true => Check::pass("permissions", found),
            false => Check::warn(
                "permissions",
                format!("{found}; but {}", doubts.join("; ")),
                Some("make sure those conditions hold for TiDB Cloud's requests (HTTPS, from outside your VPC endpoints, without MFA), and read the policies where IAM's simulator disagrees".into()),
            ),
        };
    }
    let grant = policy::permissions(ev.partition, &e.location, e.access, &[], e.bucket_location);
    missing.extend(disagreements);
    Check::fail(
        "permissions",
        missing.join("; "),
        format!(
            "run `{rerun}`, or add these statements to its policy: {}",
            policy::to_wire(&grant["Statement"])
        ),
    )
}

/// Why the permissions boundary, if there is one, keeps `action` on `resource` from taking
/// effect; `None` when it allows it. An identity's effective permissions are what both its
/// policies and its boundary allow (IAM User Guide, "Permissions boundaries for IAM entities").
fn within_boundary(
    ev: &Evidence,
    action: &str,
    resource: &str,
    request: &TidbRequest,
) -> Option<String> {
    let (arn, doc) = ev.boundary.as_ref()?;
    let decision = request.decide(&evaluate::statements(doc), action, resource, None);
    (!decision.allowed()).then(|| {
        format!(
            "{action} on {resource} is allowed by the policies but not by the permissions boundary {arn}"
        )
    })
}

fn explain_missing(
    statements: &[Statement],
    action: &str,
    resource: &str,
    local: &Decision,
    e: &Expectations,
) -> String {
    if let Decision::ExplicitDeny { sid, .. } = local {
        return format!(
            "{action} on {resource} is denied by {}",
            sid.as_ref()
                .map_or("a Deny statement".to_string(), |s| format!("statement {s}"))
        );
    }
    let resource = &shown(resource);
    let granted = evaluate::granted_resources(statements, action);
    let no_star = resource.trim_end_matches('*').trim_end_matches('/');
    if granted
        .iter()
        .any(|g| g == no_star || *g == format!("{no_star}/"))
    {
        return format!(
            "{action} is granted on {no_star} without the trailing /*, which names no object; it must be {resource}"
        );
    }
    let bucket_prefix = format!(
        "{}/",
        policy::bucket_arn(
            Partition::of_arn(resource).unwrap_or(Partition::Aws),
            &e.location
        )
    );
    let directory = resource.trim_end_matches('*');
    if let Some(part) = granted
        .iter()
        .find(|g| g.starts_with(directory) && g.len() > directory.len())
    {
        return format!("{action} is granted on {part}, only part of {resource}");
    }
    if let Some(other) = granted.iter().find(|g| g.starts_with(&bucket_prefix)) {
        return format!("{action} is granted on {other}, another directory, not on {resource}");
    }
    format!("{action} is not allowed on {resource}")
}

/// The bucket's key: an AWS-managed key works only inside the bucket's account; a
/// customer-managed key must be enabled, granted by the identity policy, and let in by its key
/// policy (which either enables IAM policies for the account or names the principal).
fn kms_check(
    subject: &Subject,
    e: &Expectations,
    ev: &Evidence,
    who: Option<(&String, &Vec<Statement>)>,
    request: &TidbRequest,
) -> Check {
    let bucket = e.location.bucket();
    if let Some(key) = &ev.bucket.aws_managed_key {
        return match ev.bucket.aws_managed_key_usable {
            Some(true) => Check::pass(
                "kms",
                format!("bucket {bucket} uses the AWS-managed key {key}, which principals of the bucket's own account, {} among them, can use through S3", subject.label()),
            ),
            Some(false) => Check::fail(
                "kms",
                format!("bucket {bucket} is encrypted with the AWS-managed key {key} of another account, which {} can never use", subject.label()),
                "switch the bucket's default encryption to a customer-managed KMS key whose key policy names the role or user (then grant it), or to SSE-S3",
            ),
            None => Check::warn(
                "kms",
                format!("bucket {bucket} uses the AWS-managed key {key}, which only principals of the bucket's own account can use; whether {} is in that account could not be read", subject.label()),
                Some("make sure the role or user is in the bucket's account".into()),
            ),
        };
    }
    let Some(key) = &ev.bucket.kms_key else {
        return match ev.bucket.encryption_known {
            false => Check::warn(
                "kms",
                "the bucket's default encryption could not be read (s3:GetEncryptionConfiguration)",
                Some(
                    "if it uses SSE-KMS, make sure the policy grants kms:Decrypt on its key".into(),
                ),
            ),
            true => Check::pass(
                "kms",
                "no customer-managed KMS key to grant (SSE-S3 or none)",
            ),
        };
    };
    let Some((arn, statements)) = who else {
        return Check::warn(
            "kms",
            format!("the bucket's key is {key}; not checked, since the principal does not exist"),
            None,
        );
    };
    let facts = ev.key.clone().unwrap_or(KeyFacts {
        state: None,
        account: None,
        policy: Ok(None),
    });
    match facts.state.as_deref() {
        Some("Disabled") => {
            return Check::fail(
                "kms",
                format!(
                    "the bucket's key {key} is disabled, so nothing can decrypt or encrypt with it"
                ),
                format!("aws kms enable-key --key-id {key}"),
            )
        }
        Some("PendingDeletion") => {
            return Check::fail(
                "kms",
                format!("the bucket's key {key} is scheduled for deletion and unusable"),
                format!(
                "aws kms cancel-key-deletion --key-id {key} && aws kms enable-key --key-id {key}"
            ),
            )
        }
        Some(state) if state != "Enabled" => {
            return Check::fail(
                "kms",
                format!("the bucket's key {key} is {state}, not Enabled"),
                format!(
                "make {key} usable again (AWS KMS Developer Guide, \"Key states of AWS KMS keys\")"
            ),
            )
        }
        _ => {}
    }
    let lacking: Vec<&str> = policy::kms_actions(e.access)
        .into_iter()
        .filter(|a| {
            !request.decide(statements, a, key.as_str(), None).allowed()
                || within_boundary(ev, a, key.as_str(), request).is_some()
        })
        .collect();
    if !lacking.is_empty() {
        return Check::fail(
            "kms",
            format!(
                "the bucket is encrypted with {key}, but {} lacks {} on it",
                subject.label(),
                lacking.join(" and ")
            ),
            format!(
                "add this statement to its policy: {} (or rerun with --kms-key {key})",
                json!({"Effect": "Allow", "Action": policy::kms_actions(e.access), "Resource": key.as_str()})
            ),
        );
    }
    let account = request.account.as_str();
    let key_account = facts.account.clone().unwrap_or_else(|| {
        key.as_str()
            .split(':')
            .nth(4)
            .unwrap_or_default()
            .to_string()
    });
    match &facts.policy {
        Ok(Some(doc)) => {
            let key_statements = evaluate::statements(doc);
            let refused: Vec<&str> = policy::kms_actions(e.access)
                .into_iter()
                .filter(|a| !request.decide(&key_statements, a, key.as_str(), Some((arn, account))).allowed())
                .collect();
            if !refused.is_empty() {
                return Check::fail(
                    "kms",
                    format!("the key policy of {key} lets {} use neither its IAM policy nor {} itself", subject.label(), refused.join(" and ")),
                    format!(
                        "add to the key policy: {}",
                        json!({"Sid": "AllowTiDBCloudAccess", "Effect": "Allow", "Principal": {"AWS": arn}, "Action": policy::kms_actions(e.access), "Resource": "*"})
                    ),
                );
            }
            Check::pass("kms", format!("the bucket's key {key} is enabled, granted, and its key policy lets {} in", subject.label()))
        }
        Ok(None) | Err(_) if key_account != account => Check::warn(
            "kms",
            format!("the bucket's key {key} is in account {key_account}, not {account}; its key policy must name {arn}, and it could not be read here"),
            Some(format!("ask the key's owner to add {arn} to the key policy with {}", policy::kms_actions(e.access).join(", "))),
        ),
        Ok(None) => Check::pass("kms", format!("the bucket's key {key} is granted")),
        Err(why) => Check::warn(
            "kms",
            format!("the bucket's key {key} is granted, but its key policy could not be read ({why})"),
            Some("make sure the key policy enables IAM policies for the account (the default \"Enable IAM User Permissions\" statement) or names the role or user".into()),
        ),
    }
}

fn bucket_checks(
    subject: &Subject,
    e: &Expectations,
    ev: &Evidence,
    who: Option<(&String, &Vec<Statement>)>,
    request: &TidbRequest,
) -> Vec<Check> {
    let bucket = e.location.bucket();
    let mut out = Vec::new();

    // KMS
    out.push(kms_check(subject, e, ev, who, request));

    // Bucket policy
    out.push(match (&ev.bucket.policy, who) {
        (Err(reason), _) => Check::warn("bucket-policy", format!("the bucket policy could not be read: {reason}"), None),
        (Ok(None), _) => Check::pass("bucket-policy", format!("bucket {bucket} has no bucket policy")),
        (Ok(Some(_)), None) => Check::warn("bucket-policy", "not checked, since the principal does not exist", None),
        (Ok(Some(doc)), Some((arn, _))) => {
            let statements = evaluate::statements(doc);
            let account = request.account.as_str();
            let mut hard = Vec::new();
            let mut soft = Vec::new();
            for (action, resource) in required(ev.partition, e, None) {
                let context = request.context(&action);
                let name = |sid: Option<String>| sid.map_or("a Deny statement".to_string(), |s| format!("statement {s}"));
                match evaluate::denial(&statements, &action, &resource, Some((arn, account)), Some(&context)) {
                    Some(evaluate::Denial::Certain(sid)) => {
                        hard.push(format!("{} denies {action} on {resource}", name(sid)))
                    }
                    Some(evaluate::Denial::Possible(sid, keys)) => soft.push(format!(
                        "{} denies {action} on {resource} depending on {}",
                        name(sid),
                        keys.join(", ")
                    )),
                    None => {}
                }
            }
            if !hard.is_empty() {
                Check::fail(
                    "bucket-policy",
                    format!("the bucket policy of {bucket}: {}", hard.join("; ")),
                    format!("remove or narrow that Deny (an explicit Deny beats any Allow): `aws s3api get-bucket-policy --bucket {bucket}`"),
                )
            } else if !soft.is_empty() {
                Check::warn(
                    "bucket-policy",
                    format!("the bucket policy of {bucket} has conditional Denies: {}", soft.join("; ")),
                    Some("make sure their conditions never hold for TiDB Cloud's requests".into()),
                )
            } else {
                Check::pass("bucket-policy", format!("the bucket policy of {bucket} denies none of the needed actions"))
            }
        }
    });

    // Object Ownership
    out.push(match &ev.bucket.ownership {
        Ok(Some(o)) if o == "BucketOwnerEnforced" => {
            Check::pass("object-ownership", "Object Ownership is \"Bucket owner enforced\"")
        }
        Ok(other) => Check::warn(
            "object-ownership",
            format!(
                "Object Ownership is {}, so objects written by another account stay that account's and may be unreadable",
                other.as_deref().map_or("not set".to_string(), |o| format!("{o:?}"))
            ),
            Some(format!(
                "aws s3api put-bucket-ownership-controls --bucket {bucket} --ownership-controls 'Rules=[{{ObjectOwnership=BucketOwnerEnforced}}]'"
            )),
        ),
        Err(reason) => Check::warn("object-ownership", format!("Object Ownership could not be read: {reason}"), None),
    });
    out
}

fn extra(
    e: &Expectations,
    ev: &Evidence,
    statements: &[Statement],
    request: &TidbRequest,
) -> Check {
    let p = ev.partition;
    let bucket = e.location.bucket();
    let account = request.account.as_str();
    let objects = policy::objects_arn(p, &e.location);
    // Existential: can it do this to anything the pattern names? Probed with sample requests.
    let can = |action: &str, region: &str| {
        evaluate::possible(statements, action, region, Some(&request.context(action)))
    };
    let mut more = Vec::new();
    if !e.access.reads() && can("s3:GetObject", &objects) {
        more.push("it can also read (s3:GetObject), though the access is export".to_string());
    }
    if !e.access.writes() && can("s3:PutObject", &objects) {
        more.push("it can also write (s3:PutObject), though the access is import".to_string());
    }
    if can("s3:DeleteObject", &objects) {
        more.push(format!(
            "it can delete objects under {} (s3:DeleteObject)",
            e.location
        ));
    }
    if !e.location.prefix().is_empty() {
        let elsewhere = format!("arn:{p}:s3:::{bucket}/tidb-verify-probe-elsewhere/x.csv");
        if let Some(action) = policy::object_actions(e.access)
            .into_iter()
            .find(|a| can(a, &elsewhere))
        {
            more.push(format!(
                "{action} reaches other directories of the bucket, not only {}",
                e.location
            ));
        }
    }
    let other_bucket = format!("arn:{p}:s3:::tidb-verify-probe-other-bucket/x.csv");
    if can("s3:GetObject", &other_bucket) {
        more.push("s3:GetObject reaches other buckets".to_string());
    }
    let beyond = [
        (
            "iam:CreateUser",
            format!("arn:{p}:iam::{account}:user/tidb-verify-probe"),
        ),
        (
            "sts:AssumeRole",
            format!("arn:{p}:iam::{account}:role/tidb-verify-probe"),
        ),
        (
            "ec2:RunInstances",
            format!("arn:{p}:ec2:us-east-1:{account}:instance/i-0"),
        ),
        (
            "dynamodb:Scan",
            format!("arn:{p}:dynamodb:us-east-1:{account}:table/t"),
        ),
    ];
    if let Some((action, _)) = beyond.iter().find(|(a, r)| can(a, r)) {
        more.push(format!(
            "it has permissions beyond S3 and KMS (e.g. {action})"
        ));
    }
    match more.is_empty() {
        true => Check::pass(
            "extra-permissions",
            format!("nothing beyond what {} needs", e.access),
        ),
        false => Check::warn(
            "extra-permissions",
            more.join("; "),
            Some(
                "narrow the policy to the statements `serverless-s3-setup role --dry-run` shows"
                    .into(),
            ),
        ),
    }
}

/// What IAM holds of the role or user: the same reads for `verify` and for the checks after
/// a setup.
#[derive(Debug, Clone, Default)]
struct Principal {
    arn: Option<String>,
    created: Option<i64>,
    trust: Option<Value>,
    policies: Vec<(String, Value)>,
    boundary: Option<(String, Value)>,
    /// The boundary's ARN, even when its document could not be read.
    boundary_arn: Option<String>,
    tags: Vec<(String, String)>,
    user_id: Option<String>,
}

impl Principal {
    /// The evidence of what IAM holds of the principal, beside the bucket as read.
    fn evidence(self, partition: Partition, bucket: BucketFacts) -> Evidence {
        Evidence {
            partition,
            principal_arn: self.arn,
            created: self.created,
            trust: self.trust,
            policies: self.policies,
            bucket,
            boundary: self.boundary,
            tags: self.tags,
            user_id: self.user_id,
            ..Evidence::default()
        }
    }
}

/// Reads the principal and every policy that applies to it; an empty `Principal` when it does
/// not exist.
async fn principal(clients: &Clients, subject: &Subject) -> Result<Principal, Error> {
    match subject {
        Subject::Role { name, .. } => {
            let Some(role) = iam::get_role(&clients.iam, name).await? else {
                return Ok(Principal::default());
            };
            let (attached, inline, boundary) = tokio::join!(
                iam::attached_role_policies(&clients.iam, name),
                iam::inline_documents(&clients.iam, PrincipalKind::Role, name),
                boundary_document(clients, role.boundary.as_deref())
            );
            let mut policies = iam::managed_documents(&clients.iam, &attached?).await?;
            policies.extend(inline?);
            Ok(Principal {
                arn: Some(role.arn),
                created: role.created,
                trust: role.trust,
                policies,
                boundary: boundary?,
                boundary_arn: role.boundary,
                tags: role.tags,
                user_id: None,
            })
        }
        Subject::User { name } => {
            let name = name.as_str();
            let Some(user) = iam::get_user(&clients.iam, name).await? else {
                return Ok(Principal::default());
            };
            let (attached, inline, groups, boundary) = tokio::join!(
                iam::attached_user_policies(&clients.iam, name),
                iam::inline_documents(&clients.iam, PrincipalKind::User, name),
                iam::groups_for_user(&clients.iam, name),
                boundary_document(clients, user.boundary.as_deref())
            );
            let mut policies = iam::managed_documents(&clients.iam, &attached?).await?;
            policies.extend(inline?);
            for group in groups? {
                let arns = iam::attached_group_policies(&clients.iam, &group).await?;
                policies.extend(iam::managed_documents(&clients.iam, &arns).await?);
                policies.extend(
                    iam::inline_documents(&clients.iam, PrincipalKind::Group, &group).await?,
                );
            }
            Ok(Principal {
                arn: Some(user.arn),
                created: None,
                trust: None,
                policies,
                boundary: boundary?,
                boundary_arn: user.boundary,
                tags: user.tags,
                user_id: Some(user.user_id),
            })
        }
    }
}

/// Reads everything the checks judge: the principal, its policies, the bucket and its key.
pub async fn gather(
    clients: &Clients,
    subject: &Subject,
    e: &Expectations,
) -> Result<Evidence, Error> {
    let bucket = detect::bucket(clients, &e.location, None, &[], true);
    let (bucket, principal) = tokio::join!(bucket, principal(clients, subject));
    let principal = principal?;
    let principal_arn = principal.arn.clone();
    let mut bucket = bucket?;
    let partition = principal_arn
        .as_deref()
        .and_then(Partition::of_arn)
        .unwrap_or_else(|| Partition::for_region(clients.region()));
    let account = principal_arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .unwrap_or_default()
        .to_string();
    let bucket_policy = matches!(bucket.policy, Ok(Some(_))) && principal_arn.is_some();
    let (usable, bucket_in_account, key) = tokio::join!(
        bucket.aws_managed_key_usable_by(clients, e.location.bucket(), &account),
        async {
            match bucket_policy {
                // Within one account the bucket policy may grant on its own (IAM User Guide,
                // "Policy evaluation for requests within a single account").
                true => {
                    let s3 = clients.s3_in(bucket.region.as_deref().unwrap_or(clients.region()));
                    crate::aws::s3::owned_by(&s3, e.location.bucket(), &account)
                        .await
                        .ok()
                }
                false => None,
            }
        },
        async {
            match &bucket.kms_key {
                Some(key) => Some(key_facts(clients, key).await),
                None => None,
            }
        }
    );
    bucket.aws_managed_key_usable = usable;
    Ok(Evidence {
        key,
        bucket_in_account,
        ..principal.evidence(partition, bucket)
    })
}

/// The access to check when `--access` is not given: what this tool recorded on the role or
/// user, or else what its policies grant under the directory. Never more than either.
pub fn access_of(ev: &Evidence, e: &Expectations) -> (Access, String) {
    if let Some((_, v)) = ev.tags.iter().find(|(k, _)| k == crate::inputs::ACCESS_TAG) {
        if let Ok(access) = v.parse::<Access>() {
            return (
                access,
                format!("{access}, as recorded on it when it was made"),
            );
        }
    }
    let statements: Vec<Statement> = ev
        .policies
        .iter()
        .flat_map(|(_, d)| evaluate::statements(d))
        .collect();
    let objects = policy::objects_arn(ev.partition, &e.location);
    let can = |action: &str| evaluate::decide(&statements, action, &objects, None).allowed();
    match (can("s3:GetObject"), can("s3:PutObject")) {
        (true, true) => (Access::Both, "both, from what its policies grant".into()),
        (false, true) => (Access::Export, "export, from what its policies grant".into()),
        (true, false) => (Access::Import, "import, from what its policies grant".into()),
        (false, false) => (
            Access::Import,
            "import, since its policies grant neither reading nor writing there (pass --access to check another)".into(),
        ),
    }
}

/// The permissions boundary's document, labelled with its ARN.
pub async fn boundary_document(
    clients: &Clients,
    arn: Option<&str>,
) -> Result<Option<(String, Value)>, Error> {
    let Some(arn) = arn else {
        return Ok(None);
    };
    let docs = iam::managed_documents(&clients.iam, &[arn.to_string()]).await?;
    Ok(Some(docs.into_iter().next().map_or_else(
        // A boundary that cannot be read allows nothing that can be shown to be allowed.
        || (arn.to_string(), json!({"Statement": []})),
        |(_, doc)| (arn.to_string(), doc),
    )))
}

/// DescribeKey and GetKeyPolicy, together; a refusal of either is noted, not fatal.
async fn key_facts(clients: &Clients, key: &crate::inputs::KmsKeyArn) -> KeyFacts {
    let kms = clients.kms_in(key.region());
    let (described, policy) = tokio::join!(
        crate::aws::kms::describe_key(&kms, key.as_str()),
        crate::aws::kms::key_policy(&kms, key.as_str())
    );
    let described = described.ok();
    KeyFacts {
        state: described.as_ref().map(|d| d.state.clone()),
        account: described.map(|d| d.account).filter(|a| !a.is_empty()),
        policy: policy.map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string()),
    }
}

/// What a setup wrote, to know when AWS shows it.
#[derive(Debug, Clone)]
pub struct Written {
    pub partition: Partition,
    pub principal_arn: String,
    /// The trust policy, for a role.
    pub trust: Option<Value>,
    pub permissions: Value,
    /// The permissions boundary the setup set; `None` when it set none (an omitted
    /// `--permissions-boundary` keeps the one a rerun finds).
    pub boundary: Option<String>,
}

/// How long the checks after a setup wait for IAM to show what was written.
const READ_BACK: std::time::Duration = std::time::Duration::from_secs(6);

/// The checks after a setup, on what AWS now holds: the role or user and its policies read
/// back as `verify` reads them; the bucket as this run read it. IAM shows what was just
/// written after a delay ("Changes that I make are not always immediately visible", IAM User
/// Guide, Troubleshooting IAM), so the reads are repeated with a backoff until they show the
/// written trust and policy, within [`READ_BACK`]. If AWS has not shown them by then, the
/// written documents are checked instead and a warning says so: never a claim without AWS's
/// answer. (IAM's policy simulator is left to `verify`; it only ever confirms.)
pub async fn after_setup(
    clients: &Clients,
    subject: &Subject,
    e: &Expectations,
    written: Written,
    bucket: BucketFacts,
) -> Report {
    let deadline = tokio::time::Instant::now() + READ_BACK;
    let mut delay = std::time::Duration::from_millis(200);
    let why = loop {
        match principal(clients, subject).await {
            Ok(p) if shows(&p, &written) => {
                let evidence = p.evidence(written.partition, bucket);
                return checks(subject, e, &evidence, &rerun(subject, e));
            }
            Ok(_) if tokio::time::Instant::now() + delay < deadline => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Ok(_) => {
                break format!(
                "IAM did not show what this run wrote within {} s (it is eventually consistent)",
                READ_BACK.as_secs()
            )
            }
            Err(err) => break format!("reading it back failed: {err}"),
        }
    };
    let boundary = boundary_document(clients, written.boundary.as_deref())
        .await
        .unwrap_or(None);
    let evidence = Evidence::written(
        written.partition,
        written.principal_arn,
        written.trust,
        written.permissions,
        bucket,
        boundary,
    );
    let mut report = checks(subject, e, &evidence, &rerun(subject, e));
    report.checks.push(Check::warn(
        "read-back",
        format!("{why}; the checks above judged the documents this run wrote, not AWS's copy"),
        Some(format!(
            "in a minute, `{}` reads it back",
            verify_command(subject, e)
        )),
    ));
    report.read_back = false;
    report
}

/// The `verify` command line for this subject and these expectations.
fn verify_command(subject: &Subject, e: &Expectations) -> String {
    let mut words = vec!["serverless-s3-setup".to_string(), "verify".into()];
    match subject {
        Subject::Role { arn, .. } => words.extend(["--role-arn".into(), arn.clone()]),
        Subject::User { name } => words.extend(["--user-name".into(), name.to_string()]),
    }
    words.extend([
        "--uri".into(),
        e.location.to_string(),
        "--access".into(),
        e.access.to_string(),
    ]);
    if let Subject::Role { .. } = subject {
        if let Some(account) = &e.tidb_account {
            words.extend(["--tidb-account-id".into(), account.to_string()]);
        }
        match &e.external_id {
            Some(id) => words.extend(["--external-id".into(), id.to_string()]),
            None => words.push("--no-external-id".into()),
        }
    }
    crate::output::command_line(words.iter().map(String::as_str))
}

/// Whether what IAM returned holds what a setup wrote: the principal, its trust, its policy
/// and its boundary.
fn shows(p: &Principal, written: &Written) -> bool {
    p.arn.is_some()
        && written
            .trust
            .as_ref()
            .is_none_or(|t| p.trust.as_ref().is_some_and(|live| policy::same(live, t)))
        && p.policies
            .iter()
            .any(|(_, doc)| policy::same(doc, &written.permissions))
        && written
            .boundary
            .as_ref()
            .is_none_or(|b| p.boundary_arn.as_ref() == Some(b))
}

/// On stderr after a setup: one line when all is well, else each finding with its fix.
pub fn show_after_setup(ctx: &Context, report: &Report, access: Access, changed: bool) {
    // Object Ownership matters where objects cross accounts, as when TiDB Cloud writes (an
    // export); the setting is advised by the run that makes or changes the setup, not on every
    // rerun. A setting that could not be read (no fix to give) is always said. `verify` and the
    // JSON report always carry it.
    let shown: Vec<&Check> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .filter(|c| {
            !(c.name == "object-ownership"
                && c.status == Status::Warn
                && c.fix.is_some()
                && (access == Access::Import || !changed))
        })
        .collect();
    let pass = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass)
        .count();
    // "verified" only for what was read back from AWS, and only without a failed check.
    if report.read_back && report.ok {
        let all = report.checks.len();
        let notes = match (pass == all, shown.is_empty()) {
            (true, _) => format!("all {all} checks"),
            (false, false) => format!("{pass} of {all} checks (notes below)"),
            (false, true) => format!("{pass} of {all} checks (`verify` lists the rest)"),
        };
        ctx.ui.info(format!(
            "{} verified: read back from AWS, it passes {notes}",
            ctx.ui.green("✓")
        ));
    }
    for c in shown {
        let line = format!("check {}: {}", c.name, c.finding);
        let fix = c
            .fix
            .as_ref()
            .map(|f| format!("\n  fix: {f}"))
            .unwrap_or_default();
        match c.status {
            Status::Fail => ctx.ui.warn(format!(
                "{line}{fix}\n  TiDB Cloud will get AccessDenied until this is fixed."
            )),
            _ => ctx
                .ui
                .info(format!("{} {line}{fix}", ctx.ui.yellow("note:"))),
        }
    }
}

/// `verify`'s inputs, as given.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    pub subject: Option<Subject>,
    pub location: Option<S3Location>,
    pub access: Option<Access>,
    pub tidb_account: Option<AccountId>,
    pub external_id: Option<ExternalId>,
    pub no_external_id: bool,
    /// `--tier`: Dedicated also needs `s3:GetBucketLocation`.
    pub tier: Option<crate::inputs::Tier>,
}

/// The command that sets this up again, for fixes.
fn rerun(subject: &Subject, e: &Expectations) -> String {
    match subject {
        Subject::Role { name, .. } => format!(
            "serverless-s3-setup role --uri {} --access {} --role-name {name} --tidb-account-id {} {}",
            e.location,
            e.access,
            e.tidb_account.as_ref().map_or("ID".to_string(), |a| a.to_string()),
            e.external_id.as_ref().map_or("--no-external-id".to_string(), |x| format!("--external-id {x}")),
        ),
        Subject::User { name } => format!(
            "serverless-s3-setup access-key --uri {} --access {} --user-name {name}",
            e.location, e.access
        ),
    }
}

/// Runs `verify`. A principal that is not found is looked up again with a short backoff, since
/// IAM takes a moment to show what was just made.
pub async fn run(ctx: &Context, req: VerifyRequest) -> Result<Report, Error> {
    let mut missing = Vec::new();
    if req.subject.is_none() {
        missing.push("--role-arn or --user-name");
    }
    if req.location.is_none() {
        missing.push("--uri");
    }
    if matches!(req.subject, Some(Subject::Role { .. })) {
        if req.tidb_account.is_none() {
            missing.push("--tidb-account-id");
        }
        if req.external_id.is_none() && !req.no_external_id {
            missing.push("--external-id (or --no-external-id)");
        }
    }
    if !missing.is_empty() {
        return Err(Error::Missing {
            flags: missing.into_iter().map(str::to_string).collect(),
            hint: String::new(),
        });
    }
    let subject = req.subject.expect("checked");
    let clients = Clients::connect(&ctx.conn, &ctx.ui).await?;
    // A file or pattern URI is checked as the directory it is served by, as `role` grants it.
    let (location, located) =
        detect::locate(Some(&clients), req.location.expect("checked")).await?;
    located.tell(ctx);
    let mut e = Expectations {
        location,
        access: req.access.unwrap_or(Access::Import),
        tidb_account: req.tidb_account,
        external_id: req.external_id,
        bucket_location: matches!(subject, Subject::User { .. })
            || req.tier.unwrap_or_default().reads_bucket_location(),
    };
    let step = ctx.ui.step(format!("Checking {}", subject.label()));
    let mut delay = std::time::Duration::from_millis(500);
    let mut evidence = gather(&clients, &subject, &e).await;
    for _ in 0..3 {
        match &evidence {
            Ok(ev) if ev.principal_arn.is_none() => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                evidence = gather(&clients, &subject, &e).await;
            }
            _ => break,
        }
    }
    let mut evidence = match evidence {
        Ok(ev) => ev,
        Err(err) => {
            step.fail();
            return Err(err);
        }
    };
    if req.access.is_none() && evidence.principal_arn.is_some() {
        let (access, why) = access_of(&evidence, &e);
        ctx.ui.info(format!("checking access: {why}"));
        e.access = access;
    }
    if let Some(arn) = &evidence.principal_arn {
        let needed = required(evidence.partition, &e, None);
        let request = TidbRequest::new(&subject, &e, &evidence);
        evidence.simulated = iam::simulate(&clients.iam, arn, &samples(&request, &needed)).await;
    }
    step.done("done");
    Ok(checks(&subject, &e, &evidence, &rerun(&subject, &e)))
}

/// The text form: one line a check, with its fix under it.
pub fn render_text(ctx: &Context, report: &Report) -> String {
    let ui = &ctx.ui;
    let mut lines = Vec::new();
    for c in &report.checks {
        let mark = match c.status {
            Status::Pass => ui.green("✓ pass"),
            Status::Warn => ui.yellow("! warn"),
            Status::Fail => ui.red("✗ FAIL"),
        };
        lines.push(format!("{mark}  {:<18} {}", c.name, c.finding));
        if let Some(fix) = &c.fix {
            if c.status != Status::Pass {
                lines.push(format!("        {:<18} fix: {fix}", ""));
            }
        }
    }
    let fails = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    lines.push(match fails {
        0 => "all checks passed".to_string(),
        n => format!("{n} check(s) failed"),
    });
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expectations(access: Access) -> Expectations {
        Expectations {
            location: "s3://bkt1/dir/".parse().unwrap(),
            access,
            tidb_account: Some("380838443567".parse().unwrap()),
            external_id: Some("ext-1".parse().unwrap()),
            bucket_location: false,
        }
    }

    fn role() -> Subject {
        Subject::role("arn:aws:iam::123456789012:role/r").unwrap()
    }

    fn good(access: Access) -> Evidence {
        let e = expectations(access);
        Evidence {
            principal_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            trust: Some(policy::trust(
                Partition::Aws,
                e.tidb_account.as_ref().unwrap(),
                &e.external_id.iter().cloned().collect::<Vec<_>>(),
            )),
            policies: vec![(
                "p".into(),
                policy::permissions(Partition::Aws, &e.location, access, &[], false),
            )],
            bucket: BucketFacts {
                region: Some("us-east-1".into()),
                encryption_known: true,
                ownership: Ok(Some("BucketOwnerEnforced".into())),
                ..BucketFacts::default()
            },
            ..Evidence::default()
        }
    }

    /// `aws:userid` is known for a user (its unique ID); for a role session it holds a session
    /// name TiDB Cloud chooses, so a condition on it warns.
    #[test]
    fn the_userid_of_a_user_is_known_and_of_a_role_session_not() {
        let deny_others = json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotLike": {"aws:userid": ["AIDAEXAMPLE", "AROAEXAMPLE:*"]}}});
        let user = Subject::User {
            name: "dir".parse().unwrap(),
        };
        let e = Expectations {
            tidb_account: None,
            external_id: None,
            ..expectations(Access::Import)
        };
        let mut ev = good(Access::Import);
        ev.principal_arn = Some("arn:aws:iam::123456789012:user/dir".into());
        ev.trust = None;
        ev.user_id = Some("AIDAEXAMPLE".into());
        ev.policies
            .push(("d".into(), json!({"Statement": [deny_others.clone()]})));
        assert_eq!(
            status(&checks(&user, &e, &ev, "x"), "permissions"),
            Status::Pass
        );
        ev.user_id = Some("AIDAOTHER".into());
        assert_eq!(
            status(&checks(&user, &e, &ev, "x"), "permissions"),
            Status::Fail
        );

        let mut ev = good(Access::Import);
        ev.policies
            .push(("d".into(), json!({"Statement": [deny_others]})));
        let r = checks(&role(), &expectations(Access::Import), &ev, "x");
        let c = r.checks.iter().find(|c| c.name == "permissions").unwrap();
        assert!(
            c.status == Status::Warn && c.finding.contains("aws:userid"),
            "{}",
            c.finding
        );
    }

    /// Issue 14, cause 3: within one account, the bucket policy may grant on its own.
    #[test]
    fn a_bucket_policy_grant_counts_within_the_account() {
        let e = expectations(Access::Import);
        let mut ev = good(Access::Import);
        ev.policies = vec![(
            "p".into(),
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"}]}),
        )];
        ev.bucket.policy = Ok(Some(json!({"Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/r"},
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": "arn:aws:s3:::bkt1/dir/*"
        }]})));
        let permissions = |ev: &Evidence| {
            let r = checks(&role(), &e, ev, "x");
            r.checks
                .into_iter()
                .find(|c| c.name == "permissions")
                .unwrap()
        };
        ev.bucket_in_account = Some(true);
        let c = permissions(&ev);
        assert!(
            c.status == Status::Pass && c.finding.contains("by the bucket policy"),
            "{}",
            c.finding
        );
        ev.bucket_in_account = None;
        let c = permissions(&ev);
        assert!(
            c.status == Status::Fail && c.finding.contains("enough only if"),
            "{}",
            c.finding
        );
        ev.bucket_in_account = Some(false);
        let c = permissions(&ev);
        assert!(
            c.status == Status::Fail && c.finding.contains("another account"),
            "{}",
            c.finding
        );
    }

    /// Issue 14, cause 5: policy variables stand for the principal's values.
    #[test]
    fn policy_variables_are_substituted_for_the_principal() {
        let user = Subject::User {
            name: "dir".parse().unwrap(),
        };
        let e = Expectations {
            access: Access::Import,
            tidb_account: None,
            external_id: None,
            bucket_location: false,
            ..expectations(Access::Import)
        };
        let with = |version: &str, extra: Option<Value>| {
            let mut statements = vec![
                json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::bkt1/${aws:username}/*"}),
                json!({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"}),
            ];
            statements.extend(extra);
            let mut ev = good(Access::Import);
            ev.principal_arn = Some("arn:aws:iam::123456789012:user/dir".into());
            ev.trust = None;
            ev.policies = vec![(
                "p".into(),
                json!({"Version": version, "Statement": statements}),
            )];
            status(&checks(&user, &e, &ev, "x"), "permissions")
        };
        assert_eq!(
            with("2012-10-17", None),
            Status::Pass,
            "${{aws:username}} is dir"
        );
        assert_eq!(
            with("2008-10-17", None),
            Status::Fail,
            "in the old version the text is literal"
        );
        let deny = json!({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::${aws:PrincipalAccount}-nothing/*"});
        assert_eq!(with("2012-10-17", Some(deny)), Status::Pass);
        let deny = json!({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt1/${aws:username}/*"});
        assert_eq!(
            with("2012-10-17", Some(deny)),
            Status::Fail,
            "a Deny with a variable applies"
        );
        // A role session has no aws:username: such a grant matches nothing for it.
        let mut ev = good(Access::Import);
        ev.policies = vec![(
            "p".into(),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::bkt1/${aws:username}/*"},
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"}]}),
        )];
        assert_eq!(
            status(&checks(&role(), &e, &ev, "x"), "permissions"),
            Status::Fail
        );
    }

    /// Issue 14, causes 6 and 7: extras are probed existentially, and the folder key itself is
    /// not an object TiDB Cloud reads.
    #[test]
    fn extras_are_probed_and_the_folder_key_is_not_needed() {
        let e = expectations(Access::Both);
        let with = |doc: Value| {
            let mut ev = good(Access::Both);
            ev.policies = vec![("p".into(), doc)];
            checks(&role(), &e, &ev, "x")
        };
        let find =
            |r: &Report, name: &str| r.checks.iter().find(|c| c.name == name).unwrap().clone();
        let every_bucket = with(json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], "Resource": "arn:aws:s3:::*/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"}]}));
        let c = find(&every_bucket, "extra-permissions");
        assert!(
            c.status == Status::Warn && c.finding.contains("other buckets"),
            "{}",
            c.finding
        );
        let admin = with(json!({"Statement": [
            {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::bkt1/dir/secret/*"}]}));
        let c = find(&admin, "extra-permissions");
        assert!(
            c.status == Status::Warn && c.finding.contains("beyond S3"),
            "{}",
            c.finding
        );
        // Nor can it read everything under dir/: dir/secret/ is left out.
        assert_eq!(find(&admin, "permissions").status, Status::Fail);

        let folder_key_left_out = with(json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], "Resource": "arn:aws:s3:::bkt1/dir/?*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"}]}));
        let c = find(&folder_key_left_out, "permissions");
        assert_eq!(c.status, Status::Pass, "{}", c.finding);
        let part = with(json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], "Resource": "arn:aws:s3:::bkt1/dir/a*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"}]}));
        let c = find(&part, "permissions");
        assert!(
            c.status == Status::Fail && c.finding.contains("only part of arn:aws:s3:::bkt1/dir/*"),
            "{}",
            c.finding
        );
    }

    /// Issue 14, cause 1: each minimal case with AWS's documented answer. GOOD is the tool's own
    /// policy for `s3://bkt1/dir/` and `both`; each case adds one policy to the role.
    #[test]
    fn conditions_are_decided_against_tidb_clouds_request() {
        let e = expectations(Access::Both);
        let key = "arn:aws:kms:us-east-1:123456789012:key/k1";
        let cases: Vec<(&str, Value, &str, Status)> = vec![
            (
                "deny insecure transport: TiDB Cloud uses HTTPS",
                json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                "permissions",
                Status::Pass,
            ),
            (
                "region guardrail that allows the bucket's region",
                json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}),
                "permissions",
                Status::Pass,
            ),
            (
                "region guardrail that leaves the bucket's region out",
                json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}),
                "permissions",
                Status::Fail,
            ),
            (
                "deny without MFA: the key is absent for a role session, so Bool does not match",
                json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}),
                "permissions",
                Status::Pass,
            ),
            (
                "deny without MFA, IfExists: the absent key makes it apply",
                json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}),
                "permissions",
                Status::Fail,
            ),
            (
                "a deny on the source IP cannot be judged",
                json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}),
                "permissions",
                Status::Warn,
            ),
            (
                "s3:* everywhere is an extra, whatever a deny for plain HTTP says",
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
                "extra-permissions",
                Status::Warn,
            ),
        ];
        for (what, statements, check, want) in cases {
            let mut ev = good(Access::Both);
            ev.policies
                .push(("case".into(), json!({"Statement": statements})));
            let r = checks(&role(), &e, &ev, "x");
            let c = r.checks.iter().find(|c| c.name == check).unwrap();
            assert_eq!(c.status, want, "{what}: {}", c.finding);
        }

        // Allows that can never hold for TiDB Cloud do not count.
        let only_if = |condition: Value| {
            let mut ev = good(Access::Both);
            ev.policies = vec![(
                "p".into(),
                json!({"Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], "Resource": "arn:aws:s3:::bkt1/dir/*"},
                    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1", "Condition": condition}
                ]}),
            )];
            status(&checks(&role(), &e, &ev, "x"), "permissions")
        };
        assert_eq!(
            only_if(json!({"StringLike": {"s3:prefix": "other/*"}})),
            Status::Fail
        );
        assert_eq!(
            only_if(json!({"StringLike": {"s3:prefix": "dir/*"}})),
            Status::Pass
        );
        assert_eq!(
            only_if(json!({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})),
            Status::Fail
        );

        // S3 calls KMS for TiDB Cloud: kms:ViaService is s3.<region>.amazonaws.com.
        let kms = |service: &str| {
            let mut ev = good(Access::Import);
            ev.bucket.kms_key = Some(key.parse().unwrap());
            ev.policies.push((
                "k".into(),
                json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key, "Condition": {"StringEquals": {"kms:ViaService": service}}}]}),
            ));
            status(
                &checks(&role(), &expectations(Access::Import), &ev, "x"),
                "kms",
            )
        };
        assert_eq!(kms("s3.us-east-1.amazonaws.com"), Status::Pass);
        assert_eq!(kms("ec2.us-east-1.amazonaws.com"), Status::Fail);
    }

    fn status(report: &Report, name: &str) -> Status {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} check"))
            .status
    }

    #[test]
    fn a_good_setup_passes_every_check() {
        for access in Access::ALL {
            let r = checks(&role(), &expectations(access), &good(access), "rerun");
            assert!(r.ok, "{r:#?}");
            assert!(r.checks.iter().all(|c| c.status == Status::Pass), "{r:#?}");
        }
    }

    #[test]
    fn role_arns_are_parsed() {
        assert_eq!(
            Subject::role("arn:aws:iam::123456789012:role/path/to/r").unwrap(),
            Subject::Role {
                arn: "arn:aws:iam::123456789012:role/path/to/r".into(),
                name: "r".into()
            }
        );
        for bad in [
            "r",
            "arn:aws:iam::123:role/r",
            "arn:aws:s3:::b",
            "arn:aws:iam::123456789012:user/u",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert!(Subject::role(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_role_fails_exists_and_skips_the_rest_of_its_checks() {
        let ev = Evidence {
            principal_arn: None,
            ..good(Access::Import)
        };
        let r = checks(
            &role(),
            &expectations(Access::Import),
            &ev,
            "serverless-s3-setup role …",
        );
        assert!(!r.ok);
        assert_eq!(status(&r, "exists"), Status::Fail);
        assert!(r.checks.iter().all(|c| c.name != "trust"));
        assert!(r.checks[0]
            .fix
            .as_ref()
            .unwrap()
            .contains("serverless-s3-setup role"));
    }

    #[test]
    fn a_recreated_or_pasted_wrong_arn_fails_exists() {
        let ev = Evidence {
            principal_arn: Some("arn:aws:iam::123456789012:role/path/r".into()),
            ..good(Access::Import)
        };
        let r = checks(&role(), &expectations(Access::Import), &ev, "x");
        assert_eq!(status(&r, "exists"), Status::Fail);
    }

    #[test]
    fn trust_problems_are_named() {
        let e = expectations(Access::Import);
        let wrong_account = Evidence {
            trust: Some(policy::trust(
                Partition::Aws,
                &"111122223333".parse().unwrap(),
                &e.external_id.iter().cloned().collect::<Vec<_>>(),
            )),
            ..good(Access::Import)
        };
        let r = checks(&role(), &e, &wrong_account, "x");
        let c = r.checks.iter().find(|c| c.name == "trust").unwrap();
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.finding.contains("111122223333") && c.finding.contains("380838443567"),
            "{}",
            c.finding
        );

        let no_condition = Evidence {
            trust: Some(policy::trust(
                Partition::Aws,
                e.tidb_account.as_ref().unwrap(),
                &[],
            )),
            ..good(Access::Import)
        };
        let c = checks(&role(), &e, &no_condition, "x")
            .checks
            .into_iter()
            .find(|c| c.name == "trust")
            .unwrap();
        assert!(
            c.status == Status::Fail && c.finding.contains("no sts:ExternalId"),
            "{}",
            c.finding
        );

        let other_id = Evidence {
            trust: Some(policy::trust(
                Partition::Aws,
                e.tidb_account.as_ref().unwrap(),
                &["other".parse().unwrap()],
            )),
            ..good(Access::Import)
        };
        let c = checks(&role(), &e, &other_id, "x")
            .checks
            .into_iter()
            .find(|c| c.name == "trust")
            .unwrap();
        assert!(
            c.status == Status::Fail && c.finding.contains("other") && c.finding.contains("ext-1"),
            "{}",
            c.finding
        );
        assert!(c.fix.unwrap().contains("sts:ExternalId"));

        let anyone = Evidence {
            trust: Some(
                json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
            ),
            ..good(Access::Import)
        };
        let c = checks(&role(), &e, &anyone, "x")
            .checks
            .into_iter()
            .find(|c| c.name == "trust")
            .unwrap();
        assert!(c.status == Status::Fail && c.finding.contains("anyone"));
    }

    #[test]
    fn permission_problems_are_explained() {
        let e = expectations(Access::Import);
        let doc = |resource: &str| {
            json!({"Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": resource},
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"},
            ]})
        };
        let finding = |resource: &str| {
            let ev = Evidence {
                policies: vec![("p".into(), doc(resource))],
                ..good(Access::Import)
            };
            let c = checks(&role(), &e, &ev, "x")
                .checks
                .into_iter()
                .find(|c| c.name == "permissions")
                .unwrap();
            assert_eq!(c.status, Status::Fail);
            c.finding
        };
        assert!(finding("arn:aws:s3:::bkt1/dir").contains("without the trailing /*"));
        assert!(finding("arn:aws:s3:::bkt1/other/*").contains("another directory"));

        let export_only = Evidence {
            policies: vec![(
                "p".into(),
                policy::permissions(Partition::Aws, &e.location, Access::Export, &[], false),
            )],
            ..good(Access::Import)
        };
        let c = checks(&role(), &e, &export_only, "x")
            .checks
            .into_iter()
            .find(|c| c.name == "permissions")
            .unwrap();
        assert!(
            c.status == Status::Fail && c.finding.contains("s3:GetObject is not allowed"),
            "{}",
            c.finding
        );
    }

    fn kms_of(r: &Report) -> Check {
        r.checks.iter().find(|c| c.name == "kms").unwrap().clone()
    }

    /// `bkt1/*.csv` and `bkt1/dir/*` share `bkt1/dir/x.csv`, though neither covers the other:
    /// a Deny on the first blocks TiDB Cloud's CSV import from the second.
    #[test]
    fn a_deny_with_a_wildcard_in_the_middle_fails_permissions() {
        let e = expectations(Access::Import);
        let mut ev = good(Access::Import);
        ev.policies.push((
            "no-csv".into(),
            json!({"Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt1/*.csv"}]}),
        ));
        let r = checks(&role(), &e, &ev, "x");
        let c = r.checks.iter().find(|c| c.name == "permissions").unwrap();
        assert_eq!(c.status, Status::Fail, "{}", c.finding);
    }

    #[test]
    fn a_permissions_boundary_caps_what_the_policies_allow() {
        let e = expectations(Access::Import);
        let mut ev = good(Access::Import);
        let arn = "arn:aws:iam::123456789012:policy/boundary";
        ev.boundary = Some((
            arn.into(),
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}),
        ));
        let r = checks(&role(), &e, &ev, "x");
        let c = r.checks.iter().find(|c| c.name == "permissions").unwrap();
        assert_eq!(c.status, Status::Fail, "{}", c.finding);
        assert!(
            c.finding.contains("s3:GetObject")
                && c.finding.contains("not by the permissions boundary"),
            "{}",
            c.finding
        );
        ev.boundary = Some((
            arn.into(),
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        ));
        let r = checks(&role(), &e, &ev, "x");
        let c = r.checks.iter().find(|c| c.name == "permissions").unwrap();
        assert_eq!(c.status, Status::Pass, "{}", c.finding);
        assert!(
            c.finding.contains(arn),
            "the boundary is reported: {}",
            c.finding
        );
    }

    #[test]
    fn kms_bucket_policy_ownership_and_extras() {
        let e = expectations(Access::Export);
        let key = "arn:aws:kms:us-east-1:123456789012:key/k1";
        let mut ev = good(Access::Export);
        ev.bucket.kms_key = Some(key.parse().unwrap());
        let c = checks(&role(), &e, &ev, "x")
            .checks
            .into_iter()
            .find(|c| c.name == "kms")
            .unwrap();
        assert!(
            c.status == Status::Fail && c.finding.contains("kms:Decrypt and kms:GenerateDataKey"),
            "{}",
            c.finding
        );
        ev.policies = vec![(
            "p".into(),
            policy::permissions(
                Partition::Aws,
                &e.location,
                Access::Export,
                &[key.parse().unwrap()],
                false,
            ),
        )];
        assert_eq!(status(&checks(&role(), &e, &ev, "x"), "kms"), Status::Pass);

        // A customer-managed key must be enabled and let the principal in by its key policy.
        let granted = ev.clone();
        for (state, want) in [
            ("Enabled", Status::Pass),
            ("Disabled", Status::Fail),
            ("PendingDeletion", Status::Fail),
            ("Unavailable", Status::Fail),
        ] {
            ev.key = Some(KeyFacts {
                state: Some(state.into()),
                account: Some("123456789012".into()),
                policy: Ok(None),
            });
            let c = kms_of(&checks(&role(), &e, &ev, "x"));
            assert_eq!(c.status, want, "{state}: {}", c.finding);
            if want == Status::Fail {
                assert!(c.fix.as_deref().unwrap().contains(key), "{state}");
            }
        }
        let with_policy = |doc: Value| KeyFacts {
            state: Some("Enabled".into()),
            account: Some("123456789012".into()),
            policy: Ok(Some(doc)),
        };
        // The default key policy delegates to IAM policies for the whole account.
        ev.key = Some(with_policy(
            json!({"Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]}),
        ));
        assert_eq!(status(&checks(&role(), &e, &ev, "x"), "kms"), Status::Pass);
        // One that names only an administrator does not let the role in.
        ev.key = Some(with_policy(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/admin"}, "Action": "kms:*", "Resource": "*"}]}),
        ));
        let c = kms_of(&checks(&role(), &e, &ev, "x"));
        assert_eq!(c.status, Status::Fail, "{}", c.finding);
        assert!(c.fix.unwrap().contains("AllowTiDBCloudAccess"));
        // A key in another account must name the role; unread, that is a warning.
        ev.key = Some(KeyFacts {
            state: Some("Enabled".into()),
            account: Some("999999999999".into()),
            policy: Err("kms:GetKeyPolicy failed: AccessDenied".into()),
        });
        let c = kms_of(&checks(&role(), &e, &ev, "x"));
        assert!(
            c.status == Status::Warn && c.finding.contains("999999999999"),
            "{}",
            c.finding
        );
        ev = granted;

        // The AWS-managed key serves principals of the bucket's own account only.
        ev.bucket.aws_managed_key = Some("aws/s3".into());
        for (usable, want) in [
            (Some(true), Status::Pass),
            (Some(false), Status::Fail),
            (None, Status::Warn),
        ] {
            ev.bucket.aws_managed_key_usable = usable;
            assert_eq!(
                status(&checks(&role(), &e, &ev, "x"), "kms"),
                want,
                "{usable:?}"
            );
        }
        ev.bucket.aws_managed_key = None;

        ev.bucket.policy = Ok(Some(
            json!({"Statement": [{"Sid": "NoWrites", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bkt1/*"}]}),
        ));
        let c = checks(&role(), &e, &ev, "x")
            .checks
            .into_iter()
            .find(|c| c.name == "bucket-policy")
            .unwrap();
        assert!(
            c.status == Status::Fail && c.finding.contains("NoWrites"),
            "{}",
            c.finding
        );
        // Conditions are decided against TiDB Cloud's request (issue 14): it always uses
        // HTTPS, so the common "deny insecure transport" never applies to it ...
        ev.bucket.policy = Ok(Some(
            json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt1/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
        ));
        assert_eq!(
            status(&checks(&role(), &e, &ev, "x"), "bucket-policy"),
            Status::Pass
        );
        // ... it never comes through the customer's VPC endpoint, so a VPCE-only policy denies it ...
        ev.bucket.policy = Ok(Some(
            json!({"Statement": [{"Sid": "VpceOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::bkt1", "arn:aws:s3:::bkt1/*"], "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}]}),
        ));
        let c = checks(&role(), &e, &ev, "x");
        let c = c.checks.iter().find(|c| c.name == "bucket-policy").unwrap();
        assert!(
            c.status == Status::Fail && c.finding.contains("VpceOnly"),
            "{}",
            c.finding
        );
        // ... and a Deny that depends on its source IP, which cannot be known, warns with the key.
        ev.bucket.policy = Ok(Some(
            json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt1/*", "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}]}),
        ));
        let c = checks(&role(), &e, &ev, "x");
        let c = c.checks.iter().find(|c| c.name == "bucket-policy").unwrap();
        assert!(
            c.status == Status::Warn && c.finding.contains("aws:SourceIp"),
            "{}",
            c.finding
        );
        ev.bucket.policy = Ok(None);

        ev.bucket.ownership = Ok(None);
        assert_eq!(
            status(&checks(&role(), &e, &ev, "x"), "object-ownership"),
            Status::Warn
        );

        ev.policies.push(("extra".into(), json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt1/dir/*"}]})));
        let r = checks(&role(), &e, &ev, "x");
        let c = r
            .checks
            .iter()
            .find(|c| c.name == "extra-permissions")
            .unwrap();
        assert!(
            c.status == Status::Warn && c.finding.contains("can also read"),
            "{}",
            c.finding
        );
        assert!(r.ok, "warnings do not fail the report");
    }
}
