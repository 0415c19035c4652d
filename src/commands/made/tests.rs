//! The list of what the tool made: what counts as made, and how stacks are offered.

use super::*;
use crate::facts::{RoleInfo, UserInfo};
use crate::inputs::{ACCESS_TAG, LOCATION_TAG};

fn tags(managed: bool, access: &str, location: &str) -> Vec<(String, String)> {
    let mut tags = vec![
        (ACCESS_TAG.to_string(), access.to_string()),
        (LOCATION_TAG.to_string(), location.to_string()),
    ];
    if managed {
        tags.push(("managed-by".into(), MANAGED_BY_VALUE.into()));
    }
    tags
}

fn role(name: &str, managed: bool, stack: Option<&str>) -> (String, RoleInfo) {
    let info = RoleInfo {
        arn: format!("arn:aws:iam::123456789012:role/{name}"),
        managed,
        trust: None,
        created: None,
        stack: stack.map(str::to_string),
        stack_region: stack.map(|_| "eu-west-1".to_string()),
        boundary: None,
        tags: tags(managed, "import", &format!("s3://b/{name}/")),
        description: None,
    };
    (name.to_string(), info)
}

fn user(name: &str, managed: bool) -> (String, UserInfo) {
    let info = UserInfo {
        arn: format!("arn:aws:iam::123456789012:user/{name}"),
        user_id: "AIDA".into(),
        managed,
        boundary: None,
        tags: tags(managed, "export", "s3://b/out/"),
    };
    (name.to_string(), info)
}

#[test]
fn only_what_the_tags_say_the_tool_made_stacks_first_then_roles_then_users() {
    let made = made_of(Principals {
        roles: vec![
            role("zeta", true, None),
            role("theirs", false, None),
            role("alpha", true, None),
            role("held", true, Some("held")),
            role("inner", true, Some("outer")),
        ],
        users: vec![user("u", true), user("v", false)],
    });
    let labels: Vec<String> = made.iter().map(Made::label).collect();
    assert_eq!(
        labels,
        [
            "stack held in eu-west-1: import s3://b/held/",
            "stack outer in eu-west-1: role inner, import s3://b/inner/",
            "role alpha: import s3://b/alpha/",
            "role zeta: import s3://b/zeta/",
            "user u: export s3://b/out/",
        ]
    );
    // The stack is deleted by its name, in its region; verify checks its role.
    let outer = &made[1];
    assert_eq!(outer.flags(), ["--stack-name", "outer"]);
    assert_eq!(outer.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        outer.principal.as_ref().unwrap().0.to_string(),
        "role inner"
    );
    assert_eq!(made[4].flags(), ["--user-name", "u"]);
}

fn stack(role: &str) -> StackInfo {
    let parameters = [
        ("RoleName", role),
        ("BucketName", "b"),
        ("ObjectPrefix", "in"),
        ("Access", "import"),
    ];
    StackInfo {
        status: "UPDATE_COMPLETE".into(),
        managed: true,
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..StackInfo::default()
    }
}

#[test]
fn a_stack_is_listed_on_its_own_only_when_its_role_is_gone_and_only_for_teardown() {
    let roles: HashSet<String> = ["held".to_string()].into();
    let listed = |region: &str, stack: StackInfo| -> Option<Made> {
        let read = ReadStack::of(region, "s".into(), stack);
        let mut found = without_role(read.into_iter().collect(), &roles);
        found.next().and_then(ReadStack::made)
    };
    // IAM names are not told apart by case.
    assert_eq!(listed("r", stack("HELD")), None);
    let gone = listed("eu-west-1", stack("s")).unwrap();
    assert_eq!(
        gone.label(),
        "stack s in eu-west-1: its role is gone, import s3://b/in/"
    );
    assert_eq!(gone.flags(), ["--stack-name", "s"]);
    let other = listed("eu-west-1", stack("r")).unwrap();
    assert_eq!(
        other.label(),
        "stack s in eu-west-1: its role r is gone, import s3://b/in/"
    );
    assert_eq!(gone.set, None);
    let of_set = StackInfo {
        tags: vec![(SET_TAG.into(), "tidb-s3".into())],
        ..stack("s")
    };
    assert_eq!(listed("r", of_set).unwrap().set.as_deref(), Some("tidb-s3"));
    let failed = StackInfo {
        status: "ROLLBACK_COMPLETE".into(),
        ..stack("s")
    };
    let failed = listed("eu-west-1", failed).unwrap();
    assert_eq!(
        failed.label(),
        "stack s in eu-west-1: its role is not there (ROLLBACK_COMPLETE), import s3://b/in/"
    );
    assert!(Offer::Everything.admits(&gone));
    assert!(!Offer::Principals.admits(&gone));
    assert!(!Offer::Users.admits(&gone));
}

/// A stack's role whose stack is not among its region's stacks, listed, was left behind by it:
/// it is offered as the role, which `--role-name` deletes. A region that could not be listed
/// tells nothing, and its stack's role stays a stack.
#[test]
fn a_role_left_behind_by_its_gone_stack_is_offered_as_the_role() {
    let mut made = made_of(Principals {
        roles: vec![
            role("held", true, Some("held")),
            role("left", true, Some("gone")),
        ],
        users: Vec::new(),
    });
    let read: Vec<ReadStack> = ReadStack::of("eu-west-1", "held".into(), stack("held"))
        .into_iter()
        .collect();
    let unlisted = made.clone();
    left_behind(&mut made, &read, &BTreeSet::from(["eu-west-1".to_string()]));
    arrange(&mut made);
    assert_eq!(
        made[0].label(),
        "stack held in eu-west-1: import s3://b/held/"
    );
    assert_eq!(
        made[1].label(),
        "role left: left behind by its stack gone, which is gone, import s3://b/left/"
    );
    assert_eq!(made[1].flags(), ["--role-name", "left"]);
    assert_eq!(made[1].region, None);

    let mut same = unlisted.clone();
    left_behind(&mut same, &read, &BTreeSet::new());
    assert_eq!(same, unlisted);
}
