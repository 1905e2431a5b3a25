//! Notices for the shell: things the user should hear about that did not fail the command (an automatic
//! daily backup that could not be taken, say). The core collects them; a shell drains and shows them
//! (the CLI prints them on stderr after the command's output).
//!
//! Process-wide rather than per journal: a command may open and drop several journals, and a shell has
//! one user looking at it.

use std::sync::Mutex;

static NOTICES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Queue a notice.
pub fn push(message: impl Into<String>) {
    NOTICES.lock().unwrap_or_else(|p| p.into_inner()).push(message.into());
}

/// Everything queued since the last call, oldest first.
pub fn take() -> Vec<String> {
    std::mem::take(&mut *NOTICES.lock().unwrap_or_else(|p| p.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_drained_once_in_order() {
        let _ = take();
        push("first");
        push(String::from("second"));
        assert_eq!(take(), vec!["first".to_string(), "second".to_string()], "both, in order");
        assert!(take().is_empty(), "a second drain finds nothing");
    }
}
