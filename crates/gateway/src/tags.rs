//! Block tags (`latest`, `safe`, `finalized`) in a call's parameters, so a
//! call fanned out to several endpoints can be pinned to one concrete block
//! first: "latest" means a different block on two nodes a moment apart,
//! and answers from different blocks cannot be compared.

use std::collections::BTreeMap;

use serde_json::Value;

/// The tags that move with the chain and can be pinned.
pub(crate) const MOVING_TAGS: [&str; 3] = ["latest", "safe", "finalized"];

/// Where a method takes its block: the index of a positional parameter,
/// or the range of an `eth_getLogs` filter.
enum BlockParam {
    At(usize),
    Filter,
}

fn block_param(method: &str) -> Option<BlockParam> {
    Some(match method {
        "eth_getBlockByNumber"
        | "eth_getBlockReceipts"
        | "eth_getBlockTransactionCountByNumber"
        | "eth_getTransactionByBlockNumberAndIndex" => BlockParam::At(0),
        "eth_getBalance"
        | "eth_getCode"
        | "eth_getTransactionCount"
        | "eth_call"
        | "eth_estimateGas"
        | "eth_createAccessList" => BlockParam::At(1),
        "eth_getStorageAt" | "eth_getProof" => BlockParam::At(2),
        "eth_getLogs" => BlockParam::Filter,
        _ => return None,
    })
}

/// What a call's block references need before it can be fanned out.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Moving tags to resolve.
    pub tags: Vec<&'static str>,
    /// It names `pending`, which no two nodes share: it cannot be pinned.
    pub unpinnable: bool,
}

/// Calls `f` on every block reference of the call, after filling in the
/// `latest` a node would assume for a missing one.
fn visit(method: &str, params: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match block_param(method) {
        Some(BlockParam::At(index)) => {
            let Some(items) = params.as_array_mut() else { return };
            if items.len() == index {
                items.push(Value::from("latest"));
            }
            if let Some(slot) = items.get_mut(index) {
                f(slot);
            }
        }
        Some(BlockParam::Filter) => {
            let Some(filter) = params.get_mut(0).and_then(Value::as_object_mut) else { return };
            if filter.contains_key("blockHash") {
                return;
            }
            for key in ["fromBlock", "toBlock"] {
                let slot = filter.entry(key).or_insert_with(|| Value::from("latest"));
                f(slot);
            }
        }
        None => {}
    }
}

pub(crate) fn needs(method: &str, params: &Value) -> Needs {
    let mut params = params.clone();
    let mut needs = Needs::default();
    visit(method, &mut params, &mut |slot| match slot.as_str() {
        Some("pending") => needs.unpinnable = true,
        Some(tag) => {
            if let Some(known) = MOVING_TAGS.iter().find(|t| **t == tag)
                && !needs.tags.contains(known)
            {
                needs.tags.push(known);
            }
        }
        None => {}
    });
    needs
}

/// The parameters with every moving tag replaced by its block number.
pub(crate) fn pin(method: &str, params: &Value, blocks: &BTreeMap<&'static str, u64>) -> Value {
    let mut params = params.clone();
    visit(method, &mut params, &mut |slot| {
        if let Some(number) = slot.as_str().and_then(|tag| blocks.get(tag)) {
            *slot = Value::from(format!("{number:#x}"));
        }
    });
    params
}
