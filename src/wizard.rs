//! The questions, in the order a person thinks: what TiDB Cloud will do, where, and how. Every
//! question stands for a flag; the flow asks only for what the flags left out, and only when a
//! terminal is there to answer.

use crate::access_key::AccessKeyRequest;
use crate::error::Error;
use crate::inputs::{Access, Invalid, S3Location, Tier};
use crate::plan::Method;
use crate::prompt::Prompter;
use crate::role::RoleRequest;
use crate::Context;

/// How TiDB Cloud will get in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Cloudformation,
    Iam,
    AccessKey,
}

/// A setup chosen at the terminal, with the answers so far.
#[derive(Debug, Clone)]
pub enum Setup {
    Role(RoleRequest),
    AccessKey(AccessKeyRequest),
}

/// `serverless-s3-setup` alone: what, where, and how; the command it picks asks the rest.
pub fn start(ctx: &Context, prompter: &mut dyn Prompter) -> Result<Setup, Error> {
    start_with(ctx, prompter, &|location| check_early(ctx, location))
}

/// [`start`], with the check made beside the questions given (a test gives its own).
fn start_with(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    check_early: &dyn Fn(&S3Location) -> std::thread::JoinHandle<Early>,
) -> Result<Setup, Error> {
    if !ctx.can_prompt {
        return Err(missing_error(
            ctx,
            &["a command: role or access-key (see --help)"],
        ));
    }
    ctx.ui.info(format!(
        "{}\n{}",
        ctx.ui.bold("Give TiDB Cloud access to an S3 bucket."),
        ctx.ui.dim("Each answer has a flag, for next time in CI.")
    ));
    let access = ask_access(prompter)?;
    let mut location = ask_location(prompter)?;
    // The account and the bucket are checked while the next question is asked, so that a
    // wrong bucket is asked again at once and missing credentials stop before more questions.
    let mut check = check_early(&location);
    // A directory that a stack cannot carry is offered IAM and the access key only.
    let stack = match crate::template::cannot_carry(&location, access) {
        Some(why) => {
            ctx.ui.info(format!("{why}."));
            false
        }
        None => true,
    };
    let mut choice = ask_method(prompter, true, stack)?;
    loop {
        let step = (!check.is_finished()).then(|| {
            ctx.ui.step(format!(
                "Checking the AWS account and bucket {}",
                location.bucket()
            ))
        });
        let early = check.join().unwrap_or(Early::Ready);
        if let Some(step) = step {
            match early {
                Early::Ready => step.done("done"),
                _ => step.fail(),
            }
        }
        match early {
            Early::Ready => break,
            Early::Stop(e) => {
                ctx.ui.info(format!(
                    "Once that is fixed, this goes on from here, without the questions so far:\n  {}",
                    so_far(choice, access, &location)
                ));
                return Err(e);
            }
            Early::NoBucket(why) => {
                ctx.ui.warn(why);
                location = ask_location(prompter)?;
                if let (Choice::Cloudformation, Some(why)) =
                    (choice, crate::template::cannot_carry(&location, access))
                {
                    ctx.ui
                        .info(format!("{why}; the role is made with IAM instead."));
                    choice = Choice::Iam;
                }
                check = check_early(&location);
            }
        }
    }
    Ok(match choice {
        Choice::AccessKey => Setup::AccessKey(AccessKeyRequest {
            location: Some(location),
            access: Some(access),
            ..AccessKeyRequest::default()
        }),
        choice => Setup::Role(RoleRequest {
            method: Some(match choice {
                Choice::Iam => Method::Iam,
                _ => Method::Cloudformation,
            }),
            location: Some(location),
            access: Some(access),
            ..RoleRequest::default()
        }),
    })
}

/// What the check made while the next question was asked found.
pub enum Early {
    Ready,
    /// The bucket does not exist (or this account cannot see it): ask again.
    NoBucket(String),
    /// No usable credentials: nothing more can be done until they are fixed.
    Stop(Error),
}

/// Checks the credentials (STS) and the bucket (HeadBucket) on a thread of its own. It draws
/// nothing: the prompt owns the screen. A failure it cannot judge is left to the setup, which
/// reports it in full; under `--dry-run` missing credentials are fine (the plan is made
/// offline).
fn check_early(ctx: &Context, location: &S3Location) -> std::thread::JoinHandle<Early> {
    let conn = ctx.conn.clone();
    let ui = ctx.ui.silent();
    let dry_run = ctx.dry_run;
    let bucket = location.bucket().to_string();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return Early::Ready;
        };
        runtime.block_on(async {
            let clients = match crate::aws::Clients::connect(&conn, &ui).await {
                Ok(clients) => clients,
                Err(Error::Credentials { .. }) if dry_run => return Early::Ready,
                Err(e) => return Early::Stop(e),
            };
            let (caller, region) = tokio::join!(
                crate::aws::sts::caller_identity(&clients.sts),
                crate::aws::s3::bucket_region(&clients.s3, &bucket)
            );
            match (caller, region) {
                (Err(e @ Error::Credentials { .. }), _) => Early::Stop(e),
                (_, Err(Error::NotFound(why))) => Early::NoBucket(why),
                _ => Early::Ready,
            }
        })
    })
}

