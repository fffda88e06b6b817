//! Stopping a check nobody waits for any more: the language server cancels the check of a
//! text edited meanwhile, so that the newer text is checked sooner.
//!
//! A [`CancelToken`] is set for the thread that checks ([`CancelToken::scope`]); the checker
//! polls it at every statement, between the rules it runs there, and stops walking once it
//! is cancelled. A check cut short returns partial findings, which whoever
//! cancelled it throws away. The walk builds nothing that outlives the check (the project
//! index's summaries and searches are made apart from it), so nothing partial is kept. Work
//! handed to other threads does not see the token; it finishes as it would have.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Cancels the checks made in its [`scope`](Self::scope), from any thread.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

thread_local! {
    static CURRENT: RefCell<Option<CancelToken>> = const { RefCell::new(None) };
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Runs `work` on this thread with the checks it makes polling this token.
    pub fn scope<R>(&self, work: impl FnOnce() -> R) -> R {
        /// Puts the previous token back, also when `work` panics.
        struct Restore(Option<CancelToken>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                CURRENT.with(|current| *current.borrow_mut() = previous);
            }
        }
        let previous = CURRENT.with(|current| current.replace(Some(self.clone())));
        let _restore = Restore(previous);
        work()
    }
}

/// Whether the check running on this thread was cancelled.
pub fn cancelled() -> bool {
    CURRENT.with(|current| {
        current
            .borrow()
            .as_ref()
            .is_some_and(CancelToken::is_cancelled)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_seen_in_its_scope_only() {
        let token = CancelToken::new();
        token.cancel();
        assert!(!cancelled());
        assert!(token.scope(cancelled));
        let fresh = CancelToken::new();
        assert!(!fresh.scope(cancelled));
        // Nested scopes give the outer token back.
        assert!(token.scope(|| {
            fresh.scope(|| ());
            cancelled()
        }));
        assert!(!cancelled());
    }

    #[test]
    fn a_cancelled_check_stops_walking() {
        let source = "m.forward(1)\nm.forward(2)\n";
        let parsed = ruff_python_parser::parse_module(source).expect("valid");
        let settings = crate::LinterSettings::default();
        let file = crate::FileContext {
            module_name: None,
            is_package: false,
            project: &crate::semantic::infer::NoProject,
        };
        let check = || {
            crate::check_module(parsed.suite(), parsed.tokens(), source, &settings, &file)
                .diagnostics
                .len()
        };
        assert_eq!(CancelToken::new().scope(check), 2);
        let token = CancelToken::new();
        token.cancel();
        assert_eq!(token.scope(check), 0);
    }
}
