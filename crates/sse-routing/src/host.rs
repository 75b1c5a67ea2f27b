//! The `Host` rule of RFC 9112, section 3.2, which hyper leaves to the
//! application: an HTTP/1.1 request has exactly one `Host` field, and no
//! request has more than one or an invalid one. Both HTTP/1.1 paths (the
//! direct writer and hyper) answer `400` when it is broken.

use http::header::HOST;
use http::{HeaderMap, Version};

/// Whether a request of `version` with `headers` satisfies the `Host` rule.
/// HTTP/2 carries the authority in `:authority` and is not checked here.
pub(crate) fn is_acceptable(version: Version, headers: &HeaderMap) -> bool {
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (_, Some(_)) => false,
        (Some(host), None) => is_valid(host.as_bytes()),
        (None, None) => version != Version::HTTP_11,
    }
}

/// `Host = uri-host [ ":" port ]` (RFC 9110, 7.2; RFC 3986, 3.2.2). An empty
/// value is allowed: a target without an authority has an empty `Host`.
fn is_valid(value: &[u8]) -> bool {
    let (host, port) = match value.first() {
        Some(b'[') => match value.iter().position(|&b| b == b']') {
            Some(end) => {
                let literal = &value[1..end];
                if !is_ip_literal(literal) {
                    return false;
                }
                match &value[end + 1..] {
                    [] => return true,
                    [b':', port @ ..] => (&[][..], port),
                    _ => return false,
                }
            }
            None => return false,
        },
        _ => match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon + 1..]),
            None => (value, &[][..]),
        },
    };
    is_reg_name(host) && port.iter().all(u8::is_ascii_digit)
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`, which also
/// covers IPv4 addresses.
fn is_reg_name(name: &[u8]) -> bool {
    let mut rest = name;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = match byte {
            b'%' => match tail {
                [a, b, tail @ ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => tail,
                _ => return false,
            },
            _ if is_unreserved(byte) || is_sub_delim(byte) => tail,
            _ => return false,
        };
    }
    true
}

/// The inside of `[...]`: an IPv6 address (hex digits, colons, and dots for
/// an embedded IPv4 address), or `IPvFuture` (`v` HEX+ `.` characters).
fn is_ip_literal(literal: &[u8]) -> bool {
    match literal {
        [b'v' | b'V', rest @ ..] => match rest.iter().position(|&b| b == b'.') {
            Some(dot) if dot > 0 => {
                rest[..dot].iter().all(u8::is_ascii_hexdigit)
                    && rest.len() > dot + 1
                    && rest[dot + 1..]
                        .iter()
                        .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
            }
            _ => false,
        },
        _ => {
            literal.len() >= 2
                && literal.contains(&b':')
                && literal
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(byte: u8) -> bool {
    matches!(
        byte,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(hosts: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for host in hosts {
            headers.append(HOST, HeaderValue::from_str(host).unwrap());
        }
        headers
    }

    #[test]
    fn valid_hosts() {
        for host in [
            "example.com",
            "example.com:8080",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8000",
            "[fe80::1]",
            "[::ffff:1.2.3.4]",
            "[v1.fe80::a+en1]",
            "xn--bcher-kva.example",
            "a%20b",
            "",
            "host:",
            "sub_domain.local~",
        ] {
            assert!(is_valid(host.as_bytes()), "{host:?}");
        }
    }

    #[test]
    fn invalid_hosts() {
        for host in [
            "a b",
            "user@example.com",
            "example.com:80:80",
            "example.com:8o",
            "[::1",
            "[::1]x",
            "[::1]:x",
            "[]",
            "[g::1]",
            "[v.x]",
            "[v1.]",
            "a%2",
            "a%zz",
            "exa/mple",
            "a\"b",
            "ex\u{e4}mple",
        ] {
            assert!(!is_valid(host.as_bytes()), "{host:?}");
        }
    }

    #[test]
    fn http11_needs_exactly_one_host_and_no_version_may_repeat_it() {
        let cases = [
            (Version::HTTP_11, &[][..], false),
            (Version::HTTP_11, &["a"][..], true),
            (Version::HTTP_11, &["a", "a"][..], false),
            (Version::HTTP_11, &["a b"][..], false),
            (Version::HTTP_10, &[][..], true),
            (Version::HTTP_10, &["a"][..], true),
            (Version::HTTP_10, &["a", "b"][..], false),
            (Version::HTTP_10, &["@"][..], false),
        ];
        for (version, hosts, want) in cases {
            assert_eq!(
                is_acceptable(version, &headers(hosts)),
                want,
                "{version:?} {hosts:?}"
            );
        }
    }
}
