//! Who is on the other end of the connection, for rate limits, the audit log and the account
//! page's list of sessions.

use std::fmt;
use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::errors::AppError;

/// Who may name the client's address in X-Forwarded-For: the proxy at `address`, and, when
/// the server listens on a unix socket, whoever connects through it (the socket's permissions
/// decide who can: the proxy alone). With neither, we believe no header.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustedProxy {
    pub address: Option<IpAddr>,
    pub unix_socket: bool,
}

impl TrustedProxy {
    /// Whether `req` came through the trusted proxy, so that its X-Forwarded-* headers are
    /// the proxy's own.
    pub fn sent(req: &HttpRequest) -> bool {
        let Some(trusted) = req.app_data::<web::Data<TrustedProxy>>() else {
            return false;
        };
        match req.peer_addr() {
            Some(peer) => trusted.address == Some(peer.ip()),
            // Only a unix socket's connections have no peer address.
            None => trusted.unix_socket,
        }
    }
}

/// The client's IP address: the socket peer, unless the request came through the trusted
/// proxy, in which case the address that proxy appended to X-Forwarded-For (the last one:
/// anything before it came from the client and may be forged). Through a unix socket without
/// the header, the client is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub fn of(req: &HttpRequest) -> Option<Self> {
        let peer = req.peer_addr().map(|p| p.ip());
        if !TrustedProxy::sent(req) {
            return peer.map(Self);
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|last| last.trim().parse().ok());
        forwarded.or(peer).map(Self)
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            Self::of(req)
                .ok_or_else(|| AppError::BadRequest("The client's address is unknown.".into())),
        )
    }
}

/// Where a login comes from: the client's address and what its User-Agent calls it.
#[derive(Debug, Clone)]
pub struct Device {
    pub addr: ClientAddr,
    pub agent: String,
}

impl Device {
    /// Enough of a User-Agent to tell browsers apart.
    pub const AGENT_MAX_CHARS: usize = 200;

    /// What a person would call the client a User-Agent names: "terminal", or a browser and
    /// its system ("Firefox on Linux"). Browsers claim each other's names, so the most
    /// specific comes first.
    pub fn describe(agent: &str) -> String {
        if agent.starts_with("chatroom-terminal") {
            return "terminal".to_owned();
        }
        let browser = [
            ("Edg/", "Edge"),
            ("OPR/", "Opera"),
            ("Firefox/", "Firefox"),
            ("Chromium/", "Chromium"),
            ("Chrome/", "Chrome"),
            ("Safari/", "Safari"),
        ]
        .into_iter()
        .find(|(mark, _)| agent.contains(mark))
        .map(|(_, name)| name);
        let system = [
            ("Android", "Android"),
            ("iPhone", "iOS"),
            ("iPad", "iOS"),
            ("Windows", "Windows"),
            ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"),
            ("Linux", "Linux"),
        ]
        .into_iter()
        .find(|(mark, _)| agent.contains(mark))
        .map(|(_, name)| name);
        match (browser, system) {
            (Some(browser), Some(system)) => format!("{browser} on {system}"),
            (Some(browser), None) => browser.to_owned(),
            (None, Some(system)) => format!("a browser on {system}"),
            (None, None) if agent.is_empty() => "unknown client".to_owned(),
            (None, None) => agent.chars().take(40).collect(),
        }
    }
}

impl FromRequest for Device {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(Self::AGENT_MAX_CHARS)
            .collect();
        ready(
            ClientAddr::from_request(req, payload)
                .into_inner()
                .map(|addr| Self { addr, agent }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_browsers_by_their_most_specific_name_and_the_terminal_as_such() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/120.0 Safari/537.36";
        assert_eq!(Device::describe(chrome), "Chrome on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(Device::describe(edge), "Edge on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 \
                      Mobile/15E148 Safari/604.1";
        assert_eq!(Device::describe(safari), "Safari on iOS");
        assert_eq!(Device::describe("chatroom-terminal/0.1.0"), "terminal");
        assert_eq!(Device::describe(""), "unknown client");
    }
}
