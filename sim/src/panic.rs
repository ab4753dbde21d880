//! Panics caught as findings.
//!
//! A panic anywhere in a run (an implementation's assertion, the host adapter decoding a
//! corrupt snapshot, the simulator itself) is evidence of a bug like a broken invariant. The
//! run that panicked is reported with its seed and reproduce command; the sweep or hunt that
//! ran it goes on.
//!
//! The message and location are taken by a panic hook while [`catch`] is active on the
//! thread, and the default hook's report to stderr is silenced there (a sweep of many runs
//! would otherwise print each backtrace). Outside [`catch`] the previous hook runs unchanged.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// How many `catch` calls are active on this thread.
    static CATCHING: Cell<u32> = const { Cell::new(0) };
    /// The last panic seen by the hook on this thread while catching.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Longest panic message kept, in bytes: a bound on what a report carries.
const MESSAGE_BYTES_MAX: usize = 4096;

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) == 0 {
                previous(info);
                return;
            }
            let message = payload_text(info.payload());
            let text = match info.location() {
                Some(l) => format!("{message} (at {}:{}:{})", l.file(), l.line(), l.column()),
                None => message,
            };
            CAUGHT.with(|c| *c.borrow_mut() = Some(truncate(text)));
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a payload that is not text".to_string()
    };
    truncate(text)
}

fn truncate(mut text: String) -> String {
    if text.len() > MESSAGE_BYTES_MAX {
        let mut end = MESSAGE_BYTES_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" ...");
    }
    text
}

/// Runs `f`; a panic inside it comes back as `Err` with its message and location.
///
/// State that `f` touched may be half-updated after a panic: the caller must only read what
/// it needs to report it (the time reached, the trace so far), never continue the run.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    CATCHING.with(|c| c.set(c.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(c.get() - 1));
    result.map_err(|payload| {
        CAUGHT
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| payload_text(payload.as_ref()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_comes_back_with_its_message_and_location() {
        let caught = catch(|| -> u32 { panic!("planted: {}", 7) }).unwrap_err();
        assert!(caught.starts_with("planted: 7 (at "), "{caught}");
        assert!(caught.contains("panic.rs:"), "{caught}");
        assert_eq!(catch(|| 5), Ok(5), "no panic, the value");
    }

    #[test]
    fn nested_catches_each_see_their_own_panic() {
        let outer = catch(|| {
            let inner = catch(|| panic!("inner"));
            assert!(inner.unwrap_err().starts_with("inner"));
            panic!("outer");
        });
        assert!(outer.unwrap_err().starts_with("outer"));
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "é".repeat(MESSAGE_BYTES_MAX);
        let caught = catch(|| panic!("{long}")).unwrap_err();
        assert!(caught.len() <= MESSAGE_BYTES_MAX + 4, "{}", caught.len());
        assert!(caught.ends_with(" ..."));
    }
}
