use super::ask::confirm_plan;
use super::*;
use crate::aws::Connection;
use crate::inputs::Tier;
use crate::output::{Format, Ui};
use crate::prompt::scripted::{Answer, Scripted};

/// The check beside the questions, as when the account and the bucket are fine.
fn ready() -> std::thread::JoinHandle<Early> {
    std::thread::spawn(|| Early::Ready)
}

/// Runs the wizard's first questions on these answers, the account and the bucket fine.
fn wizard(answers: impl IntoIterator<Item = Answer>) -> (Setup, Scripted) {
    let mut p = Scripted::new(answers);
    let setup = start_with(&ctx(true, false), &mut p, &|_| ready(), None).unwrap();
    (setup, p)
}

/// The role's request that the wizard's answers made.
#[track_caller]
fn role_of(setup: Setup) -> RoleRequest {
    match setup {
        Setup::Role(req) => req,
        other => panic!("a role was chosen, not {other:?}"),
    }
}

/// A role's request with its method, location and access given, as by flags.
fn request(method: Method, uri: &str, access: Access) -> RoleRequest {
    RoleRequest {
        method: Some(method),
        location: Some(uri.parse().unwrap()),
        access: Some(access),
        ..RoleRequest::default()
    }
}

/// The request with TiDB Cloud's account and external ID given too.
fn with_ids(req: RoleRequest) -> RoleRequest {
    RoleRequest {
        tidb_account: Some("380838443567".parse().unwrap()),
        external_id: Some("ext-1".parse().unwrap()),
        ..req
    }
}

/// Asserts that these lines (questions asked, answers rejected, notes) are `count`, and that
/// the one at `at` says `part`.
#[track_caller]
fn assert_line(lines: &[String], count: usize, at: usize, part: &str) {
    assert_eq!(lines.len(), count, "{lines:?}");
    assert!(lines[at].contains(part), "no {part:?} at {at}: {lines:?}");
}

/// A bucket that does not exist is asked again at the URI question itself, with the reason;
/// the answers already given stand.
#[test]
fn a_bucket_that_does_not_exist_is_asked_again() {
    let mut p = Scripted::new([
        Answer::Choice(0),
        Answer::Text("s3://no-such-bucket/data/"),
        Answer::Text("s3://my-bucket/data/"),
        Answer::Choice(1),
        Answer::Choice(0),
    ]);
    let checked = std::sync::Mutex::new(Vec::new());
    let setup = start_with(
        &ctx(true, false),
        &mut p,
        &|location: &S3Location| {
            checked.lock().unwrap().push(location.bucket().to_string());
            let missing = location.bucket() == "no-such-bucket";
            std::thread::spawn(move || {
                if missing {
                    Early::NoBucket("bucket `no-such-bucket` does not exist".into())
                } else {
                    Early::Ready
                }
            })
        },
        None,
    )
    .unwrap();
    let req = role_of(setup);
    assert_eq!(req.method, Some(Method::Iam));
    assert_eq!(req.location.unwrap().bucket(), "my-bucket");
    assert_eq!(*checked.lock().unwrap(), ["no-such-bucket", "my-bucket"]);
    // Asked again at once.
    assert_line(&p.asked, 5, 2, "S3 URI");
}

/// Missing credentials stop the wizard before the questions that would follow.
#[test]
fn missing_credentials_stop_before_more_questions() {
    let mut p = Scripted::new([Answer::Choice(0), Answer::Text("s3://my-bucket/data/")]);
    let err = start_with(
        &ctx(true, false),
        &mut p,
        &|_| {
            std::thread::spawn(|| {
                Early::Stop(Error::Credentials {
                    message: "no credentials".into(),
                    fix: "run `aws configure`".into(),
                })
            })
        },
        None,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Credentials { .. }), "{err}");
    assert!(p.answers.is_empty() && p.asked.len() == 2, "{:?}", p.asked);
}

fn ctx(can_prompt: bool, yes: bool) -> Context {
    Context {
        conn: Connection::default(),
        format: Format::Text,
        yes,
        dry_run: false,
        no_input: false,
        can_prompt,
        ui: Ui::plain(),
        stop: Default::default(),
    }
}

#[test]
fn a_directory_a_stack_cannot_carry_is_offered_iam_and_the_key_only() {
    for (choice, iam) in [(0, true), (1, false)] {
        let (setup, _) = wizard([
            Answer::Choice(1),
            Answer::Text("s3://my-bucket/数据/"),
            Answer::Choice(choice),
        ]);
        match setup {
            Setup::Role(req) => {
                assert!(iam);
                assert_eq!(req.method, Some(Method::Iam));
            }
            Setup::AccessKey(_) => assert!(!iam),
        }
    }
}

