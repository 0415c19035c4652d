//! IAM policy documents: the permissions TiDB Cloud needs, and the trust that lets it in.
//! Pure functions of validated inputs; the same documents feed IAM, CloudFormation and verify.

use serde_json::{json, Map, Value};

use crate::inputs::{Access, AccountId, ExternalId, KmsKeyArn, Partition, S3Location};

pub(crate) const VERSION: &str = "2012-10-17";

/// The object actions TiDB Cloud performs under the directory, by direction.
pub(crate) fn object_actions(access: Access) -> Vec<&'static str> {
    let mut actions = Vec::new();
    if access.reads() {
        actions.extend(["s3:GetObject", "s3:GetObjectVersion"]);
    }
    if access.writes() {
        actions.push("s3:PutObject");
    }
    actions
}

/// The bucket actions TiDB Cloud performs on the bucket itself: `s3:ListBucket`, and with
/// `location` `s3:GetBucketLocation` (TiDB Cloud Dedicated, and access keys, whose region TiDB's
/// storage layer looks up; TiDB's troubleshooting page lists it for an IAM user's key).
pub(crate) fn bucket_actions(location: bool) -> Vec<&'static str> {
    if location {
        vec!["s3:ListBucket", "s3:GetBucketLocation"]
    } else {
        vec!["s3:ListBucket"]
    }
}

/// The KMS actions needed on the bucket's keys: decrypt to read, generate data keys to write.
pub(crate) fn kms_actions(access: Access) -> Vec<&'static str> {
    let mut actions = vec!["kms:Decrypt"];
    if access.writes() {
        actions.push("kms:GenerateDataKey");
    }
    actions
}

/// `arn:aws:s3:::bucket`.
pub(crate) fn bucket_arn(partition: Partition, location: &S3Location) -> String {
    format!("arn:{partition}:s3:::{}", location.bucket())
}

/// `arn:aws:s3:::bucket/dir/*`, or `arn:aws:s3:::bucket/*` at the root.
pub(crate) fn objects_arn(partition: Partition, location: &S3Location) -> String {
    format!(
        "arn:{partition}:s3:::{}/{}",
        location.bucket(),
        location.object_pattern()
    )
}

/// The least-privilege permissions policy for one location, direction and set of KMS keys;
/// `bucket_location` adds `s3:GetBucketLocation` (see [`bucket_actions`]).
pub(crate) fn permissions(
    partition: Partition,
    location: &S3Location,
    access: Access,
    kms_keys: &[KmsKeyArn],
    bucket_location: bool,
) -> Value {
    let mut statements = vec![
        json!({
            "Sid": "TiDBCloudObjects",
            "Effect": "Allow",
            "Action": object_actions(access),
            "Resource": objects_arn(partition, location),
        }),
        json!({
            "Sid": "TiDBCloudListBucket",
            "Effect": "Allow",
            "Action": bucket_actions(bucket_location),
            "Resource": bucket_arn(partition, location),
        }),
    ];
    if !kms_keys.is_empty() {
        let resource = match kms_keys {
            [one] => json!(one.as_str()),
            many => json!(many.iter().map(KmsKeyArn::as_str).collect::<Vec<_>>()),
        };
        statements.push(json!({
            "Sid": "TiDBCloudKmsKeys",
            "Effect": "Allow",
            "Action": kms_actions(access),
            "Resource": resource,
        }));
    }
    json!({ "Version": VERSION, "Statement": statements })
}

/// `arn:aws:iam::ACCOUNT:root`: the principal that stands for TiDB Cloud's whole account.
pub(crate) fn account_root(partition: Partition, account: &AccountId) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

