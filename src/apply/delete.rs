//! Runs a teardown plan: its first deletions together, then its last (the principal and its
//! policies). A delete IAM answers with `DeleteConflict` just after what held the thing went is
//! retried for a moment (`when_settled`): IAM is eventually consistent on deletes too. A
//! teardown cut short says what it deleted and what is left ([`Partway`]).

use futures_util::future::join_all;

use crate::aws::iam::{self, Credential};
use crate::aws::{pending, Clients, Pending};
use crate::error::{AwsError, Error};
use crate::inputs::{UserName, Who};
use crate::plan::{Deletion, Teardown};
use crate::signals::Stop;

use super::when_settled;

/// Deletes what `plan` lists, stage by stage; stops between stages when asked. Each request of
/// a stage runs to its end, so a teardown cut short knows what it deleted and what is left.
pub(crate) async fn teardown(
    clients: &Clients,
    plan: &Teardown,
    stop: &Stop,
) -> Result<(), Partway> {
    let stages = [&plan.first, &plan.last];
    let mut deleted = Vec::new();
    for (at, stage) in stages.iter().enumerate() {
        let untried = stages[at + 1..].iter().flat_map(|s| s.iter());
        if let Err(cause) = stop.check() {
            let left = stage.iter().chain(untried).map(|d| (d.clone(), None));
            return Err(Partway::new(cause, deleted, left.collect()));
        }
        let sent = join_all(stage.iter().map(|d| delete(clients, d))).await;
        let mut cause = None;
        let mut left = Vec::new();
        for (deletion, result) in stage.iter().zip(sent) {
            match result {
                Ok(()) => deleted.push(deletion.clone()),
                Err(e) => {
                    left.push((deletion.clone(), Some(Unfinished::of(&e))));
                    cause.get_or_insert(e);
                }
            }
        }
        if let Some(cause) = cause {
            left.extend(untried.map(|d| (d.clone(), None)));
            return Err(Partway::new(cause.into(), deleted, left));
        }
    }
    Ok(())
}

/// A teardown cut short, by a failure or an interrupt: what it deleted, and what is left in
/// order, each with why it is (`None`: not tried).
#[derive(Debug)]
pub(crate) struct Partway {
    cause: Error,
    deleted: Vec<Deletion>,
    left: Vec<(Deletion, Option<Unfinished>)>,
    /// What the caller would have deleted next, and the command that deletes it by hand.
    then: Vec<(String, String)>,
}

/// Why a request of a teardown cut short did not delete its part.
#[derive(Debug)]
enum Unfinished {
    /// AWS answered with an error: nothing was deleted.
    Failed(String),
    /// No answer came (a timeout, a dropped connection): it may be deleted already.
    Unanswered,
}

impl Unfinished {
    fn of(e: &AwsError) -> Unfinished {
        match e.status {
            Some(_) => Unfinished::Failed(super::journal::first_line(e)),
            None => Unfinished::Unanswered,
        }
    }
}

impl Partway {
    fn new(
        cause: Error,
        deleted: Vec<Deletion>,
        left: Vec<(Deletion, Option<Unfinished>)>,
    ) -> Self {
        Partway {
            cause,
            deleted,
            left,
            then: Vec::new(),
        }
    }

    /// What is left besides the plan's own deletions: `what` (a stack, whose deletion was to
    /// follow), removed by hand with `command`.
    pub(crate) fn then(mut self, what: String, command: String) -> Self {
        self.then.push((what, command));
        self
    }

    /// The error to report. When nothing may have been deleted, it is the cause alone: nothing
    /// changed. Otherwise it says what was deleted, and exactly what is left, with the commands
    /// that remove it by hand, in order (`profile`, the run's, is on each); the same teardown
    /// run again finishes it too.
    pub(crate) fn error(self, profile: Option<&str>) -> Error {
        let unanswered =
            |(_, why): &(Deletion, Option<Unfinished>)| matches!(why, Some(Unfinished::Unanswered));
        if self.deleted.is_empty() && !self.left.iter().any(unanswered) {
            return match self.cause {
                Error::Interrupted(how) => {
                    Error::Interrupted(format!("{how}; nothing was deleted"))
                }
                cause => cause,
            };
        }
        let suffix = profile
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default();
        let mut text = String::from("The teardown stopped partway.");
        if !self.deleted.is_empty() {
            text.push_str(" Deleted:\n");
            for deletion in &self.deleted {
                text.push_str(&format!("  - {deletion}\n"));
            }
        }
        text.push_str("Left in AWS:\n");
        for (deletion, why) in &self.left {
            let why = match why {
                Some(Unfinished::Failed(e)) => format!(" (failed: {e})"),
                Some(Unfinished::Unanswered) => {
                    " (no answer came: it may be deleted already)".into()
                }
                None => String::new(),
            };
            text.push_str(&format!("  - {deletion}{why}\n"));
        }
        for (what, _) in &self.then {
            text.push_str(&format!("  - {what}\n"));
        }
        text.push_str(
            "To finish, run the same teardown again, or remove them, in this order, with:",
        );
        let commands = self.left.iter().map(|(d, _)| d.command());
        for command in commands.chain(self.then.iter().map(|(_, c)| c.clone())) {
            text.push_str(&format!("\n  {command}{suffix}"));
        }
        Error::Leftovers {
            cause: Box::new(self.cause),
            leftovers: text,
            went: self.deleted.iter().map(Deletion::to_string).collect(),
        }
    }
}

