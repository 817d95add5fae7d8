//! Cooperation requests driven between the demo's live nodes through their user APIs, the calls
//! an officer's client makes; then what each node recorded, read back from both sides.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use comity_law::{LawPacks, Question};
use comity_model::Timestamp;
use comity_seal::PublicKey;
use comity_workflow::{Action, Body, Link, UseConditions};
use serde_json::{Value, json};

use crate::client::Api;

/// A node of the story and its user API.
pub struct Party {
    pub id: &'static str,
    pub jurisdiction: &'static str,
    pub api: Api,
}

/// A request of the story and the number of transitions both sides must hold.
pub struct Tracked {
    pub id: String,
    pub kind: String,
    pub requesting: &'static str,
    pub requested: &'static str,
    transitions: usize,
}

/// A transition the story made, and why, for the timeline.
struct Step {
    request: String,
    index: usize,
    note: String,
}

pub struct Live {
    parties: Vec<Party>,
    pub packs: LawPacks,
    /// The federation's root key, which a court is given to verify packages against.
    pub federation_root: PublicKey,
    requests: Vec<Tracked>,
    steps: Vec<Step>,
    shown: usize,
    latencies_ms: Vec<i64>,
    /// The offence elements the case's facts establish, given with every request opened.
    facts: Value,
}

/// How long the demo waits for one message to be delivered before calling it a failure.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

impl Live {
    pub fn new(parties: Vec<Party>, packs: LawPacks, federation_root: PublicKey) -> Live {
        Live {
            parties,
            packs,
            federation_root,
            requests: Vec::new(),
            steps: Vec::new(),
            shown: 0,
            latencies_ms: Vec::new(),
            facts: json!({}),
        }
    }

    /// The offence elements the facts establish, for the pre-flight's dual-criminality and
    /// extradition questions.
    pub fn establish(&mut self, facts: Value) {
        self.facts = facts;
    }

    pub fn api(&self, id: &str) -> Result<&Api> {
        self.party(id).map(|p| &p.api)
    }

    fn party(&self, id: &str) -> Result<&Party> {
        self.parties
            .iter()
            .find(|p| p.id == id)
            .with_context(|| format!("the demo has no node {id}"))
    }

    fn tracked(&self, id: &str) -> Result<&Tracked> {
        self.requests
            .iter()
            .find(|t| t.id == id)
            .with_context(|| format!("request {id} is not one of the story's"))
    }

