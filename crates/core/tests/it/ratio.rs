use alloy_primitives::U256;
use cairn_core::ratio;

#[test]
fn ratios_hold_at_every_magnitude() {
    assert_eq!(ratio(U256::from(1), U256::from(4)), 0.25);
    assert_eq!(ratio(U256::ZERO, U256::from(4)), 0.0);
    assert_eq!(ratio(U256::from(4), U256::ZERO), 0.0, "no total, no share");
    let ether = U256::from(10u64).pow(U256::from(18));
    let third = ratio(U256::from(100) * ether, U256::from(300) * ether);
    assert!((third - 1.0 / 3.0).abs() < 1e-12, "{third}");
    let huge = ratio(U256::MAX >> 1, U256::MAX);
    assert!((huge - 0.5).abs() < 1e-12, "{huge}");
    assert_eq!(ratio(U256::MAX, U256::MAX), 1.0);
}
