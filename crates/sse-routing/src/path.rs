//! Path matching.

/// What part of the request path a route matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathPattern {
    /// The path is exactly these segments.
    Exact(String),
    /// The path starts with these segments (whole segments only).
    Prefix(String),
}

impl PathPattern {
    /// Normalises `"events"`, `"/events"` and `"events/"` to `/events`, and
    /// `""` or `"/"` to the root.
    fn normalise(path: &str) -> String {
        let trimmed = path.trim_matches('/');
        format!("/{trimmed}")
    }

    pub(crate) fn exact(path: &str) -> Self {
        PathPattern::Exact(Self::normalise(path))
    }

    pub(crate) fn prefix(path: &str) -> Self {
        PathPattern::Prefix(Self::normalise(path))
    }

    /// Where the unmatched rest of `path` starts, if the pattern matches.
    pub(crate) fn matches(&self, path: &str) -> Option<usize> {
        match self {
            PathPattern::Exact(want) => (path == want).then_some(path.len()),
            PathPattern::Prefix(want) if want == "/" => Some(0),
            PathPattern::Prefix(want) => {
                let rest = path.strip_prefix(want.as_str())?;
                (rest.is_empty() || rest.starts_with('/')).then_some(want.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_paths() {
        let p = PathPattern::exact("events");
        assert_eq!(p, PathPattern::exact("/events/"));
        assert_eq!(p.matches("/events"), Some(7));
        assert_eq!(p.matches("/events/"), None);
        assert_eq!(p.matches("/eventsx"), None);
        assert_eq!(p.matches("/"), None);
        let root = PathPattern::exact("");
        assert_eq!(root, PathPattern::exact("/"));
        assert_eq!(root.matches("/"), Some(1));
        assert_eq!(root.matches("/a"), None);
        assert_eq!(PathPattern::exact("a/b").matches("/a/b"), Some(4));
    }

    #[test]
    fn prefix_paths_match_whole_segments() {
        let p = PathPattern::prefix("static");
        assert_eq!(p.matches("/static"), Some(7));
        assert_eq!(p.matches("/static/a/b"), Some(7));
        assert_eq!(p.matches("/staticx"), None);
        assert_eq!(p.matches("/"), None);
        assert_eq!(PathPattern::prefix("/").matches("/anything"), Some(0));
    }
}
