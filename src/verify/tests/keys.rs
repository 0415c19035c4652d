//! What sampled objects need beyond the policy: other KMS keys than the bucket's,
//! customer-provided keys (SSE-C), and a restore from an archive.

use super::*;

/// An object under another key than the bucket's needs that key too: `verify` fails `kms`
/// naming the object and the key, and passes once it is granted.
#[test]
fn objects_under_other_keys_fail_kms_by_object_until_granted() {
    use crate::facts::{KeyDescription, ObjectKey};
    let e = expectations(Access::Import);
    let default = "arn:aws:kms:us-east-1:123456789012:key/k1";
    let other = "arn:aws:kms:us-east-1:123456789012:key/k2";
    let mut ev = good(Access::Import);
    ev.bucket.kms_key = Some(default.parse().unwrap());
    ev.bucket.object_keys = vec![ObjectKey {
        object: "s3://bkt1/d/copied.csv".into(),
        key: other.into(),
        described: Some(KeyDescription {
            aws_managed: false,
            state: "Enabled".into(),
        }),
    }];
    let grant = |keys: &[&str]| {
        let keys: Vec<crate::inputs::KmsKeyArn> = keys.iter().map(|k| k.parse().unwrap()).collect();
        let doc = policy::permissions(Partition::Aws, &e.location, Access::Import, &keys, false);
        vec![("p".to_string(), doc)]
    };
    ev.policies = grant(&[default]);
    let c = kms_of(&checks(&role(), &e, &ev, "x"));
    let encrypted = format!("s3://bkt1/d/copied.csv is encrypted with {other}");
    assert_check(&c, Status::Fail, &[&encrypted, "lacks kms:Decrypt"]);
    assert!(c.fix.as_deref().unwrap().contains(other));

    ev.policies = grant(&[default, other]);
    let c = kms_of(&checks(&role(), &e, &ev, "x"));
    let covered = format!(
        "sampled objects under other keys are covered too: {other} (s3://bkt1/d/copied.csv)"
    );
    assert_check(&c, Status::Pass, &[&covered]);

    // Its key disabled, as KMS has it when verify reads it.
    ev.object_keys = vec![Some(KeyFacts {
        state: Some("Disabled".into()),
        ..KeyFacts::unread()
    })];
    let c = kms_of(&checks(&role(), &e, &ev, "x"));
    let disabled = format!("{other} (the key of s3://bkt1/d/copied.csv) is disabled");
    assert_check(&c, Status::Fail, &[&disabled]);

    // Another account's AWS-managed key can never be used.
    ev.object_keys = Vec::new();
    ev.bucket.object_keys[0].key = "arn:aws:kms:us-east-1:999999999999:key/aws-s3".into();
    ev.bucket.object_keys[0].described = Some(KeyDescription {
        aws_managed: true,
        state: "Enabled".into(),
    });
    let c = kms_of(&checks(&role(), &e, &ev, "x"));
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.finding
            .contains("s3://bkt1/d/copied.csv is encrypted with the AWS-managed key"),
        "{}",
        c.finding
    );
}

/// Objects under a customer-provided key (SSE-C) fail `kms` whatever the policy grants: TiDB
/// Cloud is given no such key. The finding names the first and counts the rest.
#[test]
fn objects_under_a_customer_provided_key_fail_kms_naming_them() {
    let e = expectations(Access::Import);
    let mut ev = good(Access::Import);
    let c = kms_of(&checks(&role(), &e, &ev, "x"));
    assert_eq!(c.status, Status::Pass, "{}", c.finding);
    for (objects, which) in [
        (1, "s3://bkt1/d/0.csv is encrypted"),
        (
            2,
            "s3://bkt1/d/0.csv and 1 more sampled object are encrypted",
        ),
        (
            3,
            "s3://bkt1/d/0.csv and 2 more sampled objects are encrypted",
        ),
    ] {
        ev.bucket.customer_keyed = (0..objects)
            .map(|i| format!("s3://bkt1/d/{i}.csv"))
            .collect();
        let c = kms_of(&checks(&role(), &e, &ev, "x"));
        assert_eq!(c.status, Status::Fail, "{}", c.finding);
        assert!(
            c.finding
                .starts_with(&format!("{which} with a customer-provided key (SSE-C")),
            "{}",
            c.finding
        );
        assert!(c.fix.as_deref().unwrap().contains("--sse-c-copy-source"));
    }
}

/// Archived objects fail `objects` whatever the policy grants: S3 reads none until a copy is
/// restored. Objects S3 refused to describe are a warning there. The check is there only when
/// the sampling found either.
#[test]
fn archived_objects_fail_objects_and_refused_ones_warn() {
    let e = expectations(Access::Import);
    let mut ev = good(Access::Import);
    let objects_of = |ev: &Evidence| {
        checks(&role(), &e, ev, "x")
            .checks
            .into_iter()
            .find(|c| c.name == "objects")
    };
    assert!(objects_of(&ev).is_none());
    for (objects, which) in [
        (1, "s3://bkt1/d/0.csv is archived (DEEP_ARCHIVE)"),
        (
            2,
            "s3://bkt1/d/0.csv and 1 more sampled object are archived",
        ),
        (
            3,
            "s3://bkt1/d/0.csv and 2 more sampled objects are archived",
        ),
    ] {
        ev.bucket.archived = (0..objects)
            .map(|i| (format!("s3://bkt1/d/{i}.csv"), "DEEP_ARCHIVE".to_string()))
            .collect();
        let c = objects_of(&ev).unwrap();
        assert_eq!(c.status, Status::Fail, "{}", c.finding);
        assert!(c.finding.starts_with(which), "{}", c.finding);
        assert!(c.fix.as_deref().unwrap().contains("restore-object"));
    }
    let refused = "could not read s3://bkt1/d/9.csv (AccessDenied), though …";
    ev.bucket.sampling = Some(refused.into());
    let c = objects_of(&ev).unwrap();
    assert_eq!(c.status, Status::Fail, "{}", c.finding);
    assert!(
        c.finding.ends_with(&format!("; also, {refused}")),
        "{}",
        c.finding
    );
    ev.bucket.archived.clear();
    let c = objects_of(&ev).unwrap();
    assert_eq!(c.status, Status::Warn, "{}", c.finding);
    assert_eq!(c.finding, refused);
}
