#![doc = include_str!("../README.md")]

pub mod pipeline;
pub mod receipt;
pub mod submit;
pub mod upload;
pub mod verify;

pub use pipeline::{Pipeline, PipelineError, Step, run};
pub use receipt::{
    ReceiptError, WrittenReceipt, build_receipt, record_written, signed_intents, write_receipt,
};
pub use submit::{FeePolicy, SubmitError, Submitted, Submitter};
pub use upload::{Bundler, DrainReport, Gateway, UploadError, Uploader};
pub use verify::{BatchVerification, Check, VerifyBatchError, verify_batch};

/// Marks a stage boundary the crash tests kill the process at. Built with
/// the `failpoints` feature (test builds only), a process whose
/// `CAIRN_FAILPOINT` names `boundary` says so on stderr and stops there for
/// good, so the test can SIGKILL it at exactly that point. Without the
/// feature it does nothing.
pub async fn failpoint(boundary: &str) {
    #[cfg(feature = "failpoints")]
    if std::env::var("CAIRN_FAILPOINT").is_ok_and(|wanted| wanted == boundary) {
        eprintln!("failpoint {boundary} reached");
        std::future::pending::<()>().await;
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = boundary;
}
