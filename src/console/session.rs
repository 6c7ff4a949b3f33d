//! Console sessions without server-side state: the cookie holds `v1.<expires>.<nonce>.<mac>`,
//! where `nonce` is 128 random bits of the login (so no two sessions, nor their CSRF tokens, are
//! alike) and `mac` is HMAC-SHA256 over the version, the expiry and the nonce under a key
//! derived from `ADMIN_TOKEN` (never the token itself). Changing `ADMIN_TOKEN` ends every
//! session. Each session's CSRF token is another HMAC of the session value, so it needs no
//! storage either. Every comparison is constant-time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::signature::tokens_equal as equal;

type HmacSha256 = Hmac<Sha256>;

/// The cookie's name: `__Host-` makes browsers require `Secure`, `Path=/` and no `Domain`.
pub const COOKIE_NAME: &str = "__Host-sb_console";
/// How long a session lasts (12 hours).
pub const SESSION_TTL_SECS: i64 = 12 * 60 * 60;
const VERSION: &str = "v1";

/// HMAC-SHA256 of `parts` (joined by NUL) under a key derived from the admin token.
fn mac(admin_token: &str, purpose: &str, parts: &[&str]) -> String {
    // HMAC accepts keys of any length: these cannot fail.
    let key = match HmacSha256::new_from_slice(admin_token.as_bytes()) {
        Ok(mut m) => {
            m.update(b"stripe-bridge console key v1");
            m.finalize().into_bytes()
        }
        Err(_) => return String::new(),
    };
    let Ok(mut m) = HmacSha256::new_from_slice(&key) else {
        return String::new();
    };
    m.update(purpose.as_bytes());
    for part in parts {
        m.update(&[0]);
        m.update(part.as_bytes());
    }
    hex::encode(m.finalize().into_bytes())
}

/// A new session value, valid for [`SESSION_TTL_SECS`] from `now` (Unix seconds); `nonce`:
/// 16 random bytes of this login (the platform's CSPRNG).
pub fn issue(admin_token: &str, now: i64, nonce: &[u8; 16]) -> String {
    let expires = now.saturating_add(SESSION_TTL_SECS).to_string();
    let nonce = hex::encode(nonce);
    let signature = mac(admin_token, "session", &[VERSION, &expires, &nonce]);
    format!("{VERSION}.{expires}.{nonce}.{signature}")
}

/// Whether `value` is a session this admin token issued that has not expired at `now`.
pub fn verify(admin_token: &str, value: &str, now: i64) -> bool {
    let mut parts = value.split('.');
    let (Some(version), Some(expires), Some(nonce), Some(given), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Ok(expires_at) = expires.parse::<i64>() else {
        return false;
    };
    let expected = mac(admin_token, "session", &[version, expires, nonce]);
    let fresh = now < expires_at && expires_at <= now.saturating_add(SESSION_TTL_SECS);
    // The MAC is compared whatever the expiry, so timing says nothing about it.
    equal(given, &expected) & (version == VERSION) & fresh
}

/// The CSRF token of a session: sent with every state-changing request made with the cookie.
pub fn csrf_token(admin_token: &str, session: &str) -> String {
    mac(admin_token, "csrf", &[session])
}

/// Whether `given` is the CSRF token of `session`.
pub fn csrf_valid(admin_token: &str, session: &str, given: &str) -> bool {
    equal(given, &csrf_token(admin_token, session))
}

/// The session value in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE_NAME).then_some(value.trim())
    })
}

/// The `Set-Cookie` header of a new session.
pub fn set_cookie(value: &str) -> String {
    format!(
        "{COOKIE_NAME}={value}; Max-Age={SESSION_TTL_SECS}; Path=/; HttpOnly; Secure; SameSite=Strict"
    )
}

/// The `Set-Cookie` header that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict")
}

/// Whether a state-changing request comes from the console's own origin: the `Origin` header,
/// when the browser sent one, must be the request URL's origin (`scheme://host[:port]`).
pub fn same_origin(origin_header: Option<&str>, own_origin: &str) -> bool {
    match origin_header {
        None => true,
        Some(origin) => origin.eq_ignore_ascii_case(own_origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "admin-token-for-tests";
    const NOW: i64 = 1_800_000_000;
    const NONCE: [u8; 16] = [7; 16];

    #[test]
    fn a_session_verifies_until_it_expires() {
        let s = issue(TOKEN, NOW, &NONCE);
        assert!(verify(TOKEN, &s, NOW));
        assert!(verify(TOKEN, &s, NOW + SESSION_TTL_SECS - 1));
        assert!(!verify(TOKEN, &s, NOW + SESSION_TTL_SECS));
        assert!(!s.contains(TOKEN), "the token is never in the cookie");
    }

    #[test]
    fn another_token_or_a_tampered_value_is_refused() {
        let s = issue(TOKEN, NOW, &NONCE);
        assert!(!verify("another-token", &s, NOW));
        let later = s.replacen(
            &(NOW + SESSION_TTL_SECS).to_string(),
            &(NOW + 10 * SESSION_TTL_SECS).to_string(),
            1,
        );
        assert!(
            !verify(TOKEN, &later, NOW),
            "a longer expiry breaks the MAC"
        );
        for bad in [
            "",
            "v1",
            "v1.1.2",
            "v1.1.2.3",
            "v1.x.abc",
            &s.replacen(&hex::encode(NONCE), &hex::encode([8u8; 16]), 1),
            &format!("{s}.x"),
            &s.replacen("v1", "v2", 1),
        ] {
            assert!(!verify(TOKEN, bad, NOW), "{bad}");
        }
    }

    #[test]
    fn a_session_from_the_future_beyond_its_lifetime_is_refused() {
        // A MAC-valid value minted with a far expiry (a clock error) is not honoured forever.
        let s = issue(TOKEN, NOW + 10 * SESSION_TTL_SECS, &NONCE);
        assert!(!verify(TOKEN, &s, NOW));
    }

    #[test]
    fn csrf_tokens_are_per_session_and_per_admin_token() {
        let a = issue(TOKEN, NOW, &NONCE);
        // Two logins in the same second: their own sessions and CSRF tokens.
        let b = issue(TOKEN, NOW, &[8; 16]);
        assert_ne!(a, b);
        let t = csrf_token(TOKEN, &a);
        assert!(csrf_valid(TOKEN, &a, &t));
        assert!(!csrf_valid(TOKEN, &b, &t));
        assert!(!csrf_valid("other", &a, &t));
        assert!(!csrf_valid(TOKEN, &a, ""));
        assert_ne!(t, a);
    }

    #[test]
    fn cookies_are_read_and_written_with_their_attributes() {
        let header = format!("other=1; {COOKIE_NAME}=v1.2.ab ; x=y");
        assert_eq!(from_cookie_header(&header), Some("v1.2.ab"));
        assert_eq!(from_cookie_header("other=1"), None);
        let set = set_cookie("v1.2.ab");
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=43200",
        ] {
            assert!(set.contains(attr), "{set}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn origins_must_match_when_sent() {
        assert!(same_origin(None, "http://127.0.0.1:8787"));
        assert!(same_origin(
            Some("http://127.0.0.1:8787"),
            "http://127.0.0.1:8787"
        ));
        assert!(!same_origin(
            Some("https://evil.example"),
            "http://127.0.0.1:8787"
        ));
        assert!(!same_origin(Some("null"), "http://127.0.0.1:8787"));
    }
}
