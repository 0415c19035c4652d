//! The teardown plan: what removing a role or a user takes, in the order IAM requires (IAM
//! User Guide, "Deleting roles or instance profiles" and "Deleting an IAM user": what holds
//! the principal goes first, then the principal), from what was read. Pure, so the rules are
//! unit-tested: what this tool did not make is refused without `--force`, and a managed
//! policy goes with its role or user only when this tool made it and nothing else uses it.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::facts::{OtherCredentials, PolicyInfo, RoleInfo, UserInfo};
use crate::inputs::{RoleName, UserName, Who};

/// One request of a teardown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "delete", rename_all = "snake_case")]
pub(crate) enum Deletion {
    /// Takes the role out of an instance profile (which is not deleted: it may serve others).
    FromInstanceProfile {
        role: RoleName,
        profile: String,
    },
    InlinePolicy {
        who: Who,
        name: String,
    },
    Detach {
        who: Who,
        policy: String,
    },
    /// A managed policy's non-default version, before the policy.
    PolicyVersion {
        policy: String,
        version: String,
    },
    AccessKey {
        user: UserName,
        id: String,
    },
    FromGroup {
        user: UserName,
        group: String,
    },
    /// The user's console password.
    LoginProfile {
        user: UserName,
    },
    /// Takes an MFA device off the user.
    MfaDevice {
        user: UserName,
        serial: String,
    },
    /// A virtual MFA device, once taken off the user.
    VirtualMfaDevice {
        serial: String,
    },
    SigningCertificate {
        user: UserName,
        id: String,
    },
    SshPublicKey {
        user: UserName,
        id: String,
    },
    Principal(Who),
    Policy {
        arn: String,
    },
}

impl std::fmt::Display for Deletion {
    /// What the request deletes, for a teardown cut short: `attachment of policy P to role r`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Deletion::FromInstanceProfile { role, profile } => {
                write!(f, "role {role} in instance profile {profile}")
            }
            Deletion::InlinePolicy { who, name } => write!(f, "inline policy {name} of {who}"),
            Deletion::Detach { who, policy } => write!(f, "attachment of policy {policy} to {who}"),
            Deletion::PolicyVersion { policy, version } => {
                write!(f, "version {version} of policy {policy}")
            }
            Deletion::AccessKey { user, id } => write!(f, "access key {id} of user {user}"),
            Deletion::FromGroup { user, group } => write!(f, "user {user} in group {group}"),
            Deletion::LoginProfile { user } => write!(f, "console password of user {user}"),
            Deletion::MfaDevice { user, serial } => write!(f, "MFA device {serial} of user {user}"),
            Deletion::VirtualMfaDevice { serial } => write!(f, "virtual MFA device {serial}"),
            Deletion::SigningCertificate { user, id } => {
                write!(f, "signing certificate {id} of user {user}")
            }
            Deletion::SshPublicKey { user, id } => write!(f, "SSH public key {id} of user {user}"),
            Deletion::Principal(who) => write!(f, "{who}"),
            Deletion::Policy { arn } => write!(f, "policy {arn}"),
        }
    }
}

impl Deletion {
    /// The AWS CLI command that makes the same request by hand.
    pub(crate) fn command(&self) -> String {
        match self {
            Deletion::FromInstanceProfile { role, profile } => format!(
                "aws iam remove-role-from-instance-profile --instance-profile-name {profile} --role-name {role}"
            ),
            Deletion::InlinePolicy { who, name } => format!(
                "aws iam delete-{kind}-policy --{kind}-name {} --policy-name {name}",
                who.name(),
                kind = who.kind()
            ),
            Deletion::Detach { who, policy } => format!(
                "aws iam detach-{kind}-policy --{kind}-name {} --policy-arn {policy}",
                who.name(),
                kind = who.kind()
            ),
            Deletion::PolicyVersion { policy, version } => format!(
                "aws iam delete-policy-version --policy-arn {policy} --version-id {version}"
            ),
            Deletion::AccessKey { user, id } => {
                format!("aws iam delete-access-key --user-name {user} --access-key-id {id}")
            }
            Deletion::FromGroup { user, group } => {
                format!("aws iam remove-user-from-group --user-name {user} --group-name {group}")
            }
            Deletion::LoginProfile { user } => {
                format!("aws iam delete-login-profile --user-name {user}")
            }
            Deletion::MfaDevice { user, serial } => format!(
                "aws iam deactivate-mfa-device --user-name {user} --serial-number {serial}"
            ),
            Deletion::VirtualMfaDevice { serial } => {
                format!("aws iam delete-virtual-mfa-device --serial-number {serial}")
            }
            Deletion::SigningCertificate { user, id } => format!(
                "aws iam delete-signing-certificate --user-name {user} --certificate-id {id}"
            ),
            Deletion::SshPublicKey { user, id } => format!(
                "aws iam delete-ssh-public-key --user-name {user} --ssh-public-key-id {id}"
            ),
            Deletion::Principal(who) => format!(
                "aws iam delete-{kind} --{kind}-name {}",
                who.name(),
                kind = who.kind()
            ),
            Deletion::Policy { arn } => format!("aws iam delete-policy --policy-arn {arn}"),
        }
    }
}

