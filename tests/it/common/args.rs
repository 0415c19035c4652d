//! Typed command lines for the binary: what a test varies, with the suite's defaults for the
//! rest, so that no test spells out `role`'s dozen flags by hand.

use super::{EXTERNAL_ID, TIDB_ACCOUNT};

/// A `role` or `access-key` command line.
///
/// Defaults: `--access import`; for a role, TiDB Cloud's test account and one external ID
/// ([`EXTERNAL_ID`]); nothing else unless asked.
#[derive(Debug, Clone)]
pub struct SetupArgs {
    /// `role --method METHOD`, or `access-key` when `None`.
    method: Option<String>,
    uri: String,
    access: String,
    name: Option<String>,
    external_ids: Vec<String>,
    extra: Vec<String>,
}

impl SetupArgs {
    /// `role --method METHOD --uri URI`.
    pub fn role(method: &str, uri: &str) -> SetupArgs {
        SetupArgs {
            method: Some(method.to_string()),
            external_ids: vec![EXTERNAL_ID.to_string()],
            ..SetupArgs::access_key(uri)
        }
    }

    /// `access-key --uri URI`.
    pub fn access_key(uri: &str) -> SetupArgs {
        SetupArgs {
            method: None,
            uri: uri.to_string(),
            access: "import".into(),
            name: None,
            external_ids: Vec::new(),
            extra: Vec::new(),
        }
    }

    pub fn access(mut self, access: &str) -> SetupArgs {
        self.access = access.to_string();
        self
    }

    /// `--role-name`, on a role line.
    pub fn role_name(self, name: &str) -> SetupArgs {
        assert!(self.method.is_some(), "--role-name is role's");
        SetupArgs {
            name: Some(name.to_string()),
            ..self
        }
    }

    /// `--user-name`, on an access-key line.
    pub fn user_name(self, name: &str) -> SetupArgs {
        assert!(self.method.is_none(), "--user-name is access-key's");
        SetupArgs {
            name: Some(name.to_string()),
            ..self
        }
    }

    /// These external IDs in place of the default one; none gives no `--external-id`.
    pub fn external_ids(mut self, ids: &[&str]) -> SetupArgs {
        self.external_ids = ids.iter().map(|i| i.to_string()).collect();
        self
    }

    /// More flags, as given.
    pub fn args(mut self, extra: &[&str]) -> SetupArgs {
        self.extra.extend(extra.iter().map(|a| a.to_string()));
        self
    }

    /// An organisation's guardrails: this permissions boundary, the path `/tidb/`, and these
    /// tags (`key=value`).
    pub fn guardrails(self, boundary: &str, tags: &[&str]) -> SetupArgs {
        let tags = tags.iter().flat_map(|t| ["--tag", t]);
        let guards = ["--permissions-boundary", boundary, "--path", "/tidb/"];
        self.args(&guards.into_iter().chain(tags).collect::<Vec<_>>())
    }

    /// `--yes`: apply without asking.
    pub fn yes(self) -> SetupArgs {
        self.args(&["--yes"])
    }

    /// `-o json` (for a key, on stdout: text would refuse to print a secret into a pipe).
    pub fn json(self) -> SetupArgs {
        self.args(&["-o", "json"])
    }

    pub fn build(&self) -> Vec<String> {
        let mut args: Vec<String> = match &self.method {
            Some(method) => vec!["role".into(), "--method".into(), method.clone()],
            None => vec!["access-key".into()],
        };
        args.extend(["--uri", &self.uri, "--access", &self.access].map(String::from));
        if let Some(name) = &self.name {
            let flag = match self.method {
                Some(_) => "--role-name",
                None => "--user-name",
            };
            args.extend([flag.to_string(), name.clone()]);
        }
        if self.method.is_some() {
            args.extend(["--tidb-account-id".into(), TIDB_ACCOUNT.into()]);
        }
        for id in &self.external_ids {
            args.extend(["--external-id".into(), id.clone()]);
        }
        args.extend(self.extra.iter().cloned());
        args
    }
}

#[test]
fn a_role_line_holds_the_defaults_and_what_was_asked() {
    let line = SetupArgs::role("iam", "s3://b/d/")
        .role_name("r")
        .external_ids(&["a", "b"])
        .yes()
        .json()
        .build();
    assert_eq!(
        line.join(" "),
        format!("role --method iam --uri s3://b/d/ --access import --role-name r --tidb-account-id {TIDB_ACCOUNT} --external-id a --external-id b --yes -o json")
    );
    let plain = SetupArgs::role("cloudformation", "s3://b/")
        .external_ids(&[])
        .build();
    assert!(!plain.contains(&"--external-id".to_string()), "{plain:?}");
}

#[test]
fn an_access_key_line_holds_the_defaults_and_what_was_asked() {
    let line = SetupArgs::access_key("s3://b/d/")
        .access("export")
        .user_name("u")
        .guardrails("arn:b", &["team=data", "cost=42"])
        .yes()
        .build();
    assert_eq!(
        line.join(" "),
        "access-key --uri s3://b/d/ --access export --user-name u --permissions-boundary arn:b --path /tidb/ --tag team=data --tag cost=42 --yes"
    );
}