#[test]
fn each_method_is_chosen_and_a_bad_uri_is_asked_again() {
    for (choice, want) in [
        (0, Choice::Cloudformation),
        (1, Choice::Iam),
        (2, Choice::AccessKey),
    ] {
        let mut answers = vec![
            Answer::Choice(0),
            Answer::Text("my-bucket/data"),
            Answer::Text("s3://My_Bucket"),
            Answer::Text("s3://my-bucket/data/"),
            Answer::Choice(choice),
        ];
        // A role's import asks the tier too.
        if want != Choice::AccessKey {
            answers.push(Answer::Choice(0));
        }
        let (setup, p) = wizard(answers);
        // Both bad URIs are rejected.
        assert_line(&p.rejected, 2, 0, "s3://bucket/dir/");
        assert_line(&p.rejected, 2, 1, "lowercase");
        match (setup, want) {
            (Setup::AccessKey(req), Choice::AccessKey) => {
                assert_eq!(req.access, Some(Access::Import));
                assert_eq!(req.location.unwrap().to_string(), "s3://my-bucket/data/");
            }
            (Setup::Role(req), Choice::Cloudformation) => {
                assert_eq!(req.method, Some(Method::Cloudformation))
            }
            (Setup::Role(req), Choice::Iam) => assert_eq!(req.method, Some(Method::Iam)),
            (other, want) => panic!("{want:?} gave {other:?}"),
        }
    }
}

/// Runs a resolve to its end; without clients it sends no request.
fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_file_uri_gets_the_names_of_its_directory() {
    let mut p = Scripted::new([]);
    let req = with_ids(request(
        Method::Iam,
        "s3://bkt1/in/TableName.01.csv",
        Access::Import,
    ));
    let (_, inputs, located, _) = block(role(&ctx(true, true), req, &mut p, None)).unwrap();
    assert_eq!(inputs.role_name.as_str(), "tidb-role-import-bkt1-in");
    assert_eq!(inputs.location.object_pattern(), "in/*");
    assert_eq!(
        located.findings,
        ["s3://bkt1/in/TableName.01.csv is a file (by its name, which has a file extension) → access to s3://bkt1/in/"]
    );
}

#[test]
fn the_role_flow_asks_ids_then_names_with_defaults() {
    let mut p = Scripted::new([
        Answer::Choice(1),
        Answer::Text("12345"),
        Answer::Text("380838443567"),
        Answer::Text("ext-123"),
        Answer::Text(""),
        Answer::Text("my-policy"),
        Answer::Text(""),
    ]);
    let req = request(Method::Cloudformation, "s3://bkt1/in/", Access::Import);
    let (method, inputs, _, _) = block(role(&ctx(true, false), req, &mut p, None)).unwrap();
    assert_eq!(method, Method::Cloudformation);
    assert_eq!(inputs.tidb_account.as_str(), "380838443567");
    assert_eq!(inputs.tier, Tier::Dedicated, "an import asks the tier");
    assert_eq!(inputs.external_id.unwrap().as_str(), "ext-123");
    assert_eq!(
        inputs.role_name.as_str(),
        "tidb-role-import-bkt1-in",
        "the default was taken"
    );
    assert_eq!(inputs.policy_name.as_str(), "my-policy");
    assert_eq!(
        inputs.stack_name.unwrap().as_str(),
        "tidb-role-import-bkt1-in"
    );
    assert_eq!(p.rejected.len(), 1, "the short account ID was re-asked");
    assert!(p.asked[0].contains("tier"), "{:?}", p.asked);
    // The hint has a line of its own, so that the prompt never wraps at 80 columns.
    assert_eq!(p.asked[1], "TiDB Cloud Account ID");
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("Having trouble? Create Role ARN manually")),
        "{:?}",
        p.notes
    );
}