/// What a teardown deletes: `first` together, then `last` together (the principal and its
/// policies, once nothing holds them). `lines` is the plan a person confirms, one request or
/// two a line (`delete role r`); `reported`, what the outcome lists as deleted (`role r`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Teardown {
    pub(crate) first: Vec<Deletion>,
    pub(crate) last: Vec<Deletion>,
    pub(crate) lines: Vec<String>,
    pub(crate) reported: Vec<String>,
}

impl Teardown {
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_empty() && self.last.is_empty()
    }

    /// The role or user itself, deleted before its policies, once nothing holds it.
    fn principal(&mut self, who: Who) {
        self.lines.push(format!("delete {who}"));
        self.reported.push(who.to_string());
        self.last.insert(0, Deletion::Principal(who));
    }

    /// A request of the first group, with its line of the plan and of the outcome.
    fn first_step(&mut self, deletion: Deletion, line: String, reported: String) {
        self.first.push(deletion);
        self.lines.push(line);
        self.reported.push(reported);
    }
}

/// A managed policy as read for a teardown, with its non-default versions.
#[derive(Debug, Clone)]
pub(crate) struct HeldPolicy {
    pub(crate) info: PolicyInfo,
    pub(crate) old_versions: Vec<String>,
    /// Whether it is attached to the principal (a policy found on its own, left by a teardown
    /// cut short, is not).
    pub(crate) attached: bool,
}

/// The one rule for a managed policy: it goes with its role or user only when this tool made
/// it and nothing else uses it; otherwise it is only detached.
pub(crate) fn deletes_policy(p: &PolicyInfo) -> bool {
    p.managed && p.attachments <= 1
}

/// What a role holds, as read: its instance profiles, inline policies and managed policies.
#[derive(Debug, Clone)]
pub(crate) struct RoleHoldings {
    pub(crate) name: RoleName,
    pub(crate) info: RoleInfo,
    pub(crate) profiles: Vec<String>,
    pub(crate) inline: Vec<String>,
    pub(crate) policies: Vec<HeldPolicy>,
    /// The stack its tags name is gone (deleted with the role retained, or by hand): the role
    /// was left behind, and is deleted as one made with IAM.
    pub(crate) stack_gone: bool,
}

/// Tears a role down. A role this tool did not make is refused without `force`; a stack's role
/// is the stack's to delete.
pub(crate) fn role(held: &RoleHoldings, force: bool) -> Result<Teardown, Error> {
    let name = &held.name;
    if !held.info.managed && !force {
        return Err(refuse(format!("role {name}")));
    }
    if let Some(stack) = held.info.stack.as_ref().filter(|_| !held.stack_gone) {
        let region = held
            .info
            .stack_region
            .as_deref()
            .map(|r| format!(" --region {r}"))
            .unwrap_or_default();
        // The wrong flag for what the name is: usage, and nothing is changed.
        return Err(Error::invalid(
            "--role-name",
            format!(
                "role {name} belongs to CloudFormation stack {stack}; deleting it alone would leave the stack broken\n  fix: serverless-s3-setup teardown --stack-name {stack}{region}"
            ),
        ));
    }
    let who = Who::Role(name.clone());
    let mut t = Teardown::default();
    from_instance_profiles(&mut t, name, &held.profiles);
    inline_policies(&mut t, &who, &held.inline);
    policies(&mut t, &who, &held.policies);
    t.principal(who);
    if let (Some(stack), true, Some(line)) = (&held.info.stack, held.stack_gone, t.lines.last_mut())
    {
        line.push_str(&format!(
            " (left behind by its stack {stack}, which is gone)"
        ));
    }
    Ok(t)
}

