//! The ring's own tests: order, bounds, onset, partial minutes at both ends, saved state.

use super::*;

const T0: i64 = 1_741_914_000_000; // a minute boundary

#[test]
fn lines_land_in_their_own_minute_in_any_order() {
    let mut w = Windows::new(2, 60);
    w.add(0, T0 + 3 * MINUTE_MS + 5);
    w.add(0, T0 + 1_000);
    w.add(0, T0 + 3 * MINUTE_MS + 59_999);
    w.add(1, T0 + 2 * MINUTE_MS);
    w.add_attempt(T0 + 3 * MINUTE_MS);
    let h = w.history(0);
    assert_eq!(h.len(), 4);
    assert_eq!(h.iter().map(|m| m.count).collect::<Vec<_>>(), [1, 0, 0, 2]);
    assert_eq!(h[3], MinuteCount { start_ms: T0 + 3 * MINUTE_MS, count: 2, login_attempts: 1, partial: false });
    assert_eq!(w.count_over(0, T0 + 3 * MINUTE_MS + 10, 5 * MINUTE_MS), 3);
    assert_eq!(w.count_over(0, T0 + 3 * MINUTE_MS + 10, MINUTE_MS), 2);
    assert_eq!(w.minutes().iter().map(|m| m.counts[0]).collect::<Vec<_>>(), [1, 0, 0, 2]);
}

#[test]
fn replay_order_does_not_change_the_curve() {
    let times: Vec<i64> = (0..500).map(|i| T0 + (i * 7_919) % (30 * MINUTE_MS)).collect();
    let mut forward = Windows::new(1, 60);
    let mut backward = Windows::new(1, 60);
    for &t in &times {
        forward.add(0, t);
    }
    for &t in times.iter().rev() {
        backward.add(0, t);
    }
    assert_eq!(forward.history(0), backward.history(0));
}

#[test]
fn memory_is_bounded_and_old_lines_are_late() {
    let mut w = Windows::new(1, 10);
    for m in 0..1000 {
        w.add(0, T0 + m * MINUTE_MS);
    }
    assert_eq!(w.history(0).len(), 10);
    assert_eq!(w.slots.len(), 10);
    w.add(0, T0); // 990 minutes behind the watermark
    assert_eq!(w.late(), 1);
    assert_eq!(w.history(0).len(), 10);
}

#[test]
fn onset_is_the_first_minute_and_survives_ageing_out() {
    let mut w = Windows::new(1, 10);
    for m in 0..5 {
        for _ in 0..(m * 10) {
            w.add_attempt(T0 + m * MINUTE_MS);
        }
    }
    w.add(0, T0 + 3 * MINUTE_MS);
    w.add(0, T0 + 4 * MINUTE_MS);
    assert_eq!(w.onset(0), Some((T0 + 3 * MINUTE_MS, 30)));
    // A late line in an earlier minute moves the onset back.
    w.add(0, T0 + 2 * MINUTE_MS);
    assert_eq!(w.onset(0), Some((T0 + 2 * MINUTE_MS, 20)));
    w.add_attempt(T0 + 100 * MINUTE_MS);
    assert_eq!(w.onset(0), Some((T0 + 2 * MINUTE_MS, 20)));
    assert_eq!(Windows::new(1, 10).onset(0), None);
}

#[test]
fn a_minute_cut_by_the_start_of_an_input_is_not_the_onset() {
    // Input 1 starts at 00:30 of minute 0; input 2 covers minute 0 from 00:10 and starts there too.
    let feed = |w: &mut Windows, order: &[(u64, i64)]| {
        for &(input, t) in order {
            w.note_input(input, t);
            w.add(0, t);
            w.add_attempt(t);
        }
    };
    let events = [(1, T0 + 30_000), (1, T0 + MINUTE_MS + 5), (1, T0 + 2 * MINUTE_MS)];
    let mut w = Windows::new(1, 60);
    feed(&mut w, &events);
    assert_eq!(w.skipped_partial(0), vec![T0]);
    assert_eq!(w.onset(0), Some((T0 + MINUTE_MS, 1)));
    assert!(w.history(0)[0].partial && !w.history(0)[1].partial);
    // Read newest first: the same answer.
    let mut r = Windows::new(1, 60);
    let mut rev = events;
    rev.reverse();
    feed(&mut r, &rev);
    assert_eq!((r.onset(0), r.skipped_partial(0)), (w.onset(0), w.skipped_partial(0)));
    // Another input that began earlier covers minute 1's start: a later input starting in minute 1 does
    // not cut it, in whichever order the two are read.
    for order in [[(2, T0 + 10_000), (3, T0 + MINUTE_MS + 20_000)], [(3, T0 + MINUTE_MS + 20_000), (2, T0 + 10_000)]] {
        let mut o = Windows::new(1, 60);
        feed(&mut o, &order);
        o.note_input(2, T0 + MINUTE_MS + 1);
        o.add(0, T0 + MINUTE_MS + 1);
        assert_eq!(o.skipped_partial(0), vec![T0], "{order:?}");
        assert_eq!(o.onset(0), Some((T0 + MINUTE_MS, 1)), "{order:?}");
    }
    // Two overlapping exports: the first runs from minute 0 into minute 1, where it counted only at
    // and after the second's start (the records before were not counted: END lines of older calls).
    // The second's start does not cut minute 1: the first ran on into it. Either order.
    for order in [[1u64, 2], [2, 1]] {
        let mut o = Windows::new(1, 60);
        for input in order {
            let times: &[i64] =
                if input == 1 { &[T0 + 10_000, T0 + MINUTE_MS + 20_000] } else { &[T0 + MINUTE_MS + 20_000] };
            for &t in times {
                o.note_input(input, t);
                o.add_attempt(t);
            }
        }
        o.add(0, T0 + MINUTE_MS + 20_000);
        assert_eq!(o.skipped_partial(0), Vec::<i64>::new(), "{order:?}");
        assert_eq!(o.onset(0), Some((T0 + MINUTE_MS, 2)), "{order:?}");
        assert!(o.history(0)[0].partial && !o.history(0)[1].partial, "{order:?}");
    }
}

