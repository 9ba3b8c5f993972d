//! A stopped indexer shows on the status page (and in its JSON twin,
//! `GET /v1/chains`) as a lag that grows with the chain, marked once it
//! passes a few blocks, and the mark goes once the indexer is back.

use alloy::providers::Provider;
use serde_json::Value;

use crate::stack::Stack;

fn behind(stack: &Stack) -> Option<u64> {
    let chains: Value = stack
        .http
        .get(format!("{}/v1/chains", stack.base))
        .send()
        .and_then(|r| r.json())
        .unwrap_or_default();
    chains["registries"][0]["behind_blocks"].as_u64()
}

/// The registries table of the status page, as served (no script needed).
fn registries_table(stack: &Stack) -> String {
    let page = stack.http.get(format!("{}/", stack.base)).send().unwrap().text().unwrap();
    let start = page.find("id=\"registries-table\"").expect("the registries table");
    let end = page[start..].find("</table>").map_or(page.len(), |end| start + end);
    page[start..end].to_owned()
}

#[test]
fn a_stopped_indexer_shows_as_a_growing_lag_and_recovers() {
    let mut stack = Stack::start(None);
    stack.serve(&[]);
    stack.wait("the indexer to reach the head", || behind(&stack).is_some_and(|b| b <= 2));
    assert!(!registries_table(&stack).contains("class=\"down\""), "{}", registries_table(&stack));

    stack.indexer = None;
    let rpc = stack.rpc();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let head_before = runtime.block_on(rpc.get_block_number()).unwrap();
    runtime.block_on(async {
        let _: Value = rpc.raw_request("anvil_mine".into(), (20u64,)).await.unwrap();
    });
    stack.wait("the lag to show", || behind(&stack).is_some_and(|b| b >= 20));
    let table = registries_table(&stack);
    assert!(table.contains(&(head_before + 20).to_string()), "the chain head is shown: {table}");
    assert!(table.contains("class=\"down\""), "a lag of 20 blocks is marked: {table}");

    stack.start_indexer();
    stack.wait("the indexer to catch up", || behind(&stack).is_some_and(|b| b <= 2));
    let table = registries_table(&stack);
    assert!(!table.contains("class=\"down\""), "the mark goes: {table}");
}
