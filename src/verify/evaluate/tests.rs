use super::*;
use serde_json::json;

fn doc(statements: Value) -> Vec<Statement> {
    super::statements(&json!({"Version": "2012-10-17", "Statement": statements}))
}

const DIR: &str = "arn:aws:s3:::b/dir/*";

#[test]
fn overlap_with_a_wildcard_in_the_middle() {
    assert!(overlaps(
        "arn:aws:s3:::bkt1/*.csv",
        "arn:aws:s3:::bkt1/dir/*"
    ));
    assert!(overlaps(
        "arn:aws:s3:::bkt1/*.tmp",
        "arn:aws:s3:::bkt1/dir/*"
    ));
    assert!(!overlaps(
        "arn:aws:s3:::bkt1/other/*",
        "arn:aws:s3:::bkt1/dir/*"
    ));
    assert!(!overlaps("arn:aws:s3:::bkt2/*", "arn:aws:s3:::bkt1/dir/*"));
    assert!(overlaps("a?c", "*b*"));
    assert!(!overlaps("a?c", "*dd*"));
    assert!(overlaps("", "*"));
    assert!(!overlaps("", "?"));
}

/// Every string over `alphabet` of length up to `max`.
fn strings_upto(alphabet: &[char], max: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..max {
        last = last
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

proptest::proptest! {
    /// The overlap test against brute force: some string of bounded length matches both.
    /// A witness needs at most one character per literal or `?` of the two patterns, and
    /// `*` and `?` take any character, so strings over the literals' alphabet suffice.
    #[test]
    fn overlap_agrees_with_brute_force(a in "[ab/*?]{0,4}", b in "[ab/*?]{0,4}") {
        let witnesses = strings_upto(&['a', 'b', '/'], a.len() + b.len());
        let brute = witnesses.iter().any(|s| glob(&a, s) && glob(&b, s));
        proptest::prop_assert_eq!(overlaps(&a, &b), brute, "{:?} {:?}", a, b);
    }

    /// `covers` never claims more than it can show: what `inner` matches, `outer` does.
    #[test]
    fn coverage_is_sound(outer in "[ab/*?]{0,4}", inner in "[ab/*?]{0,4}") {
        if covers(&outer, &inner) {
            for s in strings_upto(&['a', 'b', '/'], 5) {
                if glob(&inner, &s) {
                    proptest::prop_assert!(glob(&outer, &s), "{:?} ⊇ {:?} fails on {:?}", outer, inner, s);
                }
            }
        }
    }
}

#[test]
fn globs() {
    assert!(glob("s3:*", "s3:GetObject"));
    assert!(glob("s3:Get*", "s3:GetObject"));
    assert!(glob("s3:?etObject", "s3:GetObject"));
    assert!(!glob("s3:Put*", "s3:GetObject"));
    assert!(glob("*", ""));
    assert!(glob("a*b*c", "aXXbYYc"));
    assert!(!glob("a*b*c", "aXXbYY"));
}

#[test]
fn coverage_of_patterns() {
    assert!(covers("arn:aws:s3:::b/dir/*", DIR));
    assert!(covers("arn:aws:s3:::b/*", DIR));
    assert!(covers("*", DIR));
    assert!(covers("arn:aws:s3:::b/d*", DIR));
    assert!(
        !covers("arn:aws:s3:::b/dir", DIR),
        "the missing trailing /* does not cover the objects"
    );
    assert!(!covers("arn:aws:s3:::b/dir/", DIR));
    assert!(!covers("arn:aws:s3:::b/other/*", DIR));
    assert!(
        !covers("arn:aws:s3:::b/dir/a*", DIR),
        "part of the directory is not all of it"
    );
    assert!(!covers("arn:aws:s3:::b/dir/?", DIR));
    assert!(covers("arn:aws:s3:::b", "arn:aws:s3:::b"));
    assert!(!covers("arn:aws:s3:::b", "arn:aws:s3:::bb"));
    assert!(overlaps("arn:aws:s3:::b/dir/secret/*", DIR));
    assert!(!overlaps("arn:aws:s3:::b/other/*", DIR));
}

#[test]
fn allow_needs_action_and_full_resource() {
    let s = doc(json!([
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": DIR},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"},
    ]));
    assert!(decide(&s, "s3:GetObject", DIR, None).allowed());
    assert!(
        decide(&s, "S3:GETOBJECT", DIR, None).allowed(),
        "actions are case-insensitive"
    );
    assert!(decide(&s, "s3:ListBucket", "arn:aws:s3:::b", None).allowed());
    assert_eq!(
        decide(&s, "s3:PutObject", DIR, None),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(&s, "s3:GetObject", "arn:aws:s3:::b/*", None),
        Decision::ImplicitDeny
    );
}

#[test]
fn deny_wins_over_allow() {
    let s = doc(json!([
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/dir/secret/*"},
    ]));
    assert_eq!(
        decide(&s, "s3:GetObject", DIR, None),
        Decision::ExplicitDeny {
            sid: Some("NoSecrets".into()),
        }
    );
    assert!(decide(&s, "s3:PutObject", DIR, None).allowed());
}

#[test]
fn not_action_and_not_resource() {
    let s = doc(json!([
        {"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"},
    ]));
    assert!(decide(&s, "s3:GetObject", DIR, None).allowed());
    assert_eq!(
        decide(&s, "s3:DeleteObject", DIR, None),
        Decision::ImplicitDeny
    );

    let s = doc(json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/private/*"},
    ]));
    assert!(decide(&s, "s3:GetObject", DIR, None).allowed());
    assert_eq!(
        decide(&s, "s3:GetObject", "arn:aws:s3:::b/private/*", None),
        Decision::ImplicitDeny
    );

    let s = doc(json!([
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
    ]));
    assert!(decide(&s, "s3:GetObject", DIR, None).allowed());
    assert!(!decide(&s, "s3:PutObject", DIR, None).allowed());
}

#[test]
fn lists_of_resources_and_single_statements() {
    let s = statements(
        &json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": ["arn:aws:kms:r:1:key/a", "arn:aws:kms:r:1:key/b"]}}),
    );
    assert!(decide(&s, "kms:Decrypt", "arn:aws:kms:r:1:key/b", None).allowed());
    assert!(!decide(&s, "kms:Decrypt", "arn:aws:kms:r:1:key/c", None).allowed());
}

#[test]
fn conditions_are_noted() {
    let s = doc(json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": DIR, "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
    ]));
    assert!(matches!(
        decide(&s, "s3:GetObject", DIR, None),
        Decision::Allowed { unknown } if !unknown.is_empty()
    ));
    let mut secure = Context::default();
    secure.set("aws:SecureTransport", "true");
    assert_eq!(
        decide_in(&s, "s3:GetObject", DIR, None, Some(&secure)),
        Decision::Allowed { unknown: vec![] }
    );
}

#[test]
fn bucket_policy_principals() {
    let role = "arn:aws:iam::123456789012:role/r";
    let s = doc(json!([
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:role/other"}, "Action": "s3:*", "Resource": DIR},
    ]));
    assert!(!matches!(
        decide(&s, "s3:GetObject", DIR, Some((role, "123456789012"))),
        Decision::ExplicitDeny { .. }
    ));
    let s = doc(json!([
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
    ]));
    assert!(matches!(
        decide(&s, "s3:GetObject", DIR, Some((role, "123456789012"))),
        Decision::ExplicitDeny { .. }
    ));
    let s = doc(json!([
        {"Effect": "Deny", "NotPrincipal": {"AWS": role}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
    ]));
    assert!(!matches!(
        decide(&s, "s3:GetObject", DIR, Some((role, "123456789012"))),
        Decision::ExplicitDeny { .. }
    ));
}

#[test]
fn granted_resources_explain_near_misses() {
    let s = doc(
        json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/dir"}]),
    );
    assert_eq!(
        granted_resources(&s, "s3:GetObject"),
        ["arn:aws:s3:::b/dir"]
    );
}