#[test]
fn given_flags_are_never_asked_again() {
    // No scripted answers: any question panics.
    let mut p = Scripted::new([]);
    let req = RoleRequest {
        role_name: Some("r".parse().unwrap()),
        policy_name: Some("p".parse().unwrap()),
        ..with_ids(request(Method::Iam, "s3://bkt1", Access::Export))
    };
    block(role(&ctx(true, false), req, &mut p, None)).unwrap();
    assert!(p.asked.is_empty());

    // With --yes, defaults are taken silently, but what has no safe default is still
    // asked: the access (write access is never a default) and the TiDB Cloud IDs.
    let mut p = Scripted::new([
        Answer::Choice(0),
        Answer::Text("380838443567"),
        Answer::Text("ext-1"),
    ]);
    let req = RoleRequest {
        location: Some("s3://bkt1".parse().unwrap()),
        ..RoleRequest::default()
    };
    let (method, inputs, _, _) = block(role(&ctx(true, true), req, &mut p, None)).unwrap();
    assert_eq!(p.asked.len(), 3, "{:?}", p.asked);
    assert_eq!(method, Method::Cloudformation);
    assert_eq!(
        inputs.access,
        Access::Import,
        "the first answer, import, is the default"
    );
    assert_eq!(inputs.tier, Tier::Starter, "--yes takes the default tier");

    let mut p = Scripted::new([]);
    let req = AccessKeyRequest {
        location: Some("s3://bkt1".parse().unwrap()),
        access: Some(Access::Import),
        user_name: Some("u".parse().unwrap()),
        policy_name: Some("u-p".parse().unwrap()),
        ..Default::default()
    };
    block(access_key(&ctx(true, false), req, &mut p, None)).unwrap();
    assert!(p.asked.is_empty());
}

#[test]
fn without_a_terminal_every_missing_flag_is_named_and_nothing_is_asked() {
    let mut p = Scripted::new([]);
    let err = check_role(&ctx(false, false), &RoleRequest::default()).unwrap_err();
    let text = err.to_string();
    for flag in ["--uri", "--tidb-account-id", "--external-id", "--yes"] {
        assert!(text.contains(flag), "{text}");
    }
    assert_eq!(err.exit_code(), 2);
    assert!(start(&ctx(false, false), &mut p, None).is_err());
    assert!(p.asked.is_empty());
}

#[test]
fn cancel_at_the_plan_changes_nothing() {
    let mut p = Scripted::new([Answer::No]);
    let err = confirm_plan(&mut p, "the plan", true).unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    assert_eq!(err.exit_code(), 1);
    let mut p = Scripted::new([Answer::Yes]);
    assert!(confirm_plan(&mut p, "the plan", true).is_ok());
    // Esc at the plan is a No.
    let mut p = Scripted::new([Answer::Back]);
    let err = confirm_plan(&mut p, "the plan", true).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
}

/// Esc at a text question of a role's setup goes back a question, its answer kept; at the
/// first, back past the setup (to the wizard's last question).
#[test]
fn esc_at_a_setups_text_question_goes_back_with_the_answer_kept() {
    let req = || RoleRequest {
        tier: Some(Tier::Starter),
        ..request(Method::Cloudformation, "s3://bkt1/in/", Access::Import)
    };
    let mut p = Scripted::new([
        Answer::Text("380838443567"),
        Answer::Text("ext-123"),
        Answer::Text("my-role"),
        // At the policy name: back to the role's, whose answer is kept; then back to the
        // external ID, kept as well.
        Answer::Back,
        Answer::Back,
        Answer::Text(""),
        Answer::Text(""),
        Answer::Text(""),
        Answer::Text(""),
    ]);
    let (_, inputs, _, _) = block(role(&ctx(true, false), req(), &mut p, None)).unwrap();
    assert_eq!(inputs.external_id.unwrap().as_str(), "ext-123");
    assert_eq!(inputs.role_name.as_str(), "my-role");
    assert_eq!(inputs.policy_name.as_str(), "my-role-policy");
    assert_eq!(inputs.stack_name.unwrap().as_str(), "my-role");
    assert_eq!(
        p.asked[3..],
        [
            "Policy name",
            "Role name",
            "TiDB Cloud External ID (shown beside the Account ID)",
            "Role name",
            "Policy name",
            "Stack name"
        ],
        "{:?}",
        p.asked
    );
    let mut p = Scripted::new([Answer::Back]);
    let err = block(role(&ctx(true, false), req(), &mut p, None)).unwrap_err();
    assert!(matches!(err, Error::Back), "{err}");
}

