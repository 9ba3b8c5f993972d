use cairn_arweave::chunks::{MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, chunk_ranges, data_root};
use sha2::{Digest, Sha256};

#[test]
fn chunks_are_256_kib_with_the_last_two_evened_out() {
    assert_eq!(chunk_ranges(0), vec![0..0]);
    assert_eq!(chunk_ranges(10), vec![0..10]);
    assert_eq!(
        chunk_ranges(MAX_CHUNK_SIZE),
        vec![0..MAX_CHUNK_SIZE, MAX_CHUNK_SIZE..MAX_CHUNK_SIZE]
    );
    // A 32 KiB − 1 tail would be too small: the last two share the bytes.
    let len = MAX_CHUNK_SIZE + MIN_CHUNK_SIZE - 1;
    assert_eq!(chunk_ranges(len), vec![0..len.div_ceil(2), len.div_ceil(2)..len]);
    let len = MAX_CHUNK_SIZE + MIN_CHUNK_SIZE;
    assert_eq!(chunk_ranges(len), vec![0..MAX_CHUNK_SIZE, MAX_CHUNK_SIZE..len]);
    for len in [1usize, 300_000, 1_048_583, 5 * MAX_CHUNK_SIZE + 7] {
        let ranges = chunk_ranges(len);
        assert_eq!(ranges.first().unwrap().start, 0);
        assert_eq!(ranges.last().unwrap().end, len);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start), "contiguous");
        assert!(ranges.iter().all(|r| r.len() <= MAX_CHUNK_SIZE));
    }
}

#[test]
fn one_chunk_roots_are_its_leaf() {
    let sha = |parts: &[&[u8]]| -> [u8; 32] {
        let mut h = Sha256::new();
        parts.iter().for_each(|p| h.update(p));
        h.finalize().into()
    };
    let data = b"cairn receipt bundle";
    let mut note = [0u8; 32];
    note[31] = data.len() as u8;
    let leaf = sha(&[&sha(&[&sha(&[data])]), &sha(&[&note])]);
    assert_eq!(data_root(data), leaf);
    assert_ne!(data_root(b"cairn receipt bundlf"), leaf);
}