/// The command that goes on from the wizard's answers so far.
fn so_far(choice: Choice, access: Access, location: &S3Location) -> String {
    let mut words = vec!["serverless-s3-setup".to_string()];
    match choice {
        Choice::AccessKey => words.push("access-key".into()),
        Choice::Iam => words.extend(["role".into(), "--method".into(), "iam".into()]),
        Choice::Cloudformation => {
            words.extend(["role".into(), "--method".into(), "cloudformation".into()])
        }
    }
    words.extend([
        "--uri".into(),
        location.to_string(),
        "--access".into(),
        access.to_string(),
    ]);
    crate::output::command_line(words.iter().map(String::as_str))
}

/// Import, export or both. Import comes first and is the default: write access is chosen,
/// never fallen into.
pub fn ask_access(prompter: &mut dyn Prompter) -> Result<Access, Error> {
    let items = [
        "import: TiDB Cloud reads from S3",
        "export: TiDB Cloud writes to S3",
        "import and export (both)",
    ];
    Ok(
        match prompter.select("What will TiDB Cloud do with the bucket?", &items, 0)? {
            1 => Access::Export,
            2 => Access::Both,
            _ => Access::Import,
        },
    )
}

/// The TiDB Cloud tier, asked where it changes the policy (an import).
pub fn ask_tier(prompter: &mut dyn Prompter) -> Result<Tier, Error> {
    let items = [
        "TiDB Cloud Starter, Essential or Premium",
        "TiDB Cloud Dedicated (also reads the bucket's location)",
    ];
    Ok(
        match prompter.select("Which TiDB Cloud tier imports the data?", &items, 0)? {
            1 => Tier::Dedicated,
            _ => Tier::Starter,
        },
    )
}

/// The File URI (import) or Folder URI (export), with the flag's own validator.
pub fn ask_location(prompter: &mut dyn Prompter) -> Result<S3Location, Error> {
    // Prompts stay short, with the detail on a line of its own, so that nothing wraps and
    // breaks the prompt's redraw at a narrow terminal.
    prompter.note("The File URI (import) or Folder URI (export), e.g. s3://my-bucket/data/");
    ask(prompter, "S3 URI", None)
}

/// CloudFormation role (with `with_stack`), IAM role, or (with `with_key`) an access key.
pub fn ask_method(
    prompter: &mut dyn Prompter,
    with_key: bool,
    with_stack: bool,
) -> Result<Choice, Error> {
    let mut choices = Vec::new();
    if with_stack {
        choices.push((
            Choice::Cloudformation,
            "Role ARN, by a CloudFormation stack (recommended)",
        ));
    }
    choices.push((Choice::Iam, "Role ARN, by IAM directly"));
    if with_key {
        choices.push((Choice::AccessKey, "Access key of an IAM user"));
        prompter.note("A Role ARN needs the cluster on AWS; an access key works wherever it runs.");
    }
    let items: Vec<&str> = choices.iter().map(|(_, text)| *text).collect();
    let picked = prompter.select("How should TiDB Cloud get in?", &items, 0)?;
    Ok(choices
        .get(picked)
        .map_or(choices[0].0, |(choice, _)| *choice))
}

/// Asks until the answer parses, re-asking with the parser's own message on a bad answer.
pub fn ask<T>(prompter: &mut dyn Prompter, prompt: &str, default: Option<&str>) -> Result<T, Error>
where
    T: std::str::FromStr<Err = Invalid>,
{
    let text = prompter.input(prompt, default, &|s| {
        s.parse::<T>().map(|_| ()).map_err(|e| e.0)
    })?;
    text.parse::<T>()
        .map_err(|e| Error::invalid(prompt.to_string(), e))
}

