//! Whether the policies allow what the access needs, within any permissions boundary.

use super::{required, samples, shown, TidbRequest};
use crate::inputs::Partition;
use crate::policy;
use crate::verify::evaluate::{self, Decision, Statement};
use crate::verify::{Check, Evidence, Expectations, Subject};

pub(super) fn permissions(
    subject: &Subject,
    e: &Expectations,
    ev: &Evidence,
    statements: &[Statement],
    rerun: &str,
    request: &TidbRequest,
) -> Check {
    let needed = required(ev.partition, e, None);
    let bucket_policy: Vec<Statement> = match &ev.bucket.policy {
        Ok(Some(doc)) => evaluate::statements(doc),
        _ => Vec::new(),
    };
    let mut tally = Tally::default();
    for (i, (action, resource)) in needed.iter().enumerate() {
        let judge = Judge {
            e,
            ev,
            statements,
            bucket_policy: &bucket_policy,
            request,
        };
        judge.one(&mut tally, i, action, resource);
    }
    let Tally {
        mut missing,
        conditional,
        by_bucket,
        disagreements,
    } = tally;
    let how = how_judged(ev, disagreements.is_empty(), &by_bucket);
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
        return if doubts.is_empty() {
            Check::pass("permissions", found)
        } else {
            Check::warn(
            "permissions",
            format!("{found}; but {}", doubts.join("; ")),
            Some("make sure those conditions hold for TiDB Cloud's requests (HTTPS, from outside your VPC endpoints, without MFA), and read the policies where IAM's simulator disagrees".into()),
        )
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

/// What the permissions check found, action by action.
#[derive(Default)]
struct Tally {
    /// Why each action that is not allowed is not.
    missing: Vec<String>,
    /// Actions allowed only under conditions TiDB Cloud's request may not meet.
    conditional: Vec<String>,
    /// Actions that only the bucket policy grants, in the bucket's own account.
    by_bucket: Vec<String>,
    /// Where IAM's policy simulator and the local evaluation disagree.
    disagreements: Vec<String>,
}

/// What one action is judged against.
struct Judge<'a> {
    e: &'a Expectations,
    ev: &'a Evidence,
    statements: &'a [Statement],
    bucket_policy: &'a [Statement],
    request: &'a TidbRequest,
}

impl Judge<'_> {
    /// Judges the `i`th needed action on `resource`, and tallies the finding.
    fn one(&self, tally: &mut Tally, i: usize, action: &String, resource: &String) {
        let (e, ev, request) = (self.e, self.ev, self.request);
        let mut local = request.decide(self.statements, action, resource, None);
        let mut bucket_note = None;
        // A bucket in another account lets in only what its own policy grants too
        // ("Cross-account policy evaluation logic", IAM User Guide): the role's policy alone
        // is not enough.
        if local.allowed()
            && self.ev.bucket_in_account == Some(false)
            && !self.bucket_allows(action, resource)
        {
            let has = match &self.ev.bucket.policy {
                Ok(Some(_)) => "does not grant it",
                Ok(None) => "has none",
                Err(_) => "could not be read",
            };
            bucket_note = Some(format!(
                "{action} on {} is granted by the role's own policy, but bucket {} is in another account, whose bucket policy must grant it too, and {has}",
                shown(resource),
                e.location.bucket(),
            ));
            local = Decision::ImplicitDeny;
        } else if local == Decision::ImplicitDeny {
            match self.bucket_grant(action, resource) {
                Some(Ok(granted)) => {
                    tally.by_bucket.push(granted);
                    local = Decision::Allowed { unknown: vec![] };
                }
                Some(Err(note)) => bucket_note = Some(note),
                None => {}
            }
        }
        let bounded = within_boundary(ev, action, resource, request);
        let allowed = local.allowed() && bounded.is_none();
        // IAM's simulator only confirms or refutes: where it disagrees, both are named.
        if let Some(sim) = ev.simulated.as_ref().and_then(|r| r.get(i)) {
            if sim.allowed != allowed {
                let sample = samples(request, &[(action.clone(), resource.clone())]);
                let what = |yes: bool| if yes { "allows" } else { "denies" };
                let missing = if sim.missing_context.is_empty() {
                    String::new()
                } else {
                    format!(" (it lacked {})", sim.missing_context.join(", "))
                };
                tally.disagreements.push(format!(
                    "IAM's policy simulator {} {action} on {}{missing}, where the local evaluation {} it",
                    what(sim.allowed),
                    sample[0].resource,
                    what(allowed),
                ));
            }
        }
        if let Decision::Allowed { unknown } = &local {
            if !unknown.is_empty() {
                tally.conditional.push(format!(
                    "{action} on {resource} (depends on {})",
                    unknown.join(", ")
                ));
            }
        }
        if !allowed {
            tally.missing.push(match (bounded, bucket_note) {
                (Some(why), _) if local.allowed() => why,
                (_, Some(note)) => note,
                _ => explain_missing(self.statements, action, resource, &local, e),
            });
        }
    }

    /// What the bucket policy says of an action the identity's policies do not grant:
    /// `Ok` when it grants it in the bucket's own account (enough there), `Err` with why it
    /// may not be enough, `None` when it does not grant it.
    fn bucket_grant(&self, action: &str, resource: &str) -> Option<Result<String, String>> {
        let account = self.request.account.as_str();
        let bucket = self.e.location.bucket();
        match (self.bucket_allows(action, resource), self.ev.bucket_in_account) {
            (false, _) => None,
            (true, Some(true)) => Some(Ok(format!("{action} on {}", shown(resource)))),
            (true, None) => Some(Err(format!(
                "{action} on {} is granted only by the bucket policy, which is enough only if bucket {bucket} is in account {account}, and that could not be read",
                shown(resource),
            ))),
            (true, Some(false)) => Some(Err(format!(
                "{action} on {} is granted by the bucket policy, but bucket {bucket} is in another account, where the role's own policy must grant it too",
                shown(resource),
            ))),
        }
    }
}

impl Judge<'_> {
    /// Whether the bucket policy allows the principal `action` on `resource`.
    fn bucket_allows(&self, action: &str, resource: &str) -> bool {
        let principal = self.ev.principal_arn.as_deref().unwrap_or_default();
        let account = self.request.account.as_str();
        self.request
            .decide(
                self.bucket_policy,
                action,
                resource,
                Some((principal, account)),
            )
            .allowed()
    }
}

/// How the permissions were judged, as the check's finding says it.
fn how_judged(ev: &Evidence, simulator_agrees: bool, by_bucket: &[String]) -> String {
    let mut how = match &ev.boundary {
        None => "local evaluation of every attached, inline and group policy".to_string(),
        Some((arn, _)) => format!(
            "local evaluation of every attached, inline and group policy, within the permissions boundary {arn}"
        ),
    };
    if ev.simulated.is_some() && simulator_agrees {
        how.push_str(", confirmed by IAM's policy simulator");
    }
    if !by_bucket.is_empty() {
        how.push_str(&format!("; by the bucket policy: {}", by_bucket.join(", ")));
    }
    how
}

/// Why the permissions boundary, if there is one, keeps `action` on `resource` from taking
/// effect; `None` when it allows it. An identity's effective permissions are what both its
/// policies and its boundary allow (IAM User Guide, "Permissions boundaries for IAM entities").
pub(super) fn within_boundary(
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
            sid.as_ref().map_or_else(
                || "a Deny statement".to_string(),
                |s| format!("statement {s}")
            )
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