/// Back from a setup's first question, the wizard asks its last question again, every answer
/// kept: the tier for a role's import, else the way in; Esc there goes on back.
#[test]
fn back_from_the_setup_the_wizard_takes_up_its_last_question() {
    let setup = Setup::Role(RoleRequest {
        method_asked: true,
        tier: Some(Tier::Dedicated),
        ..request(Method::Iam, "s3://bkt1/in/", Access::Import)
    });
    // Esc at the tier, then the way in: the URI, kept, taken with Enter; then IAM and the tier.
    let mut p = Scripted::new([
        Answer::Back,
        Answer::Back,
        Answer::Text(""),
        Answer::Choice(1),
        Answer::Choice(1),
    ]);
    let Setup::Role(req) =
        start_with(&ctx(true, false), &mut p, &|_| ready(), Some(&setup)).unwrap()
    else {
        panic!("a role")
    };
    assert_eq!(req.location.unwrap().to_string(), "s3://bkt1/in/");
    assert_eq!(
        (req.method, req.tier),
        (Some(Method::Iam), Some(Tier::Dedicated))
    );
    assert_eq!(
        p.asked,
        [
            "Which TiDB Cloud tier imports the data?",
            "How should TiDB Cloud get in?",
            "S3 URI",
            "How should TiDB Cloud get in?",
            "Which TiDB Cloud tier imports the data?"
        ]
    );
    // An access key's setup goes back to the way in.
    let setup = Setup::AccessKey(AccessKeyRequest {
        location: Some("s3://bkt1/out/".parse().unwrap()),
        access: Some(Access::Export),
        ..AccessKeyRequest::default()
    });
    let mut p = Scripted::new([Answer::Choice(2)]);
    let back = start_with(&ctx(true, false), &mut p, &|_| ready(), Some(&setup)).unwrap();
    assert!(matches!(back, Setup::AccessKey(_)));
    assert_eq!(p.asked, ["How should TiDB Cloud get in?"]);
}

/// Esc at the URI goes back to what TiDB Cloud will do; the URI's answer is kept.
#[test]
fn esc_at_the_uri_goes_back_to_the_first_question() {
    let (setup, _) = wizard([
        Answer::Choice(1),
        Answer::Text("s3://bkt1/out/"),
        Answer::Back,
        Answer::Back,
        Answer::Choice(0),
        Answer::Text(""),
        Answer::Choice(2),
    ]);
    let Setup::AccessKey(req) = setup else {
        panic!("an access key")
    };
    assert_eq!(req.access, Some(Access::Import));
    assert_eq!(req.location.unwrap().to_string(), "s3://bkt1/out/");
}

/// The caller's own account is the commonest slip for TiDB Cloud's: the answer is refused
/// with the reason and asked again.
#[test]
fn the_callers_own_account_is_asked_again() {
    let own: crate::inputs::AccountId = "123456789012".parse().unwrap();
    let mut p = Scripted::new([Answer::Text("123456789012"), Answer::Text("380838443567")]);
    let answers = form::ask(&mut p, &[fill::tidb_account_field(Some(&own))]).unwrap();
    assert_eq!(answers.get("--tidb-account-id"), Some("380838443567"));
    assert_line(&p.rejected, 1, 0, "your own AWS account");
}

/// A URI of the bucket alone is confirmed, No by default; declined, the URI is asked again.
#[test]
fn a_whole_bucket_is_confirmed_and_no_asks_again() {
    let (setup, p) = wizard([
        Answer::Choice(0),
        Answer::Text("s3://my-bucket"),
        Answer::No,
        Answer::Text("s3://my-bucket/data/"),
        Answer::Choice(1),
        Answer::Choice(0),
    ]);
    assert_eq!(role_of(setup).location.unwrap().prefix(), "data");
    assert!(
        p.notes.iter().any(|n| n.contains("names no folder")),
        "{:?}",
        p.notes
    );
    let (setup, _) = wizard([
        Answer::Choice(0),
        Answer::Text("s3://my-bucket"),
        Answer::Yes,
        Answer::Choice(1),
        Answer::Choice(0),
    ]);
    assert!(role_of(setup).location.unwrap().is_whole_bucket());
}

/// Esc at the way in goes back to the URI, with the answer given as its default; Enter keeps
/// it, and the question after is asked again.
#[test]
fn esc_at_the_way_in_goes_back_to_the_uri_with_its_answer_kept() {
    let (setup, p) = wizard([
        Answer::Choice(0),
        Answer::Text("s3://my-bucket/data/"),
        Answer::Back,
        Answer::Text(""),
        Answer::Choice(0),
        // Esc at the tier: back to the way in, and another answer there.
        Answer::Back,
        Answer::Choice(1),
        Answer::Choice(1),
    ]);
    let req = role_of(setup);
    assert_eq!(req.location.unwrap().to_string(), "s3://my-bucket/data/");
    assert_eq!(req.method, Some(Method::Iam));
    assert_eq!(req.tier, Some(Tier::Dedicated));
    assert_eq!(
        p.asked.iter().filter(|q| q.contains("S3 URI")).count(),
        2,
        "{:?}",
        p.asked
    );
    // Esc at the first question has nothing before it: the run ends, nothing changed.
    let mut p = Scripted::new([Answer::Back]);
    let err = start_with(&ctx(true, false), &mut p, &|_| ready(), None).unwrap_err();
    assert!(matches!(err, Error::Back), "{err}");
    assert_eq!(err.exit_code(), 130);
}
