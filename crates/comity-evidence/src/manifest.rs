//! The package manifest as CASE/UCO JSON-LD (CASE 1.5.0, the version `case-utils` 0.18 bundles):
//! a `uco-observable:File` with file and content-data facets (SHA-256) per item, a
//! `case-investigation:ProvenanceRecord` per item, a `case-investigation:InvestigativeAction` per
//! custody event (performer, instrument and location on acquisition), and an
//! `uco-identity:Organization` per node. Pure; identifiers are derived from digests so the same
//! package always yields the same manifest.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::custody::{Action, SignedEvent};
use crate::digest::Sha256Digest;

/// CASE ontology version the manifest targets.
pub const CASE_VERSION: &str = "1.5.0";

/// What the manifest says about one item.
#[derive(Clone, Debug)]
pub struct ManifestItem<'a> {
    pub exhibit: usize,
    pub file_name: &'a str,
    pub sha256: Sha256Digest,
    pub size: u64,
    pub events: &'a [SignedEvent],
}

/// A node involved, as its descriptor names it.
#[derive(Clone, Debug)]
pub struct ManifestNode<'a> {
    pub node: &'a str,
    pub name: &'a str,
    pub jurisdiction: &'a str,
}

/// An identifier ending in a UUID (the form CASE recommends), derived from `key`.
fn id(kind: &str, key: &str) -> String {
    let d = Sha256::new()
        .chain_update(b"comity/v1/case-id\0")
        .chain_update(kind.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = 0x50 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    let h = hex::encode(b);
    format!(
        "kb:{kind}-{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn typed(t: &str, v: impl ToString) -> Value {
    json!({"@type": t, "@value": v.to_string()})
}

fn context() -> Value {
    json!({
        "kb": "urn:comity:kb:",
        "case-investigation": "https://ontology.caseontology.org/case/investigation/",
        "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
        "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
        "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
        "uco-location": "https://ontology.unifiedcyberontology.org/uco/location/",
        "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
        "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
        "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
        "xsd": "http://www.w3.org/2001/XMLSchema#"
    })
}

/// The manifest for these items and nodes.
pub fn build(items: &[ManifestItem<'_>], nodes: &[ManifestNode<'_>]) -> Value {
    let mut graph = Vec::new();
    for n in nodes {
        graph.push(json!({
            "@id": id("organization", n.node),
            "@type": "uco-identity:Organization",
            "uco-core:name": n.name,
            "uco-core:description": format!("Comity node {} ({})", n.node, n.jurisdiction),
        }));
    }
    for item in items {
        let sha = item.sha256.hex();
        let file = id("file", &sha);
        let record = id("provenance-record", &sha);
        graph.push(json!({
            "@id": file,
            "@type": "uco-observable:File",
            "uco-core:hasFacet": [
                {
                    "@id": id("file-facet", &sha),
                    "@type": "uco-observable:FileFacet",
                    "uco-observable:fileName": item.file_name,
                    "uco-observable:sizeInBytes": typed("xsd:integer", item.size),
                },
                {
                    "@id": id("content-data-facet", &sha),
                    "@type": "uco-observable:ContentDataFacet",
                    "uco-observable:sizeInBytes": typed("xsd:integer", item.size),
                    "uco-observable:hash": [{
                        "@id": id("hash", &sha),
                        "@type": "uco-types:Hash",
                        "uco-types:hashMethod": "SHA256",
                        "uco-types:hashValue": typed("xsd:hexBinary", sha.to_uppercase()),
                    }],
                },
            ],
        }));
        graph.push(json!({
            "@id": record,
            "@type": "case-investigation:ProvenanceRecord",
            "case-investigation:exhibitNumber": item.exhibit.to_string(),
            "uco-core:description": format!("Exhibit {}: {}, sha256:{sha}", item.exhibit, item.file_name),
            "uco-core:object": [{"@id": file}],
        }));
        for e in item.events {
            graph.extend(action(e, &file, &record));
        }
    }
    json!({"@context": context(), "@graph": graph})
}

/// An investigative action for one custody event, with the person and, on acquisition, the
/// tool and the place.
fn action(e: &SignedEvent, file: &str, record: &str) -> Vec<Value> {
    let ev = &e.event;
    let digest = ev.digest();
    let person = id("person", &format!("{}/{}", ev.node, ev.user));
    let mut out = vec![json!({
        "@id": person,
        "@type": "uco-identity:Person",
        "uco-core:name": format!("{} at {}", ev.user, ev.node),
    })];
    let mut a = json!({
        "@id": id("investigative-action", &digest.hex()),
        "@type": "case-investigation:InvestigativeAction",
        "uco-core:name": ev.action.as_str(),
        "uco-core:description": format!(
            "Custody event {} of the item, signed by {}; event digest {}",
            ev.seq, ev.node, digest.prefixed()
        ),
        "uco-action:startTime": typed("xsd:dateTime", ev.time),
        "uco-action:performer": {"@id": person},
        "uco-action:object": [{"@id": file}],
    });
    if ev.action == Action::Acquired {
        a["uco-action:result"] = json!([{"@id": record}]);
    }
    if let Some(acq) = &ev.acquisition {
        let tool = id("tool", &format!("{}/{}", digest.hex(), acq.tool));
        let place = id("location", &format!("{}/{}", digest.hex(), acq.location));
        a["uco-action:instrument"] = json!({"@id": tool});
        a["uco-action:location"] = json!({"@id": place});
        a["uco-core:description"] = Value::String(format!(
            "Acquired by {} using {}: {}. Event digest {}",
            acq.by,
            acq.tool,
            acq.method,
            digest.prefixed()
        ));
        out.push(json!({"@id": tool, "@type": "uco-tool:Tool", "uco-core:name": acq.tool}));
        out.push(json!({
            "@id": place,
            "@type": "uco-location:Location",
            "uco-core:description": acq.location,
        }));
    }
    out.push(a);
    out
}
