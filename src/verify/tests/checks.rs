use super::*;

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
        Subject::role_named(
            "arn:aws:iam::123456789012:role/path/to/r".into(),
            "r".parse().unwrap()
        )
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
    // What people paste instead is named, with the way to the role's ARN.
    for (given, says) in [
        (
            "handmade",
            "`aws iam get-role --role-name handmade --query Role.Arn --output text`",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/handmade/session-1",
            "a session of role handmade; give the role's own ARN, as `aws iam get-role --role-name handmade",
        ),
        (
            "arn:aws:iam::123456789012:user/ci/loader",
            "a user's ARN; check a user with --user-name loader",
        ),
    ] {
        let err = Subject::role(given).unwrap_err().0;
        assert!(err.contains(says), "{given}: {err}");
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

/// The trust check of the role, with this trust policy.
fn trust_check(trust: Value) -> Check {
    let ev = Evidence {
        trust: Some(trust),
        ..good(Access::Import)
    };
    check_of(&expectations(Access::Import), &ev, "trust")
}

#[test]
fn trust_problems_are_named() {
    let e = expectations(Access::Import);
    let (tidb, ours) = (e.tidb_account.as_ref().unwrap(), e.external_id.as_slice());
    let trust = |account: &AccountId, ids: &[ExternalId]| {
        trust_check(policy::trust(Partition::Aws, account, ids))
    };
    let wrong_account = trust(&"111122223333".parse().unwrap(), ours);
    assert_check(
        &wrong_account,
        Status::Fail,
        &["111122223333", "380838443567"],
    );
    assert_check(&trust(tidb, &[]), Status::Fail, &["no sts:ExternalId"]);
    let other_id = trust(tidb, &["other".parse().unwrap()]);
    assert_check(&other_id, Status::Fail, &["other", "ext-1"]);
    assert!(other_id.fix.unwrap().contains("sts:ExternalId"));
    let anyone = trust_check(
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
    );
    assert_check(&anyone, Status::Fail, &["anyone"]);
}

#[test]
fn the_trust_policy_is_read_as_iam_reads_it() {
    let e = expectations(Access::Import);
    let account = e.tidb_account.as_ref().unwrap();
    let external = e.external_id.as_ref().unwrap();
    let root = format!("arn:aws:iam::{account}:root");
    // One statement as an object rather than a list, and the action in another case.
    let single = trust_check(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"AWS": root}, "Action": "STS:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external.as_str()}}}}));
    assert_check(&single, Status::Pass, &[]);
    // NotPrincipal names no one who may assume the role.
    let not_principal = trust_check(json!({"Statement": [{
        "Effect": "Allow", "NotPrincipal": {"AWS": root}, "Action": "sts:AssumeRole"}]}));
    assert_check(&not_principal, Status::Fail, &[]);
    // A Deny is not a way in.
    let denied = trust_check(json!({"Statement": [{
        "Effect": "Deny", "Principal": {"AWS": root}, "Action": "sts:AssumeRole"}]}));
    assert_check(&denied, Status::Fail, &[]);
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
        let c = check_of(&e, &ev, "permissions");
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
    let c = check_of(&e, &export_only, "permissions");
    assert_check(&c, Status::Fail, &["s3:GetObject is not allowed"]);
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
    let c = check_of(&e, &ev, "permissions");
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
    let c = check_of(&e, &ev, "permissions");
    assert_check(
        &c,
        Status::Fail,
        &["s3:GetObject", "not by the permissions boundary"],
    );
    ev.boundary = Some((
        arn.into(),
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    ));
    let c = check_of(&e, &ev, "permissions");
    assert_check(&c, Status::Pass, &[arn]);
}

#[test]
fn kms_bucket_policy_ownership_and_extras() {
    let e = expectations(Access::Export);
    let key = "arn:aws:kms:us-east-1:123456789012:key/k1";
    let mut ev = good(Access::Export);
    ev.bucket.kms_key = Some(key.parse().unwrap());
    let c = check_of(&e, &ev, "kms");
    assert_check(&c, Status::Fail, &["kms:Decrypt and kms:GenerateDataKey"]);
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
            grants: Vec::new(),
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
        grants: Vec::new(),
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
        grants: Vec::new(),
    });
    let c = kms_of(&checks(&role(), &e, &ev, "x"));
    assert_check(&c, Status::Warn, &["999999999999"]);
    ev = granted;

    // A grant lets its grantee use the key whatever the policies say ("Grants in AWS KMS"):
    // neither the role's policy nor the key policy need name it then. One limited to an
    // encryption context is not counted.
    let mut by_grant = ev.clone();
    by_grant.policies.clear();
    let grant = |constrained: bool| crate::aws::kms::Grant {
        id: "g-1".into(),
        grantee: "arn:aws:iam::123456789012:role/r".into(),
        operations: vec!["Decrypt".into(), "GenerateDataKey".into()],
        constrained,
    };
    let mut facts = with_policy(
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/admin"}, "Action": "kms:*", "Resource": "*"}]}),
    );
    facts.grants = vec![grant(false)];
    by_grant.key = Some(facts.clone());
    let c = kms_of(&checks(&role(), &e, &by_grant, "x"));
    assert_check(&c, Status::Pass, &["kms:Decrypt through grant g-1"]);
    facts.grants = vec![grant(true)];
    by_grant.key = Some(facts);
    assert_eq!(
        status(&checks(&role(), &e, &by_grant, "x"), "kms"),
        Status::Fail
    );

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
    let c = check_of(&e, &ev, "bucket-policy");
    assert_check(&c, Status::Fail, &["NoWrites"]);
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
    let c = check_of(&e, &ev, "bucket-policy");
    assert_check(&c, Status::Fail, &["VpceOnly"]);
    // ... and a Deny that depends on its source IP, which cannot be known, warns with the key.
    ev.bucket.policy = Ok(Some(
        json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt1/*", "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}]}),
    ));
    let c = check_of(&e, &ev, "bucket-policy");
    assert_check(&c, Status::Warn, &["aws:SourceIp"]);
    ev.bucket.policy = Ok(None);

    ev.bucket.ownership = Ok(None);
    assert_eq!(
        status(&checks(&role(), &e, &ev, "x"), "object-ownership"),
        Status::Warn
    );

    ev.policies.push(("extra".into(), json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt1/dir/*"}]})));
    let r = checks(&role(), &e, &ev, "x");
    assert_check(
        named(&r, "extra-permissions"),
        Status::Warn,
        &["can also read"],
    );
    assert!(r.ok, "warnings do not fail the report");
}

/// Whether the object actions reach beyond the directory or the bucket is decided on every
/// pattern of the policies, not on two fixed probe keys: each grant below was "nothing beyond"
/// when only `bkt1/tidb-verify-probe-elsewhere/x.csv` and `tidb-verify-probe-other-bucket/x.csv`
/// were asked. A Deny that takes the reach back away is applied.
#[test]
fn extra_permissions_are_decided_on_every_pattern_of_the_policies() {
    let e = expectations(Access::Import);
    let extra = |statements: Value| {
        let mut ev = good(Access::Import);
        ev.policies.push((
            "extra".into(),
            json!({"Version": "2012-10-17", "Statement": statements}),
        ));
        check_of(&e, &ev, "extra-permissions")
    };
    let allow = |resource: &str| json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}]);
    for (resource, reach, example) in [
        ("arn:aws:s3:::bkt1/d*", "other directories", "s3://bkt1/d,"),
        (
            "arn:aws:s3:::bkt1/other/*",
            "other directories",
            "s3://bkt1/other/",
        ),
        ("arn:aws:s3:::bkt1*", "other buckets", "s3://bkt1x/x.csv"),
        (
            "arn:aws:s3:::other-bucket/*",
            "other buckets",
            "s3://other-bucket/",
        ),
        ("arn:aws:s3:::*/dir/*", "other buckets", "/dir/"),
    ] {
        let c = extra(allow(resource));
        let reaches = format!("s3:GetObject reaches {reach}");
        assert_check(&c, Status::Warn, &[&reaches, example]);
    }
    // The policy's own grant, and a broad Allow whose reach a Deny takes back, are nothing beyond.
    assert_eq!(extra(json!([])).status, Status::Pass);
    let c = extra(json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::bkt1/dir/*"}
    ]));
    assert!(
        !c.finding.contains("reaches"),
        "the Deny leaves only the directory: {}",
        c.finding
    );
}