/// The trust policy that lets TiDB Cloud's account assume the role, bound to the external IDs
/// of the clusters that may use it (one string for one ID, a list for several; none, only with
/// `--no-external-id`, trusts every cluster of the TiDB Cloud project).
pub(crate) fn trust(
    partition: Partition,
    tidb_account: &AccountId,
    external_ids: &[ExternalId],
) -> Value {
    let mut statement = Map::new();
    statement.insert("Effect".into(), json!("Allow"));
    statement.insert(
        "Principal".into(),
        json!({ "AWS": account_root(partition, tidb_account) }),
    );
    statement.insert("Action".into(), json!("sts:AssumeRole"));
    let ids: Vec<&str> = external_ids.iter().map(ExternalId::as_str).collect();
    match ids.as_slice() {
        [] => {}
        [one] => {
            statement.insert(
                "Condition".into(),
                json!({ "StringEquals": { "sts:ExternalId": one } }),
            );
        }
        many => {
            statement.insert(
                "Condition".into(),
                json!({ "StringEquals": { "sts:ExternalId": many } }),
            );
        }
    }
    json!({ "Version": VERSION, "Statement": [statement] })
}

/// The form sent to AWS: compact, so that no request carries needless whitespace, and pure
/// ASCII. IAM accepts in a policy document only `[\t\n\r\x20-\xFF]` (IAM API Reference,
/// CreatePolicy `PolicyDocument`), so a directory such as `数据` or `данные` is sent as JSON
/// escapes (`\u6570\u636e`), which IAM reads back as the same characters. Every character
/// above U+007E is escaped, Latin-1 too, so the wire form never depends on that boundary.
pub(crate) fn to_wire(doc: &Value) -> String {
    let json = serde_json::to_string(doc).expect("a JSON value always serialises");
    // Outside strings JSON is ASCII, so every non-ASCII character here is inside a string,
    // where an escape means the same.
    ascii_escaped(&json, |c| format!("\\u{c:04x}"))
}

/// Replaces each character above U+007E with `escape` of each of its UTF-16 units.
fn ascii_escaped(text: &str, escape: impl Fn(u16) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if (c as u32) <= 0x7e {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&escape(*unit));
            }
        }
    }
    out
}

/// A document's size as IAM counts it against its quotas: its characters, without whitespace
/// ("IAM doesn't count white space when calculating the size of a policy against these
/// quotas", IAM User Guide, "IAM and AWS STS quotas").
pub(crate) fn iam_size(doc: &Value) -> usize {
    serde_json::to_string(doc)
        .expect("a JSON value always serialises")
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// IAM's quotas on document sizes (IAM User Guide, "IAM and AWS STS quotas"): a role's trust
/// policy (2,048 by default, `AssumeRolePolicySizeQuota` in GetAccountSummary, up to 4,096 on
/// request), a managed policy (6,144), and a role's inline policies together (10,240).
pub(crate) const TRUST_SIZE_DEFAULT: usize = 2048;
pub(crate) const MANAGED_POLICY_SIZE: usize = 6144;
pub(crate) const ROLE_INLINE_SIZE: usize = 10240;

/// IAM's longest role or policy description.
pub(crate) const DESCRIPTION_MAX: usize = 1000;

/// A description IAM accepts: `[\t\n\r\x20-\x7E\xA1-\xFF]*`, at most 1000 characters (IAM
/// API Reference, CreateRole `Description`). Other characters are written as `\uXXXX`, and
/// a description too long is cut at a whole character or escape, ending in `…` spelt `...`.
pub(crate) fn description(text: &str) -> String {
    let mut pieces: Vec<String> = Vec::new();
    for c in text.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}');
        if allowed {
            pieces.push(c.to_string());
        } else {
            pieces.push(ascii_escaped(&c.to_string(), |u| format!("\\u{u:04x}")));
        }
    }
    let total: usize = pieces.iter().map(|p| p.chars().count()).sum();
    if total <= DESCRIPTION_MAX {
        return pieces.concat();
    }
    let mut out = String::new();
    let mut len = 0;
    for piece in pieces {
        let n = piece.chars().count();
        if len + n > DESCRIPTION_MAX - 3 {
            break;
        }
        out.push_str(&piece);
        len += n;
    }
    out.push_str("...");
    out
}

