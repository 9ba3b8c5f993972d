#![doc = include_str!("../README.md")]

pub mod pipeline;
pub mod receipt;
pub mod submit;
pub mod upload;
pub mod verify;

pub use pipeline::{Pipeline, PipelineError, Step, run};
pub use receipt::{ReceiptError, WrittenReceipt, build_receipt, signed_intents, write_receipt};
pub use submit::{FeePolicy, SubmitError, Submitted, Submitter};
pub use upload::{DrainReport, Gateway, UploadError, Uploader};
pub use verify::{BatchVerification, Check, VerifyBatchError, verify_batch};
