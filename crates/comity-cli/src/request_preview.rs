//! `comity request preview`: what opening a request would do, shown before it is opened.

use anyhow::{Result, bail};
use serde_json::Value;

use crate::request::{s, strings};

/// Prints the law engine's answers, the content the instruments require and whether opening
/// would succeed; an error (exit 1) when it would not.
pub fn print(p: &Value) -> Result<()> {
    let pf = &p["preflight"];
    if pf.is_object() {
        println!(
            "pre-flight {} → {}, {}, on {}",
            s(&pf["requesting"]),
            s(&pf["requested"]),
            s(&pf["measure"]),
            s(&pf["date"])
        );
        for i in pf["instruments"].as_array().into_iter().flatten() {
            println!(
                "  instrument: {} (arts. {}){}",
                s(&i["title"]),
                strings(&i["articles"]).join(", "),
                if i["verified"] == true {
                    ""
                } else {
                    " [text not verified]"
                }
            );
        }
        if let Some(r) = pf["reciprocity"].as_str() {
            println!("  reciprocity: {r}");
        }
        println!(
            "  channels: {} (sending by {})",
            strings(&pf["channels"]).join(", "),
            s(&pf["channel"])
        );
        let dc = &pf["dual_criminality"];
        if dc.is_object() {
            println!(
                "  dual criminality: {}",
                match (dc["required"] == true, dc["satisfied"] == true) {
                    (false, _) => "not required",
                    (true, true) => "required, satisfied",
                    (true, false) => "required, NOT satisfied",
                }
            );
        }
        for o in pf["obstacles"].as_array().into_iter().flatten() {
            println!(
                "  obstacle: {} ({}): {}",
                s(&o["code"]),
                s(&o["cite"]),
                s(&o["reason"])
            );
        }
        for n in strings(&pf["negatives"]) {
            println!("  negative: {n}");
        }
        for line in strings(&pf["explanation"]) {
            println!("    {line}");
        }
    } else {
        println!("no pre-flight for this kind of request");
    }
    let required = p["required_content"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !required.is_empty() {
        println!("content the instruments require:");
        for r in &required {
            println!(
                "  [{}] {} ({})",
                if r["given"] == true { "x" } else { " " },
                s(&r["item"]),
                s(&r["instrument"])
            );
        }
    }
    if p["ready"] == true {
        println!("ready to open");
        return Ok(());
    }
    let r = &p["refusal"];
    bail!(
        "not ready to open: [{}] {}",
        s(&r["code"]),
        s(&r["message"])
    )
}
