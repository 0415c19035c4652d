//! The wizard at a real terminal: the binary runs in a pseudo-terminal against moto, the test
//! types the answers and reads the screen, then checks the result through the AWS APIs.

use std::process::Command;

use crate::common::proxy::{Fault, Match, Proxy};
use crate::common::pty::*;
use crate::common::*;
use rexpect::session::PtySession;

/// The binary with no arguments in a pseudo-terminal, pointed at moto.
fn wizard(endpoint: &str) -> PtySession {
    wizard_with(endpoint, &[])
}

/// The binary with these arguments in a pseudo-terminal, pointed at moto. The terminal is wide,
/// so that the texts these tests look for are not wrapped (the width tests set their own).
fn wizard_with(endpoint: &str, args: &[&str]) -> PtySession {
    pty(endpoint, 250, args)
}

/// Answers the wizard up to its plan: `access` at the first question (keys: Enter for import,
/// `jj` and Enter for both), then the URI, the IAM method, the tier (asked for an import),
/// TiDB Cloud's IDs and the default names. Returns what was shown since the last answer: the
/// plan.
fn answer_up_to_the_plan(p: &mut PtySession, access: &str, uri: &str) -> String {
    access_and_uri(p, access, uri);
    // A URI of the bucket alone is confirmed first.
    if !uri
        .trim_start_matches("s3://")
        .trim_end_matches('/')
        .contains('/')
    {
        p.exp_string("Grant the whole bucket?").unwrap();
        keys(p, "y");
    }
    p.exp_string("How should TiDB Cloud get in?").unwrap();
    keys(p, "j\r"); // IAM
    if access == "\r" {
        p.exp_string("Which TiDB Cloud tier").unwrap();
        keys(p, "\r"); // Starter
    }
    p.exp_string("TiDB Cloud Account ID").unwrap();
    keys(p, &format!("{TIDB_ACCOUNT}\r"));
    p.exp_string("TiDB Cloud External ID").unwrap();
    keys(p, &format!("{EXTERNAL_ID}\r"));
    for question in ["Role name", "Policy name"] {
        p.exp_string(question).unwrap();
        keys(p, "\r");
    }
    p.exp_string("Proceed?").unwrap()
}

/// Answers the first two questions: the access (`access`: Enter for import, `j` to move
/// down) and the URI.
fn access_and_uri(p: &mut PtySession, access: &str, uri: &str) {
    p.exp_string("What will TiDB Cloud do with the bucket?")
        .unwrap();
    keys(p, access);
    p.exp_string("S3 URI").unwrap();
    keys(p, &format!("{uri}\r"));
}

#[tokio::test]
async fn a_whole_role_setup_typed_at_the_terminal() {
    let Scene { moto, aws, bucket } = scene("wizrole").await;

    let mut p = wizard(&moto.url());
    p.exp_string("What will TiDB Cloud do with the bucket?")
        .unwrap();
    keys(&mut p, "\r"); // import, the first answer and the default
    p.exp_string("S3 URI").unwrap();
    keys(&mut p, "not-a-uri\r");
    p.exp_string("must look like s3://bucket/dir/").unwrap();
    // The bad answer stays in the field; clear it and type a good one.
    keys(&mut p, &"\x7f".repeat(20));
    keys(&mut p, &format!("s3://{bucket}/in/\r"));
    p.exp_string("How should TiDB Cloud get in?").unwrap();
    keys(&mut p, "\r"); // CloudFormation
                        // An import asks the tier, since TiDB Cloud Dedicated needs one more permission.
    p.exp_string("Which TiDB Cloud tier").unwrap();
    keys(&mut p, "\r"); // Starter, Essential or Premium
    p.exp_string("TiDB Cloud Account ID").unwrap();
    keys(&mut p, &format!("{TIDB_ACCOUNT}\r"));
    p.exp_string("TiDB Cloud External ID").unwrap();
    keys(&mut p, &format!("{EXTERNAL_ID}\r"));
    p.exp_string("Role name").unwrap();
    keys(&mut p, "\r");
    p.exp_string("Policy name").unwrap();
    keys(&mut p, "\r");
    p.exp_string("Stack name").unwrap();
    keys(&mut p, "\r");
    p.exp_string("Detected").unwrap();
    p.exp_string(&format!("arn:aws:s3:::{bucket}/in/*"))
        .unwrap();
    p.exp_string("Proceed?").unwrap();
    keys(&mut p, "y");
    // The Role ARN is the result, on stdout (here the screen), and is not repeated.
    let shown = p
        .exp_string("choose AWS Role ARN and paste the Role ARN (the Role ARN above)")
        .unwrap();
    assert_eq!(
        shown.matches(":role/tidb-role-import-").count(),
        1,
        "the ARN once: {shown}"
    );
    assert!(!shown.contains("Role ARN:"), "{shown}");
    let rest = p.exp_string("To repeat this setup in CI").unwrap();
    let _ = rest;
    let ci = p.exp_eof().unwrap();
    assert_says(&ci, "--method cloudformation");
    assert_says(&ci, "--yes");
    assert_says(&ci, &format!("--external-id {EXTERNAL_ID}"));
    assert!(exit_code(&p).ends_with(", 0)"), "{}", exit_code(&p));
    // The command holds only what was chosen: the default names are derived again.
    assert!(
        !ci.contains("--role-name") && !ci.contains("--policy-name"),
        "{ci}"
    );
    // And it converges: run as printed (without a terminal, as in CI), it finds the same role
    // and changes nothing.
    let bytes: Vec<u8> = ci.chars().map(|c| c as u32 as u8).collect();
    let ci = console::strip_ansi_codes(&String::from_utf8_lossy(&bytes)).replace(" \\\r\n", " ");
    let line = ci
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("serverless-s3-setup role"))
        .unwrap_or_else(|| panic!("no command: {ci}"));
    let again = Command::new("sh")
        .arg("-c")
        .arg(line.replacen("serverless-s3-setup", "\"$0\"", 1))
        .arg(env!("CARGO_BIN_EXE_serverless-s3-setup"))
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{line}\n{stderr}");
    assert!(stderr.contains("already match"), "{line}\n{stderr}");

    let role = format!("tidb-role-import-{bucket}-in");
    let trust = aws.trust(&role).await;
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        EXTERNAL_ID
    );
    let stack = aws.stack(&role).await;
    assert_eq!(stack.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
}

