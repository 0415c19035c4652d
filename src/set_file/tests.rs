use super::*;

const EXAMPLE: &str = r#"
# Defaults for every entry; each entry may override them.
tidb_account_id = "380838443567"
method = "iam"
tier = "starter"
tags = { team = "data", cost = "tidb" }

[[role]]
uri = "s3://sales-data/raw/"
access = "import"
external_ids = ["1a2b3c4d5e", "6f7a8b9c0d"]   # dev and prod clusters

[[role]]
uri = "s3://sales-data/exports/"
access = "export"
external_ids = ["6f7a8b9c0d"]
role_name = "tidb-prod-export"
method = "cloudformation"
tags = { team = "exports" }
"#;

fn read(text: &str) -> Result<SetFile, Error> {
    parse(Path::new("teams/tidb-s3.toml"), text)
}

fn refused(text: &str) -> String {
    match read(text) {
        Err(e @ Error::Invalid { .. }) => {
            assert_eq!(e.exit_code(), 2);
            e.to_string()
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn every_entry_takes_the_defaults_and_its_own_fields() {
    let file = read(EXAMPLE).unwrap();
    assert_eq!(
        file.name.as_str(),
        "tidb-s3",
        "the file's name, without .toml"
    );
    assert_eq!(file.entries.len(), 2);
    let [first, second] = &file.entries[..] else {
        unreachable!()
    };
    assert_eq!(first.label, "role[1]");
    let req = &first.request;
    assert_eq!(req.method, Some(Method::Iam));
    assert_eq!(req.tidb_account.as_ref().unwrap().as_str(), "380838443567");
    assert_eq!(req.external_id.as_ref().unwrap().as_str(), "1a2b3c4d5e");
    assert_eq!(req.more_external_ids.len(), 1);
    assert!(req.replace_external_ids, "the file lists every cluster");
    assert_eq!(req.set.as_ref().unwrap().as_str(), "tidb-s3");
    assert_eq!(
        first.role_name().as_str(),
        "tidb-role-import-sales-data-raw"
    );
    let req = &second.request;
    assert_eq!(req.method, Some(Method::Cloudformation));
    assert_eq!(req.role_name.as_ref().unwrap().as_str(), "tidb-prod-export");
    // Tags merge key by key: the entry's team, the default's cost.
    let tags: Vec<String> = req
        .guardrails
        .tags
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(tags, ["cost=tidb", "team=exports"]);
}

#[test]
fn a_name_field_names_the_set() {
    let file = read(&format!("name = \"prod data\"\n{EXAMPLE}")).unwrap();
    assert_eq!(file.name.as_str(), "prod data");
    let e = refused(&format!("name = \"bad,name\"\n{EXAMPLE}"));
    assert!(e.starts_with("teams/tidb-s3.toml:1: name: "), "{e}");
}

/// Asserts that EXAMPLE, with `from` replaced by `to`, is refused with an error that says
/// `says`: at its start when `says` names the file and line, anywhere in it otherwise.
#[track_caller]
fn assert_refused(from: &str, to: &str, says: &str) {
    assert!(EXAMPLE.contains(from), "EXAMPLE has no {from:?}");
    let e = refused(&EXAMPLE.replace(from, to));
    if says.starts_with("teams/") {
        assert!(e.starts_with(says), "{e}");
    } else {
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn an_unknown_field_is_named_with_its_entry_and_line() {
    assert_refused(
        "role_name =",
        "role_nmae =",
        "teams/tidb-s3.toml:17: role[2].role_nmae: is not a field here; the fields are uri, access,",
    );
    let e = refused(&format!("colour = \"blue\"\n{EXAMPLE}"));
    assert!(
        e.starts_with("teams/tidb-s3.toml:1: colour: is not a field here"),
        "{e}"
    );
}

#[test]
fn a_bad_value_is_refused_by_its_flags_rule() {
    for (from, to, says) in [
        (
            "s3://sales-data/exports/",
            "https://sales-data/exports/",
            "teams/tidb-s3.toml:14: role[2].uri: ",
        ),
        (
            "\"6f7a8b9c0d\"]\nrole_name",
            "\"6f7a8b9c0d\", 7]\nrole_name",
            "role[2].external_ids: must be a list of strings",
        ),
        (
            "method = \"cloudformation\"",
            "method = \"terraform\"",
            "role[2].method: \"terraform\" is not a method",
        ),
        // Dedicated does not export: the request's own rule, named by the file's field.
        (
            "tier = \"starter\"",
            "tier = \"dedicated\"",
            "role[2].access: ",
        ),
        (
            "team = \"exports\"",
            "\"aws:team\" = \"x\"",
            "role[2].tags: tag aws:team has a key beginning with aws:",
        ),
        (
            "method = \"cloudformation\"\n",
            "stack_name = \"s\"\n",
            "role[2].stack_name: applies only to --method cloudformation",
        ),
    ] {
        assert_refused(from, to, says);
    }
}

#[test]
fn what_every_entry_needs_is_asked_for_by_name() {
    for (from, says) in [
        (
            "access = \"export\"\n",
            "role[2].access: is missing: import, export or both",
        ),
        (
            "external_ids = [\"6f7a8b9c0d\"]\n",
            "role[2].external_ids: is missing or empty",
        ),
        (
            "tidb_account_id = \"380838443567\"\n",
            "role[1].tidb_account_id: is missing",
        ),
    ] {
        assert_refused(from, "", says);
    }
    let e = refused("tidb_account_id = \"380838443567\"\n");
    assert!(e.contains("holds no [[role]] entry"), "{e}");
    let open = EXAMPLE.replace(
        "external_ids = [\"6f7a8b9c0d\"]\n",
        "no_external_id = true\n",
    );
    assert!(read(&open).unwrap().entries[1].request.no_external_id);
}

#[test]
fn two_entries_that_would_make_one_thing_are_refused() {
    let twice = format!(
        "{EXAMPLE}\n[[role]]\nuri = \"s3://other/x/\"\naccess = \"import\"\nexternal_ids = [\"abcdef\"]\nrole_name = \"TIDB-prod-export\"\n"
    );
    let e = refused(&twice);
    let line = twice.lines().position(|l| l.contains("TIDB-prod")).unwrap() + 1;
    assert!(
        e.starts_with(&format!(
            "teams/tidb-s3.toml:{line}: role[3].role_name: makes the same role as role[2]"
        )),
        "{e}"
    );
    let same_place = format!(
        "{EXAMPLE}\n[[role]]\nuri = \"s3://sales-data/raw/\"\naccess = \"export\"\nexternal_ids = [\"abcdef\"]\n"
    );
    let e = refused(&same_place);
    assert!(
        e.contains("role[3].uri: serves the same location as role[1]: one role serves a location"),
        "{e}"
    );
}

#[test]
fn text_that_is_not_toml_is_refused_at_its_line() {
    assert_refused(
        "tier = \"starter\"",
        "tier = starter",
        "teams/tidb-s3.toml:5: is not valid TOML",
    );
}