/// What someone added by hand to a stack's role: CloudFormation knows none of it, and IAM
/// refuses to delete a role that still holds any (IAM API Reference, DeleteRole), so the stack's
/// deletion would fail. Each is taken off first, as from a role made with IAM; a policy
/// attached by hand stays, detached. The stack's own inline policy (`own`) is CloudFormation's.
pub(crate) fn stack_role_additions(
    role: &RoleName,
    own: Option<&str>,
    attached: &[String],
    inline: &[String],
    profiles: &[String],
) -> Teardown {
    let who = Who::Role(role.clone());
    let mut t = Teardown::default();
    from_instance_profiles(&mut t, role, profiles);
    // Each is reported as it names itself: `inline policy P of role R`.
    let mut take_off = |deletion: Deletion, line: String| {
        let reported = deletion.to_string();
        t.first_step(deletion, line, reported);
    };
    for name in inline.iter().filter(|n| Some(n.as_str()) != own) {
        let line = format!("delete inline policy {name} of role {role} (added by hand)");
        let (who, name) = (who.clone(), name.clone());
        take_off(Deletion::InlinePolicy { who, name }, line);
    }
    for arn in attached {
        let line =
            format!("detach policy {arn} from role {role} (attached by hand; the policy stays)");
        let (who, policy) = (who.clone(), arn.clone());
        take_off(Deletion::Detach { who, policy }, line);
    }
    t
}

fn from_instance_profiles(t: &mut Teardown, role: &RoleName, profiles: &[String]) {
    for profile in profiles {
        t.first_step(
            Deletion::FromInstanceProfile {
                role: role.clone(),
                profile: profile.clone(),
            },
            format!("remove role {role} from instance profile {profile}"),
            format!("role {role} from instance profile {profile}"),
        );
    }
}

/// A policy this tool made, left without its role or user (a teardown cut short, or the
/// principal deleted by hand).
pub(crate) fn orphan(policy: &HeldPolicy) -> Teardown {
    let arn = &policy.info.arn;
    let mut t = Teardown {
        lines: vec![format!("delete policy {arn} (left without its role)")],
        reported: vec![format!("policy {arn} (left without its role)")],
        ..Teardown::default()
    };
    t.first.extend(old_versions(policy));
    t.last.push(Deletion::Policy { arn: arn.clone() });
    t
}

/// What a user holds, as read: its keys, and (for a whole teardown) its groups, inline and
/// managed policies.
#[derive(Debug, Clone)]
pub(crate) struct UserHoldings {
    pub(crate) name: UserName,
    pub(crate) info: UserInfo,
    /// The keys to delete (all, or the one asked for).
    pub(crate) keys: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) inline: Vec<String>,
    pub(crate) policies: Vec<HeldPolicy>,
    /// What a person added, which IAM requires be deleted before the user; `None` when it
    /// could not be read (then IAM's refusal, if any, comes at the user's deletion).
    pub(crate) credentials: Option<OtherCredentials>,
}

/// Deletes a user's keys, and with `with_user` the user itself with what holds it. A user this
/// tool did not make is refused without `force`; so is one holding credentials a person added
/// (a console password, MFA devices, signing certificates, SSH keys), which go with it under
/// `force`, as Terraform's `force_destroy` has it.
pub(crate) fn user(held: &UserHoldings, with_user: bool, force: bool) -> Result<Teardown, Error> {
    let name = &held.name;
    if !held.info.managed && !force {
        return Err(Error::NotManaged {
            kind: "user",
            name: name.to_string(),
            flag: "--user-name",
        });
    }
    let who = Who::User(name.clone());
    let mut t = Teardown::default();
    for id in &held.keys {
        t.first_step(
            Deletion::AccessKey {
                user: name.clone(),
                id: id.clone(),
            },
            format!("delete access key {id}"),
            format!("access key {id}"),
        );
    }
    if !with_user {
        return Ok(t);
    }
    if let Some(credentials) = &held.credentials {
        if !credentials.is_empty() && !force {
            return Err(added_by_hand(name, credentials));
        }
        other_credentials(&mut t, name, credentials);
    }
    inline_policies(&mut t, &who, &held.inline);
    policies(&mut t, &who, &held.policies);
    for group in &held.groups {
        t.first_step(
            Deletion::FromGroup {
                user: name.clone(),
                group: group.clone(),
            },
            format!("remove user {name} from group {group}"),
            format!("user {name} from group {group}"),
        );
    }
    t.principal(who);
    Ok(t)
}

