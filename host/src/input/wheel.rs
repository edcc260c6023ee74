//! Fractional wheel deltas to whole wheel clicks.
//!
//! Viewers send wheel deltas in lines, often fractional (touchpads send
//! many small deltas). X11 only knows whole clicks (buttons 4 to 7), so
//! the remainder is carried to the next message instead of being lost:
//! ten deltas of 0.1 lines make one click.

/// Most clicks injected for one message on each axis; a viewer asking for
/// more (up to the 1000 lines the protocol allows) gets this many, so one
/// message cannot keep the display busy.
pub const MAX_STEPS_PER_MESSAGE: i32 = 50;

/// Carries the fractional part of wheel deltas between messages.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct WheelAccumulator {
    /// Horizontal lines not yet injected, within (-1, 1).
    dx: f64,
    /// Vertical lines not yet injected, within (-1, 1).
    dy: f64,
}

impl WheelAccumulator {
    /// Nothing carried.
    pub fn new() -> WheelAccumulator {
        WheelAccumulator::default()
    }

    /// Add a delta in lines and take the whole clicks it completes, as
    /// `(horizontal, vertical)`; positive is right and down. Non-finite
    /// deltas are ignored.
    pub fn add(&mut self, dx: f64, dy: f64) -> (i32, i32) {
        (take_steps(&mut self.dx, dx), take_steps(&mut self.dy, dy))
    }

    /// Drop what is carried (the viewer changed, or the session reset).
    pub fn reset(&mut self) {
        *self = WheelAccumulator::default();
    }
}

fn take_steps(carry: &mut f64, delta: f64) -> i32 {
    if !delta.is_finite() {
        return 0;
    }
    let total = *carry + delta;
    let whole = total.trunc();
    *carry = total - whole;
    let limit = f64::from(MAX_STEPS_PER_MESSAGE);
    // Clamped to ±50, so the cast is exact.
    whole.clamp(-limit, limit) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_lines_pass_through() {
        let mut wheel = WheelAccumulator::new();
        assert_eq!(wheel.add(0.0, 3.0), (0, 3));
        assert_eq!(wheel.add(-2.0, -1.0), (-2, -1));
    }

    #[test]
    fn fractions_add_up_across_messages() {
        let mut wheel = WheelAccumulator::new();
        let mut total = 0;
        for _ in 0..10 {
            total += wheel.add(0.0, 0.25).1;
        }
        assert_eq!(total, 2);
        assert_eq!(wheel.add(0.0, 0.5), (0, 1));
    }

    #[test]
    fn direction_change_cancels_carry() {
        let mut wheel = WheelAccumulator::new();
        assert_eq!(wheel.add(0.6, 0.0), (0, 0));
        assert_eq!(wheel.add(-0.6, 0.0), (0, 0));
        assert_eq!(wheel.add(-0.6, 0.0), (0, 0));
        assert_eq!(wheel.add(-0.6, 0.0), (-1, 0));
    }

    #[test]
    fn huge_and_bad_deltas_are_bounded() {
        let mut wheel = WheelAccumulator::new();
        assert_eq!(wheel.add(1000.0, -1000.0), (50, -50));
        assert_eq!(wheel.add(f64::NAN, f64::INFINITY), (0, 0));
        wheel.add(0.5, 0.5);
        wheel.reset();
        assert_eq!(wheel.add(0.5, 0.5), (0, 0));
    }
}
