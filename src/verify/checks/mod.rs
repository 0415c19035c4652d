//! The checks, pure: the evidence and the expectations in, one [`Check`] each out.

mod bucket;
mod permissions;
mod trust;

use crate::aws::iam::{self};
use crate::inputs::{Access, Arn, Partition, Who};
use crate::policy;
use crate::verify::condition::Context as RequestContext;
use crate::verify::evaluate::{self, Decision, Statement};
use crate::verify::{Check, Evidence, Expectations, Report, Subject};
use bucket::bucket_checks;
use permissions::permissions;
use trust::trust;

/// The actions the access needs, each on the resource pattern it needs them on.
pub(crate) fn required(
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
pub(crate) fn samples(request: &TidbRequest, needed: &[(String, String)]) -> Vec<iam::Sample> {
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
                if let crate::verify::condition::Known::Values(v) = context.get(key) {
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
pub(crate) fn checks(subject: &Subject, e: &Expectations, ev: &Evidence, rerun: &str) -> Report {
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
    if subject.is_role() {
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
pub(crate) struct TidbRequest {
    base: RequestContext,
    prefix: String,
    region: Option<String>,
    account: String,
}

impl TidbRequest {
    pub(crate) fn new(subject: &Subject, e: &Expectations, ev: &Evidence) -> TidbRequest {
        let mut base = RequestContext::default();
        // TiDB Cloud reaches S3 over HTTPS only.
        base.set("aws:SecureTransport", "true");
        let arn = ev.principal_arn.clone().unwrap_or_default();
        let account = Arn::parse(&arn).map_or("", |a| a.account).to_string();
        base.set("aws:PrincipalArn", &arn)
            .set("aws:PrincipalAccount", &account);
        match &subject.who {
            Who::Role(_) => {
                base.set("aws:PrincipalType", "AssumedRole")
                    .absent("aws:username");
            }
            Who::User(name) => {
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
    pub(crate) fn context(&self, action: &str) -> RequestContext {
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
    match subject.role_arn() {
        Some(given) if given != arn => Check::fail(
            "exists",
            format!("the role's ARN is {arn}, not {given}{when}"),
            format!("paste {arn} into the TiDB Cloud console; a role that was deleted and recreated breaks the old trust link, so set it up again in the console"),
        ),
        _ => Check::pass("exists", format!("{} exists ({arn}{when})", subject.label())),
    }
}

fn extra(
    e: &Expectations,
    ev: &Evidence,
    statements: &[Statement],
    request: &TidbRequest,
) -> Check {
    let p = ev.partition;
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
    more.extend(reach_outside(e, p, statements, request));
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
    if more.is_empty() {
        Check::pass(
            "extra-permissions",
            format!("nothing beyond what {} needs", e.access),
        )
    } else {
        Check::warn(
            "extra-permissions",
            more.join("; "),
            Some(
                "narrow the policy to the statements `serverless-s3-setup role --dry-run` shows"
                    .into(),
            ),
        )
    }
}

/// Where the object actions reach beyond the directory and the bucket, decided on every
/// instance of the policies' own patterns (`evaluate::witnesses`), beside two fixed probes for
/// the Allows whose patterns are not an object's (`*`, `NotResource`): a line each, with an
/// example.
fn reach_outside(
    e: &Expectations,
    p: Partition,
    statements: &[Statement],
    request: &TidbRequest,
) -> Vec<String> {
    let bucket = e.location.bucket();
    let s3 = format!("arn:{p}:s3:::");
    let probes = [
        format!("{s3}{bucket}/tidb-verify-probe-elsewhere/x.csv"),
        format!("{s3}tidb-verify-probe-other-bucket/x.csv"),
    ];
    let object = |w: &str| -> Option<(String, String)> {
        let (b, k) = w.strip_prefix(s3.as_str())?.split_once('/')?;
        (!b.is_empty() && !k.is_empty()).then(|| (b.to_string(), k.to_string()))
    };
    let reach = |actions: Vec<&'static str>, outside: &dyn Fn(&str, &str) -> bool| {
        actions.into_iter().find_map(|action| {
            let context = request.context(action);
            evaluate::witnesses(statements, action, Some(&context), p.as_str())
                .into_iter()
                .chain(probes.iter().cloned())
                .filter(|w| object(w).is_some_and(|(b, k)| outside(&b, &k)))
                .find(|w| evaluate::possible(statements, action, w, Some(&context)))
                .map(|w| (action, w.trim_start_matches(s3.as_str()).to_string()))
        })
    };
    let mut more = Vec::new();
    let under = format!("{}/", e.location.prefix());
    if !e.location.prefix().is_empty() {
        let elsewhere = |b: &str, k: &str| b == bucket && !k.starts_with(&under);
        if let Some((action, example)) = reach(policy::object_actions(e.access), &elsewhere) {
            more.push(format!(
                "{action} reaches other directories of the bucket, not only {} (s3://{example}, say)",
                e.location
            ));
        }
    }
    let other_bucket = |b: &str, _: &str| b != bucket;
    if let Some((action, example)) = reach(policy::object_actions(Access::Both), &other_bucket) {
        more.push(format!(
            "{action} reaches other buckets (s3://{example}, say)"
        ));
    }
    more
}

/// The access to check when `--access` is not given: what this tool recorded on the role or
/// user, or else what its policies grant under the directory. Never more than either.
pub(crate) fn access_of(ev: &Evidence, e: &Expectations) -> (Access, String) {
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