    /// Opens a request from `from` to `to` as an officer does: the content the instruments
    /// require, the use conditions, and, when the node answers that the pre-flight is negative,
    /// again with the officer's written reason. Waits until `to` holds it; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        &mut self,
        from: &'static str,
        to: &'static str,
        body: &Body,
        conditions: &UseConditions,
        links: &[Link],
        override_reason: &str,
        note: &str,
    ) -> Result<String> {
        let content = match body.measure() {
            Some(m) => required_content(
                &self.packs,
                self.party(from)?.jurisdiction,
                self.party(to)?.jurisdiction,
                m.as_str(),
                body.offences(),
            )?,
            None => json!({}),
        };
        let mut open = json!({"to": to, "body": body, "content": content,
            "conditions": conditions, "links": links, "facts": self.facts});
        let api = self.api(from)?;
        let view = match api.post("/api/v1/requests", &open).await {
            Ok(v) => v,
            Err(e) if e.to_string().contains("[workflow.override_required]") => {
                open["override_reason"] = json!(override_reason);
                api.post("/api/v1/requests", &open).await?
            }
            Err(e) => return Err(e.context(format!("{from} could not open the {}", body.kind()))),
        };
        let id = view["id"].as_str().context("no request id")?.to_owned();
        if body.measure().is_some() && view["request"]["preflight"].is_null() {
            bail!("{from} opened request {id} without storing its pre-flight");
        }
        self.requests.push(Tracked {
            id: id.clone(),
            kind: body.kind().to_string(),
            requesting: from,
            requested: to,
            transitions: 0,
        });
        self.sent(&id, from, &view, note).await?;
        Ok(id)
    }

    /// Tries to open a request that `from`'s node must refuse; returns the refusal it gave.
    /// Nothing is opened, so nothing is tracked.
    pub async fn refused_open(
        &self,
        from: &'static str,
        to: &'static str,
        body: &Body,
        conditions: &UseConditions,
        links: &[Link],
    ) -> Result<String> {
        let open = json!({"to": to, "body": body, "conditions": conditions, "links": links});
        match self.api(from)?.post("/api/v1/requests", &open).await {
            Ok(v) => bail!(
                "{from} opened the {} {} although it should have refused it",
                body.kind(),
                v["id"]
            ),
            Err(e) => Ok(e.to_string()),
        }
    }

    /// `by` acts on request `id` in `role`; waits until the other side holds the transition.
    pub async fn act(
        &mut self,
        id: &str,
        by: &'static str,
        role: &str,
        action: Action,
        note: &str,
    ) -> Result<Value> {
        let t = self.tracked(id)?;
        if by != t.requesting && by != t.requested {
            bail!("{by} is not a party to request {id}");
        }
        let tag = action.tag();
        let view = self
            .api(by)?
            .post(
                &format!("/api/v1/requests/{id}/actions"),
                &json!({"role": role, "action": action}),
            )
            .await
            .with_context(|| format!("{by} could not {tag} request {id}"))?;
        self.sent(id, by, &view, note).await?;
        Ok(view)
    }

    /// Records the transition `by` just made and waits for its message to reach the other side.
    async fn sent(&mut self, id: &str, by: &str, view: &Value, note: &str) -> Result<()> {
        let transitions = transitions(view);
        let t = self.tracked(id)?;
        let (index, other) = (
            t.transitions,
            if by == t.requesting {
                t.requested
            } else {
                t.requesting
            },
        );
        if transitions.len() != index + 1 {
            bail!(
                "{by} holds {} transitions of request {id}, expected {}",
                transitions.len(),
                index + 1
            );
        }
        let message = transitions[index]["message_id"]
            .as_str()
            .with_context(|| format!("{by} sent no message for request {id}"))?;
        let latency = delivered(self.api(by)?, self.api(other)?, message, other).await?;
        self.latencies_ms.push(latency);
        if let Some(t) = self.requests.iter_mut().find(|t| t.id == id) {
            t.transitions += 1;
        }
        self.steps.push(Step {
            request: id.to_owned(),
            index,
            note: note.to_owned(),
        });
        Ok(())
    }

    /// Prints the transitions made since the last call, each read from both nodes' timelines
    /// (which must agree): time, kind, acting node and role, action, new state, articles, note.
    pub async fn show(&mut self) -> Result<()> {
        let mut views: HashMap<String, (Value, Value)> = HashMap::new();
        for step in &self.steps[self.shown..] {
            if !views.contains_key(&step.request) {
                views.insert(step.request.clone(), self.both(&step.request).await?);
            }
            let (ours, theirs) = &views[&step.request];
            let a = transitions(ours);
            let b = transitions(theirs);
            let (Some(e), Some(other)) = (a.get(step.index), b.get(step.index)) else {
                bail!(
                    "transition {} of request {} is missing on one side",
                    step.index,
                    step.request
                );
            };
            if shared_part(e) != shared_part(other) {
                bail!(
                    "the two nodes recorded transition {} of request {} differently",
                    step.index,
                    step.request
                );
            }
            print_step(ours, e, &step.note);
        }
        self.shown = self.steps.len();
        Ok(())
    }

    /// The request as its requesting node and as its requested node hold it.
    async fn both(&self, id: &str) -> Result<(Value, Value)> {
        let t = self.tracked(id)?;
        let path = format!("/api/v1/requests/{id}");
        Ok((
            self.api(t.requesting)?.get(&path).await?,
            self.api(t.requested)?.get(&path).await?,
        ))
    }

    /// Checks that for every request both nodes hold the same request in the same final state
    /// and the same timeline, as many transitions as were made; prints one line per request.
    pub async fn agree(&self) -> Result<()> {
        for t in &self.requests {
            let (ours, theirs) = self.both(&t.id).await?;
            let (a, b) = (transitions(&ours), transitions(&theirs));
            if ours["request"] != theirs["request"]
                || a.len() != t.transitions
                || b.len() != t.transitions
                || a.iter().map(shared_part).ne(b.iter().map(shared_part))
            {
                bail!(
                    "the two sides of {} {} disagree: {} holds it {} after {} transitions, {} holds it {} after {}, {} were made",
                    t.kind,
                    t.id,
                    t.requesting,
                    ours["state"],
                    a.len(),
                    t.requested,
                    theirs["state"],
                    b.len(),
                    t.transitions
                );
            }
            println!(
                "  {:<25} {:>6} ↔ {:<6} {:<25} {} transitions, same on both",
                t.kind,
                t.requesting,
                t.requested,
                ours["state"].as_str().unwrap_or("?"),
                a.len()
            );
        }
        let mut l = self.latencies_ms.clone();
        l.sort_unstable();
        println!(
            "  {} requests; {} sealed messages, each delivered with a receipt signed by its recipient and verified (median {} ms, slowest {} ms)",
            self.requests.len(),
            l.len(),
            l.get(l.len() / 2).copied().unwrap_or(0),
            l.last().copied().unwrap_or(0)
        );
        Ok(())
    }
}

