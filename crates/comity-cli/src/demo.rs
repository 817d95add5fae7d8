//! `comity demo`: a whole federation on this machine, built with the same commands and files an
//! operator uses (`federation init/admit/publish`, `node init/join/serve`), then a scripted
//! preservation request from Algeria's 24/7 point of contact to France.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use comity_law::{LawPacks, Question};
use comity_ledger::{NoteVerifier, ProofBundle};
use comity_model::Timestamp;
use comity_node::RunningNode;
use comity_seal::{FederationRoot, KdfParams, NodeSecrets};
use serde_json::{Value, json};

use crate::client::Api;
use crate::federation;
use crate::nodecmd::{self, InitArgs};
use crate::nodedir::{NodeDir, PASSPHRASE_ENV};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Directory for the federation and the nodes (default: a new temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Leave after the scenario; exit code 0 only if every step was delivered and verified.
    #[arg(long)]
    pub exit: bool,
}

struct Member {
    id: &'static str,
    jurisdiction: &'static str,
    roles: &'static [&'static str],
    name: &'static str,
}

const MEMBERS: [Member; 5] = [
    Member {
        id: "dz-moj",
        jurisdiction: "DZ",
        roles: &["central-authority", "extradition"],
        name: "Algeria — Ministry of Justice",
    },
    Member {
        id: "dz-247",
        jurisdiction: "DZ",
        roles: &["24-7", "police"],
        name: "Algeria — 24/7 cybercrime point of contact",
    },
    Member {
        id: "ma-moj",
        jurisdiction: "MA",
        roles: &["central-authority", "24-7"],
        name: "Morocco — Ministry of Justice",
    },
    Member {
        id: "fr-ocl",
        jurisdiction: "FR",
        roles: &["24-7", "police"],
        name: "France — OFAC 24/7 point of contact",
    },
    Member {
        id: "us-doj",
        jurisdiction: "US",
        roles: &["central-authority", "24-7"],
        name: "United States — DOJ Office of International Affairs",
    },
];

