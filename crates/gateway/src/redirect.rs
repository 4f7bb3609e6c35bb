//! Which redirect URIs a sign-in may use.

use url::Url;

/// `candidate` is allowed when it equals an allow-list entry, or when an entry is a loopback
/// URI without a port (`http://127.0.0.1/callback`) and the candidate is the same URI with any
/// port (RFC 8252 §7.3). No query, fragment or credentials are accepted on a loopback URI.
pub fn redirect_uri_allowed(allowed: &[String], candidate: &str) -> bool {
    if allowed.iter().any(|a| a == candidate) {
        return true;
    }
    let Ok(url) = Url::parse(candidate) else {
        return false;
    };
    // Only a canonical spelling is accepted, so what Salesforce compares is what we checked.
    if url.as_str() != candidate
        || url.scheme() != "http"
        || url.port().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return false;
    }
    allowed
        .iter()
        .filter_map(|a| Url::parse(a).ok())
        .any(|entry| {
            entry.scheme() == "http"
                && entry.port().is_none()
                && is_loopback_ip_host(&entry)
                && entry.host() == url.host()
                && entry.path() == url.path()
        })
}

fn is_loopback_ip_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec![
            "companion://oauth/callback".into(),
            "http://127.0.0.1/callback".into(),
        ]
    }

    #[test]
    fn app_and_any_loopback_port_are_allowed() {
        assert!(redirect_uri_allowed(
            &allowed(),
            "companion://oauth/callback"
        ));
        assert!(redirect_uri_allowed(
            &allowed(),
            "http://127.0.0.1:53682/callback"
        ));
        assert!(redirect_uri_allowed(
            &allowed(),
            "http://127.0.0.1/callback"
        ));
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "https://evil.example/callback",
            "http://127.0.0.1.evil.example:80/callback",
            "http://localhost:8080/callback",
            "http://127.0.0.1:8080/other",
            "http://127.0.0.1:8080/callback?x=1",
            "http://127.0.0.1:8080/callback#frag",
            "http://user@127.0.0.1:8080/callback",
            "http://127.0.0.1:8080/callback/../callback",
            "https://127.0.0.1:8080/callback",
            "companion://oauth/callback/extra",
            "",
        ] {
            assert!(!redirect_uri_allowed(&allowed(), bad), "{bad}");
        }
    }
}
