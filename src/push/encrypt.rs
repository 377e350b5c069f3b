//! RFC 8291 message encryption for web push: one aes128gcm record (RFC 8188) that only the
//! subscribed browser can open, composed from RustCrypto's P-256 ECDH, HKDF-SHA-256 and
//! AES-128-GCM.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

/// The record size the header announces; the whole message is one record within it.
pub const RECORD_SIZE: u32 = 4096;
/// The header before the record: salt (16), record size (4), key id length (1), key id (65).
const HEADER: usize = 16 + 4 + 1 + 65;
/// AES-GCM's tag.
const TAG: usize = 16;
/// The most payload one message carries: push services take bodies of 4096 bytes, and the
/// header, the padding delimiter and the tag come out of that.
pub const MAX_PAYLOAD: usize = 4096 - HEADER - 1 - TAG;

/// Why a message could not be encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptError {
    /// The browser's key is not a P-256 point, or its secret not 16 bytes.
    BadKeys,
    /// Longer than `MAX_PAYLOAD`.
    TooLong,
}

/// Encrypts `payload` for the browser whose public key is `ua_public` (65 bytes,
/// uncompressed) and whose authentication secret is `auth` (16 bytes), with a fresh key
/// pair and salt: the request body of the push.
pub fn encrypt(payload: &[u8], ua_public: &[u8], auth: &[u8]) -> Result<Vec<u8>, EncryptError> {
    let as_secret = random_secret();
    let salt: [u8; 16] = rand::random();
    encrypt_with(payload, ua_public, auth, &as_secret, &salt)
}

/// A fresh P-256 private key from the operating system's random numbers.
pub fn random_secret() -> SecretKey {
    loop {
        // A random 32-byte string is a valid scalar all but about 2^-32 of the time.
        let bytes: [u8; 32] = rand::random();
        if let Ok(secret) = SecretKey::from_slice(&bytes) {
            return secret;
        }
    }
}

/// `encrypt` with the application server's key pair and the salt given (RFC 8291 section 3).
fn encrypt_with(
    payload: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    as_secret: &SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, EncryptError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(EncryptError::TooLong);
    }
    if auth.len() != 16 {
        return Err(EncryptError::BadKeys);
    }
    let ua_key = PublicKey::from_sec1_bytes(ua_public).map_err(|_| EncryptError::BadKeys)?;
    let ua_point = ua_key.to_encoded_point(false);
    let as_point = as_secret.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua_key.as_affine());

    // IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" || 0x00 || ua_public || as_public, 32)
    let mut key_info = Vec::with_capacity(14 + 65 + 65);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_point.as_bytes());
    key_info.extend_from_slice(as_point.as_bytes());
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm)
        .map_err(|_| EncryptError::BadKeys)?;

    // CEK and nonce from the salt (RFC 8188 section 2.2 and 2.3).
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .and_then(|()| prk.expand(b"Content-Encoding: nonce\0", &mut nonce))
        .map_err(|_| EncryptError::BadKeys)?;

    // The one and last record: the payload, then the delimiter 0x02, no padding.
    let mut record = Vec::with_capacity(payload.len() + 1);
    record.extend_from_slice(payload);
    record.push(2);
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| EncryptError::BadKeys)?;
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), record.as_slice())
        .map_err(|_| EncryptError::TooLong)?;

    let mut body = Vec::with_capacity(HEADER + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(as_point.as_bytes());
    body.extend_from_slice(&sealed);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    /// RFC 8291 section 5: the published example, byte for byte.
    #[test]
    fn the_rfcs_example_comes_out_byte_for_byte() {
        let as_secret =
            SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).unwrap();
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = encrypt_with(
            b"When I grow up, I want to be a watermelon",
            &b64(
                "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            ),
            &b64("BTBZMqHH6r4Tts7J_aSIgg"),
            &as_secret,
            &salt,
        )
        .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn each_message_has_its_own_key_and_salt_and_too_long_a_payload_is_refused() {
        let ua = random_secret().public_key().to_encoded_point(false);
        let auth = [7u8; 16];
        let one = encrypt(b"hi", ua.as_bytes(), &auth).unwrap();
        let two = encrypt(b"hi", ua.as_bytes(), &auth).unwrap();
        assert_ne!(one[..16], two[..16], "salts differ");
        assert_ne!(one[21..86], two[21..86], "keys differ");
        assert_eq!(one.len(), HEADER + 2 + 1 + TAG);
        let long = vec![b'a'; MAX_PAYLOAD + 1];
        assert_eq!(
            encrypt(&long, ua.as_bytes(), &auth),
            Err(EncryptError::TooLong)
        );
        assert!(encrypt(&long[1..], ua.as_bytes(), &auth).is_ok());
        assert_eq!(
            encrypt(b"hi", ua.as_bytes(), &auth[1..]),
            Err(EncryptError::BadKeys)
        );
    }
}
