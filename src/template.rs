//! The project's CloudFormation template, embedded; the plan works out its parameters
//! (`plan::stack_parameters`).

use crate::inputs::{defaults, Access, S3Location};

/// `templates/tidb-cloud-s3-access.yaml`, as `serverless-s3-setup template` prints it.
pub const TEMPLATE: &str = include_str!("../templates/tidb-cloud-s3-access.yaml");

/// The tags the template sets on the role it makes: the stack and its region (CloudFormation
/// itself tags no IAM role), so that a role read through IAM names its stack.
pub(crate) const STACK_TAG: &str = "serverless-s3-setup:stack";
pub(crate) const STACK_REGION_TAG: &str = "serverless-s3-setup:region";

/// A short fingerprint of the template, tagged on stacks so that a newer template updates them.
pub(crate) fn hash() -> String {
    format!("{:016x}", defaults::fnv1a(TEMPLATE.as_bytes()))
}

/// Why the stack cannot carry this location, if it cannot. The template writes the directory
/// into the role's Description, which IAM limits to `[\t\n\r\x20-\x7E\xA1-\xFF]*` and 1000
/// characters (IAM API Reference, CreateRole), and into the policy that CloudFormation, not
/// this tool, serialises for IAM, whose documents allow only `[\t\n\r\x20-\xFF]`. How
/// CloudFormation encodes characters beyond that is not documented, so such directories go
/// through `--method iam`, which escapes them itself.
pub(crate) fn cannot_carry(location: &S3Location, access: Access) -> Option<String> {
    if let Some(c) = location
        .prefix()
        .chars()
        .find(|c| !matches!(c, '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}'))
    {
        return Some(format!(
            "the directory has {c:?}, which a CloudFormation-made role cannot carry (IAM takes only Latin-1 in role descriptions and policies); use --method iam, which sends it escaped"
        ));
    }
    let description = role_description(access, location.bucket(), location.prefix());
    if description.chars().count() > crate::policy::DESCRIPTION_MAX {
        return Some(format!(
            "the directory is too long for the role description the stack writes ({} of IAM's {} characters); use --method iam",
            description.chars().count(),
            crate::policy::DESCRIPTION_MAX
        ));
    }
    None
}

/// The Description the template gives the role (`!Sub` on the same parameters), which
/// `--method iam` gives its role too: `Lets TiDB Cloud import s3://bkt/dir (serverless-s3-setup)`,
/// or `import and export` for both.
pub(crate) fn role_description(access: Access, bucket: &str, prefix: &str) -> String {
    let does = match access {
        Access::Both => "import and export",
        one => one.as_str(),
    };
    format!("Lets TiDB Cloud {does} s3://{bucket}/{prefix} (serverless-s3-setup)")
}

/// The template's `ExternalId` for "no external ID": it has no empty default, so that a stack
/// made by hand never trusts the whole TiDB Cloud project by omission.
pub const NO_EXTERNAL_ID: &str = "(none)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_sets_the_tags_the_tool_reads_back() {
        for key in [STACK_TAG, STACK_REGION_TAG] {
            assert!(TEMPLATE.contains(&format!("- Key: {key}\n")), "{key}");
        }
    }

    #[test]
    fn directories_beyond_latin_1_are_left_to_iam() {
        let at = |uri: &str| cannot_carry(&uri.parse().unwrap(), Access::Import);
        assert_eq!(at("s3://bkt1/données/"), None);
        assert_eq!(at("s3://bkt1/a b/"), None);
        for uri in ["s3://bkt1/数据/", "s3://bkt1/данные/", "s3://bkt1/📦/"] {
            assert!(at(uri).unwrap().contains("--method iam"), "{uri}");
        }
        let long = format!("s3://bkt1/{}/", "d".repeat(1000));
        assert!(at(&long).unwrap().contains("too long"));
        for (access, sub) in [
            (Access::Import, "${Access}"),
            (Access::Both, "import and export"),
        ] {
            let line = format!(
                "- !Sub \"Lets TiDB Cloud {sub} s3://${{BucketName}}/${{ObjectPrefix}} (serverless-s3-setup)\""
            );
            assert!(
                TEMPLATE.contains(&line),
                "role_description mirrors the template: {line}"
            );
            let made = role_description(access, "b", "d");
            assert!(
                made.starts_with(&format!(
                    "Lets TiDB Cloud {}",
                    sub.replace("${Access}", "import")
                )),
                "{made}"
            );
        }
    }

    #[test]
    fn a_description_gives_back_the_folder_it_names() {
        use crate::facts::described_location;
        for access in [Access::Import, Access::Export, Access::Both] {
            let made = role_description(access, "bkt1", "a b/s3://c");
            assert_eq!(described_location(&made), Some("s3://bkt1/a b/s3://c"));
        }
        let older = "Lets TiDB Cloud both s3://bkt1/d (serverless-s3-setup)";
        assert_eq!(described_location(older), Some("s3://bkt1/d"));
        for other in [
            "Lets TiDB Cloud import (serverless-s3-setup)",
            "Lets TiDB Cloud import s3://bkt1/d",
            "Allows s3://bkt1/d (serverless-s3-setup)",
        ] {
            assert_eq!(described_location(other), None, "{other}");
        }
    }

    #[test]
    fn the_template_has_the_pieces_the_tool_relies_on() {
        assert!(TEMPLATE.contains("RoleArn:"));
        assert!(TEMPLATE.contains("Value: !GetAtt Role.Arn"));
        assert!(TEMPLATE.contains("Value: serverless-s3-setup"));
        assert_eq!(hash(), hash());
        assert_eq!(hash().len(), 16);
    }
}
