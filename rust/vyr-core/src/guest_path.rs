//! Guest paths of state bindings: where a task sees each state. Checked before a task is
//! queued, so a bad path is the caller's error and never a failed task.

use crate::error::{Result, VyrError};

/// The most bytes a guest path may have.
const MAX_LEN: usize = 1024;

/// The default guest path of a state.
pub fn default_for(name: &str) -> String {
    format!("/state/{name}")
}

/// Validates and normalises a guest path: absolute, `/`-separated, no `.` or `..` components,
/// no NUL; repeated and trailing slashes are dropped (`/data/` is `/data`; `/` stays `/`).
pub fn normalize(path: &str) -> Result<String> {
    let refuse = |why: &str| VyrError::InvalidState(format!("guest path {path:?}: {why}"));
    if !path.starts_with('/') {
        return Err(refuse("must be absolute (start with '/')"));
    }
    if path.len() > MAX_LEN {
        return Err(refuse(&format!("is longer than {MAX_LEN} bytes")));
    }
    if path.contains('\0') {
        return Err(refuse("contains a NUL byte"));
    }
    let mut parts = Vec::new();
    for part in path.split('/').filter(|part| !part.is_empty()) {
        if part == "." || part == ".." {
            return Err(refuse("must not contain '.' or '..' components"));
        }
        parts.push(part);
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Whether two normalised guest paths overlap: equal, or one inside the other (`/` overlaps
/// every path). Preopens that overlap would make one state shadow part of another.
pub fn overlaps(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| outer == "/" || inner == outer || inner.starts_with(&format!("{outer}/"));
    inside(a, b) || inside(b, a)
}

/// Refuses a set of (state name, normalised path) where two paths overlap.
pub fn check_distinct<'a>(paths: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<()> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (name, path) in paths {
        if let Some((other, other_path)) = seen.iter().find(|(_, seen_path)| overlaps(path, seen_path)) {
            return Err(VyrError::InvalidState(format!(
                "state {name:?} at {path:?} overlaps state {other:?} at {other_path:?}: each binding needs its own, \
                 non-nested guest path"
            )));
        }
        seen.push((name, path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_or_refused() {
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("//data//set/").unwrap(), "/data/set");
        for bad in ["data", "", "/a/../b", "/a/./b", "/a\0b"] {
            assert!(normalize(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalize(&format!("/{}", "a".repeat(2000))).is_err());
    }

    #[test]
    fn overlap_is_component_wise() {
        assert!(overlaps("/", "/data"));
        assert!(overlaps("/data", "/data"));
        assert!(overlaps("/data/in", "/data"));
        assert!(!overlaps("/data", "/database"));
        assert!(!overlaps("/in", "/out"));
        assert!(check_distinct([("a", "/in"), ("b", "/out")]).is_ok());
        assert!(check_distinct([("a", "/"), ("b", "/out")]).is_err());
    }
}
