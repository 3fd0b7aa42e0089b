//! The call join: an Event is placed at its call's time (held while the call has none, released when
//! it gets one or at the hold's end with its fallback), each pattern counted once per call, a call's
//! `unlisted` waiting for its end. The rules are the module doc's (`event.rs`).

use super::*;

impl Stage {
    /// Gives an Event its time (own, its call's, or later) and sends it, once per call.
    /// `untrusted`: the record's own time was in the future (and so not `own`).
    pub(super) fn place(
        &mut self,
        stream: u64,
        call_key: Option<u64>,
        own: Option<i64>,
        untrusted: bool,
        event: Event,
        sink: &mut impl Sink,
    ) {
        let Some(key) = call_key else {
            let (time, from) = match own {
                Some(t) => (t, TimeFrom::Own),
                None => self.fallback(stream, untrusted),
            };
            self.emit(stream, event, time, from, sink);
            return;
        };
        if !self.calls.contains_key(&key) {
            let call = Call { time: own.unwrap_or(NO_TIME), counted: 0, flags: 0, stream, untrusted };
            self.calls.insert_new(key, own.unwrap_or(self.now_ms), call);
            let horizon = self.horizon();
            // At the cap each new call forgets one: the list is kept, not allocated per call.
            let mut gone = std::mem::take(&mut self.gone);
            self.calls.expire(horizon, self.config.max_calls, |c| gone.push(c));
            for (k, c) in gone.drain(..) {
                sink.note(event.source, Note::CallEvicted);
                if let Some(held) = self.held.remove(&k) {
                    let t = Some(self.call_time(&c));
                    self.send_held(c.stream, held, t, sink);
                }
                if let Some(h) = self.unlisted.remove(&k) {
                    self.emit_unlisted(h, c, sink);
                }
            }
            self.gone = gone;
        }
        let fallbacks = self.fallbacks;
        let Some(call) = self.calls.get_mut(&key) else { return };
        call.untrusted |= untrusted;
        let mut event = event;
        match event.kind {
            Kind::Error(p) if p < 31 => {
                if call.counted & (1u32 << p) != 0 {
                    return;
                }
                let is_fallback = fallbacks & (1u32 << p) != 0;
                if is_fallback && call.counted & !ATTEMPT_BIT & !fallbacks != 0 {
                    return;
                }
                call.counted |= 1u32 << p;
                if is_fallback {
                    // Counted when the call ends, unless one of the ten shows up first.
                    self.unlisted.insert(key, Held { event, since_ms: self.now_ms });
                    return;
                }
                if self.unlisted.remove(&key).is_some() {
                    call.counted &= !fallbacks;
                }
                event.first_failure = call.flags & FAILED == 0;
                call.flags |= FAILED;
            }
            Kind::Error(_) => {
                event.first_failure = call.flags & FAILED == 0;
                call.flags |= FAILED;
            }
            Kind::Call => {
                if call.flags & CALLED != 0 {
                    return;
                }
                call.flags |= CALLED;
            }
            Kind::Attempt => {
                if call.counted & ATTEMPT_BIT != 0 {
                    return;
                }
                call.counted |= ATTEMPT_BIT;
            }
            // Sent directly, never placed in a call.
            Kind::Seen => {}
        }
        match call.time_ms() {
            Some(t) => {
                let from = if own == Some(t) { TimeFrom::Own } else { TimeFrom::Call };
                self.emit(stream, event, t, from, sink);
            }
            None => {
                let owner = call.stream;
                let held = self.held.entry(key).or_default();
                let first = held.is_empty();
                held.push(Held { event, since_ms: self.now_ms });
                if first {
                    // Calls released since are let go here too: `check` never ticks, and the list
                    // held every call of a load test (4 MB) until its end.
                    while self.holding.front().is_some_and(|k| !self.held.contains_key(k)) {
                        self.holding.pop_front();
                    }
                    self.holding.push_back(key);
                    if let Some(s) = self.streams.get_mut(&owner) {
                        s.waiting += 1;
                    }
                }
            }
        }
    }

