//! RSA keys of actors, through OpenSSL: generating a local actor's pair, parsing PEM once into
//! keys that sign and verify RSASSA-PKCS1-v1_5 with SHA-256 (what HTTP signatures and our
//! integrity proofs use), and a cache of parsed keys by their PEM text.
//!
//! OpenSSL is already linked (the TLS of the outgoing client), and its RSA is several times
//! faster than a pure-Rust one: ~0.25 ms per signature and ~0.02 ms per verification on one
//! core. Parsing a key costs about as much as using it, so the node parses each key once: the
//! cache is keyed by the PEM text itself, so it never holds a key that is not the one stored —
//! when an actor's key changes, its new PEM is simply another entry.

use openssl::{
    hash::MessageDigest,
    pkey::{Id, PKey, Private, Public},
    rsa::Rsa,
    sign::{Signer, Verifier},
};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

/// Largest RSA modulus accepted from another server, in bits (what the `rsa` crate allowed
/// before): verification cost grows with it, and nobody publishes bigger keys.
const MAX_PUBLIC_BITS: u32 = 4096;

/// Parsed keys kept per cache before it starts over (a node has this many actors at most in
/// its working set; each parsed key is a few KiB).
const CACHE_CAPACITY: usize = 10_000;

/// A PEM key pair of a local actor.
pub struct KeyPair {
    pub public_pem: String,
    pub private_pem: String,
}

/// Generates a 2048-bit RSA key pair (what Mastodon and Lemmy use): PKCS#8 private key, SPKI
/// public key.
pub fn generate_key_pair() -> Result<KeyPair, String> {
    let rsa = Rsa::generate(2048).map_err(|e| e.to_string())?;
    let key = PKey::from_rsa(rsa).map_err(|e| e.to_string())?;
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|e| e.to_string());
    Ok(KeyPair {
        public_pem: text(key.public_key_to_pem().map_err(|e| e.to_string())?)?,
        private_pem: text(key.private_key_to_pem_pkcs8().map_err(|e| e.to_string())?)?,
    })
}

/// A local actor's parsed private RSA key.
pub struct PrivateKey(PKey<Private>);

impl PrivateKey {
    /// Parses a PEM private key (PKCS#8, or PKCS#1 `RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<PrivateKey, String> {
        let key = PKey::private_key_from_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        if key.id() != Id::RSA {
            return Err("not an RSA key".into());
        }
        Ok(PrivateKey(key))
    }

    /// RSASSA-PKCS1-v1_5 signature of SHA-256(`data`).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut signer =
            Signer::new(MessageDigest::sha256(), &self.0).map_err(|e| e.to_string())?;
        signer.update(data).map_err(|e| e.to_string())?;
        signer.sign_to_vec().map_err(|e| e.to_string())
    }
}

/// Another actor's parsed public RSA key.
pub struct PublicKey(PKey<Public>);

impl PublicKey {
    /// Parses a PEM public key as actors publish them: SPKI (`PUBLIC KEY`) or PKCS#1
    /// (`RSA PUBLIC KEY`). Only RSA keys up to 4096 bits.
    pub fn from_pem(pem: &str) -> Result<PublicKey, String> {
        let key = match PKey::public_key_from_pem(pem.as_bytes()) {
            Ok(key) => key,
            Err(_) => Rsa::public_key_from_pem_pkcs1(pem.as_bytes())
                .and_then(PKey::from_rsa)
                .map_err(|e| e.to_string())?,
        };
        if key.id() != Id::RSA {
            return Err("not an RSA key".into());
        }
        if key.bits() > MAX_PUBLIC_BITS {
            return Err(format!("RSA keys over {MAX_PUBLIC_BITS} bits are refused"));
        }
        Ok(PublicKey(key))
    }

    /// Whether `signature` is an RSASSA-PKCS1-v1_5 signature of SHA-256(`data`) by this key.
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> bool {
        let Ok(mut verifier) = Verifier::new(MessageDigest::sha256(), &self.0) else {
            return false;
        };
        verifier.update(data).is_ok() && verifier.verify(signature).unwrap_or(false)
    }
}

