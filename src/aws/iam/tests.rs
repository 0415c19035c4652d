use super::*;
use crate::facts::AccessKeyInfo;

#[test]
fn a_secret_never_shows_in_debug_output() {
    let key = NewAccessKey {
        id: "AKIAEXAMPLE0000000001".into(),
        secret: Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
    };
    let debug = format!("{key:?} {:#?}", key);
    assert!(!debug.contains("wJalr"), "{debug}");
    assert!(debug.contains("AKIAEXAMPLE0000000001"));
    assert_eq!(
        key.secret.expose(),
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    );
}

#[test]
fn key_ages_read_naturally() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let key = |ago: i64| AccessKeyInfo {
        id: "A".into(),
        status: "Active".into(),
        created: Some(now - ago),
    };
    assert_eq!(key(5).age(), "created just now");
    assert_eq!(key(3 * 3600 + 5).age(), "created 3 hours ago");
    assert_eq!(key(86_400 + 5).age(), "created 1 day ago");
}
