//! What the logic needs from the Internet Computer, behind traits so that
//! native tests drive the same code with a fixed clock, a chosen caller and a
//! local key, and the wasm build plugs in `ic_cdk` and the management canister.

use candid::Principal;

pub trait Clock {
    /// Unix seconds.
    fn now_secs(&self) -> u64;
}

pub trait Caller {
    fn caller(&self) -> Principal;
    fn is_controller(&self, principal: &Principal) -> bool;
    /// This canister's id, bound into name-claim messages.
    fn canister_id(&self) -> Principal;
}

/// Clock and caller of one message.
pub trait Env: Clock + Caller {}
impl<T: Clock + Caller> Env for T {}

/// The threshold-ECDSA key of the management canister (`sign_with_ecdsa`,
/// `ecdsa_public_key`), or a local key in tests.
#[allow(async_fn_in_trait)]
pub trait EcdsaSigner {
    /// SEC1 public key (33 bytes compressed, or 65 uncompressed) of
    /// `derivation_path`.
    async fn public_key(&self, derivation_path: &[Vec<u8>]) -> Result<Vec<u8>, String>;
    /// `r ‖ s` over the 32-byte `digest`, with no promise about which of the
    /// two valid `s` values comes back.
    async fn sign(&self, derivation_path: &[Vec<u8>], digest: [u8; 32])
    -> Result<[u8; 64], String>;
}

/// An ICRC-2 ledger: `icrc2_transfer_from` of `amount` from `from`'s default
/// account to `to`'s, which `from` approved beforehand.
#[allow(async_fn_in_trait)]
pub trait StakeLedger {
    /// The ledger block index of the transfer.
    async fn transfer_from(
        &self,
        ledger: Principal,
        from: Principal,
        to: Principal,
        amount: u128,
    ) -> Result<u128, String>;
}
