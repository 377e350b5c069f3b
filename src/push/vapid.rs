//! VAPID (RFC 8292): the server's P-256 key pair, which browsers subscribe with
//! (`applicationServerKey`), and the signed JWT that tells a push service each push comes
//! from the holder of that key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::SecretKey;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;

/// How far ahead a JWT expires: RFC 8292 allows at most 24 hours; push services reject one
/// that reaches further, so a little less, for clocks that differ.
pub const JWT_LIFETIME_SECS: i64 = 12 * 3600;

/// The server's VAPID key pair.
pub struct Vapid {
    key: SigningKey,
    /// The uncompressed public point, base64url without padding: what `GET /api/push/key`
    /// gives and the `k=` of every push.
    public: String,
}

/// The stored key is not a P-256 private key (the database was changed by hand?).
#[derive(Debug)]
pub struct BadStoredKey;

impl Vapid {
    /// A new private key as it is stored: base64url of the 32-byte scalar.
    pub fn generate() -> String {
        URL_SAFE_NO_PAD.encode(super::encrypt::random_secret().to_bytes())
    }

    /// The key pair from its stored private key.
    pub fn from_stored(text: &str) -> Result<Self, BadStoredKey> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadStoredKey)?;
        let secret = SecretKey::from_slice(&bytes).map_err(|_| BadStoredKey)?;
        let public = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false));
        Ok(Self {
            key: SigningKey::from(secret),
            public,
        })
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header of a push to `audience` (the endpoint's origin), signed now
    /// (`now_secs`, Unix seconds), naming `subject` (a `mailto:` or https URL) as the contact.
    pub fn authorization(&self, audience: &str, subject: &str, now_secs: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": audience,
            "exp": now_secs + JWT_LIFETIME_SECS,
            "sub": subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        // ES256: the raw r || s, 64 bytes (RFC 7518 section 3.4), of the SHA-256 of the input.
        let signature: Signature = self.key.sign(signed.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(signature.to_bytes());
        format!("vapid t={signed}.{signature}, k={}", self.public)
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    use super::*;

    #[test]
    fn a_stored_key_gives_the_same_public_key_and_jwts_it_verifies() {
        let stored = Vapid::generate();
        let vapid = Vapid::from_stored(&stored).unwrap();
        assert_eq!(
            Vapid::from_stored(&stored).unwrap().public_key(),
            vapid.public_key()
        );
        let public = URL_SAFE_NO_PAD.decode(vapid.public_key()).unwrap();
        assert_eq!((public.len(), public[0]), (65, 4));

        let header = vapid.authorization("https://push.example", "mailto:a@b.example", 1000);
        let (t, k) = header
            .strip_prefix("vapid t=")
            .unwrap()
            .split_once(", k=")
            .unwrap();
        assert_eq!(k, vapid.public_key());
        let (signed, signature) = t.rsplit_once('.').unwrap();
        let claims = signed.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example");
        assert_eq!(claims["exp"], 1000 + JWT_LIFETIME_SECS);
        assert_eq!(claims["sub"], "mailto:a@b.example");
        let verifying = VerifyingKey::from_sec1_bytes(&public).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        verifying.verify(signed.as_bytes(), &signature).unwrap();
        assert!(Vapid::from_stored("not a key").is_err());
    }
}
