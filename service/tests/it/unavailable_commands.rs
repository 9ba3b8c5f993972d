use cairn_service::exit;

use crate::{cairn, stderr, stdout};

/// Commands a later part of Cairn provides. Until then each must fail
/// loudly: a zero exit here would tell a script that work was done.
const NOT_YET: &[&[&str]] = &[&["dev"]];

#[test]
fn commands_not_yet_built_fail_with_a_clear_message() {
    for args in NOT_YET {
        let out = cairn(args, &[]);
        let shown = args.join(" ");
        assert_eq!(
            out.status.code(),
            Some(i32::from(exit::UNAVAILABLE)),
            "cairn {shown} should exit {}",
            exit::UNAVAILABLE
        );
        let err = stderr(&out);
        assert!(err.contains("not yet available"), "cairn {shown}: {err}");
        assert!(err.contains(&format!("cairn {}", args[0])), "cairn {shown}: {err}");
        assert!(stdout(&out).is_empty(), "cairn {shown} printed output as if it worked");
    }
}