/// The AWS account a trust policy lets assume the role by its root
/// (`arn:PARTITION:iam::ACCOUNT:root`), with its partition: TiDB Cloud's, in a trust this tool
/// wrote. `None` when no allowing statement names an account root.
pub(crate) fn trusted_account(trust: &Value) -> Option<(Partition, AccountId)> {
    trusted_principals(trust).iter().find_map(|p| {
        let arn = crate::inputs::Arn::parse(p)?;
        (arn.service == "iam" && arn.resource == "root")
            .then(|| Some((arn.known_partition()?, arn.account.parse().ok()?)))?
    })
}

/// The external IDs a trust policy binds TiDB Cloud's account to: `Some(ids)` when a statement
/// lets that account assume the role (empty when without a condition), `None` when none does.
pub(crate) fn trusted_external_ids(
    trust: &Value,
    partition: Partition,
    account: &AccountId,
) -> Option<Vec<String>> {
    let root = account_root(partition, account);
    let ours = statements(trust).into_iter().find(|s| {
        allows(s)
            && aws_principals(s)
                .iter()
                .any(|p| *p == root || p == account.as_str())
    })?;
    Some(strings(
        ours.get("Condition")
            .and_then(|c| c.get("StringEquals"))
            .and_then(|c| c.get("sts:ExternalId")),
    ))
}

/// Every AWS principal a trust policy lets assume the role.
pub(crate) fn trusted_principals(trust: &Value) -> Vec<String> {
    statements(trust)
        .into_iter()
        .filter(|s| allows(s))
        .flat_map(aws_principals)
        .collect()
}

/// A policy's statements, whether its `Statement` holds one or a list.
fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    }
}

fn allows(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
}

/// The AWS principals a statement names (`Principal.AWS`).
fn aws_principals(statement: &Value) -> Vec<String> {
    strings(statement.get("Principal").and_then(|p| p.get("AWS")))
}

/// A policy element that holds a string or a list of them, as strings.
fn strings(element: Option<&Value>) -> Vec<String> {
    match element {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Parses a document as IAM returns it: URL-encoded JSON (GetRole, GetPolicyVersion), or plain.
pub(crate) fn from_wire(text: &str) -> Option<Value> {
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()?;
    serde_json::from_str(&decoded)
        .ok()
        .or_else(|| serde_json::from_str(text).ok())
        .or_else(|| from_python_literal(&decoded))
}

/// moto returns the inline policies that CloudFormation made as Python literals
/// (`{'Version': '2012-10-17', …}`). Policy documents hold no quotes inside their strings, so
/// swapping the quotes and the three constants is exact for them.
fn from_python_literal(text: &str) -> Option<Value> {
    if !text.starts_with("{'") || text.contains('"') {
        return None;
    }
    let json = text
        .replace('\'', "\"")
        .replace(": None", ": null")
        .replace(": True", ": true")
        .replace(": False", ": false");
    serde_json::from_str(&json).ok()
}

/// Whether two documents grant the same thing, ignoring how IAM may have reshaped them:
/// order of keys and list items, and a one-item list against a plain string.
pub fn same(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out: Vec<(String, Value)> = map
                .iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        (_, Value::String(s)) if is_list_field(k) => Value::Array(vec![json!(s)]),
                        _ => v.clone(),
                    };
                    (k.clone(), normalize(&v))
                })
                .collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(out.into_iter().collect())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            items.sort_by_key(|v| v.to_string());
            items.dedup();
            Value::Array(items)
        }
        other => other.clone(),
    }
}