#[tokio::test]
async fn a_whole_access_key_setup_typed_at_the_terminal() {
    let Scene { moto, aws, bucket } = scene("wizkey").await;

    let mut p = wizard(&moto.url());
    access_and_uri(&mut p, "j\r", &format!("s3://{bucket}/out/")); // export
    p.exp_string("How should TiDB Cloud get in?").unwrap();
    keys(&mut p, "jj\r"); // access key
    p.exp_string("IAM user name").unwrap();
    keys(&mut p, "\r");
    p.exp_string("Policy name").unwrap();
    keys(&mut p, "\r");
    p.exp_string("Proceed?").unwrap();
    keys(&mut p, "y");
    // At a terminal, the text result shows the secret, once.
    p.exp_string("Access Key ID:").unwrap();
    p.exp_string("Secret Access Key:").unwrap();
    p.exp_string("shown only this once").unwrap();
    let tail = p.exp_eof().unwrap();
    assert_says(&tail, "access-key delete --user-name");
    // In CI stdout is a log: the command it prints puts the secret in a file.
    assert_says(&tail, "--secret-file tidb-access-key.json");
    assert!(exit_code(&p).ends_with(", 0)"));

    let user = format!("tidb-user-export-{bucket}-out");
    assert_eq!(aws.key_ids(&user).await.len(), 1);
}

#[tokio::test]
async fn ctrl_c_at_the_plan_exits_130_and_creates_nothing() {
    let Scene { moto, aws, bucket } = scene("wizcancel").await;

    let mut p = wizard(&moto.url());
    answer_up_to_the_plan(&mut p, "jj\r", &format!("s3://{bucket}/")); // both
    p.send_control('c').unwrap();
    let tail = p.exp_eof().unwrap();
    assert_says(&tail, "interrupted by Ctrl-C; nothing was changed");
    // Said as at every prompt: stopping when asked to is no error of the tool.
    assert!(!tail.contains("error:"), "{tail}");
    // Nothing typed is lost: the command that goes on from the answers.
    assert_says(&tail, "Your answers are in this command");
    for answer in [
        "--method iam",
        "--access both",
        &format!("--tidb-account-id {TIDB_ACCOUNT}"),
        &format!("--external-id {EXTERNAL_ID}"),
        &format!("--role-name tidb-role-both-{bucket}"),
    ] {
        assert!(tail.contains(answer), "{answer}: {tail}");
    }
    let status = exit_code(&p);
    assert!(status.ends_with(", 130)"), "{status}");
    assert!(aws.roles_naming(&bucket).await.is_empty());
    assert!(aws.policies_naming(&bucket).await.is_empty());
}

/// `role --yes` at a terminal for an import of `bucket`'s `d/`, through a proxy that holds its
/// CreateRole `held_ms`; returned once the CreateRole is held, a step's spinner turning.
fn role_held_at_create(proxy: &Proxy, bucket: &str, held_ms: u64) -> PtySession {
    proxy.fail(Match::Action("CreateRole".into()), Fault::Delay(held_ms), 1);
    let uri = format!("s3://{bucket}/d/");
    let args = SetupArgs::role("iam", &uri).access("import").yes().build();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let p = wizard_with(&proxy.url(), &args);
    proxy.wait_for("CreateRole", 1);
    p
}

/// Ctrl-C while a step's spinner turns: the warning that the run stops goes above the spinner,
/// whole, and no frame of the spinner is left on the screen.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_a_step_leaves_the_warning_whole_and_no_spinner() {
    let Scene { moto, aws, bucket } = scene("wizstop").await;
    let proxy = Proxy::start(moto.port);
    let mut p = role_held_at_create(&proxy, &bucket, 1500);
    p.send_control('c').unwrap();
    let output = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 130)"), "{}", exit_code(&p));
    let rows = screen(&output, 250);
    let text = rows.join("\n");
    let warning = "warning: Ctrl-C: finishing the request in flight";
    assert!(rows.iter().any(|r| r.starts_with(warning)), "{text}");
    assert_no_spinner(&rows);
    assert!(aws.roles_naming(&bucket).await.is_empty(), "{text}");
}

/// A second Ctrl-C while a step's spinner turns ends the run at once: its last words are on a
/// screen with no frame of the spinner left.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_ends_at_once_and_leaves_no_spinner() {
    let moto = moto();
    let proxy = Proxy::start(moto.port);
    let bucket = unique("wizagain");
    aws(&moto.url()).await.create_bucket(&bucket).await;
    let mut p = role_held_at_create(&proxy, &bucket, 10_000);
    p.send_control('c').unwrap();
    let first = p.exp_string("press Ctrl-C again to stop at once").unwrap();
    // The spinner goes on under the warning before the second signal comes.
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send_control('c').unwrap();
    let output = first + &p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 130)"), "{}", exit_code(&p));
    let rows = screen(&output, 250);
    let text = rows.join("\n");
    assert_says(&text, "Ctrl-C again: stopped at once");
    assert_no_spinner(&rows);
}

/// Declining the plan after the questions keeps the answers: the command that goes on from
/// them is said, and nothing is made.
#[tokio::test]
async fn a_declined_plan_says_the_command_that_keeps_the_answers() {
    let Scene { moto, aws, bucket } = scene("wizno").await;
    let mut p = wizard(&moto.url());
    answer_up_to_the_plan(&mut p, "\r", &format!("s3://{bucket}/in/")); // import
    keys(&mut p, "n\r");
    let tail = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 1)"), "{}", exit_code(&p));
    assert_says(&tail, "cancelled; nothing was changed");
    assert!(!tail.contains("error:"), "{tail}");
    assert_says(&tail, "Your answers are in this command");
    for answer in [
        "--method iam",
        "--access import",
        &format!("--external-id {EXTERNAL_ID}"),
        &format!("--role-name tidb-role-import-{bucket}-in"),
    ] {
        assert!(tail.contains(answer), "{answer}: {tail}");
    }
    assert!(aws.roles_naming(&bucket).await.is_empty());
}

