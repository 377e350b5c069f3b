//! Who is on the other end of the connection, for rate limits and the audit log.

use std::fmt;
use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::errors::AppError;

/// The proxy whose X-Forwarded-For we believe; with none, we believe no header.
#[derive(Debug, Clone, Copy)]
pub struct TrustedProxy(pub Option<IpAddr>);

/// The client's IP address: the socket peer, unless the peer is the trusted proxy, in which
/// case the address that proxy appended to X-Forwarded-For (the last one: anything before it
/// came from the client and may be forged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub fn of(req: &HttpRequest) -> Option<Self> {
        let peer = req.peer_addr()?.ip();
        let trusted = req.app_data::<web::Data<TrustedProxy>>().and_then(|t| t.0);
        if trusted != Some(peer) {
            return Some(Self(peer));
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|last| last.trim().parse().ok());
        Some(Self(forwarded.unwrap_or(peer)))
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