fn is_list_field(key: &str) -> bool {
    matches!(
        key,
        "Action" | "NotAction" | "Resource" | "NotResource" | "Statement" | "AWS" | "Service"
    ) || key.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(s: &str) -> S3Location {
        s.parse().unwrap()
    }

    fn key(n: u8) -> KmsKeyArn {
        key_in("aws", "us-east-1", n)
    }

    fn key_in(partition: &str, region: &str, n: u8) -> KmsKeyArn {
        format!(
            "arn:{partition}:kms:{region}:111122223333:key/0000000{n}-aaaa-bbbb-cccc-dddddddddddd"
        )
        .parse()
        .unwrap()
    }

    /// Each permissions policy a reviewer reads, by where, which way and what it holds.
    #[test]
    fn permissions_by_direction_location_and_keys() {
        let china = [
            key_in("aws-cn", "cn-north-1", 1),
            key_in("aws-cn", "cn-north-1", 2),
        ];
        let cases: [(&str, Partition, &str, Access, &[KmsKeyArn]); 5] = [
            // Import reads under the directory only.
            (
                "import_dir",
                Partition::Aws,
                "s3://bkt1/data/",
                Access::Import,
                &[],
            ),
            // Export writes only.
            (
                "export_dir",
                Partition::Aws,
                "s3://bkt1/out/daily/",
                Access::Export,
                &[],
            ),
            // Both, at the root: the docs' example.
            (
                "both_root",
                Partition::Aws,
                "s3://tidb-cloud-source-data",
                Access::Both,
                &[],
            ),
            // KMS keys follow the direction.
            (
                "import_one_kms_key",
                Partition::Aws,
                "s3://bkt1/d/",
                Access::Import,
                &[key(1)],
            ),
            (
                "export_two_kms_keys_china",
                Partition::China,
                "s3://bkt1/d/",
                Access::Export,
                &china,
            ),
        ];
        for (name, partition, uri, access, keys) in cases {
            let doc = permissions(partition, &loc(uri), access, keys, false);
            insta::assert_json_snapshot!(name, doc);
        }
    }

    #[test]
    fn trust_binds_account_and_external_id() {
        let account: AccountId = "380838443567".parse().unwrap();
        let id: ExternalId = "696e6672612d61706914a".parse().unwrap();
        insta::assert_json_snapshot!(
            "trust",
            trust(Partition::Aws, &account, std::slice::from_ref(&id))
        );
        let open = trust(Partition::GovCloud, &account, &[]);
        assert_eq!(
            open["Statement"][0]["Principal"]["AWS"],
            "arn:aws-us-gov:iam::380838443567:root"
        );
        assert!(open["Statement"][0].get("Condition").is_none());
    }

    #[test]
    fn several_clusters_share_one_trust_and_it_reads_back() {
        let account: AccountId = "380838443567".parse().unwrap();
        let ids: Vec<ExternalId> = ["dev-ext", "prod-ext"].map(|i| i.parse().unwrap()).to_vec();
        let doc = trust(Partition::Aws, &account, &ids);
        assert_eq!(
            doc["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
            json!(["dev-ext", "prod-ext"])
        );
        assert_eq!(
            trusted_external_ids(&doc, Partition::Aws, &account),
            Some(vec!["dev-ext".to_string(), "prod-ext".to_string()])
        );
        let one = trust(Partition::Aws, &account, &ids[..1]);
        assert_eq!(
            trusted_external_ids(&one, Partition::Aws, &account).unwrap(),
            ["dev-ext"]
        );
        let open = trust(Partition::Aws, &account, &[]);
        assert_eq!(
            trusted_external_ids(&open, Partition::Aws, &account),
            Some(vec![])
        );
        let other: AccountId = "111122223333".parse().unwrap();
        assert_eq!(trusted_external_ids(&doc, Partition::Aws, &other), None);
    }

    #[test]
    fn dedicated_and_keys_also_read_the_bucket_location() {
        let doc = permissions(
            Partition::Aws,
            &loc("s3://bkt1/d/"),
            Access::Import,
            &[],
            true,
        );
        insta::assert_json_snapshot!("import_dedicated", doc);
        assert_eq!(
            doc["Statement"][1]["Action"],
            json!(["s3:ListBucket", "s3:GetBucketLocation"])
        );
    }

    #[test]
    fn wire_form_is_compact_and_round_trips_url_encoding() {
        let doc = permissions(
            Partition::Aws,
            &loc("s3://bkt1/a b/"),
            Access::Both,
            &[key(1)],
            false,
        );
        let wire = to_wire(&doc);
        assert!(!wire.contains('\n'));
        let encoded =
            percent_encoding::utf8_percent_encode(&wire, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert_eq!(from_wire(&encoded).unwrap(), doc);
        assert_eq!(from_wire(&wire).unwrap(), doc);
        assert!(from_wire("not json").is_none());
        let moto = "{'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': ['s3:GetObject'], 'Resource': 'arn:aws:s3:::b/*'}]}";
        assert_eq!(
            from_wire(moto).unwrap()["Statement"][0]["Action"][0],
            "s3:GetObject"
        );
    }

    /// IAM's pattern for policy documents, `[\t\n\r\x20-\xFF]+`.
    fn iam_accepts_document(text: &str) -> bool {
        !text.is_empty()
            && text
                .chars()
                .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
    }

    #[test]
    fn documents_for_any_language_go_out_as_ascii_and_mean_the_same() {
        for dir in ["数据", "данные", "données", "📦/日本語 ディレクトリ"] {
            let doc = permissions(
                Partition::Aws,
                &loc(&format!("s3://bkt1/{dir}/")),
                Access::Both,
                &[],
                false,
            );
            let wire = to_wire(&doc);
            assert!(iam_accepts_document(&wire), "{wire}");
            assert!(wire.is_ascii(), "{wire}");
            assert_eq!(from_wire(&wire).unwrap(), doc, "{dir}");
            assert_eq!(
                doc["Statement"][0]["Resource"],
                format!("arn:aws:s3:::bkt1/{dir}/*")
            );
        }
        assert!(to_wire(&json!({"a": "数"})).contains("\\u6570"));
        assert!(to_wire(&json!({"a": "📦"})).contains("\\ud83d\\udce6"));
    }

    #[test]
    fn descriptions_keep_to_iams_characters_and_length() {
        let ok = |d: &str| {
            d.chars().count() <= DESCRIPTION_MAX
                && d.chars().all(
                    |c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}'),
                )
        };
        assert_eq!(description("s3://b/données/"), "s3://b/données/");
        assert_eq!(description("s3://b/数据/"), "s3://b/\\u6570\\u636e/");
        let long = description(&format!("s3://b/{}/", "数".repeat(400)));
        assert!(ok(&long) && long.ends_with("..."), "{long}");
        assert!(!long.contains("\\u65..."), "an escape is never cut");
        for text in ["a\u{80}b\u{a0}c", "📦", &"x".repeat(2000)] {
            assert!(ok(&description(text)), "{text:?}");
        }
    }

    #[test]
    fn sameness_ignores_shape_but_not_meaning() {
        let a = json!({"Version": VERSION, "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["x", "y"]}]});
        let b = json!({"Statement": [{"Resource": ["y", "x"], "Action": ["s3:GetObject"], "Effect": "Allow"}], "Version": VERSION});
        assert!(same(&a, &b));
        let c = json!({"Version": VERSION, "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": ["x", "y"]}]});
        assert!(!same(&a, &c));
    }

    /// What a trust policy trusts, read as IAM writes it back: `Statement` as one or a list,
    /// `Principal.AWS` and the external IDs as a string or a list; Denies trust no one.
    #[test]
    fn a_trust_is_read_whatever_its_shape() {
        let (tidb, aws): (AccountId, _) = ("380838443567".parse().unwrap(), Partition::Aws);
        let (root, user) = ("arn:aws:iam::380838443567:root", "arn:aws:iam::1:user/u");
        let listed = serde_json::json!({"Statement": [
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}},
            {"Effect": "Allow", "Principal": {"AWS": [root, user]},
             "Condition": {"StringEquals": {"sts:ExternalId": ["a", "b"]}}}
        ]});
        assert_eq!(trusted_principals(&listed), [root, user]);
        assert_eq!(trusted_account(&listed), Some((aws, tidb.clone())));
        let ids = trusted_external_ids(&listed, aws, &tidb);
        assert_eq!(ids, Some(vec!["a".into(), "b".into()]));
        let one = serde_json::json!({"Statement":
            {"Effect": "Allow", "Principal": {"AWS": "380838443567"}}});
        assert_eq!(trusted_external_ids(&one, aws, &tidb), Some(vec![]));
        assert_eq!(
            trusted_account(&one),
            None,
            "an account ID is not a root ARN"
        );
        let none = serde_json::json!({"Version": "2012-10-17"});
        assert_eq!(trusted_external_ids(&none, aws, &tidb), None);
        assert!(trusted_principals(&none).is_empty());
    }
}
