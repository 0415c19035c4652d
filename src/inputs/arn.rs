//! ARNs, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (IAM User Guide, "IAM identifiers"):
//! the one place that splits one. The typed ARNs (`KmsKeyArn`, `PolicyArn`, a role's in
//! `verify`) check their parts here, and whoever needs one part of an ARN AWS returned (its
//! account, its partition, its IAM path) reads it through [`Arn`].

use super::{IamPath, Partition};

/// An ARN's six parts, borrowed from its text. The resource keeps any further colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub(crate) partition: &'a str,
    pub(crate) service: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of `text`, when it starts with `arn:` and has six colon-separated parts.
    pub(crate) fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }

    /// The partition, when it is one this tool knows.
    pub(crate) fn known_partition(&self) -> Option<Partition> {
        Partition::named(self.partition)
    }

    /// For an IAM ARN (`role/a/b/NAME`, `policy/NAME`): the resource type, the path (`/a/b/`)
    /// and the name.
    pub(crate) fn iam_resource(&self) -> Option<(&'a str, IamPath, &'a str)> {
        let (kind, rest) = self.resource.split_once('/')?;
        let (path, name) = match rest.rsplit_once('/') {
            Some((dirs, name)) => (IamPath(format!("/{dirs}/")), name),
            None => (IamPath::default(), rest),
        };
        Some((kind, path, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_an_arn() {
        let arn = Arn::parse("arn:aws-cn:kms:cn-north-1:111122223333:key/ab-12").unwrap();
        assert_eq!(
            (
                arn.partition,
                arn.service,
                arn.region,
                arn.account,
                arn.resource
            ),
            ("aws-cn", "kms", "cn-north-1", "111122223333", "key/ab-12")
        );
        assert_eq!(arn.known_partition(), Some(Partition::China));
        // The resource keeps its colons.
        let arn = Arn::parse("arn:aws:logs:us-east-1:1:log-group:a:*").unwrap();
        assert_eq!(arn.resource, "log-group:a:*");
        for bad in [
            "",
            "arn",
            "arn:aws:iam::1",
            "urn:aws:iam::1:role/x",
            "role/x",
        ] {
            assert_eq!(Arn::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            Arn::parse("arn:aws-iso:iam::1:role/x")
                .unwrap()
                .known_partition(),
            None
        );
    }

    #[test]
    fn iam_paths_and_names() {
        let arn = Arn::parse("arn:aws:iam::111122223333:role/a/b/tidb").unwrap();
        let (kind, path, name) = arn.iam_resource().unwrap();
        assert_eq!((kind, path.as_str(), name), ("role", "/a/b/", "tidb"));
        let arn = Arn::parse("arn:aws:iam::111122223333:policy/p").unwrap();
        let (kind, path, name) = arn.iam_resource().unwrap();
        assert_eq!((kind, path.as_str(), name), ("policy", "/", "p"));
        let root = Arn::parse("arn:aws:iam::111122223333:root").unwrap();
        assert_eq!(root.iam_resource(), None);
    }
}
