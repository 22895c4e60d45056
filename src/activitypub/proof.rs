//! Object integrity proofs: an author's node signs the objects its users write, so that a
//! node receiving the object from someone else — a community relaying it — can check that the
//! author wrote exactly this, without fetching it from the author's node (which serves a
//! confidential community's content to the community's node alone).
//!
//! The shape is FEP-8b32's `DataIntegrityProof`; its `eddsa-jcs-2022` suite needs Ed25519 keys,
//! which actors do not publish, so Roundtable uses the RSA key every actor already has
//! (`publicKey`): the suite `roundtable-rsa-jcs-2026` signs, with RSASSA-PKCS1-v1_5 / SHA-256,
//! SHA-256(JCS(proof options)) ‖ SHA-256(JCS(object without `proof`)), as the eddsa-jcs suites
//! hash their input. Other software ignores the unknown suite; its objects are fetched from
//! their origin instead.

use super::keys::{PrivateKey, PublicKey};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const CRYPTOSUITE: &str = "roundtable-rsa-jcs-2026";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the object carries no proof")]
    Missing,
    #[error("the proof cannot be read: {0}")]
    Malformed(&'static str),
    #[error("the proof does not verify")]
    Invalid,
}

fn hash_input(object: &Value, options: &Value) -> Result<Vec<u8>, ProofError> {
    let canonical = |v: &Value| {
        serde_json_canonicalizer::to_vec(v).map_err(|_| ProofError::Malformed("not canonical JSON"))
    };
    let mut bare = object.clone();
    if let Value::Object(map) = &mut bare {
        map.remove("proof");
    }
    let mut data = Sha256::digest(canonical(options)?).to_vec();
    data.extend_from_slice(&Sha256::digest(canonical(&bare)?));
    Ok(data)
}

/// Adds a proof by `key_id` (the author's key) to `object`, replacing any earlier one.
pub fn sign(
    object: &mut Value,
    key_id: &str,
    key: &PrivateKey,
    created: &str,
) -> Result<(), String> {
    let options = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": key_id,
        "proofPurpose": "assertionMethod",
        "created": created,
    });
    let data = hash_input(object, &options).map_err(|e| e.to_string())?;
    let signature = key.sign(&data)?;
    let mut proof = options;
    proof["proofValue"] = json!(BASE64.encode(signature));
    match object {
        Value::Object(map) => {
            map.insert("proof".into(), proof);
            Ok(())
        }
        _ => Err("only objects can carry a proof".into()),
    }
}

/// Whether the document carries a proof at all (of any suite).
pub fn has_proof(object: &Value) -> bool {
    object.get("proof").is_some()
}

/// Signs the thread or reply a `Create`/`Update` carries, when `author` wrote it (the proof
/// that lets a community relay it and replicas check it); any other activity is left as it is.
pub fn sign_authored_post(
    activity: &mut Value,
    author: &str,
    key_id: &str,
    key: &PrivateKey,
    created: &str,
) -> Result<(), String> {
    let kind = |v: &Value| v.get("type").and_then(Value::as_str).map(str::to_string);
    if !matches!(kind(activity).as_deref(), Some("Create" | "Update")) {
        return Ok(());
    }
    let Some(object) = activity.get_mut("object") else {
        return Ok(());
    };
    if !matches!(kind(object).as_deref(), Some("Page" | "Note"))
        || object.get("attributedTo").and_then(Value::as_str) != Some(author)
    {
        return Ok(());
    }
    sign(object, key_id, key, created)
}

/// The key a proof names, if the object carries one of this suite.
pub fn verification_method(object: &Value) -> Option<&str> {
    let proof = object.get("proof")?;
    (proof.get("cryptosuite")?.as_str()? == CRYPTOSUITE)
        .then(|| proof.get("verificationMethod")?.as_str())
        .flatten()
}

/// Checks `object`'s proof against the public key of its verification method.
pub fn verify(object: &Value, key: &PublicKey) -> Result<(), ProofError> {
    let proof = object.get("proof").ok_or(ProofError::Missing)?;
    let Value::Object(fields) = proof else {
        return Err(ProofError::Malformed("proof is not an object"));
    };
    if fields.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE)
        || fields.get("type").and_then(Value::as_str) != Some("DataIntegrityProof")
        || fields.get("proofPurpose").and_then(Value::as_str) != Some("assertionMethod")
    {
        return Err(ProofError::Malformed(
            "unknown proof type, suite or purpose",
        ));
    }
    let value = fields
        .get("proofValue")
        .and_then(Value::as_str)
        .ok_or(ProofError::Malformed("no proofValue"))?;
    let signature = BASE64
        .decode(value.trim())
        .map_err(|_| ProofError::Malformed("proofValue is not base64"))?;
    let mut options = proof.clone();
    if let Value::Object(map) = &mut options {
        map.remove("proofValue");
    }
    let data = hash_input(object, &options)?;
    if key.verify(&data, &signature) {
        Ok(())
    } else {
        Err(ProofError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activitypub::signatures::generate_key_pair;

    #[test]
    fn a_signed_object_verifies_and_any_change_breaks_it() {
        let keys = generate_key_pair().expect("keys");
        let public = PublicKey::from_pem(&keys.public_pem).expect("public key");
        let mut page = json!({
            "id": "https://b.example/p/1", "type": "Page",
            "attributedTo": "https://b.example/u/bert",
            "name": "Title", "content": "<p>text</p>",
            "to": ["https://a.example/c/board/followers"],
        });
        sign(
            &mut page,
            "https://b.example/u/bert#main-key",
            &PrivateKey::from_pem(&keys.private_pem).expect("private key"),
            "2026-12-01T00:00:00Z",
        )
        .expect("sign");
        assert_eq!(
            verification_method(&page),
            Some("https://b.example/u/bert#main-key")
        );
        verify(&page, &public).expect("verifies");

        // Key order does not matter (JCS), content does.
        let reordered: Value =
            serde_json::from_str(&serde_json::to_string(&page).expect("json")).expect("json");
        verify(&reordered, &public).expect("verifies after a round trip");
        let mut changed = page.clone();
        changed["content"] = json!("<p>other words</p>");
        assert_eq!(verify(&changed, &public), Err(ProofError::Invalid));
        let mut moved = page.clone();
        moved["proof"]["verificationMethod"] = json!("https://b.example/u/other#main-key");
        assert_eq!(verify(&moved, &public), Err(ProofError::Invalid));
        let other = generate_key_pair().expect("keys");
        assert_eq!(
            verify(&page, &PublicKey::from_pem(&other.public_pem).expect("key")),
            Err(ProofError::Invalid)
        );
        let mut bare = page.clone();
        bare.as_object_mut().expect("object").remove("proof");
        assert_eq!(verify(&bare, &public), Err(ProofError::Missing));
    }
}