    /// The time for an Event without its own or its call's: the stream's newest, else arrival; none
    /// when its own time was untrusted (`untrusted`: no other time is put in its place).
    pub(super) fn fallback(&self, stream: u64, untrusted: bool) -> (i64, TimeFrom) {
        if untrusted {
            return (self.now_ms, TimeFrom::Untimed);
        }
        match self.streams.get(&stream).and_then(|s| s.neighbour_ms) {
            Some(t) => (t, TimeFrom::Neighbour),
            None => (self.now_ms, TimeFrom::Arrival),
        }
    }

    /// The call's time is now known (`Some`), or will not be (`None`: fallback): its Events go.
    pub(super) fn release(&mut self, key: u64, time: Option<i64>, sink: &mut impl Sink) {
        let Some(call) = self.calls.get(&key).copied() else { return };
        if time.is_none() && call.time_ms().is_some() {
            return;
        }
        let held = self.held.remove(&key).unwrap_or_default();
        let t = match time {
            Some(t) => Some((t, TimeFrom::Call)),
            None => held.first().map(|_| self.fallback(call.stream, call.untrusted)),
        };
        if let Some(c) = self.calls.get_mut(&key) {
            if let Some((t, from)) = t.filter(|(_, from)| *from != TimeFrom::Untimed) {
                let _ = from;
                c.time = t;
            }
        }
        self.send_held(call.stream, held, t, sink);
    }

    pub(super) fn send_held(&mut self, stream: u64, held: HeldList, t: Option<(i64, TimeFrom)>, sink: &mut impl Sink) {
        if held.is_empty() {
            return;
        }
        if let Some(s) = self.streams.get_mut(&stream) {
            s.waiting = s.waiting.saturating_sub(1);
        }
        let Some((time, from)) = t else { return };
        for h in held {
            self.emit(stream, h.event, time, from, sink);
        }
    }

    pub(super) fn emit(&mut self, stream: u64, mut event: Event, time: i64, from: TimeFrom, sink: &mut impl Sink) {
        event.time_ms = time;
        event.time_from = from;
        if from == TimeFrom::Arrival {
            sink.note(event.source, Note::ArrivalTime);
        }
        event.input = self.streams.get(&stream).filter(|s| s.cut).map(|_| stream);
        sink.event(event);
    }

    /// A call's waiting `unlisted` Event goes now (its call ended, or waited long enough).
    pub(super) fn release_unlisted(&mut self, key: u64, sink: &mut impl Sink) {
        let (Some(h), Some(c)) = (self.unlisted.remove(&key), self.calls.get(&key).copied()) else { return };
        if let Some(call) = self.calls.get_mut(&key) {
            call.flags |= FAILED;
        }
        self.emit_unlisted(h, c, sink);
    }

    /// `c` as it was before this Event (its `FAILED` flag says whether the call failed already).
    pub(super) fn emit_unlisted(&mut self, mut h: Held, c: Call, sink: &mut impl Sink) {
        h.event.first_failure = c.flags & FAILED == 0;
        let (time, from) = self.call_time(&c);
        self.emit(c.stream, h.event, time, from, sink);
    }

    /// The time a call's waiting Events take: the call's, else its stream's newest, else arrival.
    pub(super) fn call_time(&self, c: &Call) -> (i64, TimeFrom) {
        c.time_ms().map_or_else(|| self.fallback(c.stream, c.untrusted), |t| (t, TimeFrom::Call))
    }

    pub(super) fn release_unlisted_where(
        &mut self,
        sink: &mut impl Sink,
        mut which: impl FnMut(&Stage, u64, &Held) -> bool,
    ) {
        let keys: Vec<u64> = self.unlisted.iter().filter(|(k, h)| which(self, **k, h)).map(|(k, _)| *k).collect();
        for key in keys {
            self.release_unlisted(key, sink);
        }
    }
}
