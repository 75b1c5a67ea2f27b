//! Following redirects: where to, and what may go along.

use http::header::{HeaderName, AUTHORIZATION, COOKIE, LOCATION, PROXY_AUTHORIZATION};
use http::uri::{Parts, PathAndQuery, Scheme};
use http::{HeaderMap, StatusCode, Uri};

/// Whether a status is a redirect the client follows.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The target of a redirect, resolved against the URI that was requested;
/// `None` when the `Location` header is missing or unusable.
pub(crate) fn target(base: &Uri, headers: &HeaderMap) -> Option<Uri> {
    let location = headers.get(LOCATION)?.to_str().ok()?;
    resolve(base, location)
}

/// The headers that are credentials: dropped when a redirect leaves the
/// origin, as browsers, curl and reqwest do.
pub(crate) const CREDENTIALS: [HeaderName; 3] = [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION];

/// Whether two URLs have the same origin: scheme, host and port (the
/// scheme's default port when none is written).
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
}

/// Whether a redirect from `from` to `to` would leave TLS.
pub(crate) fn is_downgrade(from: &Uri, to: &Uri) -> bool {
    from.scheme() == Some(&Scheme::HTTPS) && to.scheme() != Some(&Scheme::HTTPS)
}

fn port(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    })
}

/// Resolves a `Location` value: an absolute URI, a network-path reference
/// (`//host/path`), an absolute path (`/path`) or a relative one (`path`).
fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    let location = location.trim();
    if location.is_empty() {
        return None;
    }
    if let Some(rest) = location.strip_prefix("//") {
        let scheme = base.scheme_str()?;
        return format!("{scheme}://{rest}").parse().ok();
    }
    if let Ok(uri) = location.parse::<Uri>() {
        if uri.scheme().is_some() && uri.authority().is_some() {
            return Some(uri);
        }
    }
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        // Relative to the directory of the base path.
        let base_path = base.path();
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{location}")
    };
    let mut parts = Parts::default();
    parts.scheme = base.scheme().cloned();
    parts.authority = base.authority().cloned();
    parts.path_and_query = Some(path.parse::<PathAndQuery>().ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_kind_of_location() {
        let base: Uri = "http://a.test:8080/x/events?since=1".parse().unwrap();
        let cases = [
            ("http://b.test/other", Some("http://b.test/other")),
            ("//c.test/p", Some("http://c.test/p")),
            ("/abs?q=1", Some("http://a.test:8080/abs?q=1")),
            ("rel", Some("http://a.test:8080/x/rel")),
            ("", None),
            ("http://bad host/", None),
        ];
        for (location, want) in cases {
            let got = resolve(&base, location).map(|u| u.to_string());
            assert_eq!(got.as_deref(), want, "{location:?}");
        }
    }

    #[test]
    fn redirect_statuses() {
        for code in [301, 302, 303, 307, 308] {
            assert!(is_redirect(StatusCode::from_u16(code).unwrap()));
        }
        for code in [200, 204, 300, 304, 305, 400] {
            assert!(!is_redirect(StatusCode::from_u16(code).unwrap()));
        }
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        assert!(same_origin(&uri("http://a/x"), &uri("http://A:80/y?z")));
        assert!(same_origin(&uri("https://a/"), &uri("https://a:443/")));
        assert!(!same_origin(&uri("http://a/"), &uri("https://a/")));
        assert!(!same_origin(&uri("http://a/"), &uri("http://b/")));
        assert!(!same_origin(
            &uri("http://127.0.0.1:1/"),
            &uri("http://localhost:1/")
        ));
        assert!(!same_origin(&uri("http://a:1/"), &uri("http://a:2/")));
        assert!(is_downgrade(&uri("https://a/"), &uri("http://a/")));
        assert!(!is_downgrade(&uri("http://a/"), &uri("https://a/")));
    }
}
