//! The prompt's decision, without X: which button has the keyboard focus,
//! what a key or click means, and the deny when nobody answers in time.
//! Time is an input (`now`); the X driver feeds events and ticks.

use std::time::{Duration, Instant};

/// The prompt's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Allow,
    Deny,
}

/// Keys the prompt understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Tab (or Shift+Tab): move the focus to the other button.
    Tab,
    /// Enter or space: press the focused button.
    Enter,
    /// Escape: deny.
    Escape,
    Other,
}

/// What happened at the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Key(Key),
    Click(Button),
    /// Time passed.
    Tick,
}

/// How the prompt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied,
    /// Nobody answered before the deadline: a deny.
    TimedOut,
}

/// One shown prompt.
#[derive(Debug, Clone)]
pub struct PromptCore {
    /// The button Enter presses; Deny first, so a stray Enter refuses.
    focus: Button,
    /// When no answer becomes a deny.
    deadline: Instant,
}

impl PromptCore {
    /// A prompt shown at `now` that denies after `timeout`.
    pub fn new(now: Instant, timeout: Duration) -> PromptCore {
        PromptCore {
            focus: Button::Deny,
            deadline: now + timeout,
        }
    }

    /// The focused button (drawn highlighted).
    pub fn focus(&self) -> Button {
        self.focus
    }

    /// When to tick next at the latest.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Apply one input; `Some` once the prompt is decided.
    pub fn handle(&mut self, now: Instant, input: Input) -> Option<Decision> {
        if now >= self.deadline {
            return Some(Decision::TimedOut);
        }
        match input {
            Input::Click(b) => Some(press(b)),
            Input::Key(Key::Enter) => Some(press(self.focus)),
            Input::Key(Key::Escape) => Some(Decision::Denied),
            Input::Key(Key::Tab) => {
                self.focus = match self.focus {
                    Button::Allow => Button::Deny,
                    Button::Deny => Button::Allow,
                };
                None
            }
            Input::Key(Key::Other) | Input::Tick => None,
        }
    }
}

fn press(b: Button) -> Decision {
    match b {
        Button::Allow => Decision::Allowed,
        Button::Deny => Decision::Denied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(30);

    #[test]
    fn clicks_decide_and_enter_presses_the_focused_button() {
        let now = Instant::now();
        let mut p = PromptCore::new(now, T);
        assert_eq!(
            p.handle(now, Input::Click(Button::Allow)),
            Some(Decision::Allowed)
        );
        let mut p = PromptCore::new(now, T);
        assert_eq!(p.focus(), Button::Deny);
        assert_eq!(
            p.handle(now, Input::Key(Key::Enter)),
            Some(Decision::Denied)
        );
        let mut p = PromptCore::new(now, T);
        assert_eq!(p.handle(now, Input::Key(Key::Tab)), None);
        assert_eq!(p.focus(), Button::Allow);
        assert_eq!(p.handle(now, Input::Key(Key::Other)), None);
        assert_eq!(
            p.handle(now, Input::Key(Key::Enter)),
            Some(Decision::Allowed)
        );
    }

    #[test]
    fn escape_denies_even_with_allow_focused() {
        let now = Instant::now();
        let mut p = PromptCore::new(now, T);
        p.handle(now, Input::Key(Key::Tab));
        assert_eq!(
            p.handle(now, Input::Key(Key::Escape)),
            Some(Decision::Denied)
        );
    }

    #[test]
    fn no_answer_by_the_deadline_is_a_deny_and_a_late_click_does_not_allow() {
        let now = Instant::now();
        let mut p = PromptCore::new(now, T);
        assert_eq!(p.deadline(), now + T);
        assert_eq!(
            p.handle(now + T - Duration::from_millis(1), Input::Tick),
            None
        );
        assert_eq!(p.handle(now + T, Input::Tick), Some(Decision::TimedOut));
        let mut p = PromptCore::new(now, T);
        assert_eq!(
            p.handle(now + T, Input::Click(Button::Allow)),
            Some(Decision::TimedOut)
        );
    }
}