/// A plan that takes a cluster's access away never goes ahead on Enter alone.
#[tokio::test]
async fn enter_at_a_plan_that_removes_a_cluster_changes_nothing() {
    let Scene { moto, aws, bucket } = scene("wizrevoke").await;
    let uri = format!("s3://{bucket}/in/");
    let base = [
        "role",
        "--method",
        "iam",
        "--uri",
        &uri,
        "--access",
        "import",
        "--tier",
        "starter",
        "--tidb-account-id",
        TIDB_ACCOUNT,
    ];
    run(
        &moto.url(),
        with(&base, &["--external-id", "dev-cluster-id", "--yes"]),
    )
    .ok();
    let role = format!("tidb-role-import-{bucket}-in");
    let policy = format!("{role}-policy");

    let mut args = base.to_vec();
    args.extend([
        "--external-id",
        "prod-cluster-id",
        "--replace-external-ids",
        "--role-name",
        &role,
        "--policy-name",
        &policy,
    ]);
    let mut p = wizard_with(&moto.url(), &args);
    p.exp_string("loses access: the cluster with external ID dev-cluster-id")
        .unwrap();
    p.exp_string("Proceed?").unwrap();
    // dialoguer shows the default after the question: `(y/n) › no`.
    p.exp_string("(y/n)").unwrap();
    p.exp_string("no").unwrap();
    keys(&mut p, "\r");
    p.exp_eof().unwrap();
    let status = exit_code(&p);
    assert!(status.ends_with(", 1)"), "{status}");
    let trust = aws.trust(&role).await;
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"], "dev-cluster-id",
        "nothing changed"
    );

    // Adding a cluster takes nothing away, so Enter proceeds.
    let mut args = base.to_vec();
    args.extend([
        "--external-id",
        "prod-cluster-id",
        "--role-name",
        &role,
        "--policy-name",
        &policy,
    ]);
    let mut p = wizard_with(&moto.url(), &args);
    p.exp_string("the cluster with external ID dev-cluster-id keeps access")
        .unwrap();
    p.exp_string("(y/n)").unwrap();
    p.exp_string("yes").unwrap();
    keys(&mut p, "\r");
    p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 0)"), "{}", exit_code(&p));
    let trust = aws.trust(&role).await;
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        serde_json::json!(["dev-cluster-id", "prod-cluster-id"])
    );
}

/// A plan that takes a guardrail off shows it as a `-` line and never goes ahead on Enter.
#[tokio::test]
async fn enter_at_a_plan_that_takes_a_guardrail_off_changes_nothing() {
    let Scene { moto, aws, bucket } = scene("wizguard").await;
    let base = SetupArgs::role("iam", &format!("s3://{bucket}/in/")).args(&["--tier", "starter"]);
    run(
        &moto.url(),
        base.clone().args(&["--tag", "cost=42"]).yes().build(),
    )
    .ok();
    let role = format!("tidb-role-import-{bucket}-in");

    let args = base.args(&["--remove-tag", "cost"]).build();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = wizard_with(&moto.url(), &args);
    // The plan's `-` line (red, then `tag cost: 42 → (removed)`; rexpect reads bytes, so the
    // arrow is left out of what it looks for).
    let shown = p.exp_string("take the tag cost off role").unwrap();
    assert_says(&shown, "\u{1b}[31m-\u{1b}[0m tag cost: 42 ");
    assert_says(&shown, "(removed)");
    p.exp_string("Proceed?").unwrap();
    p.exp_string("(y/n)").unwrap();
    p.exp_string("no").unwrap();
    keys(&mut p, "\r");
    p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 1)"), "{}", exit_code(&p));
    let tags = aws.role(&role).await.unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "cost" && t.value() == "42"),
        "nothing changed: {tags:?}"
    );
}