fn added_by_hand(name: &UserName, credentials: &OtherCredentials) -> Error {
    Error::Conflict(format!(
        "user {name} holds {}: credentials this tool never makes, which IAM requires be deleted before the user; someone added them, so teardown leaves the user alone\n  fix: to delete them with the user, serverless-s3-setup teardown --user-name {name} --force",
        credentials.described().join(", ")
    ))
}

/// A person's credentials on the user: each taken off first; a virtual MFA device, once off
/// the user, is deleted beside it.
fn other_credentials(t: &mut Teardown, user: &UserName, credentials: &OtherCredentials) {
    if credentials.password {
        t.first_step(
            Deletion::LoginProfile { user: user.clone() },
            format!("delete the console password of user {user}"),
            format!("console password of user {user}"),
        );
    }
    for serial in &credentials.mfa_devices {
        let mfa = Deletion::MfaDevice {
            user: user.clone(),
            serial: serial.clone(),
        };
        // A virtual device's serial number is its ARN; a hardware device's is not, and a
        // hardware device is only taken off.
        if serial.starts_with("arn:") {
            t.first_step(
                mfa,
                format!("deactivate and delete virtual MFA device {serial}"),
                format!("virtual MFA device {serial}"),
            );
            let serial = serial.clone();
            t.last.push(Deletion::VirtualMfaDevice { serial });
        } else {
            t.first_step(
                mfa,
                format!("deactivate MFA device {serial} of user {user}"),
                format!("MFA device {serial} of user {user} (deactivated)"),
            );
        }
    }
    for id in &credentials.signing_certificates {
        t.first_step(
            Deletion::SigningCertificate {
                user: user.clone(),
                id: id.clone(),
            },
            format!("delete signing certificate {id}"),
            format!("signing certificate {id}"),
        );
    }
    for id in &credentials.ssh_public_keys {
        t.first_step(
            Deletion::SshPublicKey {
                user: user.clone(),
                id: id.clone(),
            },
            format!("delete SSH public key {id}"),
            format!("SSH public key {id}"),
        );
    }
}

fn inline_policies(t: &mut Teardown, who: &Who, names: &[String]) {
    for policy in names {
        t.first_step(
            Deletion::InlinePolicy {
                who: who.clone(),
                name: policy.clone(),
            },
            format!("delete inline policy {policy}"),
            format!("inline policy {policy}"),
        );
    }
}

/// Each policy detached first; one that goes loses its old versions first too, and is deleted
/// last, beside its principal.
fn policies(t: &mut Teardown, who: &Who, held: &[HeldPolicy]) {
    for p in held {
        let arn = &p.info.arn;
        let goes = deletes_policy(&p.info);
        let (line, reported) = match (p.attached, goes) {
            (true, true) => (format!("detach and delete policy {arn}"), format!("policy {arn}")),
            (false, true) => (format!("delete policy {arn}"), format!("policy {arn}")),
            (true, false) => (
                format!("detach policy {arn} (it stays: it is not this tool's, or is used elsewhere)"),
                format!("attachment of policy {arn} (the policy stays: it is not this tool's, or is used elsewhere)"),
            ),
            (false, false) => continue,
        };
        t.lines.push(line);
        t.reported.push(reported);
        if p.attached {
            t.first.push(Deletion::Detach {
                who: who.clone(),
                policy: arn.clone(),
            });
        }
        if goes {
            t.first.extend(old_versions(p));
            t.last.push(Deletion::Policy { arn: arn.clone() });
        }
    }
}

fn old_versions(p: &HeldPolicy) -> impl Iterator<Item = Deletion> + '_ {
    p.old_versions.iter().map(|v| Deletion::PolicyVersion {
        policy: p.info.arn.clone(),
        version: v.clone(),
    })
}

/// A role or stack that this tool did not make: left alone without `--force`.
pub(crate) fn refuse(what: String) -> Error {
    Error::Conflict(format!(
        "{what} has no managed-by=serverless-s3-setup tag, so teardown leaves it alone\n  fix: pass --force to delete it anyway"
    ))
}