/// Before changes: the plan's warnings, then the plan and Proceed? at a terminal, or one line
/// per change otherwise (with `--yes`).
/// `revokes`: the plan takes access away from someone, so Proceed? defaults to No.
pub fn present_plan(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    warnings: &[String],
    actions: Vec<String>,
    revokes: bool,
    render: impl FnOnce() -> String,
) -> Result<(), Error> {
    for warning in warnings {
        ctx.ui.warn(warning);
    }
    if actions.is_empty() {
        return Ok(());
    }
    if ctx.can_prompt && !ctx.yes {
        return confirm_plan(prompter, &ctx.ui.fit(&render()), !revokes);
    }
    for action in actions {
        ctx.ui.info(format!("plan: {action}"));
    }
    Ok(())
}

/// Shows the plan and asks; "no" cancels with nothing changed. `default_yes` is off when the
/// plan takes access away, so that Enter alone never does that.
pub fn confirm_plan(
    prompter: &mut dyn Prompter,
    plan: &str,
    default_yes: bool,
) -> Result<(), Error> {
    eprintln!("\n{plan}\n");
    match prompter.confirm("Proceed?", default_yes)? {
        true => Ok(()),
        false => Err(Error::Cancelled),
    }
}

/// What a run without a terminal is about to do, for the `--yes` it then needs.
#[derive(Debug, Clone, Copy)]
pub enum Intent {
    Apply,
    Delete,
}

/// Without a terminal nothing can be asked: every missing flag is named at once, with `--yes`
/// when the run would change something unconfirmed. At a terminal the missing values are asked.
pub fn require_flags(ctx: &Context, mut missing: Vec<&str>, intent: Intent) -> Result<(), Error> {
    if ctx.can_prompt {
        return Ok(());
    }
    if !ctx.yes && !ctx.dry_run {
        missing.push(match intent {
            Intent::Apply => {
                "--yes (to apply without a terminal to confirm on; or --dry-run to only plan)"
            }
            Intent::Delete => {
                "--yes (to delete without a terminal to confirm on; or --dry-run to only list)"
            }
        });
    }
    match missing.is_empty() {
        true => Ok(()),
        false => Err(missing_error(ctx, &missing)),
    }
}

/// Lists what will be deleted and asks (at a terminal, without `--yes`). `Ok(false)` under
/// `--dry-run`, which only lists; "no" cancels with nothing changed.
pub fn confirm_deletion(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    steps: &[String],
) -> Result<bool, Error> {
    let ask = ctx.can_prompt && !ctx.yes;
    if ctx.dry_run || ask {
        ctx.ui.info(ctx.ui.bold("Will delete"));
        for s in steps {
            ctx.ui.info(format!("  - {s}"));
        }
    }
    if ctx.dry_run {
        return Ok(false);
    }
    if ask && !prompter.confirm("Delete these?", false)? {
        return Err(Error::Cancelled);
    }
    Ok(true)
}

