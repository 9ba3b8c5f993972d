//! The cross-check: every endpoint of a chain is asked for the hash of one
//! recent block, and an endpoint that disagrees with the majority at that
//! height is flagged. A recent block rather than the tip, because endpoints
//! a block apart would otherwise disagree honestly; a block the whole chain
//! has seen can have only one hash outside a reorg.

use std::collections::HashMap;

use alloy_primitives::B256;

/// The height the cross-check compares: `depth` blocks below the best tip.
pub fn height(best_tip: u64, depth: u64) -> u64 {
    best_tip.saturating_sub(depth)
}

/// The hash a strict majority of `answers` gave, if any.
pub fn majority<K>(answers: &[(K, B256)]) -> Option<B256> {
    let mut counts: HashMap<B256, usize> = HashMap::new();
    for (_, hash) in answers {
        *counts.entry(*hash).or_default() += 1;
    }
    counts.into_iter().find(|(_, n)| 2 * n > answers.len()).map(|(hash, _)| hash)
}

/// The endpoints whose answer differs from the strict majority's, with the
/// majority's hash. With no strict majority (two endpoints disagreeing, say)
/// nobody is flagged: there is nothing to tell which one is wrong.
pub fn dissenters<K: Clone>(answers: &[(K, B256)]) -> Option<(B256, Vec<K>)> {
    let agreed = majority(answers)?;
    let out: Vec<K> =
        answers.iter().filter(|(_, hash)| *hash != agreed).map(|(k, _)| k.clone()).collect();
    Some((agreed, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(byte: u8) -> B256 {
        B256::repeat_byte(byte)
    }

    #[test]
    fn the_odd_one_out_is_flagged() {
        let answers = [("a", h(1)), ("b", h(1)), ("c", h(2))];
        assert_eq!(dissenters(&answers), Some((h(1), vec!["c"])));
    }

    #[test]
    fn agreement_flags_nobody() {
        let answers = [("a", h(1)), ("b", h(1))];
        assert_eq!(dissenters(&answers), Some((h(1), vec![])));
        assert_eq!(dissenters(&[("a", h(1))]), Some((h(1), vec![])));
    }

    #[test]
    fn without_a_strict_majority_nobody_is_flagged() {
        assert_eq!(dissenters(&[("a", h(1)), ("b", h(2))]), None);
        assert_eq!(dissenters(&[("a", h(1)), ("b", h(1)), ("c", h(2)), ("d", h(2))]), None);
        assert_eq!(dissenters::<&str>(&[]), None);
    }

    #[test]
    fn the_height_is_below_the_tip_and_never_negative() {
        assert_eq!(height(100, 2), 98);
        assert_eq!(height(1, 2), 0);
    }
}