/// The transitions of a request view (alerts left out: each node records its own).
fn transitions(view: &Value) -> Vec<Value> {
    view["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["event"] == "transition")
        .cloned()
        .collect()
}

/// A timeline entry without its row number, which counts each node's own alerts too.
/// A timeline entry without what is local to the node showing it: its position in the
/// timeline and the index of its entry in that node's ledger.
fn shared_part(e: &Value) -> Value {
    let mut e = e.clone();
    if let Some(o) = e.as_object_mut() {
        o.remove("seq");
        o.remove("log_index");
    }
    e
}

/// Waits until `sender` has a verified receipt for `message` and checks that `recipient` holds
/// the same envelope. The recipient replays a request message before it signs the receipt, so
/// a delivered message is a transition the other side holds (or refused and recorded).
async fn delivered(sender: &Api, recipient: &Api, message: &str, to: &str) -> Result<i64> {
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    let sent = loop {
        let m = sender.get(&format!("/api/v1/messages/{message}")).await?;
        match m["state"].as_str() {
            Some("delivered") => break m,
            Some("queued") if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            other => bail!(
                "message {message} to {to} is {other:?}: {}",
                m["last_error"]
            ),
        }
    };
    if sent["receipt_verified"] != json!(true) {
        bail!("the receipt of {to} for message {message} does not verify");
    }
    let got = recipient
        .get(&format!("/api/v1/messages/{message}"))
        .await?;
    if got["digest"] != sent["digest"] {
        bail!("{to} holds another envelope for message {message}");
    }
    Ok(latency_ms(&sent).unwrap_or(-1))
}

fn latency_ms(m: &Value) -> Option<i64> {
    let created: Timestamp = m["created_at"].as_str()?.parse().ok()?;
    let delivered: Timestamp = m["delivered_at"].as_str()?.parse().ok()?;
    Some(delivered.unix_ms() - created.unix_ms())
}

/// Three short lines: when, who did what to which request with what result; the articles; why.
fn print_step(view: &Value, e: &Value, note: &str) {
    let at = e["at"].as_str().unwrap_or("?");
    let time = at.get(11..23).unwrap_or(at);
    let kind = view["kind"].as_str().unwrap_or("?");
    let who = match (e["actor"]["node"].as_str(), e["actor"]["role"].as_str()) {
        (Some(n), Some(r)) => format!("{n} as {r}"),
        _ => format!(
            "{} opens",
            view["requesting"].as_str().unwrap_or("the requesting node")
        ),
    };
    let action = match e["action"]["action"].as_str() {
        Some(a) => format!(" {a}"),
        None => String::new(),
    };
    println!(
        "  {time}  {kind}: {who}{action} → {}",
        e["to"].as_str().unwrap_or("?")
    );
    let mut cites: Vec<String> = e["articles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    if e["from"].is_null() {
        cites.extend(basis(&view["request"]["preflight"]));
    }
    if !cites.is_empty() {
        println!("                cites {}", cites.join("; "));
    }
    if !note.is_empty() {
        println!("                {note}");
    }
    if e["from"].is_null()
        && let Some(reason) = view["request"]["preflight"]["override_reason"].as_str()
    {
        let negatives: Vec<&str> = view["request"]["preflight"]["negatives"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "                pre-flight negative ({}); sent with the reason: {reason}",
            negatives.join("; ")
        );
    }
}

/// What the stored pre-flight found the request rests on: instruments, or reciprocity.
fn basis(preflight: &Value) -> Vec<String> {
    let mut out: Vec<String> = preflight["instruments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let articles: Vec<&str> = i["articles"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "{} Art. {}",
                i["treaty"].as_str().unwrap_or("?"),
                articles.join(", ")
            )
        })
        .collect();
    if out.is_empty()
        && let Some(r) = preflight["reciprocity"].as_str()
    {
        out.push(format!(
            "{}: {r} (reciprocity)",
            preflight["requested"].as_str().unwrap_or("?")
        ));
    }
    out
}

/// The content items the instruments require for a measure between two states, answered from
/// the body (the node asks the same law engine when the request is opened).
pub fn required_content(
    packs: &LawPacks,
    from: &str,
    to: &str,
    measure: &str,
    offences: &[String],
) -> Result<Value> {
    let q = packs.question_from_json(&json!({"question": "legal_basis", "requesting": from,
        "requested": to, "measure": measure, "date": today(), "offences": offences}))?;
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

/// Today's date (UTC), as the law engine's questions take it.
pub fn today() -> String {
    Timestamp::from_unix_ms(comity_node::now_ms()).to_string()[..10].to_owned()
}
