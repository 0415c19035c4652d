//! The help text is part of the interface: snapshot it, so that a change to it is reviewed.

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
