use super::*;

#[test]
fn long_lines_wrap_and_long_commands_continue_with_backslashes() {
    let text = "Next: in the TiDB Cloud console, on your TiDB Cloud Starter (Data → Import → Import from S3 (File URI)), choose AWS Role ARN and paste the Role ARN.";
    let fitted = fit_lines(text, 60);
    assert!(fitted.lines().count() > 2, "{fitted}");
    for line in fitted.lines() {
        assert!(console::measure_text_width(line) <= 60, "{line:?}");
    }
    assert!(
        fitted.lines().skip(1).all(|l| l.starts_with("  ")),
        "{fitted}"
    );
    assert_eq!(
        fitted.replace("\n  ", " "),
        text,
        "only wrapped, nothing lost"
    );

    let command = "  serverless-s3-setup role --method iam --uri s3://my-bucket/data/ --access import --tidb-account-id 380838443567 --external-id abc --yes";
    let fitted = fit_lines(command, 60);
    let lines: Vec<&str> = fitted.lines().collect();
    assert!(lines.len() > 1, "{fitted}");
    for line in &lines[..lines.len() - 1] {
        assert!(line.ends_with(" \\"), "{line:?}");
    }
    for line in &lines {
        assert!(console::measure_text_width(line) <= 60, "{line:?}");
    }
    // The shell reads the continued lines as the one command.
    let joined: String = fitted
        .replace(" \\\n", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(joined, command.trim());
    assert_eq!(fit_lines("short", 60), "short");
}

#[test]
fn shell_words_are_quoted_only_when_needed() {
    assert_eq!(shell_word("s3://b/dir/"), "s3://b/dir/");
    assert_eq!(shell_word("s3://b/my dir/"), "'s3://b/my dir/'");
    assert_eq!(shell_word("it's"), r"'it'\''s'");
    assert_eq!(shell_word(""), "''");
    assert_eq!(command_line(["a", "b c"]), "a 'b c'");
}

#[test]
fn counts_say_one_or_many() {
    assert_eq!(counted(1, "change", "changes"), "1 change");
    assert_eq!(counted(3, "change", "changes"), "3 changes");
    assert_eq!(counted(0, "entry", "entries"), "0 entries");
}
