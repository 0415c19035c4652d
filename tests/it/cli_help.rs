//! The help text is part of the interface: snapshot it, so that a change to it is reviewed.

use crate::common::assert_says;

fn help(args: &[&str]) -> String {
    let out = crate::common::bare_bin().args(args).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(help(&["--help"]));
}

#[test]
fn role_help() {
    insta::assert_snapshot!(help(&["role", "--help"]));
}

#[test]
fn access_key_help() {
    insta::assert_snapshot!(help(&["access-key", "--help"]));
    insta::assert_snapshot!(help(&["access-key", "delete", "--help"]));
}

#[test]
fn verify_and_teardown_help() {
    insta::assert_snapshot!(help(&["verify", "--help"]));
    insta::assert_snapshot!(help(&["teardown", "--help"]));
}

#[test]
fn help_documents_the_exit_codes() {
    let text = help(&["--help"]);
    for line in [
        "0    done",
        "1    failed",
        "2    bad usage or input",
        "130  interrupted",
    ] {
        assert!(text.contains(line), "{line:?} missing");
    }
}

/// `--version` says which build this is: the version, the commit and the build date.
#[test]
fn version_names_the_commit_and_the_build_date() {
    let long = help(&["--version"]);
    let short = help(&["-V"]);
    assert_eq!(
        short.trim(),
        format!("serverless-s3-setup {}", env!("CARGO_PKG_VERSION"))
    );
    let rest = long
        .trim()
        .strip_prefix(&format!(
            "serverless-s3-setup {} (commit ",
            env!("CARGO_PKG_VERSION")
        ))
        .unwrap_or_else(|| panic!("{long}"));
    let (commit, date) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(", built "))
        .unwrap_or_else(|| panic!("{long}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{long}"
    );
    let parts: Vec<&str> = date.split('-').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())),
        "{long}"
    );
}

/// Completion scripts for every shell clap_complete knows; bash's is loaded into a real bash
/// and must register the completion.
#[test]
fn completions_for_every_shell_and_bash_loads_its_own() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = help(&["completions", shell]);
        for word in ["access-key", "teardown", "tidb-account-id"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    let script = help(&["completions", "bash"]);
    let path = crate::common::moto::tmp_dir().join("completion.bash");
    std::fs::write(&path, script).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p serverless-s3-setup",
            path.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("serverless-s3-setup"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = crate::common::bare_bin()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown shell is bad usage");
}

/// `man` prints a roff page that names every command and documents the exit codes.
#[test]
fn the_manual_page_is_roff_and_covers_every_command() {
    let page = help(&["man"]);
    assert_says(&page, ".TH serverless-s3-setup 1");
    for word in [
        "role",
        "verify",
        "teardown",
        "access\\-key",
        "completions",
        "130",
    ] {
        assert!(page.contains(word), "{word} missing from the manual page");
    }
}

/// A reader that stops early (`man | head -1`) ends nothing in error: exit 0, stderr empty,
/// for each generated output. The pipe is closed before the binary writes.
#[test]
fn a_closed_pipe_is_silent() {
    use std::process::Stdio;
    for args in [
        &["man"][..],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["template"],
    ] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_serverless-s3-setup"));
        let mut child = cmd
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The stderr of a run that must exit 2.
fn bad_input(mut cmd: assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

/// A value from the environment is not a flag the user typed: an error's usage line does not
/// show it.
#[test]
fn a_variable_from_the_environment_stays_out_of_usage_lines() {
    let mut completions = crate::common::bare_bin();
    completions
        .arg("completions")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_PROFILE", "someone");
    let stderr = bad_input(completions);
    assert_says(&stderr, "Usage: serverless-s3-setup completions <SHELL>");
    // And a bad value from the environment is named by its variable.
    let mut role = crate::common::bare_bin();
    role.args(["role", "--dry-run", "--uri", "s3://bucket/d/"])
        .args(["--access", "import"])
        .env("AWS_ENDPOINT_URL", "ftp://nowhere");
    let stderr = bad_input(role);
    assert_says(&stderr, "AWS_ENDPOINT_URL: must start with http");
}

/// `-h` of each command, as a person first reads it: reviewed as a whole.
#[test]
fn short_help_of_each_command() {
    for (name, args) in [
        ("role", &["role", "-h"][..]),
        ("access_key", &["access-key", "-h"]),
        ("access_key_delete", &["access-key", "delete", "-h"]),
        ("verify", &["verify", "-h"]),
        ("teardown", &["teardown", "-h"]),
        ("plan", &["plan", "-h"]),
        ("apply", &["apply", "-h"]),
        ("template", &["template", "-h"]),
        ("completions", &["completions", "-h"]),
        ("man", &["man", "-h"]),
    ] {
        insta::assert_snapshot!(format!("short_help_{name}"), help(args));
    }
}

/// `plan --help` and `apply --help` say what the command does first, as every command does;
/// the file's shape follows the options, before the examples.
#[test]
fn the_file_commands_say_what_they_do_before_the_files_shape() {
    for (command, about) in [
        ("plan", "Plan every role of a file of setups"),
        (
            "apply",
            "Create or bring up to date every role of a file of setups",
        ),
    ] {
        let long = help(&[command, "--help"]);
        assert!(long.starts_with(about), "{command}:\n{long}");
        let shape = long
            .find("The file (TOML) holds defaults")
            .expect("the file's shape");
        assert!(long.find("--file <FILE>").unwrap() < shape, "{long}");
        assert!(shape < long.find("Examples:").unwrap(), "{long}");
    }
}

/// A command lists only the flags it uses; the global ones it does not use are still taken
/// (a script that passes them keeps working), before or after the command.
#[test]
fn unused_global_flags_are_hidden_but_taken() {
    let verify = help(&["verify", "--help"]);
    for flag in ["--yes", "--dry-run", "--no-input", "--show-policies"] {
        assert!(!verify.contains(flag), "{flag} shown on verify:\n{verify}");
    }
    assert!(!help(&["teardown", "--help"]).contains("--show-policies"));
    let template = help(&["template", "--help"]);
    for flag in [
        "--yes",
        "--profile",
        "--region",
        "--endpoint-url",
        "--output",
    ] {
        assert!(
            !template.contains(flag),
            "{flag} shown on template:\n{template}"
        );
    }
    for args in [
        &[
            "template",
            "--yes",
            "--dry-run",
            "--profile",
            "p",
            "-o",
            "json",
        ][..],
        &["--yes", "--region", "us-east-1", "template"],
    ] {
        let printed = help(args);
        assert!(
            printed.starts_with("AWSTemplateFormatVersion"),
            "{args:?}: {printed}"
        );
    }
    // Taken by verify too: its own rule (what is missing) answers, not "unexpected argument".
    let out = crate::common::bare_bin()
        .args(["verify", "--yes", "--dry-run", "--show-policies"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_says(&stderr, "missing required flags");
}
