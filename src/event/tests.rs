//! The Event stage's own tests: a call counts once at its time, untimed and untrusted times, duplicates, bounds.

use super::*;
use crate::patterns::Catalogue;
use crate::record::FormatChoice;

#[derive(Default)]
struct Collect {
    events: Vec<Event>,
    lines: Vec<usize>,
    notes: Vec<Note>,
}

impl Sink for Collect {
    fn event(&mut self, e: Event) {
        self.events.push(e);
    }
    fn error_line(&mut self, _: usize, p: usize) {
        self.lines.push(p);
    }
    fn note(&mut self, _: usize, n: Note) {
        self.notes.push(n);
    }
}

fn stage() -> Stage {
    let c = Arc::new(Classifier::new(Catalogue::builtin().unwrap(), FormatChoice::Auto).unwrap());
    let mut s = Stage::new(c, StageConfig::default());
    s.set_now(1_900_000_000_000);
    s
}

fn feed(s: &mut Stage, stream: u64, text: &str, sink: &mut Collect) {
    for l in text.lines() {
        s.line(stream, l.as_bytes(), sink);
    }
}

const RID: &str = "8f4c0b5e-0a1b-4c2d-9e3f-123456789abc";

#[test]
fn a_failing_call_counts_once_at_its_own_time() {
    let mut s = stage();
    let mut sink = Collect::default();
    s.open(1, 0, true);
    let text = format!(
        "START RequestId: {RID}\n\
         2025-03-14T01:22:05.117Z\t{RID}\tcalling jscode2session\n\
         2025-03-14T01:22:05.300Z\t{RID}\tjscode2session failed {{\"errcode\":45011,\"errmsg\":\"api minute-quota reach limit\"}}\n\
         Response RequestId:{RID} RetMsg:{{\"error\":\"WX_API_ERROR\",\"errcode\":45011}}\n\
         END RequestId: {RID}\n"
    );
    feed(&mut s, 1, &text, &mut sink);
    s.close(1, &mut sink);
    let q = s.classifier().catalogue().index_of("wx_45011_minute_quota").unwrap();
    assert_eq!(sink.lines, vec![q, q], "two lines print it");
    assert_eq!(sink.events.len(), 2, "{:?}", sink.events);
    let attempt = sink.events.iter().find(|e| e.kind == Kind::Attempt).unwrap();
    assert_eq!((attempt.time_ms, attempt.time_from), (1_741_915_325_117, TimeFrom::Call));
    let err = sink.events.iter().find(|e| e.kind == Kind::Error(q)).unwrap();
    assert_eq!(err.time_ms, 1_741_915_325_117, "the call's time");
    assert!(sink.events.iter().all(|e| e.input == Some(1)));
}

#[test]
fn untimed_calls_take_the_neighbour_time_else_arrival() {
    let mut s = stage();
    let mut sink = Collect::default();
    s.open(1, 0, true);
    feed(&mut s, 1, &format!("START RequestId: {RID}\nEND RequestId: {RID}\n"), &mut sink);
    assert_eq!(sink.events[0].time_from, TimeFrom::Arrival);
    assert_eq!(sink.events[0].time_ms, 1_900_000_000_000);
    assert_eq!(sink.notes, vec![Note::ArrivalTime]);
    let other = "0123456789abcdef0123456789abcdef";
    feed(
        &mut s,
        1,
        &format!("2025-03-14T01:22:05.117Z\t{RID}\tx\nSTART RequestId: {other}\nEND RequestId: {other}\n"),
        &mut sink,
    );
    assert_eq!((sink.events[1].time_ms, sink.events[1].time_from), (1_741_915_325_117, TimeFrom::Neighbour));
    assert!(!s.wants_every_line(1));
}