pub async fn run(args: DemoArgs) -> Result<std::process::ExitCode> {
    let (base, _temp) = match &args.dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new().prefix("comity-demo-").tempdir()?;
            (t.path().to_owned(), Some(t))
        }
    };
    let passphrase =
        std::env::var(PASSPHRASE_ENV).unwrap_or_else(|_| hex::encode(rand::random::<[u8; 12]>()));
    println!(
        "Comity demo: a federation of {} nodes on 127.0.0.1, each on SQLite in {}",
        MEMBERS.len(),
        base.display()
    );
    let nodes = build(&base, &passphrase).await?;
    for (m, n) in MEMBERS.iter().zip(&nodes) {
        println!(
            "  {:<7} {}  {:<29} https://{}  api http://{}",
            m.id,
            m.jurisdiction,
            m.roles.join(", "),
            n.federation_addr,
            n.api_addr
        );
    }
    let ok = match scenario(&base).await {
        Ok(()) => {
            println!(
                "\nEvery step was delivered, and every receipt was signed by its recipient and verified."
            );
            true
        }
        Err(e) => {
            println!("\nThe scenario failed: {e:#}");
            false
        }
    };
    if !args.exit {
        println!(
            "\nServing until Ctrl-C. Try: comity msg inbox --dir {}",
            base.join("fr-ocl").display()
        );
        if args.dir.is_some() {
            println!(
                "(restart a node later with {PASSPHRASE_ENV}={passphrase} comity node serve --dir DIR/NODE)"
            );
        }
        nodecmd::wait_for_stop().await;
    }
    for n in nodes {
        n.shutdown().await;
    }
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// Creates the federation and its members on disk, then starts every node.
async fn build(base: &Path, passphrase: &str) -> Result<Vec<RunningNode>> {
    let fed = base.join("federation");
    if fed.join("federation.toml").exists() {
        bail!(
            "{} already holds a demo: pass another --dir or remove it",
            base.display()
        );
    }
    let root = FederationRoot::generate(&mut rand::rng());
    federation::init(
        &fed,
        "comity-demo",
        &root,
        passphrase,
        KdfParams::INTERACTIVE,
    )?;
    for m in &MEMBERS {
        let fed_port = free_port()?;
        let args = InitArgs {
            dir: base.join(m.id),
            id: m.id.into(),
            jurisdiction: m.jurisdiction.into(),
            roles: m.roles.iter().map(|r| r.to_string()).collect(),
            name: m.name.into(),
            endpoint: format!("https://127.0.0.1:{fed_port}"),
            federation_listen: None,
            api_listen: format!("127.0.0.1:{}", free_port()?).parse()?,
            database_url: None,
        };
        nodecmd::init(
            args,
            &NodeSecrets::generate(&mut rand::rng()),
            passphrase,
            KdfParams::INTERACTIVE,
        )?;
        let nd = NodeDir::new(&base.join(m.id));
        let mut config = nd.read_config()?;
        // Peers witness each other every second, so the demo shows cosigned checkpoints at once.
        config.ledger.witness_interval_ms = Some(1000);
        nd.write_config(&config)?;
        let descriptor = nd.read_descriptor()?;
        federation::admit(
            &fed,
            descriptor,
            Timestamp::from_unix_ms(comity_node::now_ms()),
        )?;
    }
    federation::publish(&fed, &root, Timestamp::from_unix_ms(comity_node::now_ms()))?;
    let list = std::fs::read(fed.join("trust-list.json"))?;
    let mut nodes = Vec::new();
    for m in &MEMBERS {
        let nd = NodeDir::new(&base.join(m.id));
        nodecmd::join(&nd, &list, &root.public().to_string())?;
        nodes.push(nodecmd::start(&nd, passphrase).await?);
    }
    Ok(nodes)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn scenario(base: &Path) -> Result<()> {
    let dz = Api::for_dir(&base.join("dz-247"))?;
    let fr = Api::for_dir(&base.join("fr-ocl"))?;
    let start = Instant::now();
    println!("\nScenario: expedited preservation of stored data (Budapest Convention Art. 29)");

    let request = json!({
        "to": "fr-ocl",
        "kind": "preservation.request",
        "body": {
            "requesting_authority": "Algeria — 24/7 cybercrime point of contact, on behalf of the Public Prosecutor of Algiers",
            "case_reference": "DZ-ALG-2026-0142",
            "offences": ["budapest.art2.illegal_access", "budapest.art8.computer_fraud"],
            "facts": "Between 2 and 9 November 2026 the accounts of 312 customers of an Algerian bank were accessed with stolen credentials and emptied by transfers to mule accounts.",
            "data": "Subscriber information, connection logs (IP addresses, timestamps) and the content of mailbox ops-recover@example.fr from 1 October 2026.",
            "relation_to_offence": "The phishing pages sent their harvested credentials to this mailbox.",
            "custodian_or_location": "Example Mail SAS, Roubaix, France",
            "necessity": "The provider deletes logs after 30 days; the earliest logs expire on 1 December 2026.",
            "mla_to_follow": true,
            "preservation_days": 90
        }
    });
    let req = send_and_confirm(&dz, &fr, "dz-247", "fr-ocl", &request, start).await?;

    let received = fr.get(&format!("/api/v1/messages/{req}")).await?;
    let received_at: Timestamp = received["received_at"]
        .as_str()
        .context("no reception time")?
        .parse()?;
    let until = received_at.plus_days(90);
    let ack = json!({
        "to": "dz-247",
        "kind": "preservation.ack",
        "in_reply_to": req,
        "body": {
            "request": req,
            "status": "preserved",
            "reference": "FR-OFAC-2026-7781",
            "preserved_until": until,
            "remarks": "Data preserved with the provider. Send the mutual assistance request to the French central authority before the end of the period."
        }
    });
    let ack_id = send_and_confirm(&fr, &dz, "fr-ocl", "dz-247", &ack, start).await?;
    println!(
        "{:>9}  France preserves the data until {until} (90 days, Art. 29.7 requires at least 60)",
        ""
    );

    let note = json!({
        "to": "fr-ocl",
        "kind": "note",
        "in_reply_to": ack_id,
        "body": { "text": "Thank you. The Algerian Ministry of Justice is preparing the mutual assistance request (Art. 31)." }
    });
    send_and_confirm(&dz, &fr, "dz-247", "fr-ocl", &note, start).await?;
    show_ledger(&dz, &fr, &req).await?;
    let packs = LawPacks::shipped()?;
    request_workflow(base, &packs).await?;
    cross_border_case(&packs)?;

    let peers = dz.get("/api/v1/peers").await?;
    println!("\nPeer health seen from dz-247:");
    for p in peers.as_array().into_iter().flatten() {
        println!(
            "  {:<7} queued {}  dead {}  last success {}",
            p["node"].as_str().unwrap_or("?"),
            p["queued"],
            p["dead"],
            p["last_success_at"].as_str().unwrap_or("never")
        );
    }
    Ok(())
}

/// Shows that France's log records the request, that its peers cosigned the checkpoint, and
/// checks an inclusion proof the way a court would: with France's public key only.
async fn show_ledger(dz: &Api, fr: &Api, request: &str) -> Result<()> {
    let sent = dz.get(&format!("/api/v1/messages/{request}")).await?;
    let index = sent["receipt"]["log_index"]
        .as_u64()
        .context("the receipt names no log entry")?;
    println!(
        "\nLedger: fr-ocl's receipt for the request names entry {index} of fr-ocl's log; dz-247 logged the sending as entry {}.",
        sent["log_index"]
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let status = fr.get("/api/v1/ledger").await?;
        let cosigners = status["cosigned_checkpoint"]["cosigned_by"]
            .as_array()
            .map_or(0, Vec::len);
        let covered = status["cosigned_checkpoint"]["size"].as_u64().unwrap_or(0) > index;
        if (covered && cosigners + 1 == MEMBERS.len()) || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let cosigned = &status["cosigned_checkpoint"];
    let by: Vec<&str> = cosigned["cosigned_by"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!(
        "{:>9}  fr-ocl's checkpoint of {} entries is cosigned by {} witnesses: {}",
        "",
        cosigned["size"],
        by.len(),
        by.join(", ")
    );
    let proof = fr.get(&format!("/api/v1/ledger/proof/{index}")).await?;
    let bundle = ProofBundle::from_json(proof.to_string().as_bytes())?;
    let log_key = NoteVerifier::parse(status["log_key"].as_str().context("no log key")?)?;
    let dz_status = dz.get("/api/v1/ledger").await?;
    let dz_witness = NoteVerifier::parse(
        dz_status["witness_key"]
            .as_str()
            .context("no witness key")?,
    )?;
    let verified = bundle.verify(&log_key, std::slice::from_ref(&dz_witness))?;
    if verified.cosignatures.is_empty() {
        bail!("dz-247 has not cosigned fr-ocl's checkpoint within 20 s");
    }
    let entry = verified.entry.context("not a Comity entry")?;
    println!(
        "{:>9}  inclusion proof of entry {index} verified offline with fr-ocl's key: {} by {} of message {}, cosigned by dz-247",
        "",
        entry.kind.as_str(),
        entry.actor,
        entry.subjects.first().map(|s| s.id.as_str()).unwrap_or("?")
    );
    Ok(())
}

/// Sends through `from`'s API, waits for delivery, checks the receipt and that the recipient
/// holds the same envelope digest; prints one timeline line. Returns the message id.
async fn send_and_confirm(
    sender: &Api,
    recipient: &Api,
    from: &str,
    to: &str,
    request: &Value,
    start: Instant,
) -> Result<String> {
    let accepted = sender.post("/api/v1/messages", request).await?;
    let id = accepted["id"].as_str().context("no id")?.to_owned();
    let kind = request["kind"].as_str().unwrap_or("?");
    let deadline = Instant::now() + Duration::from_secs(30);
    let sent = loop {
        let m = sender.get(&format!("/api/v1/messages/{id}")).await?;
        match m["state"].as_str() {
            Some("delivered") => break m,
            Some("queued") if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            other => bail!("{kind} {id} is {other:?}: {}", m["last_error"]),
        }
    };
    if sent["receipt_verified"] != json!(true) {
        bail!("the receipt for {id} does not verify");
    }
    let got = recipient.get(&format!("/api/v1/messages/{id}")).await?;
    if got["digest"] != sent["digest"] {
        bail!("{to} holds another envelope for {id}");
    }
    let latency = latency_ms(&sent).unwrap_or(-1);
    println!(
        "{:>8.3}s  {from} → {to}  {kind:<20} delivered in {latency} ms, receipt signed by {to} verified  ({id})",
        start.elapsed().as_secs_f64()
    );
    Ok(id)
}

fn latency_ms(m: &Value) -> Option<i64> {
    let created: Timestamp = m["created_at"].as_str()?.parse().ok()?;
    let delivered: Timestamp = m["delivered_at"].as_str()?.parse().ok()?;
    Some(delivered.unix_ms() - created.unix_ms())
}

/// The content items the instruments require for a measure between two states, answered from
/// the body (the node asks the same law engine when the request is opened).
fn required_content(packs: &LawPacks, from: &str, to: &str, measure: &str) -> Result<Value> {
    let today = &Timestamp::from_unix_ms(comity_node::now_ms()).to_string()[..10];
    let q = packs.question_from_json(&json!({"question": "legal_basis", "requesting": from,
        "requested": to, "measure": measure, "date": today}))?;
    let Question::LegalBasis(q) = q else {
        bail!("the law engine read a legal_basis question as another");
    };
    let pf = comity_workflow::preflight(&packs.legal_basis(&q), None, None, None);
    let content: serde_json::Map<String, Value> = pf
        .required_content()
        .into_iter()
        .map(|(item, _)| {
            (
                item.to_owned(),
                json!(format!("see the request body ({item})")),
            )
        })
        .collect();
    Ok(Value::Object(content))
}

/// Waits until `api`'s node holds request `id` in `state`.
async fn request_in(api: &Api, id: &str, state: &str) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = api.get(&format!("/api/v1/requests/{id}")).await
            && (r["state"] == state || Instant::now() > deadline)
        {
            if r["state"] != state {
                bail!("request {id} is {} on this node, not {state}", r["state"]);
            }
            return Ok(r);
        }
        if Instant::now() > deadline {
            bail!("request {id} did not reach this node within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The same preservation as a tracked request: the node runs the law engine's pre-flight,
/// France acknowledges and preserves through its API, and both nodes hold the same timeline,
/// each transition in their ledgers.
async fn request_workflow(base: &Path, packs: &LawPacks) -> Result<()> {
    let dz = Api::for_dir(&base.join("dz-247"))?;
    let fr = Api::for_dir(&base.join("fr-ocl"))?;
    println!(
        "\nThe same case as a tracked request (docs/workflows.md): deadlines, actors, articles"
    );
    let open = json!({
        "to": "fr-ocl",
        "body": {"kind": "preservation", "body": {
            "requesting_authority": "Algeria — 24/7 cybercrime point of contact, on behalf of the Public Prosecutor of Algiers",
            "case_reference": "DZ-ALG-2026-0142",
            "offences": ["illegal_access", "computer_fraud"],
            "facts": "Between 2 and 9 November 2026 the accounts of 312 customers of an Algerian bank were accessed with stolen credentials and emptied by transfers to mule accounts.",
            "data": "Connection logs and the content of mailbox ops-recover@example.fr from 1 October 2026.",
            "relation_to_offence": "The phishing pages sent their harvested credentials to this mailbox.",
            "custodian_or_location": "Example Mail SAS, Roubaix, France",
            "necessity": "The provider deletes logs after 30 days.",
            "mla_to_follow": true,
            "preservation_days": 90
        }},
        "content": required_content(packs, "DZ", "FR", "preservation")?,
        "conditions": {"owner": "dz-247", "confidential": true,
            "purposes": ["investigation and prosecution in case DZ-ALG-2026-0142"],
            "onward": "consent_required"},
        "override_reason": "urgent: the logs will be deleted before a treaty basis can be settled; reciprocity offered"
    });
    let opened = dz.post("/api/v1/requests", &open).await?;
    let id = opened["id"].as_str().context("no request id")?.to_owned();
    request_in(&fr, &id, "sent").await?;
    for action in [
        json!({"action": "acknowledge", "reference": "FR-OFAC-2026-7782"}),
        json!({"action": "preserve", "until": null}),
    ] {
        fr.post(
            &format!("/api/v1/requests/{id}/actions"),
            &json!({"role": "24-7", "action": action}),
        )
        .await?;
    }
    let theirs = request_in(&fr, &id, "preserved").await?;
    let ours = request_in(&dz, &id, "preserved").await?;
    if ours["request"] != theirs["request"] {
        bail!("dz-247 and fr-ocl hold different states of request {id}");
    }
    for e in ours["timeline"].as_array().into_iter().flatten() {
        let who = match (e["actor"]["node"].as_str(), e["actor"]["role"].as_str()) {
            (Some(n), Some(r)) => format!("{n} ({r})"),
            _ => "dz-247 (opened)".to_owned(),
        };
        let articles: Vec<&str> = e["articles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "{:>9}  {}  {:<20} {:<12} -> {:<12} {}",
            "",
            e["at"].as_str().unwrap_or("?"),
            who,
            e["action"]["action"].as_str().unwrap_or("open"),
            e["to"].as_str().unwrap_or("?"),
            articles.join("; ")
        );
    }
    println!(
        "{:>9}  due next: {} ({})",
        "",
        ours["due"]["at"].as_str().unwrap_or("-"),
        ours["due"]["what"].as_str().unwrap_or("-")
    );
    for api in [&dz, &fr] {
        let entries = api.get("/api/v1/ledger/entries?kind=request_state").await?;
        let n = entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["entry"]["subjects"][0]["id"] == id.as_str())
            .count();
        if n != 3 {
            bail!("{n} request_state ledger entries for request {id}, expected 3");
        }
    }
    println!(
        "{:>9}  both nodes hold the same request and log each of its 3 transitions",
        ""
    );
    Ok(())
}

/// The whole cross-border case of issue 7, as the workflow engine runs it (pure, no nodes).
fn cross_border_case(packs: &LawPacks) -> Result<()> {
    let rules = comity_workflow::Rules::shipped()?;
    let start: Timestamp = "2026-01-15T08:00:00.000Z".parse()?;
    let timeline = comity_workflow::scenario(packs, &rules, start)?;
    println!(
        "\nThe full cross-border case (Algeria, France, Morocco, Spain), as the workflow engine runs it:"
    );
    for e in &timeline.entries {
        println!("  {e}");
    }
    Ok(())
}