fn delete<'a>(clients: &'a Clients, deletion: &'a Deletion) -> Pending<'a> {
    let iam = &clients.iam;
    let remove = |user: &'a UserName, credential| {
        pending(iam::remove_credential(iam, user.as_str(), credential))
    };
    match deletion {
        Deletion::FromInstanceProfile { role, profile } => pending(
            iam::remove_role_from_instance_profile(iam, role.as_str(), profile),
        ),
        Deletion::InlinePolicy { who, name } => pending(iam::delete_inline_policy(iam, who, name)),
        Deletion::Detach { who, policy } => pending(iam::detach_policy(iam, who, policy)),
        Deletion::PolicyVersion { policy, version } => pending(when_settled(move || {
            iam::delete_policy_version(iam, policy, version)
        })),
        Deletion::AccessKey { user, id } => pending(iam::delete_access_key(iam, user.as_str(), id)),
        Deletion::FromGroup { user, group } => {
            pending(iam::remove_user_from_group(iam, user.as_str(), group))
        }
        Deletion::LoginProfile { user } => remove(user, Credential::Password),
        Deletion::MfaDevice { user, serial } => remove(user, Credential::MfaDevice(serial)),
        Deletion::VirtualMfaDevice { serial } => pending(when_settled(move || {
            iam::delete_virtual_mfa_device(iam, serial)
        })),
        Deletion::SigningCertificate { user, id } => {
            remove(user, Credential::SigningCertificate(id))
        }
        Deletion::SshPublicKey { user, id } => remove(user, Credential::SshPublicKey(id)),
        Deletion::Principal(Who::Role(role)) => {
            pending(when_settled(move || iam::delete_role(iam, role.as_str())))
        }
        Deletion::Principal(Who::User(user)) => {
            pending(when_settled(move || iam::delete_user(iam, user.as_str())))
        }
        Deletion::Policy { arn } => pending(when_settled(move || iam::delete_policy(iam, arn))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> Who {
        Who::Role("r".parse().unwrap())
    }

    fn denied() -> AwsError {
        AwsError {
            status: Some(403),
            code: Some("AccessDenied".into()),
            fix: Some("ask for iam:DeleteRole".into()),
            ..AwsError::new("iam:DeleteRole", "not allowed")
        }
    }

    fn unanswered() -> AwsError {
        AwsError::new("iam:DeletePolicy", "the request timed out")
    }

    fn policy() -> Deletion {
        Deletion::Policy {
            arn: "arn:aws:iam::123456789012:policy/p".into(),
        }
    }

    #[test]
    fn a_teardown_cut_short_lists_what_went_and_what_is_left_with_its_commands_in_order() {
        let detach = Deletion::Detach {
            who: role(),
            policy: "arn:aws:iam::123456789012:policy/p".into(),
        };
        let left = vec![
            (Deletion::Principal(role()), Some(Unfinished::of(&denied()))),
            (policy(), Some(Unfinished::of(&unanswered()))),
        ];
        let err = Partway::new(denied().into(), vec![detach], left).error(Some("prod"));
        assert_eq!(err.kind(), "leftovers");
        let Error::Leftovers { went, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            went,
            &["attachment of policy arn:aws:iam::123456789012:policy/p to role r"]
        );
        assert_eq!(err.exit_code(), 1);
        insta::assert_snapshot!(err.to_string(), @r"
        iam:DeleteRole failed: AccessDenied: not allowed
          fix: ask for iam:DeleteRole

        The teardown stopped partway. Deleted:
          - attachment of policy arn:aws:iam::123456789012:policy/p to role r
        Left in AWS:
          - role r (failed: iam:DeleteRole failed: AccessDenied: not allowed)
          - policy arn:aws:iam::123456789012:policy/p (no answer came: it may be deleted already)
        To finish, run the same teardown again, or remove them, in this order, with:
          aws iam delete-role --role-name r --profile prod
          aws iam delete-policy --policy-arn arn:aws:iam::123456789012:policy/p --profile prod
        ");
    }

    #[test]
    fn a_teardown_that_deleted_nothing_says_only_what_stopped_it() {
        let left = || vec![(Deletion::Principal(role()), None), (policy(), None)];
        let failed = Partway::new(denied().into(), Vec::new(), left()).error(None);
        assert_eq!(failed.kind(), "aws");
        let how = Error::Interrupted(" by SIGINT".into());
        let interrupted = Partway::new(how, Vec::new(), left()).error(None);
        assert_eq!(
            interrupted.to_string(),
            "interrupted by SIGINT; nothing was deleted"
        );
        assert_eq!(interrupted.exit_code(), 130);
        // Interrupted once something went: exit 130 still, with what is left.
        let how = Error::Interrupted(" by SIGTERM".into());
        let went = vec![Deletion::Detach {
            who: role(),
            policy: "arn:aws:iam::123456789012:policy/p".into(),
        }];
        let partway = Partway::new(how, went, left()).error(None);
        assert_eq!(partway.exit_code(), 130);
        assert!(partway.to_string().contains("  - role r\n"), "{partway}");
    }

    #[test]
    fn an_unanswered_request_may_have_deleted_so_it_is_never_nothing() {
        let left = vec![(policy(), Some(Unfinished::of(&unanswered())))];
        let err = Partway::new(unanswered().into(), Vec::new(), left).error(None);
        assert_eq!(err.kind(), "leftovers");
        assert!(
            err.to_string().contains("it may be deleted already"),
            "{err}"
        );
    }
}