#[test]
fn without_a_terminal_the_bare_command_exits_2_at_once() {
    let started = std::time::Instant::now();
    let out = ran(bin("http://127.0.0.1:9")
        .timeout(std::time::Duration::from_secs(10))
        .output()
        .unwrap());
    let stderr = out.stderr;
    assert_eq!(out.code, 2, "{stderr}");
    assert_says(&stderr, "role or access-key");
    assert!(stderr.contains("Usage:"), "help goes to stderr: {stderr}");
    assert!(out.stdout.is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    let stderr = ran(bin("http://127.0.0.1:9")
        .args(["access-key", "--access", "import"])
        .timeout(std::time::Duration::from_secs(10))
        .output()
        .unwrap())
    .exits(2)
    .stderr;
    assert_says(&stderr, "--uri");
    assert_says(&stderr, "--yes");
}

/// Ctrl-C at every kind of prompt (a selection list, a text field, a yes/no question) leaves
/// the terminal as it was: the cursor shown again, one line saying nothing was changed, and
/// exit 130.
#[tokio::test]
async fn ctrl_c_at_any_kind_of_prompt_restores_the_cursor_and_says_nothing_changed() {
    let Scene { moto, bucket, .. } = scene("wizctrlc").await;
    let show_cursor = "\u{1b}[?25h";
    for (kind, cols) in ["select", "input", "confirm"]
        .into_iter()
        .flat_map(|kind| [(kind, 250), (kind, 60)])
    {
        let kind = format!("{kind} at {cols} columns");
        let kind = kind.as_str();
        let mut p = wizard_at_width(&moto.url(), cols);
        if kind.starts_with("confirm") {
            answer_up_to_the_plan(&mut p, "\r", &format!("s3://{bucket}/in/"));
        } else {
            p.exp_string("What will TiDB Cloud do with the bucket?")
                .unwrap();
        }
        if kind.starts_with("input") {
            keys(&mut p, "\r");
            p.exp_string("S3 URI").unwrap();
        }
        p.send_control('c').unwrap();
        let tail = p.exp_eof().unwrap();
        assert!(
            tail.contains(show_cursor),
            "{kind}: the cursor is shown again: {tail:?}"
        );
        assert_eq!(
            tail.matches("nothing was changed").count(),
            1,
            "{kind}: one line: {tail:?}"
        );
        let status = exit_code(&p);
        assert!(status.ends_with(", 130)"), "{kind}: {status}");
    }
}

/// A bucket that does not exist is caught at the question that named it: checked against AWS
/// at once, behind a spinner, and asked again with the reason as an error.
#[tokio::test]
async fn a_missing_bucket_is_asked_again_before_the_questions_go_on() {
    let Scene { moto, bucket, .. } = scene("wizbucket").await;
    for cols in [250, 80, 60] {
        let mut p = wizard_at_width(&moto.url(), cols);
        access_and_uri(&mut p, "\r", &format!("s3://{bucket}-missing/in/"));
        // At 60 columns the reason wraps at a word boundary; the bucket's name stays whole.
        let said = p.exp_string(&format!("`{bucket}-missing`")).unwrap();
        assert!(said.contains("error:"), "{cols} columns: {said}");
        p.exp_string("exist").unwrap();
        let between = p.exp_string("S3 URI").unwrap();
        assert!(
            !between.contains("How should TiDB Cloud get in?"),
            "{between}"
        );
        keys(&mut p, &format!("s3://{bucket}/in/\r"));
        p.exp_string("How should TiDB Cloud get in?").unwrap();
        keys(&mut p, "j\r"); // IAM
        p.exp_string("Which TiDB Cloud tier").unwrap();
        p.send_control('c').unwrap();
        p.exp_eof().unwrap();
        assert!(exit_code(&p).ends_with(", 130)"), "{cols} columns");
    }
}

/// The wizard in a pseudo-terminal of `cols` columns.
fn wizard_at_width(endpoint: &str, cols: u16) -> PtySession {
    pty(endpoint, cols, &[])
}

/// At 60, 80 and 100 columns, moving through a selection list leaves one list on the screen:
/// one `❯`, no stale lines from a wrapped item.
#[tokio::test]
async fn selection_lists_redraw_cleanly_at_narrow_widths() {
    let Scene { moto, bucket, .. } = scene("wizwidth").await;
    for cols in [60u16, 80, 100] {
        let mut p = wizard_at_width(&moto.url(), cols);
        let mut shown = p
            .exp_string("What will TiDB Cloud do with the bucket?")
            .unwrap();
        shown.push_str("What will TiDB Cloud do with the bucket?");
        keys(&mut p, "\r");
        shown.push_str(&p.exp_string("S3 URI").unwrap());
        shown.push_str("S3 URI");
        keys(&mut p, &format!("s3://{bucket}/in/\r"));
        shown.push_str(&p.exp_string("How should TiDB Cloud get in?").unwrap());
        shown.push_str("How should TiDB Cloud get in?");
        for key in ["j", "j", "k", "j"] {
            keys(&mut p, key);
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
        p.send_control('c').unwrap();
        shown.push_str(&p.exp_eof().unwrap());
        let rows = screen(&shown, cols);
        let start = rows
            .iter()
            .rposition(|r| r.contains("How should TiDB Cloud get in?"))
            .unwrap_or_else(|| panic!("{cols} columns:\n{}", rows.join("\n")));
        let markers: usize = rows[start..].iter().map(|r| r.matches('❯').count()).sum();
        assert_eq!(markers, 1, "{cols} columns:\n{}", rows.join("\n"));
        // No item wraps: every row of the list is a whole item.
        let items = rows[start + 1..]
            .iter()
            .take_while(|r| !r.trim().is_empty())
            .count();
        assert_eq!(items, 3, "{cols} columns:\n{}", rows.join("\n"));
    }
}

/// At 60 columns the plan, the next steps and the CI command fit the terminal: prose wraps at
/// word boundaries; a command goes on with ` \` continuations, so it can still be copied.
#[tokio::test]
async fn the_plan_and_the_next_steps_fit_sixty_columns() {
    let Scene { moto, bucket, .. } = scene("wiz60").await;
    let mut p = wizard_at_width(&moto.url(), 60);
    let plan = answer_up_to_the_plan(&mut p, "\r", &format!("s3://{bucket}/in/"));
    keys(&mut p, "y");
    let rest = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 0)"), "{}", exit_code(&p));
    let text = |s: &str| -> String {
        let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let (plan, rest) = (text(&plan), text(&rest));
    let plain = |line: &str| console::strip_ansi_codes(line).into_owned();
    // Wider only where one word (an ARN), or one option with its value, is wider than the
    // terminal: neither can be broken and still be copied.
    let fits = |line: &str| {
        let words: Vec<&str> = line.trim_end_matches(" \\").split_whitespace().collect();
        console::measure_text_width(line) <= 60
            || words.len() == 1
            || (words.len() == 2 && words[0].starts_with("--"))
    };
    let start = plan.find("Detected").unwrap();
    for line in plan[start..].split("\r\n").map(plain) {
        assert!(fits(&line), "{line:?}\n{plan}");
    }
    let next = rest.find("Next:").unwrap();
    let lines: Vec<String> = rest[next..].split("\r\n").map(plain).collect();
    for line in &lines {
        assert!(fits(line), "{line:?}\n{rest}");
    }
    let ci = lines
        .iter()
        .position(|l| l.starts_with("To repeat this setup in CI"))
        .unwrap();
    let command: Vec<&String> = lines[ci + 1..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(command.len() > 1, "{rest}");
    for line in &command[..command.len() - 1] {
        assert!(line.ends_with(" \\"), "{line:?}");
    }
    assert!(
        command.last().unwrap().trim_end().ends_with("--yes"),
        "{rest}"
    );
}

/// A URI of the bucket alone is said to grant everything, and Enter alone (No) asks for the
/// URI again; at 60 and 80 columns.
#[tokio::test]
async fn a_whole_bucket_needs_a_yes_and_enter_asks_again() {
    let Scene { moto, bucket, .. } = scene("wizwhole").await;
    for cols in [60, 80] {
        let mut p = wizard_at_width(&moto.url(), cols);
        access_and_uri(&mut p, "\r", &format!("s3://{bucket}"));
        p.exp_string("names no folder").unwrap();
        p.exp_string("Grant the whole bucket?").unwrap();
        keys(&mut p, "\r");
        p.exp_string("S3 URI").unwrap();
        keys(&mut p, &format!("s3://{bucket}/in/\r"));
        p.exp_string("How should TiDB Cloud get in?").unwrap();
        p.send_control('c').unwrap();
        p.exp_eof().unwrap();
        assert!(exit_code(&p).ends_with(", 130)"), "{cols} columns");
    }
}

/// Ctrl-C at any question after some answers says the command that goes on from them: each
/// answer so far as its flag, at 60 and 80 columns; and a typed command goes on with its own
/// flags and the answers after them.
#[tokio::test]
async fn ctrl_c_at_each_question_says_the_command_that_goes_on() {
    let Scene { moto, bucket, .. } = scene("wizgo").await;
    let uri = format!("s3://{bucket}/in/");
    let first = ["--method iam", &format!("--uri {uri}"), "--access import"].map(String::from);
    let stops: [(&str, &[String]); 3] = [
        ("TiDB Cloud Account ID", &[]),
        (
            "TiDB Cloud External ID",
            &[format!("--tidb-account-id {TIDB_ACCOUNT}")],
        ),
        ("Role name", &[format!("--external-id {EXTERNAL_ID}")]),
    ];
    for cols in [60, 80] {
        for (n, (question, _)) in stops.iter().enumerate() {
            let mut p = wizard_at_width(&moto.url(), cols);
            access_and_uri(&mut p, "\r", &uri);
            p.exp_string("How should TiDB Cloud get in?").unwrap();
            keys(&mut p, "j\r"); // IAM
            p.exp_string("Which TiDB Cloud tier").unwrap();
            keys(&mut p, "\r");
            let answers = [format!("{TIDB_ACCOUNT}\r"), format!("{EXTERNAL_ID}\r")];
            for answer in &answers[..n] {
                keys(&mut p, answer);
            }
            p.exp_string(question).unwrap();
            p.send_control('c').unwrap();
            let tail = p.exp_eof().unwrap();
            let tail = tail
                .replace(" \\\r\n", " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert_says(&tail, "Your answers are in this command");
            let said = stops[..=n].iter().flat_map(|(_, m)| m.iter());
            for flag in first.iter().chain(said) {
                assert!(tail.contains(flag.as_str()), "{question}: {flag}: {tail}");
            }
            assert!(exit_code(&p).ends_with(", 130)"), "{question}");
        }
    }
    // Before the way in is chosen, either command goes on: at the URI from the access, at
    // the way in from the URI too.
    for (question, uri_said) in [("S3 URI", false), ("How should TiDB Cloud get in?", true)] {
        let mut p = wizard_at_width(&moto.url(), 80);
        p.exp_string("What will TiDB Cloud do with the bucket?")
            .unwrap();
        keys(&mut p, "j\r"); // export
        if uri_said {
            p.exp_string("S3 URI").unwrap();
            keys(&mut p, &format!("s3://{bucket}/out/\r"));
        }
        p.exp_string(question).unwrap();
        p.send_control('c').unwrap();
        let tail = p.exp_eof().unwrap().replace(" \\\r\n", " ");
        let tail = tail.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(tail.contains("either goes on"), "{question}: {tail}");
        let uri = if uri_said {
            format!(" --uri s3://{bucket}/out/")
        } else {
            String::new()
        };
        for command in ["role --method cloudformation", "access-key"] {
            let said = format!("serverless-s3-setup {command}{uri} --access export");
            assert!(tail.contains(&said), "{question}: {said}: {tail}");
        }
        assert!(exit_code(&p).ends_with(", 130)"), "{question}");
    }
    // Typed flags stay, and the answers follow them.
    let mut p = pty(
        &moto.url(),
        80,
        &["role", "--method", "iam", "--access", "export"],
    );
    p.exp_string("S3 URI").unwrap();
    keys(&mut p, &format!("s3://{bucket}/out/\r"));
    p.exp_string("TiDB Cloud Account ID").unwrap();
    p.send_control('c').unwrap();
    let tail = p.exp_eof().unwrap();
    // At 80 columns a long command goes on over ` \` continuations: read as one line.
    let said = tail
        .replace(" \\\r\n", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        said.contains(&format!(
            "serverless-s3-setup role --method iam --access export --uri s3://{bucket}/out/"
        )),
        "{tail}"
    );
}

/// `verify` at an 80-column terminal: a long finding wraps under its own column, never back
/// to column 0, and no frame of the spinner is left on the screen.
#[tokio::test]
async fn verify_fits_the_terminal_and_leaves_no_spinner_frame() {
    let Scene { moto, bucket, .. } = scene("wizverify").await;
    let made = run(
        &moto.url(),
        SetupArgs::role("iam", &format!("s3://{bucket}/out/"))
            .access("export")
            .yes()
            .build(),
    )
    .ok();
    let arn = made.stdout.trim().to_string();
    let mut p = pty(&moto.url(), 80, &["verify", "--role-arn", &arn]);
    let output = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 0)"), "{}", exit_code(&p));
    let rows = screen(&output, 80);
    let text = rows.join("\n");
    assert_says(&text, "all checks passed");
    assert_no_spinner(&rows);
    let checks: Vec<&String> = rows
        .iter()
        .skip_while(|r| !r.starts_with("✓ pass") && !r.starts_with("! warn"))
        .take_while(|r| !r.starts_with("all checks passed"))
        .filter(|r| !r.trim().is_empty())
        .collect();
    assert!(checks.len() > 7, "{text}");
    for row in checks {
        let marked = ["✓ pass", "! warn", "✗ FAIL"]
            .iter()
            .any(|m| row.starts_with(m));
        assert!(
            marked || row.starts_with(&" ".repeat(27)),
            "wrapped back to the left: {row:?}\n{text}"
        );
    }
}

/// The wizard on a role made with IAM: the method is asked before the role is found, and the
/// role keeps the way it was made (the answer is not a stack that would fail on it).
#[tokio::test]
async fn the_wizard_keeps_the_method_a_role_was_made_with() {
    let Scene { moto, aws, bucket } = scene("wizkeep").await;
    let uri = format!("s3://{bucket}/in/");
    run(&moto.url(), SetupArgs::role("iam", &uri).yes().build()).ok();
    // At 60 and 80 columns; the second run finds the role as the first left it.
    for cols in [60, 80] {
        let mut p = wizard_at_width(&moto.url(), cols);
        access_and_uri(&mut p, "\r", &uri); // import
        p.exp_string("How should TiDB Cloud get in?").unwrap();
        keys(&mut p, "\r"); // a stack, the default
        p.exp_string("Which TiDB Cloud tier").unwrap();
        keys(&mut p, "\r");
        p.exp_string("method: iam, as role").unwrap();
        p.exp_string("TiDB Cloud Account ID").unwrap();
        keys(&mut p, &format!("{TIDB_ACCOUNT}\r"));
        p.exp_string("TiDB Cloud External ID").unwrap();
        keys(&mut p, &format!("{EXTERNAL_ID}\r"));
        let tail = p.exp_eof().unwrap();
        assert!(exit_code(&p).ends_with(", 0)"), "{}\n{tail}", exit_code(&p));
        assert!(!tail.contains("outside any stack"), "{tail}");
        let role = format!("tidb-role-import-{bucket}-in");
        assert!(aws.role(&role).await.is_some());
        assert!(
            aws.cfn
                .describe_stacks()
                .stack_name(&role)
                .send()
                .await
                .is_err(),
            "no stack was made"
        );
    }
}

/// Esc at the way in goes back to the URI question, the answer kept as its default (Enter
/// takes it), and Esc at the tier back to the way in; at 60 and 80 columns.
#[tokio::test]
async fn esc_goes_back_with_the_answer_kept() {
    let Scene { moto, bucket, .. } = scene("wizesc").await;
    for cols in [60, 80] {
        let mut p = wizard_at_width(&moto.url(), cols);
        access_and_uri(&mut p, "\r", &format!("s3://{bucket}/in/"));
        p.exp_string("How should TiDB Cloud get in?").unwrap();
        keys(&mut p, "\x1b");
        // Asked again, with the answer kept.
        p.exp_string("S3 URI").unwrap();
        p.exp_string(&format!("s3://{bucket}/in/")).unwrap();
        keys(&mut p, "\r");
        p.exp_string("How should TiDB Cloud get in?").unwrap();
        keys(&mut p, "j\r"); // IAM
        p.exp_string("Which TiDB Cloud tier").unwrap();
        // Esc at the tier: back to the way in.
        keys(&mut p, "\x1b");
        p.exp_string("How should TiDB Cloud get in?").unwrap();
        keys(&mut p, "\r"); // IAM again: the choice starts at the answer kept
        p.exp_string("Which TiDB Cloud tier").unwrap();
        p.send_control('c').unwrap();
        let tail = p.exp_eof().unwrap();
        assert!(tail.contains("--method iam"), "{cols} columns: {tail}");
        assert!(exit_code(&p).ends_with(", 130)"), "{cols} columns");
    }
}

/// A rejected answer leaves no old line: once a good URI is taken, the screen shows the
/// question answered once, with the good URI, and no line of the rejected one.
#[tokio::test]
async fn a_rejected_answer_leaves_no_old_line() {
    let Scene { moto, bucket, .. } = scene("wizreject").await;
    let mut p = wizard_at_width(&moto.url(), 80);
    // Everything the terminal was sent, to replay on a screen of 80 columns.
    let mut sent = String::new();
    let mut expect = |p: &mut PtySession, needle: &str| {
        sent.push_str(&p.exp_string(needle).unwrap());
        sent.push_str(needle);
    };
    expect(&mut p, "What will TiDB Cloud do with the bucket?");
    keys(&mut p, "\r");
    expect(&mut p, "S3 URI");
    keys(&mut p, "not-a-uri\r");
    expect(&mut p, "s3://bucket/dir/");
    keys(&mut p, &format!("s3://{bucket}/in/\r"));
    expect(&mut p, "How should TiDB Cloud get in?");
    p.send_control('c').unwrap();
    sent.push_str(&p.exp_eof().unwrap());
    let rows = screen(&sent, 80);
    let text = rows.join("\n");
    assert_says(&text, &format!("s3://{bucket}/in/"));
    assert!(!text.contains("not-a-uri"), "{text}");
    assert_eq!(
        rows.iter().filter(|r| r.contains("S3 URI")).count(),
        1,
        "{text}"
    );
}

/// Esc at a text question goes back a question, the answer kept (Enter takes it); at the
/// setup's first question, back to the wizard's last; at 60 and 80 columns. A stop after
/// going back says only the answers still given.
#[tokio::test]
async fn esc_at_a_text_question_goes_back_with_the_answer_kept() {
    let Scene { moto, bucket, .. } = scene("wizesctext").await;
    for cols in [60, 80] {
        let mut p = wizard_at_width(&moto.url(), cols);
        // Everything the terminal was sent, to replay on a screen of this width.
        let mut sent = String::new();
        let mut expect = |p: &mut PtySession, needle: &str| {
            sent.push_str(&p.exp_string(needle).unwrap());
            sent.push_str(needle);
        };
        expect(&mut p, "What will TiDB Cloud do with the bucket?");
        keys(&mut p, "\r");
        expect(&mut p, "S3 URI");
        keys(&mut p, &format!("s3://{bucket}/in/\r"));
        expect(&mut p, "How should TiDB Cloud get in?");
        keys(&mut p, "j\r"); // IAM
        expect(&mut p, "Which TiDB Cloud tier");
        keys(&mut p, "\r");
        expect(&mut p, "TiDB Cloud Account ID");
        keys(&mut p, &format!("{TIDB_ACCOUNT}\r"));
        expect(&mut p, "TiDB Cloud External ID");
        // Esc: the Account ID again, its answer offered.
        keys(&mut p, "\x1b");
        expect(&mut p, "TiDB Cloud Account ID");
        expect(&mut p, TIDB_ACCOUNT);
        keys(&mut p, "\r");
        expect(&mut p, "TiDB Cloud External ID");
        keys(&mut p, &format!("{EXTERNAL_ID}\r"));
        expect(&mut p, "Role name");
        // Esc twice, then at the Account ID once more: back past the setup, to the tier.
        // (The answer is offered in the prompt, or, too long for it, on a line before.)
        keys(&mut p, "\x1b");
        expect(&mut p, EXTERNAL_ID);
        keys(&mut p, "\x1b");
        expect(&mut p, "TiDB Cloud Account ID");
        keys(&mut p, "\x1b");
        expect(&mut p, "Which TiDB Cloud tier");
        keys(&mut p, "j\r"); // Dedicated
        expect(&mut p, "TiDB Cloud Account ID");
        keys(&mut p, &format!("{TIDB_ACCOUNT}\r"));
        expect(&mut p, "TiDB Cloud External ID");
        p.send_control('c').unwrap();
        let tail = p.exp_eof().unwrap();
        sent.push_str(&tail);
        // A question gone back from left no line: only the one stopped at is open.
        let rows = screen(&sent, cols);
        let open: Vec<_> = rows.iter().filter(|r| r.starts_with("? ")).collect();
        assert_eq!(open.len(), 1, "{cols} columns:\n{}", rows.join("\n"));
        assert!(open[0].contains("External ID"), "{open:?}");
        // Each question gone back to was asked again where it was: it shows once.
        for question in ["TiDB Cloud Account ID ·", "Which TiDB Cloud tier"] {
            let shown = rows.iter().filter(|r| r.contains(question)).count();
            assert_eq!(shown, 1, "{question}:\n{}", rows.join("\n"));
        }
        assert!(exit_code(&p).ends_with(", 130)"), "{cols} columns: {tail}");
        assert!(
            tail.contains("--tier dedicated --tidb-account-id"),
            "{cols} columns: {tail}"
        );
        assert!(!tail.contains("--external-id"), "{cols} columns: {tail}");
    }
}

/// At a terminal where no region is configured, a stack's region is asked, the bucket's
/// offered, and the stack goes where the answer says.
#[tokio::test]
async fn with_no_region_configured_the_stacks_region_is_asked() {
    let (moto, aws) = on_moto().await;
    let bucket = unique("askregion");
    aws.create_bucket_in(&bucket, "eu-west-1").await;
    let uri = format!("s3://{bucket}/d/");
    let role = format!("r-{bucket}");
    let args = SetupArgs::role("cloudformation", &uri)
        .role_name(&role)
        .args(&[
            "--tier",
            "starter",
            "--stack-name",
            &role,
            "--policy-name",
            &role,
        ])
        .build();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = pty_with(&moto.url(), 250, &args, |cmd| {
        cmd.env_remove("AWS_REGION");
    });
    p.exp_string("no AWS region is configured").unwrap();
    p.exp_string("Region for the stack").unwrap();
    p.exp_string("eu-west-1").unwrap();
    // A region that is not one is refused, and asked again.
    keys(&mut p, "\x15nowhere\r");
    p.exp_string("must be an AWS region").unwrap();
    keys(&mut p, "\x15eu-west-1\r");
    p.exp_string("Proceed?").unwrap();
    keys(&mut p, "y");
    p.exp_string(&format!("held by stack {role} in eu-west-1"))
        .unwrap();
    p.exp_eof().unwrap();
    let status = exit_code(&p);
    assert!(status.ends_with(", 0)"), "{status}");
    assert!(aws.stack_in(&role, "eu-west-1").await);
}

/// A profile that assumes a role with MFA: the code is asked on the terminal and sent with
/// the AssumeRole (as the AWS CLI does; aws-config would send none and be denied), and the
/// run goes on as that role. Without a terminal, the run says how to do it, and asks AWS
/// nothing.
#[tokio::test]
async fn an_mfa_profile_asks_for_the_code_and_assumes_the_role_with_it() {
    let Scene { moto, bucket, .. } = scene("mfa").await;
    let proxy = Proxy::start(moto.port);
    let dir = moto::tmp_dir().join(unique("mfa-profiles"));
    std::fs::create_dir_all(&dir).unwrap();
    let serial = "arn:aws:iam::123456789012:mfa/alice";
    std::fs::write(
        dir.join("config"),
        format!(
            "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/tidb-admin\nmfa_serial = {serial}\nsource_profile = base\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("credentials"),
        "[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let uri = format!("s3://{bucket}/d/");
    let role = format!("r-{bucket}");
    let words = SetupArgs::role("iam", &uri)
        .role_name(&role)
        .args(&["--tier", "starter", "--policy-name", &role])
        .args(&["--dry-run", "--profile", "admin", "-vv"])
        .build();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let files = |cmd: &mut Command| {
        cmd.env("AWS_CONFIG_FILE", dir.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"));
    };

    // No terminal: refused with the way to do it, before any request (a dry run would plan
    // without AWS instead).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_serverless-s3-setup"));
    cmd.args(words.iter().filter(|w| **w != "--dry-run"))
        .arg("--yes");
    clean_env(&mut cmd, &proxy.url());
    files(&mut cmd);
    let out = ran(cmd.output().unwrap());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the code can only be asked at a terminal"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "aws sts assume-role --role-arn arn:aws:iam::123456789012:role/tidb-admin --role-session-name serverless-s3-setup --serial-number {serial} --token-code CODE --profile base"
        )),
        "{}",
        out.stderr
    );
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());

    // At a terminal: asked, a wrong shape refused, then sent.
    let mut p = pty_with(&proxy.url(), 250, &words, files);
    p.exp_string(&format!("MFA code for {serial} (profile admin)"))
        .unwrap();
    keys(&mut p, "12345\r");
    p.exp_string("six digits").unwrap();
    keys(&mut p, "123456\r");
    let shown = p.exp_eof().unwrap();
    let status = exit_code(&p);
    assert!(status.ends_with(", 0)"), "{status}\n{shown}");
    assert!(
        shown.contains(
            "sts:GetCallerIdentity -> arn:aws:sts::123456789012:assumed-role/tidb-admin/"
        ),
        "the run is the role's: {shown}"
    );
    let assumed: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|(action, _)| action == "AssumeRole")
        .collect();
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    let field = |name: &str| {
        assumed[0]
            .1
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("TokenCode").as_deref(), Some("123456"));
    assert_eq!(field("SerialNumber").as_deref(), Some(serial));
    assert_eq!(
        field("RoleArn").as_deref(),
        Some("arn:aws:iam::123456789012:role/tidb-admin")
    );
}

/// `verify` and `teardown` at a terminal, with nothing named: each lists what this tool made in
/// the account (a stack, a role, a user, each with what it serves; never a role it did not
/// make) and says the command that names the one chosen; `verify` checks it against what it
/// records, `teardown` deletes only it once confirmed. The list comes from one read of the
/// account (and ListRoles, for the descriptions), or, for a caller refused that read, from
/// reads one by one. Its own moto, so that the list is this test's alone.
#[tokio::test]
async fn verify_and_teardown_without_a_name_list_what_the_tool_made_to_choose_from() {
    let moto = Moto::start(&[]);
    let aws = aws(&moto.url()).await;
    let bucket = aws.new_bucket("pick").await;
    let at = |dir: &str| format!("s3://{bucket}/{dir}/");
    let stacked = SetupArgs::role("cloudformation", &at("a")).yes();
    run(&moto.url(), stacked.build()).ok();
    let role = SetupArgs::role("iam", &at("b")).access("export").yes();
    run(&moto.url(), role.build()).ok();
    let user = SetupArgs::access_key(&at("c")).yes();
    run(&moto.url(), with_json(&user.build())).ok();
    aws.role_that_only_says_it_is_ours("theirs").await;
    let (stack, role, user) = (
        format!("tidb-role-import-{bucket}-a"),
        format!("tidb-role-export-{bucket}-b"),
        format!("tidb-user-import-{bucket}-c"),
    );
    let proxy = Proxy::start(moto.port);

    // Refused the account's read: the same list, from reads one by one. A user: what it
    // serves is read from its tags.
    proxy.fail(
        Match::Action("GetAccountAuthorizationDetails".into()),
        Fault::Denied,
        1,
    );
    let mut p = wizard_with(&proxy.url(), &["verify"]);
    p.exp_string("What should be checked?").unwrap();
    let listed = p
        .exp_string(&format!("user {user}: import {}", at("c")))
        .unwrap();
    assert_says(
        &listed,
        &format!("stack {stack} in us-east-1: import {}", at("a")),
    );
    assert!(!listed.contains("theirs"), "{listed}");
    keys(&mut p, "jj\r");
    p.exp_string(&format!(
        "To check it without questions: serverless-s3-setup verify --user-name {user}"
    ))
    .unwrap();
    p.exp_string(&format!(
        "from user {user}, as this tool made it: --uri {} --access import",
        at("c")
    ))
    .unwrap();
    let tail = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 0)"), "{}\n{tail}", exit_code(&p));
    assert_says(
        &tail,
        &format!("permissions        user {user} allows s3:GetObject"),
    );
    assert_eq!(proxy.count("ListUsers"), 1, "{:?}", proxy.seen());

    // The account's read: no read of each user.
    proxy.reset();
    let mut p = wizard_with(&proxy.url(), &["teardown"]);
    p.exp_string("What should be deleted?").unwrap();
    let listed = p
        .exp_string(&format!("user {user}: import {}", at("c")))
        .unwrap();
    for item in [
        format!("stack {stack} in us-east-1: import {}", at("a")),
        format!("role {role}: export {}", at("b")),
    ] {
        assert_says(&listed, &item);
    }
    // Its description says it is the tool's; its tags do not.
    assert!(!listed.contains("theirs"), "{listed}");
    assert_eq!(proxy.count("GetAccountAuthorizationDetails"), 1);
    assert_eq!(
        proxy.count("ListUsers") + proxy.count("GetUser"),
        0,
        "{:?}",
        proxy.seen()
    );
    keys(&mut p, "j\r"); // the role
    p.exp_string(&format!(
        "To delete it without questions: serverless-s3-setup teardown --role-name {role}"
    ))
    .unwrap();
    p.exp_string(&format!("delete role {role}")).unwrap();
    p.exp_string("Delete these?").unwrap();
    keys(&mut p, "y");
    let tail = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 0)"), "{}\n{tail}", exit_code(&p));
    assert!(aws.role(&role).await.is_none(), "{tail}");
    assert!(aws.role(&stack).await.is_some());
    assert!(aws.role("theirs").await.is_some());
    let users = aws.iam.list_users().send().await.unwrap();
    assert_eq!(users.users().len(), 1, "{users:?}");

    // `access-key delete` lists the users alone.
    let mut p = wizard_with(&moto.url(), &["access-key", "delete"]);
    p.exp_string("Whose access keys should be deleted?")
        .unwrap();
    let listed = p
        .exp_string(&format!("user {user}: import {}", at("c")))
        .unwrap();
    assert!(!listed.contains("stack "), "{listed}");
    keys(&mut p, "\r");
    p.exp_string("Delete these?").unwrap();
    keys(&mut p, "y");
    let tail = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 0)"), "{}\n{tail}", exit_code(&p));
    let keys_left = aws.iam.list_access_keys().user_name(&user).send().await;
    assert!(keys_left.unwrap().access_key_metadata().is_empty());

    // By hand: the stack's role deleted, so no tags find the stack. `teardown` still lists it
    // (from the stacks of the region), says its role is gone, and plans the stack alone;
    // `verify` has nothing of it to check.
    aws.delete_stack_role_by_hand(&stack).await;
    let mut p = wizard_with(&moto.url(), &["teardown"]);
    p.exp_string("What should be deleted?").unwrap();
    p.exp_string(&format!(
        "stack {stack} in us-east-1: its role is gone, import {}",
        at("a")
    ))
    .unwrap();
    keys(&mut p, "\r");
    p.exp_string(&format!(
        "delete stack {stack} (its role {stack} is gone already)"
    ))
    .unwrap();
    let asked = p.exp_string("Delete these?").unwrap();
    assert!(!asked.contains("with it, delete role"), "{asked}");
    keys(&mut p, "n");
    p.exp_eof().unwrap();
    assert!(aws.stack_in(&stack, "us-east-1").await);
    let mut p = wizard_with(&moto.url(), &["verify"]);
    p.exp_string("What should be checked?").unwrap();
    let listed = p
        .exp_string(&format!("user {user}: import {}", at("c")))
        .unwrap();
    assert!(!listed.contains("stack "), "{listed}");
}

