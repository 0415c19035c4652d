//! Typed command lines for the binary: what a test varies, with the suite's defaults for the
//! rest, so that no test spells out `role`'s dozen flags by hand.

use super::{EXTERNAL_ID, TIDB_ACCOUNT};

/// A `role` command line. Defaults: `--access import`, TiDB Cloud's test account, one external
/// ID ([`EXTERNAL_ID`]); nothing else unless asked.
#[derive(Debug, Clone)]
pub struct RoleArgs {
    method: Option<String>,
    uri: String,
    access: String,
    role_name: Option<String>,
    external_ids: Vec<String>,
    extra: Vec<String>,
}

impl RoleArgs {
    /// `role --method METHOD --uri URI`.
    pub fn new(method: &str, uri: &str) -> RoleArgs {
        RoleArgs {
            method: Some(method.to_string()),
            uri: uri.to_string(),
            access: "import".into(),
            role_name: None,
            external_ids: vec![EXTERNAL_ID.to_string()],
            extra: Vec::new(),
        }
    }

    pub fn access(mut self, access: &str) -> RoleArgs {
        self.access = access.to_string();
        self
    }

    pub fn role_name(mut self, name: &str) -> RoleArgs {
        self.role_name = Some(name.to_string());
        self
    }

    /// These external IDs in place of the default one; none gives no `--external-id`.
    pub fn external_ids(mut self, ids: &[&str]) -> RoleArgs {
        self.external_ids = ids.iter().map(|i| i.to_string()).collect();
        self
    }

    /// More flags, as given.
    pub fn args(mut self, extra: &[&str]) -> RoleArgs {
        self.extra.extend(extra.iter().map(|a| a.to_string()));
        self
    }

    /// `--yes`: apply without asking.
    pub fn yes(self) -> RoleArgs {
        self.args(&["--yes"])
    }

    /// `-o json`.
    pub fn json(self) -> RoleArgs {
        self.args(&["-o", "json"])
    }

    pub fn build(&self) -> Vec<String> {
        let mut args = vec!["role".to_string()];
        if let Some(method) = &self.method {
            args.extend(["--method".into(), method.clone()]);
        }
        args.extend([
            "--uri".into(),
            self.uri.clone(),
            "--access".into(),
            self.access.clone(),
        ]);
        if let Some(name) = &self.role_name {
            args.extend(["--role-name".into(), name.clone()]);
        }
        args.extend(["--tidb-account-id".into(), TIDB_ACCOUNT.into()]);
        for id in &self.external_ids {
            args.extend(["--external-id".into(), id.clone()]);
        }
        args.extend(self.extra.iter().cloned());
        args
    }
}

/// An `access-key` command line. Defaults: `--access import`; nothing else unless asked.
#[derive(Debug, Clone)]
pub struct AccessKeyArgs {
    uri: String,
    access: String,
    user_name: Option<String>,
    extra: Vec<String>,
}

impl AccessKeyArgs {
    /// `access-key --uri URI --access import`.
    pub fn new(uri: &str) -> AccessKeyArgs {
        AccessKeyArgs {
            uri: uri.to_string(),
            access: "import".into(),
            user_name: None,
            extra: Vec::new(),
        }
    }

    pub fn access(mut self, access: &str) -> AccessKeyArgs {
        self.access = access.to_string();
        self
    }

    pub fn user_name(mut self, name: &str) -> AccessKeyArgs {
        self.user_name = Some(name.to_string());
        self
    }

    /// More flags, as given.
    pub fn args(mut self, extra: &[&str]) -> AccessKeyArgs {
        self.extra.extend(extra.iter().map(|a| a.to_string()));
        self
    }

    /// `--yes`: apply without asking.
    pub fn yes(self) -> AccessKeyArgs {
        self.args(&["--yes"])
    }

    /// `-o json`: the key on stdout as JSON (text would refuse to print a secret into a pipe).
    pub fn json(self) -> AccessKeyArgs {
        self.args(&["-o", "json"])
    }

    pub fn build(&self) -> Vec<String> {
        let mut args = vec![
            "access-key".to_string(),
            "--uri".into(),
            self.uri.clone(),
            "--access".into(),
            self.access.clone(),
        ];
        if let Some(name) = &self.user_name {
            args.extend(["--user-name".into(), name.clone()]);
        }
        args.extend(self.extra.iter().cloned());
        args
    }
}

#[test]
fn a_role_line_holds_the_defaults_and_what_was_asked() {
    let line = RoleArgs::new("iam", "s3://b/d/")
        .role_name("r")
        .external_ids(&["a", "b"])
        .yes()
        .json()
        .build();
    assert_eq!(
        line.join(" "),
        format!("role --method iam --uri s3://b/d/ --access import --role-name r --tidb-account-id {TIDB_ACCOUNT} --external-id a --external-id b --yes -o json")
    );
    let plain = RoleArgs::new("cloudformation", "s3://b/")
        .external_ids(&[])
        .build();
    assert!(!plain.contains(&"--external-id".to_string()), "{plain:?}");
}

#[test]
fn an_access_key_line_holds_the_defaults_and_what_was_asked() {
    let line = AccessKeyArgs::new("s3://b/d/")
        .access("export")
        .user_name("u")
        .yes()
        .build();
    assert_eq!(
        line.join(" "),
        "access-key --uri s3://b/d/ --access export --user-name u --yes"
    );
}
