//! The flags, read into the requests the commands take: each value through its parser, and
//! the rules between flags, each error naming its flag.

use serverless_s3_setup::error::Error;
use serverless_s3_setup::inputs::{KmsKeyArn, PolicyName, SecretPath, Who};
use serverless_s3_setup::plan::Method;
use serverless_s3_setup::requests::{
    AccessKeyRequest, DeleteRequest, KeyProbe, RoleRequest, Target, TeardownRequest, VerifyRequest,
};
use serverless_s3_setup::verify::Subject;

use super::{
    parse, AccessKeyCreateArgs, AccessKeyDeleteArgs, MethodArg, PolicyArgs, RoleArgs, TeardownArgs,
    VerifyArgs,
};

impl RoleArgs {
    pub(crate) fn into_request(self) -> Result<RoleRequest, Error> {
        let mut given = vec![
            ("--method", self.method.is_some()),
            ("--uri", self.location.uri.is_some()),
            ("--access", self.location.access.is_some()),
            ("--tidb-account-id", self.tidb_account_id.is_some()),
            ("--external-id", self.external_id.is_some()),
            ("--no-external-id", self.no_external_id),
            ("--replace-external-ids", self.replace_external_ids),
            ("--remove-external-id", !self.remove_external_ids.is_empty()),
            ("--tier", self.tidb.tier.is_some()),
            ("--cluster-id", self.tidb.cluster_id.is_some()),
            ("--role-name", self.role_name.is_some()),
            ("--stack-name", self.stack_name.is_some()),
        ];
        given.extend(self.policy.given());
        given.extend(self.guardrails.given());
        let saved = self.saved.parse(&given)?;
        let (policy_name, kms_keys, remove_kms_keys) = self.policy.parse()?;
        let (location, access) = self.location.parse()?;
        let (tier, cluster_id) = self.tidb.parse(access)?;
        let req = RoleRequest {
            method: self.method.map(|m| match m {
                MethodArg::Cloudformation => Method::Cloudformation,
                MethodArg::Iam => Method::Iam,
            }),
            method_asked: false,
            stack_name: parse("--stack-name", self.stack_name)?,
            timeout: parse("--timeout", self.timeout)?,
            wait_ready: self.wait_ready,
            location,
            access,
            tidb_account: parse("--tidb-account-id", self.tidb_account_id)?,
            external_id: parse("--external-id", self.external_id)?,
            more_external_ids: Vec::new(),
            no_external_id: self.no_external_id,
            replace_external_ids: self.replace_external_ids,
            remove_external_ids: self
                .remove_external_ids
                .into_iter()
                .map(|id| {
                    id.parse()
                        .map_err(|e| Error::invalid("--remove-external-id", e))
                })
                .collect::<Result<_, _>>()?,
            tier,
            cluster_id,
            role_name: parse("--role-name", self.role_name)?,
            policy_name,
            kms_keys,
            remove_kms_keys,
            guardrails: self.guardrails.parse()?,
            saved,
            set: None,
        };
        req.validate()?;
        Ok(req)
    }
}

/// The policy's name as given, the KMS keys to grant and those to take off.
type PolicyFlags = (Option<PolicyName>, Vec<KmsKeyArn>, Vec<KmsKeyArn>);

