//! Bad input exits 2 with a message naming the flag and the rule, and sends no request at all.

use crate::common::*;

const GOOD: [(&str, &str); 4] = [
    ("--uri", "s3://good-bucket/data/"),
    ("--tidb-account-id", TIDB_ACCOUNT),
    ("--external-id", EXTERNAL_ID),
    ("--access", "import"),
];

/// `role` with every good flag except `flag`, which gets `value`, plus `extra`.
fn role_with(flag: &str, value: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "role".to_string(),
        "--method".into(),
        "iam".into(),
        "--yes".into(),
    ];
    for (f, v) in GOOD {
        if f != flag {
            args.extend([f.to_string(), v.to_string()]);
        }
    }
    if !flag.is_empty() {
        args.extend([flag.to_string(), value.to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs a bad command line, for 20 s at most (bad input is refused before any request), and
/// notes a failure unless it exits 2 naming `flag`, with nothing on stdout.
fn refused(endpoint: &str, args: &[String], flag: &str, failures: &mut Vec<String>) -> Ran {
    let ran = ran(bin(endpoint)
        .args(args)
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap());
    if ran.code != 2 || !ran.stderr.contains(flag) || !ran.stdout.is_empty() {
        let (code, stderr) = (ran.code, &ran.stderr);
        failures.push(format!(
            "{args:?}: exit {code}, wanted 2 naming {flag}\n  stderr: {stderr}"
        ));
    }
    ran
}

/// A good `role` line but for `flag`, set to `value`; and the flag its error must name.
fn bad<'a>(flag: &'a str, value: &str) -> (Vec<String>, &'a str) {
    (role_with(flag, value, &[]), flag)
}

/// The words of a command line that differ from the good ones: `$ --uri s3://ab`.
fn given(args: &[String]) -> String {
    let good = role_with("", "", &[]);
    let is_good = |w: &[String]| good.windows(w.len()).any(|g| g == w);
    let switch = |w: &str| ["--yes", "--no-external-id"].contains(&w);
    let mut words = vec!["$".to_string()];
    let mut i = 0;
    while i < args.len() {
        let n = match args.get(i + 1) {
            Some(value)
                if args[i].starts_with("--") && !switch(&args[i]) && !value.starts_with("--") =>
            {
                2
            }
            _ => 1,
        };
        if !is_good(&args[i..i + n]) {
            words.extend(args[i..i + n].iter().map(|w| shown(w)));
        }
        i += n;
    }
    words.join(" ")
}

/// A word as a reader can see it: quoted when empty or holding a control character, cut when
/// long.
fn shown(word: &str) -> String {
    match word.chars().count() {
        0 => "''".into(),
        n if n > 100 => format!(
            "{}… ({n} characters)",
            word.chars().take(8).collect::<String>()
        ),
        _ if word.chars().any(char::is_control) => format!("{word:?}"),
        _ => word.to_string(),
    }
}

#[test]
fn bad_inputs_are_rejected_before_any_request() {
    let proxy = Proxy::start(moto().port);
    let long_ext = "e".repeat(1225);
    let long_role = "r".repeat(65);
    let long_policy = "p".repeat(129);
    let cases: Vec<(Vec<String>, &str)> = vec![
        bad("--uri", "good-bucket/data"),
        bad("--uri", "s3://"),
        bad("--uri", ""),
        bad("--uri", "s3://ab"),
        bad("--uri", "s3://Good_Bucket/data"),
        bad("--uri", "s3://-bucket/x"),
        bad("--uri", "s3://bucket..dots"),
        bad("--uri", "s3://192.168.10.1/x"),
        // Names that S3 never issues (S3 User Guide, "General purpose bucket naming rules").
        bad("--uri", "s3://xn--bucket/d/"),
        bad("--uri", "s3://sthree-bucket/d/"),
        bad("--uri", "s3://amzn-s3-demo-bucket/d/"),
        bad("--uri", "s3://bucket.-dot/d/"),
        bad("--uri", "s3://bucket-.dot/d/"),
        bad("--uri", "s3://global.mrap/d/"),
        bad("--uri", "s3://tables--table-s3/d/"),
        // TiDB Cloud runs only in the commercial partition, and AssumeRole never crosses one.
        (role_with("", "", &["--region", "cn-north-1"]), "--region"),
        (role_with("", "", &["--region", "us-gov-west-1"]), "--region"),
        // A wildcard is taken in the file name only, as the TiDB Cloud console takes it.
        bad("--uri", "s3://good-bucket/*/x.csv"),
        bad("--uri", "s3://good-bucket/d?ta/"),
        // Buckets that an s3: policy on a bucket ARN cannot serve.
        bad("--uri", "s3://good-bucket--usw2-az1--x-s3/data/"),
        bad("--uri", "s3://my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias/d/"),
        (
            role_with(
                "--uri",
                "https://s3.console.aws.amazon.com/s3/buckets/good-bucket?region=us-east-1&prefix=data/",
                &[],
            ),
            "--uri",
        ),
        // Guardrails follow IAM's rules.
        (role_with("", "", &["--path", "tidb/"]), "--path"),
        (role_with("", "", &["--path", "/a b/"]), "--path"),
        (role_with("", "", &["--tag", "novalue"]), "--tag"),
        (role_with("", "", &["--tag", "aws:reserved=1"]), "--tag"),
        (role_with("", "", &["--tag", "managed-by=me"]), "--tag"),
        (role_with("", "", &["--tag", "Team=a", "--tag", "team=b"]), "--tag"),
        (
            role_with("", "", &["--permissions-boundary", "arn:aws:iam::123456789012:role/x"]),
            "--permissions-boundary",
        ),
        // `${…}` in a granted directory would be read by IAM as a policy variable.
        bad("--uri", "s3://good-bucket/${aws:username}/"),
        // A stack cannot carry a directory beyond Latin-1; --method iam can.
        (
            [
                &["role", "--method", "cloudformation", "--yes"][..],
                &[
                    "--uri",
                    "s3://good-bucket/数据/",
                    "--tidb-account-id",
                    TIDB_ACCOUNT,
                    "--external-id",
                    EXTERNAL_ID,
                    "--access",
                    "import",
                ],
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
            "--method",
        ),
        bad("--uri", "s3://good-bucket/a//b"),
        bad("--uri", "s3://good-bucket/a\u{7}b"),
        bad("--uri", "https://good-bucket.s3.amazonaws.com/data"),
        bad("--access", "read"),
        bad("--access", ""),
        bad("--tidb-account-id", "12345"),
        bad("--tidb-account-id", "abcdefghijkl"),
        bad("--tidb-account-id", "１２３４５６７８９０１２"),
        bad("--tidb-account-id", ""),
        bad("--external-id", "a"),
        bad("--external-id", "has space"),
        (role_with("--external-id", &long_ext, &[]), "--external-id"),
        bad("--external-id", "ünïcode"),
        (
            role_with("", "", &["--role-name", &long_role]),
            "--role-name",
        ),
        (
            role_with("", "", &["--role-name", "bad/name"]),
            "--role-name",
        ),
        (role_with("", "", &["--role-name", ""]), "--role-name"),
        (
            role_with("", "", &["--policy-name", &long_policy]),
            "--policy-name",
        ),
        (
            role_with("", "", &["--policy-name", "a b"]),
            "--policy-name",
        ),
        (role_with("", "", &["--kms-key", "not-an-arn"]), "--kms-key"),
        (
            role_with(
                "",
                "",
                &["--kms-key", "arn:aws:kms:us-east-1:123456789012:alias/mine"],
            ),
            "--kms-key",
        ),
        (
            role_with(
                "",
                "",
                &["--kms-key", "arn:aws:s3:us-east-1:123456789012:key/abc"],
            ),
            "--kms-key",
        ),
        (
            role_with("", "", &["--region", "moon-base-one"]),
            "--region",
        ),
        (
            role_with("", "", &["--endpoint-url", "ftp://127.0.0.1"]),
            "--endpoint-url",
        ),
        (
            role_with("", "", &["--endpoint-url", "http://me:pw@127.0.0.1:1"]),
            "--endpoint-url",
        ),
        (
            role_with("", "", &["--endpoint-url", "http://127.0.0.1:70000"]),
            "--endpoint-url",
        ),
        (role_with("", "", &["--no-external-id"]), "--no-external-id"),
        (role_with("", "", &["--output", "yaml"]), "--output"),
        (role_with("", "", &["--method", "terraform"]), "--method"),
        (
            role_with("--tidb-account-id", "", &[])
                .into_iter()
                .filter(|a| a != "--tidb-account-id" && !a.is_empty())
                .collect(),
            "--tidb-account-id",
        ),
        (
            role_with("", "", &[])
                .into_iter()
                .filter(|a| a != "--yes")
                .collect(),
            "--yes",
        ),
    ];
    assert!(cases.len() >= 25);
    let mut failures = Vec::new();
    let mut said = Vec::new();
    for (args, flag) in &cases {
        let ran = refused(&proxy.url(), args, flag, &mut failures);
        said.push(format!("{}\n{}", given(args), ran.stderr.trim_end()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // What a person reads for each mistake, reviewed as a whole.
    insta::assert_snapshot!("bad_input_errors", said.join("\n\n"));
    assert_eq!(
        proxy.seen(),
        Vec::<String>::new(),
        "bad input sent requests"
    );
}

#[test]
fn json_mode_reports_bad_input_as_json() {
    let out = run(
        "http://127.0.0.1:9",
        role_with("--tidb-account-id", "12", &["--output", "json"]),
    );
    assert_eq!(out.code, 2);
    let err: serde_json::Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "invalid_input");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("--tidb-account-id:"));
}

/// clap's own errors (an unknown flag, a value outside its choices) are JSON too under
/// `-o json`, with the same shape and exit code as the tool's; text mode keeps clap's text.
#[test]
fn json_mode_reports_clap_errors_as_json() {
    for (args, kind, named) in [
        (
            vec!["-o", "json", "role", "--no-such-flag"],
            "invalid_input",
            "--no-such-flag",
        ),
        (
            vec!["role", "--output=json", "--method", "terraform"],
            "invalid_input",
            "terraform",
        ),
        (
            vec!["-ojson", "access-key", "delete", "--user-name"],
            "invalid_input",
            "--user-name",
        ),
    ] {
        let out = run("http://127.0.0.1:9", &args);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err: serde_json::Value = serde_json::from_str(&out.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", out.stderr));
        assert_eq!(err["error"]["kind"], kind, "{args:?}");
        assert_eq!(err["error"]["exit_code"], 2, "{args:?}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{args:?}: {message}");
        assert!(
            !message.contains("Usage:") && !message.contains("For more information"),
            "{args:?}: {message}"
        );
    }
    let text = run("http://127.0.0.1:9", ["role", "--no-such-flag"]);
    assert_eq!(text.code, 2);
    let stderr = text.stderr;
    assert!(
        stderr.starts_with("error: unexpected argument '--no-such-flag'"),
        "{stderr}"
    );
    let help = run("http://127.0.0.1:9", ["-o", "json", "--help"]).ok();
    assert!(help.stdout.contains("Usage:"));
}

#[test]
fn missing_flags_are_all_named_at_once_without_a_terminal() {
    let Ran { stderr, .. } = ran(bin("http://127.0.0.1:9")
        .args(["role", "--method", "iam"])
        .timeout(std::time::Duration::from_secs(10))
        .output()
        .unwrap())
    .exits(2);
    for flag in ["--uri", "--tidb-account-id", "--external-id", "--yes"] {
        assert!(stderr.contains(flag), "{flag} not named: {stderr}");
    }
}

/// Every command, every flag: at least 60 bad inputs, each exit 2 naming the flag, no request.
#[test]
fn the_catalog_of_bad_inputs_across_all_commands() {
    let proxy = Proxy::start(moto().port);
    let dir = moto::tmp_dir();
    let existing = dir.join("an-existing-file");
    std::fs::write(&existing, "keep me").unwrap();
    let existing = existing.to_str().unwrap().to_string();
    let dir = dir.to_str().unwrap().to_string();
    let role_arn = "arn:aws:iam::123456789012:role/r";
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let key = |extra: &[&str]| {
        let mut a = s(&["access-key", "--uri", "s3://good-bucket/d/", "--yes"]);
        a.extend(s(extra));
        a
    };
    let verify = |extra: &[&str]| {
        let mut a = s(&["verify", "--uri", "s3://good-bucket/d/"]);
        a.extend(s(extra));
        a
    };
    let bad_key_id = |id: &str| {
        let delete = ["access-key", "delete", "--user-name", "u", "--yes"];
        (
            s(&[&delete[..], &["--access-key-id", id]].concat()),
            "--access-key-id",
        )
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        // role: the URI
        bad("--uri", "s3://good-bucket/\u{1b}[31mx"),
        bad("--uri", "s3://gööd-bucket"),
        bad("--uri", "S3://good-bucket"),
        bad("--uri", "s3://good-bucket/../etc"),
        bad("--uri", "s3://good-bucket/a?b/c"),
        (
            role_with(
                "--uri",
                &format!("s3://good-bucket/{}", "d".repeat(1100)),
                &[],
            ),
            "--uri",
        ),
        bad("--uri", " s3://good-bucket"),
        // role: IDs and names
        bad("--tidb-account-id", " 380838443567"),
        bad("--tidb-account-id", "3808384435678"),
        bad("--external-id", "tab\there"),
        bad("--external-id", ""),
        bad("--external-id", "emoji😀"),
        (role_with("", "", &["--role-name", "röle"]), "--role-name"),
        (
            role_with("", "", &["--role-name", "has space"]),
            "--role-name",
        ),
        (role_with("", "", &["--policy-name", ""]), "--policy-name"),
        (
            role_with("", "", &["--policy-name", "p/q"]),
            "--policy-name",
        ),
        (
            role_with("", "", &["--stack-name", "1stack"]),
            "--stack-name",
        ),
        (
            role_with("", "", &["--stack-name", &"s".repeat(129)]),
            "--stack-name",
        ),
        (
            role_with("", "", &["--stack-name", "under_score"]),
            "--stack-name",
        ),
        (role_with("", "", &["--timeout", "0s"]), "--timeout"),
        (role_with("", "", &["--timeout", "ten"]), "--timeout"),
        (role_with("", "", &["--kms-key", ""]), "--kms-key"),
        (
            role_with(
                "",
                "",
                &[
                    "--kms-key",
                    "arn:aws:kms:us-east-1:123456789012:key/has space",
                ],
            ),
            "--kms-key",
        ),
        (
            role_with(
                "",
                "",
                &["--kms-key", "arn:aws:kms:us-east-1:12345678901:key/abc"],
            ),
            "--kms-key",
        ),
        (role_with("", "", &["--region", ""]), "--region"),
        (role_with("", "", &["--region", "US-EAST-1"]), "--region"),
        // role: flags for the wrong method, conflicting flags
        (role_with("", "", &["--stack-name", "s"]), "--stack-name"),
        (role_with("", "", &["--timeout", "5m"]), "--timeout"),
        (
            s(&["role", "--verbose", "--quiet", "--uri", "s3://good-bucket"]),
            "--quiet",
        ),
        (s(&["role", "--secret-file", "x"]), "--secret-file"),
        (s(&["role", "--user-name", "u"]), "--user-name"),
        // access-key
        (key(&["--uri", "s3://x"]), "--uri"),
        (
            s(&["access-key", "--uri", "s3://bad_bucket", "--yes"]),
            "--uri",
        ),
        (key(&["--access", "readwrite"]), "--access"),
        (key(&["--user-name", &"u".repeat(65)]), "--user-name"),
        (key(&["--user-name", "user:name"]), "--user-name"),
        (key(&["--policy-name", "p q"]), "--policy-name"),
        (key(&["--kms-key", "alias/aws/s3"]), "--kms-key"),
        (key(&["--secret-file", &existing]), "--secret-file"),
        (key(&["--secret-file", &dir]), "--secret-file"),
        (
            key(&["--secret-file", "/no/such/folder/key.json"]),
            "--secret-file",
        ),
        (key(&["--secret-file", ""]), "--secret-file"),
        (
            key(&["--tidb-account-id", TIDB_ACCOUNT]),
            "--tidb-account-id",
        ),
        (key(&["--method", "iam"]), "--method"),
        (
            key(&["--access", "import", "--probe-write"]),
            "--probe-write",
        ),
        (
            key(&["--access", "export", "--probe-write", "--no-probe"]),
            "--no-probe",
        ),
        (s(&["access-key"]), "--uri"),
        // access-key delete
        (s(&["access-key", "delete", "--yes"]), "--user-name"),
        (
            s(&["access-key", "delete", "--user-name", "u/v", "--yes"]),
            "--user-name",
        ),
        bad_key_id("akia1234567890123"),
        bad_key_id("AKIA"),
        (s(&["access-key", "delete", "--user-name", "u"]), "--yes"),
        // verify
        (verify(&["--role-arn", "not-an-arn"]), "--role-arn"),
        (
            verify(&["--role-arn", "arn:aws:iam::123456789012:user/u"]),
            "--role-arn",
        ),
        (
            verify(&["--role-arn", "arn:aws:iam::1234:role/r"]),
            "--role-arn",
        ),
        (
            verify(&["--role-arn", role_arn, "--user-name", "u"]),
            "--user-name",
        ),
        (
            verify(&["--user-name", "u", "--tidb-account-id", TIDB_ACCOUNT]),
            "--tidb-account-id",
        ),
        (
            verify(&["--user-name", "u", "--external-id", EXTERNAL_ID]),
            "--external-id",
        ),
        (
            verify(&["--role-arn", role_arn, "--tidb-account-id", "1"]),
            "--tidb-account-id",
        ),
        // A role's missing --external-id is not bad input: a role this tool made tells it,
        // so the role is read first (verify_teardown::verify_needs_only_the_role_arn_…).
        (
            verify(&["--role-arn", role_arn, "--access", "all"]),
            "--access",
        ),
        (s(&["verify", "--uri", "s3://good-bucket"]), "--role-arn"),
        // teardown
        (s(&["teardown", "--yes"]), "--role-name"),
        (
            s(&["teardown", "--role-name", "r", "--stack-name", "s", "--yes"]),
            "--stack-name",
        ),
        (
            s(&["teardown", "--role-name", "r/x", "--yes"]),
            "--role-name",
        ),
        (s(&["teardown", "--stack-name=-s", "--yes"]), "--stack-name"),
        (s(&["teardown", "--user-name", "", "--yes"]), "--user-name"),
        (s(&["teardown", "--role-name", "r"]), "--yes"),
        // global flags on any command
        (
            s(&[
                "teardown",
                "--role-name",
                "r",
                "--yes",
                "--endpoint-url",
                "localhost:4566",
            ]),
            "--endpoint-url",
        ),
        (s(&["verify", "--output", "xml"]), "--output"),
    ];
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (args, flag) in &cases {
        refused(&proxy.url(), args, flag, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        proxy.seen(),
        Vec::<String>::new(),
        "bad input sent requests"
    );
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
}