/// `teardown -f` at a terminal shows the set's plan and asks once; a No deletes nothing.
#[tokio::test]
async fn teardown_of_a_file_at_a_terminal_asks_once() {
    let Scene { moto, aws, bucket } = scene("wizdown").await;
    let path = moto::tmp_dir().join(format!("{}.toml", unique("wizdown")));
    std::fs::write(
        &path,
        format!(
            "name = {:?}\ntidb_account_id = \"380838443567\"\nmethod = \"iam\"\n\n[[role]]\nuri = \"s3://{bucket}/a/\"\naccess = \"import\"\nexternal_ids = [\"c-1\"]\n",
            unique("wizdown")
        ),
    )
    .unwrap();
    let path = path.display().to_string();
    run(&moto.url(), ["apply", "--yes", "-f", &path]).ok();
    let role = format!("tidb-role-import-{bucket}-a");
    let mut p = wizard_with(&moto.url(), &["teardown", "-f", &path]);
    p.exp_string(&format!(
        "delete role {role}, and its policy when nothing else uses it"
    ))
    .unwrap();
    p.exp_string("Delete these?").unwrap();
    keys(&mut p, "n");
    let tail = p.exp_eof().unwrap();
    assert!(exit_code(&p).ends_with(", 1)"), "{}\n{tail}", exit_code(&p));
    assert!(aws.role(&role).await.is_some());
}
