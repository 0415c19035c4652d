use super::*;
use crate::policy;
use serde_json::json;

mod checks;
mod keys;

/// The check of this name in a report.
fn named<'a>(r: &'a Report, name: &str) -> &'a Check {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in {r:#?}"))
}

/// The check of this name for the role, with this evidence.
fn check_of(e: &Expectations, ev: &Evidence, name: &str) -> Check {
    named(&checks(&role(), e, ev, "x"), name).clone()
}

/// The `kms` check of a report.
fn kms_of(r: &Report) -> Check {
    named(r, "kms").clone()
}

/// The permissions check of a role with this evidence.
fn permissions_of(e: &Expectations, ev: &Evidence) -> Check {
    check_of(e, ev, "permissions")
}

fn status(report: &Report, name: &str) -> Status {
    named(report, name).status
}

/// Asserts a check's status, and that its finding says each part.
#[track_caller]
fn assert_check(c: &Check, status: Status, parts: &[&str]) {
    assert_eq!(c.status, status, "{c:#?}");
    for part in parts {
        assert!(c.finding.contains(part), "no {part:?} in {c:#?}");
    }
}

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
    let user = Subject::user("dir".parse().unwrap());
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
        .push(("d".into(), json!({"Statement": [deny_others]})));
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
    let c = check_of(&expectations(Access::Import), &ev, "permissions");
    assert_check(&c, Status::Warn, &["aws:userid"]);
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
    let permissions = |ev: &Evidence| permissions_of(&e, ev);
    ev.bucket_in_account = Some(true);
    let c = permissions(&ev);
    assert_check(&c, Status::Pass, &["by the bucket policy"]);
    ev.bucket_in_account = None;
    let c = permissions(&ev);
    assert_check(&c, Status::Fail, &["enough only if"]);
    ev.bucket_in_account = Some(false);
    let c = permissions(&ev);
    assert_check(&c, Status::Fail, &["another account"]);
}

/// A bucket in another account needs both: the role's own policy and the bucket's policy
/// ("Cross-account policy evaluation logic", IAM User Guide). The role's policy alone is a
/// fail there, not a pass.
#[test]
fn a_bucket_in_another_account_must_grant_as_well() {
    let e = expectations(Access::Import);
    let mut ev = good(Access::Import);
    let permissions = |ev: &Evidence| permissions_of(&e, ev);
    assert_eq!(permissions(&ev).status, Status::Pass, "same account");
    ev.bucket_in_account = Some(false);
    ev.bucket.policy = Ok(None);
    let c = permissions(&ev);
    assert_check(
        &c,
        Status::Fail,
        &["in another account, whose bucket policy must grant it too, and has none"],
    );
    ev.bucket.policy = Ok(Some(json!({"Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/r"},
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": ["arn:aws:s3:::bkt1", "arn:aws:s3:::bkt1/dir/*"]
    }]})));
    let c = permissions(&ev);
    assert_eq!(c.status, Status::Pass, "{}", c.finding);
    // Granting less than the role needs leaves the rest denied.
    ev.bucket.policy = Ok(Some(json!({"Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/r"},
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::bkt1"
    }]})));
    let c = permissions(&ev);
    assert_check(&c, Status::Fail, &["does not grant it"]);
}

/// Issue 14, cause 5: policy variables stand for the principal's values.
#[test]
fn policy_variables_are_substituted_for_the_principal() {
    let user = Subject::user("dir".parse().unwrap());
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
    // `${*}` is a literal `*` (IAM User Guide, "IAM policy elements: Variables and tags"):
    // `bkt1/dir/${*}*` grants only keys that begin with a `*`, not the directory.
    let star = |resource: &str| {
        let mut ev = good(Access::Import);
        ev.policies = vec![(
            "p".into(),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": resource},
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"}]}),
        )];
        status(&checks(&role(), &e, &ev, "x"), "permissions")
    };
    assert_eq!(star("arn:aws:s3:::bkt1/dir/${*}*"), Status::Fail);
    assert_eq!(star("arn:aws:s3:::bkt1/dir/${?}*"), Status::Fail);
    assert_eq!(star("arn:aws:s3:::bkt1/dir/*"), Status::Pass);
    assert_eq!(star("arn:aws:s3:::bkt1/d${$}ir/*"), Status::Fail);
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
    let find = |r: &Report, name: &str| named(r, name).clone();
    let every_bucket = with(json!({"Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], "Resource": "arn:aws:s3:::*/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt1"}]}));
    let c = find(&every_bucket, "extra-permissions");
    assert_check(&c, Status::Warn, &["other buckets"]);
    let admin = with(json!({"Statement": [
        {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::bkt1/dir/secret/*"}]}));
    let c = find(&admin, "extra-permissions");
    assert_check(&c, Status::Warn, &["beyond S3"]);
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
    assert_check(&c, Status::Fail, &["only part of arn:aws:s3:::bkt1/dir/*"]);
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
        let c = check_of(&e, &ev, check);
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
