//! ed25519 keys and signatures. Verification is always `verify_strict` and weak (small-order)
//! public keys are refused, so a signature can never be made to verify for many keys at once.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::digest::Digest;
use crate::error::{Result, VyrError};

/// A public key trusted (or not) to sign artifacts. Its id is the digest of its 32 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

impl PublicKey {
    /// Parses 32 raw bytes, refusing non-canonical and weak (small-order) points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| VyrError::InvalidKey(format!("an ed25519 public key has 32 bytes, got {}", bytes.len())))?;
        let key =
            VerifyingKey::from_bytes(&raw).map_err(|_| VyrError::InvalidKey("not a valid ed25519 point".into()))?;
        if key.is_weak() {
            return Err(VyrError::InvalidKey("weak (small-order) ed25519 key refused".into()));
        }
        Ok(PublicKey { key })
    }

    /// Parses the text form written by [`KeyPair::public_key_text`] (64 hex digits).
    pub fn from_text(text: &str) -> Result<Self> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| VyrError::InvalidKey("a public key file holds 64 hex digits".into()))?;
        Self::from_bytes(&bytes)
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The key id: `sha256:` of the raw public key.
    pub fn key_id(&self) -> Digest {
        Digest::of(self.key.as_bytes())
    }

    /// The text form: 64 hex digits and a newline.
    pub fn to_text(&self) -> String {
        format!("{}\n", hex::encode(self.key.as_bytes()))
    }

    /// Checks `signature` over `message` strictly. Returns `Ok(())` or `InvalidSignature`;
    /// there is deliberately no boolean variant to forget to check.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let signature = Signature::from_slice(signature).map_err(|_| {
            VyrError::InvalidSignature(format!("an ed25519 signature has 64 bytes, got {}", signature.len()))
        })?;
        self.key
            .verify_strict(message, &signature)
            .map_err(|_| VyrError::InvalidSignature("signature does not match the manifest and key".into()))
    }
}

/// A signing key pair. Only the CLI's `keygen` and `sign` hold one; the node never does.
pub struct KeyPair {
    key: SigningKey,
}

impl KeyPair {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        KeyPair { key: SigningKey::generate(&mut rand_core::OsRng) }
    }

    /// From a 32-byte seed (RFC 8032's "secret key").
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| VyrError::InvalidKey(format!("an ed25519 private key has 32 bytes, got {}", seed.len())))?;
        Ok(KeyPair { key: SigningKey::from_bytes(&seed) })
    }

    /// Parses the text form written by [`KeyPair::private_key_text`].
    pub fn from_text(text: &str) -> Result<Self> {
        let seed = hex::decode(text.trim())
            .map_err(|_| VyrError::InvalidKey("a private key file holds 64 hex digits".into()))?;
        Self::from_seed(&seed)
    }

    /// The private key's text form: the 32-byte seed as 64 hex digits and a newline.
    pub fn private_key_text(&self) -> String {
        format!("{}\n", hex::encode(self.key.to_bytes()))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey { key: self.key.verifying_key() }
    }

    /// Signs `message` (deterministic, per RFC 8032).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8032 section 7.1, TEST 1 and TEST 2.
    const VECTORS: [(&str, &str, &str, &str); 2] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
    ];

    #[test]
    fn rfc8032_vectors_sign_and_verify() {
        for (seed, public, message, signature) in VECTORS {
            let pair = KeyPair::from_seed(&hex::decode(seed).unwrap()).unwrap();
            let message = hex::decode(message).unwrap();
            assert_eq!(hex::encode(pair.public_key().to_bytes()), public);
            assert_eq!(hex::encode(pair.sign(&message)), signature);
            let key = PublicKey::from_bytes(&hex::decode(public).unwrap()).unwrap();
            key.verify(&message, &hex::decode(signature).unwrap()).unwrap();
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_fails() {
        let pair = KeyPair::generate();
        let signature = pair.sign(b"manifest");
        let key = pair.public_key();
        for bit in 0..(64 * 8) {
            let mut tampered = signature;
            tampered[bit / 8] ^= 1 << (bit % 8);
            assert!(key.verify(b"manifest", &tampered).is_err());
        }
        assert!(key.verify(b"manifesu", &signature).is_err());
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (0, 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(PublicKey::from_bytes(&identity), Err(VyrError::InvalidKey(_))));
    }

    #[test]
    fn another_key_does_not_verify() {
        let signature = KeyPair::generate().sign(b"m");
        assert!(KeyPair::generate().public_key().verify(b"m", &signature).is_err());
    }
}
