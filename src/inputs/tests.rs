use super::*;

#[test]
fn parses_uris() {
    let l: S3Location = "s3://my-bucket/data/".parse().unwrap();
    assert_eq!((l.bucket(), l.prefix()), ("my-bucket", "data"));
    assert_eq!(l.object_pattern(), "data/*");
    let l: S3Location = "s3://my-bucket".parse().unwrap();
    assert_eq!(
        (l.bucket(), l.prefix(), l.object_pattern().as_str()),
        ("my-bucket", "", "*")
    );
    let l: S3Location = "s3://my-bucket/".parse().unwrap();
    assert_eq!(l.prefix(), "");
    let l: S3Location = "s3://b.c-d/a/b c/".parse().unwrap();
    assert_eq!(l.prefix(), "a/b c");
    assert_eq!(l.to_string(), "s3://b.c-d/a/b c/");
}

#[test]
fn files_and_patterns_grant_their_directory() {
    let file: S3Location = "s3://bucket/ingest/TableName.01.csv".parse().unwrap();
    assert_eq!((file.prefix(), file.named()), ("ingest", Named::File));
    assert_eq!(file.basis(), Basis::Extension);
    assert_eq!(file.object_pattern(), "ingest/*");
    assert_eq!(file.to_string(), "s3://bucket/ingest/");
    assert_eq!(file.given(), "s3://bucket/ingest/TableName.01.csv");
    assert_eq!(
        file.unsettled_path().as_deref(),
        Some("ingest/TableName.01.csv")
    );

    let pattern: S3Location = "s3://bucket/ingest/sales.*.csv".parse().unwrap();
    assert_eq!(
        (pattern.prefix(), pattern.named(), pattern.basis()),
        ("ingest", Named::Pattern, Basis::Syntax)
    );
    assert_eq!(pattern.unsettled_path(), None);
    assert!(pattern
        .decision()
        .unwrap()
        .ends_with("→ access to s3://bucket/ingest/"));
    let at_root: S3Location = "s3://bucket/part-?.parquet".parse().unwrap();
    assert_eq!(
        (at_root.prefix(), at_root.object_pattern().as_str()),
        ("", "*")
    );

    // No trailing slash and no extension: a folder until the bucket says otherwise.
    let unsure: S3Location = "s3://bucket/ingest/data".parse().unwrap();
    assert_eq!(
        (unsure.prefix(), unsure.named()),
        ("ingest/data", Named::Folder)
    );
    assert_eq!(unsure.unsettled_path().as_deref(), Some("ingest/data"));
    let file = unsure.settled(true, false);
    assert_eq!(
        (file.prefix(), file.named(), file.basis()),
        ("ingest", Named::File, Basis::Listed)
    );
    assert!(file.decision().unwrap().contains("(found in the bucket)"));
    assert_eq!(file.unsettled_path(), None);
    let ext: S3Location = "s3://bucket/ingest/a.csv".parse().unwrap();
    let folder = ext.settled(false, true);
    assert_eq!(
        (folder.prefix(), folder.named()),
        ("ingest/a.csv", Named::Folder)
    );
    assert_eq!(ext.settled(false, false), ext);

    // A folder URI says so itself.
    let folder: S3Location = "s3://bucket/ingest/a.csv/".parse().unwrap();
    assert_eq!(
        (folder.prefix(), folder.basis()),
        ("ingest/a.csv", Basis::Syntax)
    );
    assert_eq!(folder.decision(), None);
    // A pattern may hold `$`; only its directory goes into the policy.
    let dollar: S3Location = "s3://bucket/in/$x*.csv".parse().unwrap();
    assert_eq!(dollar.prefix(), "in");
}

#[test]
fn the_extension_rule() {
    for file in [
        "a.csv",
        "TableName.01.csv",
        "x.csv.gz",
        "part.parquet",
        "b.SQL",
        "c.zst",
    ] {
        assert!(has_extension(file), "{file}");
    }
    for folder in ["data", "2024.01", "v1.", ".hidden", "a.toolongext", "a.c-v"] {
        assert!(!has_extension(folder), "{folder}");
    }
}