impl PolicyArgs {
    /// Each flag, and whether it was given.
    fn given(&self) -> [(&'static str, bool); 3] {
        [
            ("--policy-name", self.policy_name.is_some()),
            ("--kms-key", !self.kms_keys.is_empty()),
            ("--remove-kms-key", !self.remove_kms_keys.is_empty()),
        ]
    }

    fn parse(self) -> Result<PolicyFlags, Error> {
        let keys = |flag: &str, keys: Vec<String>| {
            keys.into_iter()
                .map(|k| k.parse().map_err(|e| Error::invalid(flag, e)))
                .collect::<Result<Vec<KmsKeyArn>, Error>>()
        };
        Ok((
            parse("--policy-name", self.policy_name)?,
            keys("--kms-key", self.kms_keys)?,
            keys("--remove-kms-key", self.remove_kms_keys)?,
        ))
    }
}

impl AccessKeyCreateArgs {
    pub(crate) fn into_request(self) -> Result<AccessKeyRequest, Error> {
        let mut given = vec![
            ("--uri", self.location.uri.is_some()),
            ("--access", self.location.access.is_some()),
            ("--user-name", self.user_name.is_some()),
            ("--tier", self.tidb.tier.is_some()),
            ("--cluster-id", self.tidb.cluster_id.is_some()),
            ("--rotate", self.rotate),
            ("--no-probe", self.no_probe),
            ("--probe-write", self.probe_write),
        ];
        given.extend(self.policy.given());
        given.extend(self.guardrails.given());
        let saved = self.saved.parse(&given)?;
        let (location, access) = self.location.parse()?;
        let (tier, cluster_id) = self.tidb.parse(access)?;
        let user_name = parse("--user-name", self.user_name)?;
        let (policy_name, kms_keys, remove_kms_keys) = self.policy.parse()?;
        let guardrails = self.guardrails.parse()?;
        let secret_file = self
            .secret_file
            .map(|path| SecretPath::new(path).map_err(|e| Error::invalid("--secret-file", e)))
            .transpose()?;
        let req = AccessKeyRequest {
            tier,
            cluster_id,
            location,
            access,
            user_name,
            policy_name,
            kms_keys,
            remove_kms_keys,
            secret_file,
            rotate: self.rotate,
            probe: match (self.no_probe, self.probe_write) {
                (true, _) => KeyProbe::Skip,
                (false, true) => KeyProbe::Write,
                (false, false) => KeyProbe::List,
            },
            guardrails,
            saved,
        };
        req.validate()?;
        Ok(req)
    }
}

impl AccessKeyDeleteArgs {
    pub(crate) fn into_request(self) -> Result<DeleteRequest, Error> {
        Ok(DeleteRequest {
            user_name: parse("--user-name", self.user_name)?,
            access_key_id: parse("--access-key-id", self.access_key_id)?,
            with_user: self.with_user,
            force: false,
        })
    }
}

impl VerifyArgs {
    pub(crate) fn into_request(self) -> Result<VerifyRequest, Error> {
        let (location, access) = self.location.parse()?;
        let subject = match (self.role_arn, self.user_name) {
            (Some(arn), _) => {
                Some(Subject::role(&arn).map_err(|e| Error::invalid("--role-arn", e))?)
            }
            (None, Some(user)) => Some(Subject::user(
                user.parse().map_err(|e| Error::invalid("--user-name", e))?,
            )),
            (None, None) => None,
        };
        if subject.as_ref().is_some_and(|s| !s.is_role()) {
            for (flag, given) in [
                ("--tidb-account-id", self.tidb_account_id.is_some()),
                ("--external-id", self.external_id.is_some()),
                ("--no-external-id", self.no_external_id),
            ] {
                if given {
                    return Err(Error::invalid(
                        flag,
                        "applies only to --role-arn, not --user-name",
                    ));
                }
            }
        }
        Ok(VerifyRequest {
            subject,
            location,
            access,
            tidb_account: parse("--tidb-account-id", self.tidb_account_id)?,
            external_id: parse("--external-id", self.external_id)?,
            no_external_id: self.no_external_id,
            tier: parse("--tier", self.tier)?,
        })
    }
}

impl TeardownArgs {
    pub(crate) fn into_request(self) -> Result<TeardownRequest, Error> {
        let target = match (self.role_name, self.stack_name, self.user_name) {
            (Some(r), _, _) => Some(Target::Principal(Who::Role(
                r.parse().map_err(|e| Error::invalid("--role-name", e))?,
            ))),
            (_, Some(s), _) => Some(Target::Stack(
                s.parse().map_err(|e| Error::invalid("--stack-name", e))?,
            )),
            (_, _, Some(u)) => Some(Target::Principal(Who::User(
                u.parse().map_err(|e| Error::invalid("--user-name", e))?,
            ))),
            _ => None,
        };
        Ok(TeardownRequest {
            target,
            force: self.force,
        })
    }
}
