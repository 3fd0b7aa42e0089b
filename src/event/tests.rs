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