#[test]
fn web_links_name_the_uri_to_use() {
    for (link, uri) in [
        (
            "https://s3.console.aws.amazon.com/s3/buckets/my-bucket?region=us-east-1&prefix=data/in/&showversions=false",
            "s3://my-bucket/data/in/",
        ),
        (
            "https://my-bucket.s3.us-west-2.amazonaws.com/data/x.csv",
            "s3://my-bucket/data/x.csv",
        ),
        ("https://s3.eu-west-1.amazonaws.com/my-bucket/data/", "s3://my-bucket/data/"),
    ] {
        let err = link.parse::<S3Location>().unwrap_err().0;
        assert!(err.contains(&format!("use {uri:?}")), "{link}: {err}");
    }
    // What a copy brings along is named, with the URI that was meant.
    for (copied, meant) in [
        (" s3://my-bucket/data/", "\"s3://my-bucket/data/\""),
        ("s3://my-bucket/data/\t", "\"s3://my-bucket/data/\""),
        ("S3://my-bucket/data/", "\"s3://my-bucket/data/\""),
    ] {
        let err = copied.parse::<S3Location>().unwrap_err().0;
        assert!(
            err.ends_with(&format!("use {meant} instead")),
            "{copied:?}: {err}"
        );
    }
    let err = "gs://bucket/x".parse::<S3Location>().unwrap_err().0;
    assert!(err.starts_with("must look like s3://bucket/dir/"), "{err}");
}