#[test]
fn future_times_never_become_a_calls_time_and_duplicates_are_dropped() {
    let mut s = stage();
    let mut sink = Collect::default();
    s.open(1, 0, true);
    let line = r#"{"SCF_FunctionName":"getLoginTicket","SCF_LogTime":"4070908800000000000","SCF_RequestId":"r1","SCF_Message":"{\"errcode\":45011}"}"#;
    s.line(1, line.as_bytes(), &mut sink);
    assert_eq!(sink.notes, vec![Note::FutureTime]);
    s.line(1, line.as_bytes(), &mut sink);
    assert_eq!(sink.notes, vec![Note::FutureTime, Note::Duplicate]);
    s.flush(&mut sink);
    assert_eq!(sink.events.len(), 1);
    // Counted, but at no time: never the arrival time (that would drag a replay's minutes to now).
    assert_eq!(sink.events[0].time_from, TimeFrom::Untimed);
    assert!(!sink.notes.contains(&Note::ArrivalTime));
    // Not the stream's time either, once the stream has one: the untrusted call takes no minute.
    let timed = r#"{"SCF_FunctionName":"getLoginTicket","SCF_LogTime":"1741915325190000000","SCF_RequestId":"r2","SCF_Message":"x"}"#;
    s.line(1, timed.as_bytes(), &mut sink);
    s.line(1, line.replace("r1", "r3").as_bytes(), &mut sink);
    s.flush(&mut sink);
    assert_eq!(sink.events.last().unwrap().time_from, TimeFrom::Untimed);
    // A call with a trusted time elsewhere keeps it: the untrusted record joins its call.
    let start = r#"{"SCF_FunctionName":"getLoginTicket","SCF_LogTime":"1741915325300000000","SCF_RequestId":"r4","SCF_Message":"START RequestId: r4"}"#;
    s.line(1, start.as_bytes(), &mut sink);
    s.line(1, line.replace("r1", "r4").as_bytes(), &mut sink);
    s.flush(&mut sink);
    let last = sink.events.last().unwrap();
    assert_eq!((last.time_ms, last.time_from), (1_741_915_325_300, TimeFrom::Call));
}

#[test]
fn a_cls_call_takes_its_start_time_whatever_order_its_records_come_in() {
    // One call from 01:01:59.900 to 01:02:00.400: its records straddle a minute boundary.
    let rec = |log_ns: &str, msg: &str| {
        format!(
            r#"{{"SCF_FunctionName":"getLoginTicket","SCF_StartTime":"1741914119900","SCF_LogTime":"{log_ns}","SCF_RequestId":"r1","SCF_Type":"Platform","SCF_Message":"{msg}"}}"#
        )
    };
    let lines = [
        rec("1741914119900000000", "START RequestId: r1"),
        rec("1741914120300000000", r#"{\"errcode\":45011}"#),
        rec("1741914120400000000", "END RequestId: r1"),
    ];
    for reversed in [false, true] {
        let mut s = stage();
        let mut sink = Collect::default();
        s.open(1, 0, true);
        let mut order: Vec<&String> = lines.iter().collect();
        if reversed {
            order.reverse();
        }
        for l in order {
            s.line(1, l.as_bytes(), &mut sink);
        }
        s.flush(&mut sink);
        assert!(!sink.events.is_empty(), "reversed: {reversed}");
        assert!(sink.events.iter().all(|e| e.time_ms == 1_741_914_119_900), "reversed: {reversed}: {:?}", sink.events);
    }
}

#[test]
fn tables_stay_bounded_and_evictions_are_counted() {
    let c = Arc::new(Classifier::new(Catalogue::builtin().unwrap(), FormatChoice::Auto).unwrap());
    let mut s = Stage::new(c, StageConfig { max_calls: 10, max_records: 10, ..StageConfig::default() });
    s.set_now(1_900_000_000_000);
    let mut sink = Collect::default();
    s.open(1, 0, true);
    for i in 0..100 {
        let rid = format!("{i:032x}");
        feed(&mut s, 1, &format!("2025-03-14T01:22:05.117Z\t{rid}\t{{\"errcode\":45011}}\n"), &mut sink);
    }
    assert_eq!(s.table_sizes(), (10, 10));
    assert_eq!(sink.events.len(), 100);
    assert_eq!(sink.notes.iter().filter(|n| **n == Note::CallEvicted).count(), 90);
    assert_eq!(sink.notes.iter().filter(|n| **n == Note::RecordEvicted).count(), 90);
}

/// The stage's lines, one by one or judged ahead (`classify::ahead`), through the one splitter.
struct Lines<'a> {
    stage: &'a mut Stage,
    sink: &'a mut Collect,
    ahead: bool,
    /// Blocks (and first blocks' rests) walked ahead.
    blocks: std::cell::Cell<usize>,
}