/// Keys parsed once: local actors' private keys and other actors' public keys, by PEM text.
#[derive(Default)]
pub struct KeyCache {
    private: Cache<PrivateKey>,
    public: Cache<PublicKey>,
}

impl KeyCache {
    /// The parsed private key of this PEM text.
    pub fn private(&self, pem: &str) -> Result<Arc<PrivateKey>, String> {
        self.private.get_or_parse(pem, PrivateKey::from_pem)
    }

    /// The parsed public key of this PEM text.
    pub fn public(&self, pem: &str) -> Result<Arc<PublicKey>, String> {
        self.public.get_or_parse(pem, PublicKey::from_pem)
    }

    /// How many parsed keys are kept (private, public).
    pub fn len(&self) -> (usize, usize) {
        (self.private.len(), self.public.len())
    }
}

struct Cache<K>(RwLock<HashMap<String, Arc<K>>>);

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache(RwLock::new(HashMap::new()))
    }
}

impl<K> Cache<K> {
    fn get_or_parse(
        &self,
        pem: &str,
        parse: impl FnOnce(&str) -> Result<K, String>,
    ) -> Result<Arc<K>, String> {
        if let Some(key) = self.0.read().ok().and_then(|m| m.get(pem).cloned()) {
            return Ok(key);
        }
        // Unparseable keys are not kept: they fail again, cheaply, next time.
        let key = Arc::new(parse(pem)?);
        if let Ok(mut map) = self.0.write() {
            if map.len() >= CACHE_CAPACITY {
                map.clear();
            }
            map.insert(pem.to_string(), key.clone());
        }
        Ok(key)
    }

    fn len(&self) -> usize {
        self.0.read().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_and_parse_once() {
        let pair = generate_key_pair().expect("keys");
        assert!(pair.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let cache = KeyCache::default();
        let private = cache.private(&pair.private_pem).expect("private");
        let public = cache.public(&pair.public_pem).expect("public");
        let signature = private.sign(b"signing string").expect("sign");
        assert!(public.verify(b"signing string", &signature));
        assert!(!public.verify(b"another string", &signature));
        assert!(!public.verify(b"signing string", b"not a signature"));
        // The same PEM is the same parsed key.
        assert!(Arc::ptr_eq(
            &private,
            &cache.private(&pair.private_pem).expect("again")
        ));
        assert!(Arc::ptr_eq(
            &public,
            &cache.public(&pair.public_pem).expect("again")
        ));
        assert_eq!(cache.len(), (1, 1));
        // A key that does not parse is an error, and is not kept.
        assert!(cache.public("-----BEGIN PUBLIC KEY-----\nnope\n").is_err());
        assert_eq!(cache.len(), (1, 1));
    }

    #[test]
    fn pkcs1_public_keys_parse_and_other_kinds_do_not() {
        let rsa = Rsa::generate(2048).expect("rsa");
        let pkcs1 = String::from_utf8(rsa.public_key_to_pem_pkcs1().expect("pem")).expect("utf8");
        assert!(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----"));
        assert!(PublicKey::from_pem(&pkcs1).is_ok());
        let ec = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                .expect("group"),
        )
        .expect("ec");
        let ec = PKey::from_ec_key(ec).expect("pkey");
        let pem = String::from_utf8(ec.public_key_to_pem().expect("pem")).expect("utf8");
        assert!(PublicKey::from_pem(&pem).is_err());
        // A modulus of 4,200 bits (not a real key: only its size matters here).
        let mut n = openssl::bn::BigNum::new().expect("bn");
        n.set_bit(4199).expect("bit");
        n.set_bit(0).expect("bit");
        let e = openssl::bn::BigNum::from_u32(65537).expect("e");
        let big = PKey::from_rsa(Rsa::from_public_components(n, e).expect("rsa")).expect("pkey");
        let pem = String::from_utf8(big.public_key_to_pem().expect("pem")).expect("utf8");
        assert!(PublicKey::from_pem(&pem).is_err());
    }
}