#[test]
fn rejects_bad_uris() {
    for bad in [
        "",
        "my-bucket/data",
        "s3:/my-bucket",
        "https://my-bucket.s3.amazonaws.com/x",
        "s3://",
        "s3:///data",
        "s3://ab",
        "s3://My-Bucket/data",
        "s3://my_bucket",
        "s3://-bucket",
        "s3://bucket-",
        "s3://a..b",
        "s3://xn--bucket",
        "s3://sthree-bucket/d/",
        "s3://sthree-configurator/d/",
        "s3://amzn-s3-demo-bucket/d/",
        "s3://bucket.-dot/d/",
        "s3://bucket-.dot/d/",
        "s3://global.mrap/d/",
        "s3://tables--table-s3/d/",
        "s3://192.168.1.1",
        "s3://bucket/*/x.csv",
        "s3://bucket/da?a/",
        "s3://bucket/a//b",
        // A key that starts with `/` is another directory than the one without: granting
        // `data/` for `s3://bucket//data/` would grant the wrong one.
        "s3://bucket//data/",
        "s3://bucket//",
        "s3://bucket/${aws:username}/",
        "s3://bucket/${aws:username}/x.csv",
        "s3://bucket/x/${aws:username}",
        "s3://my-bucket--usw2-az1--x-s3/data/",
        "s3://my-ap-abcdefghijklmnopqrstuvwxyz123-s3alias/data/",
        "s3://bucket/../x",
        "s3://bucket/a\nb",
        &format!("s3://{}", "a".repeat(64)),
    ] {
        assert!(bad.parse::<S3Location>().is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn validates_ids() {
    assert!("123456789012".parse::<AccountId>().is_ok());
    for bad in [
        "",
        "12345678901",
        "1234567890123",
        "12345678901a",
        "１２３４５６７８９０１２",
    ] {
        assert!(bad.parse::<AccountId>().is_err(), "{bad:?}");
    }
    // As the AWS console shows it: the refusal gives the ID to use.
    for shown in ["3808-3844-3567", "3808 3844 3567"] {
        let err = shown.parse::<AccountId>().unwrap_err().0;
        assert!(
            err.ends_with("without dashes or spaces: use 380838443567"),
            "{err}"
        );
    }
    assert!("ab".parse::<ExternalId>().is_ok());
    assert!("a:b/c=d,e.f@g-h_i+j".parse::<ExternalId>().is_ok());
    assert!("a".repeat(1224).parse::<ExternalId>().is_ok());
    for bad in ["", "a", "has space", "é1", &"a".repeat(1225)] {
        assert!(bad.parse::<ExternalId>().is_err(), "{bad:?}");
    }
}

#[test]
fn validates_names() {
    assert!("a".repeat(64).parse::<RoleName>().is_ok());
    assert!("a".repeat(65).parse::<RoleName>().is_err());
    assert!("a".repeat(128).parse::<PolicyName>().is_ok());
    assert!("a".repeat(129).parse::<PolicyName>().is_err());
    assert!("role/x".parse::<RoleName>().is_err());
    let err = "arn:aws:iam::123456789012:role/tidb/loader"
        .parse::<RoleName>()
        .unwrap_err()
        .0;
    assert_eq!(err, "is the role's ARN; give its name alone: loader");
    let err = "arn:aws:iam::123456789012:user/loader"
        .parse::<UserName>()
        .unwrap_err()
        .0;
    assert_eq!(err, "is the user's ARN; give its name alone: loader");
    assert!("my.role+=,@-_1".parse::<RoleName>().is_ok());
    assert!("Stack-1".parse::<StackName>().is_ok());
    for bad in ["1stack", "st_ack", "", "st ack"] {
        assert!(bad.parse::<StackName>().is_err(), "{bad:?}");
    }
}

/// A length is in characters, as its message says. A name or ID of another script is refused
/// for its first character that IAM does not take, not for a length in bytes: 30 CJK characters
/// (90 bytes) as a role name, 500 (1,500 bytes) as an external ID, were "must be 1 to 64
/// characters long, not 30" and "2 to 1224 …, not 500".
#[test]
fn names_and_ids_of_other_scripts_are_refused_for_their_characters() {
    let role = "数".repeat(30).parse::<RoleName>().unwrap_err().0;
    assert!(role.contains("found '数'"), "{role}");
    let id = "数".repeat(500).parse::<ExternalId>().unwrap_err().0;
    assert!(id.contains("found '数'"), "{id}");
    let long = "数".repeat(65).parse::<RoleName>().unwrap_err().0;
    assert!(long.ends_with("not 65"), "{long}");
}

#[test]
fn validates_kms_arns() {
    let ok = "arn:aws:kms:ap-northeast-1:105880447796:key/c3046e91-fdfc-4f3a-acff-00597dd3801f";
    let key: KmsKeyArn = ok.parse().unwrap();
    assert_eq!(key.region(), "ap-northeast-1");
    assert!("arn:aws-cn:kms:cn-north-1:105880447796:key/abc"
        .parse::<KmsKeyArn>()
        .is_ok());
    for bad in [
        "c3046e91-fdfc-4f3a-acff-00597dd3801f",
        "arn:aws:kms:ap-northeast-1:105880447796:alias/mine",
        "arn:aws:s3:ap-northeast-1:105880447796:key/abc",
        "arn:aws:kms:nowhere:105880447796:key/abc",
        "arn:aws:kms:us-east-1:1058:key/abc",
        "arn:aws:kms:us-east-1:105880447796:key/",
        "arn:evil:kms:us-east-1:105880447796:key/abc",
    ] {
        assert!(bad.parse::<KmsKeyArn>().is_err(), "{bad:?}");
    }
    // A key known by its alias or ID: the refusal says how to find its ARN.
    for by_name in [
        "alias/mine",
        "c3046e91-fdfc-4f3a-acff-00597dd3801f",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "arn:aws:kms:ap-northeast-1:105880447796:alias/mine",
    ] {
        let err = by_name.parse::<KmsKeyArn>().unwrap_err().0;
        let look_up = format!("`aws kms describe-key --key-id {by_name} --query KeyMetadata.Arn");
        assert!(err.contains(&look_up), "{by_name}: {err}");
    }
    let err = "my-key".parse::<KmsKeyArn>().unwrap_err().0;
    assert!(!err.contains("describe-key"), "not a key's name: {err}");
}

#[test]
fn tiers_and_their_rules() {
    assert_eq!("serverless".parse::<Tier>().unwrap(), Tier::Starter);
    for t in Tier::ALL {
        assert_eq!(t.as_str().parse::<Tier>().unwrap(), t);
        assert!(t.supports(Access::Import).is_ok());
        assert_eq!(t.supports(Access::Export).is_ok(), t != Tier::Dedicated);
        assert_eq!(t.supports(Access::Both).is_ok(), t != Tier::Dedicated);
        assert_eq!(t.reads_bucket_location(), t == Tier::Dedicated);
    }
    assert!("basic".parse::<Tier>().is_err());
    assert!("10447215000012345".parse::<ClusterId>().is_ok());
    assert!("a b".parse::<ClusterId>().is_err());
}

#[test]
fn guardrails_follow_iams_rules() {
    assert!("/".parse::<IamPath>().unwrap().is_root());
    assert_eq!(
        "/tidb/cloud/".parse::<IamPath>().unwrap().as_str(),
        "/tidb/cloud/"
    );
    for bad in [
        "",
        "tidb/",
        "/tidb",
        "//",
        "/a b/",
        "/a//b/",
        "/ü/",
        &format!("/{}/", "a".repeat(511)),
    ] {
        assert!(bad.parse::<IamPath>().is_err(), "{bad:?}");
    }
    assert_eq!(
        IamPath::of_arn("arn:aws:iam::123456789012:role/a/b/r")
            .unwrap()
            .as_str(),
        "/a/b/"
    );
    assert!(IamPath::of_arn("arn:aws:iam::123456789012:role/r")
        .unwrap()
        .is_root());

    for ok in [
        "arn:aws:iam::123456789012:policy/boundary",
        "arn:aws:iam::123456789012:policy/org/dev-boundary",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        "arn:aws-cn:iam::123456789012:policy/b",
    ] {
        assert!(ok.parse::<PolicyArn>().is_ok(), "{ok}");
    }
    for bad in [
        "boundary",
        "arn:aws:iam::123456789012:role/boundary",
        "arn:aws:iam::1234:policy/b",
        "arn:aws:iam:us-east-1:123456789012:policy/b",
        "arn:aws:iam::123456789012:policy/",
        "arn:aws:iam::123456789012:policy/org/",
        "arn:aws:iam::123456789012:policy/a b",
        "arn:aws-iso:iam::123456789012:policy/b",
        "arn:aws:s3:::bucket",
    ] {
        assert!(bad.parse::<PolicyArn>().is_err(), "{bad:?}");
    }

    let t: TagPair = "cost-center=data eng".parse().unwrap();
    assert_eq!(
        (t.key.as_str(), t.value.as_str()),
        ("cost-center", "data eng")
    );
    assert_eq!("owner=".parse::<TagPair>().unwrap().value, "");
    assert_eq!("a=b=c".parse::<TagPair>().unwrap().value, "b=c");
    assert!(
        "团队=数据".parse::<TagPair>().is_ok(),
        "IAM takes Unicode letters"
    );
    for bad in [
        "novalue",
        "=v",
        "aws:x=1",
        "AWS:x=1",
        "managed-by=me",
        "k=a;b",
        "k	=v",
        &format!("{}=v", "k".repeat(129)),
    ] {
        assert!(bad.parse::<TagPair>().is_err(), "{bad:?}");
    }
    let given = |tags: Vec<TagPair>, remove: Vec<TagKey>| {
        GuardrailRequest::new(None, false, None, tags, remove)
    };
    let two = vec!["Team=a".parse().unwrap(), "team=b".parse().unwrap()];
    assert_eq!(given(two, vec![]).unwrap_err().0, "--tag");
    let many = (0..47)
        .map(|i| format!("k{i}=v").parse().unwrap())
        .collect();
    assert_eq!(given(many, vec![]).unwrap_err().0, "--tag");
    let set_and_removed = given(
        vec!["team=a".parse().unwrap()],
        vec!["TEAM".parse().unwrap()],
    );
    assert_eq!(set_and_removed.unwrap_err().0, "--remove-tag");
    let both = GuardrailRequest::new(
        Some("arn:aws:iam::123456789012:policy/b".parse().unwrap()),
        true,
        None,
        vec![],
        vec![],
    );
    assert_eq!(both.unwrap_err().0, "--no-permissions-boundary");
    assert_eq!(given(vec![], vec![]).unwrap().path, None);
    for own in [
        "managed-by",
        "serverless-s3-setup:access",
        "Serverless-S3-Setup:location",
        "aws:x",
        "",
    ] {
        assert!(own.parse::<TagKey>().is_err(), "{own:?}");
    }
    assert!("team".parse::<TagKey>().is_ok());
}

#[test]
fn the_location_tag_holds_the_uri_or_a_fingerprint() {
    let plain: S3Location = "s3://bkt1/data/2024/".parse().unwrap();
    assert_eq!(location_tag(&plain), "s3://bkt1/data/2024/");
    // A `,` or `#` is not a tag value's character, and nor is a 300-character URI.
    for uri in [
        "s3://bkt1/a,b/",
        "s3://bkt1/a#b/",
        &format!("s3://bkt1/{}/", "d".repeat(300)),
    ] {
        let loc: S3Location = uri.parse().unwrap();
        let tag = location_tag(&loc);
        assert!(tag.starts_with("fnv1a:") && tag.len() == 22, "{tag}");
        assert!(format!("t={tag}").parse::<TagPair>().is_ok(), "{tag}");
    }
    let (a, b): (S3Location, S3Location) = (
        "s3://bkt1/a,b/".parse().unwrap(),
        "s3://bkt1/a#b/".parse().unwrap(),
    );
    assert_ne!(location_tag(&a), location_tag(&b));
}

#[test]
fn partitions_follow_the_region() {
    assert_eq!(Partition::for_region("us-east-1"), Partition::Aws);
    assert_eq!(Partition::for_region("cn-northwest-1"), Partition::China);
    assert_eq!(Partition::for_region("us-gov-west-1"), Partition::GovCloud);
    assert_eq!(
        Partition::of_arn("arn:aws-cn:iam::1:root"),
        Some(Partition::China)
    );
}

#[test]
fn default_names_are_stable_valid_and_distinct() {
    let a: S3Location = "s3://my-bucket/data/".parse().unwrap();
    assert_eq!(
        defaults::role_name(&a, Access::Import).as_str(),
        "tidb-role-import-my-bucket-data"
    );
    assert_eq!(
        defaults::user_name(&a, Access::Both).as_str(),
        "tidb-user-both-my-bucket-data"
    );
    let root: S3Location = "s3://mybucket".parse().unwrap();
    assert_eq!(
        defaults::role_name(&root, Access::Export).as_str(),
        "tidb-role-export-mybucket"
    );
    // The whole of `my-bucket` would read like bucket `my` and directory `bucket/`.
    let root: S3Location = "s3://my-bucket".parse().unwrap();
    let name = defaults::role_name(&root, Access::Export);
    assert!(
        name.as_str().starts_with("tidb-role-export-my-bucket-") && name.as_str().len() == 35,
        "{name}"
    );
    assert_eq!(defaults::policy_name("x").as_str(), "x-policy");

    let long: S3Location = format!("s3://{}/{}/", "b".repeat(63), "d".repeat(300))
        .parse()
        .unwrap();
    let name = defaults::role_name(&long, Access::Import);
    assert!(name.as_str().parse::<RoleName>().is_ok());
    assert_eq!(name, defaults::role_name(&long, Access::Import));

    // Directories that sanitise alike still get different names.
    let x: S3Location = "s3://bucket/a b/".parse().unwrap();
    let y: S3Location = "s3://bucket/a#b/".parse().unwrap();
    assert_ne!(
        defaults::role_name(&x, Access::Import),
        defaults::role_name(&y, Access::Import)
    );
    assert!(defaults::role_name(&x, Access::Import)
        .as_str()
        .parse::<RoleName>()
        .is_ok());

    let plain = defaults::stack_name(&"tidb-role-import-my-bucket".parse().unwrap());
    assert_eq!(plain.as_str(), "tidb-role-import-my-bucket");
    let dotted = defaults::stack_name(&"tidb-role-import-my.bucket".parse().unwrap());
    assert!(
        dotted.as_str().starts_with("tidb-role-import-my-bucket-"),
        "{dotted}"
    );
    assert_ne!(dotted, plain);
    assert!(dotted.as_str().parse::<StackName>().is_ok());
}

/// Pairs of locations that the readable form maps alike: `/` against `-`, case, the bucket's
/// own `-` against the one before a directory, and names past IAM's length.
#[test]
fn default_names_tell_apart_locations_that_read_alike() {
    let pairs = [
        ("s3://bk1/a/b/", "s3://bk1/a-b/"),
        ("s3://bk1/Data/", "s3://bk1/data/"),
        ("s3://bk1/DATA/", "s3://bk1/Data/"),
        ("s3://acme/logs/", "s3://acme-logs/"),
        ("s3://abc-def/data/", "s3://abc/def/data/"),
        ("s3://abc-def/data/", "s3://abc/def-data/"),
        ("s3://abc-def-data/", "s3://abc-def/data/"),
        ("s3://abc.d/e/", "s3://abc/d.e/"),
    ];
    for (a, b) in pairs {
        let (a, b): (S3Location, S3Location) = (a.parse().unwrap(), b.parse().unwrap());
        for access in [Access::Import, Access::Export, Access::Both] {
            let (x, y) = (
                defaults::role_name(&a, access),
                defaults::role_name(&b, access),
            );
            assert_ne!(
                x.as_str().to_lowercase(),
                y.as_str().to_lowercase(),
                "{a} {b}"
            );
            let (sx, sy) = (defaults::stack_name(&x), defaults::stack_name(&y));
            assert_ne!(sx, sy, "{a} {b}");
        }
    }
    let long = |tail: &str| -> S3Location {
        format!("s3://bkt1/{}{tail}/", "d".repeat(80))
            .parse()
            .unwrap()
    };
    assert_ne!(
        defaults::role_name(&long("x"), Access::Import),
        defaults::role_name(&long("y"), Access::Import)
    );
}

proptest::proptest! {
    /// Over random buckets and directories from a small alphabet (so that readable forms
    /// collide often), two different locations never get names that IAM would take for one,
    /// and every name is valid.
    #[test]
    fn default_names_are_injective_as_iam_compares_them(
        a in location(),
        b in location(),
        access in proptest::sample::select(vec![Access::Import, Access::Export, Access::Both]),
    ) {
        let (x, y) = (defaults::role_name(&a, access), defaults::role_name(&b, access));
        proptest::prop_assert!(x.as_str().parse::<RoleName>().is_ok(), "{}", x);
        proptest::prop_assert!(defaults::stack_name(&x).as_str().parse::<StackName>().is_ok());
        let same_place = a.bucket() == b.bucket() && a.prefix() == b.prefix();
        proptest::prop_assert_eq!(
            x.as_str().eq_ignore_ascii_case(y.as_str()),
            same_place,
            "{} and {} both name {}", a, b, x
        );
        proptest::prop_assert_eq!(defaults::stack_name(&x) == defaults::stack_name(&y), same_place);
        let (u, v) = (defaults::user_name(&a, access), defaults::user_name(&b, access));
        proptest::prop_assert_eq!(u.as_str().eq_ignore_ascii_case(v.as_str()), same_place);
    }
}

fn location() -> impl proptest::strategy::Strategy<Value = S3Location> {
    use proptest::prelude::*;
    let bucket = proptest::sample::select(vec!["abc", "abc-d", "abc.d", "a-b-c", "abc-d-e"]);
    let segment = proptest::sample::select(vec![
        "d", "e", "d-e", "D", "De", "d.e", "d_e", "d e", "数", "d-", "-d", "dd",
    ]);
    let long = proptest::sample::select(vec![0usize, 0, 0, 70, 71]);
    (bucket, proptest::collection::vec(segment, 0..4), long).prop_map(|(b, segs, long)| {
        let mut path = segs.join("/");
        if long > 0 {
            path.push_str(&format!("/{}", "l".repeat(long)));
        }
        let path = path.trim_start_matches('/');
        let uri = if path.is_empty() {
            format!("s3://{b}/")
        } else {
            format!("s3://{b}/{path}/")
        };
        uri.parse().unwrap()
    })
}
