//! A file of many setups (`plan -f`, `apply -f`, `verify -f`): defaults, then one `[[role]]`
//! table per role. Every field means what its flag means and is read by the flag's own parser,
//! and each entry then goes through the same [`RoleRequest::validate`]. An error names the
//! file, the line, the entry (`role[2]`, counted from 1) and the field, before any request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use toml::{Table, Value};

use crate::error::Error;
use crate::inputs::{
    defaults, Access, GuardrailRequest, Invalid, RoleName, S3Location, SetName, TagPair,
};
use crate::plan::Method;
use crate::requests::RoleRequest;

/// The fields of a `[[role]]` entry.
const ROLE_FIELDS: &[&str] = &[
    "uri",
    "access",
    "tidb_account_id",
    "external_ids",
    "no_external_id",
    "tier",
    "method",
    "role_name",
    "policy_name",
    "stack_name",
    "kms_keys",
    "permissions_boundary",
    "path",
    "tags",
];

/// The fields at the top of the file: the set's name, every entry's defaults, the entries.
const TOP_FIELDS: &[&str] = &[
    "name",
    "tidb_account_id",
    "external_ids",
    "no_external_id",
    "access",
    "tier",
    "method",
    "kms_keys",
    "permissions_boundary",
    "path",
    "tags",
    "role",
];

/// A file of setups, read and checked.
#[derive(Debug)]
pub struct SetFile {
    pub path: PathBuf,
    /// The set: what every role the file makes is tagged with, so that `--prune` deletes only
    /// what this file made.
    pub name: SetName,
    pub entries: Vec<Entry>,
}

/// One `[[role]]` of the file, as a request.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `role[2]`: the second `[[role]]` in the file.
    pub label: String,
    pub request: RoleRequest,
}

impl Entry {
    /// Its URI, as given.
    pub fn uri(&self) -> String {
        let location = self.request.location.as_ref();
        location.expect("an entry has a URI").to_string()
    }

    /// The role's name as given, or as the tool names it for its location.
    pub fn role_name(&self) -> RoleName {
        let req = &self.request;
        req.role_name.clone().unwrap_or_else(|| {
            defaults::role_name(
                req.location.as_ref().expect("an entry has a URI"),
                req.access.expect("an entry has an access"),
            )
        })
    }
}

/// Reads and checks a file of setups.
pub fn read(path: &Path) -> Result<SetFile, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(
            format!("-f {}", path.display()),
            format!("cannot be read: {e}"),
        )
    })?;
    parse(path, &text)
}

/// Checks a file's text; `path` names it in errors and gives the set its default name.
pub fn parse(path: &Path, text: &str) -> Result<SetFile, Error> {
    let file = Source {
        shown: path.display().to_string(),
        text,
        headers: role_headers(text),
    };
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(1, |s| line_at(text, s.start));
        Error::invalid(
            format!("{}:{line}", file.shown),
            format!("is not valid TOML: {}", e.message().trim()),
        )
    })?;
    let top = Fields {
        table: &table,
        file: &file,
        entry: None,
    };
    top.known(TOP_FIELDS)?;
    let name = match top.string("name")? {
        Some(name) => top.parse_as::<SetName>("name", name)?,
        None => default_name(path).map_err(|e| {
            Error::invalid(
                format!("{}: name", file.shown),
                format!("is not given, and the file's name does not make one: {e}; give the set a name with name = \"...\""),
            )
        })?,
    };
    let roles = match table.get("role") {
        None => Vec::new(),
        Some(Value::Array(roles)) => roles.iter().collect(),
        Some(_) => return Err(top.invalid("role", "must be [[role]] tables")),
    };
    if roles.is_empty() {
        return Err(Error::invalid(
            file.shown.clone(),
            "holds no [[role]] entry; each role is a [[role]] table with at least uri and access",
        ));
    }
    let mut entries = Vec::new();
    for (i, role) in roles.into_iter().enumerate() {
        let Value::Table(role) = role else {
            return Err(top.invalid("role", "must be [[role]] tables"));
        };
        let fields = Fields {
            table: role,
            file: &file,
            entry: Some(i),
        };
        let request = fields.request(&top, &name)?;
        entries.push(Entry {
            label: fields.label(),
            request,
        });
    }
    distinct(&file, &entries)?;
    Ok(SetFile {
        path: path.to_path_buf(),
        name,
        entries,
    })
}

/// The set's name when the file gives none: the file's name without its extension.
fn default_name(path: &Path) -> Result<SetName, Invalid> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.parse()
}

/// The file's text, for the line an error points at.
struct Source<'a> {
    shown: String,
    text: &'a str,
    /// The line of each `[[role]]` header, in order.
    headers: Vec<usize>,
}

