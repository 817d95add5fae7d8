//! C2SP tlog-checkpoint: origin, tree size, root hash and optional extension lines, as a signed note.

use crate::error::{LedgerError, Result};
use crate::hash::Hash;
use crate::note::{KeyKind, Note, NoteSignature, NoteSigner, NoteVerifier, VerifiedSignature};

/// The checkpoint body (the note text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Opaque, non-empty lines after the root hash. Comity's own checkpoints have none.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: one line each for origin, size and base64 root, then extensions.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses note text strictly: size in decimal without leading zeros, root exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self> {
        let err = |m: String| LedgerError::CheckpointFormat(m);
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| err("checkpoint text does not end with a newline".into()))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(err("origin line is empty".into()));
        }
        let size_line = lines
            .next()
            .ok_or_else(|| err("tree size line is missing".into()))?;
        let size_ok = !size_line.is_empty()
            && size_line.bytes().all(|b| b.is_ascii_digit())
            && (size_line == "0" || !size_line.starts_with('0'));
        let size = size_ok
            .then(|| size_line.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| {
                err(format!(
                    "tree size {size_line:?} is not a decimal number without leading zeros"
                ))
            })?;
        let root_line = lines
            .next()
            .ok_or_else(|| err("root hash line is missing".into()))?;
        let root = Hash::from_base64(root_line)
            .map_err(|e| err(format!("root hash {root_line:?}: {e}")))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(err("extension lines must not be empty".into()));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// A checkpoint with its note, as served and as verified. Holds the note verbatim so that
/// stored evidence is byte-for-byte what the log signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Note,
}

impl SignedCheckpoint {
    /// Signs a checkpoint with the log's key. Comity uses the origin as the log's key name.
    pub fn sign(checkpoint: Checkpoint, signer: &NoteSigner) -> Self {
        let text = checkpoint.to_text();
        let sig = signer.sign(&text);
        Self {
            checkpoint,
            note: Note {
                text,
                signatures: vec![sig],
            },
        }
    }

    /// Parses a signed checkpoint and checks the log's signature. The origin must be the log
    /// key's name, so a checkpoint signed under another name is refused.
    pub fn open(bytes: &[u8], log: &NoteVerifier) -> Result<Self> {
        let cp = Self::parse_unverified(bytes)?;
        cp.verify(log)?;
        Ok(cp)
    }

    /// Parses without checking any signature; call [`SignedCheckpoint::verify`] before use.
    pub fn parse_unverified(bytes: &[u8]) -> Result<Self> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        Ok(Self { checkpoint, note })
    }

    /// Checks origin and the log's own signature (cosignatures are not required here).
    pub fn verify(&self, log: &NoteVerifier) -> Result<VerifiedSignature> {
        if log.kind() != KeyKind::Ed25519 {
            return Err(LedgerError::VerifierKey(format!(
                "{} is a cosigner key, not a log key",
                log.name()
            )));
        }
        if self.checkpoint.origin != log.name() {
            return Err(LedgerError::OriginMismatch {
                got: self.checkpoint.origin.clone(),
                want: log.name().to_owned(),
            });
        }
        let mut ok = self.note.verify(std::slice::from_ref(log))?;
        ok.pop()
            .ok_or_else(|| LedgerError::NoteUnverified(log.to_vkey()))
    }

    /// Cosignatures from the given witnesses that verify. A known witness whose signature fails
    /// is an error (the note is then suspect), unknown signers are ignored.
    pub fn cosignatures(&self, witnesses: &[NoteVerifier]) -> Result<Vec<VerifiedSignature>> {
        let mut out = Vec::new();
        for sig in &self.note.signatures {
            if let Some(w) = witnesses
                .iter()
                .find(|w| w.name() == sig.name && w.key_id() == sig.key_id)
            {
                out.push(w.verify(&self.note.text, sig)?);
            }
        }
        Ok(out)
    }

    /// Adds (or replaces) a cosignature line from the same witness key.
    pub fn add_signature(&mut self, sig: NoteSignature) {
        self.note
            .signatures
            .retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
        self.note.signatures.push(sig);
    }

    pub fn to_text(&self) -> String {
        self.note.to_text()
    }
}
