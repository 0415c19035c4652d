//! The hand-off to TiDB Cloud: where to paste the Role ARN or the key in the console, per tier,
//! and the `ticloud` command that starts the import or export. Pure, so both are snapshot-tested.
//!
//! The `ticloud` flags are those of the TiDB Cloud CLI's own reference
//! (tidbcloud/tidbcloud-cli, `docs/generate_doc/ticloud_serverless_import_start.md` and
//! `ticloud_serverless_export_create.md`): `--cluster-id`, `--source-type S3` /
//! `--target-type S3`, `--s3.uri`, `--file-type`, and `--s3.role-arn` or
//! `--s3.access-key-id` with `--s3.secret-access-key`. `ticloud serverless` serves Starter and
//! Essential clusters; Premium and Dedicated are handed off in the console only.

use crate::inputs::{Access, ClusterId, S3Location, Tier};
use crate::output::command_line;

/// The shell variable the key's `ticloud` command reads the secret from: the secret itself is
/// never part of a printed command.
pub(crate) const SECRET_VARIABLE: &str = "TIDB_S3_SECRET_ACCESS_KEY";

/// How TiDB Cloud will get in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Credential<'a> {
    RoleArn(&'a str),
    AccessKey { id: &'a str },
}

/// Where in the TiDB Cloud console the credential goes, for one direction.
pub(crate) fn console(tier: Tier, access: Access, credential: Credential<'_>) -> String {
    let choose = match credential {
        Credential::RoleArn(_) => "choose AWS Role ARN and paste the Role ARN",
        Credential::AccessKey { .. } => {
            "choose AWS Access Key and paste the Access Key ID and the Secret Access Key"
        }
    };
    let import = match tier {
        Tier::Dedicated => "Data → Import → Import data from Cloud Storage → Amazon S3",
        _ => "Data → Import → Import from S3 (File URI)",
    };
    let export = match tier {
        Tier::Premium => "Data → Export data → Target connection: Amazon S3 (Folder URI)",
        _ => "Data → Import → Export data to… → Amazon S3 (Folder URI)",
    };
    let path = match access {
        Access::Import => import.to_string(),
        Access::Export => export.to_string(),
        Access::Both => format!("{import}, or {export}"),
    };
    format!(
        "in the TiDB Cloud console, on your {} ({path}), {choose}",
        tier.product()
    )
}

/// The `ticloud` commands that start the import, the export, or both; none for the tiers that
/// `ticloud serverless` does not serve.
pub(crate) fn ticloud(
    tier: Tier,
    access: Access,
    location: &S3Location,
    credential: Credential<'_>,
    cluster: Option<&ClusterId>,
) -> Vec<String> {
    if !matches!(tier, Tier::Starter | Tier::Essential) {
        return Vec::new();
    }
    let cluster = cluster.map_or("<cluster-id>", ClusterId::as_str);
    let credential_flags: Vec<String> = match credential {
        Credential::RoleArn(arn) => vec!["--s3.role-arn".into(), arn.into()],
        Credential::AccessKey { id } => vec![
            "--s3.access-key-id".into(),
            id.into(),
            "--s3.secret-access-key".into(),
            format!("${SECRET_VARIABLE}"),
        ],
    };
    let mut commands = Vec::new();
    if access.reads() {
        let mut words: Vec<String> = [
            "ticloud",
            "serverless",
            "import",
            "start",
            "--cluster-id",
            cluster,
            "--source-type",
            "S3",
            "--s3.uri",
            &location.given(),
            "--file-type",
            &file_type(location),
        ]
        .map(str::to_string)
        .to_vec();
        words.extend(credential_flags.iter().cloned());
        commands.push(render(&words));
    }
    if access.writes() {
        let mut words: Vec<String> = [
            "ticloud",
            "serverless",
            "export",
            "create",
            "--cluster-id",
            cluster,
            "--target-type",
            "S3",
            "--s3.uri",
            &location.to_string(),
        ]
        .map(str::to_string)
        .to_vec();
        words.extend(credential_flags.iter().cloned());
        commands.push(render(&words));
    }
    commands
}

/// A command line, quoted for a POSIX shell, except the secret's variable, which must expand.
fn render(words: &[String]) -> String {
    let variable = format!("${SECRET_VARIABLE}");
    words
        .split(|w| *w == variable)
        .map(|part| command_line(part.iter().map(String::as_str)))
        .collect::<Vec<_>>()
        .join(&format!(" \"{variable}\" "))
        .trim_end()
        .to_string()
}

/// The import's `--file-type`, from the file or pattern the URI names (a compression suffix
/// aside); a placeholder when the URI names a folder.
fn file_type(location: &S3Location) -> String {
    let given = location.given();
    let name = given
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = [".gz", ".gzip", ".zst", ".zstd", ".snappy"]
        .iter()
        .find_map(|c| name.strip_suffix(c))
        .unwrap_or(&name);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match ext {
        "csv" => "CSV",
        "sql" => "SQL",
        "parquet" => "PARQUET",
        _ => "<CSV|SQL|PARQUET>",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(s: &str) -> S3Location {
        s.parse().unwrap()
    }

    const ARN: &str = "arn:aws:iam::123456789012:role/tidb-role-import-bkt1-in";

    #[test]
    fn role_commands_per_direction() {
        let cluster: ClusterId = "10447215000012345".parse().unwrap();
        let import = ticloud(
            Tier::Starter,
            Access::Import,
            &loc("s3://bkt1/in/sales.*.csv"),
            Credential::RoleArn(ARN),
            Some(&cluster),
        );
        insta::assert_snapshot!("import_role", import.join("\n"));
        let both = ticloud(
            Tier::Essential,
            Access::Both,
            &loc("s3://bkt1/data/"),
            Credential::RoleArn(ARN),
            None,
        );
        insta::assert_snapshot!("both_role_placeholder", both.join("\n"));
        for tier in [Tier::Premium, Tier::Dedicated] {
            assert!(ticloud(
                tier,
                Access::Import,
                &loc("s3://b1x/d/"),
                Credential::RoleArn(ARN),
                None
            )
            .is_empty());
        }
    }

    #[test]
    fn key_commands_read_the_secret_from_a_variable() {
        let export = ticloud(
            Tier::Starter,
            Access::Export,
            &loc("s3://bkt1/out/"),
            Credential::AccessKey {
                id: "AKIAEXAMPLEKEYID1234",
            },
            None,
        );
        insta::assert_snapshot!("export_key", export.join("\n"));
        assert!(export[0].contains("\"$TIDB_S3_SECRET_ACCESS_KEY\""));
    }

    #[test]
    fn file_types_from_the_uri() {
        for (uri, want) in [
            ("s3://bkt1/in/t.01.csv", "CSV"),
            ("s3://bkt1/in/t.csv.gz", "CSV"),
            ("s3://bkt1/in/*.parquet", "PARQUET"),
            ("s3://bkt1/in/schema.sql", "SQL"),
            ("s3://bkt1/in/", "<CSV|SQL|PARQUET>"),
        ] {
            assert_eq!(file_type(&loc(uri)), want, "{uri}");
        }
    }

    #[test]
    fn console_paths_per_tier() {
        let role = Credential::RoleArn(ARN);
        assert!(console(Tier::Dedicated, Access::Import, role)
            .contains("Import data from Cloud Storage"));
        assert!(console(Tier::Premium, Access::Export, role).contains("Target connection"));
        assert!(
            console(Tier::Starter, Access::Both, role).contains("Import from S3 (File URI), or")
        );
        assert!(console(
            Tier::Essential,
            Access::Import,
            Credential::AccessKey { id: "AKIA" }
        )
        .contains("AWS Access Key"));
    }
}