impl Source<'_> {
    /// The line where `key` is set: in the entry's table, or before the first entry.
    fn line_of(&self, entry: Option<usize>, key: &str) -> usize {
        let (from, to) = match entry {
            None => (1, self.headers.first().copied().unwrap_or(usize::MAX)),
            Some(i) => (
                self.headers.get(i).copied().unwrap_or(1),
                self.headers.get(i + 1).copied().unwrap_or(usize::MAX),
            ),
        };
        self.text
            .lines()
            .enumerate()
            .map(|(n, line)| (n + 1, line.trim_start()))
            .filter(|(n, _)| (from..to).contains(n))
            .find(|(_, line)| {
                line.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']))
            })
            .map_or(from, |(n, _)| n)
    }
}

/// The lines of the `[[role]]` headers.
fn role_headers(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.split('#').next().unwrap_or_default();
            let bare: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            bare == "[[role]]"
        })
        .map(|(n, _)| n + 1)
        .collect()
}

/// The 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A table of the file (the top, or one entry), read field by field.
struct Fields<'a> {
    table: &'a Table,
    file: &'a Source<'a>,
    /// Which `[[role]]`, from 0; `None` for the top.
    entry: Option<usize>,
}

impl Fields<'_> {
    fn label(&self) -> String {
        self.entry
            .map_or_else(String::new, |i| format!("role[{}]", i + 1))
    }

    /// The error for `key`: `FILE:LINE: role[N].KEY: RULE`.
    fn invalid(&self, key: &str, rule: impl std::fmt::Display) -> Error {
        let line = self.file.line_of(self.entry, key);
        let place = match self.entry {
            Some(_) => format!("{}.{key}", self.label()),
            None => key.to_string(),
        };
        Error::invalid(format!("{}:{line}: {place}", self.file.shown), rule)
    }

    /// Refuses a field the file does not know, rather than ignore a typo.
    fn known(&self, fields: &[&str]) -> Result<(), Error> {
        match self.table.keys().find(|k| !fields.contains(&k.as_str())) {
            Some(key) => Err(self.invalid(
                key,
                format!("is not a field here; the fields are {}", fields.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&str>, Error> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(key, "must be a string (in quotes)")),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<&str>>, Error> {
        let list = match self.table.get(key) {
            None => return Ok(None),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(self.invalid(key, "must be a list of strings, [\"...\", ...]")),
        };
        list.iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                _ => Err(self.invalid(key, "must be a list of strings, [\"...\", ...]")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid(key, "must be true or false")),
        }
    }

    fn tags(&self) -> Result<Option<BTreeMap<String, String>>, Error> {
        let table = match self.table.get("tags") {
            None => return Ok(None),
            Some(Value::Table(table)) => table,
            Some(_) => return Err(self.invalid("tags", "must be a table, { KEY = \"VALUE\" }")),
        };
        table
            .iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k.clone(), v.clone())),
                _ => Err(self.invalid("tags", format!("{k} must be a string (in quotes)"))),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// A value, read by its flag's parser.
    fn parse_as<T: FromStr<Err = Invalid>>(&self, key: &str, value: &str) -> Result<T, Error> {
        value.parse().map_err(|e| self.invalid(key, e))
    }

    /// The entry's string field, else the default's, parsed.
    fn value<T: FromStr<Err = Invalid>>(
        &self,
        top: &Fields,
        key: &str,
    ) -> Result<Option<T>, Error> {
        if let Some(v) = self.string(key)? {
            return self.parse_as(key, v).map(Some);
        }
        match top.string(key)? {
            Some(v) => top.parse_as(key, v).map(Some),
            None => Ok(None),
        }
    }

    /// The entry's list, else the default's, each item parsed.
    fn list<T: FromStr<Err = Invalid>>(&self, top: &Fields, key: &str) -> Result<Vec<T>, Error> {
        let (from, items) = match self.strings(key)? {
            Some(items) => (self, items),
            None => (top, top.strings(key)?.unwrap_or_default()),
        };
        items.into_iter().map(|v| from.parse_as(key, v)).collect()
    }

    /// Whom the role trusts: `no_external_id`, and the clusters' external IDs (one at least,
    /// unless `no_external_id`).
    fn trusted(&self, top: &Fields) -> Result<(bool, Vec<crate::inputs::ExternalId>), Error> {
        let no_external_id = match self.bool("no_external_id")? {
            Some(b) => b,
            None => top.bool("no_external_id")?.unwrap_or(false),
        };
        let external_ids = self.list(top, "external_ids")?;
        match (external_ids.is_empty(), no_external_id) {
            (true, false) => Err(self.invalid(
                "external_ids",
                "is missing or empty: list the External ID of each cluster that uses the role (or no_external_id = true, which lets every cluster of the TiDB Cloud project in)",
            )),
            (false, true) => Err(self.invalid(
                "no_external_id",
                "cannot be true when external_ids lists clusters",
            )),
            _ => Ok((no_external_id, external_ids)),
        }
    }

    /// The entry's `[[role]]` as the request its flags would make.
    fn request(&self, top: &Fields, set: &SetName) -> Result<RoleRequest, Error> {
        self.known(ROLE_FIELDS)?;
        let location: S3Location = match self.string("uri")? {
            Some(uri) => self.parse_as("uri", uri)?,
            None => return Err(self.invalid("uri", "is missing: each [[role]] names its S3 URI")),
        };
        let Some(access) = self.value::<Access>(top, "access")? else {
            return Err(self.invalid(
                "access",
                "is missing: import, export or both (nothing grants write access unasked)",
            ));
        };
        let Some(tidb_account) = self.value(top, "tidb_account_id")? else {
            return Err(self.invalid(
                "tidb_account_id",
                "is missing, here and at the top of the file: the TiDB Cloud Account ID the console shows",
            ));
        };
        let (no_external_id, mut external_ids) = self.trusted(top)?;
        let external_id = (!external_ids.is_empty()).then(|| external_ids.remove(0));
        let method = self
            .value::<MethodName>(top, "method")?
            .map(|MethodName(m)| m);
        let mut tags = top.tags()?.unwrap_or_default();
        tags.extend(self.tags()?.unwrap_or_default());
        let from = if self.table.contains_key("tags") {
            self
        } else {
            top
        };
        let tags = tags
            .iter()
            .map(|(k, v)| {
                TagPair::new(k, v).map_err(|e| from.invalid("tags", format!("tag {k} {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let guardrails = GuardrailRequest::new(
            self.value(top, "permissions_boundary")?,
            false,
            self.value(top, "path")?,
            tags,
            Vec::new(),
        )
        .map_err(|(flag, e)| self.invalid(field_of(flag), e))?;
        let req = RoleRequest {
            method,
            location: Some(location),
            access: Some(access),
            tidb_account: Some(tidb_account),
            external_id,
            more_external_ids: external_ids,
            no_external_id,
            // The file is the whole truth about who is trusted: a cluster it does not list
            // loses access, and the plan says so.
            replace_external_ids: true,
            tier: self.value(top, "tier")?,
            role_name: self.value(self, "role_name")?,
            policy_name: self.value(self, "policy_name")?,
            stack_name: self.value(self, "stack_name")?,
            kms_keys: self.list(top, "kms_keys")?,
            guardrails,
            set: Some(set.clone()),
            ..RoleRequest::default()
        };
        req.validate().map_err(|e| match e {
            Error::Invalid { flag, rule } => self.invalid(field_of(&flag), rule),
            other => other,
        })?;
        Ok(req)
    }
}

/// `method = "iam"` or `"cloudformation"`, as `--method` takes it.
struct MethodName(Method);

impl FromStr for MethodName {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        match s {
            "iam" => Ok(MethodName(Method::Iam)),
            "cloudformation" => Ok(MethodName(Method::Cloudformation)),
            _ => Err(Invalid(format!(
                "{s:?} is not a method: iam or cloudformation"
            ))),
        }
    }
}

/// The file's field for a flag a rule names (`--stack-name` → `stack_name`).
fn field_of(flag: &str) -> &str {
    match flag {
        "--uri" => "uri",
        "--access" => "access",
        "--tier" => "tier",
        "--method" => "method",
        "--external-id" => "external_ids",
        "--tidb-account-id" => "tidb_account_id",
        "--role-name" => "role_name",
        "--policy-name" => "policy_name",
        "--stack-name" => "stack_name",
        "--kms-key" => "kms_keys",
        "--permissions-boundary" => "permissions_boundary",
        "--path" => "path",
        "--tag" => "tags",
        other => other,
    }
}

/// Two entries that would make the same role, policy or stack, or serve the same location
/// (one role serves a location, whatever its access), are one mistake or the other.
fn distinct(file: &Source, entries: &[Entry]) -> Result<(), Error> {
    let mut seen: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let req = &entry.request;
        let location = req.location.as_ref().expect("an entry has a URI");
        let role = entry.role_name();
        let policy = req
            .policy_name
            .clone()
            .unwrap_or_else(|| defaults::policy_name(role.as_str()));
        let stack = match (&req.stack_name, req.method) {
            (Some(s), _) => Some(s.to_string()),
            (None, Some(Method::Iam)) => None,
            (None, _) => Some(defaults::stack_name(&role).to_string()),
        };
        // IAM's names ignore case.
        let keys = [
            ("role_name", Some(role.as_str().to_lowercase())),
            ("policy_name", Some(policy.as_str().to_lowercase())),
            ("stack_name", stack),
            (
                "uri",
                Some(format!("s3://{}/{}", location.bucket(), location.prefix())),
            ),
        ];
        for (field, key) in keys {
            let Some(key) = key else { continue };
            if let Some(first) = seen.insert((field, key.clone()), i) {
                let here = Fields {
                    table: &Table::new(),
                    file,
                    entry: Some(i),
                };
                let why = match field {
                    "uri" => format!(
                        "serves the same location as {}: one role serves a location, so give it access = \"both\" in one entry",
                        entries[first].label
                    ),
                    _ => format!(
                        "makes the same {} as {} ({key}); give one of them its own {field}",
                        field.trim_end_matches("_name"),
                        entries[first].label
                    ),
                };
                return Err(here.invalid(field, why));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