/// The error for required inputs that cannot be asked for.
pub fn missing_error(ctx: &Context, flags: &[&str]) -> Error {
    Error::Missing {
        flags: flags.iter().map(|f| f.to_string()).collect(),
        hint: if ctx.no_input {
            String::new()
        } else {
            "\n  (stdin or stderr is not a terminal, so nothing can be asked; pass them as flags)"
                .into()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Connection;
    use crate::output::{Format, Ui};
    use crate::prompt::scripted::{Answer, Scripted};
    use crate::{access_key, role};

    /// The check beside the questions, as when the account and the bucket are fine.
    fn ready() -> std::thread::JoinHandle<Early> {
        std::thread::spawn(|| Early::Ready)
    }

    /// A bucket that does not exist is asked again at once, with the reason; the answers
    /// already given stand.
    #[test]
    fn a_bucket_that_does_not_exist_is_asked_again() {
        let mut p = Scripted::new([
            Answer::Choice(0),
            Answer::Text("s3://no-such-bucket/data/"),
            Answer::Choice(1),
            Answer::Text("s3://my-bucket/data/"),
        ]);
        let checked = std::sync::Mutex::new(Vec::new());
        let setup = start_with(&ctx(true, false), &mut p, &|location: &S3Location| {
            checked.lock().unwrap().push(location.bucket().to_string());
            let missing = location.bucket() == "no-such-bucket";
            std::thread::spawn(move || match missing {
                true => Early::NoBucket("bucket `no-such-bucket` does not exist".into()),
                false => Early::Ready,
            })
        })
        .unwrap();
        let Setup::Role(req) = setup else {
            panic!("a role was chosen")
        };
        assert_eq!(req.method, Some(Method::Iam));
        assert_eq!(req.location.unwrap().bucket(), "my-bucket");
        assert_eq!(*checked.lock().unwrap(), ["no-such-bucket", "my-bucket"]);
        assert_eq!(p.asked.len(), 4, "{:?}", p.asked);
    }

    /// Missing credentials stop the wizard before the questions that would follow.
    #[test]
    fn missing_credentials_stop_before_more_questions() {
        let mut p = Scripted::new([
            Answer::Choice(0),
            Answer::Text("s3://my-bucket/data/"),
            Answer::Choice(1),
        ]);
        let err = start_with(&ctx(true, false), &mut p, &|_| {
            std::thread::spawn(|| {
                Early::Stop(Error::Credentials {
                    message: "no credentials".into(),
                    fix: "run `aws configure`".into(),
                })
            })
        })
        .unwrap_err();
        assert!(matches!(err, Error::Credentials { .. }), "{err}");
        assert!(p.answers.is_empty() && p.asked.len() == 3, "{:?}", p.asked);
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
            let mut p = Scripted::new([
                Answer::Choice(1),
                Answer::Text("s3://my-bucket/数据/"),
                Answer::Choice(choice),
            ]);
            let setup = start_with(&ctx(true, false), &mut p, &|_| ready()).unwrap();
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
            let mut p = Scripted::new([
                Answer::Choice(0),
                Answer::Text("my-bucket/data"),
                Answer::Text("s3://My_Bucket"),
                Answer::Text("s3://my-bucket/data/"),
                Answer::Choice(choice),
            ]);
            let setup = start_with(&ctx(true, false), &mut p, &|_| ready()).unwrap();
            assert_eq!(
                p.rejected.len(),
                2,
                "both bad URIs are rejected: {:?}",
                p.rejected
            );
            assert!(
                p.rejected[0].contains("s3://bucket/dir/"),
                "{:?}",
                p.rejected
            );
            assert!(p.rejected[1].contains("lowercase"), "{:?}", p.rejected);
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
        let req = RoleRequest {
            method: Some(Method::Iam),
            location: Some("s3://bkt1/in/TableName.01.csv".parse().unwrap()),
            access: Some(Access::Import),
            tidb_account: Some("380838443567".parse().unwrap()),
            external_id: Some("ext-1".parse().unwrap()),
            ..RoleRequest::default()
        };
        let (_, inputs, located) =
            block(role::resolve(&ctx(true, true), req, &mut p, None)).unwrap();
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
        let req = RoleRequest {
            method: Some(Method::Cloudformation),
            location: Some("s3://bkt1/in/".parse().unwrap()),
            access: Some(Access::Import),
            ..RoleRequest::default()
        };
        let (method, inputs, _) =
            block(role::resolve(&ctx(true, false), req, &mut p, None)).unwrap();
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
        assert!(
            p.asked[1].contains("Having trouble? Create Role ARN manually"),
            "{:?}",
            p.asked
        );
    }

    #[test]
    fn given_flags_are_never_asked_again() {
        // No scripted answers: any question panics.
        let mut p = Scripted::new([]);
        let req = RoleRequest {
            method: Some(Method::Iam),
            location: Some("s3://bkt1".parse().unwrap()),
            access: Some(Access::Export),
            tidb_account: Some("380838443567".parse().unwrap()),
            external_id: Some("ext-1".parse().unwrap()),
            role_name: Some("r".parse().unwrap()),
            policy_name: Some("p".parse().unwrap()),
            ..RoleRequest::default()
        };
        block(role::resolve(&ctx(true, false), req, &mut p, None)).unwrap();
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
        let (method, inputs, _) =
            block(role::resolve(&ctx(true, true), req, &mut p, None)).unwrap();
        assert_eq!(p.asked.len(), 3, "{:?}", p.asked);
        assert_eq!(method, Method::Cloudformation);
        assert_eq!(
            inputs.access,
            Access::Import,
            "the first answer, import, is the default"
        );
        assert_eq!(inputs.tier, Tier::Starter, "--yes takes the default tier");

        let mut p = Scripted::new([]);
        let req = access_key::AccessKeyRequest {
            location: Some("s3://bkt1".parse().unwrap()),
            access: Some(Access::Import),
            user_name: Some("u".parse().unwrap()),
            policy_name: Some("u-p".parse().unwrap()),
            ..Default::default()
        };
        block(access_key::resolve(&ctx(true, false), req, &mut p, None)).unwrap();
        assert!(p.asked.is_empty());
    }

    #[test]
    fn without_a_terminal_every_missing_flag_is_named_and_nothing_is_asked() {
        let mut p = Scripted::new([]);
        let err = role::check(&ctx(false, false), &RoleRequest::default()).unwrap_err();
        let text = err.to_string();
        for flag in ["--uri", "--tidb-account-id", "--external-id", "--yes"] {
            assert!(text.contains(flag), "{text}");
        }
        assert_eq!(err.exit_code(), 2);
        assert!(start(&ctx(false, false), &mut p).is_err());
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
    }
}