impl crate::lines::LineSink for Lines<'_> {
    fn wants_every_line(&self) -> bool {
        self.stage.wants_every_line(1)
    }
    fn line(&mut self, _: u64, line: &[u8], _: bool) {
        self.stage.line(1, line, self.sink);
    }
    fn block(&mut self, block: &[u8], lines_before: u64, max: usize) -> Option<(u64, u64)> {
        if !self.ahead {
            return None;
        }
        let c = Arc::clone(self.stage.classifier());
        Some(crate::classify::ahead::walk(&c, block, lines_before, max, self, |l| {
            l.stage.ahead_choice(1).inspect(|_| l.blocks.set(l.blocks.get() + 1))
        }))
    }
}

impl crate::classify::ahead::AheadSink for Lines<'_> {
    fn line_ahead<'a>(&mut self, _: u64, line: &'a [u8], ahead: crate::classify::ahead::Ahead<'_, 'a>) {
        self.stage.line_ahead(1, line, ahead, self.sink);
    }
}

/// Lines judged ahead on a second thread give the Events, error lines and notes that reading them
/// one by one gives, in plain text and CLS JSON, calls holding Events (the stage then asks for every
/// line) included, whatever the blocks the reads fall into.
#[test]
fn lines_judged_ahead_count_as_lines_read_one_by_one() {
    use crate::synth::{ErrorChoice, Synth};
    for cls in [false, true] {
        let mut synth = Synth::new(11, 1_741_915_000_000, cls, 200);
        let mut text = Vec::new();
        while text.len() < 12 * crate::classify::ahead::MIN_BLOCK {
            synth.invocation(&mut text, None, ErrorChoice::Random);
        }
        let run = |ahead: bool, read: usize| {
            let (mut s, mut sink) = (stage(), Collect::default());
            s.open(1, 0, true);
            let c = Arc::clone(s.classifier());
            let find_c = |h: &[u8], f: usize| c.next_candidate(h, f);
            let mut splitter = crate::lines::Splitter::new(4096);
            let mut lines = Lines { stage: &mut s, sink: &mut sink, ahead, blocks: Default::default() };
            let mut at = 0;
            while at < text.len() {
                let end = (at + read).min(text.len());
                let split = splitter.split(&text[at..end], end == text.len(), &find_c, &mut lines);
                at += split.consumed.max(1).min(end - at);
            }
            assert_eq!(lines.blocks.get() > 0, ahead, "blocks walked ahead");
            s.close(1, &mut sink);
            s.flush(&mut sink);
            // Events released together at the end come in the order of a hash table (seeded per
            // table): the same Events, in an order that says nothing.
            let mut events: Vec<String> = sink.events.iter().map(|e| format!("{e:?}")).collect();
            events.sort();
            (events, sink.lines, sink.notes)
        };
        let plain = run(false, 1 << 20);
        assert!(plain.0.iter().any(|e| e.contains("kind: Error(")), "the corpus has failing calls");
        for read in [1 << 20, 200_000] {
            let got = run(true, read);
            let brief = |e: &String| e.chars().take(300).collect::<String>();
            let first = got.0.iter().zip(&plain.0).position(|(a, b)| a != b);
            assert!(
                first.is_none() && got.0.len() == plain.0.len(),
                "cls {cls}, reads of {read}: {} vs {} events, first differing at {first:?}: {:?} vs {:?}",
                got.0.len(),
                plain.0.len(),
                first.map(|i| brief(&got.0[i])),
                first.map(|i| brief(&plain.0[i]))
            );
            assert_eq!((got.1, got.2), (plain.1.clone(), plain.2.clone()), "cls {cls}, reads of {read} bytes");
        }
    }
}
