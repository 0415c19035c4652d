//! Concrete resources that the Allows of a policy may reach: each resource pattern, its
//! wildcards filled in a few ways. `extra-permissions` asks of each whether it lies outside
//! the directory or the bucket, and whether the statements, Denies and conditions applied,
//! allow it there. A pattern reaches outside exactly when one of its instances does: a `*`
//! that can stand for nothing, one character, a deeper key or a whole other bucket's object
//! (`bkt/d*` reaches `bkt/d`, `bkt*` reaches `bktx/x.csv`, `*/dir/*` reaches `x/dir/x`).

use super::{applicable, Statement};
use crate::verify::condition::{Context, LITERAL_QUESTION, LITERAL_STAR};

/// What a `*` is tried as, beside the partition (for `arn:*:s3:::…`).
const STAR: [&str; 4] = ["", "x", "/x", "x/x.csv"];
/// What a `?` is tried as.
const QUESTION: [&str; 2] = ["x", "/"];
/// Past this many wildcards in one pattern, all of them take the same filler at once.
const COMBINED: usize = 3;

/// The instances of every pattern an Allow grants `action` on (after the policy variables are
/// put in from `context`), each once. Patterns with a literal `${*}` or `${?}` are left out:
/// their instances would read as wildcards again.
pub(crate) fn witnesses(
    statements: &[Statement],
    action: &str,
    context: Option<&Context>,
    partition: &str,
) -> Vec<String> {
    let mut out: Vec<String> = applicable(statements, true, action, None, context)
        .filter(|(_, resources, _)| !resources.negated)
        .flat_map(|(_, resources, _)| resources.patterns)
        .filter(|p| !p.contains([LITERAL_STAR, LITERAL_QUESTION]))
        .flat_map(|p| instances(&p, partition))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `pattern` with its wildcards filled: every combination for a few, one filler for all past
/// [`COMBINED`].
fn instances(pattern: &str, partition: &str) -> Vec<String> {
    let stars: Vec<&str> = STAR.iter().copied().chain([partition]).collect();
    let wild = pattern.chars().filter(|c| matches!(c, '*' | '?')).count();
    let choices = stars.len();
    let combos: Vec<Vec<usize>> = if wild <= COMBINED {
        (0..choices.pow(wild as u32))
            .map(|n| {
                (0..wild)
                    .map(|k| n / choices.pow(k as u32) % choices)
                    .collect()
            })
            .collect()
    } else {
        (0..choices).map(|i| vec![i; wild]).collect()
    };
    combos
        .into_iter()
        .map(|combo| {
            let mut fill = combo.into_iter();
            let mut out = String::new();
            for c in pattern.chars() {
                match c {
                    '*' => out.push_str(stars[fill.next().unwrap_or(0)]),
                    '?' => out.push_str(QUESTION[fill.next().unwrap_or(0) % QUESTION.len()]),
                    c => out.push(c),
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wildcard_is_filled_every_way() {
        let got = instances("arn:aws:s3:::bkt1*", "aws");
        for want in [
            "arn:aws:s3:::bkt1",
            "arn:aws:s3:::bkt1x",
            "arn:aws:s3:::bkt1/x",
            "arn:aws:s3:::bkt1x/x.csv",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} in {got:?}");
        }
        let got = instances("arn:*:s3:::b/d?x/*", "aws");
        assert!(got.iter().any(|g| g == "arn:aws:s3:::b/d/x/x"), "{got:?}");
        assert_eq!(got.len(), 5 * 5 * 5, "every combination");
        // Many wildcards: one filler for all, not every combination.
        assert_eq!(instances("*/*/*/*/*", "aws").len(), 5);
    }
}