#[test]
fn state_round_trips_and_restored_inputs_keep_their_own_ids() {
    let mut w = Windows::new(2, 10);
    w.note_input(1, T0 + 30_000);
    for m in 0..15 {
        w.add(m as usize % 2, T0 + m * MINUTE_MS + 30_000);
        w.add_attempt(T0 + m * MINUTE_MS + 31_000);
    }
    w.add(0, T0); // late
    let st = w.state();
    let r = Windows::from_state(&st, 2, 10);
    assert_eq!((r.history(0), r.history(1), r.onset(0), r.late()), (w.history(0), w.history(1), w.onset(0), 1));
    assert_eq!(r.state(), st);
    // A smaller retention keeps the newest minutes.
    let small = Windows::from_state(&st, 2, 4);
    assert_eq!(small.history(0), w.history(0)[6..].to_vec());
    // A new input 1 after a restart is not the saved input 1.
    let mut r = Windows::from_state(&st, 2, 10);
    r.note_input(1, T0 + 14 * MINUTE_MS + 40_000);
    assert_eq!(r.starts.len(), st.starts.len() + 1);
}

#[test]
fn open_minutes_are_not_the_onset() {
    let mut w = Windows::new(1, 10);
    w.add(0, T0 + MINUTE_MS);
    assert_eq!(w.onset_before(0, Some(T0 + MINUTE_MS + 5)), None);
    assert_eq!(w.onset_before(0, Some(T0 + 2 * MINUTE_MS)), Some((T0 + MINUTE_MS, 0)));
    assert_eq!(w.onset_before(0, None), Some((T0 + MINUTE_MS, 0)));
}

#[test]
fn a_minute_cut_by_the_end_of_an_input_is_not_the_onset_in_any_order() {
    // One input from minute 0 to 40 s into minute 2; the error shows in minutes 1 and 2.
    let events: Vec<i64> = (0..14).map(|i| T0 + 5_000 + i * 10_000).collect(); // up to 2:15 … 2:35
    let events: Vec<i64> = events.into_iter().chain([T0 + 2 * MINUTE_MS + 40_000]).collect();
    for reversed in [false, true] {
        let mut w = Windows::new(1, 60);
        w.inputs_end();
        let mut order = events.clone();
        if reversed {
            order.reverse();
        }
        for &t in &order {
            w.note_input(1, t);
            w.add_attempt(t);
            if t >= T0 + MINUTE_MS {
                w.add(0, t);
            }
        }
        let h = w.history(0);
        assert_eq!(h.iter().map(|m| m.partial).collect::<Vec<_>>(), [true, false, true], "reversed: {reversed}");
        assert_eq!(w.onset(0), Some((T0 + MINUTE_MS, 6)), "reversed: {reversed}");
        // Another input that runs on past 2:40 vouches for minute 2.
        w.note_input(2, T0 + 2 * MINUTE_MS + 50_000);
        w.note_input(2, T0 + 3 * MINUTE_MS + 1_000);
        w.add_attempt(T0 + 2 * MINUTE_MS + 50_000);
        w.add_attempt(T0 + 3 * MINUTE_MS + 1_000);
        assert!(!w.history(0)[2].partial, "reversed: {reversed}");
    }
    // Without ends (the daemon: a followed file goes on), the last minute is not cut by its end.
    let mut d = Windows::new(1, 60);
    for &t in &events {
        d.note_input(1, t);
        d.add(0, t);
    }
    assert!(!d.history(0).last().unwrap().partial);
}
