//! `comity pdq share|catalogue|subscribe|lists|match --dir|notify` against two running nodes.

use std::time::{Duration, Instant};

use crate::cli::{comity, federation, ok, serve};

const HASH: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const OTHER: &str = "0707f31f1f0b57b0f9c8f5ddfc709c0f4c91d12a699de1e2cc194c63b1636446";

#[test]
fn a_list_shared_by_one_node_is_matched_at_another() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let (dz, fr) = (&nodes[0], &nodes[1]);
    let _served = (serve(dz), serve(fr));
    let (dz_dir, fr_dir) = (dz.dir.to_str().unwrap(), fr.dir.to_str().unwrap());
    let hashes = base.path().join("hashes.txt");
    std::fs::write(&hashes, format!("{HASH} 93 gone/picture.jpg\n")).unwrap();

    let out = ok(&[
        "pdq",
        "share",
        "--dir",
        dz_dir,
        "--list",
        "dz-247/baseline",
        "--category",
        "csam-baseline",
        "--series",
        "5e21",
        hashes.to_str().unwrap(),
    ]);
    assert_eq!(out, format!("1 {HASH}\n"));
    let bad = comity(&[
        "pdq",
        "share",
        "--dir",
        dz_dir,
        "--list",
        "fr-ocl/baseline",
        "--category",
        "csam-baseline",
        hashes.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("[pdq.list_field]"));

    let catalogue = ok(&["pdq", "catalogue", "--dir", fr_dir, "dz-247"]);
    assert!(catalogue.contains("dz-247/baseline\t1\t"), "{catalogue}");
    ok(&[
        "pdq",
        "subscribe",
        "--dir",
        fr_dir,
        "dz-247",
        "dz-247/baseline",
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let lists = loop {
        let lists = ok(&["pdq", "lists", "--dir", fr_dir]);
        let pulled = lists.contains("dz-247/baseline\tdz-247\t1\t1")
            && lists.contains("from dz-247: version 1, ok");
        if pulled || Instant::now() > deadline {
            break lists;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(lists.contains("dz-247/baseline\tdz-247\t1\t1"), "{lists}");
    assert!(
        lists.contains("subscription dz-247/baseline from dz-247: version 1, ok"),
        "{lists}"
    );

    let found = comity(&["pdq", "match", "--dir", fr_dir, HASH, OTHER]);
    assert_eq!(found.status.code(), Some(0));
    let text = String::from_utf8(found.stdout).unwrap();
    assert_eq!(
        text,
        format!(
            "{HASH}\tlist=dz-247/baseline entry=1 contributor=dz-247 series=5e21 \
             category=csam-baseline victim-identified=no match=pdq distance=0\n"
        )
    );
    let none = comity(&["pdq", "match", "--dir", fr_dir, OTHER]);
    assert_eq!(none.status.code(), Some(1));

    let id = ok(&["pdq", "notify", "--dir", fr_dir, "dz-247/baseline", "1"]);
    assert_eq!(id.trim().len(), 36, "a message id: {id}");
}
