//! A browser's push subscription as `pushManager.subscribe` gives it, parsed at the edge: an
//! endpoint this server may post to, and keys that RFC 8291 can encrypt for.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::PublicKey;
use serde::Deserialize;

/// The longest endpoint taken. The push services' own are a few hundred characters.
pub const MAX_ENDPOINT: usize = 1024;
/// The longest key text taken: a 65-byte point is 87 characters of base64url.
const MAX_KEY_TEXT: usize = 128;

/// `{"endpoint": "...", "keys": {"p256dh": "...", "auth": "..."}}`: `PushSubscription.toJSON()`.
#[derive(Debug, Deserialize)]
pub struct SubscriptionForm {
    pub endpoint: String,
    pub keys: KeysForm,
}

#[derive(Debug, Deserialize)]
pub struct KeysForm {
    pub p256dh: String,
    pub auth: String,
}

/// `{"endpoint": "..."}`: which subscription to forget.
#[derive(Debug, Deserialize)]
pub struct EndpointForm {
    pub endpoint: String,
}

/// A subscription whose parts were checked; its keys in canonical base64url (no padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// Why a subscription was refused: the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl Subscription {
    /// Checks the endpoint (see `endpoint`) and the keys: `p256dh` a P-256 point,
    /// uncompressed (65 bytes), on the curve; `auth` 16 bytes.
    pub fn parse(form: &SubscriptionForm, insecure_loopback: bool) -> Result<Self, Refused> {
        let endpoint = endpoint(&form.endpoint, insecure_loopback)?;
        let p256dh = decode(&form.keys.p256dh, "keys.p256dh")?;
        if p256dh.len() != 65 || p256dh[0] != 4 || PublicKey::from_sec1_bytes(&p256dh).is_err() {
            return Err(Refused(
                "`keys.p256dh` must be an uncompressed P-256 public key (65 bytes, base64url)."
                    .into(),
            ));
        }
        let auth = decode(&form.keys.auth, "keys.auth")?;
        if auth.len() != 16 {
            return Err(Refused("`keys.auth` must be 16 bytes, base64url.".into()));
        }
        Ok(Self {
            endpoint,
            p256dh: URL_SAFE_NO_PAD.encode(p256dh),
            auth: URL_SAFE_NO_PAD.encode(auth),
        })
    }
}

/// An endpoint this server will post to: an https URL of a public host, with no user or
/// password, at most `MAX_ENDPOINT` long. Hosts that name this machine or a private network
/// (localhost, loopback, private and link-local addresses) are refused, so that a
/// subscription cannot point the server's requests into its own network. With
/// `insecure_loopback` (tests only), `http://127.0.0.1:PORT/...` is taken too.
pub fn endpoint(text: &str, insecure_loopback: bool) -> Result<String, Refused> {
    if text.len() > MAX_ENDPOINT {
        return Err(Refused(format!(
            "`endpoint` is longer than {MAX_ENDPOINT} characters."
        )));
    }
    let url =
        url::Url::parse(text).map_err(|_| Refused("`endpoint` must be an https URL.".into()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused(
            "`endpoint` must not hold a user or password.".into(),
        ));
    }
    let loopback_allowed = insecure_loopback
        && url.scheme() == "http"
        && url.host_str() == Some("127.0.0.1")
        && url.port().is_some();
    if loopback_allowed {
        return Ok(url.into());
    }
    if url.scheme() != "https" {
        return Err(Refused("`endpoint` must be an https URL.".into()));
    }
    let public = match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => public_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => public_ip(IpAddr::V6(ip)),
        None => false,
    };
    if !public {
        return Err(Refused(
            "`endpoint` must name a push service on the internet, not this machine or a private network."
                .into(),
        ));
    }
    Ok(url.into())
}

fn public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_ip(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    // fc00::/7 unique local, fe80::/10 link-local
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// base64url, with or without padding (browsers leave it out; some libraries put it in).
fn decode(text: &str, name: &str) -> Result<Vec<u8>, Refused> {
    let refused = || Refused(format!("`{name}` must be base64url."));
    if text.len() > MAX_KEY_TEXT {
        return Err(refused());
    }
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| refused())
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    fn form(endpoint: &str, p256dh: &str, auth: &str) -> SubscriptionForm {
        SubscriptionForm {
            endpoint: endpoint.into(),
            keys: KeysForm {
                p256dh: p256dh.into(),
                auth: auth.into(),
            },
        }
    }

    #[test]
    fn a_push_services_subscription_is_taken_with_its_keys_canonical() {
        let padded = format!("{AUTH}==");
        let sub = Subscription::parse(
            &form("https://fcm.googleapis.com/fcm/send/abc", POINT, &padded),
            false,
        )
        .unwrap();
        assert_eq!(sub.auth, AUTH);
        assert_eq!(sub.p256dh, POINT);
    }

    #[test]
    fn endpoints_outside_https_and_the_public_internet_are_refused() {
        for wrong in [
            "http://push.example/x",
            "ftp://push.example/x",
            "https://localhost/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://192.168.0.1/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://user:pw@push.example/x",
            "not a url",
            "http://127.0.0.1:8080/x",
        ] {
            assert!(endpoint(wrong, false).is_err(), "{wrong}");
        }
        let long = format!("https://push.example/{}", "a".repeat(MAX_ENDPOINT));
        assert!(endpoint(&long, false).is_err());
    }

    #[test]
    fn the_loopback_flag_admits_plain_http_to_127_0_0_1_with_a_port_and_nothing_else() {
        assert!(endpoint("http://127.0.0.1:8080/push/1", true).is_ok());
        for still_wrong in [
            "http://127.0.0.1/push/1",
            "http://localhost:8080/push/1",
            "http://10.0.0.1:8080/push/1",
            "http://push.example:8080/x",
        ] {
            assert!(endpoint(still_wrong, true).is_err(), "{still_wrong}");
        }
    }

    #[test]
    fn keys_that_are_not_a_point_on_the_curve_or_16_bytes_are_refused() {
        let url = "https://push.example/x";
        let mut off_curve = URL_SAFE_NO_PAD.decode(POINT).unwrap();
        off_curve[64] ^= 1;
        let off_curve = URL_SAFE_NO_PAD.encode(off_curve);
        let compressed = URL_SAFE_NO_PAD.encode([2u8; 33]);
        for (p256dh, auth) in [
            (off_curve.as_str(), AUTH),
            (compressed.as_str(), AUTH),
            ("not base64!", AUTH),
            (POINT, "c2hvcnQ"),
            (POINT, ""),
        ] {
            assert!(
                Subscription::parse(&form(url, p256dh, auth), false).is_err(),
                "{p256dh} {auth}"
            );
        }
    }
}
